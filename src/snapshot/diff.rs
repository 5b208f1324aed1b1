//! `snapshots diff A B`: which routes changed between two runs. Stops are compared as (route, CustNo);
//! a route changed when a stop was added or removed, a StopNo moved, or its path length changed.

use datafusion::dataframe::DataFrame;
use datafusion::error::Result;

use super::store::SnapshotDir;

/// Schema prefixes the two runs are registered under.
const BEFORE: &str = "a_";
const AFTER: &str = "b_";

/// One row per changed route: stops before and after, the CustNos added and removed (space-separated,
/// sorted), how many kept stops changed StopNo, and km before and after.
const CHANGED_ROUTES: &str = "
WITH a AS (
  SELECT DISTINCT DistributorID, AgentID, RouteDate, CustNo, StopNo FROM a_output.MonthlyRoutePlan_temp
  WHERE DistributorID IS NOT NULL AND AgentID IS NOT NULL AND RouteDate IS NOT NULL AND CustNo IS NOT NULL
),
b AS (
  SELECT DISTINCT DistributorID, AgentID, RouteDate, CustNo, StopNo FROM b_output.MonthlyRoutePlan_temp
  WHERE DistributorID IS NOT NULL AND AgentID IS NOT NULL AND RouteDate IS NOT NULL AND CustNo IS NOT NULL
),
stops AS (
  SELECT COALESCE(a.DistributorID, b.DistributorID) AS DistributorID,
         COALESCE(a.AgentID, b.AgentID) AS AgentID,
         COALESCE(a.RouteDate, b.RouteDate) AS RouteDate,
         COALESCE(a.CustNo, b.CustNo) AS CustNo,
         a.CustNo IS NULL AS is_added,
         b.CustNo IS NULL AS is_removed,
         a.CustNo IS NOT NULL AND b.CustNo IS NOT NULL AND a.StopNo IS DISTINCT FROM b.StopNo AS is_moved
  FROM a FULL OUTER JOIN b
    ON a.DistributorID = b.DistributorID AND a.AgentID = b.AgentID AND a.RouteDate = b.RouteDate
   AND a.CustNo = b.CustNo
),
per_route AS (
  SELECT DistributorID, AgentID, RouteDate,
         COUNT(CASE WHEN NOT is_added THEN 1 END) AS stops_before,
         COUNT(CASE WHEN NOT is_removed THEN 1 END) AS stops_after,
         string_agg(CASE WHEN is_added THEN CustNo END, ' ' ORDER BY CustNo) AS added,
         string_agg(CASE WHEN is_removed THEN CustNo END, ' ' ORDER BY CustNo) AS removed,
         COUNT(CASE WHEN is_moved THEN 1 END) AS stop_no_changes
  FROM stops
  GROUP BY DistributorID, AgentID, RouteDate
)
SELECT r.DistributorID, r.AgentID, r.RouteDate, r.stops_before, r.stops_after, r.added, r.removed,
       r.stop_no_changes, ka.route_km AS km_before, kb.route_km AS km_after
FROM per_route AS r
LEFT JOIN a_output.route_summary AS ka
  ON r.DistributorID = ka.DistributorID AND r.AgentID = ka.AgentID AND r.RouteDate = ka.RouteDate
LEFT JOIN b_output.route_summary AS kb
  ON r.DistributorID = kb.DistributorID AND r.AgentID = kb.AgentID AND r.RouteDate = kb.RouteDate
WHERE r.added IS NOT NULL OR r.removed IS NOT NULL OR r.stop_no_changes > 0
   OR ka.route_km IS DISTINCT FROM kb.route_km
ORDER BY r.DistributorID, r.AgentID, r.RouteDate";

/// Totals of both runs: routes and km.
const TOTALS: &str = "
SELECT (SELECT COUNT(*) FROM a_output.route_summary) AS routes_before,
       (SELECT COUNT(*) FROM b_output.route_summary) AS routes_after,
       (SELECT SUM(route_km) FROM a_output.route_summary) AS km_before,
       (SELECT SUM(route_km) FROM b_output.route_summary) AS km_after";

/// The changed routes and the totals of runs `a` (before) and `b` (after).
pub async fn diff(dir: &SnapshotDir, a: &str, b: &str, concurrency: usize) -> Result<(DataFrame, DataFrame)> {
    let ctx = crate::run::session(concurrency);
    dir.register(&ctx, a, BEFORE).await?;
    dir.register(&ctx, b, AFTER).await?;
    Ok((ctx.sql(CHANGED_ROUTES).await?, ctx.sql(TOTALS).await?))
}
