//! The SQL Server sink: a DataFusion `DataSink` that writes the result table back in a few large
//! write units (consecutive distributors of about equal rows, one per connection, see [`units`]),
//! staged concurrently on separate pooled connections.
//!
//! Per unit, whatever the mode, the statements are a fixed handful and the rows travel by the TDS
//! bulk-load protocol ([`crate::mssql::bulk`], as `routeflow copy`'s do). Units are about as many as
//! connections, so neither the statement count nor the number of statements that read the whole
//! target grows with rows or distributors: on a plan table without an index the write reads it a
//! fixed number of times, not once per distributor.
//! - `in-place` (what the old system did, see [`in_place`]): bulk-load the unit into a session
//!   temporary table, then, one unit at a time and in one transaction under the table's exclusive
//!   lock, `UPDATE … FROM … JOIN` the `StopNo`/`custype` of existing rows (only where they differ)
//!   and `INSERT … WHERE NOT EXISTS` the added prospects. Not MERGE, which T-SQL-compatible engines
//!   other than SQL Server often lack.
//! - `table NAME` (see [`table`]): bulk-load every unit into a staging table, each in its own
//!   transaction, then swap it in for NAME (drop and `sp_rename` in one transaction): readers see
//!   the old table or the new one, never half of it.
//!
//! Values longer than their column are reported (or, with `--strict-widths`, refused) before
//! anything is written (rule 8). A unit that fails with a transient error (deadlock, lost
//! connection, timeout) is rolled back and retried with exponential backoff; the others go on.
//! Failed units' distributors are reported and the run exits 2; running again completes the job,
//! and what was written correctly is left as it is (the update touches only differing rows, the
//! insert only missing keys).
//!
//! A stop ([`Shutdown`], a signal) ends the write at a unit's edge: no unit starts staging, an
//! in-place unit staged but not applied does not apply, a unit in flight commits or rolls back as
//! it would, and `table` mode does not swap (the target keeps its old table whole). Units not
//! written are `interrupted` in the [`SinkOutcome`], not failed.

mod in_place;
mod outcome;
mod table;
mod units;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::datasource::sink::DataSink;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType};
use futures::{StreamExt, TryStreamExt};
use tiberius::error::Error as TdsError;
use tracing::{info, warn};

use crate::mssql::bulk::{self, BulkError};
use crate::mssql::catalog::validate_table_name;
use crate::mssql::conn::{Mssql, is_transient};
use crate::mssql::types::{SqlColumn, Truncation, find_column};
use crate::shutdown::Shutdown;
use crate::summary::Truncations;
use outcome::outcome_of;
pub use outcome::{FAILED, INTERRUPTED, SinkOutcome, WRITTEN};
use table::STAGING_SUFFIX;
use units::{Partition, Turns, Unit, UnitResult, full_key_mask, into_units, split_by_distributor};

/// The columns that identify a plan row: route key and store.
pub use crate::names::ROW_KEY;

/// How the result reaches SQL Server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum WriteMode {
    /// Update `StopNo`/`custype` of the plan table's rows and insert the added prospects.
    InPlace,
    /// Write the whole result into this table, replacing it atomically.
    Table(String),
}

impl WriteMode {
    /// Refuses a `table` name that is not a plain identifier (letters, digits, `_`; see
    /// [`validate_table_name`]), or a temporary table: the name is quoted into T-SQL, and a run
    /// should fail on it at once, not after reading and planning the whole month.
    pub fn check(&self) -> Result<()> {
        let Self::Table(name) = self else {
            return Ok(());
        };
        validate_table_name(name)?;
        if name.starts_with('#') {
            return Err(crate::error::bad_input(format!(
                "--write table {name}: a temporary table would vanish with the connection"
            )));
        }
        validate_table_name(&format!("{name}{STAGING_SUFFIX}")).map_err(|_| {
            crate::error::bad_input(format!(
                "--write table {name}: the name is too long for its staging table {name}{STAGING_SUFFIX}"
            ))
        })
    }
}

/// Knobs of the sink.
#[derive(Debug, Clone)]
pub struct MssqlSinkOptions {
    pub mode: WriteMode,
    /// Fail instead of truncating values longer than their column (rule 8).
    pub strict_widths: bool,
    /// Partitions written at once.
    pub concurrency: usize,
    /// Retries of a partition after a transient error.
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
}

/// Writes the plan's result to SQL Server.
pub struct MssqlSink {
    db: Arc<Mssql>,
    /// The plan table (in-place target, and where `table` mode takes column widths from).
    plan_table: String,
    schema: SchemaRef,
    options: MssqlSinkOptions,
    outcome: Mutex<SinkOutcome>,
    /// Asked for by a signal: the write stops at a unit's edge.
    shutdown: Shutdown,
}

