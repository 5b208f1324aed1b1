//! `routeflow copy`: the contract tables between files and SQL Server.

use clap::Args;
use routeflow::copy::{self, CopyConfig};
use routeflow::run;

use super::args::{MssqlArgs, concurrency};

#[derive(Args, Debug)]
pub struct CopyArgs {
    /// Where the tables are: a directory or URL, or `mssql`.
    #[arg(long)]
    from: String,
    /// Where they go: a directory or URL (as Parquet datasets <to>/<Table>/), or `mssql`.
    #[arg(long)]
    to: String,
    /// Only these tables (comma-separated or repeated) [default: the five contract tables].
    #[arg(long, value_delimiter = ',')]
    tables: Vec<String>,
    /// Into SQL Server: keep the rows already in the tables instead of replacing them.
    #[arg(long)]
    append: bool,
    /// Fail instead of truncating values longer than their SQL Server column.
    #[arg(long)]
    strict_widths: bool,
    /// Parallel partitions, and connections in the pool.
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    #[command(flatten, next_help_heading = "SQL Server")]
    mssql: MssqlArgs,
}

/// Copies the tables and prints the rows per table and any truncated values.
pub async fn copy(args: CopyArgs) -> anyhow::Result<()> {
    let config = CopyConfig {
        from: args.from.clone(),
        to: args.to.clone(),
        tables: args.tables.clone(),
        append: args.append,
        mssql: run::MssqlRunOptions {
            strict_widths: args.strict_widths,
            ..args.mssql.options()
        },
        concurrency: concurrency(args.concurrency),
    };
    let report = copy::copy(&config).await?;
    for (table, rows) in &report.tables {
        println!("  {table:<34} {rows} rows");
    }
    if report.truncations.count > 0 {
        println!("  {:<34} {}", "truncated values", report.truncations.count);
        for e in &report.truncations.examples {
            println!("    {e}");
        }
    }
    Ok(())
}
