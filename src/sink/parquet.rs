//! The file sink: the result table as a Parquet dataset, `<output>/<Table>/part-NNNNN.parquet`, written
//! through `object_store` by a DataFusion `DataSink`.
//!
//! The sink cuts its (sorted) input into files of a bounded number of rows and encodes up to
//! `concurrency` files at once, each on its own task, so writing uses every core. Files left over from
//! an earlier, larger write into the same directory (`routeflow copy`) are removed after the new ones
//! are complete, so the directory reads as one table afterwards; a run writes a fresh directory of its
//! own and publishes it ([`super::publish`]). Once the run's stop is asked for, no new file starts.
//!
//! With a partition column the dataset is Hive-partitioned (`<Table>/DistributorID=D001/part-NNNNN.parquet`,
//! the column itself kept out of the files, NULL as `__HIVE_DEFAULT_PARTITION__`), so a reader looking
//! for one value opens only its files. Input grouped by that column (the result is sorted by route key)
//! gives one run of files per value; a value that comes back later simply starts another file.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::datasource::sink::DataSink;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType};
use futures::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::error::Error;
use crate::shutdown::Shutdown;
use crate::source::location::Location;

/// Rows per output file: big enough for efficient reads, small enough to encode files in parallel.
pub const ROWS_PER_FILE: usize = 262_144;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 131_072;
/// The Hive convention's directory value for NULL.
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Writes one table as a Parquet dataset directory.
#[derive(Debug)]
pub struct ParquetDatasetSink {
    store: Arc<dyn ObjectStore>,
    dir: Path,
    display: String,
    schema: SchemaRef,
    concurrency: usize,
    rows_per_file: usize,
    /// The Hive partition column: its index in `schema`, and the schema of the files (without it).
    partition: Option<(usize, SchemaRef)>,
    /// What the last write produced, for manifests and reports.
    written: Mutex<Vec<WrittenFile>>,
    /// Once it asks for a stop, no new file starts and the write fails.
    shutdown: Option<Shutdown>,
}

