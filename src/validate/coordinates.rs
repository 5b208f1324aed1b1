//! Checks of coordinates: stops without usable coordinates, in total and by reason (the
//! `coord_issue` of `plan_stops`, rule 2), and distributors whose routes start at Manila because
//! their location is missing or invalid (rule 6). The counts are the run summary's
//! `stops.without_coordinates_by_reason` and `depots.fallback`.

use super::check::{Check, Param, Per};
use crate::schema::{DISTRIBUTORS, ROUTE_PLAN};

const STOPS_WITHOUT_COORDINATES: Check = Check {
    key: "stops_without_coordinates",
    table: ROUTE_PLAN,
    description: "distinct stops without usable coordinates, by reason: not sequenced, they get the StopNo of --no-coords-stop (100)",
    per: Per::Stop,
    param: Param::None,
    count: "SELECT COUNT(coord_issue) AS n FROM plan_stops",
    breakdown: Some(
        "SELECT coord_issue AS label, COUNT(*) AS n FROM plan_stops WHERE coord_issue IS NOT NULL GROUP BY 1",
    ),
    examples: None,
};

/// Stops with one reason; the examples show the coordinates the lookup found.
const fn by_reason(key: &'static str, reason: &'static str, description: &'static str) -> Check {
    Check {
        key,
        table: ROUTE_PLAN,
        description,
        per: Per::Stop,
        param: Param::Text(reason),
        count: "SELECT COUNT(*) AS n FROM plan_stops WHERE coord_issue = $1",
        breakdown: None,
        examples: Some(
            "SELECT s.DistributorID, s.AgentID, s.RouteDate, s.CustNo, s.first_ord AS source_position,
                    CASE WHEN c.CustNo IS NOT NULL
                           THEN concat('customer latitude ', COALESCE(CAST(c.latitude AS VARCHAR), 'NULL'),
                                       ', longitude ', COALESCE(CAST(c.longitude AS VARCHAR), 'NULL'))
                         WHEN p.tdlinx IS NOT NULL
                           THEN concat('prospective latitude ', COALESCE(CAST(p.latitude AS VARCHAR), 'NULL'),
                                       ', longitude ', COALESCE(CAST(p.longitude AS VARCHAR), 'NULL'))
                         ELSE 'CustNo is in neither customer nor prospective' END AS detail
             FROM plan_stops AS s
             LEFT JOIN customer_first AS c ON s.CustNo = c.CustNo
             LEFT JOIN prospect_first AS p ON s.CustNo = p.tdlinx
             WHERE s.coord_issue = $1 ORDER BY s.first_ord",
        ),
    }
}

/// Routes whose depot is Manila because their distributor has no valid location.
const ROUTES_DEPOT_FALLBACK: Check = Check {
    key: "routes_depot_fallback",
    table: DISTRIBUTORS,
    description: "routes whose path starts at Manila: their distributor is missing from distributors or its location is invalid",
    per: Per::Route,
    param: Param::None,
    count: "SELECT COUNT(*) AS n FROM routes WHERE depot_source = 'fallback'",
    breakdown: Some(
        "SELECT CASE WHEN d.DistributorID IS NULL THEN 'not_found'
                     ELSE coord_issue(d.Latitude, d.Longitude) END AS label, COUNT(*) AS n
         FROM routes AS r LEFT JOIN distributor_first AS d ON r.DistributorID = d.DistributorID
         WHERE r.depot_source = 'fallback' GROUP BY 1",
    ),
    examples: None,
};

/// The distributors behind [`ROUTES_DEPOT_FALLBACK`], each with the row that failed.
const DISTRIBUTORS_WITHOUT_LOCATION: Check = Check {
    key: "distributors_without_location",
    table: DISTRIBUTORS,
    description: "distributors of the plan without a valid location (missing, NULL, zero, swapped, outside): their routes start at Manila",
    per: Per::None,
    param: Param::None,
    count: "SELECT COUNT(DISTINCT DistributorID) AS n FROM routes WHERE depot_source = 'fallback'",
    breakdown: None,
    examples: Some(
        "SELECT f.DistributorID, o.first_ord AS source_position,
                concat(CASE WHEN d.DistributorID IS NULL THEN 'not in distributors'
                            ELSE concat(coord_issue(d.Latitude, d.Longitude), ': Latitude ',
                                        COALESCE(CAST(d.Latitude AS VARCHAR), 'NULL'), ', Longitude ',
                                        COALESCE(CAST(d.Longitude AS VARCHAR), 'NULL')) END,
                       '; ', CAST(f.routes AS VARCHAR), ' route(s)') AS detail
         FROM (SELECT DistributorID, COUNT(*) AS routes FROM routes WHERE depot_source = 'fallback'
               GROUP BY DistributorID) AS f
         LEFT JOIN distributor_first AS d ON f.DistributorID = d.DistributorID
         LEFT JOIN (SELECT DistributorID, MIN(_src_ord) AS first_ord FROM distributors
                    WHERE DistributorID IS NOT NULL GROUP BY DistributorID) AS o
           ON f.DistributorID = o.DistributorID
         ORDER BY f.DistributorID",
    ),
};

/// The coordinate checks, in report order.
pub static CHECKS: &[Check] = &[
    STOPS_WITHOUT_COORDINATES,
    by_reason(
        "coordinates_not_found",
        "not_found",
        "stops whose CustNo is in neither customer nor prospective: no coordinates to look up",
    ),
    by_reason(
        "coordinates_null",
        "null",
        "stops whose latitude or longitude is NULL",
    ),
    by_reason(
        "coordinates_non_finite",
        "non_finite",
        "stops whose latitude or longitude is NaN or infinite",
    ),
    by_reason(
        "coordinates_zero",
        "zero",
        "stops whose latitude or longitude is exactly 0",
    ),
    by_reason(
        "coordinates_swapped",
        "swapped",
        "stops whose latitude and longitude look swapped (inside the Philippines the other way round; not repaired)",
    ),
    by_reason(
        "coordinates_outside",
        "outside",
        "stops outside the service box (latitude 4.0 to 21.5, longitude 116.0 to 127.0)",
    ),
    ROUTES_DEPOT_FALLBACK,
    DISTRIBUTORS_WITHOUT_LOCATION,
];

#[cfg(test)]
mod tests {
    use crate::plan::geo::CoordIssue;

    /// Every reason the plan can give has its check, under the key `coordinates_<reason>`.
    #[test]
    fn every_reason_has_a_check() {
        for reason in CoordIssue::ALL {
            let key = format!("coordinates_{}", reason.as_str());
            let check = super::CHECKS.iter().find(|c| c.key == key);
            assert!(
                matches!(check.map(|c| c.param), Some(super::Param::Text(r)) if r == reason.as_str()),
                "{key}"
            );
        }
    }
}
