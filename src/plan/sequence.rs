//! Sequencing one route: `sequence_route` turns a route's rows (CustNo and coordinates) into a StopNo
//! per row, with the route's path length for the chosen sequence and for nearest neighbour. The
//! `route_stops` table applies it to every route ([`super::sequence_exec`]).

use std::cell::RefCell;

use super::curve;
use super::tsp::Sequencer;

/// Distinct stops with coordinates above which a route is ordered along a space-filling curve
/// ([`curve`]) instead of by nearest neighbour and local search: the distance matrix grows with the
/// square of the stops (2,000 stops: 32 MB; 20,000: 3.2 GB). Real routes have 60 to a few hundred.
/// For such a route nearest neighbour is not computed either: its `nn_km` is its own length.
pub const MAX_MATRIX_STOPS: usize = 2_000;

/// How stops are ordered (rule 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SequenceMode {
    /// Nearest neighbour improved by 2-opt and Or-opt local search; never longer than nearest neighbour.
    #[default]
    Improved,
    /// The old system's path exactly: nearest stop first, then nearest unvisited (ties: lowest CustNo).
    NearestNeighbor,
}

thread_local! {
    /// Scratch space reused by every route sequenced on this thread.
    static SEQUENCER: RefCell<Sequencer> = RefCell::new(Sequencer::new());
}

/// The result of sequencing one route.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteSequence {
    /// StopNo per input row.
    pub stop_no: Vec<i32>,
    pub route_km: f64,
    pub nn_km: f64,
}

/// Sequences one route. Rows with the same `cust_no` are one stop and share a StopNo; rows without
/// coordinates get `max(no_coords_stop, N + 1)`.
pub fn sequence_route(
    cust_no: &[Option<&str>],
    coords: &[Option<(f64, f64)>],
    depot: (f64, f64),
    mode: SequenceMode,
    no_coords_stop: i32,
) -> RouteSequence {
    // Distinct stops with coordinates, in CustNo order, so ties break towards the lowest CustNo and
    // the result does not depend on the order rows arrived in.
    let mut rows: Vec<usize> = (0..cust_no.len()).filter(|&i| coords[i].is_some()).collect();
    rows.sort_by(|&a, &b| cust_no[a].cmp(&cust_no[b]).then(a.cmp(&b)));
    let mut stop_of_row = vec![usize::MAX; cust_no.len()];
    let mut points: Vec<(f64, f64)> = Vec::with_capacity(rows.len());
    let mut last: Option<Option<&str>> = None;
    for &r in &rows {
        if last != Some(cust_no[r]) {
            points.push(coords[r].expect("filtered"));
            last = Some(cust_no[r]);
        }
        stop_of_row[r] = points.len() - 1;
    }
    let (order, route_km, nn_km) = if points.len() > MAX_MATRIX_STOPS {
        let order = curve::curve_order(depot, &points);
        let km = curve::path_km(depot, &points, &order);
        (order, km, km)
    } else {
        SEQUENCER.with(|s| {
            let mut s = s.borrow_mut();
            s.load(depot, &points);
            let mut order = Vec::with_capacity(points.len());
            s.nearest_neighbor(&mut order);
            let nn_km = s.path_km(&order);
            if mode == SequenceMode::Improved {
                s.improve(&mut order);
            }
            let km = s.path_km(&order);
            (order, km, nn_km)
        })
    };
    let mut position = vec![0i32; points.len()];
    for (pos, &p) in order.iter().enumerate() {
        position[p] = pos as i32 + 1;
    }
    let no_coords = no_coords_stop.max(points.len() as i32 + 1);
    let stop_no = stop_of_row
        .iter()
        .map(|&p| if p == usize::MAX { no_coords } else { position[p] })
        .collect();
    RouteSequence {
        stop_no,
        route_km,
        nn_km,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_share_and_missing_coords_go_last() {
        let cust = [Some("B"), Some("A"), Some("B"), Some("X")];
        let coords = [
            Some((14.60, 121.00)),
            Some((14.61, 121.00)),
            Some((14.60, 121.00)),
            None,
        ];
        let seq = sequence_route(&cust, &coords, (14.59, 121.0), SequenceMode::NearestNeighbor, 100);
        assert_eq!(seq.stop_no, vec![1, 2, 1, 100]);
        let seq = sequence_route(&cust, &coords, (14.59, 121.0), SequenceMode::NearestNeighbor, 1);
        assert_eq!(seq.stop_no[3], 3, "max(no_coords_stop, N + 1)");
    }

    #[test]
    fn an_oversized_route_is_sequenced_without_a_matrix_keeping_the_stop_rules() {
        // One stop more than the matrix limit, each store twice (duplicates share their StopNo),
        // and a row without coordinates last.
        let n = MAX_MATRIX_STOPS + 1;
        let names: Vec<String> = (0..n).map(|i| format!("C{i:05}")).collect();
        let mut cust: Vec<Option<&str>> = names.iter().map(|s| Some(s.as_str())).collect();
        cust.extend(names.iter().map(|s| Some(s.as_str())));
        cust.push(Some("NOCOORD"));
        // Scattered stores: on them local search always shortens nearest neighbour's path, so equal
        // lengths show that neither ran.
        let scatter = |i: usize, salt: f64| ((i as f64 * 12.9898 + salt).sin() * 43_758.545).fract().abs();
        let point = |i: usize| Some((14.5 + scatter(i, 0.0) * 0.05, 121.0 + scatter(i, 7.0) * 0.05));
        let mut coords: Vec<Option<(f64, f64)>> = (0..n).map(point).collect();
        coords.extend((0..n).map(point));
        coords.push(None);
        let seq = sequence_route(&cust, &coords, (14.49, 120.99), SequenceMode::Improved, 100);
        let mut numbers: Vec<i32> = seq.stop_no[..n].to_vec();
        assert_eq!(
            &seq.stop_no[n..2 * n],
            &numbers[..],
            "duplicates share their StopNo"
        );
        numbers.sort_unstable();
        assert_eq!(
            numbers,
            (1..=n as i32).collect::<Vec<_>>(),
            "StopNo 1..N, each once"
        );
        assert_eq!(
            seq.stop_no[2 * n],
            n as i32 + 1,
            "no coordinates: max(no_coords_stop, N + 1)"
        );
        assert_eq!(
            seq.route_km, seq.nn_km,
            "no nearest neighbour for an oversized route"
        );
    }
}
