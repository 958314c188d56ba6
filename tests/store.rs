//! What the store keeps: every `OK`ed message across a SIGKILL, a power
//! cut or a restart, torn and corrupt files, the first layout converted,
//! what a client can make it keep, and what a `DELETE` erases.
//!
//! One test binary, its tests by topic in `tests/store/`.

mod support;

#[path = "store/convert.rs"]
mod convert;
#[path = "store/crash.rs"]
mod crash;
#[path = "store/durability.rs"]
mod durability;
#[path = "store/erase_props.rs"]
mod erase_props;
#[path = "store/limits.rs"]
mod limits;
#[path = "store/power_cut.rs"]
mod power_cut;
#[path = "store/restart_props.rs"]
mod restart_props;
#[path = "store/settings_lookup.rs"]
mod settings_lookup;
#[path = "store/upgrade.rs"]
mod upgrade;
