//! One analyst's query: planned read-only, bound to its parameters, then streamed batch by batch
//! under the server's limits, with one log event when it ends however it ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::compute::BatchCoalescer;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use datafusion::common::ScalarValue;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use futures::{StreamExt, TryStreamExt};
use tokio::sync::{Semaphore, mpsc};
use tonic::Status;

use super::service::DoGetStream;

/// What the server allows each query.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A query still running after this long is stopped.
    pub timeout: Duration,
    /// Queries executing at once; more are refused, not queued, so a client knows at once.
    pub slots: Arc<Semaphore>,
    pub max_queries: usize,
}

impl Limits {
    pub fn new(timeout: Duration, max_queries: usize) -> Self {
        Self {
            timeout,
            slots: Arc::new(Semaphore::new(max_queries.max(1))),
            max_queries: max_queries.max(1),
        }
    }
}

/// Plans `sql` without running it, refusing anything but reads: no DDL (CREATE, DROP, CREATE EXTERNAL
/// TABLE, which could open any file), no DML (INSERT, COPY), no SET. `params`, when given, are bound
/// to its `$n` (or `?`) placeholders.
pub async fn plan(
    ctx: &SessionContext,
    sql: &str,
    params: Option<&[ScalarValue]>,
) -> Result<DataFrame, Status> {
    let sql = number_placeholders(sql);
    let state = ctx.state();
    let plan = state
        .create_logical_plan(&sql)
        .await
        .map_err(|e| planning_error(&e))?;
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(&plan)
        .map_err(|e| {
            Status::permission_denied(format!(
                "routeflow serve is read-only: only queries (SELECT, WITH, EXPLAIN, SHOW) run here ({e})"
            ))
        })?;
    let df = ctx
        .execute_logical_plan(plan)
        .await
        .map_err(|e| planning_error(&e))?;
    match params {
        None => Ok(df),
        Some(values) => bind(df, values),
    }
}

/// The types the statement's placeholders take, in `$1, $2, …` order, as a schema for clients to
/// bind against (a placeholder whose type cannot be inferred is offered as text).
pub fn parameter_schema(df: &DataFrame) -> Result<SchemaRef, Status> {
    let types = df
        .logical_plan()
        .get_parameter_types()
        .map_err(|e| planning_error(&e))?;
    let mut names: Vec<&String> = types.keys().collect();
    names.sort_by_key(|n| n[1..].parse::<usize>().unwrap_or(usize::MAX));
    Ok(Arc::new(Schema::new(
        names
            .into_iter()
            .map(|n| Field::new(n, types[n].clone().unwrap_or(DataType::Utf8), true))
            .collect::<Vec<_>>(),
    )))
}

/// Binds `values` to the placeholders, cast to the types the query gives them (a client that
/// binds an integer where the column is text still gets its rows).
fn bind(df: DataFrame, values: &[ScalarValue]) -> Result<DataFrame, Status> {
    let types = df
        .logical_plan()
        .get_parameter_types()
        .map_err(|e| planning_error(&e))?;
    let values = values
        .iter()
        .enumerate()
        .map(|(i, v)| match types.get(&format!("${}", i + 1)) {
            Some(Some(t)) if v.data_type() != *t => v
                .cast_to(t)
                .map_err(|e| Status::invalid_argument(format!("parameter ${}: {e}", i + 1))),
            _ => Ok(v.clone()),
        })
        .collect::<Result<Vec<_>, Status>>()?;
    df.with_param_values(values)
        .map_err(|e| Status::invalid_argument(format!("the parameters do not fit the statement: {e}")))
}

/// The values of a parameter batch's first row, one per column.
pub fn row_values(batch: &RecordBatch) -> Result<Vec<ScalarValue>, Status> {
    if batch.num_rows() == 0 {
        return Ok(vec![]);
    }
    batch
        .columns()
        .iter()
        .map(|c| ScalarValue::try_from_array(c, 0).map_err(|e| Status::invalid_argument(e.to_string())))
        .collect()
}

/// `?` placeholders (what JDBC and ADBC send) numbered `$1, $2, …` as DataFusion expects; the text is
/// tokenized first, so a `?` inside a string or comment stays as it is.
pub fn number_placeholders(sql: &str) -> String {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize_with_location() else {
        return sql.to_string();
    };
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let offset = |line: u64, column: u64| -> Option<usize> {
        let start = *line_starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let col = usize::try_from(column).ok()?.checked_sub(1)?;
        Some(
            sql[start..]
                .char_indices()
                .nth(col)
                .map_or(sql.len(), |(i, _)| start + i),
        )
    };
    let mut out = String::with_capacity(sql.len() + 8);
    let (mut copied, mut n) = (0, 0);
    for t in &tokens {
        if !matches!(&t.token, Token::Placeholder(p) if p == "?") {
            continue;
        }
        let Some(at) = offset(t.span.start.line, t.span.start.column) else {
            return sql.to_string();
        };
        n += 1;
        out.push_str(&sql[copied..at]);
        out.push_str(&format!("${n}"));
        copied = at + 1;
    }
    out.push_str(&sql[copied..]);
    out
}

