//! Writing side: Arrow record batches → tiberius bulk-insert rows.
//!
//! tiberius encodes each `ColumnData` against the server's metadata for the target column and
//! only accepts the matching variant: `U8`/`I16`/`I32`/`I64` for tinyint/smallint/int/bigint,
//! `F32` for real, `F64` for float, `Numeric` for decimal (rescaled by tiberius, but we send the
//! column's scale) and money (exact, unlike `F64`), `String` for all character types, `Guid`,
//! `Binary`, `Date`, `DateTime`, `SmallDateTime`, `DateTime2`, `Time` and `DateTimeOffset`.
//! `Time` and `DateTimeOffset` are written at the value's own scale, so they must carry the
//! column's scale exactly, and `DateTime2` is rescaled through an f64 when its scale differs,
//! so it is also built at the column's scale.

use std::borrow::Cow;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type,
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, Time32MillisecondType,
    Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow::record_batch::RecordBatch;
use tiberius::numeric::Numeric;
use tiberius::time::{Date, DateTime, DateTime2, DateTimeOffset, SmallDateTime, Time};
use tiberius::{ColumnData, TokenRow, Uuid};

use super::temporal::{self, DAYS_0001_TO_1970, MAX_DAYS_0001, pow10};
use super::{Kind, SqlColumn};

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

/// Encodes a batch for tiberius bulk insert into a table whose columns are `targets` (in the
/// order of the bulk-insert column list). Batch columns are matched to targets by name
/// (case-insensitive); target columns absent from the batch get NULL. Over-long strings are cut
/// (Truncate) or kept (Strict) and reported either way.
pub fn encode_batch(
    batch: &RecordBatch,
    targets: &[SqlColumn],
    policy: WidthPolicy,
) -> Result<(Vec<TokenRow<'static>>, Vec<Truncation>), String> {
    let schema = batch.schema();
    let mut truncations = Vec::new();
    let mut columns = Vec::with_capacity(targets.len());
    for target in targets {
        let kind = target.kind()?;
        let index = schema
            .fields()
            .iter()
            .position(|f| f.name() == &target.name)
            .or_else(|| {
                schema
                    .fields()
                    .iter()
                    .position(|f| f.name().eq_ignore_ascii_case(&target.name))
            });
        let values = match index {
            Some(i) => encode_column(batch.column(i), target, kind, policy, &mut truncations)?,
            None => vec![null_of(kind); batch.num_rows()],
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

/// The NULL that tiberius accepts for a column of `kind`.
fn null_of(kind: Kind) -> ColumnData<'static> {
    match kind {
        Kind::Bit => ColumnData::Bit(None),
        Kind::TinyInt => ColumnData::U8(None),
        Kind::SmallInt => ColumnData::I16(None),
        Kind::Int => ColumnData::I32(None),
        Kind::BigInt => ColumnData::I64(None),
        Kind::Real => ColumnData::F32(None),
        Kind::Float => ColumnData::F64(None),
        Kind::Decimal { .. } | Kind::Money | Kind::SmallMoney => ColumnData::Numeric(None),
        Kind::Text { .. } => ColumnData::String(None),
        Kind::Guid => ColumnData::Guid(None),
        Kind::Binary { .. } => ColumnData::Binary(None),
        Kind::Date => ColumnData::Date(None),
        Kind::DateTime => ColumnData::DateTime(None),
        Kind::SmallDateTime => ColumnData::SmallDateTime(None),
        Kind::DateTime2 { .. } => ColumnData::DateTime2(None),
        Kind::Time { .. } => ColumnData::Time(None),
        Kind::DateTimeOffset { .. } => ColumnData::DateTimeOffset(None),
    }
}

/// Converts one Arrow column to the values of one target column.
fn encode_column(
    array: &ArrayRef,
    target: &SqlColumn,
    kind: Kind,
    policy: WidthPolicy,
    truncations: &mut Vec<Truncation>,
) -> Result<Vec<ColumnData<'static>>, String> {
    let unsupported = |dt: &DataType| {
        format!(
            "{}: cannot write Arrow {dt} into {}",
            target.label(),
            target.declaration()
        )
    };
    let at = |row: usize, what: String| format!("{} row {row}: {what}", target.label());
    // Dictionaries are written as their values.
    let array: ArrayRef = match array.data_type() {
        DataType::Dictionary(_, value) => {
            cast(array, value).map_err(|e| format!("{}: {e}", target.label()))?
        }
        _ => array.clone(),
    };
    if !target.nullable
        && let Some(row) = (0..array.len()).find(|&i| array.is_null(i))
    {
        return Err(at(row, "NULL into a NOT NULL column".to_string()));
    }
    let n = array.len();
    let mut out = Vec::with_capacity(n);
    let null = null_of(kind);
    match kind {
        Kind::Bit => {
            let Some(a) = array.as_boolean_opt() else {
                return Err(unsupported(array.data_type()));
            };
            out.extend(a.iter().map(ColumnData::Bit));
        }
        Kind::TinyInt | Kind::SmallInt | Kind::Int | Kind::BigInt | Kind::Real | Kind::Float => {
            let read = numbers(&array).ok_or_else(|| unsupported(array.data_type()))?;
            for i in 0..n {
                let Some(num) = read(i) else {
                    out.push(null.clone());
                    continue;
                };
                let int = |min: i128, max: i128| num.to_int(min, max).map_err(|e| at(i, e));
                out.push(match kind {
                    Kind::TinyInt => ColumnData::U8(Some(int(0, 255)? as u8)),
                    Kind::SmallInt => ColumnData::I16(Some(int(i16::MIN.into(), i16::MAX.into())? as i16)),
                    Kind::Int => ColumnData::I32(Some(int(i32::MIN.into(), i32::MAX.into())? as i32)),
                    Kind::BigInt => ColumnData::I64(Some(int(i64::MIN.into(), i64::MAX.into())? as i64)),
                    Kind::Real => ColumnData::F32(Some(num.to_f32())),
                    _ => ColumnData::F64(Some(num.to_f64())),
                });
            }
        }
        Kind::Decimal { .. } | Kind::Money | Kind::SmallMoney => {
            let (precision, scale, range) = match kind {
                Kind::Decimal { precision, scale } => (precision, scale, None),
                Kind::Money => (19, 4, Some((i64::MIN.into(), i64::MAX.into()))),
                _ => (10, 4, Some((i32::MIN.into(), i32::MAX.into()))),
            };
            let read = numbers(&array).ok_or_else(|| unsupported(array.data_type()))?;
            for i in 0..n {
                let Some(num) = read(i) else {
                    out.push(null.clone());
                    continue;
                };
                let value = num.to_decimal(scale).map_err(|e| at(i, e))?;
                let fits = match range {
                    Some((min, max)) => (min..=max).contains(&value),
                    None => value.unsigned_abs() < pow10(u32::from(precision)) as u128,
                };
                if !fits {
                    return Err(at(
                        i,
                        format!(
                            "{} does not fit {}",
                            Numeric::new_with_scale(value, scale),
                            target.declaration()
                        ),
                    ));
                }
                out.push(ColumnData::Numeric(Some(Numeric::new_with_scale(value, scale))));
            }
        }
        Kind::Text { unicode, width } => {
            let array = as_text(&array).map_err(|_| unsupported(array.data_type()))?;
            let read = strings(&array).ok_or_else(|| unsupported(array.data_type()))?;
            for i in 0..n {
                let Some(s) = read(i) else {
                    out.push(null.clone());
                    continue;
                };
                let value = match width.and_then(|w| overflow(s, w, unicode, &target.name, i)) {
                    None => s.to_string(),
                    Some((truncation, cut_at)) => {
                        truncations.push(truncation);
                        match policy {
                            WidthPolicy::Truncate => s[..cut_at].to_string(),
                            WidthPolicy::Strict => s.to_string(),
                        }
                    }
                };
                out.push(ColumnData::String(Some(Cow::Owned(value))));
            }
        }
        Kind::Guid => {
            if let DataType::FixedSizeBinary(16) = array.data_type() {
                let a = array.as_fixed_size_binary();
                for i in 0..n {
                    out.push(ColumnData::Guid(
                        a.is_valid(i)
                            .then(|| Uuid::from_bytes(a.value(i).try_into().expect("16 bytes"))),
                    ));
                }
            } else {
                let read = strings(&array).ok_or_else(|| unsupported(array.data_type()))?;
                for i in 0..n {
                    let guid = read(i)
                        .map(|s| {
                            Uuid::parse_str(s.trim())
                                .map_err(|e| at(i, format!("{s:?} is not a uniqueidentifier: {e}")))
                        })
                        .transpose()?;
                    out.push(ColumnData::Guid(guid));
                }
            }
        }
        Kind::Binary { width } => {
            let bytes = binaries(&array).ok_or_else(|| unsupported(array.data_type()))?;
            for i in 0..n {
                let value = bytes(i);
                if let (Some(v), Some(w)) = (value, width)
                    && v.len() > w
                {
                    return Err(at(
                        i,
                        format!("{} bytes do not fit {}", v.len(), target.declaration()),
                    ));
                }
                out.push(ColumnData::Binary(value.map(|v| Cow::Owned(v.to_vec()))));
            }
        }
        Kind::Date
        | Kind::DateTime
        | Kind::SmallDateTime
        | Kind::DateTime2 { .. }
        | Kind::DateTimeOffset { .. } => {
            let (read, offset) = instants(&array).ok_or_else(|| unsupported(array.data_type()))?;
            let out_of_range = |i: usize| {
                at(
                    i,
                    format!("value is outside the range of {}", target.declaration()),
                )
            };
            for i in 0..n {
                let Some((value, unit)) = read(i) else {
                    out.push(null.clone());
                    continue;
                };
                out.push(match kind {
                    Kind::Date => {
                        let per_day = temporal::per_second(unit) * temporal::SECS_PER_DAY;
                        if value.rem_euclid(per_day) != 0 {
                            return Err(at(i, "a date column cannot hold a time of day".into()));
                        }
                        let days = value.div_euclid(per_day) + i128::from(DAYS_0001_TO_1970);
                        if !(0..=i128::from(MAX_DAYS_0001)).contains(&days) {
                            return Err(out_of_range(i));
                        }
                        ColumnData::Date(Some(Date::new(days as u32)))
                    }
                    Kind::DateTime => {
                        let (days, ticks) =
                            temporal::to_datetime(value, unit).ok_or_else(|| out_of_range(i))?;
                        ColumnData::DateTime(Some(DateTime::new(days, ticks)))
                    }
                    Kind::SmallDateTime => {
                        let (days, minutes) =
                            temporal::to_smalldatetime(value, unit).ok_or_else(|| out_of_range(i))?;
                        ColumnData::SmallDateTime(Some(SmallDateTime::new(days, minutes)))
                    }
                    Kind::DateTime2 { scale } => {
                        let (days, inc) =
                            temporal::to_datetime2(value, unit, scale).ok_or_else(|| out_of_range(i))?;
                        ColumnData::DateTime2(Some(DateTime2::new(Date::new(days), Time::new(inc, scale))))
                    }
                    Kind::DateTimeOffset { scale } => {
                        // The wire holds the UTC date/time; the offset is kept for display.
                        let (days, inc) =
                            temporal::to_datetime2(value, unit, scale).ok_or_else(|| out_of_range(i))?;
                        let utc = DateTime2::new(Date::new(days), Time::new(inc, scale));
                        ColumnData::DateTimeOffset(Some(DateTimeOffset::new(utc, offset)))
                    }
                    _ => unreachable!("temporal kinds only"),
                });
            }
        }
        Kind::Time { scale } => {
            let read = times(&array).ok_or_else(|| unsupported(array.data_type()))?;
            for i in 0..n {
                let Some((value, unit)) = read(i) else {
                    out.push(null.clone());
                    continue;
                };
                let inc = temporal::to_time(value, unit, scale).ok_or_else(|| {
                    at(
                        i,
                        format!("value is outside the range of {}", target.declaration()),
                    )
                })?;
                out.push(ColumnData::Time(Some(Time::new(inc, scale))));
            }
        }
    }
    Ok(out)
}

/// A number read from any numeric Arrow array, kept exact until the target type is known.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Int(i128),
    /// mantissa × 10^-scale (Arrow decimal scales may be negative).
    Dec(i128, i32),
    F32(f32),
    F64(f64),
}

