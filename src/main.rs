//! The `routeflow` command line: `run`, `explain`, `sql`, `snapshots` and `generate`.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use datafusion::error::DataFusionError;
use routeflow::config;
use routeflow::copy::{self, CopyConfig};
use routeflow::generate::{self, GenerateOptions, Prospects, Scale};
use routeflow::map::{self, MapFormat, MapSource, Selection};
use routeflow::plan::sequence::SequenceMode;
use routeflow::plan::{self, PlanOptions};
use routeflow::progress::{self, SuspendingWriter};
use routeflow::run::{self, RunConfig};
use routeflow::sink::mssql::WriteMode;
use routeflow::snapshot::SnapshotDir;
use routeflow::snapshot::diff;
use routeflow::source::location::Location;
use routeflow::sql::{self, CatalogConfig, Format};
use routeflow::summary::Filters;
use tracing::{error, info};

/// mimalloc, as DataFusion's own CLI uses: a run builds and drops gigabytes of Arrow buffers stage
/// after stage, which it serves from memory it keeps instead of returning and re-faulting it (and
/// hands back between stages, src/memory.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
struct Cli {
    /// The configuration file [default: ./routeflow.toml when it exists].
    #[arg(long, value_name = "PATH", global = true, env = config::CONFIG_ENV, help_heading = "Global options")]
    config: Option<PathBuf>,
    /// More log output (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = "Global options")]
    verbose: u8,
    /// Only warnings and errors, and no progress display.
    #[arg(short, long, global = true, help_heading = "Global options")]
    quiet: bool,
    /// Log lines as text for people, or one JSON object per line (with the run id) for collectors.
    #[arg(long, value_enum, default_value_t = LogFormat::Pretty, global = true, help_heading = "Global options")]
    log_format: LogFormat,
    /// Append logs to this file instead of writing them to standard error.
    #[arg(long, value_name = "PATH", global = true, help_heading = "Global options")]
    log_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the optimizer: read the plan, top up, sequence, write the result and run_summary.json.
    ///
    /// Example: routeflow run --input fixtures/small --output out/
    Run(RunArgs),
    /// Print the logical and physical plan of a stage (default: the output table).
    ///
    /// Example: routeflow explain --view route_stops
    Explain(ExplainArgs),
    /// Run SQL over the source tables, every stage view and, with --snapshot, a snapshot's tables.
    /// Without a query, opens an interactive shell.
    ///
    /// Example: routeflow sql "SELECT * FROM route_summary ORDER BY route_km DESC LIMIT 5"
    Sql(SqlArgs),
    /// Draw a run's routes: .geojson, .svg, .png, or a self-contained .html page with a selector.
    ///
    /// Example: routeflow map routes.html --output out --distributor D001
    Map(MapArgs),
    /// List, show, compare and verify the audit snapshots runs leave behind.
    ///
    /// Example: routeflow snapshots list
    Snapshots {
        #[command(subcommand)]
        command: SnapshotsCommand,
    },
    /// Copy the contract tables between a file location and SQL Server, either way, streaming.
    ///
    /// Example: ROUTEFLOW_MSSQL='Server=tcp:db,1433;…' routeflow copy --from fixtures/small --to mssql
    Copy(CopyArgs),
    /// Write synthetic input tables (clustered Philippine stores) as Parquet.
    ///
    /// Example: routeflow generate --scale national --seed 7 --output /tmp/national
    Generate(GenerateArgs),
    /// Show the effective configuration of a command, value by value, with where each came from.
    ///
    /// Example: routeflow config show run --target-stops 50
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
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

#[derive(Args, Debug, Clone)]
struct InputArgs {
    /// Directory or URL holding the five tables (<Table>.parquet, <Table>.csv or <Table>/), or
    /// `mssql` for SQL Server (see --mssql).
    #[arg(long, default_value = "fixtures/small")]
    input: String,
    /// Only these distributors (repeatable).
    #[arg(long = "distributor-id", value_name = "ID")]
    distributor_ids: Vec<String>,
    /// Only the first N routes in (DistributorID, AgentID, RouteDate) order.
    #[arg(long, value_name = "N")]
    limit_routes: Option<usize>,
    /// Parallel partitions (default: number of cores); also the SQL Server connection pool size.
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    #[command(flatten, next_help_heading = "SQL Server")]
    mssql: MssqlArgs,
}

/// Reaching SQL Server when an input or output is `mssql`.
#[derive(Args, Debug, Clone)]
struct MssqlArgs {
    /// ADO.NET connection string (Server=tcp:host,1433;Database=…;User Id=…;Password=…;Encrypt=true).
    /// Prefer the ROUTEFLOW_MSSQL environment variable: a flag shows in the process list.
    #[arg(long, value_name = "CONNECTION_STRING", hide_env_values = true)]
    mssql: Option<String>,
    /// Seconds to open a connection (TCP and login).
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0)]
    mssql_connect_timeout: f64,
    /// Seconds to wait for the server within one answer before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    mssql_query_timeout: f64,
    /// Rows per Arrow batch read from SQL Server.
    #[arg(long, value_name = "ROWS", default_value_t = 8192)]
    mssql_batch_rows: usize,
}

