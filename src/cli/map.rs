//! `routeflow map`: draws a run's or a snapshot's routes to a file.

use std::path::PathBuf;

use clap::Args;
use routeflow::map::render::{self, HtmlOptions, Tiles};
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
    /// A basemap under the routes (.html): a tile server's URL template with {z}, {x} and {y},
    /// e.g. https://tiles.example.org/{z}/{x}/{y}.png (a leading {s}. picks subdomains). Without
    /// it the page makes no network request at all; with it, images from that host only.
    #[arg(long, value_name = "URL_TEMPLATE")]
    tiles: Option<String>,
    /// The tile server's credit line shown on the map, as plain text (required with --tiles).
    #[arg(long, value_name = "TEXT")]
    tiles_attribution: Option<String>,
}

/// The page's basemap, checked: only for .html, a valid template and an attribution.
fn html_options(args: &MapArgs, format: MapFormat) -> anyhow::Result<HtmlOptions> {
    let bad = |msg: String| anyhow::Error::from(routeflow::error::bad_input(msg));
    let tiles = match (&args.tiles, &args.tiles_attribution) {
        (None, None) => None,
        (None, Some(_)) => return Err(bad("--tiles-attribution needs --tiles".into())),
        (Some(_), _) if format != MapFormat::Html => {
            return Err(bad("--tiles draws a basemap on .html maps only".into()));
        }
        (Some(template), attribution) => {
            Some(Tiles::new(template, attribution.as_deref().unwrap_or_default()).map_err(bad)?)
        }
    };
    Ok(HtmlOptions { tiles })
}

/// Loads the selected routes, refuses none or too many for the format, and writes the file.
pub async fn map(args: MapArgs) -> anyhow::Result<()> {
    let format = MapFormat::from_path(&args.file)?;
    let html = html_options(&args, format)?;
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
    let bytes = match format {
        MapFormat::Html => render::html(&routes, &html).into_bytes(),
        _ => format.render(&routes, args.width, args.height)?,
    };
    std::fs::write(&args.file, bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.file.display()))?;
    info!(routes = routes.len(), file = %args.file.display(), "map written");
    Ok(())
}
