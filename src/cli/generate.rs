//! `routeflow generate`: synthetic input tables for tests and benchmarks.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use routeflow::generate::{self, GenerateOptions, Prospects, Scale};
use tracing::info;

#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[arg(long, value_parser = clap::value_parser!(Scale), default_value = "small")]
    scale: Scale,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Copies of the country, each on new ground with its own distributors (for scaling benchmarks).
    #[arg(long, default_value_t = 1)]
    factor: u32,
    /// How many prospects there are: `plentiful` (every short route is filled near its customers)
    /// or `scarce` (fewer than the routes need: routes compete and many stay short).
    #[arg(long, value_parser = clap::value_parser!(Prospects), default_value = "plentiful")]
    prospects: Prospects,
    /// Local directory to write <Table>.parquet files into.
    #[arg(long)]
    output: PathBuf,
}

/// Generates the tables and writes them as <Table>.parquet files.
pub fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let opts = GenerateOptions {
        scale: args.scale,
        seed: args.seed,
        factor: args.factor,
        prospects: args.prospects,
    };
    let tables = generate::generate(&opts);
    generate::write_parquet_dir(&args.output, &tables).map_err(|e| anyhow::anyhow!("{e}"))?;
    for (name, batches) in &tables {
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        info!(table = name, rows, "written");
    }
    info!(
        output = %args.output.display(),
        seconds = started.elapsed().as_secs_f64(),
        "generated"
    );
    Ok(())
}
