//! The fields every family's grammar reads: a frame's numbers, and what
//! a line is told when its word is no frame, or when a frame is refused
//! (a [`Refused`], naming the frame's number if it had one).

/// Largest number a frame may carry (`<n>`, `<ts>`, `<last>`): what a
/// double holds exactly, so a client in any language reads it whole.
pub const MAX_NUMBER: u64 = (1 << 53) - 1;

/// What is wrong with a line, and the frame's number if it had one (its
/// `KO:<n>:…` names it).
pub type Refused = (Option<u64>, String);

/// A number of a frame (`<n>`, `<ts>`, a size, an offset): decimal
/// digits, at most [`MAX_NUMBER`].
pub(super) fn number(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if n <= MAX_NUMBER && !s.starts_with('+') => Ok(n),
        _ => Err(format!("{s:?} is not a number up to 2^53")),
    }
}

/// The number a refusal of a frame names: its first field's, if that is
/// one.
pub(super) fn first_number(rest: &str) -> Option<u64> {
    rest.split(':').next().and_then(|n| number(n).ok())
}

/// What a line whose word is no frame (or a frame's word used so, as
/// `PING:x`) is told.
pub(super) fn unknown(word: &str, rest: Option<&str>) -> Refused {
    (rest.and_then(first_number), format!("unknown frame {word:?}"))
}
