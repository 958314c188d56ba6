//! `wachat`: parse the command line, set up logging, run, and turn an
//! error into a message and a non-zero exit code.

use clap::Parser;

fn main() {
    let cli = wachat::cli::Cli::parse();
    wachat::display::logger("info").init();
    if let Err(e) = wachat::cli::run(cli) {
        // An error can quote the server's words: shown, never obeyed.
        eprintln!("wachat: {}", wachat::display::visible(&e.to_string()));
        std::process::exit(1);
    }
}