impl Num {
    /// An exact integer in `min..=max`; fractions and out-of-range values are errors.
    fn to_int(self, min: i128, max: i128) -> Result<i128, String> {
        match self.exact_int() {
            Some(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(format!("{self} does not fit an integer in {min}..={max}")),
        }
    }

    fn exact_int(self) -> Option<i128> {
        match self {
            Num::Int(v) => Some(v),
            Num::Dec(0, _) => Some(0),
            Num::Dec(m, s) if s <= 0 => m.checked_mul(10i128.checked_pow(s.unsigned_abs())?),
            // A scale past 10^38 leaves no non-zero integer.
            Num::Dec(m, s) => {
                let f = 10i128.checked_pow(s as u32)?;
                (m % f == 0).then_some(m / f)
            }
            Num::F32(v) => float_int(f64::from(v)),
            Num::F64(v) => float_int(v),
        }
    }

    fn to_f64(self) -> f64 {
        match self {
            Num::Int(v) => v as f64,
            Num::Dec(m, s) => format!("{m}e{}", -s).parse().unwrap_or(f64::NAN),
            Num::F32(v) => f64::from(v),
            Num::F64(v) => v,
        }
    }

    fn to_f32(self) -> f32 {
        match self {
            Num::F32(v) => v,
            // Parsed directly so a decimal is rounded once, not twice through f64.
            Num::Dec(m, s) => format!("{m}e{}", -s).parse().unwrap_or(f32::NAN),
            other => other.to_f64() as f32,
        }
    }

    /// The mantissa at `scale`, rounded half away from zero (floats from their shortest
    /// round-trip decimal form, so 0.1 is 0.1 and not 0.1000000000000000055…).
    fn to_decimal(self, scale: u8) -> Result<i128, String> {
        let (mantissa, from) =
            match self {
                Num::Int(v) => (v, 0),
                Num::Dec(m, s) => (m, s),
                Num::F32(v) => shortest_decimal(&format!("{v:e}"))
                    .ok_or_else(|| format!("{v} is not a finite number"))?,
                Num::F64(v) => shortest_decimal(&format!("{v:e}"))
                    .ok_or_else(|| format!("{v} is not a finite number"))?,
            };
        rescale_round(mantissa, from, i32::from(scale))
            .ok_or_else(|| format!("{self} does not fit a decimal with scale {scale}"))
    }
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::Int(v) => write!(f, "{v}"),
            Num::Dec(m, s) if *s <= 0 => write!(f, "{m}e{}", -s),
            Num::Dec(m, s) => {
                let digits = m.unsigned_abs().to_string();
                let s = *s as usize;
                let padded = format!("{digits:0>width$}", width = s + 1);
                let (int, frac) = padded.split_at(padded.len() - s);
                write!(f, "{}{int}.{frac}", if *m < 0 { "-" } else { "" })
            }
            Num::F32(v) => write!(f, "{v}"),
            Num::F64(v) => write!(f, "{v}"),
        }
    }
}

