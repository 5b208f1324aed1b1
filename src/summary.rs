//! The run summary: every figure the contract's "What a run reports" lists, computed with SQL over the
//! same stage tables the run used, written as `run_summary.json` and printed for people.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int64Type};
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::plan::PlanOptions;
use crate::plan::geo::CoordIssue;

#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub routeflow_version: &'static str,
    /// Names the run in logs and its snapshot (`<snapshot-dir>/run_id=<id>/`).
    pub run_id: String,
    pub started_at: String,
    pub input: String,
    /// `None` for a dry run.
    pub output: Option<String>,
    pub dry_run: bool,
    /// The run's snapshot directory; `None` for a dry run or `--no-snapshot`.
    pub snapshot: Option<String>,
    pub options: PlanOptions,
    pub concurrency: usize,
    pub filters: Filters,
    pub routes: Routes,
    pub rows: Rows,
    pub prospects_added: ProspectsAdded,
    pub stops: Stops,
    /// Rows of the written table by custype (`unset` for rows that were not routed and had none).
    pub custype_rows: BTreeMap<String, u64>,
    pub duplicates: Duplicates,
    pub truncations: Truncations,
    /// What the SQL Server sink did; `None` for file output.
    pub sink: Option<SinkSummary>,
    pub distance_km: Distance,
    pub depots: BTreeMap<String, u64>,
    pub phases: Vec<Phase>,
    pub total_seconds: f64,
    pub routes_per_second: f64,
}

