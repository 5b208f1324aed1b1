//! A batch run: open the source, register and materialise the plan, write the result through the sink,
//! and report. Everything is validated before any work starts.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use datafusion::common::TableReference;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::sink::DataSink;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{JoinType, ident, lit};
use datafusion::prelude::{SessionConfig, SessionContext};
use object_store::{ObjectStoreExt, PutPayload};
use tracing::{Instrument, info};

use crate::mssql::conn::{self, Mssql, MssqlOptions};
use crate::plan::{self, PlanOptions};
use crate::progress;
use crate::redact::{redact, redact_json};
use crate::schema::{self, ROUTE_PLAN};
use crate::sink::SinkTable;
use crate::sink::mssql::{MssqlSink, MssqlSinkOptions, WriteMode};
use crate::sink::parquet::ParquetDatasetSink;
use crate::snapshot::manifest::{FORMAT_VERSION, Manifest, PartitionOutcome, SinkReport};
use crate::snapshot::{self, SnapshotDir};
use crate::source::Source;
use crate::source::file::FileSource;
use crate::source::location::Location;
use crate::source::mssql::MssqlSource;
use crate::source::spill::ReadOnce;
use crate::summary::{self, Filters, Phase, RunSummary, SinkSummary, Truncations};

/// Name of the summary file written next to the output table.
pub const SUMMARY_FILE: &str = "run_summary.json";

/// The `--input` / `--output` word that selects SQL Server.
pub const MSSQL: &str = "mssql";

/// Whether an `--input`/`--output`/`--from`/`--to` value means SQL Server.
pub fn is_mssql(location: &str) -> bool {
    location.eq_ignore_ascii_case(MSSQL)
}

/// How to reach SQL Server and write to it, when the input or output is `mssql`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MssqlRunOptions {
    /// ADO.NET connection string; serialized without its password.
    #[serde(serialize_with = "serialize_redacted")]
    pub connection_string: Option<String>,
    pub connect_timeout_s: f64,
    pub query_timeout_s: f64,
    /// Rows per Arrow batch read.
    pub batch_rows: usize,
    pub write: WriteMode,
    /// Fail instead of truncating values longer than their column.
    pub strict_widths: bool,
    /// Retries of a partition after a transient error, and the first wait in milliseconds.
    pub retries: u32,
    pub retry_backoff_ms: u64,
}

impl Default for MssqlRunOptions {
    fn default() -> Self {
        Self {
            connection_string: None,
            connect_timeout_s: conn::DEFAULT_CONNECT_TIMEOUT.as_secs_f64(),
            query_timeout_s: conn::DEFAULT_QUERY_TIMEOUT.as_secs_f64(),
            batch_rows: crate::source::mssql::DEFAULT_BATCH_ROWS,
            write: WriteMode::InPlace,
            strict_widths: false,
            retries: 3,
            retry_backoff_ms: 500,
        }
    }
}

fn serialize_redacted<S: serde::Serializer>(
    v: &Option<String>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_some(&redact(v)),
        None => s.serialize_none(),
    }
}

impl MssqlRunOptions {
    /// A pool of `pool_size` connections; the connection string must be set.
    pub fn connect(&self, pool_size: usize) -> Result<Arc<Mssql>> {
        let connection_string = self.connection_string.clone().ok_or_else(|| {
            DataFusionError::Configuration(format!(
                "SQL Server needs a connection string: set {} (or --mssql, which other users can see in the process list)",
                conn::MSSQL_ENV
            ))
        })?;
        let seconds = |s: f64, what: &str| {
            std::time::Duration::try_from_secs_f64(s)
                .map_err(|e| DataFusionError::Configuration(format!("--mssql-{what}-timeout: {e}")))
        };
        Mssql::new(&MssqlOptions {
            connection_string,
            connect_timeout: seconds(self.connect_timeout_s, "connect")?,
            query_timeout: seconds(self.query_timeout_s, "query")?,
            pool_size: u32::try_from(pool_size.max(1)).unwrap_or(u32::MAX),
        })
    }
}

