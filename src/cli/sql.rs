//! `routeflow sql`: one query, or the interactive shell, over sources, stages and snapshots.

use std::path::PathBuf;

use clap::Args;
use routeflow::sql::{self, Format};
use tracing::info;

use super::args::CatalogArgs;

#[derive(Args, Debug)]
pub struct SqlArgs {
    /// The query; without one, an interactive shell starts.
    query: Option<String>,
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the result to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Builds the catalog, then runs the query or the shell.
pub async fn sql(args: SqlArgs) -> anyhow::Result<()> {
    let ctx = sql::catalog(&args.catalog.config()).await?;
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
