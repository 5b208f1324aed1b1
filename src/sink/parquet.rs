//! The file sink: the result table as a Parquet dataset, `<output>/<Table>/part-NNNNN.parquet`, written
//! through `object_store` by a DataFusion `DataSink`.
//!
//! The sink cuts its (sorted) input into files of a bounded number of rows and encodes up to
//! `concurrency` files at once, each on its own task, so writing uses every core. Files left over from
//! an earlier, larger run are removed after the new ones are complete, so the directory reads as one
//! table afterwards.

use std::fmt;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};
use futures::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::source::location::Location;

/// Rows per output file: big enough for efficient reads, small enough to encode files in parallel.
pub const ROWS_PER_FILE: usize = 262_144;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 131_072;

/// Writes one table as a Parquet dataset directory.
#[derive(Debug)]
pub struct ParquetDatasetSink {
    store: Arc<dyn ObjectStore>,
    dir: Path,
    display: String,
    schema: SchemaRef,
    concurrency: usize,
    rows_per_file: usize,
}

impl ParquetDatasetSink {
    pub fn new(location: &Location, table: &str, schema: SchemaRef, concurrency: usize) -> Self {
        Self {
            store: Arc::clone(&location.store),
            dir: location.child(table),
            display: format!("{}/{table}", location.display.trim_end_matches('/')),
            schema,
            concurrency: concurrency.max(1),
            rows_per_file: ROWS_PER_FILE,
        }
    }

    /// Cuts files at `rows` rows instead of [`ROWS_PER_FILE`].
    pub fn with_rows_per_file(mut self, rows: usize) -> Self {
        self.rows_per_file = rows.max(1);
        self
    }

    fn file_path(&self, n: usize) -> Path {
        self.dir.clone().join(format!("part-{n:05}.parquet"))
    }
}

impl DisplayAs for ParquetDatasetSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ParquetDatasetSink: {}", self.display)
    }
}

#[async_trait]
impl DataSink for ParquetDatasetSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        mut data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let mut tasks: JoinSet<Result<u64>> = JoinSet::new();
        let mut current: Option<mpsc::Sender<RecordBatch>> = None;
        let mut rows_in_file = 0usize;
        let mut files = 0usize;
        let mut rows = 0u64;
        while let Some(batch) = data.next().await {
            let mut batch = batch?;
            while batch.num_rows() > 0 {
                if current.is_none() {
                    while tasks.len() >= self.concurrency {
                        rows += join_next(&mut tasks).await?;
                    }
                    let (tx, rx) = mpsc::channel(4);
                    tasks.spawn(encode_file(
                        Arc::clone(&self.store),
                        self.file_path(files),
                        Arc::clone(&self.schema),
                        rx,
                    ));
                    files += 1;
                    current = Some(tx);
                    rows_in_file = 0;
                }
                let take = batch.num_rows().min(self.rows_per_file - rows_in_file);
                let head = batch.slice(0, take);
                batch = batch.slice(take, batch.num_rows() - take);
                rows_in_file += take;
                let sender = current.as_ref().expect("open file");
                if sender.send(head).await.is_err() {
                    // The encoder stopped early: its error surfaces below.
                    break;
                }
                if rows_in_file == self.rows_per_file {
                    current = None;
                }
            }
        }
        drop(current);
        if files == 0 {
            // An empty result is still a readable (empty) table.
            let (tx, rx) = mpsc::channel(1);
            drop(tx);
            tasks.spawn(encode_file(
                Arc::clone(&self.store),
                self.file_path(0),
                Arc::clone(&self.schema),
                rx,
            ));
            files = 1;
        }
        while !tasks.is_empty() {
            rows += join_next(&mut tasks).await?;
        }
        self.remove_stale(files).await?;
        Ok(rows)
    }
}

async fn join_next(tasks: &mut JoinSet<Result<u64>>) -> Result<u64> {
    match tasks.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(DataFusionError::Execution(format!(
            "Parquet writer task failed: {e}"
        ))),
        None => Ok(0),
    }
}

