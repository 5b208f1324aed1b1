//! What a run reports: its summary, the snapshot's manifest (written last, which completes the
//! snapshot) and `run_summary.json` next to a file output.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use datafusion::error::{DataFusionError, Result};
use object_store::{ObjectStoreExt, PutPayload};
use tracing::info;

use super::phases::{Opened, PhaseClock};
use super::{RunConfig, SUMMARY_FILE};
use crate::redact::{redact, redact_json};
use crate::sink::output::Written;
use crate::snapshot::manifest::{FORMAT_VERSION, Manifest, TableEntry};
use crate::summary::{self, DataFigures, RunSummary};

/// When a run started, and its id.
pub(super) struct Started {
    pub run_id: String,
    /// RFC 3339, UTC.
    at: String,
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
    started: Started,
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
            run_id: started.run_id,
            started_at: started.at,
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
    if let Some(location) = opened.output.as_ref().and_then(|o| o.files()) {
        let json = serde_json::to_vec_pretty(summary).map_err(json_error)?;
        location
            .store
            .put(&location.child(SUMMARY_FILE), PutPayload::from(json))
            .await?;
    }
    Ok(())
}
