//! A batch run: open the source, register and materialise the plan, write the result through the sink,
//! and report. Everything is validated before any work starts.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use datafusion::common::TableReference;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{JoinType, ident, lit};
use datafusion::prelude::{SessionConfig, SessionContext};
use object_store::{ObjectStoreExt, PutPayload};
use tracing::{Instrument, info};

use crate::plan::{self, PlanOptions};
use crate::progress;
use crate::redact::{redact, redact_json};
use crate::schema::{self, ROUTE_PLAN};
use crate::sink::parquet::{ParquetDatasetSink, SinkTable};
use crate::snapshot::manifest::{FORMAT_VERSION, Manifest, PartitionOutcome, SinkReport};
use crate::snapshot::{self, SnapshotDir};
use crate::source::Source;
use crate::source::file::FileSource;
use crate::source::location::Location;
use crate::summary::{self, Filters, Phase, RunSummary, Truncations};

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

/// Opens every input table of `source` (failing on the first missing table or column) and registers
/// them on `ctx`, the plan table restricted by `filters`.
pub async fn register_sources(ctx: &SessionContext, source: &dyn Source, filters: &Filters) -> Result<()> {
    let mut providers = Vec::new();
    for table in schema::INPUT_TABLES {
        providers.push((table, source.table(table).await?));
    }
    for (table, provider) in providers {
        if table != ROUTE_PLAN {
            ctx.register_table(TableReference::bare(table), provider)?;
            continue;
        }
        if filters.distributor_ids.is_empty() && filters.limit_routes.is_none() {
            ctx.register_table(TableReference::bare(table), provider)?;
            continue;
        }
        // Filters are expressions, never SQL text: the ids are user input.
        let mut plan = ctx.read_table(provider)?;
        if !filters.distributor_ids.is_empty() {
            let ids = filters.distributor_ids.iter().map(|d| lit(d.as_str())).collect();
            plan = plan.filter(ident("DistributorID").in_list(ids, false))?;
        }
        if let Some(n) = filters.limit_routes {
            let keys = ["DistributorID", "AgentID", "RouteDate"];
            let first = plan
                .clone()
                .filter(
                    keys.iter()
                        .map(|k| ident(*k).is_not_null())
                        .fold(ident("CustNo").is_not_null(), |a, b| a.and(b)),
                )?
                .select_columns(&keys)?
                .distinct()?
                .sort(keys.iter().map(|k| ident(*k).sort(true, false)).collect())?
                .limit(0, Some(n))?
                .select(
                    keys.iter()
                        .map(|k| ident(*k).alias(format!("first_{k}")))
                        .collect::<Vec<_>>(),
                )?;
            let on: Vec<_> = keys
                .iter()
                .map(|k| ident(*k).eq(ident(format!("first_{k}"))))
                .collect();
            plan = plan.join_on(first, JoinType::LeftSemi, on)?;
        }
        ctx.register_table(TableReference::bare(table), plan.into_view())?;
    }
    Ok(())
}

