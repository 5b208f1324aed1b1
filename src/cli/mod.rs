//! The command line: the clap definition of every subcommand, and parsing it over the
//! configuration file. One module per subcommand holds its arguments and the function that
//! calls the library.

pub mod args;
pub mod config;
pub mod copy;
pub mod docs;
pub mod exit;
pub mod explain;
pub mod generate;
pub mod logging;
pub mod map;
pub mod run;
pub mod serve;
pub mod signals;
pub mod snapshots;
pub mod sql;
pub mod validate;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use self::exit::EXIT_BAD_INPUT;
use self::logging::LogFormat;

/// Turns a monthly route plan into optimized daily routes.
///
/// Every option can also come from routeflow.toml (--config, ROUTEFLOW_CONFIG, or ./routeflow.toml)
/// or from a ROUTEFLOW_<OPTION> environment variable (ROUTEFLOW_INPUT, ROUTEFLOW_TARGET_STOPS, ...);
/// flags win over the environment, the environment over the file. `routeflow config show run` prints
/// what a command would use and where each value came from.
///
/// Exit codes: 0 success, 1 failure, 2 partial (some output partitions failed), 3 bad configuration
/// or input.
#[derive(Parser, Debug)]
#[command(
    name = "routeflow",
    version,
    about,
    after_help = "Examples:\n  routeflow run\n  routeflow run --input /data/2026-12 --output /data/result \
                  --distributor-id D001\n  routeflow sql \"SELECT * FROM route_summary LIMIT 5\"\n  \
                  routeflow snapshots list\n  routeflow map routes.html --distributor D001\n  \
                  routeflow config show run"
)]
pub struct Cli {
    /// The configuration file [default: ./routeflow.toml when it exists].
    #[arg(long, value_name = "PATH", global = true, env = routeflow::config::CONFIG_ENV, help_heading = "Global options")]
    pub config: Option<PathBuf>,
    /// More log output (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = "Global options")]
    pub verbose: u8,
    /// Only warnings and errors, and no progress display.
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub quiet: bool,
    /// Log lines as text for people, or one JSON object per line (with the run id) for collectors.
    #[arg(long, value_enum, default_value_t = LogFormat::Pretty, global = true, help_heading = "Global options")]
    pub log_format: LogFormat,
    /// Append logs to this file instead of writing them to standard error.
    #[arg(long, value_name = "PATH", global = true, help_heading = "Global options")]
    pub log_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the optimizer: read the plan, top up, sequence, write the result and run_summary.json.
    ///
    /// Example: routeflow run --input fixtures/small --output out/
    Run(run::RunArgs),
    /// Report every data problem of the input, per table, with counts and example rows; write
    /// nothing. Exit 1 when a --fail-on threshold is exceeded.
    ///
    /// Example: routeflow validate --input fixtures/small --fail-on null_keys=0
    Validate(validate::ValidateArgs),
    /// Print the logical and physical plan of a stage (default: the output table).
    ///
    /// Example: routeflow explain --view route_stops
    Explain(explain::ExplainArgs),
    /// Run SQL over the source tables, every stage view and, with --snapshot, a snapshot's tables.
    /// Without a query, opens an interactive shell.
    ///
    /// Example: routeflow sql "SELECT * FROM route_summary ORDER BY route_km DESC LIMIT 5"
    Sql(sql::SqlArgs),
    /// Serve the same catalog as `sql` over Arrow Flight SQL, for BI tools (DBeaver: the Flight SQL
    /// JDBC driver) and notebooks (ADBC). Read-only; users from the config file; TLS with a certificate.
    ///
    /// Example: routeflow serve --input fixtures/small --tls-cert server.pem --tls-key server.key
    Serve(serve::ServeArgs),
    /// Print the Argon2 hash of a password read from standard input, for `user = ["NAME:HASH"]` under
    /// [serve] in the config file.
    ///
    /// Example: printf '%s\n' "$PASSWORD" | routeflow hash-password
    HashPassword,
    /// Draw a run's routes: .geojson, .svg, .png, or a self-contained .html page with a selector.
    ///
    /// Example: routeflow map routes.html --output out --distributor D001
    Map(map::MapArgs),
    /// List, show, compare and verify the audit snapshots runs leave behind.
    ///
    /// Example: routeflow snapshots list
    Snapshots {
        #[command(subcommand)]
        command: snapshots::SnapshotsCommand,
    },
    /// Copy the contract tables between a file location and SQL Server, either way, streaming.
    ///
    /// Example: ROUTEFLOW_MSSQL='Server=tcp:db,1433;…' routeflow copy --from fixtures/small --to mssql
    Copy(copy::CopyArgs),
    /// Write synthetic input tables (clustered Philippine stores) as Parquet.
    ///
    /// Example: routeflow generate --scale national --seed 7 --output /tmp/national
    Generate(generate::GenerateArgs),
    /// Show the effective configuration of a command, value by value, with where each came from.
    ///
    /// Example: routeflow config show run --target-stops 50
    Config {
        #[command(subcommand)]
        command: config::ConfigCommand,
    },
    /// Print a shell completion script.
    ///
    /// Example: routeflow completions bash > /etc/bash_completion.d/routeflow
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    ///
    /// Example: routeflow man > /usr/local/share/man/man1/routeflow.1
    Man,
}

/// The command line with a `ROUTEFLOW_<OPTION>` environment variable on every option, so the
/// environment covers every option of every subcommand without a list to keep in step (except
/// `generate`, a development tool).
pub fn cli_command() -> clap::Command {
    fn with_env(cmd: clap::Command) -> clap::Command {
        let names: Vec<String> = cmd.get_subcommands().map(|c| c.get_name().to_string()).collect();
        let mut cmd = cmd.mut_args(|arg| {
            let counted = matches!(
                arg.get_action(),
                clap::ArgAction::Count | clap::ArgAction::Help | clap::ArgAction::Version
            );
            match arg.get_long() {
                Some(long) if !counted && arg.get_env().is_none() => {
                    let name = format!("ROUTEFLOW_{}", long.to_ascii_uppercase().replace('-', "_"));
                    arg.env(name)
                }
                _ => arg,
            }
        });
        // `generate` writes test data: it must never pick up a production ROUTEFLOW_OUTPUT.
        for name in names.into_iter().filter(|n| n != "generate") {
            cmd = cmd.mut_subcommand(name, with_env);
        }
        cmd
    }
    with_env(Cli::command())
}

/// Parses the command line over the configuration file; usage errors are bad input (exit 3).
pub fn parse(argv: Vec<OsString>) -> Result<(Cli, routeflow::config::Layered, clap::ArgMatches), ExitCode> {
    let cmd = cli_command();
    let layered = routeflow::config::layer(&cmd, argv).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    let matches = cmd.try_get_matches_from(&layered.args).map_err(|e| {
        let _ = e.print();
        ExitCode::from(if e.use_stderr() { EXIT_BAD_INPUT } else { 0 })
    })?;
    let cli = Cli::from_arg_matches(&matches).map_err(|e| {
        let _ = e.print();
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    Ok((cli, layered, matches))
}
