//! Options of the plan (the contract's bracketed defaults) and the `run_options` table that carries
//! them into the SQL stages, so no value is ever formatted into SQL text.

use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::error::Result;
use serde::Serialize;

use super::geo;
use super::sequence::SequenceMode;

/// Everything that changes what the plan computes.
#[derive(Debug, Clone, Serialize)]
pub struct PlanOptions {
    /// Routes with fewer distinct stops get prospects up to this many.
    pub target_stops: u32,
    /// Radius of the second top-up stage around the route centroid.
    pub max_distance_km: f64,
    /// StopNo for stops without coordinates (at least N + 1).
    pub no_coords_stop: i32,
    /// Depot override for every route.
    pub start: Option<(f64, f64)>,
    pub sequence: SequenceMode,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            target_stops: 60,
            max_distance_km: 5.0,
            no_coords_stop: 100,
            start: None,
            sequence: SequenceMode::Improved,
        }
    }
}

impl PlanOptions {
    /// Rejects options that cannot mean anything.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(crate::error::bad_input(m));
        if !(self.max_distance_km.is_finite() && self.max_distance_km >= 0.0) {
            return bad(format!(
                "--max-distance-km must be a number >= 0, not {}",
                self.max_distance_km
            ));
        }
        if self.no_coords_stop < 1 {
            return bad(format!(
                "--no-coords-stop must be >= 1, not {}",
                self.no_coords_stop
            ));
        }
        if let Some((lat, lon)) = self.start
            && let Some(issue) = geo::coord_issue(Some(lat), Some(lon))
        {
            return bad(format!(
                "--start-lat/--start-lon ({lat}, {lon}) are not a valid location: {}",
                issue.as_str()
            ));
        }
        Ok(())
    }

    /// The one-row `run_options` table.
    pub fn to_batch(&self) -> Result<RecordBatch> {
        let schema = Schema::new(vec![
            Field::new("target_stops", DataType::Int64, false),
            Field::new("max_distance_km", DataType::Float64, false),
            Field::new("no_coords_stop", DataType::Int64, false),
            Field::new("start_lat", DataType::Float64, true),
            Field::new("start_lon", DataType::Float64, true),
            Field::new("fallback_depot_lat", DataType::Float64, false),
            Field::new("fallback_depot_lon", DataType::Float64, false),
            Field::new("sequence", DataType::Utf8, false),
        ]);
        let sequence = match self.sequence {
            SequenceMode::Improved => "improved",
            SequenceMode::NearestNeighbor => "nearest-neighbor",
        };
        Ok(RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(vec![self.target_stops as i64])),
                Arc::new(Float64Array::from(vec![self.max_distance_km])),
                Arc::new(Int64Array::from(vec![self.no_coords_stop as i64])),
                Arc::new(Float64Array::from(vec![self.start.map(|s| s.0)])),
                Arc::new(Float64Array::from(vec![self.start.map(|s| s.1)])),
                Arc::new(Float64Array::from(vec![geo::MANILA.0])),
                Arc::new(Float64Array::from(vec![geo::MANILA.1])),
                Arc::new(StringArray::from(vec![sequence])),
            ],
        )?)
    }
}