fn float_int(v: f64) -> Option<i128> {
    // 2^127 bounds what an i128 holds; the int ranges checked later are far smaller.
    (v.is_finite() && v.fract() == 0.0 && v.abs() < 1.7e38).then_some(v as i128)
}

/// Parses Rust's `{:e}` output ("-1.2345e-7") into mantissa and scale.
fn shortest_decimal(text: &str) -> Option<(i128, i32)> {
    let (mantissa, exp) = text.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: i128 = format!("{int}{frac}").parse().ok()?;
    Some((digits, frac.len() as i32 - exp))
}

/// `mantissa × 10^-from` expressed at scale `to`, rounding half away from zero.
fn rescale_round(mantissa: i128, from: i32, to: i32) -> Option<i128> {
    if to >= from {
        if mantissa == 0 {
            return Some(0);
        }
        mantissa.checked_mul(10i128.checked_pow(u32::try_from(to - from).ok()?)?)
    } else {
        let Some(factor) = u32::try_from(from - to).ok().and_then(|d| 10i128.checked_pow(d)) else {
            return Some(0); // more than 38 digits below the target scale rounds to zero
        };
        let (q, r) = (mantissa / factor, mantissa % factor);
        Some(if r.unsigned_abs() * 2 >= factor.unsigned_abs() {
            q + mantissa.signum()
        } else {
            q
        })
    }
}

type Reader<'a, T> = Box<dyn Fn(usize) -> Option<T> + 'a>;

/// Reads any integer, float or decimal array as [`Num`]s (`None` for NULL).
fn numbers(array: &ArrayRef) -> Option<Reader<'_, Num>> {
    macro_rules! prim {
        ($t:ty, $wrap:expr) => {{
            let a = array.as_primitive::<$t>();
            Box::new(move |i| a.is_valid(i).then(|| $wrap(a.value(i))))
        }};
    }
    let read: Reader<'_, Num> = match array.data_type() {
        DataType::Int8 => prim!(Int8Type, |v| Num::Int(i128::from(v))),
        DataType::Int16 => prim!(Int16Type, |v| Num::Int(i128::from(v))),
        DataType::Int32 => prim!(Int32Type, |v| Num::Int(i128::from(v))),
        DataType::Int64 => prim!(Int64Type, |v| Num::Int(i128::from(v))),
        DataType::UInt8 => prim!(UInt8Type, |v| Num::Int(i128::from(v))),
        DataType::UInt16 => prim!(UInt16Type, |v| Num::Int(i128::from(v))),
        DataType::UInt32 => prim!(UInt32Type, |v| Num::Int(i128::from(v))),
        DataType::UInt64 => prim!(UInt64Type, |v| Num::Int(i128::from(v))),
        DataType::Float16 => prim!(Float16Type, |v: <Float16Type as ArrowPrimitiveType>::Native| {
            Num::F32(v.to_f32())
        }),
        DataType::Float32 => prim!(Float32Type, Num::F32),
        DataType::Float64 => prim!(Float64Type, Num::F64),
        DataType::Decimal32(_, s) => {
            let s = i32::from(*s);
            prim!(Decimal32Type, |v| Num::Dec(i128::from(v), s))
        }
        DataType::Decimal64(_, s) => {
            let s = i32::from(*s);
            prim!(Decimal64Type, |v| Num::Dec(i128::from(v), s))
        }
        DataType::Decimal128(_, s) => {
            let s = i32::from(*s);
            prim!(Decimal128Type, |v| Num::Dec(v, s))
        }
        _ => return None,
    };
    Some(read)
}

/// Integers and decimals may be written to character columns as their text.
fn as_text(array: &ArrayRef) -> Result<ArrayRef, ()> {
    match array.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Ok(array.clone()),
        dt if dt.is_integer() || matches!(dt, DataType::Decimal128(..)) => {
            cast(array, &DataType::Utf8).map_err(|_| ())
        }
        _ => Err(()),
    }
}

fn strings(array: &ArrayRef) -> Option<Reader<'_, &str>> {
    let read: Reader<'_, &str> = match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            Box::new(move |i| a.is_valid(i).then(|| a.value(i)))
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            Box::new(move |i| a.is_valid(i).then(|| a.value(i)))
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            Box::new(move |i| a.is_valid(i).then(|| a.value(i)))
        }
        _ => return None,
    };
    Some(read)
}

fn binaries(array: &ArrayRef) -> Option<Reader<'_, &[u8]>> {
    let read: Reader<'_, &[u8]> = match array.data_type() {
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            Box::new(move |i| a.is_valid(i).then(|| a.value(i)))
        }
        DataType::LargeBinary => {
            let a = array.as_binary::<i64>();
            Box::new(move |i| a.is_valid(i).then(|| a.value(i)))
        }
        DataType::BinaryView => {
            let a = array.as_binary_view();
            Box::new(move |i| a.is_valid(i).then(|| a.value(i)))
        }
        DataType::FixedSizeBinary(_) => {
            let a = array.as_fixed_size_binary();
            Box::new(move |i| a.is_valid(i).then(|| a.value(i)))
        }
        _ => return None,
    };
    Some(read)
}

/// Reads dates and timestamps as (ticks since the epoch, unit), plus the minutes east of UTC to
/// record in a datetimeoffset (from a fixed-offset timezone, else 0). Timestamps with a
/// timezone are instants, written as their UTC date/time.
fn instants(array: &ArrayRef) -> Option<(Reader<'_, (i128, TimeUnit)>, i16)> {
    macro_rules! prim {
        ($t:ty, $unit:expr, $scale:expr) => {{
            let a = array.as_primitive::<$t>();
            Box::new(move |i| a.is_valid(i).then(|| (i128::from(a.value(i)) * $scale, $unit)))
        }};
    }
    let offset = match array.data_type() {
        DataType::Timestamp(_, Some(tz)) => temporal::fixed_offset_minutes(tz).unwrap_or(0),
        _ => 0,
    };
    let read: Reader<'_, (i128, TimeUnit)> = match array.data_type() {
        DataType::Date32 => prim!(Date32Type, TimeUnit::Second, 86_400),
        DataType::Date64 => prim!(Date64Type, TimeUnit::Millisecond, 1),
        DataType::Timestamp(TimeUnit::Second, _) => prim!(TimestampSecondType, TimeUnit::Second, 1),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            prim!(TimestampMillisecondType, TimeUnit::Millisecond, 1)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            prim!(TimestampMicrosecondType, TimeUnit::Microsecond, 1)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            prim!(TimestampNanosecondType, TimeUnit::Nanosecond, 1)
        }
        _ => return None,
    };
    Some((read, offset))
}

/// Reads times of day as (ticks since midnight, unit).
fn times(array: &ArrayRef) -> Option<Reader<'_, (i128, TimeUnit)>> {
    macro_rules! prim {
        ($t:ty, $unit:expr) => {{
            let a = array.as_primitive::<$t>();
            Box::new(move |i| a.is_valid(i).then(|| (i128::from(a.value(i)), $unit)))
        }};
    }
    let read: Reader<'_, (i128, TimeUnit)> = match array.data_type() {
        DataType::Time32(TimeUnit::Second) => prim!(Time32SecondType, TimeUnit::Second),
        DataType::Time32(TimeUnit::Millisecond) => {
            prim!(Time32MillisecondType, TimeUnit::Millisecond)
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            prim!(Time64MicrosecondType, TimeUnit::Microsecond)
        }
        DataType::Time64(TimeUnit::Nanosecond) => prim!(Time64NanosecondType, TimeUnit::Nanosecond),
        _ => return None,
    };
    Some(read)
}

