//! 1.2: the thumbnail of an uploaded image: a JPEG of at most
//! [`MAX_BYTES`], so that a phone scrolling a chat pulls kilobytes, not the
//! photos. Made once, when the upload completes (`store::files`).
//!
//! The bytes are hostile: the format is read from the bytes themselves
//! (never from the name), only PNG, JPEG, GIF and WebP are decoded, and
//! the decoder's [`Limits`] bound the pixels and the memory before any is
//! taken, so a decompression bomb (a 1 KB PNG claiming 100,000 × 100,000
//! pixels) is refused from its header. A file that does not decode is not
//! an image: it is stored and served as a file, never shown.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek};
use std::path::Path;

use image::{ImageFormat, ImageReader, Limits};

/// Largest width or height decoded.
pub const MAX_SIDE: u32 = 8192;

/// Most memory the decoder may take (one image at a time, see `Files`).
pub const MAX_ALLOC: u64 = 64 * 1024 * 1024;

/// Most bytes of a thumbnail: 100 KiB, kilobytes for a phone scrolling a
/// chat of photos.
pub const MAX_BYTES: usize = 100 * 1024;

/// Sides tried, largest first, until the JPEG fits [`MAX_BYTES`].
const SIDES: [(u32, u8); 3] = [(480, 80), (320, 70), (160, 60)];

/// The decoder's limits (see the module documentation).
pub fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// Bytes of a file's beginning that [`may_be_image`] reads.
pub const HEAD_BYTES: usize = 32;

/// Whether a file beginning with `head` may be one of the four kinds
/// decoded (its magic bytes, never its name): one that is not is never
/// queued for the thumbnailer, so an upload of any other file never
/// waits behind others' images.
pub fn may_be_image(head: &[u8]) -> bool {
    matches!(
        image::guess_format(head),
        Ok(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP)
    )
}

/// The media type and thumbnail of the image at `path`, or `None` if it
/// is not an image of the four kinds that decodes within the limits.
pub fn make(path: &Path) -> Option<(&'static str, Vec<u8>)> {
    let file = File::open(path).ok()?;
    make_from(BufReader::new(file), &path.display().to_string())
}

/// Stack of the thread an image is decoded on: the JPEG decoder keeps its
/// state on the stack, more than a handler's 128 KiB
/// (`server::threads::STACK_SIZE`); an uploaded JPEG decoded there
/// overflowed it, which ends the whole process.
pub const DECODER_STACK: usize = 2 * 1024 * 1024;

/// `make` run on a thread of its own with [`DECODER_STACK`], the caller
/// waiting for it; `None` (logged) if the thread could not start or
/// panicked. Its callers make one image at a time, server-wide.
pub fn on_decoder_stack<T: Send>(make: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|s| {
        let builder = std::thread::Builder::new().name("image".into()).stack_size(DECODER_STACK);
        match builder.spawn_scoped(s, make) {
            Ok(thread) => thread.join().map_err(|_| log::error!("images: the decoding thread panicked")).ok(),
            Err(e) => {
                log::error!("images: no thread to decode on: {e}");
                None
            }
        }
    })
}

/// The same from any reader of the bytes (`what` names them in the log):
/// a file on disk, or a cluster's chunks read back from PostgreSQL.
pub fn make_from(bytes: impl BufRead + Seek, what: &str) -> Option<(&'static str, Vec<u8>)> {
    let mut reader = ImageReader::new(bytes).with_guessed_format().ok()?;
    let kind = match reader.format()? {
        ImageFormat::Png => "image/png",
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::Gif => "image/gif",
        ImageFormat::WebP => "image/webp",
        _ => return None,
    };
    reader.limits(limits());
    let image = match reader.decode() {
        Ok(image) => image,
        Err(e) => {
            log::info!("files: {what} is not an image we show: {e}");
            return None;
        }
    };
    for (side, quality) in SIDES {
        let jpeg = jpeg(&image.thumbnail(side, side), quality)?;
        if jpeg.len() <= MAX_BYTES {
            return Some((kind, jpeg));
        }
    }
    None
}