/// One file of a completed write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenFile {
    /// Path relative to the table directory, as stored (`part-00000.parquet`,
    /// `DistributorID=D001/part-00000.parquet`).
    pub path: String,
    pub rows: u64,
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
            partition: None,
            written: Mutex::new(Vec::new()),
            shutdown: None,
        }
    }

    /// Stops the write when `shutdown` asks: no new file starts, those in flight complete, and
    /// the write fails with [`Error::Interrupted`] (a run's files are then never published).
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = Some(shutdown);
        self
    }

    /// The error that ends the write, if a stop was asked for.
    fn stopped(&self, encoders: &Encoders<'_>) -> Option<DataFusionError> {
        let signal = self.shutdown.as_ref()?.requested()?;
        let started: usize = encoders.files_per_dir.values().sum();
        Some(crate::error::external(Error::Interrupted {
            signal,
            detail: format!(
                "{} stopped after starting {started} file(s); no new file started",
                self.display
            ),
            report: None,
        }))
    }

    /// Cuts files at `rows` rows instead of [`ROWS_PER_FILE`].
    pub fn with_rows_per_file(mut self, rows: usize) -> Self {
        self.rows_per_file = rows.max(1);
        self
    }

    /// Hive-partitions the dataset by `column` (of any type; directory names use its text form).
    pub fn with_partition_column(mut self, column: &str) -> Result<Self> {
        let index = self.schema.index_of(column)?;
        let mut fields = self.schema.fields().to_vec();
        fields.remove(index);
        let file_schema = Schema::new_with_metadata(fields, self.schema.metadata().clone());
        self.partition = Some((index, Arc::new(file_schema)));
        Ok(self)
    }

    /// The files of the last completed write, sorted by path.
    pub fn written_files(&self) -> Vec<WrittenFile> {
        self.written.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// The path of file `n` of a partition (`None`: unpartitioned, in the table directory itself).
    /// object_store percent-encodes what a path segment cannot hold (`/`, `%`, ...); Hive readers
    /// decode it.
    fn file_path(&self, partition: Option<&Option<String>>, n: usize) -> Path {
        let mut path = self.dir.clone();
        if let (Some(value), Some((index, _))) = (partition, &self.partition) {
            let value = value.as_deref().unwrap_or(NULL_PARTITION);
            path = path.join(format!("{}={value}", self.schema.field(*index).name()).as_str());
        }
        path.join(format!("part-{n:05}.parquet").as_str())
    }

    fn file_schema(&self) -> SchemaRef {
        match &self.partition {
            Some((_, schema)) => Arc::clone(schema),
            None => Arc::clone(&self.schema),
        }
    }

    /// Splits `batch` into runs of one partition value each, without the partition column.
    fn split(&self, batch: RecordBatch) -> Result<Vec<(Option<Option<String>>, RecordBatch)>> {
        let Some((index, file_schema)) = &self.partition else {
            return Ok(vec![(None, batch)]);
        };
        let values = arrow::compute::cast(batch.column(*index), &DataType::Utf8)?;
        let ranges = arrow::compute::partition(std::slice::from_ref(&values))?.ranges();
        let text = values.as_string::<i32>();
        let mut columns = batch.columns().to_vec();
        columns.remove(*index);
        let rest = RecordBatch::try_new(Arc::clone(file_schema), columns)?;
        Ok(ranges
            .into_iter()
            .map(|r| {
                let value = text.is_valid(r.start).then(|| text.value(r.start).to_string());
                (Some(value), rest.slice(r.start, r.end - r.start))
            })
            .collect())
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
        let mut encoders = Encoders::new(self);
        // The file being filled: its sender, partition and row count so far.
        let mut current: Option<(mpsc::Sender<RecordBatch>, Option<Option<String>>, usize)> = None;
        while let Some(batch) = data.next().await {
            if let Some(stop) = self.stopped(&encoders) {
                drop(current);
                encoders.drain().await;
                return Err(stop);
            }
            for (partition, mut piece) in self.split(batch?)? {
                while piece.num_rows() > 0 {
                    if current.as_ref().is_some_and(|(_, p, _)| *p != partition) {
                        current = None;
                    }
                    if current.is_none() {
                        let tx = encoders.start(partition.clone()).await?;
                        current = Some((tx, partition.clone(), 0));
                    }
                    let (sender, _, rows_in_file) = current.as_mut().expect("open file");
                    let take = piece.num_rows().min(self.rows_per_file - *rows_in_file);
                    let head = piece.slice(0, take);
                    piece = piece.slice(take, piece.num_rows() - take);
                    *rows_in_file += take;
                    let full = *rows_in_file == self.rows_per_file;
                    if sender.send(head).await.is_err() {
                        // The encoder stopped early: its error surfaces below.
                        break;
                    }
                    if full {
                        current = None;
                    }
                }
            }
        }
        drop(current);
        if encoders.files_per_dir.is_empty() && self.partition.is_none() {
            // An empty result is still a readable (empty) table.
            drop(encoders.start(None).await?);
        }
        let mut written = encoders.finish().await?;
        written.sort_by(|a, b| a.path.cmp(&b.path));
        self.remove_stale(&written).await?;
        let rows = written.iter().map(|f| f.rows).sum();
        if let Ok(mut last) = self.written.lock() {
            *last = written;
        }
        Ok(rows)
    }
}

/// The files of one write being encoded, at most `concurrency` at once, and those done.
struct Encoders<'a> {
    sink: &'a ParquetDatasetSink,
    tasks: JoinSet<Result<WrittenFile>>,
    done: Vec<WrittenFile>,
    /// Files started per partition (`None`: unpartitioned), which numbers the next one.
    files_per_dir: HashMap<Option<Option<String>>, usize>,
}

impl<'a> Encoders<'a> {
    fn new(sink: &'a ParquetDatasetSink) -> Self {
        Self {
            sink,
            tasks: JoinSet::new(),
            done: Vec::new(),
            files_per_dir: HashMap::new(),
        }
    }

