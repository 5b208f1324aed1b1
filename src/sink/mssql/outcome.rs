//! What the sink did, distributor by distributor: `written`, `failed` (a re-run completes it) or
//! `interrupted` (a stop was asked for before it was written; not a failure). The run's summary,
//! its interrupted report and the manifest list these.

use datafusion::error::Result;
use tracing::warn;

use super::units::{Partition, Unit, UnitResult};
use crate::snapshot::manifest::PartitionOutcome;
use crate::summary::Truncations;

pub const WRITTEN: &str = "written";
pub const FAILED: &str = "failed";
pub const INTERRUPTED: &str = "interrupted";

/// What the sink did, for the run summary and the manifest.
#[derive(Debug, Clone, Default)]
pub struct SinkOutcome {
    pub partitions: Vec<PartitionOutcome>,
    pub truncations: Truncations,
    /// Existing rows whose `StopNo` or `custype` changed (in-place).
    pub updated: u64,
    /// Rows inserted: added prospects (in-place) or every row (table).
    pub inserted: u64,
}

impl SinkOutcome {
    /// Partitions that failed (a re-run completes them).
    pub fn failed(&self) -> Vec<&PartitionOutcome> {
        self.with_status(FAILED)
    }

    /// Partitions a stop kept from being written.
    pub fn interrupted(&self) -> Vec<&PartitionOutcome> {
        self.with_status(INTERRUPTED)
    }

    /// Partitions not written, failed or interrupted.
    pub fn unwritten(&self) -> Vec<&PartitionOutcome> {
        self.partitions.iter().filter(|p| p.status != WRITTEN).collect()
    }

    fn with_status(&self, status: &str) -> Vec<&PartitionOutcome> {
        self.partitions.iter().filter(|p| p.status == status).collect()
    }

    /// A write a stop kept from starting: every partition interrupted, nothing touched.
    pub(super) fn not_started(partitions: &[Partition]) -> Self {
        let mut partitions: Vec<PartitionOutcome> = partitions
            .iter()
            .map(|p| PartitionOutcome {
                partition: p.label.clone(),
                status: INTERRUPTED.into(),
                rows: p.batch.num_rows() as u64,
                error: None,
            })
            .collect();
        partitions.sort_by(|a, b| a.partition.cmp(&b.partition));
        Self {
            partitions,
            ..Default::default()
        }
    }

    /// `table` mode stopped before the swap: the staged partitions never reached the target, which
    /// keeps its old table whole, so none of them counts as written.
    pub(super) fn not_swapped(&mut self) {
        for p in &mut self.partitions {
            if p.status == WRITTEN {
                p.status = INTERRUPTED.into();
            }
        }
        self.inserted = 0;
    }
}

/// What the units did, partition by partition, and the rows written (counting those left out,
/// which stay as they are).
pub(super) fn outcome_of(
    results: Vec<(Unit, Result<UnitResult>)>,
    truncations: Truncations,
    unstaged: u64,
) -> Result<(SinkOutcome, u64)> {
    let mut outcome = SinkOutcome {
        truncations,
        ..Default::default()
    };
    let mut written = unstaged;
    for (unit, result) in results {
        let result = result?;
        let status = match (&result.error, result.interrupted) {
            (_, true) => INTERRUPTED,
            (Some(e), false) => {
                warn!(unit = %unit.label, error = %e, "write unit failed");
                FAILED
            }
            (None, false) => {
                written += unit.rows();
                WRITTEN
            }
        };
        outcome.updated += result.updated;
        outcome.inserted += result.inserted;
        for (label, rows) in unit.partitions {
            outcome.partitions.push(PartitionOutcome {
                partition: label,
                status: status.into(),
                rows,
                error: result.error.clone(),
            });
        }
    }
    outcome.partitions.sort_by(|a, b| a.partition.cmp(&b.partition));
    Ok((outcome, written))
}
