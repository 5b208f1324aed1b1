//! The phases of a batch run, in order. Each takes what the phase before handed it and says what it
//! hands on; [`PhaseClock`] times them for the summary.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use tracing::{info, warn};

use super::report::Started;
use super::{RunConfig, is_mssql, open_source, register_sources, session};
use crate::names::{stage, view};
use crate::plan;
use crate::progress::Progress;
use crate::schema::ROUTE_PLAN;
use crate::shutdown::Shutdown;
use crate::sink::mssql_output::MssqlOutput;
use crate::sink::output::{Output, RunOwner, TargetLock, Written};
use crate::sink::parquet_output::ParquetOutput;
use crate::snapshot::SnapshotDir;
use crate::snapshot::manifest::TableEntry;
use crate::source::Source;
use crate::source::location::Location;
use crate::source::spill::ReadOnce;
use crate::summary::{self, DataFigures, Filters, Phase};

/// The phases' timings, in order.
pub(super) struct PhaseClock {
    pub phases: Vec<Phase>,
    mark: Instant,
}

impl PhaseClock {
    /// A clock running from now.
    pub fn new() -> Self {
        Self {
            phases: Vec::new(),
            mark: Instant::now(),
        }
    }

    /// Restarts the clock: what happens between phases is not counted.
    pub fn restart(&mut self) {
        self.mark = Instant::now();
    }

    /// Records the phase `name` as the time since the clock last (re)started; returns its seconds.
    pub fn lap(&mut self, name: &str) -> f64 {
        let seconds = self.mark.elapsed().as_secs_f64();
        self.phases.push(Phase {
            name: name.to_string(),
            seconds,
        });
        seconds
    }
}

/// What opening hands on: the session with the input tables registered, and where the run writes
/// (locked for this run).
pub(super) struct Opened {
    pub ctx: SessionContext,
    pub filters: Filters,
    /// `None` for a dry run.
    pub output: Option<Box<dyn Output>>,
    /// The output's lock, held until [`Opened::release_lock`]; none for a dry run.
    lock: Option<Box<dyn TargetLock>>,
    /// The run's snapshot directory: only for a run that writes, with a snapshot directory.
    pub snapshot: Option<Location>,
    /// Kept for the run's length: the registered tables read through them.
    _source: Arc<dyn Source>,
    _read_once: Option<ReadOnce>,
}

impl Opened {
    /// Lets other runs write the target again. A lock that cannot be released is logged: a file
    /// lock is then taken over once this process is gone, a server lock ends with the session.
    pub async fn release_lock(&mut self) {
        if let Some(lock) = self.lock.take()
            && let Err(e) = lock.release().await
        {
            warn!("could not release the output's lock: {e}");
        }
    }
}

/// Opens the source, the output (taking its lock) and the snapshot directory (so that a bad location
/// or a busy target fails before any work) and registers the input tables.
pub(super) async fn open(config: &RunConfig, started: &Started) -> Result<Opened> {
    let run_id = started.run_id.as_str();
    let ctx = session(config.concurrency);
    let filters = Filters {
        distributor_ids: config.distributor_ids.clone(),
        limit_routes: config.limit_routes,
    };
    let source = open_source(&ctx, &config.input, &config.mssql, config.concurrency)?;
    let output = open_output(&ctx, config, run_id)?;
    let lock = match &output {
        Some(output) => {
            let owner = RunOwner::this_process(run_id, &started.at);
            let wait = Duration::from_secs(config.wait_lock_seconds);
            Some(output.lock(&owner, wait).await?)
        }
        None => None,
    };
    let snapshot = match (&output, &config.snapshot_dir) {
        (Some(_), Some(dir)) => Some(SnapshotDir::new(Location::resolve(&ctx, dir)?).run(run_id)?),
        _ => None,
    };
    // Files do not change under a run; a live database is read once (see `ReadOnce`).
    let read_once = source.cache_reads().then(ReadOnce::new).transpose()?;
    register_sources(&ctx, source.as_ref(), &filters, read_once.as_ref()).await?;
    Ok(Opened {
        ctx,
        filters,
        output,
        lock,
        snapshot,
        _source: source,
        _read_once: read_once,
    })
}

