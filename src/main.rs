//! `wachat`: parse the command line, set up logging, run, and turn an
//! error into a message and a non-zero exit code.

use wachat::display::LogFormat;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Asked before the parse, so that a bad flag is told in JSON too.
    let asked = LogFormat::asked(&args);
    // Flags, then WACHAT_ variables, then the --config file (src/cli/config.rs).
    let cli = match wachat::cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if asked == LogFormat::Json && e.use_stderr() => {
            let message = e.render().to_string();
            fail(LogFormat::Json, message.trim_end(), e.exit_code());
        }
        Err(e) => e.exit(),
    };
    let format = match &cli.command {
        wachat::cli::Command::Serve(serve) => serve.log_format,
        _ => LogFormat::Text,
    };
    // The server's log is what its operator reads: from INFO on. Every
    // other command prints what it has to say to the person who ran it,
    // and its log adds only what went wrong (WARN), unless RUST_LOG asks
    // for more: an INFO line from the store in the middle of `wachat users
    // import`'s answer was addressed to nobody.
    let level = if matches!(cli.command, wachat::cli::Command::Serve(_)) { "info" } else { "warn" };
    wachat::display::logger_in(level, format).init();
    if let Err(e) = wachat::cli::run(cli) {
        fail(format, &e.to_string(), 1);
    }
}

/// Says the error that ends the command, in the log's format, and exits
/// with `code`. An error can quote the server's words: shown, never obeyed.
fn fail(format: LogFormat, message: &str, code: i32) -> ! {
    let message = wachat::display::visible(message);
    match format {
        LogFormat::Text => eprintln!("wachat: {message}"),
        LogFormat::Json => {
            let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
            eprintln!("{}", wachat::display::json_line(&now, "ERROR", "wachat", &message, &[]));
        }
    }
    std::process::exit(code);
}
