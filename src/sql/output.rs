//! Query results out: an aligned table for people; CSV, JSON or Parquet for tools. Everything but the
//! table is streamed batch by batch, so a large result never has to fit in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns, for reading.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON array of objects, one object per row.
    Json,
    /// A Parquet file (needs --out).
    Parquet,
}

/// Writes `stream` as `format` to `out` (standard output when `None`) and returns the row count.
pub async fn write(stream: SendableRecordBatchStream, format: Format, out: Option<&Path>) -> Result<u64> {
    let sink: Box<dyn Write + Send> = match out {
        Some(path) => Box::new(BufWriter::new(File::create(path).map_err(|e| {
            DataFusionError::Execution(format!("cannot create {}: {e}", path.display()))
        })?)),
        None if format == Format::Parquet => {
            return Err(crate::error::bad_input(
                "--format parquet writes a file: give it with --out FILE",
            ));
        }
        None => Box::new(BufWriter::new(std::io::stdout())),
    };
    let schema = stream.schema();
    match format {
        Format::Table => table(stream, sink).await,
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(sink);
            let rows = each_batch(stream, |b| writer.write(b).map_err(Into::into)).await?;
            writer.into_inner().flush()?;
            Ok(rows)
        }
        Format::Json => {
            let mut writer = arrow::json::ArrayWriter::new(sink);
            let rows = each_batch(stream, |b| writer.write(b).map_err(Into::into)).await?;
            if rows > 0 {
                writer.finish()?;
            }
            let mut sink = writer.into_inner();
            // The writer only opens the array at its first row.
            sink.write_all(if rows == 0 { b"[]\n" } else { b"\n" })?;
            sink.flush()?;
            Ok(rows)
        }
        Format::Parquet => parquet(stream, schema, sink).await,
    }
}

async fn each_batch(
    mut stream: SendableRecordBatchStream,
    mut write: impl FnMut(&arrow::array::RecordBatch) -> Result<()>,
) -> Result<u64> {
    let mut rows = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        write(&batch)?;
    }
    Ok(rows)
}

async fn table(stream: SendableRecordBatchStream, mut sink: Box<dyn Write + Send>) -> Result<u64> {
    let schema = stream.schema();
    let batches = datafusion::physical_plan::common::collect(stream).await?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    // With the schema, an empty result still shows its column names.
    writeln!(
        sink,
        "{}",
        arrow::util::pretty::pretty_format_batches_with_schema(schema, &batches)?
    )?;
    writeln!(sink, "{rows} row{}", if rows == 1 { "" } else { "s" })?;
    sink.flush()?;
    Ok(rows as u64)
}

async fn parquet(
    stream: SendableRecordBatchStream,
    schema: SchemaRef,
    sink: Box<dyn Write + Send>,
) -> Result<u64> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer = ArrowWriter::try_new(sink, schema, Some(props))?;
    let rows = each_batch(stream, |b| writer.write(b).map_err(Into::into)).await?;
    writer.close()?;
    Ok(rows)
}