/// Opens the input: a file location, or SQL Server when `input` is `mssql`.
pub fn open_source(
    ctx: &SessionContext,
    input: &str,
    mssql: &MssqlRunOptions,
    concurrency: usize,
) -> Result<Arc<dyn Source>> {
    Ok(if is_mssql(input) {
        Arc::new(MssqlSource::new(
            mssql.connect(concurrency)?,
            mssql.batch_rows,
            concurrency,
        ))
    } else {
        Arc::new(FileSource::new(Location::resolve(ctx, input)?))
    })
}

/// Where a run writes.
enum Output {
    Files(Location),
    Mssql(Arc<Mssql>),
}

impl Output {
    fn display(&self) -> String {
        match self {
            Output::Files(l) => l.display.clone(),
            Output::Mssql(db) => format!("mssql {}", db.target()),
        }
    }
}

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

/// Opens every input table of `source` (failing on the first missing table or column) and registers
/// them on `ctx`, the plan table restricted by `filters`. A batch run over a live database passes
/// `read_once` to read each table once into temporary files (see [`ReadOnce`]); files, and the
/// analysts' catalog, stay lazy and stream.
pub async fn register_sources(
    ctx: &SessionContext,
    source: &dyn Source,
    filters: &Filters,
    read_once: Option<&ReadOnce>,
) -> Result<()> {
    let mut providers = Vec::new();
    for table in schema::INPUT_TABLES {
        providers.push((table, source.table(table).await?));
    }
    for (table, provider) in providers {
        let provider = match read_once {
            Some(once) if table != ROUTE_PLAN => once.spill(ctx, table, provider).await?,
            _ => provider,
        };
        if table != ROUTE_PLAN {
            ctx.register_table(TableReference::bare(table), provider)?;
            continue;
        }
        if filters.distributor_ids.is_empty() && filters.limit_routes.is_none() {
            let provider = match read_once {
                Some(once) => once.spill(ctx, table, provider).await?,
                None => provider,
            };
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
        let view = plan.into_view();
        let view = match read_once {
            Some(once) => once.spill(ctx, table, view).await?,
            None => view,
        };
        ctx.register_table(TableReference::bare(table), view)?;
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
pub(crate) fn sink_count(batches: &[arrow::array::RecordBatch]) -> Result<u64> {
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
    let source = open_source(&ctx, &config.input, &config.mssql, config.concurrency)?;
    let output = match (config.dry_run, is_mssql(&config.output)) {
        (true, _) => None,
        (false, true) => Some(Output::Mssql(config.mssql.connect(config.concurrency)?)),
        (false, false) => Some(Output::Files(Location::resolve(&ctx, &config.output)?)),
    };
    let snapshot_run = match (&output, &config.snapshot_dir) {
        (Some(_), Some(dir)) => Some(SnapshotDir::new(Location::resolve(&ctx, dir)?).run(&run_id)?),
        _ => None,
    };
    // Files do not change under a run; a live database is read once (see `ReadOnce`).
    let read_once = source.cache_reads().then(ReadOnce::new).transpose()?;
    register_sources(&ctx, source.as_ref(), &filters, read_once.as_ref()).await?;
    phases.push(Phase {
        name: "open".into(),
        seconds: elapsed(mark),
    });
    info!(phase = "read", "tables opened");

    mark = Instant::now();
    progress.set_phase("plan");
    plan::register_for_run(&ctx, &config.plan, progress, |stage, materialized| {
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
        crate::memory::return_freed();
        mark = Instant::now();
    })
    .await?;

    // The figures are taken before the write so that the tables only they read can be dropped
    // first: the write is where a run's memory peaks.
    mark = Instant::now();
    let figures = summary::data_figures(&ctx).await?;
    phases.push(Phase {
        name: "summary".into(),
        seconds: elapsed(mark),
    });
    plan::release_before_write(&ctx)?;
    crate::memory::return_freed();

    mark = Instant::now();
    let route_plan = ctx.table("route_plan").await?;
    let mut rows_written = None;
    let mut sink_report = None;
    let mut sink_summary = None;
    let mut truncations = Truncations::default();
    if let Some(output) = &output {
        let schema = route_plan.schema().inner().clone();
        let (sink, parquet_sink, mssql_sink): (Arc<dyn DataSink>, _, _) = match output {
            Output::Files(location) => {
                let sink = Arc::new(ParquetDatasetSink::new(
                    location,
                    ROUTE_PLAN,
                    schema,
                    config.concurrency,
                ));
                (Arc::clone(&sink) as Arc<dyn DataSink>, Some(sink), None)
            }
            Output::Mssql(db) => {
                let sink = Arc::new(MssqlSink::new(
                    Arc::clone(db),
                    ROUTE_PLAN,
                    schema,
                    MssqlSinkOptions {
                        mode: config.mssql.write.clone(),
                        strict_widths: config.mssql.strict_widths,
                        concurrency: config.concurrency,
                        retries: config.mssql.retries,
                        backoff: std::time::Duration::from_millis(config.mssql.retry_backoff_ms),
                    },
                )?);
                (Arc::clone(&sink) as Arc<dyn DataSink>, None, Some(sink))
            }
        };
        ctx.register_table("route_plan_output", Arc::new(SinkTable::new(Arc::clone(&sink))))?;
        let counts = route_plan
            .write_table("route_plan_output", DataFrameWriteOptions::new())
            .await?;
        rows_written = Some(sink_count(&counts)?);
        let (kind, partitions) = match (&parquet_sink, &mssql_sink) {
            (_, Some(sink)) => {
                let outcome = sink.outcome();
                truncations = outcome.truncations.clone();
                let failed: Vec<PartitionOutcome> = outcome.failed().into_iter().cloned().collect();
                sink_summary = Some(SinkSummary {
                    mode: config.mssql.write.clone(),
                    partitions: outcome.partitions.len() as u64,
                    failed,
                    rows_updated: outcome.updated,
                    rows_inserted: outcome.inserted,
                });
                ("mssql", outcome.partitions)
            }
            (Some(parquet), None) => {
                let files = parquet
                    .written_files()
                    .into_iter()
                    .map(|f| PartitionOutcome {
                        partition: f.path,
                        status: "written".into(),
                        rows: f.rows,
                        error: None,
                    })
                    .collect();
                ("parquet", files)
            }
            (None, None) => unreachable!("every output has a sink"),
        };
        sink_report = Some(SinkReport {
            kind: kind.into(),
            target: redact(&output.display()),
            partitions,
        });
        phases.push(Phase {
            name: "write".into(),
            seconds: elapsed(mark),
        });
        info!(phase = "write", output = %output.display(), "result written");
        // The sink does not see routes; once the table is written, every route is.
        progress.add_done(progress.snapshot().total);
    }

    let partial = sink_summary.as_ref().is_some_and(|s| !s.failed.is_empty());
    if let Some(written) = rows_written
        && written != figures.rows.written
        && !partial
    {
        // Rule 8 as a runtime check: every input row plus the added ones, nothing else.
        return Err(DataFusionError::Execution(format!(
            "the sink wrote {written} rows but the plan holds {} ({} read + {} added)",
            figures.rows.written, figures.rows.read, figures.rows.added
        )));
    }

    let mut snapshot_tables = Vec::new();
    if let (Some(run), Some(output)) = (&snapshot_run, &output) {
        mark = Instant::now();
        let written = match output {
            Output::Files(location) => Some(location),
            Output::Mssql(_) => None,
        };
        snapshot_tables = snapshot::write::write_tables(&ctx, run, written, config.concurrency).await?;
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
        output: output.as_ref().map(Output::display),
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
        truncations,
        sink: sink_summary,
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
    if let Some(Output::Files(location)) = &output {
        let json = serde_json::to_vec_pretty(&summary).map_err(json_error)?;
        location
            .store
            .put(&location.child(SUMMARY_FILE), PutPayload::from(json))
            .await?;
    }
    Ok(summary)
}