/// The SQL Server write: partitions (distributors) written and failed, rows changed.
#[derive(Debug, Clone, Serialize)]
pub struct SinkSummary {
    pub mode: crate::sink::mssql::WriteMode,
    pub partitions: u64,
    /// Partitions that failed after their retries; a re-run completes them.
    pub failed: Vec<crate::snapshot::manifest::PartitionOutcome>,
    /// Existing rows whose StopNo or custype changed (in-place).
    pub rows_updated: u64,
    /// Rows inserted: added prospects (in-place) or every row (table).
    pub rows_inserted: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Filters {
    pub distributor_ids: Vec<String>,
    pub limit_routes: Option<usize>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Routes {
    pub total: u64,
    /// Routes that were below the target before the top-up.
    pub below_target_before: u64,
    /// Routes still below the target after it (not enough eligible prospects).
    pub short_after_topup: u64,
    /// Routes with no customer with coordinates: no centroid, so no radius stage.
    pub without_centroid: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Rows {
    pub read: u64,
    /// Rows with DistributorID, AgentID, RouteDate or CustNo NULL: written back unchanged.
    pub not_routed: u64,
    pub added: u64,
    /// Rows of the output table: read + added. A run that writes checks the sink wrote exactly this
    /// many; a dry run reports what it would have written.
    pub written: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ProspectsAdded {
    pub barangay: u64,
    pub radius: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stops {
    /// Distinct (route, CustNo) in the plan.
    pub planned: u64,
    pub with_coordinates: u64,
    pub without_coordinates: u64,
    pub without_coordinates_by_reason: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Duplicates {
    /// CustNo values present more than once in `customer` (the first row is used).
    pub customer_custno: u64,
    pub prospective_tdlinx: u64,
    pub distributors_id: u64,
    /// Plan rows repeating a (route, CustNo) already planned: they share one StopNo.
    pub plan_rows_same_stop: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Truncations {
    /// Values cut to fit a target column. Parquet output has no column widths, so file runs report 0.
    pub count: u64,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Distance {
    /// Total path length of the chosen sequence, depot to last stop, over all routes.
    pub sequence: f64,
    /// The same with the nearest-neighbour path, for comparison.
    pub nearest_neighbor: f64,
    /// How much shorter the chosen sequence is than nearest neighbour, in percent.
    pub improvement_pct: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub name: String,
    pub seconds: f64,
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

/// The figures that come from the data. `written` is the output table (`route_plan`, or the rows the
/// sink reported).
pub struct DataFigures {
    pub routes: Routes,
    pub rows: Rows,
    pub prospects_added: ProspectsAdded,
    pub stops: Stops,
    pub custype_rows: BTreeMap<String, u64>,
    pub duplicates: Duplicates,
    pub distance_km: Distance,
    pub depots: BTreeMap<String, u64>,
}

/// Computes the data figures from the stage tables registered on `ctx`.
pub async fn data_figures(ctx: &SessionContext) -> Result<DataFigures> {
    // Independent queries over the stage tables and sources: run at once, so both cores work.
    let (r, added, short, plan, stops, reasons, dups, km, depots, custype_rows) = futures::try_join!(
        one_row(
            ctx,
            "SELECT COUNT(*) AS total,
                COUNT(CASE WHEN need > 0 THEN 1 END) AS below,
                COUNT(CASE WHEN centroid_lat IS NULL THEN 1 END) AS no_centroid
         FROM routes",
        ),
        counts(ctx, "SELECT stage, COUNT(*) FROM topup GROUP BY stage"),
        one_row(
            ctx,
            "SELECT COUNT(*) AS short FROM routes r
         LEFT JOIN (SELECT DistributorID, AgentID, RouteDate, COUNT(*) AS n FROM topup GROUP BY 1, 2, 3) t
           ON r.DistributorID = t.DistributorID AND r.AgentID = t.AgentID AND r.RouteDate = t.RouteDate
         WHERE r.need > COALESCE(t.n, 0)",
        ),
        one_row(
            ctx,
            "SELECT COUNT(*) AS read,
                COUNT(CASE WHEN DistributorID IS NULL OR AgentID IS NULL OR RouteDate IS NULL OR CustNo IS NULL
                           THEN 1 END) AS not_routed
         FROM MonthlyRoutePlan_temp",
        ),
        one_row(
            ctx,
            "SELECT COUNT(*) AS planned, COUNT(latitude) AS with_coords,
                CAST(SUM(plan_rows - 1) AS BIGINT) AS same_stop
         FROM plan_stops",
        ),
        counts(
            ctx,
            "SELECT coord_issue, COUNT(*) FROM plan_stops WHERE coord_issue IS NOT NULL GROUP BY 1",
        ),
        one_row(
            ctx,
            // Plain grouped counts on the sources: cheaper than the first-row views, same figures.
            "SELECT (SELECT COUNT(*) FROM (SELECT CustNo FROM customer WHERE CustNo IS NOT NULL
                                       GROUP BY CustNo HAVING COUNT(*) > 1) AS c) AS customer,
                (SELECT COUNT(*) FROM (SELECT tdlinx FROM prospective WHERE tdlinx IS NOT NULL
                                       GROUP BY tdlinx HAVING COUNT(*) > 1) AS p) AS prospective,
                (SELECT COUNT(*) FROM (SELECT DistributorID FROM distributors WHERE DistributorID IS NOT NULL
                                       GROUP BY DistributorID HAVING COUNT(*) > 1) AS d) AS distributors",
        ),
        one_row(
            ctx,
            // Summed in fixed point (1 mm) so the total does not depend on partitioning.
            "SELECT CAST(SUM(CAST(round(route_km * 1000000.0) AS BIGINT)) AS DOUBLE) / 1000000.0 AS km,
                CAST(SUM(CAST(round(nn_km * 1000000.0) AS BIGINT)) AS DOUBLE) / 1000000.0 AS nn
         FROM route_summary",
        ),
        counts(ctx, "SELECT depot_source, COUNT(*) FROM routes GROUP BY 1"),
        // Rows of the written table by custype, from the stage tables rather than re-running route_plan.
        counts(
            ctx,
            "SELECT custype, CAST(SUM(n) AS BIGINT) FROM (
           SELECT custype, plan_rows AS n FROM plan_stops
           UNION ALL SELECT 'prospect', 1 FROM topup
           UNION ALL SELECT custype, 1 FROM MonthlyRoutePlan_temp
             WHERE DistributorID IS NULL OR AgentID IS NULL OR RouteDate IS NULL OR CustNo IS NULL
         ) AS r GROUP BY custype",
        ),
    )?;

    let barangay = added.get("barangay").copied().unwrap_or(0);
    let radius = added.get("radius").copied().unwrap_or(0);
    let read = int(&plan, "read");
    let planned = int(&stops, "planned");
    let with_coords = int(&stops, "with_coords");
    let mut by_reason: BTreeMap<String, u64> = CoordIssue::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), 0))
        .collect();
    by_reason.extend(reasons);
    let (seq_km, nn_km) = (float(&km, "km"), float(&km, "nn"));
    Ok(DataFigures {
        routes: Routes {
            total: int(&r, "total"),
            below_target_before: int(&r, "below"),
            short_after_topup: int(&short, "short"),
            without_centroid: int(&r, "no_centroid"),
        },
        rows: Rows {
            read,
            not_routed: int(&plan, "not_routed"),
            added: barangay + radius,
            written: read + barangay + radius,
        },
        prospects_added: ProspectsAdded {
            barangay,
            radius,
            total: barangay + radius,
        },
        stops: Stops {
            planned,
            with_coordinates: with_coords,
            without_coordinates: planned - with_coords,
            without_coordinates_by_reason: by_reason,
        },
        custype_rows,
        duplicates: Duplicates {
            customer_custno: int(&dups, "customer"),
            prospective_tdlinx: int(&dups, "prospective"),
            distributors_id: int(&dups, "distributors"),
            plan_rows_same_stop: int(&stops, "same_stop"),
        },
        distance_km: Distance {
            sequence: seq_km,
            nearest_neighbor: nn_km,
            improvement_pct: if nn_km > 0.0 {
                (nn_km - seq_km) / nn_km * 100.0
            } else {
                0.0
            },
        },
        depots,
    })
}

impl RunSummary {
    /// A table for people, printed at the end of a run.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let mut line = |k: &str, v: String| {
            let _ = writeln!(s, "  {k:<34} {v}");
        };
        line("run id", self.run_id.clone());
        line("routes", self.routes.total.to_string());
        line(
            "rows read / written",
            format!("{} / {}", self.rows.read, self.rows.written),
        );
        line("rows not routed (NULL key)", self.rows.not_routed.to_string());
        line(
            "prospects added (barangay/radius)",
            format!(
                "{} ({} / {})",
                self.prospects_added.total, self.prospects_added.barangay, self.prospects_added.radius
            ),
        );
        line(
            "routes below target before/after",
            format!(
                "{} / {}",
                self.routes.below_target_before, self.routes.short_after_topup
            ),
        );
        let reasons: Vec<String> = self
            .stops
            .without_coordinates_by_reason
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        line(
            "stops without coordinates",
            format!(
                "{} of {} ({})",
                self.stops.without_coordinates,
                self.stops.planned,
                reasons.join(", ")
            ),
        );
        let custype: Vec<String> = self
            .custype_rows
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        line("rows by custype", custype.join(", "));
        line(
            "duplicates (customer/prospect/plan)",
            format!(
                "{} / {} / {}",
                self.duplicates.customer_custno,
                self.duplicates.prospective_tdlinx,
                self.duplicates.plan_rows_same_stop
            ),
        );
        line("truncated values", self.truncations.count.to_string());
        if let Some(sink) = &self.sink {
            line(
                "SQL Server partitions written",
                format!(
                    "{} of {}",
                    sink.partitions - sink.failed.len() as u64,
                    sink.partitions
                ),
            );
            line(
                "SQL Server rows updated / inserted",
                format!("{} / {}", sink.rows_updated, sink.rows_inserted),
            );
            for f in &sink.failed {
                line(
                    "FAILED partition",
                    format!("{}: {}", f.partition, f.error.as_deref().unwrap_or("")),
                );
            }
        }
        line(
            "path km (nearest neighbour)",
            format!(
                "{:.1} ({:.1}, {:.2}% shorter)",
                self.distance_km.sequence,
                self.distance_km.nearest_neighbor,
                self.distance_km.improvement_pct
            ),
        );
        let phases: Vec<String> = self
            .phases
            .iter()
            .map(|p| format!("{} {:.2}s", p.name, p.seconds))
            .collect();
        line(
            "time",
            format!("{:.2}s ({})", self.total_seconds, phases.join(", ")),
        );
        line("routes per second", format!("{:.0}", self.routes_per_second));
        if let Some(snapshot) = &self.snapshot {
            line("snapshot", snapshot.clone());
        }
        s
    }
}

/// Formats a UNIX time as RFC 3339 UTC (`2026-11-30T01:02:03Z`), without a date library.
pub fn utc_rfc3339(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc() {
        assert_eq!(super::utc_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc_rfc3339(1_796_000_523), "2026-11-30T01:02:03Z");
    }
}
