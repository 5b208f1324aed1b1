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
use crate::snapshot;
use crate::summary::RunSummary;
use phases::PhaseClock;
use report::Started;

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
/// Progress is counted on a handle of its own, which nobody shows: the command line passes the one
/// it displays to [`run_with_progress`].
pub async fn run(config: &RunConfig) -> Result<RunSummary> {
    run_with_progress(config, &Progress::new()).await
}

/// [`run`], counting progress on `progress`. Every log line of the run carries its id (the `run`
/// span).
pub async fn run_with_progress(config: &RunConfig, progress: &Progress) -> Result<RunSummary> {
    let run_id = snapshot::new_run_id();
    let span = tracing::info_span!("run", run_id = %run_id);
    run_with_id(config, run_id, progress).instrument(span).await
}

/// The phases in order; what each hands the next is named by its type.
async fn run_with_id(config: &RunConfig, run_id: String, progress: &Progress) -> Result<RunSummary> {
    config.plan.validate()?;
    let started = Started::now(run_id);
    progress.set_phase("read");
    info!(input = %config.input, "run started");
    let mut clock = PhaseClock::new();

    let opened = phases::open(config, &started.run_id).await?;
    clock.lap("open");
    info!(phase = "read", "tables opened");

    progress.set_phase("plan");
    phases::plan(&opened.ctx, config, progress, &mut clock).await?;
    let figures = phases::figures(&opened.ctx, &mut clock).await?;
    let written = match &opened.output {
        Some(output) => Some(phases::write(&opened.ctx, output.as_ref(), progress, &mut clock).await?),
        None => None,
    };
    phases::check_rows_written(written.as_ref(), &figures)?;
    let tables = phases::snapshot(&opened, config, &mut clock).await?;

    let summary = report::summary(config, &started, &opened, figures, written.as_ref(), clock);
    report::finish(config, started, &opened, &summary, written, tables).await?;
    Ok(summary)
}