impl MssqlArgs {
    fn options(&self) -> run::MssqlRunOptions {
        run::MssqlRunOptions {
            connection_string: self.mssql.clone(),
            connect_timeout_s: self.mssql_connect_timeout,
            query_timeout_s: self.mssql_query_timeout,
            batch_rows: self.mssql_batch_rows,
            ..Default::default()
        }
    }
}

/// Writing to SQL Server (`--output mssql`).
#[derive(Args, Debug, Clone)]
struct WriteArgs {
    /// `in-place`: update StopNo/custype of the plan table and insert the added prospects;
    /// `table NAME`: write the whole result into NAME, created or atomically replaced.
    #[arg(long, num_args = 1..=2, value_names = ["MODE", "NAME"], default_values_t = ["in-place".to_string()])]
    write: Vec<String>,
    /// Fail instead of truncating values longer than their SQL Server column (rule 8).
    #[arg(long)]
    strict_widths: bool,
    /// Retries of a partition after a transient error (deadlock, lost connection, timeout).
    #[arg(long, value_name = "N", default_value_t = 3)]
    retries: u32,
    /// Milliseconds before the first retry; doubled for each further one.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    retry_backoff_ms: u64,
}

impl WriteArgs {
    fn mode(&self) -> Result<WriteMode, DataFusionError> {
        match self
            .write
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["in-place"] => Ok(WriteMode::InPlace),
            ["table", name] => Ok(WriteMode::Table(name.to_string())),
            other => Err(DataFusionError::Configuration(format!(
                "--write takes `in-place` or `table NAME`, not `{}`",
                other.join(" ")
            ))),
        }
    }
}

#[derive(Args, Debug, Clone)]
struct PlanArgs {
    /// Depot latitude for every route (overrides distributors; needs --start-lon).
    #[arg(long, requires = "start_lon", allow_hyphen_values = true)]
    start_lat: Option<f64>,
    /// Depot longitude for every route (needs --start-lat).
    #[arg(long, requires = "start_lat", allow_hyphen_values = true)]
    start_lon: Option<f64>,
    /// Routes with fewer distinct stops are topped up with prospects to this many.
    #[arg(long, default_value_t = 60)]
    target_stops: u32,
    /// Radius of the second top-up stage around the route centroid, in km.
    #[arg(long, default_value_t = 5.0)]
    max_distance_km: f64,
    /// StopNo of stops without coordinates (at least N + 1).
    #[arg(long, default_value_t = 100)]
    no_coords_stop: i32,
    /// Path construction.
    #[arg(long, value_enum, default_value_t = SequenceMode::Improved)]
    sequence: SequenceMode,
}

