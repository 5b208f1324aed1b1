//! The file source: each table is `<dir>/<Table>.parquet`, `<dir>/<Table>.csv`, or a directory
//! `<dir>/<Table>/` of Parquet files, read through `object_store`.
//!
//! [`FileTable`] is a DataFusion `TableProvider`; its scan ([`FileScanExec`]) streams the files in path
//! order on one partition so the source ordinal is the true source order, which the contract's
//! "first row wins" rules need. DataFusion repartitions downstream for the parallel stages.

mod csv;
mod csv_text;
mod parquet;

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream};
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

use super::Source;
use super::canonical::TableLayout;
use super::location::Location;
use super::stream::{ScanExec, SourceScan, column_list};

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

/// One source table stored as files, checked when opened (see [`csv`] and [`parquet`]).
#[derive(Debug)]
pub struct FileTable {
    store: Arc<dyn ObjectStore>,
    files: Vec<ObjectMeta>,
    /// Each file as the user names it (under the location they gave), for messages.
    shown: Vec<String>,
    encoding: Encoding,
    layout: Arc<TableLayout>,
    rows: u64,
}

impl FileTable {
    /// Finds the table's files and checks them: columns against the contract, and a CSV file whole.
    pub async fn open(location: &Location, table: &str) -> Result<Self> {
        let store = Arc::clone(&location.store);
        let (files, is_csv) = find_files(location, table).await?;
        let shown: Vec<String> = files.iter().map(|f| shown_path(location, f)).collect();
        let (encoding, layout, rows) = if is_csv {
            let checked = csv::open(&store, &files[0], &shown[0], table).await?;
            let encoding = Encoding::Csv {
                schema: checked.schema,
            };
            (encoding, checked.layout, checked.rows)
        } else {
            let (schema, rows) = parquet::open(&store, &files, &shown, table).await?;
            let origin = match files.len() {
                1 => shown[0].clone(),
                _ => location.subdir(table).display,
            };
            (
                Encoding::Parquet,
                TableLayout::new(table, &schema, &origin)?,
                rows,
            )
        };
        Ok(Self {
            store,
            files,
            shown,
            encoding,
            layout: Arc::new(layout),
            rows,
        })
    }

    /// The table's rows, counted when it was opened.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// What the table is read from: its file, or its directory of files.
    pub fn origin(&self) -> &str {
        &self.layout.origin
    }
}

/// `file` as the user would name it: the location as they gave it, then the path below it.
fn shown_path(location: &Location, file: &ObjectMeta) -> String {
    match file.location.prefix_match(&location.prefix) {
        Some(parts) => {
            let below: Vec<String> = parts.map(|p| p.as_ref().to_string()).collect();
            format!("{}/{}", location.display.trim_end_matches('/'), below.join("/"))
        }
        None => file.location.to_string(),
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
            files: self
                .files
                .iter()
                .cloned()
                .zip(self.shown.iter().cloned())
                .collect(),
            encoding: self.encoding.clone(),
            layout: Arc::clone(&self.layout),
            projection,
        };
        Ok(Arc::new(FileScanExec::new(scan, schema, 1)))
    }
}

/// Streams a file table's rows in source order, cast to the canonical schema, on one partition.
pub type FileScanExec = ScanExec<FileScan>;

/// What a [`FileScanExec`] reads: the table's files in path order (each with the name people know
/// it by), and the columns `projection`.
#[derive(Debug)]
pub struct FileScan {
    store: Arc<dyn ObjectStore>,
    files: Vec<(ObjectMeta, String)>,
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
            for (file, shown) in files {
                let mut batches = open_file(&store, &file, &shown, &encoding, &stored_idx, batch_size).await?;
                let mut read = 0usize;
                while let Some(batch) = batches.next().await {
                    let batch = batch.map_err(|e| parquet::damaged(
                        format!("{shown}: cannot read the rows after row {read}; the file is damaged"),
                        e,
                    ))?;
                    let position = |row: usize| format!("{shown} row {}", read + row + 1);
                    yield layout.convert_located(&projection, &out_schema, &batch, ordinal, &position)?;
                    ordinal += batch.num_rows() as i64;
                    read += batch.num_rows();
                }
            }
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// Stored batches of one file, or why the next could not be decoded.
type BatchStream = futures::stream::BoxStream<
    'static,
    std::result::Result<arrow::array::RecordBatch, Box<dyn StdError + Send + Sync>>,
>;

/// Opens one file as a stream of stored batches holding the columns `stored_idx`.
async fn open_file(
    store: &Arc<dyn ObjectStore>,
    file: &ObjectMeta,
    shown: &str,
    encoding: &Encoding,
    stored_idx: &[usize],
    batch_size: usize,
) -> Result<BatchStream> {
    match encoding {
        Encoding::Parquet => parquet::stream(store, file, shown, stored_idx, batch_size).await,
        Encoding::Csv { schema } => {
            // Checked whole when the table was opened: decoding it again cannot fail on the data.
            let text = csv::read(store, file).await?;
            let reader = csv::reader(text, schema, stored_idx.to_vec())
                .map_err(|e| crate::error::bad_input_from(format!("{shown}: cannot read the file"), e))?;
            Ok(futures::stream::iter(reader.map(|b| b.map_err(|e| Box::new(e) as _))).boxed())
        }
    }
}
