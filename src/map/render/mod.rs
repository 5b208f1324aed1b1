//! Renders sequenced routes so people can check them: GeoJSON for GIS tools, SVG and
//! PNG for reports, and one offline HTML page for review. Nothing here reads data: the
//! caller ([`super`]) gives the routes.
//!
//! Every renderer is a pure function of the routes, so the same input gives the same
//! bytes and outputs can be diffed or cached.

mod font;
mod geojson;
mod html;
mod layout;
mod png;
mod svg;
mod territory;

pub use geojson::geojson;
pub use html::html;
pub use html::{HtmlOptions, Tiles};
pub use png::png;
pub use svg::svg;

use std::cmp::Ordering;

/// One planned visit as the map needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapStop {
    pub cust_no: String,
    pub name: Option<String>,
    /// "customer" | "prospect" | "unknown" | None.
    pub custype: Option<String>,
    /// 1..N along the path; >= 100 means the sequencer had no coordinates for it.
    pub stop_no: Option<i32>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// A prospect added by this run, drawn differently so reviewers notice it.
    pub added: bool,
}

/// One agent's day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapRoute {
    pub distributor_id: String,
    pub agent_id: String,
    /// ISO date, e.g. "2026-12-01".
    pub route_date: String,
    /// (lat, lon) where the path starts.
    pub depot: (f64, f64),
    /// Any order; the path is the stops with coordinates sorted by `stop_no`.
    pub stops: Vec<MapStop>,
}

/// Mean Earth radius used for all distances, so km figures match the sequencer's.
pub(crate) const EARTH_RADIUS_KM: f64 = 6371.0;

/// A usable WGS84 position; (0, 0) is treated as missing because source systems use it
/// as a placeholder and it would stretch the map across the globe.
pub(crate) fn valid_point(lat: f64, lon: f64) -> bool {
    lat.is_finite()
        && lon.is_finite()
        && lat.abs() <= 90.0
        && lon.abs() <= 180.0
        && !(lat == 0.0 && lon == 0.0)
}

/// Great-circle distance between two (lat, lon) points in km: the sequencer's own formula.
pub(crate) fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    crate::plan::tsp::haversine_km(a.0, a.1, b.0, b.1)
}

/// How a stop is marked on every renderer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MarkKind {
    Customer,
    Added,
    Other,
}

impl MapStop {
    /// Where the stop is drawn, or None when it stays off the map (a stop without valid
    /// coordinates; its StopNo is then 100 or more, but long routes reach 100 with real stops).
    pub(crate) fn position(&self) -> Option<(f64, f64)> {
        match (self.lat, self.lon) {
            (Some(lat), Some(lon)) if valid_point(lat, lon) => Some((lat, lon)),
            _ => None,
        }
    }

    /// Added prospects win over the customer type: they are what a reviewer must check.
    pub(crate) fn mark(&self) -> MarkKind {
        if self.added {
            MarkKind::Added
        } else if self
            .custype
            .as_deref()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("customer"))
        {
            MarkKind::Customer
        } else {
            MarkKind::Other
        }
    }
}

/// Visiting order: by stop number (missing last), then customer number so ties are stable.
pub(crate) fn stop_order(a: &MapStop, b: &MapStop) -> Ordering {
    (a.stop_no.unwrap_or(i32::MAX), &a.cust_no).cmp(&(b.stop_no.unwrap_or(i32::MAX), &b.cust_no))
}

impl MapRoute {
    /// The depot if it can be drawn.
    pub(crate) fn depot_point(&self) -> Option<(f64, f64)> {
        valid_point(self.depot.0, self.depot.1).then_some(self.depot)
    }

    /// All stops in visiting order (unplaced ones at the end), as tables list them.
    pub(crate) fn sorted_stops(&self) -> Vec<&MapStop> {
        let mut v: Vec<&MapStop> = self.stops.iter().collect();
        v.sort_by(|a, b| stop_order(a, b));
        v
    }

    /// Stops drawn on the path, in visiting order, with their positions.
    pub(crate) fn path_stops(&self) -> Vec<(&MapStop, (f64, f64))> {
        self.sorted_stops()
            .into_iter()
            .filter_map(|s| s.position().map(|p| (s, p)))
            .collect()
    }

