//! A batch run's output: where its result table goes. The run opens it before any work starts (so a
//! bad location or connection string fails at once) and takes its lock (one run per target), has it
//! write the result at the end, publishes it, and puts what it reports into the run summary and the
//! snapshot manifest.

use std::time::Duration;

use async_trait::async_trait;
use datafusion::dataframe::DataFrame;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::shutdown::Shutdown;

use crate::snapshot::manifest::{PartitionOutcome, SinkReport};
use crate::source::location::Location;
use crate::summary::{SinkSummary, Truncations};

/// Where a batch run writes its result table. Each output builds its own `DataSink`, writes through
/// it ([`super::write_through`]) and says what the sink did.
#[async_trait]
pub trait Output: Send + Sync {
    /// Where the result goes, for people and logs: a path, or `mssql <server>/<database>`.
    fn display(&self) -> String;

    /// Takes the target's lock for this run, waiting up to `wait` for another run to release it;
    /// [`crate::error::Error::TargetBusy`] (naming the holder) if it does not. Held until released.
    async fn lock(&self, owner: &RunOwner, wait: Duration) -> Result<Box<dyn TargetLock>>;

    /// The directory the result is written to as files, if it is: the snapshot reads the written
    /// table back from it. Readers see it only once [`Output::publish`] has run.
    fn files(&self) -> Option<&Location> {
        None
    }

    /// Writes `result` as the table `table` (the contract's plan table) and reports what it did.
    /// Once `shutdown` is asked for, no new partition starts; those in flight commit or roll back.
    async fn write(
        &self,
        ctx: &SessionContext,
        table: &str,
        result: DataFrame,
        shutdown: &Shutdown,
    ) -> Result<Written>;

    /// Makes the written result, with `summary` (`run_summary.json`) beside it, what readers see, in
    /// one step. SQL Server output is visible once written: nothing to do.
    async fn publish(&self, _summary: &[u8]) -> Result<()> {
        Ok(())
    }
}

/// A run's hold on its target; another run cannot write there until it is released (or its owner is
/// gone: a dead process's lock is taken over, a lost session's released by the server).
#[async_trait]
pub trait TargetLock: Send + Sync {
    async fn release(self: Box<Self>) -> Result<()>;
}

/// Who is running: kept in a file lock, named when another run finds the target busy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOwner {
    pub run_id: String,
    pub host: String,
    pub pid: u32,
    /// RFC 3339, UTC.
    pub started_at: String,
}

impl RunOwner {
    /// This process, running `run_id` since `started_at`.
    pub fn this_process(run_id: &str, started_at: &str) -> Self {
        Self {
            run_id: run_id.to_string(),
            host: host_name(),
            pid: std::process::id(),
            started_at: started_at.to_string(),
        }
    }
}

impl std::fmt::Display for RunOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run {} (host {}, pid {}, started {})",
            self.run_id, self.host, self.pid, self.started_at
        )
    }
}

/// This machine's name (Linux: the kernel's hostname), or `unknown`.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// What an output's write did.
#[derive(Debug, Clone)]
pub struct Written {
    /// Rows the sink reported writing.
    pub rows: u64,
    /// The manifest's name for this kind of sink (`parquet`, `mssql`).
    pub kind: &'static str,
    /// What happened to each partition (a file, or a distributor's rows).
    pub partitions: Vec<PartitionOutcome>,
    /// The summary's account of the SQL Server write; `None` for files.
    pub sink: Option<SinkSummary>,
    /// Values cut to fit a column; files have no widths, so none.
    pub truncations: Truncations,
}

impl Written {
    /// Whether some partitions failed, so fewer rows were written than the plan holds.
    pub fn partial(&self) -> bool {
        self.sink.as_ref().is_some_and(|s| !s.failed.is_empty())
    }

    /// The manifest's sink report; `target` is the output's (redacted) display.
    pub fn report(&self, target: String) -> SinkReport {
        SinkReport {
            kind: self.kind.into(),
            target,
            partitions: self.partitions.clone(),
        }
    }
}
