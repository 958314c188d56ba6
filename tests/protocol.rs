//! The wire, byte for byte: every request and event of protocol versions
//! 1.0 to 1.2 against a real server (the send and receive ports, pipelined
//! replies, the table of requests, TLS, the README's and LAB.md's `nc`
//! transcripts, LAB.md's and TEACHING.md's shell blocks), and the grammar's
//! property tests.
//!
//! One test binary, its tests by topic in `tests/protocol/`.

mod support;

#[path = "protocol/grammar_props.rs"]
mod grammar_props;
#[path = "protocol/listings.rs"]
mod listings;
#[path = "protocol/mentions.rs"]
mod mentions;
#[path = "protocol/receive_port.rs"]
mod receive_port;
#[path = "protocol/reply_order.rs"]
mod reply_order;
#[path = "protocol/requests.rs"]
mod requests;
#[path = "protocol/send_port.rs"]
mod send_port;
#[path = "protocol/shell_blocks.rs"]
mod shell_blocks;
#[path = "protocol/tls.rs"]
mod tls;
#[path = "protocol/transcripts.rs"]
mod transcripts;
#[path = "protocol/v1_1.rs"]
mod v1_1;
#[path = "protocol/v1_2.rs"]
mod v1_2;
