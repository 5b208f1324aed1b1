//! The run summary: every figure the contract's "What a run reports" lists, computed with SQL over the
//! same stage tables the run used ([`figures`]), written as `run_summary.json` and printed for people
//! ([`text`]).

mod figures;
mod text;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::plan::PlanOptions;
pub use figures::data_figures;

#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub routeflow_version: &'static str,
    /// Names the run in logs and its snapshot (`<snapshot-dir>/run_id=<id>/`).
    pub run_id: String,
    /// `completed`, or `partial` when some SQL Server partitions failed (exit 2). A run stopped by a
    /// signal reports an [`InterruptedRun`] instead.
    pub status: &'static str,
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

/// What a run stopped by SIGINT or SIGTERM reports instead of a [`RunSummary`] (whose figures it may
/// not have reached): where it stopped and which output partitions it had written. File output is
/// not published by an interrupted run; SQL Server keeps the partitions listed as written.
#[derive(Debug, Clone, Serialize)]
pub struct InterruptedRun {
    pub routeflow_version: &'static str,
    pub run_id: String,
    /// Always `interrupted`.
    pub status: &'static str,
    pub signal: crate::shutdown::Signal,
    pub started_at: String,
    /// The phase the signal stopped: `open`, `plan`, `summary`, `write`, `snapshot` or `publish`.
    pub phase: String,
    pub output: Option<String>,
    /// Whether readers see any of this run's result: never for files (the previous output stays
    /// published); for SQL Server, when some partitions were written (in place, those partitions).
    pub published: bool,
    /// The output partitions and what became of each (`written`, `failed`, `interrupted`).
    pub partitions: Vec<crate::snapshot::manifest::PartitionOutcome>,
    pub total_seconds: f64,
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
    /// Routes of more than [`MAX_MATRIX_STOPS`] distinct stops with coordinates: ordered along a
    /// space-filling curve instead of optimised (usually a route key that merges many routes).
    ///
    /// [`MAX_MATRIX_STOPS`]: crate::plan::sequence::MAX_MATRIX_STOPS
    pub curve_sequenced: u64,
    /// The largest of them (at most [`CURVE_SEQUENCED_LISTED`]), largest first.
    pub curve_sequenced_routes: Vec<RouteSize>,
}

/// How many curve-sequenced routes the summary lists.
pub const CURVE_SEQUENCED_LISTED: usize = 10;

/// A route and its number of distinct stops with coordinates.
#[derive(Debug, Clone, Serialize)]
pub struct RouteSize {
    #[serde(rename = "DistributorID")]
    pub distributor_id: String,
    #[serde(rename = "AgentID")]
    pub agent_id: String,
    /// `YYYY-MM-DD`.
    #[serde(rename = "RouteDate")]
    pub route_date: String,
    pub stops: u64,
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
