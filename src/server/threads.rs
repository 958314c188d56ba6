//! The server's threads: one per connection, plus a few of its own (the
//! closer, the presence timer). What they share is how they are made.
//!
//! Its own module so that every part of the server that starts a thread
//! (`listener`, `closer`, `presence`) names it here, below all of them,
//! instead of naming each other.

/// Stack size of the server's threads. Handlers keep their buffers on the
/// heap; a small stack lets 20,000 threads fit (only touched pages count).
pub const STACK_SIZE: usize = 128 * 1024;
