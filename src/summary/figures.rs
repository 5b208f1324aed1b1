//! The summary's figures, computed with SQL over the stage tables a run registered: the same tables
//! the run read, so the figures describe what it did. Each query is a constant of its own; they run
//! at once.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int64Type};
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;

use datafusion::common::ScalarValue;
use tracing::warn;

use super::{
    CURVE_SEQUENCED_LISTED, DataFigures, Distance, Duplicates, ProspectsAdded, RouteSize, Routes, Rows, Stops,
};
use crate::plan::geo::CoordIssue;
use crate::plan::sequence::MAX_MATRIX_STOPS;

/// Routes, those below the target before the top-up, and those without a centroid.
const ROUTES: &str = "SELECT COUNT(*) AS total,
                COUNT(CASE WHEN need > 0 THEN 1 END) AS below,
                COUNT(CASE WHEN centroid_lat IS NULL THEN 1 END) AS no_centroid
         FROM routes";

/// Prospects added, by top-up stage.
const ADDED_BY_STAGE: &str = "SELECT stage, COUNT(*) FROM topup GROUP BY stage";

/// Routes still below the target after the top-up.
const SHORT_AFTER_TOPUP: &str = "SELECT COUNT(*) AS short FROM routes r
         LEFT JOIN (SELECT DistributorID, AgentID, RouteDate, COUNT(*) AS n FROM topup GROUP BY 1, 2, 3) t
           ON r.DistributorID = t.DistributorID AND r.AgentID = t.AgentID AND r.RouteDate = t.RouteDate
         WHERE r.need > COALESCE(t.n, 0)";

/// Plan rows read, and those not routed (a NULL key).
const PLAN_ROWS: &str = "SELECT COUNT(*) AS read,
                COUNT(CASE WHEN DistributorID IS NULL OR AgentID IS NULL OR RouteDate IS NULL OR CustNo IS NULL
                           THEN 1 END) AS not_routed
         FROM MonthlyRoutePlan_temp";

/// Stops planned, those with coordinates, and plan rows sharing a stop.
const STOPS: &str = "SELECT COUNT(*) AS planned, COUNT(latitude) AS with_coords,
                CAST(SUM(plan_rows - 1) AS BIGINT) AS same_stop
         FROM plan_stops";

/// Stops without coordinates, by reason.
const COORD_ISSUES: &str =
    "SELECT coord_issue, COUNT(*) FROM plan_stops WHERE coord_issue IS NOT NULL GROUP BY 1";

/// Keys present more than once in the reference tables. Plain grouped counts on the sources: cheaper
/// than the first-row views, same figures.
const DUPLICATES: &str = "SELECT (SELECT COUNT(*) FROM (SELECT CustNo FROM customer WHERE CustNo IS NOT NULL
                                       GROUP BY CustNo HAVING COUNT(*) > 1) AS c) AS customer,
                (SELECT COUNT(*) FROM (SELECT tdlinx FROM prospective WHERE tdlinx IS NOT NULL
                                       GROUP BY tdlinx HAVING COUNT(*) > 1) AS p) AS prospective,
                (SELECT COUNT(*) FROM (SELECT DistributorID FROM distributors WHERE DistributorID IS NOT NULL
                                       GROUP BY DistributorID HAVING COUNT(*) > 1) AS d) AS distributors";

/// Path km of the chosen sequence and of nearest neighbour. Summed in fixed point (1 mm) so the total
/// does not depend on partitioning.
const DISTANCE: &str =
    "SELECT CAST(SUM(CAST(round(route_km * 1000000.0) AS BIGINT)) AS DOUBLE) / 1000000.0 AS km,
                CAST(SUM(CAST(round(nn_km * 1000000.0) AS BIGINT)) AS DOUBLE) / 1000000.0 AS nn
         FROM route_summary";

/// Routes sequenced along the curve: more distinct stops with coordinates than `$1`
/// (`MAX_MATRIX_STOPS`), largest first.
const CURVE_SEQUENCED: &str = "SELECT DistributorID, AgentID, RouteDate,
                COUNT(latitude) AS stops
         FROM route_stops GROUP BY DistributorID, AgentID, RouteDate HAVING COUNT(latitude) > $1
         ORDER BY stops DESC, DistributorID, AgentID, RouteDate";

/// Routes by where their depot came from.
const DEPOTS: &str = "SELECT depot_source, COUNT(*) FROM routes GROUP BY 1";

/// Rows of the written table by custype, from the stage tables rather than re-running route_plan.
const CUSTYPE_ROWS: &str = "SELECT custype, CAST(SUM(n) AS BIGINT) FROM (
           SELECT custype, plan_rows AS n FROM plan_stops
           UNION ALL SELECT 'prospect', 1 FROM topup
           UNION ALL SELECT custype, 1 FROM MonthlyRoutePlan_temp
             WHERE DistributorID IS NULL OR AgentID IS NULL OR RouteDate IS NULL OR CustNo IS NULL
         ) AS r GROUP BY custype";

