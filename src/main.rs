//! `wachat`: parse the command line, set up logging, run, and turn an
//! error into a message and a non-zero exit code.

use clap::Parser;

fn main() {
    let cli = wachat::cli::Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    if let Err(e) = wachat::cli::run(cli) {
        eprintln!("wachat: {e}");
        std::process::exit(1);
    }
}
