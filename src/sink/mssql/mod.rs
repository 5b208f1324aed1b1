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

mod in_place;
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
use crate::snapshot::manifest::PartitionOutcome;
use crate::summary::Truncations;
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
    pub fn failed(&self) -> Vec<&PartitionOutcome> {
        self.partitions.iter().filter(|p| p.status != "written").collect()
    }
}

/// Writes the plan's result to SQL Server.
pub struct MssqlSink {
    db: Arc<Mssql>,
    /// The plan table (in-place target, and where `table` mode takes column widths from).
    plan_table: String,
    schema: SchemaRef,
    options: MssqlSinkOptions,
    outcome: Mutex<SinkOutcome>,
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
        if let WriteMode::Table(name) = &options.mode {
            validate_table_name(name)?;
            validate_table_name(&format!("{name}{STAGING_SUFFIX}"))?;
            if name.starts_with('#') {
                return Err(crate::error::bad_input(format!(
                    "--write table {name}: a temporary table would vanish with the connection"
                )));
            }
        }
        Ok(Self {
            db,
            plan_table: plan_table.to_string(),
            schema,
            options,
            outcome: Mutex::new(SinkOutcome::default()),
        })
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
            return Err(DataFusionError::Execution(format!(
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
    async fn write_unit(
        &self,
        target: &str,
        columns: &[SqlColumn],
        unit: &Unit,
        turns: &Turns,
    ) -> Result<UnitResult> {
        let mut attempt = 0;
        let result = loop {
            let result = match &self.options.mode {
                WriteMode::InPlace => self.apply_in_place(target, columns, unit, turns).await,
                WriteMode::Table(_) => self.append(target, columns, unit, attempt).await,
            };
            match result {
                Ok(counts) => break counts,
                Err(e) if attempt < self.options.retries && e.transient => {
                    let wait = self.options.backoff * 2u32.saturating_pow(attempt);
                    warn!(unit = %unit.label, attempt = attempt + 1, error = %e.message, "transient failure, retrying in {wait:?}");
                    tokio::time::sleep(wait).await;
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

    async fn write_all(&self, data: SendableRecordBatchStream, _context: &Arc<TaskContext>) -> Result<u64> {
        let (target, columns) = self.prepare().await?;
        let batches: Vec<RecordBatch> = data.try_collect().await?;
        let partitions = split_by_distributor(&self.schema, &batches)?;
        drop(batches);
        let (partitions, unstaged) = self.keyed(partitions)?;
        let truncations = self.check_widths(&target, &columns, &partitions)?;

        let units = into_units(partitions, self.options.concurrency.max(1));
        info!(table = %target, units = units.len(), "writing");
        let results = self.write_units(&target, &columns, units).await;
        let (outcome, written) = outcome_of(results, truncations, unstaged)?;
        let all_written = outcome.failed().is_empty();
        *self.outcome.lock().expect("sink outcome") = outcome;
        if let (true, WriteMode::Table(name)) = (all_written, &self.options.mode) {
            self.swap(name).await?;
        }
        Ok(written)
    }
}

/// What the units did, partition by partition, and the rows written (counting those left out,
/// which stay as they are).
fn outcome_of(
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
        if let Some(e) = &result.error {
            warn!(unit = %unit.label, error = %e, "write unit failed");
        } else {
            written += unit.rows();
        }
        outcome.updated += result.updated;
        outcome.inserted += result.inserted;
        let status = if result.error.is_some() {
            "failed"
        } else {
            "written"
        };
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
