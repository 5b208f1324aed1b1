//! The sequencing operator: `sequence_stops(CustNo, lat, lon, depot_lat, depot_lon)` as a window
//! function over one route (`OVER (PARTITION BY DistributorID, AgentID, RouteDate)`).
//!
//! Why a window function: DataFusion hash-partitions the window input by the PARTITION BY keys, so
//! routes are spread over all cores with no code of ours, each evaluator call sees exactly one whole
//! route, and the result stays one column of an ordinary SQL view that analysts can query (filters on
//! the route key are pushed below the window, so one route is all that gets sequenced).
//!
//! Per row it returns a struct: the stop's `stop_no`, and the route's totals `route_km` (the chosen
//! path) and `nn_km` (the nearest-neighbour path) for the run summary.

use std::cell::RefCell;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int32Array, StructArray};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl};
use datafusion_functions_window_common::{field::WindowUDFFieldArgs, partition::PartitionEvaluatorArgs};

use super::tsp::Sequencer;

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

/// The window UDF, configured for one run.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SequenceStops {
    signature: Signature,
    mode: SequenceMode,
    no_coords_stop: i32,
}

impl SequenceStops {
    pub fn udwf(mode: SequenceMode, no_coords_stop: i32) -> WindowUDF {
        WindowUDF::from(Self {
            signature: Signature::exact(
                vec![
                    DataType::Utf8,
                    DataType::Float64,
                    DataType::Float64,
                    DataType::Float64,
                    DataType::Float64,
                ],
                Volatility::Immutable,
            ),
            mode,
            no_coords_stop,
        })
    }
}

fn result_fields() -> Fields {
    Fields::from(vec![
        Field::new("stop_no", DataType::Int32, false),
        Field::new("route_km", DataType::Float64, false),
        Field::new("nn_km", DataType::Float64, false),
    ])
}

impl WindowUDFImpl for SequenceStops {
    fn name(&self) -> &str {
        "sequence_stops"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(&self, _args: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(RouteEvaluator {
            mode: self.mode,
            no_coords_stop: self.no_coords_stop,
        }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Struct(result_fields()),
            false,
        )))
    }
}

#[derive(Debug)]
struct RouteEvaluator {
    mode: SequenceMode,
    no_coords_stop: i32,
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
    let (order, route_km, nn_km) = SEQUENCER.with(|s| {
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
    });
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

impl PartitionEvaluator for RouteEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let [cust, lat, lon, dlat, dlon] = values else {
            return Err(DataFusionError::Internal(
                "sequence_stops takes 5 arguments".into(),
            ));
        };
        let cust = cust.as_string::<i32>();
        let (lat, lon) = (
            lat.as_primitive::<Float64Type>(),
            lon.as_primitive::<Float64Type>(),
        );
        let (dlat, dlon) = (
            dlat.as_primitive::<Float64Type>(),
            dlon.as_primitive::<Float64Type>(),
        );
        let cust_no: Vec<Option<&str>> = (0..num_rows)
            .map(|i| cust.is_valid(i).then(|| cust.value(i)))
            .collect();
        let coords: Vec<Option<(f64, f64)>> = (0..num_rows)
            .map(|i| (lat.is_valid(i) && lon.is_valid(i)).then(|| (lat.value(i), lon.value(i))))
            .collect();
        let depot = (0..num_rows)
            .find(|&i| dlat.is_valid(i) && dlon.is_valid(i))
            .map(|i| (dlat.value(i), dlon.value(i)))
            .unwrap_or(super::geo::MANILA);
        let seq = sequence_route(&cust_no, &coords, depot, self.mode, self.no_coords_stop);
        crate::progress::global().add_done(1);
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(seq.stop_no)),
            Arc::new(Float64Array::from(vec![seq.route_km; num_rows])),
            Arc::new(Float64Array::from(vec![seq.nn_km; num_rows])),
        ];
        Ok(Arc::new(StructArray::try_new(result_fields(), arrays, None)?))
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
}
