//! Reading side: tiberius rows → Arrow record batches. Each value is converted by its column type's
//! read codec ([`codec`], chosen by the [type table](super::table)) and appended to an Arrow
//! builder for the schema's field type.

pub(crate) mod codec;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder, UInt8Builder, make_array,
};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use tiberius::ColumnData;

use super::{SqlColumn, TypeError, ValueProblem};

/// Converts one value from the server (never a NULL) into a cell of its column.
pub(crate) type ReadFn = for<'a> fn(ColumnData<'a>, &ReadTarget) -> Result<Cell<'a>, TypeError>;

/// What a read codec converts to: the column, and the Arrow type built for it.
pub(crate) struct ReadTarget {
    pub column: SqlColumn,
    pub data_type: DataType,
    /// The scale of a decimal field.
    pub scale: u8,
    /// The unit of a timestamp or time field.
    pub unit: TimeUnit,
}

impl ReadTarget {
    /// A value of another type than the column's.
    pub fn unexpected(&self, value: &ColumnData<'_>) -> TypeError {
        TypeError::UnexpectedValue {
            column: self.column.label(),
            declaration: self.column.declaration(),
            variant: variant_name(value),
        }
    }

    /// A value the field cannot hold.
    pub fn does_not_fit(&self, problem: ValueProblem) -> TypeError {
        TypeError::ValueDoesNotFit {
            column: self.column.label(),
            problem,
        }
    }
}

/// A value checked against its column, held until the whole row has been checked so a bad
/// value never leaves the builders with columns of different lengths.
pub(crate) enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    F32(f32),
    F64(f64),
    Dec(i128),
    Str(Cow<'a, str>),
    Text(String),
    Bytes(Cow<'a, [u8]>),
    Date(i32),
}

/// One Arrow builder per column; what each accepts depends on the schema's field type.
enum Builder {
    Bool(BooleanBuilder),
    U8(UInt8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Decimal(Decimal128Builder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    /// Timestamps and Time64 are collected as i64 ticks and retyped on finish.
    Ticks(Int64Builder),
}

/// A column being read: its codec, what it converts to, and the builder.
struct Col {
    target: ReadTarget,
    read: ReadFn,
    builder: Builder,
}

/// Builds Arrow record batches from tiberius rows, column by column (reading side).
pub struct BatchBuilder {
    schema: SchemaRef,
    columns: Vec<Col>,
    rows: usize,
}

impl BatchBuilder {
    /// `schema` fields are the `arrow_type()`s of `columns` (same order). Timestamp and time
    /// fields may use any unit (nanoseconds fail on values after 2262 or before 1677).
    pub fn new(columns: &[SqlColumn], schema: SchemaRef, capacity: usize) -> Result<Self, TypeError> {
        if schema.fields().len() != columns.len() {
            return Err(TypeError::SchemaShape {
                fields: schema.fields().len(),
                columns: columns.len(),
            });
        }
        let columns = columns
            .iter()
            .zip(schema.fields())
            .map(|(column, field)| Col::new(column, field.data_type(), capacity))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            schema,
            columns,
            rows: 0,
        })
    }

    /// Appends one row given as the row's ColumnData values in column order (callers pass
    /// `row.into_iter()` of a `tiberius::Row`). A value whose variant does not fit the column is
    /// an error naming the column; the row is then not appended at all.
    pub fn push_row<'a>(&mut self, row: impl IntoIterator<Item = ColumnData<'a>>) -> Result<(), TypeError> {
        let mut cells = Vec::with_capacity(self.columns.len());
        let mut values = row.into_iter();
        for col in &self.columns {
            let value = values.next().ok_or(TypeError::RowTooShort {
                values: cells.len(),
                columns: self.columns.len(),
            })?;
            cells.push(col.check(value)?);
        }
        if values.next().is_some() {
            return Err(TypeError::RowTooLong {
                columns: self.columns.len(),
            });
        }
        for (col, cell) in self.columns.iter_mut().zip(cells) {
            col.builder.append(cell);
        }
        self.rows += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Takes the rows so far as a batch and resets the builder.
    pub fn finish(&mut self) -> Result<RecordBatch, TypeError> {
        let arrays = self
            .columns
            .iter_mut()
            .map(|col| col.builder.finish(&col.target.data_type))
            .collect::<Result<Vec<_>, _>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options).map_err(|source| {
            TypeError::Arrow {
                context: "building a record batch".into(),
                source,
            }
        })
    }
}

