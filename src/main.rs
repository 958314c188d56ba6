//! `wachat`: parse the command line, set up logging, run, and turn an
//! error into a message and a non-zero exit code.

fn main() {
    // Flags, then WACHAT_ variables, then the --config file (src/cli/config.rs).
    let cli = wachat::cli::try_parse().unwrap_or_else(|e| e.exit());
    // The server's log is what its operator reads: from INFO on. Every
    // other command prints what it has to say to the person who ran it,
    // and its log adds only what went wrong (WARN), unless RUST_LOG asks
    // for more: an INFO line from the store in the middle of `wachat users
    // import`'s answer was addressed to nobody.
    let level = if matches!(cli.command, wachat::cli::Command::Serve(_)) { "info" } else { "warn" };
    wachat::display::logger(level).init();
    if let Err(e) = wachat::cli::run(cli) {
        // An error can quote the server's words: shown, never obeyed.
        eprintln!("wachat: {}", wachat::display::visible(&e.to_string()));
        std::process::exit(1);
    }
}
