//! A batch run's output: where its result table goes. The run opens it before any work starts (so a
//! bad location or connection string fails at once), has it write the result at the end, and puts
//! what it reports into the run summary and the snapshot manifest.

use async_trait::async_trait;
use datafusion::dataframe::DataFrame;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use crate::snapshot::manifest::{PartitionOutcome, SinkReport};
use crate::source::location::Location;
use crate::summary::{SinkSummary, Truncations};

/// Where a batch run writes its result table. Each output builds its own `DataSink`, writes through
/// it ([`super::write_through`]) and says what the sink did.
#[async_trait]
pub trait Output: Send + Sync {
    /// Where the result goes, for people and logs: a path, or `mssql <server>/<database>`.
    fn display(&self) -> String;

    /// The directory the result was written to as files, if it was: the snapshot reads the written
    /// table back from it, and the run summary is written next to it.
    fn files(&self) -> Option<&Location> {
        None
    }

    /// Writes `result` as the table `table` (the contract's plan table) and reports what it did.
    async fn write(&self, ctx: &SessionContext, table: &str, result: DataFrame) -> Result<Written>;
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