impl PlanArgs {
    fn options(&self) -> PlanOptions {
        PlanOptions {
            target_stops: self.target_stops,
            max_distance_km: self.max_distance_km,
            no_coords_stop: self.no_coords_stop,
            start: self.start_lat.zip(self.start_lon),
            sequence: self.sequence,
        }
    }
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten, next_help_heading = "Input")]
    input: InputArgs,
    #[command(flatten, next_help_heading = "Plan")]
    plan: PlanArgs,
    /// Directory or URL for the result (<output>/MonthlyRoutePlan_temp/) and run_summary.json, or
    /// `mssql` to write back to SQL Server (see --write).
    #[arg(long, default_value = "out")]
    output: String,
    #[command(flatten, next_help_heading = "SQL Server output")]
    write: WriteArgs,
    /// Compute and report, write nothing (no snapshot either).
    #[arg(long)]
    dry_run: bool,
    /// Where to write the run's audit snapshot (local path or URL) [default: <output>/snapshots, or
    /// ./snapshots when the output is SQL Server].
    #[arg(long, value_name = "URL")]
    snapshot_dir: Option<String>,
    /// Write no snapshot (wins over a --snapshot-dir from the environment or the config file).
    #[arg(long)]
    no_snapshot: bool,
    /// Print the summary as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Seconds between progress lines when standard error is not a terminal (a scheduler's log).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    progress_interval: f64,
}

#[derive(Args, Debug)]
struct CopyArgs {
    /// Where the tables are: a directory or URL, or `mssql`.
    #[arg(long)]
    from: String,
    /// Where they go: a directory or URL (as Parquet datasets <to>/<Table>/), or `mssql`.
    #[arg(long)]
    to: String,
    /// Only these tables (comma-separated or repeated) [default: the five contract tables].
    #[arg(long, value_delimiter = ',')]
    tables: Vec<String>,
    /// Into SQL Server: keep the rows already in the tables instead of replacing them.
    #[arg(long)]
    append: bool,
    /// Fail instead of truncating values longer than their SQL Server column.
    #[arg(long)]
    strict_widths: bool,
    /// Parallel partitions, and connections in the pool.
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    #[command(flatten, next_help_heading = "SQL Server")]
    mssql: MssqlArgs,
}

#[derive(Args, Debug)]
struct ExplainArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    plan: PlanArgs,
    /// The view or table to explain.
    #[arg(long, default_value = "route_plan")]
    view: String,
    /// Run the plan and show per-operator metrics (rows, time) instead of only planning it.
    #[arg(long)]
    analyze: bool,
}