    /// The drawn path as (lat, lon): the depot, then the placed stops.
    pub(crate) fn path(&self) -> Vec<(f64, f64)> {
        self.depot_point()
            .into_iter()
            .chain(self.path_stops().into_iter().map(|(_, p)| p))
            .collect()
    }

    /// Path length in km, rounded to metres so output is stable across platforms.
    pub(crate) fn km(&self) -> f64 {
        let km: f64 = self.path().windows(2).map(|w| haversine_km(w[0], w[1])).sum();
        (km * 1000.0).round() / 1000.0
    }
}

#[cfg(test)]
pub(crate) mod testdata {
    use super::*;

    pub fn stop(cust: &str, no: Option<i32>, ll: Option<(f64, f64)>, ty: &str) -> MapStop {
        MapStop {
            cust_no: cust.to_string(),
            name: Some(format!("Store {cust}")),
            custype: Some(ty.to_string()),
            stop_no: no,
            lat: ll.map(|p| p.0),
            lon: ll.map(|p| p.1),
            added: false,
        }
    }

    /// A route of distributor D01, from its depot in Quezon City.
    fn route(agent: &str, date: &str, stops: Vec<MapStop>) -> MapRoute {
        MapRoute {
            distributor_id: "D01".into(),
            agent_id: agent.into(),
            route_date: date.into(),
            depot: (14.6500, 121.0300),
            stops,
        }
    }

    /// Two routes around Quezon City, stops deliberately out of order, one unplaced
    /// stop and one added prospect with markup in its name.
    pub fn routes() -> Vec<MapRoute> {
        let mut added = stop("P900", Some(3), Some((14.6400, 121.0500)), "prospect");
        added.added = true;
        added.name = Some("Sari-sari <&> \"Aling\" </script> Ñora".to_string());
        vec![
            route(
                "A7",
                "2026-12-01",
                vec![
                    stop("C002", Some(2), Some((14.6600, 121.0450)), "customer"),
                    added,
                    stop("C001", Some(1), Some((14.6550, 121.0380)), "customer"),
                    stop("C404", Some(100), None, "customer"),
                    stop("U010", Some(4), Some((14.6300, 121.0420)), "unknown"),
                ],
            ),
            route(
                "B2",
                "2026-12-02",
                vec![
                    stop("C101", Some(1), Some((14.6700, 121.0200)), "customer"),
                    stop("C102", Some(2), Some((14.6800, 121.0100)), "customer"),
                ],
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::*;
    use super::*;

    #[test]
    fn haversine_matches_known_distance() {
        // One degree of latitude on a 6371 km sphere.
        let d = haversine_km((14.0, 121.0), (15.0, 121.0));
        assert!((d - 111.195).abs() < 0.01, "{d}");
    }

    #[test]
    fn path_starts_at_depot_and_follows_stop_no() {
        let r = &routes()[0];
        let p = r.path();
        assert_eq!(p[0], r.depot);
        let order: Vec<&str> = r.path_stops().iter().map(|(s, _)| s.cust_no.as_str()).collect();
        assert_eq!(order, ["C001", "C002", "P900", "U010"]);
    }

    #[test]
    fn placeholder_and_unplaced_positions_are_skipped() {
        let mut s = stop("X", Some(1), Some((0.0, 0.0)), "customer");
        assert_eq!(s.position(), None);
        s.lat = Some(14.0);
        s.lon = Some(121.0);
        assert!(s.position().is_some());
        s.stop_no = Some(150);
        assert!(s.position().is_some(), "a long route's 150th stop is drawn");
        s.lat = None;
        assert_eq!(s.position(), None);
        s.lat = Some(f64::NAN);
        assert_eq!(s.position(), None);
    }

    #[test]
    fn marks_follow_type_and_added_flag() {
        let r = &routes()[0];
        let kinds: Vec<MarkKind> = r.sorted_stops().iter().map(|s| s.mark()).collect();
        use MarkKind::*;
        assert_eq!(kinds, [Customer, Customer, Added, Other, Customer]);
    }
}
