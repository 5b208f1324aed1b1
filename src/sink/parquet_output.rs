//! A Parquet dataset directory as a run's output: `<output>/<Table>/part-NNNNN.parquet`, written by
//! [`ParquetDatasetSink`], one manifest partition per file.

use std::sync::Arc;
use std::time::Duration;

use object_store::{ObjectStoreExt, PutPayload};

use async_trait::async_trait;
use datafusion::dataframe::DataFrame;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use super::output::{Output, RunOwner, TargetLock, Written};
use super::parquet::ParquetDatasetSink;
use super::write_through;
use crate::shutdown::Shutdown;
use crate::snapshot::manifest::PartitionOutcome;
use crate::source::location::Location;
use crate::summary::Truncations;

/// The `--output` directory (local or object store).
pub struct ParquetOutput {
    location: Location,
    /// Files encoded at once.
    concurrency: usize,
}

impl ParquetOutput {
    pub fn new(location: Location, _run_id: &str, concurrency: usize) -> Self {
        Self {
            location,
            concurrency,
        }
    }
}

/// Placeholder until the file lock lands.
struct Unlocked;

#[async_trait]
impl TargetLock for Unlocked {
    async fn release(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Output for ParquetOutput {
    fn display(&self) -> String {
        self.location.display.clone()
    }

    async fn lock(&self, _owner: &RunOwner, _wait: Duration) -> Result<Box<dyn TargetLock>> {
        Ok(Box::new(Unlocked))
    }

    fn files(&self) -> Option<&Location> {
        Some(&self.location)
    }

    async fn publish(&self, summary: &[u8]) -> Result<()> {
        let path = self.location.child(crate::run::SUMMARY_FILE);
        self.location
            .store
            .put(&path, PutPayload::from(summary.to_vec()))
            .await?;
        Ok(())
    }

    async fn write(
        &self,
        ctx: &SessionContext,
        table: &str,
        result: DataFrame,
        _shutdown: &Shutdown,
    ) -> Result<Written> {
        let schema = result.schema().inner().clone();
        let sink = Arc::new(ParquetDatasetSink::new(
            &self.location,
            table,
            schema,
            self.concurrency,
        ));
        let rows = write_through(ctx, super::OUTPUT_TABLE, Arc::clone(&sink) as _, result).await?;
        let partitions = sink
            .written_files()
            .into_iter()
            .map(|f| PartitionOutcome {
                partition: f.path,
                status: "written".into(),
                rows: f.rows,
                error: None,
            })
            .collect();
        Ok(Written {
            rows,
            kind: "parquet",
            partitions,
            sink: None,
            truncations: Truncations::default(),
        })
    }
}
