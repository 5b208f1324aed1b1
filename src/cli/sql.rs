//! `routeflow sql`: one query, or the interactive shell, over sources, stages and snapshots.

use std::path::PathBuf;

use clap::Args;
use routeflow::sql::{self, CatalogConfig, Format};
use tracing::info;

use super::args::{InputArgs, PlanArgs, SnapshotDirArg, concurrency};

#[derive(Args, Debug)]
pub struct SqlArgs {
    /// The query; without one, an interactive shell starts.
    query: Option<String>,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    plan: PlanArgs,
    /// Also query this snapshot's tables (`latest`: the last finished run), as
    /// snapshot_input.<Table> and snapshot_output.<Table>. Any run is also reachable by name:
    /// "snapshot_output@<RUN_ID>".<Table>; routeflow.snapshots lists them.
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

/// Builds the catalog, then runs the query or the shell.
pub async fn sql(args: SqlArgs) -> anyhow::Result<()> {
    let config = CatalogConfig {
        input: args.input.input.clone(),
        filters: args.input.filters(),
        concurrency: concurrency(args.input.concurrency),
        plan: args.plan.options(),
        mssql: args.input.mssql.options(),
        snapshot: args
            .snapshot
            .clone()
            .map(|id| (args.snapshot_dir.dir.clone(), id)),
        runs: Some(args.snapshot_dir.dir.clone()),
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