impl Col {
    fn new(column: &SqlColumn, data_type: &DataType, capacity: usize) -> Result<Self, TypeError> {
        let ty = column.resolve()?;
        let canonical = ty.arrow_type();
        let fits = match (&canonical, data_type) {
            (DataType::Timestamp(_, a), DataType::Timestamp(_, b)) => a.is_some() == b.is_some(),
            (DataType::Time64(_), DataType::Time64(_)) => true,
            (a, b) => a == b,
        };
        let cannot_read = || TypeError::CannotRead {
            column: column.label(),
            declaration: column.declaration(),
            requested: data_type.clone(),
            expected: canonical.clone(),
        };
        if !fits {
            return Err(cannot_read());
        }
        let builder = Builder::new(data_type, capacity)
            .map_err(|source| TypeError::Arrow {
                context: column.label(),
                source,
            })?
            .ok_or_else(cannot_read)?;
        let (scale, unit) = match data_type {
            DataType::Decimal128(_, s) => (*s as u8, TimeUnit::Nanosecond),
            DataType::Timestamp(unit, _) | DataType::Time64(unit) => (0, *unit),
            _ => (0, TimeUnit::Nanosecond),
        };
        Ok(Self {
            target: ReadTarget {
                column: column.clone(),
                data_type: data_type.clone(),
                scale,
                unit,
            },
            read: ty.sql.read,
            builder,
        })
    }

    /// Converts `value` for this column without touching the builder.
    fn check<'a>(&self, value: ColumnData<'a>) -> Result<Cell<'a>, TypeError> {
        if is_null(&value) {
            return Ok(Cell::Null);
        }
        (self.read)(value, &self.target)
    }
}

impl Builder {
    /// An empty builder for `data_type`; `None` for a type no SQL Server column is read as.
    fn new(data_type: &DataType, n: usize) -> Result<Option<Self>, ArrowError> {
        Ok(Some(match data_type {
            DataType::Boolean => Builder::Bool(BooleanBuilder::with_capacity(n)),
            DataType::UInt8 => Builder::U8(UInt8Builder::with_capacity(n)),
            DataType::Int16 => Builder::I16(Int16Builder::with_capacity(n)),
            DataType::Int32 => Builder::I32(Int32Builder::with_capacity(n)),
            DataType::Int64 => Builder::I64(Int64Builder::with_capacity(n)),
            DataType::Float32 => Builder::F32(Float32Builder::with_capacity(n)),
            DataType::Float64 => Builder::F64(Float64Builder::with_capacity(n)),
            DataType::Decimal128(p, s) => {
                Builder::Decimal(Decimal128Builder::with_capacity(n).with_precision_and_scale(*p, *s)?)
            }
            DataType::Utf8 => Builder::Utf8(StringBuilder::with_capacity(n, n * 16)),
            DataType::Binary => Builder::Binary(BinaryBuilder::with_capacity(n, n * 16)),
            DataType::Date32 => Builder::Date(Date32Builder::with_capacity(n)),
            DataType::Timestamp(..) | DataType::Time64(_) => Builder::Ticks(Int64Builder::with_capacity(n)),
            _ => return Ok(None),
        }))
    }

