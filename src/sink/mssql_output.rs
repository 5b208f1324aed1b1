//! SQL Server as a run's output: the result written by [`MssqlSink`] (in place, or into a table of
//! its own), one manifest partition per distributor, and the rows updated, inserted and cut for the
//! summary. One run at a time per target table: the run holds an application lock on it
//! ([`AppLock`]) from open to end, and checks it still does right before writing.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::dataframe::DataFrame;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use tokio::sync::Mutex;

use super::mssql::{MssqlSink, MssqlSinkOptions, WriteMode};
use super::output::{Output, RunOwner, TargetLock, Written};
use super::write_through;
use crate::mssql::applock::AppLock;
use crate::mssql::conn::Mssql;
use crate::schema::ROUTE_PLAN;
use crate::shutdown::Shutdown;
use crate::snapshot::manifest::PartitionOutcome;
use crate::summary::SinkSummary;

/// The database of `--output mssql`.
pub struct MssqlOutput {
    db: Arc<Mssql>,
    options: MssqlSinkOptions,
    /// The target's lock once [`Output::lock`] took it, shared with the [`TargetLock`] it returned.
    lock: Arc<Mutex<Option<AppLock>>>,
}

impl MssqlOutput {
    pub fn new(db: Arc<Mssql>, options: MssqlSinkOptions) -> Self {
        Self {
            db,
            options,
            lock: Arc::default(),
        }
    }

    /// The table this output writes: the plan table in place, or the table of `--write table`.
    pub fn target_table(&self) -> &str {
        match &self.options.mode {
            WriteMode::InPlace => ROUTE_PLAN,
            WriteMode::Table(name) => name,
        }
    }

    /// Fails unless the run still holds the lock it took (its connection may have dropped, and
    /// another run may be writing now). A write that never took one is not checked.
    async fn check_lock(&self) -> Result<()> {
        let mut lock = self.lock.lock().await;
        let Some(held) = lock.as_mut() else {
            return Ok(());
        };
        if held.still_held().await {
            return Ok(());
        }
        Err(DataFusionError::Execution(format!(
            "SQL Server {}: the run lost its lock {} (its connection dropped); nothing written, \
             as another run may be writing the same table",
            self.db.target(),
            held.resource()
        )))
    }
}

/// The name the lock's connection shows the server (`program_name`): which run holds the target.
pub fn program_name(owner: &RunOwner) -> String {
    format!(
        "routeflow run {} pid {} host {}",
        owner.run_id, owner.pid, owner.host
    )
}

/// The run's hold on the target: released (and its connection closed) when the run ends.
struct HeldLock(Arc<Mutex<Option<AppLock>>>);

#[async_trait]
impl TargetLock for HeldLock {
    async fn release(self: Box<Self>) -> Result<()> {
        match self.0.lock().await.take() {
            Some(lock) => lock.release().await,
            None => Ok(()),
        }
    }
}

#[async_trait]
impl Output for MssqlOutput {
    fn display(&self) -> String {
        format!("mssql {}", self.db.target())
    }

    async fn lock(&self, owner: &RunOwner, wait: Duration) -> Result<Box<dyn TargetLock>> {
        let held = AppLock::acquire(&self.db, self.target_table(), &program_name(owner), wait).await?;
        *self.lock.lock().await = Some(held);
        Ok(Box::new(HeldLock(Arc::clone(&self.lock))))
    }

    async fn write(
        &self,
        ctx: &SessionContext,
        table: &str,
        result: DataFrame,
        shutdown: &Shutdown,
    ) -> Result<Written> {
        self.check_lock().await?;
        let schema = result.schema().inner().clone();
        let sink = Arc::new(
            MssqlSink::new(Arc::clone(&self.db), table, schema, self.options.clone())?
                .with_shutdown(shutdown.clone()),
        );
        let rows = write_through(ctx, super::OUTPUT_TABLE, Arc::clone(&sink) as _, result).await?;
        let outcome = sink.outcome();
        // Interrupted partitions are listed with the failed ones: either way not written, so
        // the row count cannot be held against the plan (`Written::partial`).
        let failed: Vec<PartitionOutcome> = outcome.unwritten().into_iter().cloned().collect();
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
