//! CSV table files. They are small hand-made or exported tables, read whole; so each is decoded
//! and checked completely when the table is opened — every line has the header's field count,
//! the text is UTF-8, every value reads as its column's type — and a broken file ends the run
//! before any stage runs, naming its line and column. Scans decode it again, lazily.

use std::io::Cursor;
use std::sync::Arc;

use arrow::csv::ReaderBuilder;
use arrow::csv::reader::Format;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use datafusion::error::{DataFusionError, Result};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

use super::csv_text::{line_of_record, ragged_record, records};
use crate::error::{bad_input, bad_input_from};
use crate::schema;
use crate::source::bad_value::{BadValue, first_bad_value};
use crate::source::canonical::TableLayout;

/// Rows per batch when decoding CSV.
pub const CSV_BATCH_ROWS: usize = 8192;
/// Rows used to infer CSV column types.
const CSV_INFER_ROWS: usize = 10_000;
/// The byte order mark spreadsheet programs put before "CSV UTF-8" text.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A CSV table file, checked: its stored schema (as inferred), its layout and its row count.
pub struct CheckedCsv {
    pub schema: SchemaRef,
    pub layout: TableLayout,
    pub rows: u64,
}

/// Reads `file` (shown to people as `shown`) whole and checks it as table `table`.
pub async fn open(
    store: &Arc<dyn ObjectStore>,
    file: &ObjectMeta,
    shown: &str,
    table: &str,
) -> Result<CheckedCsv> {
    let text = read(store, file).await?;
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(bad_input(format!("{shown} is empty (no header line)")));
    }
    check_utf8(&text, shown)?;
    let schema = infer_schema(&text, table).map_err(|e| locate(&text, None, shown, e))?;
    let layout = TableLayout::new(table, &schema, shown)?;
    let rows = check_rows(&text, &schema, &layout, shown)?;
    Ok(CheckedCsv { schema, layout, rows })
}

/// The file's text, without a byte order mark.
pub async fn read(store: &Arc<dyn ObjectStore>, file: &ObjectMeta) -> Result<Bytes> {
    let bytes = store.get(&file.location).await?.bytes().await?;
    Ok(match bytes.strip_prefix(BOM) {
        Some(_) => bytes.slice(BOM.len()..),
        None => bytes,
    })
}

/// A reader of `text` decoding the stored columns `projection`, typed as `schema`.
pub fn reader(
    text: Bytes,
    schema: &SchemaRef,
    projection: Vec<usize>,
) -> std::result::Result<arrow::csv::Reader<Cursor<Bytes>>, arrow::error::ArrowError> {
    ReaderBuilder::new(Arc::clone(schema))
        .with_header(true)
        .with_batch_size(CSV_BATCH_ROWS)
        .with_projection(projection)
        .build(Cursor::new(text))
}

/// Fails naming the line and column of the first byte that is not UTF-8.
fn check_utf8(text: &[u8], shown: &str) -> Result<()> {
    let Err(e) = std::str::from_utf8(text) else {
        return Ok(());
    };
    let offset = e.valid_up_to();
    let mut all = records(text);
    let header = all.next().map(|h| h.texts()).unwrap_or_default();
    let place = match records(text).find(|r| offset < r.start + r.bytes.len()) {
        Some(r) if r.start == 0 => format!("line {}, in the header", r.line_at(offset)),
        Some(r) => {
            let field = r.field_at(offset - r.start);
            let column = header.get(field).map_or(format!("{}", field + 1), |c| c.clone());
            format!("line {}, column {column}", r.line_at(offset - r.start))
        }
        None => format!("byte {offset}"),
    };
    Err(bad_input(format!(
        "{shown} {place}: not UTF-8; save the file as UTF-8"
    )))
}

/// The stored schema: types inferred from the first rows, contract text columns forced to Utf8
/// (so store ids such as `00123` keep their leading zeros).
fn infer_schema(text: &Bytes, table: &str) -> std::result::Result<SchemaRef, arrow::error::ArrowError> {
    let (inferred, _) = Format::default()
        .with_header(true)
        .infer_schema(Cursor::new(&text[..]), Some(CSV_INFER_ROWS))?;
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

/// Decodes the whole file as the scan will and casts it to the canonical types; returns its rows.
fn check_rows(text: &Bytes, schema: &SchemaRef, layout: &TableLayout, shown: &str) -> Result<u64> {
    let all: Vec<usize> = (0..layout.schema.fields().len()).collect();
    let stored = layout.stored_indices(&all);
    let batches = reader(text.clone(), schema, stored.clone())
        .map_err(|e| locate(text, Some((schema, &stored)), shown, e))?;
    let mut rows = 0usize;
    for batch in batches {
        let batch = batch.map_err(|e| locate(text, Some((schema, &stored)), shown, e))?;
        let first = rows;
        layout.convert_located(&all, &layout.schema, &batch, first as i64, &|row| {
            line_name(text, shown, first + row)
        })?;
        rows += batch.num_rows();
    }
    Ok(rows as u64)
}

/// `customer.csv line 8` for data record `index`.
fn line_name(text: &[u8], shown: &str, index: usize) -> String {
    match line_of_record(text, index) {
        Some(line) => format!("{shown} line {line}"),
        None => format!("{shown} row {}", index + 1),
    }
}

/// Turns the reader's error into bad input naming the line (and column) at fault: a line with
/// another field count than the header, else the first value that does not read as its column's
/// stored type (`typed`: the stored schema and decoded columns), else the reader's own words.
fn locate(
    text: &Bytes,
    typed: Option<(&SchemaRef, &[usize])>,
    shown: &str,
    error: arrow::error::ArrowError,
) -> DataFusionError {
    if let Some((record, fields, header)) = ragged_record(text) {
        return bad_input(format!(
            "{shown} line {}: {fields} fields, but the header has {header}",
            record.line
        ));
    }
    if let Some((schema, columns)) = typed
        && let Ok(Some((index, column, bad))) = first_unparsable(text, schema, columns)
    {
        return bad_input(format!(
            "{}, column {column}: {}",
            line_name(text, shown, index),
            bad.describe()
        ));
    }
    bad_input_from(format!("{shown}: cannot read the file"), error)
}

/// The first value, by line then column, of the stored `columns` that does not read as the type
/// `schema` gives it: (data record index, column name, value).
fn first_unparsable(
    text: &Bytes,
    schema: &SchemaRef,
    columns: &[usize],
) -> std::result::Result<Option<(usize, String, BadValue)>, arrow::error::ArrowError> {
    let as_text = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let mut first_row = 0;
    for batch in reader(text.clone(), &as_text, columns.to_vec())? {
        let batch = batch?;
        let found = columns
            .iter()
            .enumerate()
            .filter_map(|(pos, &c)| {
                let bad = first_bad_value(batch.column(pos), schema.field(c).data_type())?;
                Some((first_row + bad.row, schema.field(c).name().clone(), bad))
            })
            .min_by_key(|(row, _, _)| *row);
        if found.is_some() {
            return Ok(found);
        }
        first_row += batch.num_rows();
    }
    Ok(None)
}