    /// Starts the next file of `partition` once fewer than `concurrency` are being encoded, unless
    /// a stop was asked for; returns where its batches go.
    async fn start(&mut self, partition: Option<Option<String>>) -> Result<mpsc::Sender<RecordBatch>> {
        while self.tasks.len() >= self.sink.concurrency {
            self.done.push(join_next(&mut self.tasks).await?);
        }
        if let Some(stop) = self.sink.stopped(self) {
            self.drain().await;
            return Err(stop);
        }
        let n = self.files_per_dir.entry(partition.clone()).or_default();
        let (tx, rx) = mpsc::channel(4);
        self.tasks.spawn(encode_file(
            Arc::clone(&self.sink.store),
            self.sink.dir.clone(),
            self.sink.file_path(partition.as_ref(), *n),
            self.sink.file_schema(),
            rx,
        ));
        *n += 1;
        Ok(tx)
    }

    /// Every file, once all are encoded.
    async fn finish(mut self) -> Result<Vec<WrittenFile>> {
        while !self.tasks.is_empty() {
            self.done.push(join_next(&mut self.tasks).await?);
        }
        Ok(self.done)
    }

    /// Lets the files in flight complete (their senders dropped), whatever their outcome: on a
    /// stop, the directory is not used.
    async fn drain(&mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn join_next(tasks: &mut JoinSet<Result<WrittenFile>>) -> Result<WrittenFile> {
    match tasks.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(DataFusionError::Execution(format!(
            "Parquet writer task failed: {e}"
        ))),
        None => Err(DataFusionError::Internal("no writer task to wait for".into())),
    }
}

impl ParquetDatasetSink {
    /// Deletes Parquet files under the directory that this write did not produce.
    async fn remove_stale(&self, written: &[WrittenFile]) -> Result<()> {
        let keep = written
            .iter()
            .map(|f| child_path(&self.dir, &f.path))
            .collect::<Result<Vec<_>>>()?;
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

/// The path `relative` (as stored, already encoded) under `dir`.
pub fn child_path(dir: &Path, relative: &str) -> Result<Path> {
    let raw = if dir.as_ref().is_empty() {
        relative.to_string()
    } else {
        format!("{dir}/{relative}")
    };
    Path::parse(&raw).map_err(|e| DataFusionError::Execution(format!("bad path {raw}: {e}")))
}

/// `path` relative to `dir`, as stored.
fn relative_path(dir: &Path, path: &Path) -> String {
    path.prefix_match(dir)
        .map(|parts| {
            parts
                .map(|p| p.as_ref().to_string())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_else(|| path.to_string())
}

/// Encodes the batches received on `rx` into the Parquet file `path` under `dir`.
async fn encode_file(
    store: Arc<dyn ObjectStore>,
    dir: Path,
    path: Path,
    schema: SchemaRef,
    mut rx: mpsc::Receiver<RecordBatch>,
) -> Result<WrittenFile> {
    let relative = relative_path(&dir, &path);
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
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
    Ok(WrittenFile { path: relative, rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    use datafusion::prelude::SessionContext;
    use object_store::memory::InMemory;

    /// A session with an in-memory store at `memory://<name>`, and the location `<name>/out` in it.
    fn in_memory(name: &str) -> (SessionContext, Arc<dyn ObjectStore>, Location) {
        let ctx = SessionContext::new();
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let url = format!("memory://{name}");
        ctx.register_object_store(&url::Url::parse(&url).unwrap(), Arc::clone(&store));
        let location = Location::resolve(&ctx, &format!("{url}/out")).unwrap();
        (ctx, store, location)
    }

    fn stream_of(schema: &SchemaRef, batches: Vec<Result<RecordBatch>>) -> SendableRecordBatchStream {
        Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(schema),
            futures::stream::iter(batches),
        ))
    }

    /// Many files, fewer encoders than files, and a stale file from an earlier run: every row is
    /// counted and written once, and only this run's files remain.
    #[tokio::test]
    async fn writes_every_row_across_many_files() {
        let (ctx, store, location) = in_memory("sink");
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
        let stream = stream_of(&schema, batches);
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

    /// A stop asked for while batches still come: the files begun complete, no new one starts, and
    /// the write fails as interrupted (a run then publishes nothing).
    #[tokio::test]
    async fn a_stop_starts_no_new_file_and_fails_the_write() {
        use crate::shutdown::{Shutdown, Signal};
        let (ctx, store, location) = in_memory("stop");
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, false)]));
        let shutdown = Shutdown::new();
        let stream = Box::pin(RecordBatchStreamAdapter::new(Arc::clone(&schema), {
            let (schema, shutdown) = (Arc::clone(&schema), shutdown.clone());
            futures::stream::iter(0..10).map(move |b| {
                if b == 2 {
                    shutdown.request(Signal::Terminate);
                }
                let values = Int32Array::from_iter_values(b * 100..b * 100 + 100);
                Ok(RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(values)]).unwrap())
            })
        }));
        let sink = ParquetDatasetSink::new(&location, "T", Arc::clone(&schema), 4)
            .with_rows_per_file(100)
            .with_shutdown(shutdown);
        let e = sink.write_all(stream, &ctx.task_ctx()).await.unwrap_err();
        assert!(
            matches!(crate::error::find(&e), Some(Error::Interrupted { .. })),
            "{e}"
        );
        let mut files: Vec<String> = store
            .list(Some(&location.child("T")))
            .map_ok(|m| m.location.filename().unwrap().to_string())
            .try_collect()
            .await
            .unwrap();
        files.sort();
        assert_eq!(files, ["part-00000.parquet", "part-00001.parquet"]);
        assert!(sink.written_files().is_empty(), "nothing reported as written");
    }

