//! How rows reach SQL Server, written once for `routeflow copy` and the sink: a new table's columns
//! declared from Arrow fields, values checked against column widths before anything is written
//! (contract rule 8), and the bulk load, which runs inside a transaction that either commits or
//! is discarded whole.

use arrow::array::RecordBatch;
use arrow::datatypes::Fields;
use datafusion::error::DataFusionError;
use futures::{Stream, StreamExt};
use tiberius::error::Error as TdsError;

use super::conn::Conn;
use super::types::{
    self, SqlColumn, Truncation, TypeError, WidthPolicy, encode_batch, find_column, quote_ident,
    sql_type_for_arrow,
};
use crate::summary::Truncations;

/// How many truncated values a summary quotes.
pub const TRUNCATION_EXAMPLES: usize = 5;

/// Rows encoded for the wire at a time: a load may hold hundreds of thousands of rows, and encoded
/// rows (one owned value per cell) take several times their Arrow size.
const ENCODE_ROWS: usize = 4096;

/// Why a bulk load, or the transaction around it, failed.
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    /// The server refused a statement or the load, or the connection failed.
    #[error(transparent)]
    Server(#[from] TdsError),
    /// A value cannot be written into its column.
    #[error(transparent)]
    Encode(#[from] TypeError),
    /// The rows to load could not be produced.
    #[error(transparent)]
    Source(#[from] DataFusionError),
}

/// `[name] type NULL` for each field of a new table: a column of `existing` of the same name
/// (T-SQL names are case-insensitive) keeps its declaration, so its width; any other field gets
/// the type for its Arrow type ([`sql_type_for_arrow`]).
pub fn field_declarations(fields: &Fields, existing: &[SqlColumn]) -> Result<Vec<String>, TypeError> {
    fields
        .iter()
        .map(|field| {
            let declaration = match find_column(existing, field.name()) {
                Some(column) => column.declaration(),
                None => sql_type_for_arrow(field)?,
            };
            Ok(nullable(field.name(), &declaration))
        })
        .collect()
}

/// `[name] type NULL` for each of `columns`, as the table declares them.
pub fn column_declarations(columns: &[SqlColumn]) -> Vec<String> {
    columns
        .iter()
        .map(|c| nullable(&c.name, &c.declaration()))
        .collect()
}

fn nullable(name: &str, declaration: &str) -> String {
    format!("{} {declaration} NULL", quote_ident(name))
}

/// `CREATE TABLE` for `table` (already qualified and quoted) with these column declarations.
pub fn create_table(table: &str, declarations: &[String]) -> String {
    format!("CREATE TABLE {table} ({})", declarations.join(", "))
}

/// Rule 8, checked before anything is written: the values of `batch` longer than their column
/// in `columns`, also counted into `report` with the first few worded by `describe`.
pub fn check_widths(
    batch: &RecordBatch,
    columns: &[SqlColumn],
    report: &mut Truncations,
    describe: impl Fn(&Truncation) -> String,
) -> Result<Vec<Truncation>, TypeError> {
    let found = types::check_widths(batch, columns)?;
    let room = TRUNCATION_EXAMPLES.saturating_sub(report.examples.len());
    report.examples.extend(found.iter().take(room).map(describe));
    report.count += found.len() as u64;
    Ok(found)
}

/// Runs `work` in a transaction on `conn`: the `begin` batch (`BEGIN TRAN` and whatever must be
/// part of the transaction, such as a `DELETE`), `work`, then the `commit` batch. On any failure
/// the connection is discarded rather than reused, which rolls the transaction back on the server
/// whatever state the failure left the connection in (a bulk load cut off halfway cannot be
/// followed by a `ROLLBACK` on the same connection).
pub async fn in_transaction<T, E: From<TdsError>>(
    conn: &mut Conn,
    begin: &str,
    commit: &str,
    work: impl AsyncFnOnce(&mut Conn) -> Result<T, E>,
) -> Result<T, E> {
    let health = conn.health();
    let result = async {
        conn.batch(begin).await?;
        let value = work(conn).await?;
        conn.batch(commit).await?;
        Ok(value)
    }
    .await;
    if result.is_err() {
        health.discard();
    }
    result
}

/// Bulk-loads `batches` into `table` (already qualified and quoted), whose columns are `columns`,
/// encoding a few thousand rows at a time; the rows loaded. A failure may leave the connection in
/// the middle of the load, so it is then discarded.
pub async fn load<S>(
    conn: &mut Conn,
    table: &str,
    columns: &[SqlColumn],
    policy: WidthPolicy,
    mut batches: S,
) -> Result<u64, BulkError>
where
    S: Stream<Item = Result<RecordBatch, DataFusionError>> + Unpin,
{
    let health = conn.health();
    let result = async {
        let mut request = health.note(conn.client.bulk_insert(table).await)?;
        while let Some(batch) = batches.next().await {
            let batch = batch?;
            for start in (0..batch.num_rows()).step_by(ENCODE_ROWS) {
                let slice = batch.slice(start, ENCODE_ROWS.min(batch.num_rows() - start));
                let (rows, _) = encode_batch(&slice, columns, policy)?;
                for row in rows {
                    health.note(request.send(row).await)?;
                }
            }
        }
        Ok(health.note(request.finalize().await)?.total())
    }
    .await;
    if result.is_err() {
        health.discard();
    }
    result
}