/// The values of `batch` longer than their column in `targets` (matched as `encode_batch` does),
/// without encoding anything: a cheap check before a write that must not start when one is found.
pub fn check_widths(batch: &RecordBatch, targets: &[SqlColumn]) -> Result<Vec<Truncation>, String> {
    let mut found = Vec::new();
    for target in targets {
        let Kind::Text {
            unicode,
            width: Some(width),
        } = target.kind()?
        else {
            continue;
        };
        let Some(array) = batch
            .schema()
            .fields()
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(&target.name))
            .map(|i| batch.column(i))
        else {
            continue;
        };
        let array = as_text(array).map_err(|_| {
            format!(
                "column {}: cannot write {} as text",
                target.name,
                array.data_type()
            )
        })?;
        let read = strings(&array).ok_or_else(|| format!("column {}: not text", target.name))?;
        for i in 0..batch.num_rows() {
            if let Some((truncation, _)) = read(i).and_then(|s| overflow(s, width, unicode, &target.name, i))
            {
                found.push(truncation);
            }
        }
    }
    Ok(found)
}

/// When `s` (row `row` of `column`) is longer than `width`: what to report, and where to cut.
fn overflow(s: &str, width: usize, unicode: bool, column: &str, row: usize) -> Option<(Truncation, usize)> {
    let cut_at = cut(s, width, unicode)?;
    let length = if unicode {
        s.encode_utf16().count()
    } else {
        s.chars().count()
    };
    let truncation = Truncation {
        column: column.to_string(),
        row,
        width,
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

#[cfg(test)]
mod tests {
    use super::super::BatchBuilder;
    use super::super::temporal::days_from_civil;
    use super::super::tests::{col, plain};
    use super::*;
    use arrow::array::{
        BinaryArray, BooleanArray, Date32Array, Decimal128Array, DictionaryArray, FixedSizeBinaryArray,
        Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, LargeStringArray,
        StringArray, StringViewArray, Time32MillisecondArray, Time64NanosecondArray,
        TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray, UInt8Array,
        UInt16Array, UInt64Array,
    };
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap()
    }

    /// Encodes a one-column batch into `target` and returns that column's values.
    fn encode_one(array: ArrayRef, target: SqlColumn) -> Result<Vec<ColumnData<'static>>, String> {
        let name = target.name.clone();
        let (rows, _) = encode_batch(&batch(vec![(&name, array)]), &[target], WidthPolicy::Strict)?;
        Ok(rows.into_iter().map(|r| r.into_iter().next().unwrap()).collect())
    }

    fn days_0001(y: i32, m: u32, d: u32) -> u32 {
        (i64::from(days_from_civil(y, m, d)) + DAYS_0001_TO_1970) as u32
    }

    fn civil(y: i32, m: u32, d: u32) -> i64 {
        i64::from(days_from_civil(y, m, d))
    }

    #[test]
    fn encodes_integers_with_limits_and_lossless_widening() {
        let v = encode_one(
            Arc::new(UInt8Array::from(vec![Some(0), Some(255), None])),
            plain("t", "tinyint"),
        )
        .unwrap();
        assert_eq!(
            v,
            [
                ColumnData::U8(Some(0)),
                ColumnData::U8(Some(255)),
                ColumnData::U8(None)
            ]
        );
        let v = encode_one(
            Arc::new(Int16Array::from(vec![Some(i16::MIN), Some(i16::MAX), None])),
            plain("s", "smallint"),
        )
        .unwrap();
        assert_eq!(
            v,
            [
                ColumnData::I16(Some(i16::MIN)),
                ColumnData::I16(Some(i16::MAX)),
                ColumnData::I16(None)
            ]
        );
        let v = encode_one(
            Arc::new(Int32Array::from(vec![Some(i32::MIN), Some(i32::MAX), None])),
            plain("i", "int"),
        )
        .unwrap();
        assert_eq!(
            v,
            [
                ColumnData::I32(Some(i32::MIN)),
                ColumnData::I32(Some(i32::MAX)),
                ColumnData::I32(None)
            ]
        );
        // Int32 into bigint becomes I64, the variant a bigint column needs.
        let v = encode_one(
            Arc::new(Int32Array::from(vec![Some(i32::MIN), None])),
            plain("g", "bigint"),
        )
        .unwrap();
        assert_eq!(v, [ColumnData::I64(Some(i32::MIN.into())), ColumnData::I64(None)]);
        let v = encode_one(
            Arc::new(Int64Array::from(vec![i64::MIN, i64::MAX])),
            plain("g", "bigint"),
        )
        .unwrap();
        assert_eq!(
            v,
            [ColumnData::I64(Some(i64::MIN)), ColumnData::I64(Some(i64::MAX))]
        );
        // Other lossless sources: unsigned, Int8, integral decimals.
        let v = encode_one(Arc::new(UInt16Array::from(vec![65_535])), plain("i", "int")).unwrap();
        assert_eq!(v, [ColumnData::I32(Some(65_535))]);
        let v = encode_one(Arc::new(Int8Array::from(vec![-128])), plain("s", "smallint")).unwrap();
        assert_eq!(v, [ColumnData::I16(Some(-128))]);
        let dec = Decimal128Array::from(vec![1_200])
            .with_precision_and_scale(10, 2)
            .unwrap();
        let v = encode_one(Arc::new(dec), plain("i", "int")).unwrap();
        assert_eq!(v, [ColumnData::I32(Some(12))]);

        // Lossy ones are errors naming column and row.
        let err = encode_one(Arc::new(Int32Array::from(vec![1, 256])), plain("T", "tinyint")).unwrap_err();
        assert!(err.contains("[T] row 1") && err.contains("256"), "{err}");
        let err = encode_one(
            Arc::new(Int64Array::from(vec![i64::from(i32::MAX) + 1])),
            plain("i", "int"),
        )
        .unwrap_err();
        assert!(err.contains("[i] row 0"), "{err}");
        let err = encode_one(Arc::new(UInt64Array::from(vec![u64::MAX])), plain("g", "bigint")).unwrap_err();
        assert!(err.contains("[g]"), "{err}");
        let err = encode_one(Arc::new(Float64Array::from(vec![1.5])), plain("i", "int")).unwrap_err();
        assert!(err.contains("1.5"), "{err}");
        let dec = Decimal128Array::from(vec![1_250])
            .with_precision_and_scale(10, 2)
            .unwrap();
        let err = encode_one(Arc::new(dec), plain("i", "int")).unwrap_err();
        assert!(err.contains("12.50"), "{err}");
    }

    #[test]
    fn encodes_bit_real_and_float() {
        let v = encode_one(
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
            plain("b", "bit"),
        )
        .unwrap();
        assert_eq!(
            v,
            [
                ColumnData::Bit(Some(true)),
                ColumnData::Bit(Some(false)),
                ColumnData::Bit(None)
            ]
        );
        let err = encode_one(Arc::new(Int32Array::from(vec![1])), plain("b", "bit")).unwrap_err();
        assert!(err.contains("[b]") && err.contains("Int32"), "{err}");

        let v = encode_one(
            Arc::new(Float32Array::from(vec![Some(f32::MAX), Some(0.1), None])),
            col("r", "real", None, Some(24), None),
        )
        .unwrap();
        assert_eq!(
            v,
            [
                ColumnData::F32(Some(f32::MAX)),
                ColumnData::F32(Some(0.1)),
                ColumnData::F32(None)
            ]
        );
        let v = encode_one(
            Arc::new(Float64Array::from(vec![
                Some(f64::MIN_POSITIVE),
                Some(-0.1),
                None,
            ])),
            col("f", "float", None, Some(53), None),
        )
        .unwrap();
        assert_eq!(
            v,
            [
                ColumnData::F64(Some(f64::MIN_POSITIVE)),
                ColumnData::F64(Some(-0.1)),
                ColumnData::F64(None)
            ]
        );
        // float(24) is a real: needs F32.
        let v = encode_one(
            Arc::new(Float64Array::from(vec![0.5])),
            col("f", "float", None, Some(24), None),
        )
        .unwrap();
        assert_eq!(v, [ColumnData::F32(Some(0.5))]);
        // Integers and decimals into float columns.
        let v = encode_one(Arc::new(Int32Array::from(vec![7])), plain("f", "float")).unwrap();
        assert_eq!(v, [ColumnData::F64(Some(7.0))]);
        let dec = Decimal128Array::from(vec![-12_345])
            .with_precision_and_scale(10, 4)
            .unwrap();
        let v = encode_one(Arc::new(dec), plain("f", "float")).unwrap();
        assert_eq!(v, [ColumnData::F64(Some(-1.2345))]);
    }

    /// The numeric in a value, as (mantissa, scale), to check the exact scale sent.
    fn numeric(v: &ColumnData<'_>) -> Option<(i128, u8)> {
        match v {
            ColumnData::Numeric(Some(n)) => Some((n.value(), n.scale())),
            ColumnData::Numeric(None) => None,
            other => panic!("not a numeric: {other:?}"),
        }
    }

    #[test]
    fn encodes_decimals_at_the_column_scale() {
        let max38 = 99_999_999_999_999_999_999_999_999_999_999_999_999i128;
        let dec = Decimal128Array::from(vec![Some(max38), Some(-max38), None])
            .with_precision_and_scale(38, 0)
            .unwrap();
        let v = encode_one(Arc::new(dec), col("d", "decimal", None, Some(38), Some(0))).unwrap();
        let v: Vec<_> = v.iter().map(numeric).collect();
        assert_eq!(v, [Some((max38, 0)), Some((-max38, 0)), None]);

        let dec = Decimal128Array::from(vec![max38, -1])
            .with_precision_and_scale(38, 38)
            .unwrap();
        let v = encode_one(Arc::new(dec), col("d", "numeric", None, Some(38), Some(38))).unwrap();
        let v: Vec<_> = v.iter().map(numeric).collect();
        assert_eq!(v, [Some((max38, 38)), Some((-1, 38))]);

        // Decimal(5,2) into decimal(10,7): exactly scale 7.
        let dec = Decimal128Array::from(vec![-12_345])
            .with_precision_and_scale(5, 2)
            .unwrap();
        let v = encode_one(Arc::new(dec), col("d", "decimal", None, Some(10), Some(7))).unwrap();
        assert_eq!(numeric(&v[0]), Some((-1_234_500_000, 7)));

        // Coarser column scale: rounded half away from zero.
        let dec = Decimal128Array::from(vec![12_345, -12_345, 12_344])
            .with_precision_and_scale(10, 4)
            .unwrap();
        let v = encode_one(Arc::new(dec), col("d", "decimal", None, Some(10), Some(3))).unwrap();
        let v: Vec<_> = v.iter().map(numeric).collect();
        assert_eq!(v, [Some((1_235, 3)), Some((-1_235, 3)), Some((1_234, 3))]);

        // Floats round from their shortest decimal form.
        let floats = Float64Array::from(vec![0.1, -2.675, 1e-9, 123.456_789_05]);
        let v = encode_one(Arc::new(floats), col("d", "decimal", None, Some(10), Some(7))).unwrap();
        let v: Vec<_> = v.iter().map(numeric).collect();
        assert_eq!(
            v,
            [
                Some((1_000_000, 7)),
                Some((-26_750_000, 7)),
                Some((0, 7)),
                Some((1_234_567_891, 7))
            ]
        );
        let v = encode_one(
            Arc::new(Float32Array::from(vec![0.1f32])),
            col("d", "decimal", None, Some(38), Some(20)),
        )
        .unwrap();
        assert_eq!(numeric(&v[0]), Some((10_000_000_000_000_000_000, 20)));
        let v = encode_one(
            Arc::new(Int64Array::from(vec![i64::MIN])),
            col("d", "decimal", None, Some(19), Some(0)),
        )
        .unwrap();
        assert_eq!(numeric(&v[0]), Some((i128::from(i64::MIN), 0)));

        // Too many digits for the precision, NaN: errors naming column and row.
        let dec = Decimal128Array::from(vec![1, 100_000_000_000])
            .with_precision_and_scale(12, 0)
            .unwrap();
        let err = encode_one(Arc::new(dec), col("D", "decimal", None, Some(10), Some(0))).unwrap_err();
        assert!(
            err.contains("[D] row 1") && err.contains("decimal(10,0)"),
            "{err}"
        );
        let err = encode_one(
            Arc::new(Float64Array::from(vec![f64::NAN])),
            col("D", "decimal", None, Some(10), Some(2)),
        )
        .unwrap_err();
        assert!(err.contains("[D] row 0"), "{err}");
        let err = encode_one(
            Arc::new(Float64Array::from(vec![1e300])),
            col("D", "decimal", None, Some(38), Some(2)),
        )
        .unwrap_err();
        assert!(err.contains("[D] row 0"), "{err}");
    }

    #[test]
    fn encodes_money_exactly_as_numeric_scale_4() {
        let (min, max) = (i128::from(i64::MIN), i128::from(i64::MAX));
        let dec = Decimal128Array::from(vec![Some(min), Some(max), None])
            .with_precision_and_scale(19, 4)
            .unwrap();
        let v = encode_one(Arc::new(dec), plain("m", "money")).unwrap();
        let v: Vec<_> = v.iter().map(numeric).collect();
        assert_eq!(v, [Some((min, 4)), Some((max, 4)), None]);
        let dec = Decimal128Array::from(vec![max + 1])
            .with_precision_and_scale(20, 4)
            .unwrap();
        let err = encode_one(Arc::new(dec), plain("m", "money")).unwrap_err();
        assert!(
            err.contains("[m] row 0") && err.contains("922337203685477.5808"),
            "{err}"
        );

        let dec = Decimal128Array::from(vec![i128::from(i32::MIN), i128::from(i32::MAX)])
            .with_precision_and_scale(10, 4)
            .unwrap();
        let v = encode_one(Arc::new(dec), plain("s", "smallmoney")).unwrap();
        let v: Vec<_> = v.iter().map(numeric).collect();
        assert_eq!(
            v,
            [Some((i128::from(i32::MIN), 4)), Some((i128::from(i32::MAX), 4))]
        );
        let err = encode_one(
            Arc::new(Float64Array::from(vec![214_748.364_8])),
            plain("s", "smallmoney"),
        )
        .unwrap_err();
        assert!(err.contains("[s] row 0"), "{err}");
        let v = encode_one(Arc::new(Float64Array::from(vec![19.99])), plain("m", "money")).unwrap();
        assert_eq!(numeric(&v[0]), Some((199_900, 4)));
    }

    #[test]
    fn encodes_date_extremes() {
        let a = Date32Array::from(vec![
            Some(civil(1, 1, 1) as i32),
            Some(civil(9999, 12, 31) as i32),
            Some(0),
            None,
        ]);
        let v = encode_one(Arc::new(a), plain("d", "date")).unwrap();
        assert_eq!(
            v,
            [
                ColumnData::Date(Some(Date::new(0))),
                ColumnData::Date(Some(Date::new(3_652_058))),
                ColumnData::Date(Some(Date::new(719_162))),
                ColumnData::Date(None)
            ]
        );
        let err = encode_one(
            Arc::new(Date32Array::from(vec![civil(10000, 1, 1) as i32])),
            plain("d", "date"),
        )
        .unwrap_err();
        assert!(err.contains("[d] row 0") && err.contains("range"), "{err}");
        // Timestamps at midnight are dates; others are not.
        let ts = TimestampMicrosecondArray::from(vec![civil(2000, 1, 1) * 86_400_000_000]);
        let v = encode_one(Arc::new(ts), plain("d", "date")).unwrap();
        assert_eq!(v, [ColumnData::Date(Some(Date::new(days_0001(2000, 1, 1))))]);
        let ts = TimestampMicrosecondArray::from(vec![1]);
        assert!(encode_one(Arc::new(ts), plain("d", "date")).is_err());
    }

    #[test]
    fn encodes_datetime2_with_100ns_precision() {
        let base_s = civil(2024, 2, 29) * 86_400 + 13 * 3600 + 45 * 60 + 30;
        let ts = TimestampNanosecondArray::from(vec![
            Some(base_s * 1_000_000_000 + 123_456_700),
            Some(base_s * 1_000_000_000 + 123_456_789),
            None,
        ]);
        let v = encode_one(Arc::new(ts), col("t", "datetime2", None, None, Some(7))).unwrap();
        let day = Date::new(days_0001(2024, 2, 29));
        let inc = (13 * 3600 + 45 * 60 + 30) * 10_000_000u64;
        assert_eq!(
            v,
            [
                ColumnData::DateTime2(Some(DateTime2::new(day, Time::new(inc + 1_234_567, 7)))),
                // 89 ns rounds up to the next 100 ns
                ColumnData::DateTime2(Some(DateTime2::new(day, Time::new(inc + 1_234_568, 7)))),
                ColumnData::DateTime2(None)
            ]
        );
        // datetime2(3): built at scale 3 (tiberius would rescale through an f64 otherwise).
        let ts = TimestampMicrosecondArray::from(vec![base_s * 1_000_000 + 123_500]);
        let v = encode_one(Arc::new(ts), col("t", "datetime2", None, None, Some(3))).unwrap();
        let ColumnData::DateTime2(Some(dt)) = v[0] else {
            panic!("{v:?}")
        };
        assert_eq!(
            (dt.time().increments(), dt.time().scale()),
            (inc / 10_000 + 124, 3)
        );
        // Extremes: 0001-01-01 and the last 100 ns of 9999 (microseconds reach both).
        let ts = TimestampMicrosecondArray::from(vec![
            civil(1, 1, 1) * 86_400_000_000,
            civil(10000, 1, 1) * 86_400_000_000 - 1,
        ]);
        let v = encode_one(Arc::new(ts), col("t", "datetime2", None, None, Some(7))).unwrap();
        assert_eq!(
            v,
            [
                ColumnData::DateTime2(Some(DateTime2::new(Date::new(0), Time::new(0, 7)))),
                ColumnData::DateTime2(Some(DateTime2::new(
                    Date::new(3_652_058),
                    Time::new(863_999_999_990, 7)
                ))),
            ]
        );
        // Rounding past 9999-12-31 23:59:59.9999999 is out of range.
        let ts = TimestampNanosecondArray::from(vec![i64::MAX]);
        assert!(encode_one(Arc::new(ts), col("t", "datetime2", None, None, Some(0))).is_ok());
        let ts = TimestampMicrosecondArray::from(vec![civil(10000, 1, 1) * 86_400_000_000 - 1]);
        let err = encode_one(Arc::new(ts), col("t", "datetime2", None, None, Some(0))).unwrap_err();
        assert!(err.contains("[t] row 0"), "{err}");
    }

    #[test]
    fn encodes_datetime_rounding_to_300ths() {
        let d1900 = civil(1900, 1, 1) * 86_400_000;
        let ts = TimestampMillisecondArray::from(vec![
            Some(d1900),
            Some(d1900 + 1),   // .001 → tick 0 (.000)
            Some(d1900 + 2),   // .002 → tick 1 (.003)
            Some(d1900 + 5),   // .005 → tick 2 (.007)
            Some(d1900 + 999), // .999 → tick 300 (1.000)
            Some(civil(1753, 1, 1) * 86_400_000),
            Some(civil(9999, 12, 31) * 86_400_000 + 86_399_998), // rounds to 23:59:59.997
            None,
        ]);
        let v = encode_one(Arc::new(ts), plain("dt", "datetime")).unwrap();
        assert_eq!(
            v,
            [
                ColumnData::DateTime(Some(DateTime::new(0, 0))),
                ColumnData::DateTime(Some(DateTime::new(0, 0))),
                ColumnData::DateTime(Some(DateTime::new(0, 1))),
                ColumnData::DateTime(Some(DateTime::new(0, 2))),
                ColumnData::DateTime(Some(DateTime::new(0, 300))),
                ColumnData::DateTime(Some(DateTime::new(-53_690, 0))),
                ColumnData::DateTime(Some(DateTime::new(2_958_463, 25_919_999))),
                ColumnData::DateTime(None),
            ]
        );
        // 23:59:59.999 rounds into the next day, like SQL Server; before 1753 is out of range.
        let ts = TimestampMillisecondArray::from(vec![d1900 + 86_399_999]);
        let v = encode_one(Arc::new(ts), plain("dt", "datetime")).unwrap();
        assert_eq!(v, [ColumnData::DateTime(Some(DateTime::new(1, 0)))]);
        let ts = TimestampMillisecondArray::from(vec![civil(1752, 12, 31) * 86_400_000]);
        let err = encode_one(Arc::new(ts), plain("dt", "datetime")).unwrap_err();
        assert!(err.contains("[dt] row 0"), "{err}");

        let ts = TimestampMillisecondArray::from(vec![
            d1900 + 29_999,
            d1900 + 30_000,
            civil(2079, 6, 6) * 86_400_000 + 86_340_000,
        ]);
        let v = encode_one(Arc::new(ts), plain("s", "smalldatetime")).unwrap();
        assert_eq!(
            v,
            [
                ColumnData::SmallDateTime(Some(SmallDateTime::new(0, 0))),
                ColumnData::SmallDateTime(Some(SmallDateTime::new(0, 1))),
                ColumnData::SmallDateTime(Some(SmallDateTime::new(65_535, 1439))),
            ]
        );
    }

    #[test]
    fn encodes_time_at_the_column_scale() {
        let t = Time64NanosecondArray::from(vec![Some(86_399_999_999_900), Some(150), None]);
        let v = encode_one(Arc::new(t), col("t", "time", None, None, Some(7))).unwrap();
        assert_eq!(
            v,
            [
                ColumnData::Time(Some(Time::new(863_999_999_999, 7))),
                ColumnData::Time(Some(Time::new(2, 7))),
                ColumnData::Time(None)
            ]
        );
        let ColumnData::Time(Some(t)) = v[1] else { panic!() };
        assert_eq!(t.scale(), 7);
        let t = Time32MillisecondArray::from(vec![1_234]);
        let v = encode_one(Arc::new(t), col("t", "time", None, None, Some(2))).unwrap();
        let ColumnData::Time(Some(t)) = v[0] else { panic!() };
        assert_eq!((t.increments(), t.scale()), (123, 2));
        // Rounding to 24:00:00 does not fit a time.
        let t = Time64NanosecondArray::from(vec![86_399_999_999_999]);
        let err = encode_one(Arc::new(t), col("t", "time", None, None, Some(7))).unwrap_err();
        assert!(err.contains("[t] row 0"), "{err}");
    }

    #[test]
    fn encodes_datetimeoffset_as_utc_with_offset() {
        let utc_s = civil(2024, 6, 1) * 86_400 + 10 * 3600;
        let ts = TimestampMicrosecondArray::from(vec![Some(utc_s * 1_000_000), None]).with_timezone("+02:00");
        let v = encode_one(Arc::new(ts), col("o", "datetimeoffset", None, None, Some(7))).unwrap();
        let utc = DateTime2::new(
            Date::new(days_0001(2024, 6, 1)),
            Time::new(10 * 3600 * 10_000_000, 7),
        );
        assert_eq!(
            v,
            [
                ColumnData::DateTimeOffset(Some(DateTimeOffset::new(utc, 120))),
                ColumnData::DateTimeOffset(None)
            ]
        );
        // Named zones keep the instant with offset 0; naive timestamps are taken as UTC.
        let ts = TimestampMicrosecondArray::from(vec![utc_s * 1_000_000]).with_timezone("Europe/Berlin");
        let v = encode_one(Arc::new(ts), col("o", "datetimeoffset", None, None, Some(7))).unwrap();
        assert_eq!(v, [ColumnData::DateTimeOffset(Some(DateTimeOffset::new(utc, 0)))]);
        // A tz-aware timestamp into datetime2 is written as its UTC wall time.
        let ts = TimestampMicrosecondArray::from(vec![utc_s * 1_000_000]).with_timezone("+02:00");
        let v = encode_one(Arc::new(ts), col("o", "datetime2", None, None, Some(7))).unwrap();
        assert_eq!(v, [ColumnData::DateTime2(Some(utc))]);
    }

    #[test]
    fn encodes_unicode_strings_and_truncates_nvarchar_by_utf16_units() {
        let values = vec![Some("Ñandú"), Some("ab😀"), Some("漢字漢字"), Some("a😀"), None];
        let target = col("N", "nvarchar", Some(3), None, None);
        let b = batch(vec![(
            "n",
            Arc::new(StringArray::from(values.clone())) as ArrayRef,
        )]);

        let (rows, truncs) = encode_batch(&b, std::slice::from_ref(&target), WidthPolicy::Truncate).unwrap();
        let got: Vec<_> = rows.iter().map(|r| r.get(0).unwrap().clone()).collect();
        assert_eq!(
            got,
            [
                ColumnData::String(Some("Ñan".into())),
                // "ab" + a surrogate pair is 4 units: the pair is dropped, never split
                ColumnData::String(Some("ab".into())),
                ColumnData::String(Some("漢字漢".into())),
                // exactly 3 units fits
                ColumnData::String(Some("a😀".into())),
                ColumnData::String(None),
            ]
        );
        let t = |row: usize, length: usize, value: &str| Truncation {
            column: "N".into(),
            row,
            width: 3,
            length,
            value: value.into(),
        };
        assert_eq!(truncs, [t(0, 5, "Ñandú"), t(1, 4, "ab😀"), t(2, 4, "漢字漢字")]);

        // Strict: values untouched, same report.
        let (rows, strict) = encode_batch(&b, &[target], WidthPolicy::Strict).unwrap();
        assert_eq!(strict, truncs);
        assert_eq!(rows[1].get(0), Some(&ColumnData::String(Some("ab😀".into()))));

        // varchar counts characters: "ab😀" is 3 characters and fits varchar(3).
        let (rows, truncs) = encode_batch(
            &b,
            &[col("N", "varchar", Some(3), None, None)],
            WidthPolicy::Truncate,
        )
        .unwrap();
        assert_eq!(rows[1].get(0), Some(&ColumnData::String(Some("ab😀".into()))));
        assert_eq!(rows[0].get(0), Some(&ColumnData::String(Some("Ñan".into()))));
        assert_eq!(
            truncs.iter().map(|t| (t.row, t.length)).collect::<Vec<_>>(),
            [(0, 5), (2, 4)]
        );

        // max columns never truncate; LargeUtf8 / Utf8View / dictionaries are strings too.
        let long = "😀".repeat(5000);
        for array in [
            Arc::new(LargeStringArray::from(vec![long.as_str()])) as ArrayRef,
            Arc::new(StringViewArray::from(vec![long.as_str()])) as ArrayRef,
            Arc::new(DictionaryArray::<Int32Type>::from_iter([Some(long.as_str())])) as ArrayRef,
        ] {
            let v = encode_one(array, col("n", "nvarchar", Some(-1), None, None)).unwrap();
            assert_eq!(v, [ColumnData::String(Some(long.clone().into()))]);
        }
        // Integers into a character column are written as text.
        let v = encode_one(
            Arc::new(Int32Array::from(vec![-42])),
            col("n", "varchar", Some(5), None, None),
        )
        .unwrap();
        assert_eq!(v, [ColumnData::String(Some("-42".into()))]);
    }

    #[test]
    fn check_widths_reports_what_encode_would_cut() {
        let targets = [
            col("Name", "nvarchar", Some(3), None, None),
            col("Code", "varchar", Some(2), None, None),
        ];
        let batch = RecordBatch::try_from_iter([
            (
                "Name",
                Arc::new(StringArray::from(vec![Some("abc"), Some("abcd"), None])) as ArrayRef,
            ),
            (
                "Code",
                Arc::new(StringArray::from(vec![Some("xyz"), Some("x"), Some("ÑÑ")])) as ArrayRef,
            ),
        ])
        .unwrap();
        let found = check_widths(&batch, &targets).unwrap();
        let (_, encoded) = encode_batch(&batch, &targets, WidthPolicy::Truncate).unwrap();
        assert_eq!(found, encoded);
        let cells: Vec<_> = found
            .iter()
            .map(|t| (t.column.as_str(), t.row, t.length))
            .collect();
        assert_eq!(cells, [("Name", 1, 4), ("Code", 0, 3)]);
    }

    #[test]
    fn cut_never_splits_a_character() {
        assert_eq!(cut("😀😀", 3, true), Some(4));
        assert_eq!(cut("😀😀", 1, true), Some(0));
        assert_eq!(cut("😀😀", 4, true), None);
        assert_eq!(cut("😀😀", 1, false), Some(4));
        assert_eq!(cut("ÑÑÑ", 2, false), Some(4));
        assert_eq!(cut("abc", 3, true), None);
    }

    #[test]
    fn guid_round_trips_through_bulk_values_and_back() {
        let text = "6f9619ff-8b86-d011-b42d-00c04fc964ff";
        let target = plain("g", "uniqueidentifier");
        let v = encode_one(
            Arc::new(StringArray::from(vec![
                Some(text),
                Some("{6F9619FF-8B86-D011-B42D-00C04FC964FF}"),
                None,
            ])),
            target.clone(),
        )
        .unwrap();
        let guid = Uuid::parse_str(text).unwrap();
        assert_eq!(
            v,
            [
                ColumnData::Guid(Some(guid)),
                ColumnData::Guid(Some(guid)),
                ColumnData::Guid(None)
            ]
        );
        let fixed = FixedSizeBinaryArray::try_from_iter([guid.as_bytes()].into_iter()).unwrap();
        assert_eq!(
            encode_one(Arc::new(fixed), target.clone()).unwrap(),
            [ColumnData::Guid(Some(guid))]
        );
        let err = encode_one(Arc::new(StringArray::from(vec!["nope"])), target).unwrap_err();
        assert!(err.contains("[g] row 0") && err.contains("nope"), "{err}");
    }

    #[test]
    fn encodes_binary_and_rejects_overlong() {
        let a = BinaryArray::from(vec![Some(&[1u8, 2][..]), None]);
        let v = encode_one(Arc::new(a), col("b", "varbinary", Some(2), None, None)).unwrap();
        assert_eq!(
            v,
            [
                ColumnData::Binary(Some(vec![1u8, 2].into())),
                ColumnData::Binary(None)
            ]
        );
        let a = BinaryArray::from(vec![&[1u8, 2, 3][..]]);
        let err = encode_one(Arc::new(a), col("b", "binary", Some(2), None, None)).unwrap_err();
        assert!(err.contains("[b] row 0"), "{err}");
    }

    #[test]
    fn matches_columns_by_name_and_fills_missing_with_null() {
        let b = batch(vec![
            ("NAME", Arc::new(StringArray::from(vec!["x", "y"])) as ArrayRef),
            ("Id", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
            ("extra", Arc::new(Int32Array::from(vec![9, 9])) as ArrayRef),
        ]);
        let targets = [
            plain("id", "bigint"),
            col("when", "datetime2", None, None, Some(7)),
            col("name", "nvarchar", Some(10), None, None),
            col("amount", "decimal", None, Some(10), Some(2)),
        ];
        let (rows, truncs) = encode_batch(&b, &targets, WidthPolicy::Strict).unwrap();
        assert!(truncs.is_empty());
        assert_eq!(rows.len(), 2);
        let row: Vec<_> = rows[1].iter().cloned().collect();
        assert_eq!(
            row,
            [
                ColumnData::I64(Some(2)),
                ColumnData::DateTime2(None),
                ColumnData::String(Some("y".into())),
                ColumnData::Numeric(None),
            ]
        );
    }

    #[test]
    fn rejects_nulls_for_not_null_targets_and_unsupported_targets() {
        let mut target = plain("id", "int");
        target.nullable = false;
        let err = encode_one(Arc::new(Int32Array::from(vec![Some(1), None])), target).unwrap_err();
        assert!(err.contains("[id] row 1") && err.contains("NOT NULL"), "{err}");
        let err = encode_one(Arc::new(StringArray::from(vec!["<a/>"])), plain("x", "xml")).unwrap_err();
        assert!(err.contains("[x]") && err.contains("xml"), "{err}");
        let err = encode_one(
            Arc::new(StringArray::from(vec!["2024-01-01"])),
            plain("d", "date"),
        )
        .unwrap_err();
        assert!(err.contains("[d]") && err.contains("Utf8"), "{err}");
    }

    /// Every supported type: Arrow → bulk values → (as the server would return them) → Arrow.
    #[test]
    fn round_trip_every_type_through_encode_and_batch_builder() {
        let max38 = 99_999_999_999_999_999_999_999_999_999_999_999_999i128;
        let columns = vec![
            plain("bit", "bit"),
            plain("tiny", "tinyint"),
            plain("small", "smallint"),
            plain("int", "int"),
            plain("big", "bigint"),
            col("real", "real", None, Some(24), None),
            col("float", "float", None, Some(53), None),
            col("dec", "decimal", None, Some(38), Some(0)),
            col("frac", "numeric", None, Some(38), Some(38)),
            plain("money", "money"),
            plain("smallmoney", "smallmoney"),
            col("nv", "nvarchar", Some(20), None, None),
            col("vc", "varchar", Some(-1), None, None),
            plain("guid", "uniqueidentifier"),
            col("bin", "varbinary", Some(-1), None, None),
            plain("date", "date"),
            col("dt2", "datetime2", None, None, Some(7)),
            col("dt", "datetime", None, None, Some(3)),
            plain("sdt", "smalldatetime"),
            col("time", "time", None, None, Some(7)),
            col("dto", "datetimeoffset", None, None, Some(7)),
        ];
        let us = |y, m, d, extra: i64| civil(y, m, d) * 86_400_000_000 + extra;
        let dec = |v: Vec<Option<i128>>, p, s| -> ArrayRef {
            Arc::new(Decimal128Array::from(v).with_precision_and_scale(p, s).unwrap())
        };
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
            Arc::new(UInt8Array::from(vec![Some(255), Some(0), None])),
            Arc::new(Int16Array::from(vec![Some(i16::MIN), Some(i16::MAX), None])),
            Arc::new(Int32Array::from(vec![Some(i32::MIN), Some(i32::MAX), None])),
            Arc::new(Int64Array::from(vec![Some(i64::MIN), Some(i64::MAX), None])),
            Arc::new(Float32Array::from(vec![Some(f32::MIN), Some(3.5), None])),
            Arc::new(Float64Array::from(vec![Some(f64::MAX), Some(-0.1), None])),
            dec(vec![Some(max38), Some(-max38), None], 38, 0),
            dec(vec![Some(max38), Some(-1), None], 38, 38),
            dec(vec![Some(i64::MIN.into()), Some(i64::MAX.into()), None], 19, 4),
            dec(vec![Some(i32::MIN.into()), Some(i32::MAX.into()), None], 10, 4),
            Arc::new(StringArray::from(vec![Some("Ñandú 😀 漢字"), Some(""), None])),
            Arc::new(StringArray::from(vec![
                Some("plain"),
                Some("x".repeat(9000).as_str()),
                None,
            ])),
            Arc::new(StringArray::from(vec![
                Some("6f9619ff-8b86-d011-b42d-00c04fc964ff"),
                Some("00000000-0000-0000-0000-000000000000"),
                None,
            ])),
            Arc::new(BinaryArray::from(vec![
                Some(&[0u8, 255][..]),
                Some(&[][..]),
                None,
            ])),
            Arc::new(Date32Array::from(vec![
                Some(civil(1, 1, 1) as i32),
                Some(civil(9999, 12, 31) as i32),
                None,
            ])),
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(us(1, 1, 1, 0)),
                Some(us(9999, 12, 31, 86_399_999_999)),
                None,
            ])),
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(us(1753, 1, 1, 3_333)),
                Some(us(9999, 12, 31, 86_399_996_667)),
                None,
            ])),
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(us(1900, 1, 1, 0)),
                Some(us(2079, 6, 6, 86_340_000_000)),
                None,
            ])),
            Arc::new(Time64NanosecondArray::from(vec![
                Some(0),
                Some(86_399_999_999_900),
                None,
            ])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    Some(us(2024, 6, 1, 36_000_000_000)),
                    Some(us(1, 1, 1, 0)),
                    None,
                ])
                .with_timezone("+00:00"),
            ),
        ];
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| Field::new(&c.name, c.arrow_type().unwrap(), true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let input = RecordBatch::try_new(schema.clone(), arrays).unwrap();

        let (rows, truncs) = encode_batch(&input, &columns, WidthPolicy::Strict).unwrap();
        assert!(truncs.is_empty());
        let mut builder = BatchBuilder::new(&columns, schema, rows.len()).unwrap();
        for row in rows {
            builder.push_row(row).unwrap();
        }
        let output = builder.finish().unwrap();
        for (i, c) in columns.iter().enumerate() {
            assert_eq!(output.column(i), input.column(i), "column {}", c.name);
        }
    }
}
