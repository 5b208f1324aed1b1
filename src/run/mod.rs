//! A batch run: open the source, register and materialise the plan, write the result through the
//! output, and report. Everything is validated before any work starts.
//!
//! [`run`] reads as its phases, each a function of [`phases`] handing the next what it needs: open
//! (the session with the sources, the output and the snapshot directory), plan (the stages, timed),
//! figures (the summary's counts), write (through the run's [`Output`]), snapshot (the tables an
//! auditor gets), and the report ([`report`]: summary, manifest, `run_summary.json`). [`sources`]
//! opens and registers the input tables, for the run and for the analysts' catalog.
//!
//! [`Output`]: crate::sink::output::Output

mod phases;
mod report;
mod sources;

use datafusion::error::Result;
use datafusion::prelude::{SessionConfig, SessionContext};
use tracing::{Instrument, info};

use crate::plan::PlanOptions;
use crate::progress::Progress;
use crate::shutdown::Shutdown;
use crate::snapshot;
use crate::summary::RunSummary;
use phases::{Opened, PhaseClock};
use report::{Started, Stop};

pub use crate::mssql::options::{MSSQL, MssqlRunOptions, is_mssql};
pub(crate) use crate::sink::sink_count;
pub use sources::{open_source, register_sources};

/// Name of the summary file written next to the output table.
pub const SUMMARY_FILE: &str = "run_summary.json";

/// What to run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunConfig {
    pub input: String,
    /// Where to write; ignored by a dry run.
    pub output: String,
    /// Where to write the run's audit snapshot; `None`: no snapshot.
    pub snapshot_dir: Option<String>,
    pub dry_run: bool,
    pub distributor_ids: Vec<String>,
    pub limit_routes: Option<usize>,
    pub concurrency: usize,
    pub plan: PlanOptions,
    pub mssql: MssqlRunOptions,
    /// Seconds to wait for another run to release the output's lock (0: fail at once, exit 4).
    pub wait_lock_seconds: u64,
}

/// A session sized for `concurrency` cores.
pub fn session(concurrency: usize) -> SessionContext {
    // Identifiers are kept as written (CustNo, MonthlyRoutePlan_temp), as SQL Server users expect.
    let mut config = SessionConfig::new()
        .with_target_partitions(concurrency.max(1))
        .with_information_schema(true);
    config.options_mut().sql_parser.enable_ident_normalization = false;
    SessionContext::new_with_config(config)
}

/// Runs the whole job and returns its summary (also written as `run_summary.json` unless dry run).
/// Progress is counted on a handle of its own, which nobody shows, and nothing stops the run: the
/// command line passes the progress counter it displays and the stop its signals ask for to
/// [`run_with`].
pub async fn run(config: &RunConfig) -> Result<RunSummary> {
    run_with(config, &Progress::new(), &Shutdown::new()).await
}

/// [`run`], counting progress on `progress` and stopping when `shutdown` asks (then the error is
/// [`crate::error::Error::Interrupted`], carrying what the run had written). Every log line of the
/// run carries its id (the `run` span).
pub async fn run_with(config: &RunConfig, progress: &Progress, shutdown: &Shutdown) -> Result<RunSummary> {
    let run_id = snapshot::new_run_id();
    let span = tracing::info_span!("run", run_id = %run_id);
    run_with_id(config, run_id, progress, shutdown)
        .instrument(span)
        .await
}

/// The phases in order; what each hands the next is named by its type. The target's lock is
/// released however the run ends.
async fn run_with_id(
    config: &RunConfig,
    run_id: String,
    progress: &Progress,
    shutdown: &Shutdown,
) -> Result<RunSummary> {
    config.plan.validate()?;
    let started = Started::now(run_id);
    progress.set_phase("read");
    info!(input = %config.input, "run started");
    let mut clock = PhaseClock::new();
    let stop = Stop::new(shutdown, &started);
    let mut opened = stop.phase("open", None, phases::open(config, &started)).await?;
    clock.lap("open");
    info!(phase = "read", "tables opened");
    let result = run_opened(config, &started, &opened, progress, &stop, clock).await;
    opened.release_lock().await;
    result
}

/// Plan, write, snapshot and report, with the target locked.
async fn run_opened(
    config: &RunConfig,
    started: &Started,
    opened: &Opened,
    progress: &Progress,
    stop: &Stop<'_>,
    mut clock: PhaseClock,
) -> Result<RunSummary> {
    let out = Some(opened);
    progress.set_phase("plan");
    stop.phase(
        "plan",
        out,
        phases::plan(&opened.ctx, config, progress, &mut clock),
    )
    .await?;
    let figures = stop
        .phase("summary", out, phases::figures(&opened.ctx, &mut clock))
        .await?;
    let written = match &opened.output {
        Some(output) => {
            let written =
                phases::write(&opened.ctx, output.as_ref(), progress, stop.shutdown, &mut clock).await;
            stop.after_write(opened, written).await?
        }
        None => None,
    };
    phases::check_rows_written(written.as_ref(), &figures)?;
    let tables = stop
        .phase("snapshot", out, phases::snapshot(opened, config, &mut clock))
        .await?;

    let summary = report::summary(config, started, opened, figures, written.as_ref(), clock);
    stop.check("publish", out, written.as_ref()).await?;
    report::finish(config, started, opened, &summary, written, tables).await?;
    Ok(summary)
}
