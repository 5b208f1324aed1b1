//! Checks of the plan table: NULL keys, repeated stops, oversized routes, dates outside the plan's
//! month, and custype values the run would change. Each count is the one the run summary reports
//! where the summary has it (`rows.not_routed`, `duplicates.plan_rows_same_stop`,
//! `routes.curve_sequenced`).

use super::check::{Check, Param, Per};
use crate::plan::sequence::MAX_MATRIX_STOPS;
use crate::schema::ROUTE_PLAN;

/// Plan rows with a NULL route key or CustNo (rule 1).
const NULL_KEYS: Check = Check {
    key: "null_keys",
    table: ROUTE_PLAN,
    description: "rows with DistributorID, AgentID, RouteDate or CustNo NULL: not routed, written back unchanged",
    per: Per::PlanRow,
    param: Param::None,
    count: "SELECT COUNT(*) AS n FROM MonthlyRoutePlan_temp
            WHERE DistributorID IS NULL OR AgentID IS NULL OR RouteDate IS NULL OR CustNo IS NULL",
    breakdown: Some(
        "SELECT 'DistributorID' AS label, COUNT(*) - COUNT(DistributorID) AS n FROM MonthlyRoutePlan_temp
         UNION ALL SELECT 'AgentID', COUNT(*) - COUNT(AgentID) FROM MonthlyRoutePlan_temp
         UNION ALL SELECT 'RouteDate', COUNT(*) - COUNT(RouteDate) FROM MonthlyRoutePlan_temp
         UNION ALL SELECT 'CustNo', COUNT(*) - COUNT(CustNo) FROM MonthlyRoutePlan_temp",
    ),
    examples: Some(
        "SELECT DistributorID, AgentID, RouteDate, CustNo, _src_ord AS source_position,
                concat('NULL ', concat_ws(', ', CASE WHEN DistributorID IS NULL THEN 'DistributorID' END,
                                        CASE WHEN AgentID IS NULL THEN 'AgentID' END,
                                        CASE WHEN RouteDate IS NULL THEN 'RouteDate' END,
                                        CASE WHEN CustNo IS NULL THEN 'CustNo' END)) AS detail
         FROM MonthlyRoutePlan_temp
         WHERE DistributorID IS NULL OR AgentID IS NULL OR RouteDate IS NULL OR CustNo IS NULL
         ORDER BY _src_ord",
    ),
};

/// Plan rows repeating a (route, CustNo) already planned: one stop, one StopNo (rule 7).
const DUPLICATE_STOPS: Check = Check {
    key: "duplicate_stops",
    table: ROUTE_PLAN,
    description: "rows repeating a (route, CustNo) already planned: counted once, they share one StopNo",
    per: Per::PlanRow,
    param: Param::None,
    count: "SELECT CAST(COALESCE(SUM(plan_rows - 1), 0) AS BIGINT) AS n FROM plan_stops",
    breakdown: None,
    examples: Some(
        "SELECT DistributorID, AgentID, RouteDate, CustNo, first_ord AS source_position,
                concat(CAST(plan_rows AS VARCHAR), ' rows for this stop; the first is at this position') AS detail
         FROM plan_stops WHERE plan_rows > 1 ORDER BY first_ord",
    ),
};

/// Examples of routes above a size, largest first: the route key, its first row, its size.
macro_rules! route_size_examples {
    ($column:literal, $op:literal) => {
        concat!(
            "SELECT DistributorID, AgentID, RouteDate, first_ord AS source_position,
                    concat(CAST(stops AS VARCHAR), ' stops, ', CAST(with_coords AS VARCHAR), ' with coordinates') AS detail
             FROM validate_route_sizes WHERE ",
            $column,
            $op,
            " ORDER BY stops DESC, first_ord"
        )
    };
}

const ROUTES_OVER_100: Check = Check {
    key: "routes_over_100_stops",
    table: ROUTE_PLAN,
    description: "routes of more than 100 distinct stops (the top-up target is 60)",
    per: Per::Route,
    param: Param::None,
    count: "SELECT COUNT(*) AS n FROM validate_route_sizes WHERE stops > 100",
    breakdown: None,
    examples: Some(route_size_examples!("stops", " > 100")),
};

const ROUTES_OVER_1000: Check = Check {
    key: "routes_over_1000_stops",
    table: ROUTE_PLAN,
    description: "routes of more than 1,000 distinct stops: usually a route key that merges many routes",
    per: Per::Route,
    param: Param::None,
    count: "SELECT COUNT(*) AS n FROM validate_route_sizes WHERE stops > 1000",
    breakdown: None,
    examples: Some(route_size_examples!("stops", " > 1000")),
};

