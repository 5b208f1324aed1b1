//! Reading side: tiberius rows → Arrow record batches.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder, UInt8Builder, make_array,
};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use tiberius::ColumnData;

use super::temporal::{self, DAYS_0001_TO_1970, pow10};
use super::{Kind, SqlColumn};

/// One Arrow builder per column; what each accepts depends on the schema's field type.
enum Col {
    Bool(BooleanBuilder),
    U8(UInt8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Decimal {
        builder: Decimal128Builder,
        scale: u8,
        /// money/smallmoney selected without the cast arrive as f64 (value / 1e4).
        money: bool,
    },
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    /// Timestamps and Time64 are collected as i64 ticks of `unit` and retyped on finish.
    Ticks {
        builder: Int64Builder,
        unit: TimeUnit,
        data_type: DataType,
    },
}

/// A value checked against its column, held until the whole row has been checked so a bad
/// value never leaves the builders with columns of different lengths.
enum Cell<'a> {
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

/// Builds Arrow record batches from tiberius rows, column by column (reading side).
pub struct BatchBuilder {
    schema: SchemaRef,
    columns: Vec<SqlColumn>,
    builders: Vec<Col>,
    rows: usize,
}

impl BatchBuilder {
    /// `schema` fields are the `arrow_type()`s of `columns` (same order). Timestamp and time
    /// fields may use any unit (nanoseconds fail on values after 2262 or before 1677).
    pub fn new(columns: &[SqlColumn], schema: SchemaRef, capacity: usize) -> Result<Self, String> {
        if schema.fields().len() != columns.len() {
            return Err(format!(
                "schema has {} fields but the table has {} columns",
                schema.fields().len(),
                columns.len()
            ));
        }
        let builders = columns
            .iter()
            .zip(schema.fields())
            .map(|(column, field)| Col::new(column, field.data_type(), capacity))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            schema,
            columns: columns.to_vec(),
            builders,
            rows: 0,
        })
    }

    /// Appends one row given as the row's ColumnData values in column order (callers pass
    /// `row.into_iter()` of a `tiberius::Row`). A value whose variant does not fit the column is
    /// an error naming the column; the row is then not appended at all.
    pub fn push_row<'a>(&mut self, row: impl IntoIterator<Item = ColumnData<'a>>) -> Result<(), String> {
        let mut cells = Vec::with_capacity(self.builders.len());
        let mut values = row.into_iter();
        for (builder, column) in self.builders.iter().zip(&self.columns) {
            let value = values.next().ok_or_else(|| {
                format!(
                    "row has {} values but the table has {} columns",
                    cells.len(),
                    self.columns.len()
                )
            })?;
            cells.push(builder.check(column, value)?);
        }
        if values.next().is_some() {
            return Err(format!(
                "row has more values than the {} columns",
                self.columns.len()
            ));
        }
        for (builder, cell) in self.builders.iter_mut().zip(cells) {
            builder.append(cell);
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
    pub fn finish(&mut self) -> Result<RecordBatch, String> {
        let arrays = self
            .builders
            .iter_mut()
            .map(Col::finish)
            .collect::<Result<Vec<_>, _>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
            .map_err(|e| format!("building a record batch: {e}"))
    }
}

impl Col {
    fn new(column: &SqlColumn, data_type: &DataType, capacity: usize) -> Result<Self, String> {
        let kind = column.kind()?;
        let canonical = column.arrow_type()?;
        let fits = match (&canonical, data_type) {
            (DataType::Timestamp(_, a), DataType::Timestamp(_, b)) => a.is_some() == b.is_some(),
            (DataType::Time64(_), DataType::Time64(_)) => true,
            (a, b) => a == b,
        };
        if !fits {
            return Err(format!(
                "{} ({}) cannot be read as Arrow {data_type}; expected {canonical}",
                column.label(),
                column.declaration()
            ));
        }
        let n = capacity;
        Ok(match data_type {
            DataType::Boolean => Col::Bool(BooleanBuilder::with_capacity(n)),
            DataType::UInt8 => Col::U8(UInt8Builder::with_capacity(n)),
            DataType::Int16 => Col::I16(Int16Builder::with_capacity(n)),
            DataType::Int32 => Col::I32(Int32Builder::with_capacity(n)),
            DataType::Int64 => Col::I64(Int64Builder::with_capacity(n)),
            DataType::Float32 => Col::F32(Float32Builder::with_capacity(n)),
            DataType::Float64 => Col::F64(Float64Builder::with_capacity(n)),
            DataType::Decimal128(p, s) => Col::Decimal {
                builder: Decimal128Builder::with_capacity(n)
                    .with_precision_and_scale(*p, *s)
                    .map_err(|e| format!("{}: {e}", column.label()))?,
                scale: *s as u8,
                money: matches!(kind, Kind::Money | Kind::SmallMoney),
            },
            DataType::Utf8 => Col::Utf8(StringBuilder::with_capacity(n, n * 16)),
            DataType::Binary => Col::Binary(BinaryBuilder::with_capacity(n, n * 16)),
            DataType::Date32 => Col::Date(Date32Builder::with_capacity(n)),
            DataType::Timestamp(unit, _) | DataType::Time64(unit) => Col::Ticks {
                builder: Int64Builder::with_capacity(n),
                unit: *unit,
                data_type: data_type.clone(),
            },
            other => {
                return Err(format!(
                    "{} ({kind:?}): Arrow {other} is not supported",
                    column.label()
                ));
            }
        })
    }

    /// Converts `value` for this column without touching the builder.
    fn check<'a>(&self, column: &SqlColumn, value: ColumnData<'a>) -> Result<Cell<'a>, String> {
        use ColumnData as C;
        let mismatch = |value: &ColumnData<'_>| {
            format!(
                "{} ({}): got an unexpected {} value from the server",
                column.label(),
                column.declaration(),
                variant_name(value)
            )
        };
        if is_null(&value) {
            return Ok(Cell::Null);
        }
        let cell = match (self, value) {
            (Col::Bool(_), C::Bit(Some(v))) => Cell::Bool(v),
            (Col::U8(_), C::U8(Some(v))) => Cell::Int(i64::from(v)),
            (Col::I16(_) | Col::I32(_) | Col::I64(_), C::U8(Some(v))) => Cell::Int(i64::from(v)),
            (Col::I16(_) | Col::I32(_) | Col::I64(_), C::I16(Some(v))) => Cell::Int(i64::from(v)),
            (Col::I32(_) | Col::I64(_), C::I32(Some(v))) => Cell::Int(i64::from(v)),
            (Col::I64(_), C::I64(Some(v))) => Cell::Int(v),
            (Col::F32(_), C::F32(Some(v))) => Cell::F32(v),
            (Col::F64(_), C::F32(Some(v))) => Cell::F64(f64::from(v)),
            (Col::F64(_), C::F64(Some(v))) => Cell::F64(v),
            (Col::Decimal { scale, .. }, C::Numeric(Some(n))) => {
                let value = rescale_exact(n.value(), n.scale(), *scale)
                    .ok_or_else(|| format!("{}: decimal {n} does not fit scale {scale}", column.label()))?;
                Cell::Dec(value)
            }
            (
                Col::Decimal {
                    scale, money: true, ..
                },
                C::F64(Some(v)),
            ) => {
                let scaled = (v * pow10(u32::from(*scale)) as f64).round();
                if !scaled.is_finite() || scaled.abs() >= 1e38 {
                    return Err(format!("{}: money value {v} is out of range", column.label()));
                }
                Cell::Dec(scaled as i128)
            }
            (Col::Utf8(_), C::String(Some(s))) => Cell::Str(s),
            // Uuid's Display is the canonical lower-case hyphenated form.
            (Col::Utf8(_), C::Guid(Some(g))) => Cell::Text(g.to_string()),
            (Col::Binary(_), C::Binary(Some(b))) => Cell::Bytes(b),
            (Col::Date(_), C::Date(Some(d))) => Cell::Date((i64::from(d.days()) - DAYS_0001_TO_1970) as i32),
            (Col::Ticks { unit, data_type, .. }, value) => {
                let ticks = match (data_type, value) {
                    (DataType::Timestamp(..), C::DateTime2(Some(v))) => temporal::from_datetime2(
                        v.date().days(),
                        v.time().increments(),
                        v.time().scale(),
                        *unit,
                    ),
                    // The date/time of a datetimeoffset are UTC on the wire; the offset only
                    // says how it was written.
                    (DataType::Timestamp(..), C::DateTimeOffset(Some(v))) => {
                        let dt = v.datetime2();
                        temporal::from_datetime2(
                            dt.date().days(),
                            dt.time().increments(),
                            dt.time().scale(),
                            *unit,
                        )
                    }
                    (DataType::Timestamp(..), C::DateTime(Some(v))) => {
                        temporal::from_datetime(v.days(), v.seconds_fragments(), *unit)
                    }
                    (DataType::Timestamp(..), C::SmallDateTime(Some(v))) => {
                        temporal::from_smalldatetime(v.days(), v.seconds_fragments(), *unit)
                    }
                    (DataType::Time64(_), C::Time(Some(t))) => {
                        temporal::from_time(t.increments(), t.scale(), *unit)
                    }
                    (_, value) => return Err(mismatch(&value)),
                };
                let ticks = i64::try_from(ticks)
                    .map_err(|_| format!("{}: value does not fit an Arrow {data_type}", column.label()))?;
                Cell::Int(ticks)
            }
            (_, value) => return Err(mismatch(&value)),
        };
        Ok(cell)
    }

    /// Appends a cell made by [`Col::check`] for this column.
    fn append(&mut self, cell: Cell<'_>) {
        match (self, cell) {
            (Col::Bool(b), Cell::Null) => b.append_null(),
            (Col::Bool(b), Cell::Bool(v)) => b.append_value(v),
            (Col::U8(b), Cell::Null) => b.append_null(),
            (Col::U8(b), Cell::Int(v)) => b.append_value(v as u8),
            (Col::I16(b), Cell::Null) => b.append_null(),
            (Col::I16(b), Cell::Int(v)) => b.append_value(v as i16),
            (Col::I32(b), Cell::Null) => b.append_null(),
            (Col::I32(b), Cell::Int(v)) => b.append_value(v as i32),
            (Col::I64(b), Cell::Null) => b.append_null(),
            (Col::I64(b), Cell::Int(v)) => b.append_value(v),
            (Col::F32(b), Cell::Null) => b.append_null(),
            (Col::F32(b), Cell::F32(v)) => b.append_value(v),
            (Col::F64(b), Cell::Null) => b.append_null(),
            (Col::F64(b), Cell::F64(v)) => b.append_value(v),
            (Col::Decimal { builder, .. }, Cell::Null) => builder.append_null(),
            (Col::Decimal { builder, .. }, Cell::Dec(v)) => builder.append_value(v),
            (Col::Utf8(b), Cell::Null) => b.append_null(),
            (Col::Utf8(b), Cell::Str(s)) => b.append_value(s),
            (Col::Utf8(b), Cell::Text(s)) => b.append_value(s),
            (Col::Binary(b), Cell::Null) => b.append_null(),
            (Col::Binary(b), Cell::Bytes(v)) => b.append_value(v),
            (Col::Date(b), Cell::Null) => b.append_null(),
            (Col::Date(b), Cell::Date(v)) => b.append_value(v),
            (Col::Ticks { builder, .. }, Cell::Null) => builder.append_null(),
            (Col::Ticks { builder, .. }, Cell::Int(v)) => builder.append_value(v),
            _ => unreachable!("check() only yields cells its column accepts"),
        }
    }

    fn finish(&mut self) -> Result<ArrayRef, String> {
        Ok(match self {
            Col::Bool(b) => Arc::new(b.finish()),
            Col::U8(b) => Arc::new(b.finish()),
            Col::I16(b) => Arc::new(b.finish()),
            Col::I32(b) => Arc::new(b.finish()),
            Col::I64(b) => Arc::new(b.finish()),
            Col::F32(b) => Arc::new(b.finish()),
            Col::F64(b) => Arc::new(b.finish()),
            Col::Decimal { builder, .. } => Arc::new(builder.finish()),
            Col::Utf8(b) => Arc::new(b.finish()),
            Col::Binary(b) => Arc::new(b.finish()),
            Col::Date(b) => Arc::new(b.finish()),
            Col::Ticks {
                builder, data_type, ..
            } => {
                let data = builder
                    .finish()
                    .into_data()
                    .into_builder()
                    .data_type(data_type.clone())
                    .build()
                    .map_err(|e| format!("building a {data_type} array: {e}"))?;
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

/// `value` at scale `from` as the same number at scale `to`, if that is exact.
fn rescale_exact(value: i128, from: u8, to: u8) -> Option<i128> {
    if to >= from {
        value.checked_mul(10i128.checked_pow(u32::from(to - from))?)
    } else {
        let factor = 10i128.checked_pow(u32::from(from - to))?;
        (value % factor == 0).then(|| value / factor)
    }
}

#[cfg(test)]
mod tests {
    use super::super::temporal::days_from_civil;
    use super::super::tests::{col, plain};
    use super::*;
    use arrow::array::{
        Array, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
        Int16Array, Int32Array, Int64Array, StringArray, Time64NanosecondArray, TimestampMicrosecondArray,
        TimestampNanosecondArray, UInt8Array,
    };
    use arrow::datatypes::{Field, Schema};
    use tiberius::numeric::Numeric;
    use tiberius::time::{Date, DateTime, DateTime2, DateTimeOffset, SmallDateTime, Time};

    /// A builder over `columns` with their canonical Arrow types.
    fn builder(columns: &[SqlColumn]) -> BatchBuilder {
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| Field::new(&c.name, c.arrow_type().unwrap(), true))
            .collect();
        BatchBuilder::new(columns, Arc::new(Schema::new(fields)), 8).unwrap()
    }

    /// Reads single-column rows into one array.
    fn read_column(column: SqlColumn, values: Vec<ColumnData<'static>>) -> ArrayRef {
        let mut b = builder(std::slice::from_ref(&column));
        for v in values {
            b.push_row([v]).unwrap();
        }
        b.finish().unwrap().column(0).clone()
    }

    fn days_0001(y: i32, m: u32, d: u32) -> u32 {
        (i64::from(days_from_civil(y, m, d)) + DAYS_0001_TO_1970) as u32
    }

    #[test]
    fn reads_integers_bits_and_floats_with_limits_and_nulls() {
        let a = read_column(
            plain("b", "bit"),
            vec![
                ColumnData::Bit(Some(true)),
                ColumnData::Bit(Some(false)),
                ColumnData::Bit(None),
            ],
        );
        assert_eq!(
            a.as_any().downcast_ref::<BooleanArray>().unwrap(),
            &BooleanArray::from(vec![Some(true), Some(false), None])
        );
        let a = read_column(
            plain("t", "tinyint"),
            vec![
                ColumnData::U8(Some(0)),
                ColumnData::U8(Some(255)),
                ColumnData::U8(None),
            ],
        );
        assert_eq!(
            a.as_any().downcast_ref::<UInt8Array>().unwrap(),
            &UInt8Array::from(vec![Some(0), Some(255), None])
        );
        let a = read_column(
            plain("s", "smallint"),
            vec![
                ColumnData::I16(Some(i16::MIN)),
                ColumnData::I16(Some(i16::MAX)),
                ColumnData::I16(None),
            ],
        );
        assert_eq!(
            a.as_any().downcast_ref::<Int16Array>().unwrap(),
            &Int16Array::from(vec![Some(i16::MIN), Some(i16::MAX), None])
        );
        let a = read_column(
            plain("i", "int"),
            vec![
                ColumnData::I32(Some(i32::MIN)),
                ColumnData::I32(Some(i32::MAX)),
                ColumnData::I32(None),
            ],
        );
        assert_eq!(
            a.as_any().downcast_ref::<Int32Array>().unwrap(),
            &Int32Array::from(vec![Some(i32::MIN), Some(i32::MAX), None])
        );
        let a = read_column(
            plain("g", "bigint"),
            vec![
                ColumnData::I64(Some(i64::MIN)),
                ColumnData::I64(Some(i64::MAX)),
                // a typeless NULL arrives as I32(None) whatever the column
                ColumnData::I32(None),
            ],
        );
        assert_eq!(
            a.as_any().downcast_ref::<Int64Array>().unwrap(),
            &Int64Array::from(vec![Some(i64::MIN), Some(i64::MAX), None])
        );
        let a = read_column(
            plain("r", "real"),
            vec![
                ColumnData::F32(Some(f32::MAX)),
                ColumnData::F32(Some(-1.5e-38)),
                ColumnData::F32(None),
            ],
        );
        assert_eq!(
            a.as_any().downcast_ref::<Float32Array>().unwrap(),
            &Float32Array::from(vec![Some(f32::MAX), Some(-1.5e-38), None])
        );
        let a = read_column(
            plain("f", "float"),
            vec![
                ColumnData::F64(Some(f64::MIN)),
                ColumnData::F64(Some(0.1)),
                ColumnData::F64(None),
            ],
        );
        assert_eq!(
            a.as_any().downcast_ref::<Float64Array>().unwrap(),
            &Float64Array::from(vec![Some(f64::MIN), Some(0.1), None])
        );
    }

    #[test]
    fn reads_decimals_at_limits() {
        let max38 = 99_999_999_999_999_999_999_999_999_999_999_999_999i128;
        let a = read_column(
            col("d", "decimal", None, Some(38), Some(0)),
            vec![
                ColumnData::Numeric(Some(Numeric::new_with_scale(max38, 0))),
                ColumnData::Numeric(Some(Numeric::new_with_scale(-max38, 0))),
                ColumnData::Numeric(None),
            ],
        );
        let a = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(a.data_type(), &DataType::Decimal128(38, 0));
        assert_eq!(a.value(0), max38);
        assert_eq!(a.value(1), -max38);
        assert!(a.is_null(2));

        let a = read_column(
            col("d", "numeric", None, Some(38), Some(38)),
            vec![
                ColumnData::Numeric(Some(Numeric::new_with_scale(max38, 38))),
                ColumnData::Numeric(Some(Numeric::new_with_scale(-1, 38))),
            ],
        );
        let a = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(a.value_as_string(0), format!("0.{max38}"));
        assert_eq!(a.value_as_string(1), "-0.00000000000000000000000000000000000001");

        let a = read_column(
            col("d", "decimal", None, Some(10), Some(7)),
            vec![
                ColumnData::Numeric(Some(Numeric::new_with_scale(-123_456_789, 7))),
                // a value at another scale is rescaled when exact
                ColumnData::Numeric(Some(Numeric::new_with_scale(15, 1))),
            ],
        );
        let a = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(a.value_as_string(0), "-12.3456789");
        assert_eq!(a.value_as_string(1), "1.5000000");
    }

    #[test]
    fn reads_money_from_cast_decimal_and_from_f64() {
        let min = -9_223_372_036_854_775_808i128; // -922337203685477.5808
        let max = 9_223_372_036_854_775_807i128; // 922337203685477.5807
        // What `CAST(m AS decimal(19,4))` returns: exact at both ends.
        let a = read_column(
            plain("m", "money"),
            vec![
                ColumnData::Numeric(Some(Numeric::new_with_scale(min, 4))),
                ColumnData::Numeric(Some(Numeric::new_with_scale(max, 4))),
                ColumnData::Numeric(None),
            ],
        );
        let a = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(a.value_as_string(0), "-922337203685477.5808");
        assert_eq!(a.value_as_string(1), "922337203685477.5807");
        assert!(a.is_null(2));

        // Uncast money is tiberius' f64, which cannot hold the extremes: why select_expr casts.
        let lossy = ((max as i64 >> 32 << 32) as f64 + (max as i64 & 0xffff_ffff) as f64) / 1e4;
        let a = read_column(plain("m", "money"), vec![ColumnData::F64(Some(lossy))]);
        let a = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_ne!(a.value(0), max);

        // smallmoney as f64 (i32 / 1e4) rounds back exactly at both ends.
        let a = read_column(
            plain("s", "smallmoney"),
            vec![
                ColumnData::F64(Some(-2_147_483_648f64 / 1e4)),
                ColumnData::F64(Some(2_147_483_647f64 / 1e4)),
                ColumnData::F64(Some(0.0001)),
                ColumnData::F64(None),
            ],
        );
        let a = a.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(a.value_as_string(0), "-214748.3648");
        assert_eq!(a.value_as_string(1), "214748.3647");
        assert_eq!(a.value_as_string(2), "0.0001");
        assert!(a.is_null(3));
    }

    #[test]
    fn reads_strings_guid_and_binary() {
        let a = read_column(
            col("n", "nvarchar", Some(10), None, None),
            vec![
                ColumnData::String(Some("Ñandú 😀 漢字".into())),
                ColumnData::String(Some("".into())),
                ColumnData::String(None),
            ],
        );
        assert_eq!(
            a.as_string::<i32>(),
            &StringArray::from(vec![Some("Ñandú 😀 漢字"), Some(""), None])
        );
        let guid = tiberius::Uuid::parse_str("6F9619FF-8B86-D011-B42D-00C04FC964FF").unwrap();
        let a = read_column(
            plain("g", "uniqueidentifier"),
            vec![ColumnData::Guid(Some(guid)), ColumnData::Guid(None)],
        );
        assert_eq!(
            a.as_string::<i32>(),
            &StringArray::from(vec![Some("6f9619ff-8b86-d011-b42d-00c04fc964ff"), None])
        );
        let a = read_column(
            col("v", "varbinary", Some(-1), None, None),
            vec![
                ColumnData::Binary(Some(vec![0u8, 255, 7].into())),
                ColumnData::Binary(None),
            ],
        );
        assert_eq!(
            a.as_any().downcast_ref::<BinaryArray>().unwrap(),
            &BinaryArray::from(vec![Some(&[0u8, 255, 7][..]), None])
        );
    }

    #[test]
    fn reads_date_extremes() {
        let a = read_column(
            plain("d", "date"),
            vec![
                ColumnData::Date(Some(Date::new(0))),
                ColumnData::Date(Some(Date::new(3_652_058))),
                ColumnData::Date(Some(Date::new(days_0001(1970, 1, 1)))),
                ColumnData::Date(None),
            ],
        );
        assert_eq!(
            a.as_any().downcast_ref::<Date32Array>().unwrap(),
            &Date32Array::from(vec![
                Some(days_from_civil(1, 1, 1)),
                Some(days_from_civil(9999, 12, 31)),
                Some(0),
                None
            ])
        );
        assert_eq!(days_from_civil(1, 1, 1), -719_162);
    }

    #[test]
    fn reads_datetime2_with_100ns_increments() {
        let column = col("t", "datetime2", None, None, Some(7));
        let day = days_0001(2024, 2, 29);
        // 13:45:30.1234567
        let inc = (13 * 3600 + 45 * 60 + 30) * 10_000_000 + 1_234_567u64;
        let values = vec![
            ColumnData::DateTime2(Some(DateTime2::new(Date::new(day), Time::new(inc, 7)))),
            ColumnData::DateTime2(Some(DateTime2::new(
                Date::new(3_652_058),
                Time::new(863_999_999_999, 7),
            ))),
            ColumnData::DateTime2(Some(DateTime2::new(Date::new(0), Time::new(0, 7)))),
            ColumnData::DateTime2(None),
        ];
        let base_s = i64::from(days_from_civil(2024, 2, 29)) * 86_400 + 13 * 3600 + 45 * 60 + 30;

        // Canonical µs: the 7th digit is truncated; 0001 and 9999 fit.
        let a = read_column(column.clone(), values.clone());
        let a = a.as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
        assert_eq!(a.value(0), base_s * 1_000_000 + 123_456);
        let end_9999 = (i64::from(days_from_civil(10000, 1, 1)) * 86_400) * 1_000_000 - 1;
        assert_eq!(a.value(1), end_9999);
        assert_eq!(
            a.value(2),
            i64::from(days_from_civil(1, 1, 1)) * 86_400 * 1_000_000
        );
        assert!(a.is_null(3));

        // A nanosecond schema keeps all 7 digits but cannot hold year 9999.
        let ns = DataType::Timestamp(TimeUnit::Nanosecond, None);
        let schema = Arc::new(Schema::new(vec![Field::new("t", ns, true)]));
        let mut b = BatchBuilder::new(std::slice::from_ref(&column), schema, 4).unwrap();
        b.push_row([values[0].clone()]).unwrap();
        let err = b.push_row([values[1].clone()]).unwrap_err();
        assert!(err.contains("[t]"), "{err}");
        assert_eq!(b.len(), 1);
        let batch = b.finish().unwrap();
        let a = batch
            .column(0)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(a.value(0), base_s * 1_000_000_000 + 123_456_700);

        // A lower scale counts coarser increments: datetime2(2) 0.12 s.
        let a = read_column(
            col("t", "datetime2", None, None, Some(2)),
            vec![ColumnData::DateTime2(Some(DateTime2::new(
                Date::new(days_0001(1970, 1, 1)),
                Time::new(12, 2),
            )))],
        );
        let a = a.as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
        assert_eq!(a.value(0), 120_000);
    }

    #[test]
    fn reads_datetime_ticks_rounded_to_the_unit() {
        // 1900-01-01 + 1 tick (1/300 s = 3333.33 µs), 2 ticks (6666.67 µs), 12:00:00.
        let a = read_column(
            col("dt", "datetime", None, None, Some(3)),
            vec![
                ColumnData::DateTime(Some(DateTime::new(0, 1))),
                ColumnData::DateTime(Some(DateTime::new(0, 2))),
                ColumnData::DateTime(Some(DateTime::new(-53_690, 12 * 3600 * 300))),
                ColumnData::DateTime(None),
            ],
        );
        let a = a.as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
        let d1900 = i64::from(days_from_civil(1900, 1, 1)) * 86_400_000_000;
        assert_eq!(a.value(0), d1900 + 3_333);
        assert_eq!(a.value(1), d1900 + 6_667);
        let d1753 = i64::from(days_from_civil(1753, 1, 1)) * 86_400_000_000;
        assert_eq!(a.value(2), d1753 + 12 * 3_600_000_000);
        assert!(a.is_null(3));

        let a = read_column(
            plain("s", "smalldatetime"),
            vec![
                ColumnData::SmallDateTime(Some(SmallDateTime::new(65_535, 23 * 60 + 59))),
                ColumnData::SmallDateTime(None),
            ],
        );
        let a = a.as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
        let end = (i64::from(days_from_civil(2079, 6, 6)) * 86_400 + 86_340) * 1_000_000;
        assert_eq!(a.value(0), end);
        assert!(a.is_null(1));
    }

    #[test]
    fn reads_time7_as_nanoseconds() {
        let a = read_column(
            col("t", "time", None, None, Some(7)),
            vec![
                ColumnData::Time(Some(Time::new(863_999_999_999, 7))),
                ColumnData::Time(Some(Time::new(1, 7))),
                ColumnData::Time(None),
            ],
        );
        assert_eq!(
            a.as_any().downcast_ref::<Time64NanosecondArray>().unwrap(),
            &Time64NanosecondArray::from(vec![Some(86_399_999_999_900), Some(100), None])
        );
        let a = read_column(
            col("t", "time", None, None, Some(0)),
            vec![ColumnData::Time(Some(Time::new(86_399, 0)))],
        );
        let a = a.as_any().downcast_ref::<Time64NanosecondArray>().unwrap();
        assert_eq!(a.value(0), 86_399_000_000_000);
    }

    #[test]
    fn reads_datetimeoffset_as_utc_instant() {
        // 2024-06-01 10:00 UTC written at +02:00 (local 12:00): the wire holds the UTC time.
        let dto = DateTimeOffset::new(
            DateTime2::new(
                Date::new(days_0001(2024, 6, 1)),
                Time::new(10 * 3600 * 10_000_000, 7),
            ),
            120,
        );
        let a = read_column(
            col("o", "datetimeoffset", None, None, Some(7)),
            vec![
                ColumnData::DateTimeOffset(Some(dto)),
                ColumnData::DateTimeOffset(None),
            ],
        );
        assert_eq!(
            a.data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
        );
        let a = a.as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
        let expected = (i64::from(days_from_civil(2024, 6, 1)) * 86_400 + 10 * 3600) * 1_000_000;
        assert_eq!(a.value(0), expected);
        assert!(a.is_null(1));
    }

    #[test]
    fn rejects_mismatched_variant_naming_column_without_appending() {
        let columns = [plain("id", "int"), col("Name", "nvarchar", Some(5), None, None)];
        let mut b = builder(&columns);
        b.push_row([ColumnData::I32(Some(1)), ColumnData::String(Some("a".into()))])
            .unwrap();
        let err = b
            .push_row([ColumnData::I32(Some(2)), ColumnData::I64(Some(3))])
            .unwrap_err();
        assert!(err.contains("[Name]") && err.contains("I64"), "{err}");
        let err = b
            .push_row([ColumnData::I64(Some(2)), ColumnData::String(None)])
            .unwrap_err();
        assert!(err.contains("[id]"), "{err}");
        let err = b.push_row([ColumnData::I32(Some(2))]).unwrap_err();
        assert!(err.contains("columns"), "{err}");
        assert_eq!(b.len(), 1);
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), 1);
        assert!(b.is_empty());
        assert_eq!(b.finish().unwrap().num_rows(), 0);
    }

    #[test]
    fn new_rejects_schema_that_does_not_match_columns() {
        let columns = [plain("id", "int")];
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, true)]));
        let err = BatchBuilder::new(&columns, schema, 1).err().unwrap();
        assert!(err.contains("[id]"), "{err}");
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8, true)]));
        let err = BatchBuilder::new(&[plain("x", "xml")], schema, 1).err().unwrap();
        assert!(err.contains("[x]") && err.contains("xml"), "{err}");
    }

    #[test]
    fn zero_column_batches_keep_the_row_count() {
        let mut b = BatchBuilder::new(&[], Arc::new(Schema::empty()), 1).unwrap();
        b.push_row(Vec::<ColumnData<'static>>::new()).unwrap();
        b.push_row(Vec::<ColumnData<'static>>::new()).unwrap();
        assert_eq!(b.finish().unwrap().num_rows(), 2);
    }
}
