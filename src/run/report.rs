//! What a run reports: its summary, the snapshot's manifest (written last, which completes the
//! snapshot) and `run_summary.json` published with a file output; or, when a signal stopped it,
//! what it had written ([`Stop`]).

use std::future::Future;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use datafusion::error::{DataFusionError, Result};
use object_store::{ObjectStoreExt, PutPayload};
use tracing::{info, warn};

use super::phases::{Opened, PhaseClock};
use super::{RunConfig, SUMMARY_FILE};
use crate::error::Error;
use crate::redact::{redact, redact_json};
use crate::shutdown::{Shutdown, Signal};
use crate::sink::output::Written;
use crate::snapshot::manifest::{FORMAT_VERSION, Manifest, TableEntry};
use crate::summary::{self, DataFigures, InterruptedRun, RunSummary};

/// When a run started, and its id.
pub(super) struct Started {
    pub run_id: String,
    /// RFC 3339, UTC.
    pub at: String,
    instant: Instant,
}

impl Started {
    pub fn now(run_id: String) -> Self {
        Self {
            run_id,
            at: now_rfc3339(),
            instant: Instant::now(),
        }
    }
}

fn now_rfc3339() -> String {
    summary::utc_rfc3339(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

fn json_error(e: serde_json::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The run's summary, from its figures, what the output wrote and the phases' times.
pub(super) fn summary(
    config: &RunConfig,
    started: &Started,
    opened: &Opened,
    figures: DataFigures,
    written: Option<&Written>,
    clock: PhaseClock,
) -> RunSummary {
    let total_seconds = started.instant.elapsed().as_secs_f64();
    RunSummary {
        routeflow_version: env!("CARGO_PKG_VERSION"),
        run_id: started.run_id.clone(),
        status: if written.is_some_and(Written::partial) {
            "partial"
        } else {
            "completed"
        },
        started_at: started.at.clone(),
        input: config.input.clone(),
        output: opened.output.as_ref().map(|o| o.display()),
        dry_run: config.dry_run,
        snapshot: opened.snapshot.as_ref().map(|l| l.display.clone()),
        options: config.plan.clone(),
        concurrency: config.concurrency,
        filters: opened.filters.clone(),
        routes_per_second: figures.routes.total as f64 / total_seconds.max(1e-9),
        routes: figures.routes,
        rows: figures.rows,
        prospects_added: figures.prospects_added,
        stops: figures.stops,
        custype_rows: figures.custype_rows,
        duplicates: figures.duplicates,
        truncations: written.map(|w| w.truncations.clone()).unwrap_or_default(),
        sink: written.and_then(|w| w.sink.clone()),
        distance_km: figures.distance_km,
        depots: figures.depots,
        phases: clock.phases,
        total_seconds,
    }
}

/// Completes the run's records: the snapshot's manifest, when it keeps one, and the summary file
/// next to a file output.
pub(super) async fn finish(
    config: &RunConfig,
    started: &Started,
    opened: &Opened,
    summary: &RunSummary,
    written: Option<Written>,
    tables: Vec<TableEntry>,
) -> Result<()> {
    if let (Some(run), Some(output), Some(written)) = (&opened.snapshot, &opened.output, written) {
        let mut effective = serde_json::to_value(config).map_err(json_error)?;
        redact_json(&mut effective);
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            run_id: started.run_id.clone(),
            started_at: started.at.clone(),
            finished_at: now_rfc3339(),
            routeflow_version: env!("CARGO_PKG_VERSION").into(),
            config: effective,
            tables,
            summary: serde_json::to_value(summary).map_err(json_error)?,
            sink: written.report(redact(&output.display())),
        };
        crate::snapshot::write::write_manifest(run, &manifest).await?;
        info!(phase = "snapshot", snapshot = %run.display, "snapshot complete");
    }
    if let Some(output) = &opened.output {
        let json = serde_json::to_vec_pretty(summary).map_err(json_error)?;
        output.publish(&json).await?;
        info!(output = %output.display(), "result published");
    }
    Ok(())
}

/// Watches for a stop while the run goes through its phases; when one is asked for, ends the run
/// with [`Error::Interrupted`] and what it had written.
pub(super) struct Stop<'a> {
    pub shutdown: &'a Shutdown,
    started: &'a Started,
}

impl<'a> Stop<'a> {
    pub fn new(shutdown: &'a Shutdown, started: &'a Started) -> Self {
        Self { shutdown, started }
    }

    /// Runs the phase `name` unless a stop is asked for first; then its work is dropped (nothing
    /// before the write has touched the target).
    pub async fn phase<T>(
        &self,
        name: &str,
        opened: Option<&Opened>,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        tokio::select! {
            biased;
            signal = self.shutdown.wait() => Err(self.interrupted(signal, name, opened, None).await),
            result = work => result,
        }
    }

    /// What the write did, unless a stop was asked for during it: then the run ends here, with the
    /// partitions the sink wrote (the sink itself stopped starting new ones).
    pub async fn after_write(&self, opened: &Opened, written: Result<Written>) -> Result<Option<Written>> {
        match (written, self.shutdown.requested()) {
            (Ok(written), None) => Ok(Some(written)),
            (Ok(written), Some(signal)) => Err(self
                .interrupted(signal, "write", Some(opened), Some(&written))
                .await),
            (Err(e), Some(signal)) => {
                info!("the write stopped: {e}");
                Err(self.interrupted(signal, "write", Some(opened), None).await)
            }
            (Err(e), None) => Err(e),
        }
    }

    /// Ends the run before the phase `name` if a stop was asked for.
    pub async fn check(&self, name: &str, opened: Option<&Opened>, written: Option<&Written>) -> Result<()> {
        match self.shutdown.requested() {
            Some(signal) => Err(self.interrupted(signal, name, opened, written).await),
            None => Ok(()),
        }
    }

    /// The interrupted run's report: logged, written into the run's own (unpublished) directory for
    /// file output, and carried by the error for the command line to print.
    async fn interrupted(
        &self,
        signal: Signal,
        phase: &str,
        opened: Option<&Opened>,
        written: Option<&Written>,
    ) -> DataFusionError {
        let output = opened.and_then(|o| o.output.as_deref());
        let partitions = written.map(|w| w.partitions.clone()).unwrap_or_default();
        let kept = partitions.iter().filter(|p| p.status == "written").count();
        // Files are published only by a complete run; SQL Server partitions are visible once
        // written (in place; a table is swapped in only when all of them are).
        let published = kept > 0 && output.is_some_and(|o| o.files().is_none());
        let report = InterruptedRun {
            routeflow_version: env!("CARGO_PKG_VERSION"),
            run_id: self.started.run_id.clone(),
            status: "interrupted",
            signal,
            started_at: self.started.at.clone(),
            phase: phase.to_string(),
            output: output.map(|o| o.display()),
            published,
            partitions,
            total_seconds: self.started.instant.elapsed().as_secs_f64(),
        };
        let json = serde_json::to_value(&report).unwrap_or_default();
        warn!(signal = signal.name(), phase, partitions_written = kept, report = %json, "run interrupted");
        if let Some(dir) = output.and_then(|o| o.files())
            && let Ok(bytes) = serde_json::to_vec_pretty(&report)
            && let Err(e) = dir
                .store
                .put(&dir.child(SUMMARY_FILE), PutPayload::from(bytes))
                .await
        {
            warn!(
                "could not keep the interrupted run's summary in {}: {e}",
                dir.display
            );
        }
        crate::error::external(Error::Interrupted {
            signal,
            detail: format!("stopped during {phase}; {kept} output partition(s) written"),
            report: Some(json),
        })
    }
}
