//! The tools teachers and students run: `wachat users`, the class
//! commands, `conform`, `chaos`, `demo`, the metrics endpoint, the tiny
//! server of `examples/`, and the checks that keep docs/READING.md, the
//! layers of `src/` and its portability (system calls in `src/sys/`) true.
//!
//! One test binary, its tests by topic in `tests/tools/`.

mod support;

#[path = "tools/accounts.rs"]
mod accounts;
#[path = "tools/backup.rs"]
mod backup;
#[path = "tools/chaos.rs"]
mod chaos;
#[path = "tools/class_server.rs"]
mod class_server;
#[path = "tools/config.rs"]
mod config;
#[path = "tools/conform.rs"]
mod conform;
#[path = "tools/conform_class.rs"]
mod conform_class;
#[path = "tools/demo.rs"]
mod demo;
#[path = "tools/health.rs"]
mod health;
#[path = "tools/layers.rs"]
mod layers;
#[path = "tools/log_format.rs"]
mod log_format;
#[path = "tools/metrics.rs"]
mod metrics;
#[path = "tools/names.rs"]
mod names;
#[path = "tools/packaged.rs"]
mod packaged;
#[path = "tools/portable.rs"]
mod portable;
#[path = "tools/reading.rs"]
mod reading;
#[path = "tools/teacher.rs"]
mod teacher;
#[path = "tools/tiny_server.rs"]
mod tiny_server;
