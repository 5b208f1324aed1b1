//! `routeflow map`: a run's routes drawn for planners. The stops come from the run's output (or a
//! snapshot's), their coordinates and depots from the same stage views the run used, with the output
//! standing in for the plan; a stop is "added" when the run's input plan did not have it.

pub mod render;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int32Type};
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, ident, lit};
use datafusion::prelude::SessionContext;
use object_store::ObjectStoreExt;

pub use render::{MapRoute, MapStop};

use crate::plan::{self, PlanOptions};
use crate::run::{self, SUMMARY_FILE};
use crate::schema::{self, ROUTE_PLAN, SOURCE_ORDINAL};
use crate::sink::publish::published_dir;
use crate::snapshot::SnapshotDir;
use crate::source::Source;
use crate::source::file::{FileSource, FileTable};
use crate::source::location::Location;

/// Where the routes come from.
#[derive(Debug, Clone)]
pub enum MapSource {
    /// A run's output directory and the input it read (for coordinates and what was added).
    Run { input: String, output: String },
    /// A snapshot: its own inputs and output.
    Snapshot { dir: String, run_id: String },
}

/// Which routes to draw; `None` means all.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub distributor: Option<String>,
    pub agent: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
}

/// One row per stop of the output, with what the map needs.
const MAP_STOPS: &str = "
SELECT o.DistributorID, o.AgentID, CAST(o.RouteDate AS VARCHAR) AS route_date, o.CustNo,
       MIN(o.Name) AS name, MIN(o.custype) AS custype, MIN(o.StopNo) AS stop_no,
       MIN(s.latitude) AS latitude, MIN(s.longitude) AS longitude,
       MIN(r.depot_lat) AS depot_lat, MIN(r.depot_lon) AS depot_lon,
       bool_and(i.CustNo IS NULL) AS added
FROM MonthlyRoutePlan_temp AS o
JOIN plan_stops AS s
  ON o.DistributorID = s.DistributorID AND o.AgentID = s.AgentID AND o.RouteDate = s.RouteDate
 AND o.CustNo = s.CustNo
JOIN routes AS r
  ON o.DistributorID = r.DistributorID AND o.AgentID = r.AgentID AND o.RouteDate = r.RouteDate
LEFT JOIN (SELECT DISTINCT DistributorID, AgentID, RouteDate, CustNo FROM input_plan) AS i
  ON o.DistributorID = i.DistributorID AND o.AgentID = i.AgentID AND o.RouteDate = i.RouteDate
 AND o.CustNo = i.CustNo
GROUP BY o.DistributorID, o.AgentID, o.RouteDate, o.CustNo";

/// Loads the selected routes, in route-key order, stops in StopNo order.
pub async fn load(source: &MapSource, selection: &Selection, concurrency: usize) -> Result<Vec<MapRoute>> {
    load_in(&run::session(concurrency), source, selection).await
}