/// Computes the data figures from the stage tables registered on `ctx`.
pub async fn data_figures(ctx: &SessionContext) -> Result<DataFigures> {
    // Independent queries over the stage tables and sources: run at once, so both cores work.
    let (routes, added, short, plan, stops, reasons, dups, km, depots, custype_rows, curve) = futures::try_join!(
        one_row(ctx, ROUTES),
        counts(ctx, ADDED_BY_STAGE),
        one_row(ctx, SHORT_AFTER_TOPUP),
        one_row(ctx, PLAN_ROWS),
        one_row(ctx, STOPS),
        counts(ctx, COORD_ISSUES),
        one_row(ctx, DUPLICATES),
        one_row(ctx, DISTANCE),
        counts(ctx, DEPOTS),
        counts(ctx, CUSTYPE_ROWS),
        curve_sequenced(ctx),
    )?;
    let prospects_added = prospects_added(&added);
    let read = int(&plan, "read");
    Ok(DataFigures {
        routes: Routes {
            total: int(&routes, "total"),
            below_target_before: int(&routes, "below"),
            short_after_topup: int(&short, "short"),
            without_centroid: int(&routes, "no_centroid"),
            curve_sequenced: curve.0,
            curve_sequenced_routes: curve.1,
        },
        rows: Rows {
            read,
            not_routed: int(&plan, "not_routed"),
            added: prospects_added.total,
            written: read + prospects_added.total,
        },
        prospects_added,
        stops: stops_figures(&stops, reasons),
        custype_rows,
        duplicates: Duplicates {
            customer_custno: int(&dups, "customer"),
            prospective_tdlinx: int(&dups, "prospective"),
            distributors_id: int(&dups, "distributors"),
            plan_rows_same_stop: int(&stops, "same_stop"),
        },
        distance_km: distance(&km),
        depots,
    })
}

/// How many routes were sequenced along the curve, and the largest of them. Each is logged as a
/// warning: such a route is usually a data error (a route key that merges many routes).
async fn curve_sequenced(ctx: &SessionContext) -> Result<(u64, Vec<RouteSize>)> {
    let limit = ScalarValue::from(MAX_MATRIX_STOPS as i64);
    let batches = ctx
        .sql(CURVE_SEQUENCED)
        .await?
        .with_param_values(vec![limit])?
        .collect()
        .await?;
    let mut routes = Vec::new();
    for batch in &batches {
        // The key as text, whatever string or date type the plan's columns have.
        let text = |i: usize| arrow::compute::cast(batch.column(i), &arrow::datatypes::DataType::Utf8);
        let (dist, agent, date) = (text(0)?, text(1)?, text(2)?);
        let stops = batch.column(3).as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            routes.push(RouteSize {
                distributor_id: dist.as_string::<i32>().value(i).to_string(),
                agent_id: agent.as_string::<i32>().value(i).to_string(),
                route_date: date.as_string::<i32>().value(i).to_string(),
                stops: stops.value(i).max(0) as u64,
            });
        }
    }
    for r in &routes {
        warn!(
            DistributorID = %r.distributor_id,
            AgentID = %r.agent_id,
            RouteDate = %r.route_date,
            stops = r.stops,
            "route of more than {MAX_MATRIX_STOPS} stops with coordinates sequenced along a space-filling curve, not optimised"
        );
    }
    let count = routes.len() as u64;
    routes.truncate(CURVE_SEQUENCED_LISTED);
    Ok((count, routes))
}

/// Prospects added by each top-up stage, from the counts by stage.
fn prospects_added(by_stage: &BTreeMap<String, u64>) -> ProspectsAdded {
    let barangay = by_stage.get("barangay").copied().unwrap_or(0);
    let radius = by_stage.get("radius").copied().unwrap_or(0);
    ProspectsAdded {
        barangay,
        radius,
        total: barangay + radius,
    }
}

/// The stops' figures; every reason is listed, with 0 when no stop has it.
fn stops_figures(stops: &RecordBatch, reasons: BTreeMap<String, u64>) -> Stops {
    let planned = int(stops, "planned");
    let with_coords = int(stops, "with_coords");
    let mut by_reason: BTreeMap<String, u64> = CoordIssue::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), 0))
        .collect();
    by_reason.extend(reasons);
    Stops {
        planned,
        with_coordinates: with_coords,
        without_coordinates: planned - with_coords,
        without_coordinates_by_reason: by_reason,
    }
}

/// Path lengths, and how much shorter the chosen sequence is than nearest neighbour.
fn distance(km: &RecordBatch) -> Distance {
    let (seq_km, nn_km) = (float(km, "km"), float(km, "nn"));
    Distance {
        sequence: seq_km,
        nearest_neighbor: nn_km,
        improvement_pct: if nn_km > 0.0 {
            (nn_km - seq_km) / nn_km * 100.0
        } else {
            0.0
        },
    }
}

/// Runs `sql` and returns its single row.
async fn one_row(ctx: &SessionContext, sql: &str) -> Result<RecordBatch> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches)?;
    if batch.num_rows() != 1 {
        return Err(DataFusionError::Internal(format!(
            "summary query returned {} rows",
            batch.num_rows()
        )));
    }
    Ok(batch)
}

fn int(batch: &RecordBatch, name: &str) -> u64 {
    let col = batch.column_by_name(name).expect("summary column");
    let col = col.as_primitive::<Int64Type>();
    if col.is_null(0) {
        0
    } else {
        col.value(0).max(0) as u64
    }
}

fn float(batch: &RecordBatch, name: &str) -> f64 {
    let col = batch.column_by_name(name).expect("summary column");
    let col = col.as_primitive::<Float64Type>();
    if col.is_null(0) { 0.0 } else { col.value(0) }
}

/// Grouped counts: `SELECT key, count` → map.
async fn counts(ctx: &SessionContext, sql: &str) -> Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for batch in ctx.sql(sql).await?.collect().await? {
        let keys = batch.column(0).as_string::<i32>();
        let values = batch.column(1).as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            let key = if keys.is_null(i) { "unset" } else { keys.value(i) };
            out.insert(key.to_string(), values.value(i) as u64);
        }
    }
    Ok(out)
}
