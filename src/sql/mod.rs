//! SQL for analysts over the same plan the run uses: the five source tables, every stage view of
//! `plans/` under its own name, and optionally the tables of a snapshot (`snapshot_input.*`,
//! `snapshot_output.*`).
//!
//! Views stay lazy: a query computes only what it needs. A filter on a route's key reaches the source
//! scan and the sequencing window, so asking for one agent's day sequences only that day (the top-up
//! allocation, which competes for prospects across all routes, still sees every route).

pub mod output;
pub mod runs;
pub mod shell;

use std::path::Path;

use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use crate::mssql::options::MssqlRunOptions;
use crate::plan::{self, PlanOptions};
use crate::run;
use crate::snapshot::SnapshotDir;
use crate::source::location::Location;
use crate::summary::Filters;
pub use output::Format;

/// Prefix of the schemas a snapshot's tables appear under.
pub const SNAPSHOT_SCHEMA_PREFIX: &str = "snapshot_";

/// What the catalog holds.
#[derive(Debug, Clone)]
pub struct CatalogConfig {
    pub input: String,
    pub filters: Filters,
    pub concurrency: usize,
    pub plan: PlanOptions,
    /// How to reach SQL Server when the input is `mssql`.
    pub mssql: MssqlRunOptions,
    /// A snapshot directory and run id (or `latest`, the last finished run) whose tables to add.
    pub snapshot: Option<(String, String)>,
    /// A snapshot directory whose runs resolve when a query names them (`"snapshot_output@<RUN_ID>"`),
    /// listed by `routeflow.snapshots`.
    pub runs: Option<String>,
}

/// `--snapshot latest`: the last run that finished its snapshot.
pub const LATEST_RUN: &str = "latest";

/// A session holding sources, stage views and, when asked, a snapshot's tables.
pub async fn catalog(config: &CatalogConfig) -> Result<SessionContext> {
    config.plan.validate()?;
    let ctx = run::session(config.concurrency);
    let source = run::open_source(&ctx, &config.input, &config.mssql, config.concurrency)?;
    run::register_sources(&ctx, source.as_ref(), &config.filters, None).await?;
    plan::register(&ctx, &config.plan, false, |_, _| {}).await?;
    if let Some((dir, run_id)) = &config.snapshot {
        let dir = SnapshotDir::new(Location::resolve(&ctx, dir)?);
        let run_id = match run_id.as_str() {
            LATEST_RUN => latest_run(&dir).await?,
            id => id.to_string(),
        };
        dir.register(&ctx, &run_id, SNAPSHOT_SCHEMA_PREFIX).await?;
    }
    if let Some(dir) = &config.runs {
        runs::register(&ctx, SnapshotDir::new(Location::resolve(&ctx, dir)?))?;
    }
    Ok(ctx)
}

/// The id of the last run in `dir` that finished its snapshot.
async fn latest_run(dir: &SnapshotDir) -> Result<String> {
    let runs = dir.list().await?;
    runs.into_iter()
        .rev()
        .find(|r| r.manifest.is_some())
        .map(|r| r.run_id)
        .ok_or_else(|| crate::error::bad_input(format!("no finished snapshot in {}", dir.location.display)))
}

/// Runs `query` and writes its result; returns the row count.
pub async fn execute(ctx: &SessionContext, query: &str, format: Format, out: Option<&Path>) -> Result<u64> {
    let df = ctx
        .sql(query)
        .await
        .map_err(|e| crate::error::bad_input_from("the query does not plan", e))?;
    output::write(df.execute_stream().await?, format, out).await
}

/// The tables and views of the catalog (`\d`).
pub async fn list_tables(ctx: &SessionContext, format: Format) -> Result<u64> {
    let df = ctx
        .sql(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables
             WHERE table_schema <> 'information_schema' ORDER BY table_schema, table_name",
        )
        .await?;
    output::write(df.execute_stream().await?, format, None).await
}

/// The columns of one table (`\d NAME`, `NAME` optionally `schema.table`).
pub async fn describe(ctx: &SessionContext, name: &str, format: Format) -> Result<u64> {
    let (schema, table) = match name.split_once('.') {
        Some((s, t)) => (Some(s), t),
        None => (None, name),
    };
    let unquote = |s: &str| s.trim().trim_matches('"').to_string();
    let df = ctx
        .sql(
            "SELECT table_schema, column_name, data_type, is_nullable FROM information_schema.columns
             WHERE table_name = $1 AND ($2 IS NULL OR table_schema = $2)
             ORDER BY table_schema, ordinal_position",
        )
        .await?
        .with_param_values(vec![
            ScalarValue::Utf8(Some(unquote(table))),
            ScalarValue::Utf8(schema.map(unquote)),
        ])?;
    output::write(df.execute_stream().await?, format, None).await
}
