//! The SQL Server sink: a DataFusion `DataSink` that writes the result table back in a few large
//! write units (consecutive distributors of about equal rows, one per connection), staged
//! concurrently on separate pooled connections.
//!
//! Per unit, whatever the mode, the statements are a fixed handful and the rows travel by the TDS
//! bulk-load protocol. Units are about as many as connections, so neither the statement count nor
//! the number of statements that read the whole target grows with rows or distributors: on a plan
//! table without an index the write reads it a fixed number of times, not once per distributor.
//! - `in-place` (what the old system did): bulk-load the unit into a session temporary table,
//!   then, one unit at a time and in one transaction under the table's exclusive lock,
//!   `UPDATE … FROM … JOIN` the `StopNo`/`custype` of existing rows (only where they differ) and
//!   `INSERT … WHERE NOT EXISTS` the added prospects. Not MERGE, which T-SQL-compatible engines
//!   other than SQL Server often lack.
//! - `table NAME`: bulk-load every unit into a staging table, each in its own transaction, then
//!   swap it in for NAME (drop and `sp_rename` in one transaction): readers see the old table or the
//!   new one, never half of it.
//!
//! A unit that fails with a transient error (deadlock, lost connection, timeout) is rolled back and
//! retried with exponential backoff; the others go on. Failed units' distributors are reported and
//! the run exits 2; running again completes the job, and what was written correctly is left as it
//! is (the update touches only differing rows, the insert only missing keys).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::compute::{and, concat_batches, filter_record_batch, is_not_null};
use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use datafusion::datasource::sink::DataSink;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType};
use futures::{StreamExt, TryStreamExt};
use tiberius::error::Error as TdsError;
use tracing::{debug, info, warn};

use crate::mssql::catalog::{self, qualified, validate_table_name};
use crate::mssql::conn::{Conn, Mssql, is_transient};
use crate::mssql::types::{
    SqlColumn, Truncation, WidthPolicy, check_widths, encode_batch, quote_ident, sql_type_for_arrow,
};
use crate::schema::{CUSTYPE, STOP_NO};
use crate::snapshot::manifest::PartitionOutcome;
use crate::summary::Truncations;