/// A planning failure as the client should see it: its own query's fault.
fn planning_error(e: &DataFusionError) -> Status {
    Status::invalid_argument(format!("the query does not plan: {}", crate::error::one_line(e)))
}

/// Who ran what, for the one log event a query gets.
#[derive(Debug, Clone)]
pub struct QueryLog {
    pub user: String,
    pub sql: String,
    pub prepared: bool,
}

/// How a query ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Finished,
    Failed,
    TimedOut,
    /// The client went away (or cancelled) before the last batch.
    Cancelled,
}

/// Runs `df`, streaming its batches as Flight data. Execution happens on a task of its own that a
/// small channel connects to the client: it waits while the client reads (memory stays bounded),
/// stops at the deadline, and stops when the client goes away (the channel closes).
pub fn execute(df: DataFrame, log: QueryLog, limits: &Limits) -> Result<DoGetStream, Status> {
    let permit = limits.slots.clone().try_acquire_owned().map_err(|_| {
        Status::resource_exhausted(format!(
            "{} queries are already running, the most this server runs at once (--max-queries); try again shortly",
            limits.max_queries
        ))
    })?;
    let schema: SchemaRef = Arc::clone(df.schema().inner());
    let (tx, rx) = mpsc::channel::<Result<RecordBatch, FlightError>>(2);
    let timeout = limits.timeout;
    tokio::spawn(async move {
        let started = Instant::now();
        let mut rows = 0u64;
        let run = produce(df, &tx, &mut rows);
        let outcome = match tokio::time::timeout(timeout, run).await {
            Ok(outcome) => outcome,
            Err(_) => {
                let status = Status::deadline_exceeded(format!(
                    "the query ran longer than {} s (--query-timeout) and was stopped",
                    timeout.as_secs()
                ));
                let _ = tx.try_send(Err(FlightError::Tonic(Box::new(status))));
                Outcome::TimedOut
            }
        };
        drop(permit);
        tracing::info!(
            target: "routeflow::serve",
            user = %log.user,
            prepared = log.prepared,
            outcome = ?outcome,
            rows,
            duration_ms = started.elapsed().as_millis() as u64,
            sql = %log.sql,
            "query"
        );
    });
    let batches = tokio_stream_from(rx);
    let flight = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(batches)
        .map_err(Status::from);
    Ok(Box::pin(flight))
}

/// Rows per batch sent to clients: some plans (a cross join, a LIMIT) emit batches of a few rows, and
/// a million tiny Flight messages cost a client far more than the rows themselves.
const CLIENT_BATCH_ROWS: usize = 8192;

/// Pulls batches from the plan into the channel, coalesced to [`CLIENT_BATCH_ROWS`], until the end, an
/// error, or the client leaving.
async fn produce(
    df: DataFrame,
    tx: &mpsc::Sender<Result<RecordBatch, FlightError>>,
    rows: &mut u64,
) -> Outcome {
    let fail = |e: &DataFusionError| execution_error(e);
    let mut stream = match df.execute_stream().await {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(Err(fail(&e))).await;
            return Outcome::Failed;
        }
    };
    let mut coalescer = BatchCoalescer::new(stream.schema(), CLIENT_BATCH_ROWS);
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            _ = tx.closed() => return Outcome::Cancelled,
        };
        let done = next.is_none();
        let pushed = match next {
            None => coalescer.finish_buffered_batch(),
            Some(Ok(batch)) => coalescer.push_batch(batch),
            Some(Err(e)) => {
                let _ = tx.send(Err(fail(&e))).await;
                return Outcome::Failed;
            }
        };
        if let Err(e) = pushed {
            let _ = tx.send(Err(FlightError::Arrow(e))).await;
            return Outcome::Failed;
        }
        while let Some(batch) = coalescer.next_completed_batch() {
            let n = batch.num_rows() as u64;
            if tx.send(Ok(batch)).await.is_err() {
                return Outcome::Cancelled;
            }
            *rows += n;
        }
        if done {
            return Outcome::Finished;
        }
    }
}

fn execution_error(e: &DataFusionError) -> FlightError {
    FlightError::Tonic(Box::new(Status::internal(format!(
        "the query failed: {}",
        crate::error::one_line(e)
    ))))
}

/// The receiving end of the channel as a stream.
fn tokio_stream_from<T: Send + 'static>(mut rx: mpsc::Receiver<T>) -> impl futures::Stream<Item = T> + Send {
    async_stream::stream! {
        while let Some(item) = rx.recv().await {
            yield item;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_marks_become_numbered_placeholders_outside_strings_and_comments() {
        assert_eq!(
            number_placeholders("SELECT * FROM t WHERE a = ? AND b = ?"),
            "SELECT * FROM t WHERE a = $1 AND b = $2"
        );
        assert_eq!(
            number_placeholders("SELECT 'what?', x -- why?\nFROM t WHERE y = ? /* ? */"),
            "SELECT 'what?', x -- why?\nFROM t WHERE y = $1 /* ? */"
        );
        assert_eq!(
            number_placeholders("SELECT 'ñ', ? FROM t"),
            "SELECT 'ñ', $1 FROM t"
        );
        assert_eq!(number_placeholders("SELECT $1"), "SELECT $1");
    }
}
