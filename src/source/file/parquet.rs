//! Parquet table files. Opening reads each file's footer (metadata and schema, a few kilobytes):
//! a truncated file or one that is not Parquet ends the run there, and the row counts come free.
//! Data pages are only decoded by the scan; a damaged one is bad input naming the file.

use std::error::Error as StdError;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use datafusion::error::{DataFusionError, Result};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

use super::BatchStream;
use crate::error::{bad_input, bad_input_from};

/// The stored schema and row count of the Parquet files of one table (all with the same columns).
pub async fn open(
    store: &Arc<dyn ObjectStore>,
    files: &[ObjectMeta],
    shown: &[String],
    table: &str,
) -> Result<(SchemaRef, u64)> {
    let (first, mut rows) = footer(store, &files[0], &shown[0]).await?;
    for (other, other_shown) in files.iter().zip(shown).skip(1) {
        let (schema, n) = footer(store, other, other_shown).await?;
        if schema.fields().len() != first.fields().len()
            || schema
                .fields()
                .iter()
                .zip(first.fields())
                .any(|(a, b)| a.name() != b.name())
        {
            return Err(bad_input(format!(
                "table {table}: file {other_shown} has other columns than {}",
                shown[0]
            )));
        }
        rows += n;
    }
    Ok((first, rows))
}

/// One file's schema and row count, from its footer.
async fn footer(store: &Arc<dyn ObjectStore>, file: &ObjectMeta, shown: &str) -> Result<(SchemaRef, u64)> {
    let builder = builder(store, file, shown).await?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    Ok((Arc::clone(builder.schema()), rows))
}

/// A reader of one file, its footer read and checked.
async fn builder(
    store: &Arc<dyn ObjectStore>,
    file: &ObjectMeta,
    shown: &str,
) -> Result<ParquetRecordBatchStreamBuilder<ObjectReader>> {
    if file.size == 0 {
        return Err(bad_input(format!(
            "{shown} is empty (0 bytes, no Parquet footer)"
        )));
    }
    ParquetRecordBatchStreamBuilder::new(ObjectReader::new(store, file))
        .await
        .map_err(|e| {
            damaged(
                format!("{shown} is not a readable Parquet file (truncated, or not Parquet)"),
                e,
            )
        })
}

/// Bad input, unless the file could not be fetched (a lost connection is no fault of the data).
pub fn damaged(message: String, e: impl Into<Box<dyn StdError + Send + Sync>>) -> DataFusionError {
    let e = e.into();
    if fetch_failed(e.as_ref()) {
        DataFusionError::Context(message, Box::new(DataFusionError::External(e)))
    } else {
        bad_input_from(message, e)
    }
}

/// Whether reading the bytes failed, rather than making sense of them.
fn fetch_failed(e: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<object_store::Error>() || e.is::<std::io::Error>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// Streams the stored columns `stored_idx` of one file.
pub async fn stream(
    store: &Arc<dyn ObjectStore>,
    file: &ObjectMeta,
    shown: &str,
    stored_idx: &[usize],
    batch_size: usize,
) -> Result<BatchStream> {
    let builder = builder(store, file, shown).await?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), stored_idx.iter().copied());
    let stream = builder
        .with_projection(mask)
        .with_batch_size(batch_size)
        .build()
        .map_err(|e| damaged(format!("{shown}: cannot read the file"), e))?;
    Ok(stream.map_err(|e| Box::new(e) as _).boxed())
}

/// Reads one Parquet object with ranged requests; the size is known from the listing, so the footer
/// is fetched without probing.
#[derive(Debug, Clone)]
pub struct ObjectReader {
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
