//! Logging through tracing, set up from the global options.

use std::io::IsTerminal;
use std::sync::Mutex;

use routeflow::progress::SuspendingWriter;

use super::Cli;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Logs through tracing: `RUST_LOG` or -v/-q pick the level; text or JSON; standard error (printed
/// above the progress bar, never through it) or a file. Colours only on a terminal.
pub fn init(cli: &Cli) -> anyhow::Result<()> {
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let file = match &cli.log_file {
        Some(path) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot open the log file {}: {e}", path.display()))?,
        )),
        None => None,
    };
    match (cli.log_format, file) {
        (LogFormat::Json, Some(file)) => builder.json().with_writer(file).init(),
        (LogFormat::Json, None) => builder.json().with_writer(SuspendingWriter::new).init(),
        (LogFormat::Pretty, Some(file)) => builder.with_ansi(false).with_writer(file).init(),
        (LogFormat::Pretty, None) => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(SuspendingWriter::new)
            .init(),
    }
    Ok(())
}