impl fmt::Debug for MssqlSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MssqlSink({}, {:?})", self.db.target(), self.options.mode)
    }
}

impl MssqlSink {
    pub fn new(
        db: Arc<Mssql>,
        plan_table: &str,
        schema: SchemaRef,
        options: MssqlSinkOptions,
    ) -> Result<Self> {
        options.mode.check()?;
        Ok(Self {
            db,
            plan_table: plan_table.to_string(),
            schema,
            options,
            outcome: Mutex::new(SinkOutcome::default()),
            shutdown: Shutdown::new(),
        })
    }

    /// Stops writing when `shutdown` is asked for (see the module's doc); without it, never.
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    fn stop_requested(&self) -> bool {
        self.shutdown.requested().is_some()
    }

    /// What the last write did.
    pub fn outcome(&self) -> SinkOutcome {
        self.outcome.lock().expect("sink outcome").clone()
    }

    /// The target table (the plan table, or the staging table of `table` mode) and its columns,
    /// creating or completing it as the mode needs.
    async fn prepare(&self) -> Result<(String, Vec<SqlColumn>)> {
        match &self.options.mode {
            WriteMode::InPlace => self.prepare_in_place().await,
            WriteMode::Table(name) => self.prepare_staging(name).await,
        }
    }

    /// Runs statements without parameters (identifiers only, already quoted).
    async fn batch(&self, sql: &str, table: &str) -> Result<()> {
        let mut conn = self.db.get().await?;
        conn.batch(sql)
            .await
            .map_err(|e| self.db.error(Some(table), &e))?;
        Ok(())
    }

    /// The partitions to write and the rows left out: in-place, rows without a full key are not
    /// routed and stay as they are in the table (rule 1).
    fn keyed(&self, mut partitions: Vec<Partition>) -> Result<(Vec<Partition>, u64)> {
        let mut unstaged = 0u64;
        if self.options.mode == WriteMode::InPlace {
            for part in &mut partitions {
                let keyed = filter_record_batch(&part.batch, &full_key_mask(&part.batch)?)?;
                unstaged += (part.batch.num_rows() - keyed.num_rows()) as u64;
                part.batch = keyed;
            }
            partitions.retain(|p| p.batch.num_rows() > 0);
        }
        Ok((partitions, unstaged))
    }

    /// Rule 8: reports (or, strict, refuses) values longer than their column before writing any.
    /// A refusal changes nothing: the plan table's missing `custype` column is added only after this
    /// check, and `write_all` drops a refused table write's (empty) staging table.
    fn check_widths(
        &self,
        target: &str,
        columns: &[SqlColumn],
        partitions: &[Partition],
    ) -> Result<Truncations> {
        let mut report = Truncations::default();
        for part in partitions {
            let describe = |t: &Truncation| describe_truncation(target, &part.batch, t);
            bulk::check_widths(&part.batch, columns, &mut report, describe)
                .map_err(|e| crate::error::bad_input(e.to_string()))?;
        }
        if self.options.strict_widths && report.count > 0 {
            // Data the owner must fix: bad input (exit 3), refused before anything is written.
            return Err(crate::error::bad_input(format!(
                "{} value(s) do not fit their column in {target} (--strict-widths): {}",
                report.count,
                report.examples.join("; ")
            )));
        }
        for t in &report.examples {
            warn!(table = %target, "value truncated to fit: {t}");
        }
        Ok(report)
    }

    /// Writes the units, as many at once as connections.
    async fn write_units(
        &self,
        target: &str,
        columns: &[SqlColumn],
        units: Vec<Unit>,
    ) -> Vec<(Unit, Result<UnitResult>)> {
        let turns = Turns::new(units.len());
        futures::stream::iter(units)
            .map(|unit| {
                let turns = &turns;
                async move {
                    let result = self.write_unit(target, columns, &unit, turns).await;
                    (unit, result)
                }
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await
    }

    /// Writes one unit, retrying transient failures; an in-place unit applies only in its turn.
    /// Once a stop is asked for, the unit starts no attempt (and no retry): it is interrupted.
    async fn write_unit(
        &self,
        target: &str,
        columns: &[SqlColumn],
        unit: &Unit,
        turns: &Turns,
    ) -> Result<UnitResult> {
        let mut attempt = 0;
        let mut last_error = None;
        let result = loop {
            if self.stop_requested() {
                break UnitResult::interrupted(last_error);
            }
            let result = match &self.options.mode {
                WriteMode::InPlace => self.apply_in_place(target, columns, unit, turns).await,
                WriteMode::Table(_) => self.append(target, columns, unit, attempt).await,
            };
            match result {
                Ok(counts) => break counts,
                Err(e) if attempt < self.options.retries && e.transient => {
                    let wait = self.options.backoff * 2u32.saturating_pow(attempt);
                    warn!(unit = %unit.label, attempt = attempt + 1, error = %e.message, "transient failure, retrying in {wait:?}");
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        _ = self.shutdown.wait() => {}
                    }
                    last_error = Some(e.message);
                    attempt += 1;
                }
                Err(e) => {
                    break UnitResult {
                        error: Some(e.message),
                        ..Default::default()
                    };
                }
            }
        };
        // Whatever happened, the next unit may apply now.
        turns.done(unit.index);
        Ok(result)
    }
}

impl DisplayAs for MssqlSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "MssqlSink: {} {:?}", self.db.target(), self.options.mode)
    }
}

