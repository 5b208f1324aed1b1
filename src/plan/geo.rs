//! Coordinate rules of the contract (rule 2) and the scalar UDFs the SQL stages call:
//! `haversine_km(lat1, lon1, lat2, lon2)` and `coord_issue(lat, lon)`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, StringArray};
use arrow::datatypes::{DataType, Float64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

pub use super::tsp::haversine_km;

/// The service box: the Philippines, bounds inclusive.
pub const LAT_MIN: f64 = 4.0;
pub const LAT_MAX: f64 = 21.5;
pub const LON_MIN: f64 = 116.0;
pub const LON_MAX: f64 = 127.0;

/// Depot when neither an override nor a valid distributor location exists: Manila.
pub const MANILA: (f64, f64) = (14.5995, 120.9842);

/// Why a stop has no usable coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CoordIssue {
    /// Neither a customer nor a prospect: nothing to look up.
    NotFound,
    /// Latitude or longitude is NULL.
    Null,
    /// NaN or infinite.
    NonFinite,
    /// Latitude or longitude is exactly 0.
    Zero,
    /// Inside the box if latitude and longitude were swapped (reported, never repaired).
    Swapped,
    /// Outside the service box.
    Outside,
}

impl CoordIssue {
    pub const ALL: [CoordIssue; 6] = [
        CoordIssue::NotFound,
        CoordIssue::Null,
        CoordIssue::NonFinite,
        CoordIssue::Zero,
        CoordIssue::Swapped,
        CoordIssue::Outside,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CoordIssue::NotFound => "not_found",
            CoordIssue::Null => "null",
            CoordIssue::NonFinite => "non_finite",
            CoordIssue::Zero => "zero",
            CoordIssue::Swapped => "swapped",
            CoordIssue::Outside => "outside",
        }
    }
}

fn in_box(lat: f64, lon: f64) -> bool {
    (LAT_MIN..=LAT_MAX).contains(&lat) && (LON_MIN..=LON_MAX).contains(&lon)
}

/// Checks a coordinate pair; `None` means valid.
pub fn coord_issue(lat: Option<f64>, lon: Option<f64>) -> Option<CoordIssue> {
    let (Some(lat), Some(lon)) = (lat, lon) else {
        return Some(CoordIssue::Null);
    };
    if !lat.is_finite() || !lon.is_finite() {
        Some(CoordIssue::NonFinite)
    } else if lat == 0.0 || lon == 0.0 {
        Some(CoordIssue::Zero)
    } else if in_box(lat, lon) {
        None
    } else if in_box(lon, lat) {
        Some(CoordIssue::Swapped)
    } else {
        Some(CoordIssue::Outside)
    }
}

/// True when the pair is usable.
pub fn valid(lat: Option<f64>, lon: Option<f64>) -> bool {
    coord_issue(lat, lon).is_none()
}

/// All the UDFs of this module, for registration.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::from(GeoUdf::new(GeoFn::Haversine)),
        ScalarUDF::from(GeoUdf::new(GeoFn::CoordIssue)),
    ]
}

/// The SQL functions of this module. Both take DOUBLE arguments only, so one `ScalarUDFImpl` serves
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum GeoFn {
    /// `haversine_km(lat1, lon1, lat2, lon2)`: great-circle distance, NULL when any input is NULL.
    Haversine,
    /// `coord_issue(lat, lon)`: NULL for a valid pair, else `null`, `non_finite`, `zero`, `swapped` or
    /// `outside` (rule 2). `not_found` is decided by the lookup, not here.
    CoordIssue,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct GeoUdf {
    function: GeoFn,
    signature: Signature,
}

impl GeoUdf {
    fn new(function: GeoFn) -> Self {
        let arguments = match function {
            GeoFn::Haversine => 4,
            GeoFn::CoordIssue => 2,
        };
        Self {
            function,
            signature: Signature::exact(vec![DataType::Float64; arguments], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for GeoUdf {
    fn name(&self) -> &str {
        match self.function {
            GeoFn::Haversine => "haversine_km",
            GeoFn::CoordIssue => "coord_issue",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.function {
            GeoFn::Haversine => DataType::Float64,
            GeoFn::CoordIssue => DataType::Utf8,
        })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let out: ArrayRef = match self.function {
            GeoFn::Haversine => Arc::new(haversine_column(&arrays, args.number_rows)),
            GeoFn::CoordIssue => Arc::new(coord_issue_column(&arrays, args.number_rows)),
        };
        Ok(ColumnarValue::Array(out))
    }
}

fn haversine_column(arrays: &[ArrayRef], rows: usize) -> Float64Array {
    let a: Vec<&Float64Array> = arrays.iter().map(|a| a.as_primitive::<Float64Type>()).collect();
    (0..rows)
        .map(|i| {
            if a.iter().any(|x| x.is_null(i)) {
                None
            } else {
                Some(haversine_km(
                    a[0].value(i),
                    a[1].value(i),
                    a[2].value(i),
                    a[3].value(i),
                ))
            }
        })
        .collect()
}

fn coord_issue_column(arrays: &[ArrayRef], rows: usize) -> StringArray {
    let lat = arrays[0].as_primitive::<Float64Type>();
    let lon = arrays[1].as_primitive::<Float64Type>();
    let opt = |a: &Float64Array, i: usize| a.is_valid(i).then(|| a.value(i));
    (0..rows)
        .map(|i| coord_issue(opt(lat, i), opt(lon, i)).map(CoordIssue::as_str))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert_eq!(coord_issue(Some(14.6), Some(121.0)), None);
        assert_eq!(coord_issue(None, Some(121.0)), Some(CoordIssue::Null));
        assert_eq!(
            coord_issue(Some(f64::NAN), Some(121.0)),
            Some(CoordIssue::NonFinite)
        );
        assert_eq!(coord_issue(Some(0.0), Some(121.0)), Some(CoordIssue::Zero));
        assert_eq!(coord_issue(Some(121.0), Some(14.6)), Some(CoordIssue::Swapped));
        assert_eq!(coord_issue(Some(35.0), Some(139.0)), Some(CoordIssue::Outside));
    }

    #[test]
    fn box_bounds_are_inclusive() {
        assert!(valid(Some(4.0), Some(116.0)));
        assert!(valid(Some(21.5), Some(127.0)));
        assert!(!valid(Some(21.500001), Some(127.0)));
    }
}