/// [`load`] in the session `ctx` (whose object stores it can read).
pub async fn load_in(
    ctx: &SessionContext,
    source: &MapSource,
    selection: &Selection,
) -> Result<Vec<MapRoute>> {
    let (input, output, start): (Location, Arc<dyn TableProvider>, Option<serde_json::Value>) = match source {
        MapSource::Run { input, output } => {
            // The published run: its table and summary together, whatever is published meanwhile.
            let output = published_dir(&Location::resolve(ctx, output)?).await?;
            let summary = output.store.get(&output.child(SUMMARY_FILE)).await;
            let start = match summary {
                Ok(get) => serde_json::from_slice::<serde_json::Value>(&get.bytes().await?)
                    .ok()
                    .and_then(|s| s.pointer("/options/start").cloned()),
                Err(_) => None,
            };
            let table = FileTable::open(&output, ROUTE_PLAN).await?;
            (Location::resolve(ctx, input)?, Arc::new(table), start)
        }
        MapSource::Snapshot { dir, run_id } => {
            let snapshots = SnapshotDir::new(Location::resolve(ctx, dir)?);
            let manifest = snapshots.register(ctx, run_id, "snapshot_").await?;
            // The plan's views number rows by source order; the written order serves.
            let written = ctx
                .table(TableReference::partial("snapshot_output", ROUTE_PLAN))
                .await?
                .with_column(SOURCE_ORDINAL, lit(0i64))?;
            let start = manifest.config.pointer("/plan/start").cloned();
            (snapshots.run(run_id)?.subdir("input"), written.into_view(), start)
        }
    };
    let options = PlanOptions {
        start: start.and_then(|s| serde_json::from_value(s).ok()),
        ..PlanOptions::default()
    };
    let tables = FileSource::new(input.clone());
    for table in schema::INPUT_TABLES.iter().filter(|t| **t != ROUTE_PLAN) {
        ctx.register_table(TableReference::bare(*table), tables.table(table).await?)?;
    }
    ctx.register_table(TableReference::bare(ROUTE_PLAN), output)?;
    ctx.register_table("input_plan", Arc::new(FileTable::open(&input, ROUTE_PLAN).await?))?;
    plan::register(ctx, &options, false, |_, _| {}).await?;

    let mut df = ctx.sql(MAP_STOPS).await?;
    let filters: Vec<Expr> = [
        ("DistributorID", &selection.distributor),
        ("AgentID", &selection.agent),
        ("route_date", &selection.date),
    ]
    .into_iter()
    .filter_map(|(column, value)| value.as_ref().map(|v| ident(column).eq(lit(v.as_str()))))
    .collect();
    if let Some(filter) = filters.into_iter().reduce(Expr::and) {
        df = df.filter(filter)?;
    }
    let keys = ["DistributorID", "AgentID", "route_date", "stop_no", "CustNo"];
    let df = df.sort(keys.iter().map(|k| ident(*k).sort(true, false)).collect())?;
    routes_from(df.collect().await?)
}

/// Groups sorted stop rows into routes.
fn routes_from(batches: Vec<RecordBatch>) -> Result<Vec<MapRoute>> {
    let mut routes: Vec<MapRoute> = Vec::new();
    for batch in batches {
        let columns = StopColumns::of(&batch)?;
        for i in 0..batch.num_rows() {
            let key = columns.route_key(i);
            let same = routes
                .last()
                .is_some_and(|r| (&r.distributor_id, &r.agent_id, &r.route_date) == (&key.0, &key.1, &key.2));
            if !same {
                routes.push(MapRoute {
                    distributor_id: key.0,
                    agent_id: key.1,
                    route_date: key.2,
                    depot: columns.depot(i),
                    stops: Vec::new(),
                });
            }
            let route = routes.last_mut().expect("a route");
            route.stops.push(columns.stop(i));
        }
    }
    Ok(routes)
}

/// The columns of one batch of the map query, cast to what the map needs: text as Utf8, the stop
/// number as Int32, coordinates as Float64.
struct StopColumns {
    dist: ArrayRef,
    agent: ArrayRef,
    date: ArrayRef,
    cust: ArrayRef,
    name: ArrayRef,
    custype: ArrayRef,
    stop_no: ArrayRef,
    lat: ArrayRef,
    lon: ArrayRef,
    depot_lat: ArrayRef,
    depot_lon: ArrayRef,
    added: BooleanArray,
}