#[derive(Args, Debug)]
struct SqlArgs {
    /// The query; without one, an interactive shell starts.
    query: Option<String>,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    plan: PlanArgs,
    /// Also query this snapshot's tables, as snapshot_input.<Table> and snapshot_output.<Table>.
    #[arg(long, value_name = "RUN_ID")]
    snapshot: Option<String>,
    #[command(flatten)]
    snapshot_dir: SnapshotDirArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the result to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct MapArgs {
    /// The file to write; its extension picks the format (.geojson, .svg, .png, .html).
    file: PathBuf,
    /// The run's input tables (for coordinates, and to tell which stops the run added).
    #[arg(long, default_value = "fixtures/small")]
    input: String,
    /// The run's output directory.
    #[arg(long, default_value = "out")]
    output: String,
    /// Draw a snapshot's routes instead (its own input and output).
    #[arg(long, value_name = "RUN_ID")]
    snapshot: Option<String>,
    #[command(flatten)]
    snapshot_dir: SnapshotDirArg,
    /// Only this distributor.
    #[arg(long, value_name = "ID")]
    distributor: Option<String>,
    /// Only this agent.
    #[arg(long, value_name = "ID")]
    agent: Option<String>,
    /// Only this route date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    /// Drawing width in pixels (.svg, .png).
    #[arg(long, default_value_t = 1200)]
    width: u32,
    /// Drawing height in pixels (.svg, .png).
    #[arg(long, default_value_t = 900)]
    height: u32,
}

#[derive(Args, Debug, Clone)]
struct SnapshotDirArg {
    /// Directory or URL holding the snapshots.
    #[arg(long = "snapshot-dir", value_name = "URL", default_value = "out/snapshots")]
    dir: String,
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// The values COMMAND (default: run) would use, from flags, environment, file or defaults;
    /// secrets shown as ***.
    Show {
        /// A command and its options, as you would run it.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
        command: Vec<OsString>,
    },
}

#[derive(Subcommand, Debug)]
enum SnapshotsCommand {
    /// Every run in the directory, oldest first; runs that never finished are marked incomplete.
    ///
    /// Example: routeflow snapshots list --snapshot-dir out/snapshots
    List {
        #[command(flatten)]
        dir: SnapshotDirArg,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One run's manifest: configuration, tables with row counts and hashes, sink partitions, figures.
    ///
    /// Example: routeflow snapshots show 20261130T020000.000Z-3fa2c1
    Show {
        run_id: String,
        #[command(flatten)]
        dir: SnapshotDirArg,
        /// Print the manifest as stored (JSON).
        #[arg(long)]
        json: bool,
    },
    /// Routes that changed from RUN_A to RUN_B: stops added or removed, StopNo changes, km before/after.
    ///
    /// Example: routeflow snapshots diff 20261129T020000.000Z-a1b2c3 20261130T020000.000Z-3fa2c1
    Diff {
        run_a: String,
        run_b: String,
        #[command(flatten)]
        dir: SnapshotDirArg,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Write the changed routes to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Recompute every file's hash and report any file changed, missing or added since the run.
    ///
    /// Example: routeflow snapshots verify 20261130T020000.000Z-3fa2c1
    Verify {
        run_id: String,
        #[command(flatten)]
        dir: SnapshotDirArg,
    },
}

#[derive(Args, Debug)]
struct GenerateArgs {
    #[arg(long, value_parser = clap::value_parser!(Scale), default_value = "small")]
    scale: Scale,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Copies of the country, each on new ground with its own distributors (for scaling benchmarks).
    #[arg(long, default_value_t = 1)]
    factor: u32,
    /// How many prospects there are: `plentiful` (every short route is filled near its customers)
    /// or `scarce` (fewer than the routes need: routes compete and many stay short).
    #[arg(long, value_parser = clap::value_parser!(Prospects), default_value = "plentiful")]
    prospects: Prospects,
    /// Local directory to write <Table>.parquet files into.
    #[arg(long)]
    output: PathBuf,
}

/// Exit codes: 0 success, 1 failure, 2 partial (some sink partitions failed; the SQL Server sink's
/// outcome, never the file sink's, which writes all or fails), 3 bad configuration or input.
const EXIT_FAILURE: u8 = 1;
const EXIT_PARTIAL: u8 = 2;
const EXIT_BAD_INPUT: u8 = 3;

/// The command line with a `ROUTEFLOW_<OPTION>` environment variable on every option, so the
/// environment covers every option of every subcommand without a list to keep in step (except
/// `generate`, a development tool).
fn cli_command() -> clap::Command {
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
fn parse(argv: Vec<OsString>) -> Result<(Cli, config::Layered, clap::ArgMatches), ExitCode> {
    let cmd = cli_command();
    let layered = config::layer(&cmd, argv).map_err(|e| {
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

fn main() -> ExitCode {
    // Before anything large is allocated: see src/memory.rs.
    if !routeflow::memory::huge_pages_wanted() {
        routeflow::memory::disable_huge_pages();
    }
    let cli = match parse(std::env::args_os().collect()) {
        Ok((cli, _, _)) => cli,
        Err(code) => return code,
    };
    if let Err(e) = init_logging(&cli) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let config_file = cli.config.clone();
    match runtime.block_on(dispatch(cli.command, cli.quiet, cli.log_format, config_file)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = exit_code(&e);
            error!("{}", one_line(&e));
            ExitCode::from(code)
        }
    }
}

/// Logs through tracing: `RUST_LOG` or -v/-q pick the level; text or JSON; standard error (printed
/// above the progress bar, never through it) or a file. Colours only on a terminal.
fn init_logging(cli: &Cli) -> anyhow::Result<()> {
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

/// Some output partitions failed (the summary lists them): exit 2, a re-run completes the job.
#[derive(Debug)]
struct PartialFailure(usize);

impl std::fmt::Display for PartialFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} output partition(s) failed; run again to complete them",
            self.0
        )
    }
}

impl std::error::Error for PartialFailure {}

fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<PartialFailure>().is_some() {
        return EXIT_PARTIAL;
    }
    match e
        .downcast_ref::<DataFusionError>()
        .map(DataFusionError::find_root)
    {
        Some(
            DataFusionError::Configuration(_) | DataFusionError::Plan(_) | DataFusionError::SchemaError(..),
        ) => EXIT_BAD_INPUT,
        _ => EXIT_FAILURE,
    }
}

/// The error and its causes on one line, for logs read the morning after.
fn one_line(e: &anyhow::Error) -> String {
    e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ")
}

fn concurrency(n: Option<usize>) -> usize {
    n.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

async fn dispatch(
    command: Command,
    quiet: bool,
    log_format: LogFormat,
    config_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => {
            let snapshot_dir = match (args.no_snapshot, &args.snapshot_dir) {
                (true, _) => None,
                (false, Some(dir)) => Some(dir.clone()),
                (false, None) if run::is_mssql(&args.output) => Some("snapshots".to_string()),
                (false, None) => Some(format!("{}/snapshots", args.output.trim_end_matches('/'))),
            };
            let mssql = run::MssqlRunOptions {
                write: args.write.mode()?,
                strict_widths: args.write.strict_widths,
                retries: args.write.retries,
                retry_backoff_ms: args.write.retry_backoff_ms,
                ..args.input.mssql.options()
            };
            let config = RunConfig {
                input: args.input.input.clone(),
                output: args.output.clone(),
                snapshot_dir,
                dry_run: args.dry_run,
                distributor_ids: args.input.distributor_ids.clone(),
                limit_routes: args.input.limit_routes,
                concurrency: concurrency(args.input.concurrency),
                plan: args.plan.options(),
                mssql,
            };
            let mode = match (quiet, log_format) {
                (true, _) => progress::Mode::Off,
                // A JSON log stays all JSON: progress lines become log events.
                (false, LogFormat::Json) => progress::Mode::Plain(Box::new(progress::LogLines::default())),
                (false, LogFormat::Pretty) => progress::Mode::Auto,
            };
            let interval = Duration::try_from_secs_f64(args.progress_interval)
                .map_err(|e| DataFusionError::Configuration(format!("--progress-interval: {e}")))?;
            let reporter = progress::start(progress::global(), mode, interval);
            let summary = run::run(&config).await;
            reporter.finish();
            let summary = summary?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                println!(
                    "routeflow run{}",
                    if config.dry_run {
                        " (dry run, nothing written)"
                    } else {
                        ""
                    }
                );
                print!("{}", summary.to_text());
                if let Some(out) = &summary.output {
                    println!("  {:<34} {out}", "output");
                }
            }
            match &summary.sink {
                Some(sink) if !sink.failed.is_empty() => Err(PartialFailure(sink.failed.len()).into()),
                _ => Ok(()),
            }
        }
        Command::Copy(args) => {
            let config = CopyConfig {
                from: args.from.clone(),
                to: args.to.clone(),
                tables: args.tables.clone(),
                append: args.append,
                mssql: run::MssqlRunOptions {
                    strict_widths: args.strict_widths,
                    ..args.mssql.options()
                },
                concurrency: concurrency(args.concurrency),
            };
            let report = copy::copy(&config).await?;
            for (table, rows) in &report.tables {
                println!("  {table:<34} {rows} rows");
            }
            if report.truncations.count > 0 {
                println!("  {:<34} {}", "truncated values", report.truncations.count);
                for e in &report.truncations.examples {
                    println!("    {e}");
                }
            }
            Ok(())
        }
        Command::Explain(args) => {
            let options = args.plan.options();
            options.validate()?;
            let concurrency = concurrency(args.input.concurrency);
            let ctx = run::session(concurrency);
            let source = run::open_source(&ctx, &args.input.input, &args.input.mssql.options(), concurrency)?;
            let filters = Filters {
                distributor_ids: args.input.distributor_ids.clone(),
                limit_routes: args.input.limit_routes,
            };
            run::register_sources(&ctx, source.as_ref(), &filters, None).await?;
            plan::register(&ctx, &options, false, |_, _| {}).await?;
            let df = ctx.table(args.view.as_str()).await?;
            let explained = df.explain(false, args.analyze)?.collect().await?;
            println!("{}", arrow::util::pretty::pretty_format_batches(&explained)?);
            Ok(())
        }
        Command::Sql(args) => {
            let config = CatalogConfig {
                input: args.input.input.clone(),
                filters: Filters {
                    distributor_ids: args.input.distributor_ids.clone(),
                    limit_routes: args.input.limit_routes,
                },
                concurrency: concurrency(args.input.concurrency),
                plan: args.plan.options(),
                mssql: args.input.mssql.options(),
                snapshot: args
                    .snapshot
                    .clone()
                    .map(|id| (args.snapshot_dir.dir.clone(), id)),
            };
            let ctx = sql::catalog(&config).await?;
            match &args.query {
                Some(query) => {
                    let rows = sql::execute(&ctx, query, args.format, args.out.as_deref()).await?;
                    if let Some(out) = &args.out {
                        info!(rows, out = %out.display(), "result written");
                    }
                }
                None => sql::shell::run(&ctx).await?,
            }
            Ok(())
        }
        Command::Snapshots { command } => snapshots(command).await,
        Command::Config {
            command: ConfigCommand::Show { command: args },
        } => {
            let mut argv = vec![OsString::from("routeflow")];
            if let Some(file) = config_file {
                argv.extend([OsString::from("--config"), file.into_os_string()]);
            }
            if args.is_empty() {
                argv.push("run".into());
            }
            argv.extend(args);
            let (_, layered, matches) = parse(argv)
                .map_err(|_| DataFusionError::Configuration("the command to show does not parse".into()))?;
            if let Some(file) = &layered.file {
                println!("# configuration file: {}", file.display());
            }
            for entry in config::effective(&cli_command(), &matches, &layered) {
                println!("{entry}");
            }
            Ok(())
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut cli_command(), "routeflow", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            clap_mangen::Man::new(cli_command()).render(&mut std::io::stdout())?;
            Ok(())
        }
        Command::Map(args) => {
            let format = MapFormat::from_path(&args.file)?;
            let source = match &args.snapshot {
                Some(run_id) => MapSource::Snapshot {
                    dir: args.snapshot_dir.dir.clone(),
                    run_id: run_id.clone(),
                },
                None => MapSource::Run {
                    input: args.input.clone(),
                    output: args.output.clone(),
                },
            };
            let selection = Selection {
                distributor: args.distributor.clone(),
                agent: args.agent.clone(),
                date: args.date.clone(),
            };
            let routes = map::load(&source, &selection, concurrency(None)).await?;
            if routes.is_empty() {
                return Err(DataFusionError::Configuration("no route matches the selection".into()).into());
            }
            if routes.len() > format.max_routes() {
                return Err(DataFusionError::Configuration(format!(
                    "{} routes selected; one {:?} map shows at most {}: narrow it with --distributor, --agent or --date",
                    routes.len(),
                    format,
                    format.max_routes()
                ))
                .into());
            }
            let bytes = format.render(&routes, args.width, args.height)?;
            std::fs::write(&args.file, bytes)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.file.display()))?;
            info!(routes = routes.len(), file = %args.file.display(), "map written");
            Ok(())
        }
        Command::Generate(args) => {
            let started = Instant::now();
            let opts = GenerateOptions {
                scale: args.scale,
                seed: args.seed,
                factor: args.factor,
                prospects: args.prospects,
            };
            let tables = generate::generate(&opts);
            generate::write_parquet_dir(&args.output, &tables).map_err(|e| anyhow::anyhow!("{e}"))?;
            for (name, batches) in &tables {
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                info!(table = name, rows, "written");
            }
            info!(
                output = %args.output.display(),
                seconds = started.elapsed().as_secs_f64(),
                "generated"
            );
            Ok(())
        }
    }
}

