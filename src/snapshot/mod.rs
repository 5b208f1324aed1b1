//! Audit snapshots: exactly what a run read and wrote, as Parquet, with a manifest to check it by.
//!
//! ```text
//! <snapshot-dir>/run_id=20261130T020000.000Z-3fa2c1/
//!   input/<Table>/part-NNNNN.parquet           the five tables as read (after filters)
//!   output/MonthlyRoutePlan_temp/DistributorID=<id>/part-NNNNN.parquet
//!   output/route_summary/part-00000.parquet    one row per route: stops, added, km
//!   manifest.json                              written last: no manifest, no finished snapshot
//! ```
//!
//! An `input/` directory is itself a valid `--input`, so a run can be replayed from its snapshot.

pub mod diff;
pub mod manifest;
pub mod store;
pub mod write;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{SystemTime, UNIX_EPOCH};

use datafusion::error::Result;

pub use manifest::{Manifest, Role};
pub use store::SnapshotDir;

/// Prefix of a run's directory name (`run_id=<id>`), the Hive convention, so the whole snapshot
/// directory can be read as one dataset partitioned by run.
pub const RUN_DIR_PREFIX: &str = "run_id=";

/// A new run id: the UTC start time to the millisecond, sortable as text, and a short random suffix
/// so two runs started in the same millisecond still get different ids (`20261130T020000.000Z-3fa2c1`).
pub fn new_run_id() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let time: String = crate::summary::utc_rfc3339(now.as_secs())
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    let suffix = RandomState::new().hash_one((now.as_nanos(), std::process::id())) & 0xff_ffff;
    format!("{time}.{:03}Z-{suffix:06x}", now.subsec_millis())
}

/// Checks that `id` has the shape [`new_run_id`] gives, so a user-supplied id can never name a path
/// outside the snapshot directory.
pub fn validate_run_id(id: &str) -> Result<()> {
    let bytes = id.as_bytes();
    let shape_ok = bytes.len() == 27
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && bytes[8] == b'T'
        && bytes[9..15].iter().all(u8::is_ascii_digit)
        && bytes[15] == b'.'
        && bytes[16..19].iter().all(u8::is_ascii_digit)
        && bytes[19] == b'Z'
        && bytes[20] == b'-'
        && bytes[21..].iter().all(|b| b.is_ascii_hexdigit());
    if shape_ok {
        Ok(())
    } else {
        Err(crate::error::bad_input(format!(
            "'{id}' is not a run id (expected the form 20261130T020000.000Z-3fa2c1; see `routeflow snapshots list`)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_valid_sortable_and_distinct() {
        let a = new_run_id();
        let b = new_run_id();
        validate_run_id(&a).unwrap();
        assert_ne!(a, b);
        assert!(a[..20] <= b[..20], "ids sort by start time: {a} then {b}");
    }

    #[test]
    fn odd_run_ids_are_refused() {
        for bad in [
            "",
            "../etc",
            "20261130T020000.000Z-3fa2c",
            "20261130T020000.000Z/3fa2c1",
            "20261130T020000Z-3fa2c1",
            "latest",
        ] {
            assert!(validate_run_id(bad).is_err(), "{bad}");
        }
        validate_run_id("20261130T020000.000Z-3fa2c1").unwrap();
    }
}