/// The columns that identify a plan row: route key and store.
pub const ROW_KEY: [&str; 4] = ["DistributorID", "AgentID", "RouteDate", "CustNo"];
/// The session temporary table a partition is staged in.
const STAGE: &str = "#rf_stage";
/// Suffix of the staging table of `--write table NAME`.
const STAGING_SUFFIX: &str = "__rf_new";
/// How many truncated values the summary quotes.
const TRUNCATION_EXAMPLES: usize = 5;

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
                return Err(DataFusionError::Plan(format!(
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
            WriteMode::InPlace => {
                let table = &self.plan_table;
                let mut columns = catalog::columns(&self.db, table).await?.ok_or_else(|| {
                    DataFusionError::Plan(format!(
                        "SQL Server {}: table {table} does not exist",
                        self.db.target()
                    ))
                })?;
                if !columns.iter().any(|c| c.name.eq_ignore_ascii_case(CUSTYPE)) {
                    let sql = format!(
                        "ALTER TABLE {} ADD {} varchar(20) NULL",
                        qualified(&self.db, table),
                        quote_ident(CUSTYPE)
                    );
                    self.batch(&sql, table).await?;
                    info!(table = %table, "added column custype varchar(20) to the plan table");
                    columns = catalog::columns(&self.db, table).await?.unwrap_or_default();
                }
                Ok((table.clone(), columns))
            }
            WriteMode::Table(name) => {
                // Widths come from the table being replaced, else from the plan table, else from
                // the Arrow types.
                let existing = match catalog::columns(&self.db, name).await? {
                    Some(c) => c,
                    None => catalog::columns(&self.db, &self.plan_table)
                        .await?
                        .unwrap_or_default(),
                };
                let mut decls = Vec::new();
                for field in self.schema.fields() {
                    let decl = match existing
                        .iter()
                        .find(|c| c.name.eq_ignore_ascii_case(field.name()))
                    {
                        Some(c) => c.declaration(),
                        None => {
                            sql_type_for_arrow(field).map_err(|e| DataFusionError::Plan(e.to_string()))?
                        }
                    };
                    decls.push(format!("{} {decl} NULL", quote_ident(field.name())));
                }
                let staging = format!("{name}{STAGING_SUFFIX}");
                let q = qualified(&self.db, &staging);
                self.batch(
                    &format!(
                        "DROP TABLE IF EXISTS {q}; CREATE TABLE {q} ({})",
                        decls.join(", ")
                    ),
                    &staging,
                )
                .await?;
                let columns = catalog::columns(&self.db, &staging).await?.unwrap_or_default();
                Ok((staging, columns))
            }
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

    /// Swaps the staging table in for NAME in one transaction. `@objtype` is named: SQL Server
    /// defaults it, Babelfish requires it.
    async fn swap(&self, name: &str) -> Result<()> {
        let staging = format!("{name}{STAGING_SUFFIX}");
        let sql = format!(
            "BEGIN TRAN; DROP TABLE IF EXISTS {}; EXEC sp_rename @P1, @P2, 'OBJECT'; COMMIT",
            qualified(&self.db, name)
        );
        let old = format!("{}.{staging}", self.db.schema());
        let mut conn = self.db.get().await?;
        let health = conn.health();
        let result = conn.client.execute(sql, &[&old.as_str(), &name]).await;
        if let Err(e) = health.note(result) {
            rollback(&mut conn).await;
            return Err(self.db.error(Some(name), &e));
        }
        Ok(())
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

    /// `in-place`: stage the unit in a session temporary table (concurrently with other units), then,
    /// in the unit's turn, update and insert in one transaction holding the table's exclusive lock.
    async fn apply_in_place(
        &self,
        target: &str,
        columns: &[SqlColumn],
        unit: &Unit,
        turns: &Turns,
    ) -> Result<UnitResult, Failure> {
        let mut conn = self.db.get().await.map_err(Failure::other)?;
        let decls: Vec<String> = columns
            .iter()
            .map(|c| format!("{} {} NULL", quote_ident(&c.name), c.declaration()))
            .collect();
        let create = format!(
            "DROP TABLE IF EXISTS {STAGE}; CREATE TABLE {STAGE} ({})",
            decls.join(", ")
        );
        conn.batch(&create).await.map_err(Failure::from)?;
        // The stage takes NULLs everywhere; a NOT NULL target column refuses them at the INSERT,
        // with SQL Server's own message.
        let stage: Vec<SqlColumn> = columns
            .iter()
            .cloned()
            .map(|mut c| {
                c.nullable = true;
                c
            })
            .collect();
        let started = std::time::Instant::now();
        bulk_load(&mut conn, STAGE, &stage, unit).await?;
        debug!(unit = %unit.label, rows = unit.rows(), seconds = started.elapsed().as_secs_f64(), "unit staged");
        let distributor = quote_ident(&column_name(columns, "DistributorID"));
        // The unit's first and last distributor in the server's collation, which may order them
        // differently from Rust: they bound the target rows each statement looks at.
        let (lo, hi) = stage_bounds(&mut conn, &distributor).await?;
        let statements = InPlaceStatements::new(&qualified(&self.db, target), columns);
        turns.wait(unit.index).await;
        conn.batch("BEGIN TRAN").await.map_err(Failure::from)?;
        let applied = async {
            let started = std::time::Instant::now();
            let updated = execute_with(&mut conn, &statements.update, &lo, &hi).await?;
            let update_s = started.elapsed().as_secs_f64();
            let inserted = execute_with(&mut conn, &statements.insert, &lo, &hi).await?;
            let insert_s = started.elapsed().as_secs_f64() - update_s;
            conn.batch(&format!("COMMIT; DROP TABLE {STAGE}")).await?;
            debug!(unit = %unit.label, updated, update_s, inserted, insert_s, "unit applied");
            Ok::<_, TdsError>((updated, inserted))
        }
        .await;
        match applied {
            Ok((updated, inserted)) => Ok(UnitResult {
                updated,
                inserted,
                error: None,
            }),
            Err(e) => {
                rollback(&mut conn).await;
                Err(Failure::from(e))
            }
        }
    }

    /// `table`: bulk-load the unit into the staging table in its own transaction. A retry first
    /// deletes whatever an earlier attempt left of the unit (a commit whose answer was lost), so it
    /// never doubles rows; a first attempt has nothing to delete in the new table.
    async fn append(
        &self,
        target: &str,
        columns: &[SqlColumn],
        unit: &Unit,
        attempt: u32,
    ) -> Result<UnitResult, Failure> {
        let mut conn = self.db.get().await.map_err(Failure::other)?;
        conn.batch("BEGIN TRAN").await.map_err(Failure::from)?;
        let table = qualified(&self.db, target);
        let distributor = quote_ident(&column_name(columns, "DistributorID"));
        let cleared = if attempt == 0 {
            Ok(())
        } else {
            clear_unit(&mut conn, &table, &distributor, unit).await
        };
        let loaded = match cleared {
            Ok(()) => bulk_load(&mut conn, &table, columns, unit).await,
            Err(e) => Err(Failure::from(e)),
        };
        let committed = match loaded {
            Ok(n) => conn.batch("COMMIT").await.map(|_| n).map_err(Failure::from),
            Err(e) => Err(e),
        };
        match committed {
            Ok(n) => Ok(UnitResult {
                inserted: n,
                ..Default::default()
            }),
            Err(e) => {
                rollback(&mut conn).await;
                Err(e)
            }
        }
    }
}

/// The two statements of an in-place unit. Each reads the target once; `@P1`/`@P2` (the unit's
/// first and last distributor) let an index on `DistributorID` narrow that read. The UPDATE takes
/// the table's exclusive lock (`TABLOCKX`): an update of this many rows would escalate to it on
/// SQL Server anyway, and taking it first means two writers queue instead of deadlocking.
struct InPlaceStatements {
    update: String,
    insert: String,
}

impl InPlaceStatements {
    fn new(table: &str, columns: &[SqlColumn]) -> Self {
        let key_match = ROW_KEY
            .iter()
            .map(|k| format!("t.{0} = s.{0}", quote_ident(&column_name(columns, k))))
            .collect::<Vec<_>>()
            .join(" AND ");
        let distributor = quote_ident(&column_name(columns, "DistributorID"));
        let in_unit = format!("t.{distributor} >= @P1 AND t.{distributor} <= @P2");
        let differs = [STOP_NO, CUSTYPE]
            .iter()
            .map(|c| {
                let c = quote_ident(&column_name(columns, c));
                format!(
                    "(t.{c} <> s.{c} OR (t.{c} IS NULL AND s.{c} IS NOT NULL) OR (t.{c} IS NOT NULL AND s.{c} IS NULL))"
                )
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        let stop_no = quote_ident(&column_name(columns, STOP_NO));
        let custype = quote_ident(&column_name(columns, CUSTYPE));
        let all: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
        let all_s: Vec<String> = all.iter().map(|c| format!("s.{c}")).collect();
        Self {
            update: format!(
                "UPDATE t SET t.{stop_no} = s.{stop_no}, t.{custype} = s.{custype} \
                 FROM {table} AS t WITH (TABLOCKX) INNER JOIN {STAGE} AS s ON {key_match} \
                 WHERE {in_unit} AND ({differs})"
            ),
            insert: format!(
                "INSERT INTO {table} ({}) SELECT {} FROM {STAGE} AS s \
                 WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {in_unit} AND {key_match})",
                all.join(", "),
                all_s.join(", "),
            ),
        }
    }
}

/// The lowest and highest `DistributorID` of the stage, in the server's collation.
async fn stage_bounds(conn: &mut Conn, distributor: &str) -> Result<(String, String), Failure> {
    let sql = format!("SELECT MIN({distributor}), MAX({distributor}) FROM {STAGE}");
    let health = conn.health();
    let result = async {
        let row = conn.client.simple_query(sql).await?.into_row().await?;
        Ok::<_, TdsError>(row.map(|r| {
            let text = |i: usize| r.get::<&str, _>(i).map(str::to_string);
            (text(0), text(1))
        }))
    }
    .await;
    match health.note(result).map_err(Failure::from)? {
        Some((Some(lo), Some(hi))) => Ok((lo, hi)),
        _ => Err(Failure {
            message: "the staged unit has no DistributorID".into(),
            transient: false,
        }),
    }
}

/// Deletes the unit's rows from `table`: its distributors, a thousand parameters at a time (SQL
/// Server takes at most 2,100), or the rows without one.
async fn clear_unit(conn: &mut Conn, table: &str, distributor: &str, unit: &Unit) -> Result<(), TdsError> {
    if unit.keys.iter().any(Option::is_none) {
        execute(conn, &format!("DELETE FROM {table} WHERE {distributor} IS NULL")).await?;
    }
    let keys: Vec<&str> = unit.keys.iter().flatten().map(String::as_str).collect();
    for chunk in keys.chunks(1000) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("@P{i}")).collect();
        let sql = format!(
            "DELETE FROM {table} WHERE {distributor} IN ({})",
            marks.join(", ")
        );
        let params: Vec<&dyn tiberius::ToSql> = chunk.iter().map(|k| k as &dyn tiberius::ToSql).collect();
        let health = conn.health();
        let result = conn.client.execute(sql, &params).await;
        health.note(result)?;
    }
    Ok(())
}

/// One distributor's rows.
struct Partition {
    label: String,
    /// The partition's `DistributorID`.
    key: Option<String>,
    batch: RecordBatch,
}

/// A write unit: consecutive distributors staged and applied together. Units are few (about one
/// per connection), so the statements that read the whole target do not grow with distributors.
struct Unit {
    /// Position in the apply order.
    index: usize,
    label: String,
    /// The distributors' `DistributorID`s and row counts, for the outcome.
    keys: Vec<Option<String>>,
    partitions: Vec<(String, u64)>,
    /// The distributors' rows (not concatenated: that would copy the whole result once more).
    batches: Vec<RecordBatch>,
    /// Values cut to fit, already reported.
    policy: WidthPolicy,
}

impl Unit {
    fn rows(&self) -> u64 {
        self.batches.iter().map(|b| b.num_rows() as u64).sum()
    }
}

#[derive(Debug, Default)]
struct UnitResult {
    updated: u64,
    inserted: u64,
    error: Option<String>,
}

/// Lets in-place units apply one at a time, in unit order, while they stage concurrently.
struct Turns {
    /// Units finished, written or failed.
    done: tokio::sync::watch::Sender<Vec<bool>>,
}

impl Turns {
    fn new(units: usize) -> Self {
        Self {
            done: tokio::sync::watch::Sender::new(vec![false; units]),
        }
    }

    /// Waits until every unit before `index` is finished.
    async fn wait(&self, index: usize) {
        let mut rx = self.done.subscribe();
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = rx.wait_for(|done| done[..index].iter().all(|d| *d)).await;
    }

    fn done(&self, index: usize) {
        self.done.send_modify(|done| done[index] = true);
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

/// The table's spelling of a contract column.
fn column_name(columns: &[SqlColumn], name: &str) -> String {
    columns
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .map(|c| c.name.clone())
        .unwrap_or_else(|| name.to_string())
}

/// Runs one statement and returns the rows it affected.
async fn execute(conn: &mut Conn, sql: &str) -> Result<u64, TdsError> {
    let health = conn.health();
    let result = conn.client.execute(sql, &[]).await;
    health.note(result).map(|r| r.total())
}

/// Runs one statement with the unit's bounds as `@P1`, `@P2`; the rows it affected.
async fn execute_with(conn: &mut Conn, sql: &str, lo: &str, hi: &str) -> Result<u64, TdsError> {
    let health = conn.health();
    let result = conn.client.execute(sql, &[&lo, &hi]).await;
    health.note(result).map(|r| r.total())
}

/// Rolls back whatever is open; errors are ignored (there may be no transaction, or no connection).
async fn rollback(conn: &mut Conn) {
    let _ = conn.batch("ROLLBACK").await;
}

/// Rows encoded for the wire at a time: a unit holds hundreds of thousands of rows, and encoded rows
/// (one owned value per cell) take several times their Arrow size.
const ENCODE_ROWS: usize = 4096;

/// Bulk-loads a unit's rows into `table`, encoding them a slice at a time.
async fn bulk_load(conn: &mut Conn, table: &str, columns: &[SqlColumn], unit: &Unit) -> Result<u64, Failure> {
    let health = conn.health();
    let request = conn.client.bulk_insert(table).await;
    let mut request = match health.note(request) {
        Ok(r) => r,
        Err(e) => return Err(Failure::from(e)),
    };
    for batch in &unit.batches {
        for start in (0..batch.num_rows()).step_by(ENCODE_ROWS) {
            let slice = batch.slice(start, ENCODE_ROWS.min(batch.num_rows() - start));
            let (rows, _) = encode_batch(&slice, columns, unit.policy).map_err(|e| Failure {
                message: e.to_string(),
                transient: false,
            })?;
            for row in rows {
                let sent = request.send(row).await;
                health.note(sent).map_err(Failure::from)?;
            }
        }
    }
    let result = request.finalize().await.map(|r| r.total());
    health.note(result).map_err(Failure::from)
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
        let mut partitions = split_by_distributor(&self.schema, &batches)?;
        drop(batches);
        let in_place = self.options.mode == WriteMode::InPlace;
        let mut unstaged = 0u64;
        if in_place {
            // Rows without a full key are not routed and stay as they are in the table (rule 1).
            for part in &mut partitions {
                let keyed = filter_record_batch(&part.batch, &full_key_mask(&part.batch)?)?;
                unstaged += (part.batch.num_rows() - keyed.num_rows()) as u64;
                part.batch = keyed;
            }
            partitions.retain(|p| p.batch.num_rows() > 0);
        }

        // Rule 8: report (or, strict, refuse) values longer than their column before writing any.
        let mut truncations = Vec::new();
        for part in &partitions {
            let cut =
                check_widths(&part.batch, &columns).map_err(|e| DataFusionError::Plan(e.to_string()))?;
            truncations.extend(
                cut.into_iter()
                    .map(|t| describe_truncation(&target, &part.batch, &t)),
            );
        }
        if self.options.strict_widths && !truncations.is_empty() {
            return Err(DataFusionError::Execution(format!(
                "{} value(s) do not fit their column in {target} (--strict-widths): {}",
                truncations.len(),
                truncations
                    .iter()
                    .take(TRUNCATION_EXAMPLES)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        for t in truncations.iter().take(TRUNCATION_EXAMPLES) {
            warn!(table = %target, "value truncated to fit: {t}");
        }

        let units = into_units(partitions, self.options.concurrency.max(1));
        info!(table = %target, units = units.len(), "writing");
        let turns = Turns::new(units.len());
        let results: Vec<(Unit, Result<UnitResult>)> = futures::stream::iter(units)
            .map(|unit| {
                let (columns, target, turns) = (&columns, &target, &turns);
                async move {
                    let result = self.write_unit(target, columns, &unit, turns).await;
                    (unit, result)
                }
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await;

        let mut outcome = SinkOutcome {
            truncations: Truncations {
                count: truncations.len() as u64,
                examples: truncations.iter().take(TRUNCATION_EXAMPLES).cloned().collect(),
            },
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
            for (label, rows) in unit.partitions {
                outcome.partitions.push(PartitionOutcome {
                    partition: label,
                    status: if result.error.is_some() {
                        "failed"
                    } else {
                        "written"
                    }
                    .into(),
                    rows,
                    error: result.error.clone(),
                });
            }
        }
        outcome.partitions.sort_by(|a, b| a.partition.cmp(&b.partition));
        let all_written = outcome.failed().is_empty();
        *self.outcome.lock().expect("sink outcome") = outcome;
        if let (true, WriteMode::Table(name)) = (all_written, &self.options.mode) {
            self.swap(name).await?;
        }
        Ok(written)
    }
}

/// Rows whose route key and store are all present.
fn full_key_mask(batch: &RecordBatch) -> Result<BooleanArray> {
    let mut mask: Option<BooleanArray> = None;
    for k in ROW_KEY {
        let i = batch.schema().index_of(k)?;
        let present = is_not_null(batch.column(i))?;
        mask = Some(match mask {
            None => present,
            Some(m) => and(&m, &present)?,
        });
    }
    Ok(mask.unwrap_or_else(|| BooleanArray::from(vec![true; batch.num_rows()])))
}

/// Groups the result by `DistributorID`, NULL first (it arrives sorted by it, so each group is a
/// few runs).
fn split_by_distributor(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<Partition>> {
    let index = schema.index_of("DistributorID")?;
    let mut pieces: BTreeMap<Option<String>, Vec<RecordBatch>> = BTreeMap::new();
    for batch in batches {
        let column = batch.column(index);
        let text = match column.data_type() {
            DataType::Utf8 => column.as_string::<i32>(),
            other => {
                return Err(DataFusionError::Internal(format!(
                    "DistributorID is {other}, not Utf8"
                )));
            }
        };
        let mut start = 0;
        while start < batch.num_rows() {
            let key = text.is_valid(start).then(|| text.value(start).to_string());
            let mut end = start + 1;
            while end < batch.num_rows()
                && text.is_valid(end) == key.is_some()
                && key.as_deref().is_none_or(|k| text.value(end) == k)
            {
                end += 1;
            }
            pieces
                .entry(key)
                .or_default()
                .push(batch.slice(start, end - start));
            start = end;
        }
    }
    pieces
        .into_iter()
        .map(|(key, parts)| {
            let label = match &key {
                Some(k) => format!("DistributorID={k}"),
                None => "DistributorID=NULL".to_string(),
            };
            Ok(Partition {
                label,
                key,
                batch: concat_batches(schema, &parts)?,
            })
        })
        .collect()
}

/// Groups consecutive distributors into at most `count` units of about equal rows; rows without a
/// distributor form a unit of their own.
fn into_units(partitions: Vec<Partition>, count: usize) -> Vec<Unit> {
    let total: usize = partitions.iter().map(|p| p.batch.num_rows()).sum();
    let mut groups: Vec<Vec<Partition>> = Vec::new();
    let mut current: Vec<Partition> = Vec::new();
    let (mut rows, mut closed_rows) = (0usize, 0usize);
    for part in partitions {
        let null = part.key.is_none();
        rows += part.batch.num_rows();
        current.push(part);
        // Close the unit once it reaches its share of what the closed units left.
        let share = (total - closed_rows).div_ceil(count.saturating_sub(groups.len()).max(1));
        if null || rows - closed_rows >= share {
            groups.push(std::mem::take(&mut current));
            closed_rows = rows;
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(index, parts)| {
            let first = parts.first().map(|p| p.label.clone()).unwrap_or_default();
            let label = match parts.len() {
                1 => first,
                n => format!("{first} and {} more", n - 1),
            };
            Unit {
                index,
                label,
                keys: parts.iter().map(|p| p.key.clone()).collect(),
                partitions: parts
                    .iter()
                    .map(|p| (p.label.clone(), p.batch.num_rows() as u64))
                    .collect(),
                batches: parts.into_iter().map(|p| p.batch).collect(),
                policy: WidthPolicy::Truncate,
            }
        })
        .collect()
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
