//! `routeflow run`: the batch run, with its progress display and printed summary.

use std::time::Duration;

use clap::Args;
use datafusion::error::DataFusionError;
use routeflow::error::Error;
use routeflow::progress;
use routeflow::run::{self, RunConfig};

use super::args::{InputArgs, PlanArgs, WriteArgs, concurrency};
use super::logging::LogFormat;

#[derive(Args, Debug)]
pub struct RunArgs {
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
    /// Seconds to wait for another run writing the same output to finish; without it a busy target
    /// ends the run at once with exit code 4.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    wait_lock: u64,
    /// Seconds between progress lines when standard error is not a terminal (a scheduler's log).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    progress_interval: f64,
}

impl RunArgs {
    /// The snapshot directory: as given, none with --no-snapshot, else next to the output.
    fn snapshot_dir(&self) -> Option<String> {
        match (self.no_snapshot, &self.snapshot_dir) {
            (true, _) => None,
            (false, Some(dir)) => Some(dir.clone()),
            (false, None) if run::is_mssql(&self.output) => Some("snapshots".to_string()),
            (false, None) => Some(format!("{}/snapshots", self.output.trim_end_matches('/'))),
        }
    }

    fn config(&self) -> Result<RunConfig, DataFusionError> {
        let mssql = run::MssqlRunOptions {
            write: self.write.mode()?,
            strict_widths: self.write.strict_widths,
            retries: self.write.retries,
            retry_backoff_ms: self.write.retry_backoff_ms,
            ..self.input.mssql.options()
        };
        Ok(RunConfig {
            input: self.input.input.clone(),
            output: self.output.clone(),
            snapshot_dir: self.snapshot_dir(),
            dry_run: self.dry_run,
            distributor_ids: self.input.distributor_ids.clone(),
            limit_routes: self.input.limit_routes,
            concurrency: concurrency(self.input.concurrency),
            plan: self.plan.options(),
            mssql,
            wait_lock_seconds: self.wait_lock,
        })
    }
}

/// Runs the optimizer with a progress display; a sink with failed partitions is exit 2.
pub async fn run(args: RunArgs, quiet: bool, log_format: LogFormat) -> anyhow::Result<()> {
    let config = args.config()?;
    let mode = match (quiet, log_format) {
        (true, _) => progress::Mode::Off,
        // A JSON log stays all JSON: progress lines become log events.
        (false, LogFormat::Json) => progress::Mode::Plain(Box::new(progress::LogLines::default())),
        (false, LogFormat::Pretty) => progress::Mode::Auto,
    };
    let interval = Duration::try_from_secs_f64(args.progress_interval)
        .map_err(|e| routeflow::error::bad_input(format!("--progress-interval: {e}")))?;
    let shutdown = super::signals::install()?;
    let counter = progress::global();
    let reporter = progress::start(counter, mode, interval);
    let summary = run::run_with(&config, counter, &shutdown).await;
    reporter.finish();
    let summary = match summary {
        Ok(summary) => summary,
        Err(e) => {
            print_interrupted(&e, args.json)?;
            return Err(e.into());
        }
    };
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
        Some(sink) if !sink.failed.is_empty() => Err(routeflow::error::Error::PartialWrite {
            failed: sink.failed.len(),
        }
        .into()),
        _ => Ok(()),
    }
}

/// An interrupted run's report on standard output, where its summary would have been: what it had
/// written, and that the previous file output stays published.
fn print_interrupted(e: &DataFusionError, json: bool) -> anyhow::Result<()> {
    let Some(Error::Interrupted {
        report: Some(report), ..
    }) = routeflow::error::find(e)
    else {
        return Ok(());
    };
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let field = |name: &str| {
        report
            .get(name)
            .map(|v| v.to_string().trim_matches('"').to_string())
    };
    println!("routeflow run (interrupted)");
    for name in ["run_id", "signal", "phase", "output", "published"] {
        println!(
            "  {:<34} {}",
            name.replace('_', " "),
            field(name).unwrap_or_default()
        );
    }
    if let Some(parts) = report.get("partitions").and_then(|p| p.as_array()) {
        let written = parts.iter().filter(|p| p["status"] == "written").count();
        println!("  {:<34} {written} of {}", "partitions written", parts.len());
    }
    Ok(())
}
