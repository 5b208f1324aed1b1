//! SQL Server as a run's output: the result written by [`MssqlSink`] (in place, or into a table of
//! its own), one manifest partition per distributor, and the rows updated, inserted and cut for the
//! summary.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::dataframe::DataFrame;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use super::mssql::{MssqlSink, MssqlSinkOptions};
use super::output::{Output, RunOwner, TargetLock, Written};
use super::write_through;
use crate::mssql::conn::Mssql;
use crate::shutdown::Shutdown;
use crate::snapshot::manifest::PartitionOutcome;
use crate::summary::SinkSummary;

/// The database of `--output mssql`.
pub struct MssqlOutput {
    db: Arc<Mssql>,
    options: MssqlSinkOptions,
}

impl MssqlOutput {
    pub fn new(db: Arc<Mssql>, options: MssqlSinkOptions) -> Self {
        Self { db, options }
    }
}

/// Placeholder until the application lock lands.
struct Unlocked;

#[async_trait]
impl TargetLock for Unlocked {
    async fn release(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Output for MssqlOutput {
    fn display(&self) -> String {
        format!("mssql {}", self.db.target())
    }

    async fn lock(&self, _owner: &RunOwner, _wait: Duration) -> Result<Box<dyn TargetLock>> {
        Ok(Box::new(Unlocked))
    }

    async fn write(
        &self,
        ctx: &SessionContext,
        table: &str,
        result: DataFrame,
        _shutdown: &Shutdown,
    ) -> Result<Written> {
        let schema = result.schema().inner().clone();
        let sink = Arc::new(MssqlSink::new(
            Arc::clone(&self.db),
            table,
            schema,
            self.options.clone(),
        )?);
        let rows = write_through(ctx, super::OUTPUT_TABLE, Arc::clone(&sink) as _, result).await?;
        let outcome = sink.outcome();
        let failed: Vec<PartitionOutcome> = outcome.failed().into_iter().cloned().collect();
        let summary = SinkSummary {
            mode: self.options.mode.clone(),
            partitions: outcome.partitions.len() as u64,
            failed,
            rows_updated: outcome.updated,
            rows_inserted: outcome.inserted,
        };
        Ok(Written {
            rows,
            kind: "mssql",
            partitions: outcome.partitions,
            sink: Some(summary),
            truncations: outcome.truncations,
        })
    }
}
