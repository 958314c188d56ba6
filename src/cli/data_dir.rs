//! Where a command finds the server's files: `--config FILE` and the data
//! directory, the arguments every command on a server's data shares with
//! `serve` (flattened into each), so that each reads them as `serve` does.

use std::path::PathBuf;

use clap::Args;

/// `--config FILE`, for any subcommand that reads the server's
/// configuration file (flatten it into the subcommand's arguments).
#[derive(Args, Debug, Clone, Default)]
pub struct ConfigFile {
    /// A configuration file (TOML): any flag of `wachat serve` as a key,
    /// without its `--` (`send-port = 6666`; a repeatable flag is an
    /// array; a relative path is the file's folder's). A flag, then its
    /// WACHAT_ variable, win over the file.
    #[arg(long, value_name = "FILE", env = "WACHAT_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The server's data directory, for `serve` and for every command that
/// works on one (`users …`, `backup`, `restore`): one definition, so that
/// each reads it as `serve` does, from `--data-dir`, its variable
/// `WACHAT_DATA_DIR`, or the `data-dir` of the `--config` file
/// ([`super::config`]), in that order.
#[derive(Args, Debug, Clone)]
pub struct DataDirArgs {
    /// The server's data directory: its CSV files (serve makes it if missing).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub config: ConfigFile,
}
