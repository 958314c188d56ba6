//! # wachat
//!
//! (architecture map: written below once the pieces exist)

pub mod cli;
pub mod error;
pub mod protocol;
pub mod router;
pub mod server;
pub mod store;
