//! `routeflow map`: draws a run's or a snapshot's routes to a file.

use std::path::PathBuf;

use clap::Args;
use routeflow::map::{self, MapFormat, MapSource, Selection};
use tracing::info;

use super::args::{SnapshotDirArg, concurrency};

#[derive(Args, Debug)]
pub struct MapArgs {
    /// The file to write; its extension picks the format (.geojson, .svg, .png, .html).
    file: PathBuf,
    /// The run's input tables (for coordinates, and to tell which stops the run added).
    #[arg(long, default_value = "fixtures/small")]
    input: String,
    /// The run's output directory.
    #[arg(long, default_value = "out")]
    output: String,
    /// Draw a snapshot's routes instead (its own input and output).
    #[arg(long, value_name = "RUN_ID")]
    snapshot: Option<String>,
    #[command(flatten)]
    snapshot_dir: SnapshotDirArg,
    /// Only this distributor.
    #[arg(long, value_name = "ID")]
    distributor: Option<String>,
    /// Only this agent.
    #[arg(long, value_name = "ID")]
    agent: Option<String>,
    /// Only this route date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    /// Drawing width in pixels (.svg, .png).
    #[arg(long, default_value_t = 1200)]
    width: u32,
    /// Drawing height in pixels (.svg, .png).
    #[arg(long, default_value_t = 900)]
    height: u32,
}

/// Loads the selected routes, refuses none or too many for the format, and writes the file.
pub async fn map(args: MapArgs) -> anyhow::Result<()> {
    let format = MapFormat::from_path(&args.file)?;
    let source = match &args.snapshot {
        Some(run_id) => MapSource::Snapshot {
            dir: args.snapshot_dir.dir.clone(),
            run_id: run_id.clone(),
        },
        None => MapSource::Run {
            input: args.input.clone(),
            output: args.output.clone(),
        },
    };
    let selection = Selection {
        distributor: args.distributor.clone(),
        agent: args.agent.clone(),
        date: args.date.clone(),
    };
    let routes = map::load(&source, &selection, concurrency(None)).await?;
    if routes.is_empty() {
        return Err(routeflow::error::bad_input("no route matches the selection").into());
    }
    if routes.len() > format.max_routes() {
        return Err(routeflow::error::bad_input(format!(
            "{} routes selected; one {:?} map shows at most {}: narrow it with --distributor, --agent or --date",
            routes.len(),
            format,
            format.max_routes()
        ))
        .into());
    }
    let bytes = format.render(&routes, args.width, args.height)?;
    std::fs::write(&args.file, bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.file.display()))?;
    info!(routes = routes.len(), file = %args.file.display(), "map written");
    Ok(())
}