/// Routes the run orders along the space-filling curve instead of a distance matrix: more distinct
/// stops with coordinates than [`MAX_MATRIX_STOPS`]. (The top-up only adds to routes below the
/// target, so it never takes a route over the limit: the plan's stops decide.)
const ROUTES_CURVE_SEQUENCED: Check = Check {
    key: "routes_curve_sequenced",
    table: ROUTE_PLAN,
    description: "routes of more than 2,000 stops with coordinates: sequenced along a space-filling curve, not optimised",
    per: Per::Route,
    param: Param::Int(MAX_MATRIX_STOPS as i64),
    count: "SELECT COUNT(*) AS n FROM validate_route_sizes WHERE with_coords > $1",
    breakdown: None,
    examples: Some(route_size_examples!("with_coords", " > $1")),
};

/// Dated rows outside the month most rows fall in: usually a typing error in RouteDate.
const DATES_OUTSIDE_MONTH: Check = Check {
    key: "dates_outside_month",
    table: ROUTE_PLAN,
    description: "rows whose RouteDate is outside the plan's month (the month most rows fall in)",
    per: Per::PlanRow,
    param: Param::None,
    count: "SELECT COUNT(*) AS n FROM MonthlyRoutePlan_temp AS p CROSS JOIN validate_plan_month AS m
            WHERE to_char(p.RouteDate, '%Y-%m') <> m.month",
    breakdown: Some(
        "SELECT to_char(p.RouteDate, '%Y-%m') AS label, COUNT(*) AS n
         FROM MonthlyRoutePlan_temp AS p CROSS JOIN validate_plan_month AS m
         WHERE to_char(p.RouteDate, '%Y-%m') <> m.month GROUP BY 1",
    ),
    examples: Some(
        "SELECT p.DistributorID, p.AgentID, p.RouteDate, p.CustNo, p._src_ord AS source_position,
                concat('plan month ', m.month) AS detail
         FROM MonthlyRoutePlan_temp AS p CROSS JOIN validate_plan_month AS m
         WHERE to_char(p.RouteDate, '%Y-%m') <> m.month ORDER BY p._src_ord",
    ),
};

/// Routed rows whose stored custype differs from what rule 3 gives (the run overwrites it). A NULL
/// custype (every row of a plan without the column) is filled in, not changed: not counted.
const CUSTYPE_CHANGED: Check = Check {
    key: "custype_changed",
    table: ROUTE_PLAN,
    description: "routed rows whose stored custype differs from the one the run writes (rule 3; NULL, which the run fills in, is not counted)",
    per: Per::PlanRow,
    param: Param::None,
    count: "SELECT COUNT(*) AS n FROM MonthlyRoutePlan_temp AS p
            JOIN plan_stops AS s ON p.DistributorID = s.DistributorID AND p.AgentID = s.AgentID
             AND p.RouteDate = s.RouteDate AND p.CustNo = s.CustNo
            WHERE p.custype <> s.custype",
    breakdown: Some(
        "SELECT concat(p.custype, ' -> ', s.custype) AS label, COUNT(*) AS n
         FROM MonthlyRoutePlan_temp AS p
         JOIN plan_stops AS s ON p.DistributorID = s.DistributorID AND p.AgentID = s.AgentID
          AND p.RouteDate = s.RouteDate AND p.CustNo = s.CustNo
         WHERE p.custype <> s.custype GROUP BY 1",
    ),
    examples: Some(
        "SELECT p.DistributorID, p.AgentID, p.RouteDate, p.CustNo, p._src_ord AS source_position,
                concat('stored ', p.custype, ', the run writes ', s.custype) AS detail
         FROM MonthlyRoutePlan_temp AS p
         JOIN plan_stops AS s ON p.DistributorID = s.DistributorID AND p.AgentID = s.AgentID
          AND p.RouteDate = s.RouteDate AND p.CustNo = s.CustNo
         WHERE p.custype <> s.custype ORDER BY p._src_ord",
    ),
};

/// The plan table's checks, in report order.
pub static CHECKS: &[Check] = &[
    NULL_KEYS,
    DUPLICATE_STOPS,
    ROUTES_OVER_100,
    ROUTES_OVER_1000,
    ROUTES_CURVE_SEQUENCED,
    DATES_OUTSIDE_MONTH,
    CUSTYPE_CHANGED,
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_curve_description_names_the_limit() {
        assert_eq!(
            super::MAX_MATRIX_STOPS,
            2_000,
            "update ROUTES_CURVE_SEQUENCED's description"
        );
    }
}
