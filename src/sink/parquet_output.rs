//! A Parquet dataset directory as a run's output: `<output>/<Table>/part-NNNNN.parquet` and
//! `<output>/run_summary.json` as readers see them. The run writes them into a version directory of
//! its own, through [`ParquetDatasetSink`] (one manifest partition per file), and publishes it in
//! one step once the run is complete ([`super::publish`]); the output's lock is a file
//! ([`super::file_lock`]).

use std::sync::Arc;
use std::time::Duration;

use object_store::{ObjectStoreExt, PutPayload};

use async_trait::async_trait;
use datafusion::dataframe::DataFrame;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use super::file_lock;
use super::output::{Output, RunOwner, TargetLock, Written};
use super::parquet::ParquetDatasetSink;
use super::publish::Versions;
use super::write_through;
use crate::shutdown::Shutdown;
use crate::snapshot::manifest::PartitionOutcome;
use crate::source::location::Location;
use crate::summary::Truncations;

/// The `--output` directory (local or object store).
pub struct ParquetOutput {
    location: Location,
    versions: Versions,
    run_id: String,
    /// The run's version directory: written here, published from here.
    run_dir: Location,
    /// Files encoded at once.
    concurrency: usize,
}

impl ParquetOutput {
    pub fn new(location: Location, run_id: &str, concurrency: usize) -> Self {
        let versions = Versions::new(&location);
        Self {
            run_dir: versions.run_dir(run_id),
            location,
            versions,
            run_id: run_id.to_string(),
            concurrency,
        }
    }
}

#[async_trait]
impl Output for ParquetOutput {
    fn display(&self) -> String {
        self.location.display.clone()
    }

    async fn lock(&self, owner: &RunOwner, wait: Duration) -> Result<Box<dyn TargetLock>> {
        Ok(Box::new(file_lock::acquire(&self.location, owner, wait).await?))
    }

    /// The run's own version directory, which readers never see unless it is published.
    fn files(&self) -> Option<&Location> {
        Some(&self.run_dir)
    }

    async fn publish(&self, summary: &[u8]) -> Result<()> {
        let path = self.run_dir.child(crate::run::SUMMARY_FILE);
        self.run_dir
            .store
            .put(&path, PutPayload::from(summary.to_vec()))
            .await?;
        self.versions.publish(&self.run_id).await
    }

    async fn write(
        &self,
        ctx: &SessionContext,
        table: &str,
        result: DataFrame,
        shutdown: &Shutdown,
    ) -> Result<Written> {
        self.versions.prepare(&self.run_id).await?;
        let schema = result.schema().inner().clone();
        let sink = Arc::new(
            ParquetDatasetSink::new(&self.run_dir, table, schema, self.concurrency)
                .with_shutdown(shutdown.clone()),
        );
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
