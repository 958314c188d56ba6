//! The one-time codes people type (1.2): link codes (`LINK`, `PAIR`) and
//! invite codes (`wachat users invite`, `REDEEM`). One alphabet and one
//! way of reading a typed code, for the server that makes and compares
//! them and for every client that sends one.
//!
//! A code is read off a screen or a sheet of paper and typed on another
//! device, often a phone that capitalises the field. So a code is made of
//! characters no one confuses (no `0 o` and no `1 i l`, in either case),
//! and a typed code is compared ignoring case and the spaces or dashes a
//! person adds to keep their place: `K7QM 9PZR-TW` is `k7qm9pzrtw`.

/// The characters of a code: lowercase letters and digits without the
/// look-alikes `0 o 1 i l` (31 of them, about 4.95 bits each).
pub const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A typed code as the server made it: lowercase, without spaces and
/// dashes. Anything else is kept, so a code with another character stays
/// wrong (and the server still checks it before it names a file).
pub fn normalize(typed: &str) -> String {
    typed.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_lowercase()).collect()
}

/// A random code of `len` characters of [`ALPHABET`], every character
/// equally likely, from the operating system's generator.
pub fn random(len: usize) -> std::io::Result<String> {
    // 31 does not divide 256: bytes from 248 up would favour the first
    // 8 characters, so they are drawn again.
    let limit = 256 - 256 % ALPHABET.len();
    let mut code = String::with_capacity(len);
    while code.len() < len {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
        for b in bytes.into_iter().filter(|&b| usize::from(b) < limit) {
            if code.len() < len {
                code.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_has_no_look_alikes() {
        for c in b"0oO1iIlL" {
            assert!(!ALPHABET.contains(c), "{}", *c as char);
        }
        assert_eq!(ALPHABET.len(), 31);
        let mut sorted = ALPHABET.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), ALPHABET.len(), "no character twice");
        let code = random(200).unwrap();
        assert_eq!(code.len(), 200);
        assert!(code.bytes().all(|b| ALPHABET.contains(&b)));
    }

    #[test]
    fn a_typed_code_is_read_as_made() {
        assert_eq!(normalize("K7QM9PZRTW"), "k7qm9pzrtw");
        assert_eq!(normalize(" k7qm 9pzr-tw\n"), "k7qm9pzrtw");
        assert_eq!(normalize("../users.csv"), "../users.csv", "other characters stay, and stay wrong");
    }
}
