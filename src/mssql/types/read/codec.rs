//! Read codecs: a value from the server → a [`Cell`] of its column's builder (the "read" column of
//! the [type table](super::super::table)). Each accepts the tiberius variants the server sends for
//! its type (an integer column may also arrive as a narrower integer) and nothing else.

use tiberius::ColumnData;

use super::super::temporal::{self, DAYS_0001_TO_1970, pow10};
use super::super::{TypeError, ValueProblem};
use super::{Cell, ReadTarget};

use ColumnData as C;

/// A codec that takes one tiberius variant.
macro_rules! one_variant {
    ($name:ident, $variant:ident, $v:ident => $cell:expr) => {
        pub(crate) fn $name<'a>(value: ColumnData<'a>, t: &ReadTarget) -> Result<Cell<'a>, TypeError> {
            match value {
                C::$variant(Some($v)) => Ok($cell),
                other => Err(t.unexpected(&other)),
            }
        }
    };
}

one_variant!(bit, Bit, v => Cell::Bool(v));
one_variant!(real, F32, v => Cell::F32(v));
one_variant!(binary, Binary, b => Cell::Bytes(b));
one_variant!(date, Date, d => Cell::Date((i64::from(d.days()) - DAYS_0001_TO_1970) as i32));

/// Integers of at most `BYTES` bytes.
pub(crate) fn int<'a, const BYTES: u8>(value: ColumnData<'a>, t: &ReadTarget) -> Result<Cell<'a>, TypeError> {
    match value {
        C::U8(Some(v)) => Ok(Cell::Int(v.into())),
        C::I16(Some(v)) if BYTES >= 2 => Ok(Cell::Int(v.into())),
        C::I32(Some(v)) if BYTES >= 4 => Ok(Cell::Int(v.into())),
        C::I64(Some(v)) if BYTES >= 8 => Ok(Cell::Int(v)),
        other => Err(t.unexpected(&other)),
    }
}

pub(crate) fn float<'a>(value: ColumnData<'a>, t: &ReadTarget) -> Result<Cell<'a>, TypeError> {
    match value {
        C::F32(Some(v)) => Ok(Cell::F64(f64::from(v))),
        C::F64(Some(v)) => Ok(Cell::F64(v)),
        other => Err(t.unexpected(&other)),
    }
}

/// Decimals at the field's scale, when that is exact.
pub(crate) fn decimal<'a>(value: ColumnData<'a>, t: &ReadTarget) -> Result<Cell<'a>, TypeError> {
    match value {
        C::Numeric(Some(n)) => rescale_exact(n.value(), n.scale(), t.scale)
            .map(Cell::Dec)
            .ok_or_else(|| {
                t.does_not_fit(ValueProblem::FinerThanScale {
                    value: n.to_string(),
                    scale: t.scale,
                })
            }),
        other => Err(t.unexpected(&other)),
    }
}

/// Money is selected as a decimal; selected without the cast it arrives as an f64 (value / 1e4).
pub(crate) fn money<'a>(value: ColumnData<'a>, t: &ReadTarget) -> Result<Cell<'a>, TypeError> {
    match value {
        C::F64(Some(v)) => {
            let scaled = (v * pow10(u32::from(t.scale)) as f64).round();
            if !scaled.is_finite() || scaled.abs() >= 1e38 {
                return Err(t.does_not_fit(ValueProblem::MoneyOutOfRange { value: v }));
            }
            Ok(Cell::Dec(scaled as i128))
        }
        other => decimal(other, t),
    }
}

/// Character columns, and `uniqueidentifier` as its canonical lower-case hyphenated text (Uuid's
/// Display).
pub(crate) fn text<'a>(value: ColumnData<'a>, t: &ReadTarget) -> Result<Cell<'a>, TypeError> {
    match value {
        C::String(Some(s)) => Ok(Cell::Str(s)),
        C::Guid(Some(g)) => Ok(Cell::Text(g.to_string())),
        other => Err(t.unexpected(&other)),
    }
}

/// `datetime`, `smalldatetime`, `datetime2` and `datetimeoffset` as ticks of the field's unit since
/// the epoch.
pub(crate) fn instant<'a>(value: ColumnData<'a>, t: &ReadTarget) -> Result<Cell<'a>, TypeError> {
    let unit = t.unit;
    let ticks = match value {
        C::DateTime2(Some(v)) => {
            temporal::from_datetime2(v.date().days(), v.time().increments(), v.time().scale(), unit)
        }
        // The date/time of a datetimeoffset are UTC on the wire; the offset only says how it was
        // written.
        C::DateTimeOffset(Some(v)) => {
            let dt = v.datetime2();
            temporal::from_datetime2(dt.date().days(), dt.time().increments(), dt.time().scale(), unit)
        }
        C::DateTime(Some(v)) => temporal::from_datetime(v.days(), v.seconds_fragments(), unit),
        C::SmallDateTime(Some(v)) => temporal::from_smalldatetime(v.days(), v.seconds_fragments(), unit),
        other => return Err(t.unexpected(&other)),
    };
    ticks_cell(ticks, t)
}

/// `time` as ticks of the field's unit since midnight.
pub(crate) fn time<'a>(value: ColumnData<'a>, t: &ReadTarget) -> Result<Cell<'a>, TypeError> {
    match value {
        C::Time(Some(v)) => ticks_cell(temporal::from_time(v.increments(), v.scale(), t.unit), t),
        other => Err(t.unexpected(&other)),
    }
}

fn ticks_cell<'a>(ticks: i128, t: &ReadTarget) -> Result<Cell<'a>, TypeError> {
    i64::try_from(ticks).map(Cell::Int).map_err(|_| {
        t.does_not_fit(ValueProblem::BeyondArrowType {
            data_type: t.data_type.clone(),
        })
    })
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
