//! `wachat migrate` (below).

use std::path::Path;

use crate::error::Result;

pub fn run(_from: &Path, _to: &str) -> Result<()> {
    Err(crate::error::Error::Usage("migrate: not yet".into()))
}
