//! Why a case failed: what the protocol promised and what came instead.
//! Its own file, below both the cases (`case`) and the connections that
//! notice a failure as they read (`wire`), so that neither imports the other.

use std::fmt;
use std::time::Duration;

/// Why a case failed: what the protocol promised, and what came instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub expected: String,
    pub got: String,
}

impl Failure {
    pub fn new(expected: impl Into<String>, got: impl Into<String>) -> Failure {
        Failure { expected: expected.into(), got: got.into() }
    }

    pub(crate) fn silent(wait: Duration) -> Failure {
        Failure::new("a line", format!("nothing within {:.1} s", wait.as_secs_f64()))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, got {}", self.expected, self.got)
    }
}

/// Fails with `expected`/`got` unless `ok`.
pub fn check(ok: bool, expected: impl Into<String>, got: impl Into<String>) -> Result<(), Failure> {
    if ok { Ok(()) } else { Err(Failure::new(expected, got)) }
}