fn json_error(e: serde_json::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

fn now_rfc3339() -> String {
    summary::utc_rfc3339(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

fn elapsed(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// The row count a `DataSinkExec` reports.
fn sink_count(batches: &[arrow::array::RecordBatch]) -> Result<u64> {
    use arrow::array::AsArray;
    use arrow::datatypes::UInt64Type;
    Ok(batches
        .iter()
        .map(|b| {
            b.column(0)
                .as_primitive::<UInt64Type>()
                .values()
                .iter()
                .sum::<u64>()
        })
        .sum())
}

/// Runs the whole job and returns its summary (also written as `run_summary.json` unless dry run).
/// Every log line of the run carries its id (the `run` span).
pub async fn run(config: &RunConfig) -> Result<RunSummary> {
    let run_id = snapshot::new_run_id();
    let span = tracing::info_span!("run", run_id = %run_id);
    run_with_id(config, run_id).instrument(span).await
}

async fn run_with_id(config: &RunConfig, run_id: String) -> Result<RunSummary> {
    config.plan.validate()?;
    let started = Instant::now();
    let started_at = now_rfc3339();
    let progress = progress::global();
    progress.set_phase("read");
    info!(input = %config.input, "run started");
    let ctx = session(config.concurrency);
    let filters = Filters {
        distributor_ids: config.distributor_ids.clone(),
        limit_routes: config.limit_routes,
    };

    let mut phases = Vec::new();
    let mut mark = Instant::now();
    let source = FileSource::new(Location::resolve(&ctx, &config.input)?);
    let output = if config.dry_run {
        None
    } else {
        Some(Location::resolve(&ctx, &config.output)?)
    };
    let snapshot_run = match (&output, &config.snapshot_dir) {
        (Some(_), Some(dir)) => Some(SnapshotDir::new(Location::resolve(&ctx, dir)?).run(&run_id)?),
        _ => None,
    };
    register_sources(&ctx, &source, &filters).await?;
    phases.push(Phase {
        name: "open".into(),
        seconds: elapsed(mark),
    });
    info!(phase = "read", "tables opened");

    mark = Instant::now();
    progress.set_phase("plan");
    plan::register(&ctx, &config.plan, true, |stage, materialized| {
        let seconds = elapsed(mark);
        info!(phase = stage, seconds, "stage done");
        for (table, rows) in materialized {
            if *table == "routes" {
                progress.set_total(*rows as u64);
            }
        }
        // The stage after the top-up sequences every route; the rest is writing.
        match stage {
            "topup" => progress.set_phase("sequence"),
            "sequence" => progress.set_phase("write"),
            _ => {}
        }
        phases.push(Phase {
            name: stage.to_string(),
            seconds,
        });
        mark = Instant::now();
    })
    .await?;

    let route_plan = ctx.table("route_plan").await?;
    let mut rows_written = None;
    let mut sink_report = None;
    if let Some(location) = &output {
        let schema = route_plan.schema().inner().clone();
        let sink = Arc::new(ParquetDatasetSink::new(
            location,
            ROUTE_PLAN,
            schema,
            config.concurrency,
        ));
        ctx.register_table("route_plan_output", Arc::new(SinkTable::new(sink.clone())))?;
        let counts = route_plan
            .write_table("route_plan_output", DataFrameWriteOptions::new())
            .await?;
        rows_written = Some(sink_count(&counts)?);
        sink_report = Some(SinkReport {
            kind: "parquet".into(),
            target: redact(&location.display),
            partitions: sink
                .written_files()
                .into_iter()
                .map(|f| PartitionOutcome {
                    partition: f.path,
                    status: "written".into(),
                    rows: f.rows,
                    error: None,
                })
                .collect(),
        });
        phases.push(Phase {
            name: "write".into(),
            seconds: elapsed(mark),
        });
        info!(phase = "write", output = %location.display, "result written");
        // The sink does not see routes; once the table is written, every route is.
        progress.add_done(progress.snapshot().total);
    }

    mark = Instant::now();
    let figures = summary::data_figures(&ctx).await?;
    if let Some(written) = rows_written
        && written != figures.rows.written
    {
        // Rule 8 as a runtime check: every input row plus the added ones, nothing else.
        return Err(DataFusionError::Execution(format!(
            "the sink wrote {written} rows but the plan holds {} ({} read + {} added)",
            figures.rows.written, figures.rows.read, figures.rows.added
        )));
    }
    phases.push(Phase {
        name: "summary".into(),
        seconds: elapsed(mark),
    });

    let mut snapshot_tables = Vec::new();
    if let (Some(run), Some(output)) = (&snapshot_run, &output) {
        mark = Instant::now();
        snapshot_tables = snapshot::write::write_tables(&ctx, run, output, config.concurrency).await?;
        phases.push(Phase {
            name: "snapshot".into(),
            seconds: elapsed(mark),
        });
        info!(phase = "snapshot", snapshot = %run.display, "snapshot tables written");
    }

    let total_seconds = elapsed(started);
    let summary = RunSummary {
        routeflow_version: env!("CARGO_PKG_VERSION"),
        run_id: run_id.clone(),
        started_at: started_at.clone(),
        input: config.input.clone(),
        output: output.as_ref().map(|l| l.display.clone()),
        dry_run: config.dry_run,
        snapshot: snapshot_run.as_ref().map(|l| l.display.clone()),
        options: config.plan.clone(),
        concurrency: config.concurrency,
        filters,
        routes_per_second: figures.routes.total as f64 / total_seconds.max(1e-9),
        routes: figures.routes,
        rows: figures.rows,
        prospects_added: figures.prospects_added,
        stops: figures.stops,
        custype_rows: figures.custype_rows,
        duplicates: figures.duplicates,
        truncations: Truncations::default(),
        distance_km: figures.distance_km,
        depots: figures.depots,
        phases,
        total_seconds,
    };
    if let (Some(run), Some(sink)) = (&snapshot_run, sink_report) {
        let mut effective = serde_json::to_value(config).map_err(json_error)?;
        redact_json(&mut effective);
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            run_id,
            started_at,
            finished_at: now_rfc3339(),
            routeflow_version: env!("CARGO_PKG_VERSION").into(),
            config: effective,
            tables: snapshot_tables,
            summary: serde_json::to_value(&summary).map_err(json_error)?,
            sink,
        };
        snapshot::write::write_manifest(run, &manifest).await?;
        info!(phase = "snapshot", snapshot = %run.display, "snapshot complete");
    }
    if let Some(location) = &output {
        let json = serde_json::to_vec_pretty(&summary).map_err(json_error)?;
        location
            .store
            .put(&location.child(SUMMARY_FILE), PutPayload::from(json))
            .await?;
    }
    Ok(summary)
}
