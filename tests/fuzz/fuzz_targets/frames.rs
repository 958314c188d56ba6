//! Any bytes a client may send: framing, then every parser. Nothing may
//! panic, no frame may pass the size limit, and whatever parses must format
//! back to a frame that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wachat::protocol::{Event, EventReply, FrameError, FrameReader, Reply, Request, Text};

fuzz_target!(|data: &[u8]| {
    let mut reader = FrameReader::new(data, 64, 512);
    loop {
        let line = match reader.read_frame(None) {
            Ok(line) => line.to_string(),
            Err(FrameError::NotUtf8) => continue,
            Err(_) => break,
        };
        assert!(line.len() < 512);
        if let Ok(request) = Request::parse(&line) {
            assert_eq!(Request::parse(&request.to_string()), Ok(request));
        }
        if let Ok(event) = Event::parse(&line) {
            assert_eq!(Event::parse(&event.to_string()), Ok(event));
        }
        if let Some(reply) = EventReply::parse(&line) {
            assert_eq!(EventReply::parse(&reply.to_string()), Some(reply));
        }
        if let Ok(text) = Text::parse(&line) {
            assert_eq!(Text::from_plain(&text.unescaped()), Ok(text));
        }
        let _ = Reply::parse(&line);
    }
});