    /// Hive partitions: one directory per value, NULL in the default partition, a `/` in a value
    /// percent-encoded, a value that comes back later in a new file, and the column kept out of the
    /// files but read back from the paths.
    #[tokio::test]
    async fn partitions_by_a_column_in_hive_directories() {
        use arrow::array::StringArray;
        let (ctx, _store, location) = in_memory("hive");
        let schema = Arc::new(Schema::new(vec![
            Field::new("d", DataType::Utf8, true),
            Field::new("x", DataType::Int32, false),
        ]));
        let batch = |d: Vec<Option<&str>>, x: Vec<i32>| {
            Ok(RecordBatch::try_new(
                Arc::clone(&schema),
                vec![Arc::new(StringArray::from(d)), Arc::new(Int32Array::from(x))],
            )
            .unwrap())
        };
        let batches = vec![
            batch(vec![Some("A"), Some("A"), None, Some("B/1")], vec![0, 1, 2, 3]),
            batch(vec![Some("B/1"), Some("A")], vec![4, 5]),
        ];
        let stream = stream_of(&schema, batches);
        let sink = ParquetDatasetSink::new(&location, "T", Arc::clone(&schema), 2)
            .with_partition_column("d")
            .unwrap();
        assert_eq!(sink.write_all(stream, &ctx.task_ctx()).await.unwrap(), 6);
        let files: Vec<(String, u64)> = sink
            .written_files()
            .into_iter()
            .map(|f| (f.path, f.rows))
            .collect();
        assert_eq!(
            files,
            [
                ("d=A/part-00000.parquet".to_string(), 2),
                ("d=A/part-00001.parquet".to_string(), 1),
                ("d=B%2F1/part-00000.parquet".to_string(), 2),
                ("d=__HIVE_DEFAULT_PARTITION__/part-00000.parquet".to_string(), 1),
            ]
        );
        let options = datafusion::prelude::ParquetReadOptions::default()
            .table_partition_cols(vec![("d".to_string(), DataType::Utf8)]);
        let df = ctx.read_parquet("memory://hive/out/T/", options).await.unwrap();
        assert_eq!(df.schema().fields().len(), 2, "d comes from the paths only");
        let rows = df
            .sort(vec![datafusion::prelude::col("x").sort(true, true)])
            .unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&rows.collect().await.unwrap())
            .unwrap()
            .to_string();
        let values: Vec<String> = text
            .lines()
            .skip(3)
            .filter(|l| l.starts_with('|'))
            .map(|l| {
                l.split('|')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(
            values,
            [
                "0 A",
                "1 A",
                "2 __HIVE_DEFAULT_PARTITION__",
                "3 B/1",
                "4 B/1",
                "5 A"
            ],
            "{text}"
        );
    }
}
