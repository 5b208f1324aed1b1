//! The file source: each table is `<dir>/<Table>.parquet`, `<dir>/<Table>.csv`, or a directory
//! `<dir>/<Table>/` of Parquet files, read through `object_store`.
//!
//! [`FileTable`] is a DataFusion `TableProvider`; its scan ([`FileScanExec`]) streams the files in path
//! order on one partition so the source ordinal is the true source order, which the contract's
//! "first row wins" rules need. DataFusion repartitions downstream for the parallel stages.

use std::fmt;
use std::io::Cursor;
use std::sync::Arc;

use arrow::csv::ReaderBuilder;
use arrow::csv::reader::Format;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use bytes::Bytes;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

use super::Source;
use super::canonical::TableLayout;
use super::location::Location;
use super::stream::{ScanExec, SourceScan, column_list};
use crate::schema;

/// Rows per batch when decoding CSV (Parquet keeps its reader's default).
const CSV_BATCH_ROWS: usize = 8192;
/// Rows used to infer CSV column types.
const CSV_INFER_ROWS: usize = 10_000;

/// Tables stored as files under one directory or URL.
#[derive(Debug, Clone)]
pub struct FileSource {
    location: Location,
}

impl FileSource {
    pub fn new(location: Location) -> Self {
        Self { location }
    }

    pub fn location(&self) -> &Location {
        &self.location
    }
}

#[async_trait]
impl Source for FileSource {
    fn describe(&self) -> String {
        self.location.display.clone()
    }

    async fn table(&self, table: &str) -> Result<Arc<dyn TableProvider>> {
        Ok(Arc::new(FileTable::open(&self.location, table).await?))
    }
}

/// How the files of one table are encoded.
#[derive(Debug, Clone)]
enum Encoding {
    Parquet,
    /// CSV with a header; `schema` is the inferred schema with contract text columns forced to Utf8
    /// (so store ids such as `00123` keep their leading zeros).
    Csv {
        schema: SchemaRef,
    },
}

/// One source table stored as files.
#[derive(Debug)]
pub struct FileTable {
    store: Arc<dyn ObjectStore>,
    files: Vec<ObjectMeta>,
    encoding: Encoding,
    layout: Arc<TableLayout>,
}

impl FileTable {
    /// Finds the table's files and checks their columns against the contract.
    pub async fn open(location: &Location, table: &str) -> Result<Self> {
        let store = Arc::clone(&location.store);
        let origin = &location.display;
        let (files, is_csv) = find_files(location, table).await?;
        let (stored_schema, encoding) = if is_csv {
            let schema = infer_csv_schema(&store, &files[0], table).await?;
            (schema.clone(), Encoding::Csv { schema })
        } else {
            let first = parquet_schema(&store, &files[0]).await?;
            for other in &files[1..] {
                let schema = parquet_schema(&store, other).await?;
                if schema.fields().len() != first.fields().len()
                    || schema
                        .fields()
                        .iter()
                        .zip(first.fields())
                        .any(|(a, b)| a.name() != b.name())
                {
                    return Err(crate::error::bad_input(format!(
                        "table {table} in {origin}: file {} has other columns than {}",
                        other.location, files[0].location
                    )));
                }
            }
            (first, Encoding::Parquet)
        };
        let layout = Arc::new(TableLayout::new(table, &stored_schema, origin)?);
        Ok(Self {
            store,
            files,
            encoding,
            layout,
        })
    }
}

/// Finds `<Table>.parquet`, `<Table>.csv`, or the Parquet files of `<Table>/`, in path order.
async fn find_files(location: &Location, table: &str) -> Result<(Vec<ObjectMeta>, bool)> {
    let store = &location.store;
    for (ext, is_csv) in [("parquet", false), ("csv", true)] {
        match store.head(&location.child(&format!("{table}.{ext}"))).await {
            Ok(meta) => return Ok((vec![meta], is_csv)),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let dir = location.child(table);
    let mut files: Vec<ObjectMeta> = store
        .list(Some(&dir))
        .try_filter(|m| futures::future::ready(m.location.extension() == Some("parquet")))
        .try_collect()
        .await?;
    if files.is_empty() {
        return Err(crate::error::bad_input(format!(
            "table {table} not found in {}: expected {table}.parquet, {table}.csv or a directory \
             {table}/ of Parquet files",
            location.display
        )));
    }
    files.sort_by(|a, b| a.location.cmp(&b.location));
    Ok((files, false))
}

async fn parquet_schema(store: &Arc<dyn ObjectStore>, file: &ObjectMeta) -> Result<SchemaRef> {
    let reader = ObjectReader::new(store, file);
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| DataFusionError::Execution(format!("reading {}: {e}", file.location)))?;
    Ok(Arc::clone(builder.schema()))
}

async fn infer_csv_schema(store: &Arc<dyn ObjectStore>, file: &ObjectMeta, table: &str) -> Result<SchemaRef> {
    let bytes = store.get(&file.location).await?.bytes().await?;
    let (inferred, _) = Format::default()
        .with_header(true)
        .infer_schema(Cursor::new(&bytes[..]), Some(CSV_INFER_ROWS))
        .map_err(|e| DataFusionError::Execution(format!("reading {}: {e}", file.location)))?;
    let text_columns: Vec<&str> = schema::columns(table)
        .unwrap_or_default()
        .iter()
        .filter(|c| c.data_type == schema::CanonicalType::Utf8)
        .map(|c| c.name)
        .collect();
    let fields: Vec<Field> = inferred
        .fields()
        .iter()
        .map(|f| {
            if text_columns.iter().any(|c| f.name().eq_ignore_ascii_case(c)) {
                Field::new(f.name(), DataType::Utf8, true)
            } else {
                f.as_ref().clone().with_nullable(true)
            }
        })
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

#[async_trait]
impl TableProvider for FileTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.layout.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection = projection
            .cloned()
            .unwrap_or_else(|| (0..self.layout.schema.fields().len()).collect());
        let schema = Arc::new(self.layout.schema.project(&projection)?);
        let scan = FileScan {
            store: Arc::clone(&self.store),
            files: self.files.clone(),
            encoding: self.encoding.clone(),
            layout: Arc::clone(&self.layout),
            projection,
        };
        Ok(Arc::new(FileScanExec::new(scan, schema, 1)))
    }
}