/// Sides and qualities of a profile photo (1.2, §30), tried in order until
/// its JPEG fits the bound `photo` is given.
const PHOTO_SIDES: [(u32, u8); 4] = [(192, 80), (192, 65), (128, 70), (96, 60)];

/// A profile photo made of the image `bytes` (a thumbnail made above, or
/// any of the four kinds): its centre cropped square, resized and
/// re-encoded as a JPEG of at most `most` bytes; `None` if it does not
/// decode within the [`limits`] or never fits.
pub fn photo(bytes: &[u8], most: usize) -> Option<Vec<u8>> {
    let mut reader = ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().ok()?;
    if !matches!(
        reader.format()?,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
    ) {
        return None;
    }
    reader.limits(limits());
    let image = reader.decode().ok()?;
    let side = image.width().min(image.height());
    let square = image.crop_imm((image.width() - side) / 2, (image.height() - side) / 2, side, side);
    PHOTO_SIDES.into_iter().find_map(|(side, quality)| {
        let small = square.resize_exact(side, side, image::imageops::FilterType::Triangle);
        jpeg(&small, quality).filter(|jpeg| jpeg.len() <= most)
    })
}

/// `image` as a JPEG of `quality`.
fn jpeg(image: &image::DynamicImage, quality: u8) -> Option<Vec<u8>> {
    let mut jpeg = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality);
    image.to_rgb8().write_with_encoder(encoder).ok()?;
    Some(jpeg)
}

#[cfg(test)]
#[path = "../../tests/support/png.rs"]
mod png;

#[cfg(test)]
mod tests {
    use super::png::png_claiming;
    use super::*;

    #[test]
    fn a_decompression_bomb_is_not_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb");
        let bomb = png_claiming(100_000, 100_000);
        assert!(bomb.len() < 1024);
        std::fs::write(&path, &bomb).unwrap();
        assert_eq!(make(&path), None);
    }

    #[test]
    fn a_photo_gets_a_small_jpeg_and_a_fake_one_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo");
        let photo =
            image::RgbImage::from_fn(1600, 1200, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        photo.save_with_format(&path, ImageFormat::Png).unwrap();
        let (kind, jpeg) = make(&path).unwrap();
        assert_eq!(kind, "image/png");
        assert!(jpeg.len() <= MAX_BYTES && jpeg.starts_with(&[0xff, 0xd8]));
        std::fs::write(&path, b"\x89PNG\r\n\x1a\n<svg onload=alert(1)>").unwrap();
        assert_eq!(make(&path), None);
    }

    #[test]
    fn a_photo_is_the_centre_made_square_and_small() {
        let wide = image::RgbImage::from_fn(480, 240, |x, _| {
            if (120..360).contains(&x) { image::Rgb([200, 20, 20]) } else { image::Rgb([20, 20, 200]) }
        });
        let mut png = Vec::new();
        wide.write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png).unwrap();
        let jpeg = photo(&png, 12_000).unwrap();
        assert!(jpeg.len() <= 12_000 && jpeg.starts_with(&[0xff, 0xd8]));
        let back = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (192, 192));
        // Only the red centre is left, corners included.
        let corner = back.get_pixel(2, 2);
        assert!(corner[0] > 150 && corner[2] < 80, "{corner:?}");
        assert_eq!(photo(b"\x89PNG\r\n\x1a\n<svg>", 12_000), None);
        assert_eq!(photo(&png_claiming(100_000, 100_000), 12_000), None);
        assert_eq!(photo(&png, 10), None, "never fits");
    }

    #[test]
    fn only_the_four_kinds_magic_bytes_may_be_images() {
        assert!(may_be_image(&png_claiming(10, 10)[..HEAD_BYTES]));
        assert!(may_be_image(b"RIFF\x10\0\0\0WEBPVP8L"));
        assert!(!may_be_image(b"twenty bytes of text"));
        assert!(!may_be_image(b"%PDF-1.7"));
        assert!(!may_be_image(b""));
    }
}