impl StopColumns {
    fn of(batch: &RecordBatch) -> Result<Self> {
        let text = |name: &str| -> Result<ArrayRef> {
            let column = batch
                .column_by_name(name)
                .ok_or_else(|| DataFusionError::Internal(format!("map query lost {name}")))?;
            Ok(cast(column, &DataType::Utf8)?)
        };
        let (dist, agent, date, cust, name, custype) = (
            text("DistributorID")?,
            text("AgentID")?,
            text("route_date")?,
            text("CustNo")?,
            text("name")?,
            text("custype")?,
        );
        let number = |name: &str, to: &DataType| -> Result<ArrayRef> {
            Ok(cast(batch.column_by_name(name).expect("map column"), to)?)
        };
        let stop_no = number("stop_no", &DataType::Int32)?;
        let [lat, lon, depot_lat, depot_lon] =
            ["latitude", "longitude", "depot_lat", "depot_lon"].map(|c| number(c, &DataType::Float64));
        let (lat, lon, depot_lat, depot_lon) = (lat?, lon?, depot_lat?, depot_lon?);
        let added = batch
            .column_by_name("added")
            .expect("map column")
            .as_boolean()
            .clone();
        Ok(Self {
            dist,
            agent,
            date,
            cust,
            name,
            custype,
            stop_no,
            lat,
            lon,
            depot_lat,
            depot_lon,
            added,
        })
    }

    /// (DistributorID, AgentID, route date) of row `i`, empty where NULL.
    fn route_key(&self, i: usize) -> (String, String, String) {
        (
            text_at(&self.dist, i).unwrap_or_default(),
            text_at(&self.agent, i).unwrap_or_default(),
            text_at(&self.date, i).unwrap_or_default(),
        )
    }

    /// The depot of row `i`'s route; NaN (not drawn) where unknown.
    fn depot(&self, i: usize) -> (f64, f64) {
        (
            number_at(&self.depot_lat, i).unwrap_or(f64::NAN),
            number_at(&self.depot_lon, i).unwrap_or(f64::NAN),
        )
    }

    fn stop(&self, i: usize) -> MapStop {
        let stop_no = self.stop_no.as_primitive::<Int32Type>();
        MapStop {
            cust_no: text_at(&self.cust, i).unwrap_or_default(),
            name: text_at(&self.name, i),
            custype: text_at(&self.custype, i),
            stop_no: stop_no.is_valid(i).then(|| stop_no.value(i)),
            lat: number_at(&self.lat, i),
            lon: number_at(&self.lon, i),
            added: self.added.is_valid(i) && self.added.value(i),
        }
    }
}

fn text_at(a: &ArrayRef, i: usize) -> Option<String> {
    let a = a.as_string::<i32>();
    a.is_valid(i).then(|| a.value(i).to_string())
}

fn number_at(a: &ArrayRef, i: usize) -> Option<f64> {
    let a = a.as_primitive::<Float64Type>();
    a.is_valid(i).then(|| a.value(i))
}

/// The output formats, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapFormat {
    GeoJson,
    Svg,
    Png,
    Html,
}

impl MapFormat {
    pub fn from_path(path: &std::path::Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "geojson" | "json" => Ok(Self::GeoJson),
            "svg" => Ok(Self::Svg),
            "png" => Ok(Self::Png),
            "html" | "htm" => Ok(Self::Html),
            _ => Err(crate::error::bad_input(format!(
                "{}: the map format comes from the extension: .geojson, .svg, .png or .html",
                path.display()
            ))),
        }
    }

    /// How many routes one file can usefully show.
    pub fn max_routes(self) -> usize {
        match self {
            Self::Svg | Self::Png => 200,
            Self::GeoJson | Self::Html => 5_000,
        }
    }

    /// Renders `routes` (the drawing `width` x `height` pixels, for SVG and PNG); a page with a
    /// basemap comes from [`render::html`] with its options.
    pub fn render(self, routes: &[MapRoute], width: u32, height: u32) -> Result<Vec<u8>> {
        Ok(match self {
            Self::GeoJson => render::geojson(routes).into_bytes(),
            Self::Svg => render::svg(routes, width, height).into_bytes(),
            Self::Png => render::png(routes, width, height).map_err(DataFusionError::Execution)?,
            Self::Html => render::html(routes, &render::HtmlOptions::default()).into_bytes(),
        })
    }
}