#[async_trait]
impl DataSink for MssqlSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Once a stop is asked for, nothing more is prepared or written; the data is still collected
    /// (its stages are already computed) so that the outcome lists every partition.
    async fn write_all(&self, data: SendableRecordBatchStream, _context: &Arc<TaskContext>) -> Result<u64> {
        let prepared = match self.stop_requested() {
            true => None,
            false => Some(self.prepare().await?),
        };
        let batches: Vec<RecordBatch> = data.try_collect().await?;
        let partitions = split_by_distributor(&self.schema, &batches)?;
        drop(batches);
        let (partitions, unstaged) = self.keyed(partitions)?;
        let Some((target, columns)) = prepared.filter(|_| !self.stop_requested()) else {
            info!("a stop was asked for before the write: nothing written");
            *self.outcome.lock().expect("sink outcome") = SinkOutcome::not_started(&partitions);
            return Ok(0);
        };
        let truncations = match self.check_widths(&target, &columns, &partitions) {
            Ok(truncations) => truncations,
            Err(refused) => {
                if matches!(self.options.mode, WriteMode::Table(_)) {
                    self.discard_staging(&target).await;
                }
                return Err(refused);
            }
        };
        let columns = match &self.options.mode {
            WriteMode::InPlace => self.add_custype(&target, columns).await?,
            WriteMode::Table(_) => columns,
        };

        let units = into_units(partitions, self.options.concurrency.max(1));
        info!(table = %target, units = units.len(), "writing");
        let results = self.write_units(&target, &columns, units).await;
        let (mut outcome, mut written) = outcome_of(results, truncations, unstaged)?;
        let swap = match &self.options.mode {
            WriteMode::Table(_) if self.stop_requested() => {
                warn!(table = %target, "a stop was asked for: not swapped in, the target keeps its old table");
                outcome.not_swapped();
                written = 0;
                None
            }
            WriteMode::Table(name) if outcome.unwritten().is_empty() => Some(name),
            _ => None,
        };
        *self.outcome.lock().expect("sink outcome") = outcome;
        if let Some(name) = swap {
            self.swap(name).await?;
        }
        Ok(written)
    }
}

/// A failed attempt: the message (never holding the password) and whether to retry.
#[derive(Debug)]
struct Failure {
    message: String,
    transient: bool,
}

impl Failure {
    fn other(e: DataFusionError) -> Self {
        // Failing to get a connection at all (server down, pool timeout) is worth a retry too.
        Self {
            message: crate::redact::redact(&e.to_string()),
            transient: true,
        }
    }
}

impl From<TdsError> for Failure {
    fn from(e: TdsError) -> Self {
        Self {
            transient: is_transient(&e),
            message: crate::redact::redact(&e.to_string()),
        }
    }
}

impl From<BulkError> for Failure {
    fn from(e: BulkError) -> Self {
        match e {
            BulkError::Server(e) => Self::from(e),
            // A value that does not fit stays so: no retry.
            other => Self {
                message: other.to_string(),
                transient: false,
            },
        }
    }
}

/// The table's spelling of a contract column.
fn column_name(columns: &[SqlColumn], name: &str) -> String {
    find_column(columns, name)
        .map(|c| c.name.clone())
        .unwrap_or_else(|| name.to_string())
}

/// `Name of (D001, A01, 2026-01-05, 480123): 'Sari-Sari Store…' is 23 characters, the column 15`.
fn describe_truncation(table: &str, batch: &RecordBatch, t: &Truncation) -> String {
    let key: Vec<String> = ROW_KEY
        .iter()
        .map(|k| {
            batch
                .schema()
                .index_of(k)
                .ok()
                .and_then(|i| arrow::util::display::array_value_to_string(batch.column(i), t.row).ok())
                .unwrap_or_default()
        })
        .collect();
    format!(
        "{table}.{} of ({}): {:?} is {} characters, the column {}",
        t.column,
        key.join(", "),
        t.value,
        t.length,
        t.width
    )
}