fn snapshot_dir(
    ctx: &datafusion::prelude::SessionContext,
    arg: &SnapshotDirArg,
) -> anyhow::Result<SnapshotDir> {
    Ok(SnapshotDir::new(Location::resolve(ctx, &arg.dir)?))
}

async fn snapshots(command: SnapshotsCommand) -> anyhow::Result<()> {
    let ctx = run::session(concurrency(None));
    match command {
        SnapshotsCommand::List { dir, json } => {
            let runs = snapshot_dir(&ctx, &dir)?.list().await?;
            if json {
                let rows: Vec<_> = runs
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "run_id": r.run_id,
                            "complete": r.manifest.is_some(),
                            "finished_at": r.manifest.as_ref().map(|m| &m.finished_at),
                            "routes": r.manifest.as_ref().and_then(|m| m.summary.pointer("/routes/total").cloned()),
                            "rows_written": r.manifest.as_ref().and_then(|m| m.summary.pointer("/rows/written").cloned()),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            println!(
                "{:<28} {:<10} {:<21} {:>8} {:>12} {:>12}",
                "run id", "status", "finished", "routes", "rows written", "km"
            );
            for run in &runs {
                match &run.manifest {
                    Some(m) => {
                        let figure =
                            |p: &str| m.summary.pointer(p).map(|v| v.to_string()).unwrap_or_default();
                        let km = m
                            .summary
                            .pointer("/distance_km/sequence")
                            .and_then(|v| v.as_f64())
                            .unwrap_or(0.0);
                        println!(
                            "{:<28} {:<10} {:<21} {:>8} {:>12} {:>12.1}",
                            run.run_id,
                            "complete",
                            m.finished_at,
                            figure("/routes/total"),
                            figure("/rows/written"),
                            km
                        );
                    }
                    None => println!("{:<28} {:<10}", run.run_id, "incomplete"),
                }
            }
            Ok(())
        }
        SnapshotsCommand::Show { run_id, dir, json } => {
            let manifest = snapshot_dir(&ctx, &dir)?.manifest(&run_id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&manifest)?);
                return Ok(());
            }
            println!(
                "run {} (routeflow {})",
                manifest.run_id, manifest.routeflow_version
            );
            println!(
                "  {:<12} {} .. {}",
                "time", manifest.started_at, manifest.finished_at
            );
            println!("  {:<12} {}", "config", serde_json::to_string(&manifest.config)?);
            println!("  tables");
            for t in &manifest.tables {
                println!(
                    "    {:<36} {:>10} rows {:>4} files  sha256 {}",
                    t.path,
                    t.rows,
                    t.files.len(),
                    t.sha256
                );
            }
            let failed = manifest
                .sink
                .partitions
                .iter()
                .filter(|p| p.status != "written")
                .count();
            println!(
                "  sink         {} -> {}: {} partitions written, {failed} failed",
                manifest.sink.kind,
                manifest.sink.target,
                manifest.sink.partitions.len() - failed
            );
            for key in [
                "/routes/total",
                "/rows/read",
                "/rows/written",
                "/prospects_added/total",
                "/distance_km/sequence",
            ] {
                if let Some(v) = manifest.summary.pointer(key) {
                    println!("  {:<28} {v}", key.trim_start_matches('/').replace('/', "."));
                }
            }
            Ok(())
        }
        SnapshotsCommand::Diff {
            run_a,
            run_b,
            dir,
            format,
            out,
        } => {
            let dir = snapshot_dir(&ctx, &dir)?;
            let (changed, totals) = diff::diff(&dir, &run_a, &run_b, concurrency(None)).await?;
            let rows = sql::output::write(changed.execute_stream().await?, format, out.as_deref()).await?;
            // The totals follow the table for people; next to CSV or JSON on standard output they go
            // to standard error, so the data stays parseable.
            let totals = arrow::util::pretty::pretty_format_batches(&totals.collect().await?)?;
            let text = format!("{rows} routes changed from {run_a} to {run_b}\n{totals}");
            if format == Format::Table && out.is_none() {
                println!("{text}");
            } else {
                eprintln!("{text}");
            }
            Ok(())
        }
        SnapshotsCommand::Verify { run_id, dir } => {
            let report = snapshot_dir(&ctx, &dir)?
                .verify(&run_id, concurrency(None))
                .await?;
            for problem in &report.problems {
                println!("{problem}");
            }
            if report.problems.is_empty() {
                println!(
                    "{run_id}: {} files verified, all match the manifest",
                    report.files_checked
                );
                Ok(())
            } else {
                anyhow::bail!(
                    "{run_id}: {} problem(s) in {} files checked",
                    report.problems.len(),
                    report.files_checked
                )
            }
        }
    }
}