    /// Appends a cell made by this column's codec.
    fn append(&mut self, cell: Cell<'_>) {
        match (self, cell) {
            (Builder::Bool(b), Cell::Null) => b.append_null(),
            (Builder::Bool(b), Cell::Bool(v)) => b.append_value(v),
            (Builder::U8(b), Cell::Null) => b.append_null(),
            (Builder::U8(b), Cell::Int(v)) => b.append_value(v as u8),
            (Builder::I16(b), Cell::Null) => b.append_null(),
            (Builder::I16(b), Cell::Int(v)) => b.append_value(v as i16),
            (Builder::I32(b), Cell::Null) => b.append_null(),
            (Builder::I32(b), Cell::Int(v)) => b.append_value(v as i32),
            (Builder::I64(b) | Builder::Ticks(b), Cell::Null) => b.append_null(),
            (Builder::I64(b) | Builder::Ticks(b), Cell::Int(v)) => b.append_value(v),
            (Builder::F32(b), Cell::Null) => b.append_null(),
            (Builder::F32(b), Cell::F32(v)) => b.append_value(v),
            (Builder::F64(b), Cell::Null) => b.append_null(),
            (Builder::F64(b), Cell::F64(v)) => b.append_value(v),
            (Builder::Decimal(b), Cell::Null) => b.append_null(),
            (Builder::Decimal(b), Cell::Dec(v)) => b.append_value(v),
            (Builder::Utf8(b), Cell::Null) => b.append_null(),
            (Builder::Utf8(b), Cell::Str(s)) => b.append_value(s),
            (Builder::Utf8(b), Cell::Text(s)) => b.append_value(s),
            (Builder::Binary(b), Cell::Null) => b.append_null(),
            (Builder::Binary(b), Cell::Bytes(v)) => b.append_value(v),
            (Builder::Date(b), Cell::Null) => b.append_null(),
            (Builder::Date(b), Cell::Date(v)) => b.append_value(v),
            _ => unreachable!("a column's codec only yields cells its builder accepts"),
        }
    }

    /// The array so far, as `data_type`.
    fn finish(&mut self, data_type: &DataType) -> Result<ArrayRef, TypeError> {
        Ok(match self {
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::U8(b) => Arc::new(b.finish()),
            Builder::I16(b) => Arc::new(b.finish()),
            Builder::I32(b) => Arc::new(b.finish()),
            Builder::I64(b) => Arc::new(b.finish()),
            Builder::F32(b) => Arc::new(b.finish()),
            Builder::F64(b) => Arc::new(b.finish()),
            Builder::Decimal(b) => Arc::new(b.finish()),
            Builder::Utf8(b) => Arc::new(b.finish()),
            Builder::Binary(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Ticks(b) => {
                let data = b
                    .finish()
                    .into_data()
                    .into_builder()
                    .data_type(data_type.clone())
                    .build()
                    .map_err(|source| TypeError::Arrow {
                        context: format!("building a {data_type} array"),
                        source,
                    })?;
                make_array(data)
            }
        })
    }
}

/// Any `None`: typeless NULLs arrive as `I32(None)` and NBCROW nulls use the column's own
/// variant, so the variant of a NULL says nothing.
fn is_null(value: &ColumnData<'_>) -> bool {
    use ColumnData as C;
    match value {
        C::U8(v) => v.is_none(),
        C::I16(v) => v.is_none(),
        C::I32(v) => v.is_none(),
        C::I64(v) => v.is_none(),
        C::F32(v) => v.is_none(),
        C::F64(v) => v.is_none(),
        C::Bit(v) => v.is_none(),
        C::String(v) => v.is_none(),
        C::Guid(v) => v.is_none(),
        C::Binary(v) => v.is_none(),
        C::Numeric(v) => v.is_none(),
        C::Xml(v) => v.is_none(),
        C::DateTime(v) => v.is_none(),
        C::SmallDateTime(v) => v.is_none(),
        C::Time(v) => v.is_none(),
        C::Date(v) => v.is_none(),
        C::DateTime2(v) => v.is_none(),
        C::DateTimeOffset(v) => v.is_none(),
    }
}

fn variant_name(value: &ColumnData<'_>) -> &'static str {
    use ColumnData as C;
    match value {
        C::U8(_) => "U8",
        C::I16(_) => "I16",
        C::I32(_) => "I32",
        C::I64(_) => "I64",
        C::F32(_) => "F32",
        C::F64(_) => "F64",
        C::Bit(_) => "Bit",
        C::String(_) => "String",
        C::Guid(_) => "Guid",
        C::Binary(_) => "Binary",
        C::Numeric(_) => "Numeric",
        C::Xml(_) => "Xml",
        C::DateTime(_) => "DateTime",
        C::SmallDateTime(_) => "SmallDateTime",
        C::Time(_) => "Time",
        C::Date(_) => "Date",
        C::DateTime2(_) => "DateTime2",
        C::DateTimeOffset(_) => "DateTimeOffset",
    }
}
