//! Writing side: Arrow record batches → tiberius bulk-insert rows. Each column is converted by its
//! target type's write codec ([`codec`], chosen by the [type table](super::table)).
//!
//! tiberius encodes each `ColumnData` against the server's metadata for the target column and
//! only accepts the matching variant: `U8`/`I16`/`I32`/`I64` for tinyint/smallint/int/bigint,
//! `F32` for real, `F64` for float, `Numeric` for decimal (rescaled by tiberius, but we send the
//! column's scale) and money (exact, unlike `F64`), `String` for all character types, `Guid`,
//! `Binary`, `Date`, `DateTime`, `SmallDateTime`, `DateTime2`, `Time` and `DateTimeOffset`.
//! `Time` and `DateTimeOffset` are written at the value's own scale, so they must carry the
//! column's scale exactly, and `DateTime2` is rescaled through an f64 when its scale differs,
//! so it is also built at the column's scale.

mod arrays;
pub(crate) mod codec;
mod num;
#[cfg(test)]
mod tests;

use arrow::array::{Array, ArrayRef};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use tiberius::{ColumnData, TokenRow};

use super::table::{ColumnType, Unit, Width};
use super::{SqlColumn, TypeError, ValueProblem, field_index};
use arrays::{as_text, strings};

pub(crate) use codec::WriteFn;

/// What to do with a string longer than its target column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WidthPolicy {
    Truncate,
    Strict,
}

/// One value that did not fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Truncation {
    pub column: String,
    /// Index in the batch.
    pub row: usize,
    /// The column's width: UTF-16 code units for nchar/nvarchar, characters for char/varchar.
    pub width: usize,
    /// The value's length in the same units.
    pub length: usize,
    /// The full original value.
    pub value: String,
}

/// What a write codec writes into, and where it reports the values it cut to fit.
pub(crate) struct Encoder<'a> {
    pub column: &'a SqlColumn,
    pub ty: ColumnType,
    pub policy: WidthPolicy,
    pub truncations: &'a mut Vec<Truncation>,
}

impl Encoder<'_> {
    /// The column's NULL.
    pub fn null(&self) -> ColumnData<'static> {
        self.ty.sql.null.clone()
    }

    /// An Arrow type the column cannot be written from.
    pub fn unsupported(&self, data_type: &DataType) -> TypeError {
        TypeError::CannotWrite {
            column: self.column.label(),
            data_type: data_type.clone(),
            declaration: self.column.declaration(),
        }
    }

    /// Row `row` cannot be written.
    pub fn at(&self, row: usize, problem: ValueProblem) -> TypeError {
        TypeError::BadValue {
            column: self.column.label(),
            row,
            problem,
        }
    }

    /// A date or time outside the column's range.
    pub fn out_of_range(&self) -> ValueProblem {
        ValueProblem::OutOfRange {
            declaration: self.column.declaration(),
        }
    }
}

/// Encodes a batch for tiberius bulk insert into a table whose columns are `targets` (in the
/// order of the bulk-insert column list). Batch columns are matched to targets by name
/// ([`field_index`]); target columns absent from the batch get NULL. Over-long strings are cut
/// (Truncate) or kept (Strict) and reported either way.
pub fn encode_batch(
    batch: &RecordBatch,
    targets: &[SqlColumn],
    policy: WidthPolicy,
) -> Result<(Vec<TokenRow<'static>>, Vec<Truncation>), TypeError> {
    let schema = batch.schema();
    let mut truncations = Vec::new();
    let mut columns = Vec::with_capacity(targets.len());
    for target in targets {
        let ty = target.resolve()?;
        let values = match field_index(&schema, &target.name) {
            Some(i) => {
                let mut encoder = Encoder {
                    column: target,
                    ty,
                    policy,
                    truncations: &mut truncations,
                };
                encode_column(batch.column(i), &mut encoder)?
            }
            None => vec![ty.sql.null.clone(); batch.num_rows()],
        };
        columns.push(values.into_iter());
    }
    let rows = (0..batch.num_rows())
        .map(|_| {
            let mut row = TokenRow::with_capacity(columns.len());
            for column in &mut columns {
                row.push(column.next().expect("one value per row"));
            }
            row
        })
        .collect();
    Ok((rows, truncations))
}

/// Converts one Arrow column to the values of one target column.
fn encode_column(array: &ArrayRef, encoder: &mut Encoder<'_>) -> Result<Vec<ColumnData<'static>>, TypeError> {
    // Dictionaries are written as their values.
    let array: ArrayRef = match array.data_type() {
        DataType::Dictionary(_, value) => cast(array, value).map_err(|source| TypeError::Arrow {
            context: encoder.column.label(),
            source,
        })?,
        _ => array.clone(),
    };
    if !encoder.column.nullable
        && let Some(row) = (0..array.len()).find(|&i| array.is_null(i))
    {
        return Err(encoder.at(row, ValueProblem::NullIntoNotNull));
    }
    (encoder.ty.sql.write)(&array, encoder)
}

/// The values of `batch` longer than their column in `targets` (matched as `encode_batch` does),
/// without encoding anything: a cheap check before a write that must not start when one is found.
pub fn check_widths(batch: &RecordBatch, targets: &[SqlColumn]) -> Result<Vec<Truncation>, TypeError> {
    let mut found = Vec::new();
    for target in targets {
        let Some(width) = target.resolve()?.text_width() else {
            continue;
        };
        let Some(array) = field_index(&batch.schema(), &target.name).map(|i| batch.column(i)) else {
            continue;
        };
        let not_text = || TypeError::NotText {
            column: target.name.clone(),
            data_type: array.data_type().clone(),
        };
        let text = as_text(array).ok_or_else(not_text)?;
        let read = strings(&text).ok_or_else(not_text)?;
        for i in 0..batch.num_rows() {
            if let Some((truncation, _)) = read(i).and_then(|s| overflow(s, width, &target.name, i)) {
                found.push(truncation);
            }
        }
    }
    Ok(found)
}

/// When `s` (row `row` of `column`) is longer than `width`: what to report, and where to cut.
fn overflow(s: &str, width: Width, column: &str, row: usize) -> Option<(Truncation, usize)> {
    let unicode = width.unit == Unit::Utf16;
    let cut_at = cut(s, width.length, unicode)?;
    let length = if unicode {
        s.encode_utf16().count()
    } else {
        s.chars().count()
    };
    let truncation = Truncation {
        column: column.to_string(),
        row,
        width: width.length,
        length,
        value: s.to_string(),
    };
    Some((truncation, cut_at))
}

/// The byte index to cut `s` at to fit `width` (UTF-16 code units when `unicode`, else
/// characters), or `None` when it fits. Never splits a character, so a surrogate pair that
/// would straddle the limit is dropped whole.
fn cut(s: &str, width: usize, unicode: bool) -> Option<usize> {
    // Fast path: every character takes at least one byte and at most one unit per byte.
    if s.len() <= width {
        return None;
    }
    let mut used = 0;
    for (at, c) in s.char_indices() {
        let units = if unicode { c.len_utf16() } else { 1 };
        if used + units > width {
            return Some(at);
        }
        used += units;
    }
    None
}