/// Streams a file table's rows in source order, cast to the canonical schema, on one partition.
pub type FileScanExec = ScanExec<FileScan>;

/// What a [`FileScanExec`] reads: the table's files in path order, and the columns `projection`.
#[derive(Debug)]
pub struct FileScan {
    store: Arc<dyn ObjectStore>,
    files: Vec<ObjectMeta>,
    encoding: Encoding,
    layout: Arc<TableLayout>,
    projection: Vec<usize>,
}

impl SourceScan for FileScan {
    const NAME: &'static str = "FileScanExec";

    fn fmt_as(&self, schema: &SchemaRef, f: &mut fmt::Formatter) -> fmt::Result {
        let kind = match self.encoding {
            Encoding::Parquet => "parquet",
            Encoding::Csv { .. } => "csv",
        };
        write!(
            f,
            "FileScanExec: table={}, {kind} files={}, projection=[{}]",
            self.layout.table,
            self.files.len(),
            column_list(schema)
        )
    }

    fn execute(
        &self,
        partition: usize,
        schema: &SchemaRef,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "FileScanExec has one partition, not {partition}"
            )));
        }
        let store = Arc::clone(&self.store);
        let files = self.files.clone();
        let encoding = self.encoding.clone();
        let layout = Arc::clone(&self.layout);
        let projection = self.projection.clone();
        let schema = Arc::clone(schema);
        let stored_idx = layout.stored_indices(&projection);
        let batch_size = context.session_config().batch_size();
        let out_schema = Arc::clone(&schema);
        let stream = async_stream::try_stream! {
            let mut ordinal: i64 = 0;
            for file in files {
                let mut batches = open_file(&store, &file, &encoding, &stored_idx, batch_size).await?;
                while let Some(batch) = batches.next().await {
                    let batch = batch?;
                    let rows = batch.num_rows() as i64;
                    yield layout.convert(&projection, &out_schema, &batch, ordinal)?;
                    ordinal += rows;
                }
            }
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

type BatchStream = futures::stream::BoxStream<'static, Result<arrow::array::RecordBatch>>;

/// Opens one file as a stream of stored batches holding the columns `stored_idx`.
async fn open_file(
    store: &Arc<dyn ObjectStore>,
    file: &ObjectMeta,
    encoding: &Encoding,
    stored_idx: &[usize],
    batch_size: usize,
) -> Result<BatchStream> {
    let context =
        |e: &dyn fmt::Display| DataFusionError::Execution(format!("reading {}: {e}", file.location));
    match encoding {
        Encoding::Parquet => {
            let reader = ObjectReader::new(store, file);
            let builder = ParquetRecordBatchStreamBuilder::new(reader)
                .await
                .map_err(|e| context(&e))?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), stored_idx.iter().copied());
            let stream = builder
                .with_projection(mask)
                .with_batch_size(batch_size)
                .build()
                .map_err(|e| context(&e))?;
            let location = file.location.clone();
            Ok(stream
                .map_err(move |e| DataFusionError::Execution(format!("reading {location}: {e}")))
                .boxed())
        }
        Encoding::Csv { schema } => {
            // CSV inputs are small hand-made or exported tables: read whole, decode in batches.
            let bytes = store.get(&file.location).await?.bytes().await?;
            let reader = ReaderBuilder::new(Arc::clone(schema))
                .with_header(true)
                .with_batch_size(CSV_BATCH_ROWS)
                .with_projection(stored_idx.to_vec())
                .build(Cursor::new(bytes))
                .map_err(|e| context(&e))?;
            let location = file.location.clone();
            let batches = reader
                .map(move |b| b.map_err(|e| DataFusionError::Execution(format!("reading {location}: {e}"))));
            Ok(futures::stream::iter(batches).boxed())
        }
    }
}

/// Reads one Parquet object with ranged requests; the size is known from the listing, so the footer
/// is fetched without probing.
#[derive(Debug, Clone)]
struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    path: object_store::path::Path,
    size: u64,
}

impl ObjectReader {
    fn new(store: &Arc<dyn ObjectStore>, file: &ObjectMeta) -> Self {
        Self {
            store: Arc::clone(store),
            path: file.location.clone(),
            size: file.size,
        }
    }
}

fn parquet_err(e: object_store::Error) -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::External(Box::new(e))
}

impl AsyncFileReader for ObjectReader {
    fn get_bytes(&mut self, range: std::ops::Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move { self.store.get_range(&self.path, range).await.map_err(parquet_err) }.boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(parquet_err)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}
