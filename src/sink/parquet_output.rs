//! A Parquet dataset directory as a run's output: `<output>/<Table>/part-NNNNN.parquet`, written by
//! [`ParquetDatasetSink`], one manifest partition per file.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::dataframe::DataFrame;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use super::output::{Output, Written};
use super::parquet::ParquetDatasetSink;
use super::write_through;
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
    pub fn new(location: Location, concurrency: usize) -> Self {
        Self {
            location,
            concurrency,
        }
    }
}

#[async_trait]
impl Output for ParquetOutput {
    fn display(&self) -> String {
        self.location.display.clone()
    }

    fn files(&self) -> Option<&Location> {
        Some(&self.location)
    }

    async fn write(&self, ctx: &SessionContext, table: &str, result: DataFrame) -> Result<Written> {
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
