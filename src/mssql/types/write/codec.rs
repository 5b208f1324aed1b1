//! Write codecs: an Arrow column → bulk-load values for a column of one SQL Server type (the
//! "write" column of the [type table](super::super::table)). Each takes every Arrow type that
//! converts without loss (integers into a float, a timestamp at midnight into a date, …) and
//! refuses a value that does not fit, naming its row.

use std::borrow::Cow;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, TimeUnit};
use tiberius::numeric::Numeric;
use tiberius::time::{Date, DateTime, DateTime2, DateTimeOffset, SmallDateTime, Time};
use tiberius::{ColumnData, Uuid};

use super::super::temporal::{self, DAYS_0001_TO_1970, MAX_DAYS_0001, pow10};
use super::super::{TypeError, ValueProblem};
use super::arrays::{as_text, binaries, instants, strings, times};
use super::num::{Num, numbers};
use super::{Encoder, WidthPolicy, overflow};

/// One column's values, in row order.
type Values = Result<Vec<ColumnData<'static>>, TypeError>;

/// Converts an Arrow column (never a dictionary) into values for the encoder's column.
pub(crate) type WriteFn = fn(&ArrayRef, &mut Encoder<'_>) -> Values;

pub(crate) fn bit(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    let a = array
        .as_boolean_opt()
        .ok_or_else(|| enc.unsupported(array.data_type()))?;
    Ok(a.iter().map(ColumnData::Bit).collect())
}

pub(crate) fn tinyint(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    each_number(array, enc, |n| Ok(ColumnData::U8(Some(n.to_int(0, 255)? as u8))))
}

pub(crate) fn smallint(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    each_number(array, enc, |n| {
        Ok(ColumnData::I16(Some(
            n.to_int(i16::MIN.into(), i16::MAX.into())? as i16
        )))
    })
}

pub(crate) fn int(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    each_number(array, enc, |n| {
        Ok(ColumnData::I32(Some(
            n.to_int(i32::MIN.into(), i32::MAX.into())? as i32
        )))
    })
}

pub(crate) fn bigint(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    each_number(array, enc, |n| {
        Ok(ColumnData::I64(Some(
            n.to_int(i64::MIN.into(), i64::MAX.into())? as i64
        )))
    })
}

pub(crate) fn real(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    each_number(array, enc, |n| Ok(ColumnData::F32(Some(n.to_f32()))))
}

pub(crate) fn float(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    each_number(array, enc, |n| Ok(ColumnData::F64(Some(n.to_f64()))))
}

/// Numbers at the column's scale with no more digits than its precision.
pub(crate) fn decimal(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    let limit = pow10(u32::from(enc.ty.params.precision)) as u128;
    each_decimal(array, enc, |v| v.unsigned_abs() < limit)
}

/// Numbers at scale 4 in the range of an i64 (money is stored as one).
pub(crate) fn money(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    each_decimal(array, enc, |v| {
        (i128::from(i64::MIN)..=i128::from(i64::MAX)).contains(&v)
    })
}

/// Numbers at scale 4 in the range of an i32.
pub(crate) fn smallmoney(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    each_decimal(array, enc, |v| {
        (i128::from(i32::MIN)..=i128::from(i32::MAX)).contains(&v)
    })
}

/// Strings (and integers and decimals, as their text), cut to the column's width or kept whole
/// by the encoder's policy, and reported either way.
pub(crate) fn text(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    let text = as_text(array).ok_or_else(|| enc.unsupported(array.data_type()))?;
    let read = strings(&text).ok_or_else(|| enc.unsupported(text.data_type()))?;
    let mut out = Vec::with_capacity(text.len());
    for i in 0..text.len() {
        let Some(s) = read(i) else {
            out.push(enc.null());
            continue;
        };
        let value = match enc
            .ty
            .params
            .width
            .and_then(|w| overflow(s, w, &enc.column.name, i))
        {
            None => s.to_string(),
            Some((truncation, cut_at)) => {
                enc.truncations.push(truncation);
                match enc.policy {
                    WidthPolicy::Truncate => s[..cut_at].to_string(),
                    WidthPolicy::Strict => s.to_string(),
                }
            }
        };
        out.push(ColumnData::String(Some(Cow::Owned(value))));
    }
    Ok(out)
}

/// 16-byte binaries, or text in any form `Uuid` parses (hyphens, braces, either case).
pub(crate) fn guid(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    if let DataType::FixedSizeBinary(16) = array.data_type() {
        let a = array.as_fixed_size_binary();
        return Ok((0..a.len())
            .map(|i| {
                ColumnData::Guid(
                    a.is_valid(i)
                        .then(|| Uuid::from_bytes(a.value(i).try_into().expect("16 bytes"))),
                )
            })
            .collect());
    }
    let read = strings(array).ok_or_else(|| enc.unsupported(array.data_type()))?;
    (0..array.len())
        .map(|i| {
            let guid = read(i)
                .map(|s| {
                    Uuid::parse_str(s.trim()).map_err(|e| {
                        let problem = ValueProblem::NotAGuid {
                            value: s.to_string(),
                            reason: e.to_string(),
                        };
                        enc.at(i, problem)
                    })
                })
                .transpose()?;
            Ok(ColumnData::Guid(guid))
        })
        .collect()
}

/// Bytes no longer than the column.
pub(crate) fn binary(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    let bytes = binaries(array).ok_or_else(|| enc.unsupported(array.data_type()))?;
    let width = enc.ty.params.width.map(|w| w.length);
    (0..array.len())
        .map(|i| {
            let value = bytes(i);
            if let (Some(v), Some(w)) = (value, width)
                && v.len() > w
            {
                let problem = ValueProblem::TooLong {
                    length: v.len(),
                    declaration: enc.column.declaration(),
                };
                return Err(enc.at(i, problem));
            }
            Ok(ColumnData::Binary(value.map(|v| Cow::Owned(v.to_vec()))))
        })
        .collect()
}

/// Dates, and timestamps at midnight.
pub(crate) fn date(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    each_instant(array, enc, |value, unit, _| {
        let per_day = temporal::per_second(unit) * temporal::SECS_PER_DAY;
        if value.rem_euclid(per_day) != 0 {
            return Err(ValueProblem::TimeOfDay);
        }
        let days = value.div_euclid(per_day) + i128::from(DAYS_0001_TO_1970);
        if !(0..=i128::from(MAX_DAYS_0001)).contains(&days) {
            return Err(enc.out_of_range());
        }
        Ok(ColumnData::Date(Some(Date::new(days as u32))))
    })
}

pub(crate) fn datetime(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    each_instant(array, enc, |value, unit, _| {
        let (days, ticks) = temporal::to_datetime(value, unit).ok_or_else(|| enc.out_of_range())?;
        Ok(ColumnData::DateTime(Some(DateTime::new(days, ticks))))
    })
}

pub(crate) fn smalldatetime(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    each_instant(array, enc, |value, unit, _| {
        let (days, minutes) = temporal::to_smalldatetime(value, unit).ok_or_else(|| enc.out_of_range())?;
        Ok(ColumnData::SmallDateTime(Some(SmallDateTime::new(days, minutes))))
    })
}

pub(crate) fn datetime2(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    let scale = enc.ty.params.scale;
    each_instant(array, enc, |value, unit, _| {
        let (days, inc) = temporal::to_datetime2(value, unit, scale).ok_or_else(|| enc.out_of_range())?;
        Ok(ColumnData::DateTime2(Some(DateTime2::new(
            Date::new(days),
            Time::new(inc, scale),
        ))))
    })
}

/// The wire holds the UTC date/time; the offset is kept for display.
pub(crate) fn datetimeoffset(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    let scale = enc.ty.params.scale;
    each_instant(array, enc, |value, unit, offset| {
        let (days, inc) = temporal::to_datetime2(value, unit, scale).ok_or_else(|| enc.out_of_range())?;
        let utc = DateTime2::new(Date::new(days), Time::new(inc, scale));
        Ok(ColumnData::DateTimeOffset(Some(DateTimeOffset::new(utc, offset))))
    })
}

pub(crate) fn time(array: &ArrayRef, enc: &mut Encoder<'_>) -> Values {
    let read = times(array).ok_or_else(|| enc.unsupported(array.data_type()))?;
    let scale = enc.ty.params.scale;
    (0..array.len())
        .map(|i| match read(i) {
            None => Ok(enc.null()),
            Some((value, unit)) => {
                let inc =
                    temporal::to_time(value, unit, scale).ok_or_else(|| enc.at(i, enc.out_of_range()))?;
                Ok(ColumnData::Time(Some(Time::new(inc, scale))))
            }
        })
        .collect()
}

/// Each number of `array` converted by `convert` (whose error is the problem with the value),
/// NULLs as the column's NULL.
fn each_number(
    array: &ArrayRef,
    enc: &Encoder<'_>,
    convert: impl Fn(Num) -> Result<ColumnData<'static>, ValueProblem>,
) -> Values {
    let read = numbers(array).ok_or_else(|| enc.unsupported(array.data_type()))?;
    (0..array.len())
        .map(|i| match read(i) {
            None => Ok(enc.null()),
            Some(num) => convert(num).map_err(|problem| enc.at(i, problem)),
        })
        .collect()
}

/// Each number of `array` at the column's scale, when `fits` that mantissa.
fn each_decimal(array: &ArrayRef, enc: &Encoder<'_>, fits: impl Fn(i128) -> bool) -> Values {
    let scale = enc.ty.params.scale;
    each_number(array, enc, |num| {
        let value = num.to_decimal(scale)?;
        let numeric = Numeric::new_with_scale(value, scale);
        if !fits(value) {
            return Err(ValueProblem::TooManyDigits {
                value: numeric.to_string(),
                declaration: enc.column.declaration(),
            });
        }
        Ok(ColumnData::Numeric(Some(numeric)))
    })
}

/// Each date or timestamp of `array` as (ticks since the epoch, unit, minutes east of UTC of its
/// timezone) converted by `convert`, NULLs as the column's NULL.
fn each_instant(
    array: &ArrayRef,
    enc: &Encoder<'_>,
    convert: impl Fn(i128, TimeUnit, i16) -> Result<ColumnData<'static>, ValueProblem>,
) -> Values {
    let (read, offset) = instants(array).ok_or_else(|| enc.unsupported(array.data_type()))?;
    (0..array.len())
        .map(|i| match read(i) {
            None => Ok(enc.null()),
            Some((value, unit)) => convert(value, unit, offset).map_err(|problem| enc.at(i, problem)),
        })
        .collect()
}
