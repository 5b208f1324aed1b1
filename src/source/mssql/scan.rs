//! The scan of one SQL Server table: an `ExecutionPlan` with one partition per query, each streaming
//! its rows on its own pooled connection into Arrow batches of a fixed size, cast to the canonical
//! schema with a source-order ordinal.

use std::fmt;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{Stream, StreamExt};
use tiberius::{ColumnData, ToSql};

use super::super::canonical::TableLayout;
use super::super::stream::{ScanExec, SourceScan, column_list};
use crate::mssql::conn::Mssql;
use crate::mssql::types::{BatchBuilder, SqlColumn, SqlParam};

/// Bits of the ordinal that number rows within one partition.
const PARTITION_SHIFT: u32 = 40;

/// The statement one partition runs.
#[derive(Debug, Clone)]
pub(super) struct PartitionQuery {
    pub sql: String,
    pub params: Vec<SqlParam>,
}

/// Streams one SQL Server table, cast to the canonical schema, one partition per query.
pub type MssqlScanExec = ScanExec<MssqlScan>;

/// What [`MssqlScanExec`] reads: the table's columns and layout, and one query per partition.
#[derive(Debug)]
pub struct MssqlScan {
    db: Arc<Mssql>,
    columns: Arc<Vec<SqlColumn>>,
    layout: Arc<TableLayout>,
    projection: Vec<usize>,
    queries: Vec<PartitionQuery>,
    batch_rows: usize,
}

impl MssqlScan {
    /// The scan operator for `projection` of the table, one partition per query.
    pub(super) fn exec(
        db: Arc<Mssql>,
        columns: Arc<Vec<SqlColumn>>,
        layout: Arc<TableLayout>,
        projection: Vec<usize>,
        queries: Vec<PartitionQuery>,
        batch_rows: usize,
    ) -> Result<MssqlScanExec> {
        let schema = Arc::new(layout.schema.project(&projection)?);
        let partitions = queries.len();
        let scan = Self {
            db,
            columns,
            layout,
            projection,
            queries,
            batch_rows,
        };
        Ok(ScanExec::new(scan, schema, partitions))
    }
}

impl SourceScan for MssqlScan {
    const NAME: &'static str = "MssqlScanExec";

    fn fmt_as(&self, schema: &SchemaRef, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "MssqlScanExec: table={}, partitions={}, projection=[{}], sql={}",
            self.layout.table,
            self.queries.len(),
            column_list(schema),
            self.queries.first().map(|q| q.sql.as_str()).unwrap_or("")
        )
    }

    fn execute(
        &self,
        partition: usize,
        schema: &SchemaRef,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let query = self.queries.get(partition).cloned().ok_or_else(|| {
            DataFusionError::Internal(format!("MssqlScanExec has no partition {partition}"))
        })?;
        let stored: Vec<SqlColumn> = self
            .layout
            .stored_indices(&self.projection)
            .iter()
            .map(|&i| self.columns[i].clone())
            .collect();
        let stored_schema = Arc::new(Schema::new(
            stored
                .iter()
                .map(|c| {
                    let data_type = c
                        .arrow_type()
                        .map_err(|e| crate::error::bad_input(e.to_string()))?;
                    Ok(Field::new(&c.name, data_type, true))
                })
                .collect::<Result<Vec<_>>>()?,
        ));
        let read = PartitionRead {
            db: Arc::clone(&self.db),
            layout: Arc::clone(&self.layout),
            projection: self.projection.clone(),
            schema: Arc::clone(schema),
            batch_rows: self.batch_rows,
            first_ordinal: (partition as i64) << PARTITION_SHIFT,
        };
        let stream = read.stream(query, stored, stored_schema);
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(schema),
            stream,
        )))
    }
}

/// What one partition's stream needs to turn rows into canonical batches.
struct PartitionRead {
    db: Arc<Mssql>,
    layout: Arc<TableLayout>,
    projection: Vec<usize>,
    /// The projected canonical schema.
    schema: SchemaRef,
    batch_rows: usize,
    /// The partition's first ordinal: `partition << 40`.
    first_ordinal: i64,
}

impl PartitionRead {
    /// Runs `query` and streams its rows as batches of `batch_rows`; `stored` are the columns it
    /// selects (none for a count, which selects `1`).
    fn stream(
        self,
        query: PartitionQuery,
        stored: Vec<SqlColumn>,
        stored_schema: SchemaRef,
    ) -> impl Stream<Item = Result<RecordBatch>> {
        async_stream::try_stream! {
            let table = self.layout.table.clone();
            let fail = |e: &dyn fmt::Display| self.db.error(Some(&table), e);
            let mut conn = self.db.get().await?;
            let health = conn.health();
            let mut builder = BatchBuilder::new(&stored, stored_schema, self.batch_rows)
                .map_err(|e| fail(&e))?;
            let mut ordinal = self.first_ordinal;
            // Until the answer is read to its end the connection is mid-result: if this stream is
            // dropped early (a LIMIT), the pool must not hand it out again.
            health.set_in_use(true);
            {
                let refs: Vec<&dyn ToSql> = query.params.iter().map(|p| p as &dyn ToSql).collect();
                let mut rows = conn
                    .client
                    .query(query.sql.as_str(), &refs)
                    .await
                    .map_err(|e| fail(&health.note::<()>(Err(e)).unwrap_err()))?
                    .into_row_stream();
                while let Some(row) = rows.next().await {
                    let row = health.note(row).map_err(|e| fail(&e))?;
                    let pushed = if stored.is_empty() {
                        // A count: only the number of rows matters.
                        builder.push_row(std::iter::empty::<ColumnData>())
                    } else {
                        builder.push_row(row)
                    };
                    pushed.map_err(|e| fail(&e))?;
                    if builder.len() >= self.batch_rows {
                        let batch = builder.finish().map_err(|e| fail(&e))?;
                        yield self.layout.convert(&self.projection, &self.schema, &batch, ordinal)?;
                        ordinal += batch.num_rows() as i64;
                    }
                }
            }
            if !builder.is_empty() {
                let batch = builder.finish().map_err(|e| fail(&e))?;
                yield self.layout.convert(&self.projection, &self.schema, &batch, ordinal)?;
            }
            health.set_in_use(false);
        }
    }
}