impl ParquetDatasetSink {
    /// Deletes Parquet files of the directory that this write did not produce.
    async fn remove_stale(&self, files: usize) -> Result<()> {
        let keep: Vec<Path> = (0..files).map(|n| self.file_path(n)).collect();
        let stale: Vec<Path> = self
            .store
            .list(Some(&self.dir))
            .map_ok(|m| m.location)
            .try_filter(|p| futures::future::ready(p.extension() == Some("parquet") && !keep.contains(p)))
            .try_collect()
            .await?;
        for path in stale {
            self.store.delete(&path).await?;
        }
        Ok(())
    }
}

/// Encodes the batches received on `rx` into one Parquet file.
async fn encode_file(
    store: Arc<dyn ObjectStore>,
    path: Path,
    schema: SchemaRef,
    mut rx: mpsc::Receiver<RecordBatch>,
) -> Result<u64> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let context =
        |e: parquet::errors::ParquetError| DataFusionError::Execution(format!("writing {path}: {e}"));
    let mut writer = AsyncArrowWriter::try_new(BufWriter::new(store, path.clone()), schema, Some(props))
        .map_err(context)?;
    let mut rows = 0u64;
    while let Some(batch) = rx.recv().await {
        rows += batch.num_rows() as u64;
        writer.write(&batch).await.map_err(context)?;
    }
    writer.close().await.map_err(context)?;
    Ok(rows)
}

/// A write-only table over a sink, so results reach it through DataFusion's own insert path
/// (`DataFrame::write_table` / `INSERT INTO`).
#[derive(Debug)]
pub struct SinkTable {
    sink: Arc<dyn DataSink>,
}

impl SinkTable {
    pub fn new(sink: Arc<dyn DataSink>) -> Self {
        Self { sink }
    }
}

#[async_trait]
impl TableProvider for SinkTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(self.sink.schema())
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::Plan(
            "an output table can be written, not read".into(),
        ))
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if insert_op != InsertOp::Append && insert_op != InsertOp::Overwrite {
            return Err(DataFusionError::NotImplemented(format!(
                "{insert_op} into an output table"
            )));
        }
        Ok(Arc::new(DataSinkExec::new(input, Arc::clone(&self.sink), None)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    use datafusion::prelude::SessionContext;
    use object_store::memory::InMemory;

    /// Many files, fewer encoders than files, and a stale file from an earlier run: every row is
    /// counted and written once, and only this run's files remain.
    #[tokio::test]
    async fn writes_every_row_across_many_files() {
        let ctx = SessionContext::new();
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        ctx.register_object_store(&url::Url::parse("memory://sink").unwrap(), Arc::clone(&store));
        let location = Location::resolve(&ctx, "memory://sink/out").unwrap();
        store
            .put(&location.child("T").join("part-00099.parquet"), vec![1u8].into())
            .await
            .unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, false)]));
        let batches: Vec<Result<RecordBatch>> = (0..10)
            .map(|b| {
                let values = Int32Array::from_iter_values(b * 100..b * 100 + 100);
                Ok(RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(values)]).unwrap())
            })
            .collect();
        let stream = Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&schema),
            futures::stream::iter(batches),
        ));
        let sink = ParquetDatasetSink::new(&location, "T", Arc::clone(&schema), 2).with_rows_per_file(130);
        let written = sink.write_all(stream, &ctx.task_ctx()).await.unwrap();
        assert_eq!(written, 1000);

        let files: Vec<_> = store
            .list(Some(&location.child("T")))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(files.len(), 8, "1000 rows in files of 130");
        ctx.register_parquet("t", "memory://sink/out/T/", Default::default())
            .await
            .unwrap();
        let df = ctx
            .sql("SELECT COUNT(*), COUNT(DISTINCT x), MIN(x), MAX(x) FROM t")
            .await
            .unwrap();
        let row = df.collect().await.unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&row)
            .unwrap()
            .to_string();
        let values: Vec<&str> = text.lines().nth(3).unwrap().split('|').map(str::trim).collect();
        assert_eq!(values, ["", "1000", "1000", "0", "999", ""], "{text}");
    }
}