/// The run's output: none for a dry run, SQL Server for `mssql`, else a file location.
fn open_output(ctx: &SessionContext, config: &RunConfig, run_id: &str) -> Result<Option<Box<dyn Output>>> {
    Ok(match (config.dry_run, is_mssql(&config.output)) {
        (true, _) => None,
        (false, true) => {
            let options = config.mssql.sink_options(config.concurrency)?;
            Some(Box::new(MssqlOutput::new(
                config.mssql.connect(config.concurrency)?,
                options,
            )))
        }
        (false, false) => Some(Box::new(ParquetOutput::new(
            Location::resolve(ctx, &config.output)?,
            run_id,
            config.concurrency,
        ))),
    })
}

/// Registers and materialises the plan's stages, each timed as a phase of its own. The route count
/// becomes the progress total once `routes` is materialised.
pub(super) async fn plan(
    ctx: &SessionContext,
    config: &RunConfig,
    progress: &Progress,
    clock: &mut PhaseClock,
) -> Result<()> {
    clock.restart();
    plan::register_for_run(ctx, &config.plan, progress, |name, materialized| {
        let seconds = clock.lap(name);
        info!(phase = name, seconds, "stage done");
        for (table, rows) in materialized {
            if *table == view::ROUTES {
                progress.set_total(*rows as u64);
            }
        }
        // The stage after the top-up sequences every route; the rest is writing.
        match name {
            stage::TOPUP => progress.set_phase("sequence"),
            stage::SEQUENCE => progress.set_phase("write"),
            _ => {}
        }
        crate::memory::return_freed();
        clock.restart();
    })
    .await
}

/// The summary's figures. They are taken before the write so that the tables only they read can be
/// dropped first: the write is where a run's memory peaks.
pub(super) async fn figures(ctx: &SessionContext, clock: &mut PhaseClock) -> Result<DataFigures> {
    clock.restart();
    let figures = summary::data_figures(ctx).await?;
    clock.lap("summary");
    plan::release_before_write(ctx)?;
    crate::memory::return_freed();
    Ok(figures)
}

/// Writes the result table through `output`; once `shutdown` is asked for, no new partition starts.
pub(super) async fn write(
    ctx: &SessionContext,
    output: &dyn Output,
    progress: &Progress,
    shutdown: &Shutdown,
    clock: &mut PhaseClock,
) -> Result<Written> {
    clock.restart();
    let result = ctx.table(view::ROUTE_PLAN).await?;
    let written = output.write(ctx, ROUTE_PLAN, result, shutdown).await?;
    clock.lap("write");
    info!(phase = "write", output = %output.display(), "result written");
    // The sink does not see routes; once the table is written, every route is.
    progress.add_done(progress.snapshot().total);
    Ok(written)
}

/// Rule 8 as a runtime check: the sink wrote every input row plus the added ones, nothing else
/// (unless some SQL Server partitions failed, which the summary reports).
pub(super) fn check_rows_written(written: Option<&Written>, figures: &DataFigures) -> Result<()> {
    match written {
        Some(w) if w.rows != figures.rows.written && !w.partial() => Err(crate::error::internal(
            format!(
                "the sink wrote {} rows but the plan holds {} ({} read + {} added)",
                w.rows, figures.rows.written, figures.rows.read, figures.rows.added
            ),
            None,
        )),
        _ => Ok(()),
    }
}

/// Writes the snapshot's tables, when the run keeps one: the inputs as read, and the output as the
/// sink wrote it (read back from files) or as it was given to the database.
pub(super) async fn snapshot(
    opened: &Opened,
    config: &RunConfig,
    clock: &mut PhaseClock,
) -> Result<Vec<TableEntry>> {
    let (Some(run), Some(output)) = (&opened.snapshot, &opened.output) else {
        return Ok(Vec::new());
    };
    clock.restart();
    let tables =
        crate::snapshot::write::write_tables(&opened.ctx, run, output.files(), config.concurrency).await?;
    clock.lap("snapshot");
    info!(phase = "snapshot", snapshot = %run.display, "snapshot tables written");
    Ok(tables)
}
