//! Values in ROW tokens (written per the announced `SqlType`) and in RPC parameters and bulk rows
//! (read per the `WireType` the client declared).

use bytes::BufMut;

use super::charset::{decode_1252, encode_1252};
use super::temporal::{self, DAY};
use super::typeinfo::{WireType, decimal_len};
use super::wire::{Reader, Result, malformed, utf16_to_string};
use crate::types::{SqlType, Value};

/// The last day `date` allows, 9999-12-31.
const MAX_DAYS: i32 = 3_652_058;
const PLP_NULL: u64 = u64::MAX;

/// Writes `value` as a ROW column of type `ty`. The error says which value did not fit.
pub fn encode_value(dst: &mut Vec<u8>, ty: &SqlType, value: &Value) -> std::result::Result<(), String> {
    if *value == Value::Null {
        encode_null(dst, ty);
        return Ok(());
    }
    let mismatch = || format!("a {ty:?} column cannot hold {value:?}");
    match ty {
        SqlType::Bit => {
            let bit = match value {
                Value::Bool(b) => *b,
                Value::Int(i) => *i != 0,
                _ => return Err(mismatch()),
            };
            dst.put_slice(&[1, bit as u8]);
        }
        SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt => {
            let int = match value {
                Value::Int(i) => *i,
                Value::Bool(b) => *b as i64,
                _ => return Err(mismatch()),
            };
            let out_of_range = || format!("arithmetic overflow: {int} does not fit a {ty:?}");
            match ty {
                SqlType::TinyInt => dst.put_slice(&[1, u8::try_from(int).map_err(|_| out_of_range())?]),
                SqlType::SmallInt => {
                    dst.put_u8(2);
                    dst.put_i16_le(i16::try_from(int).map_err(|_| out_of_range())?);
                }
                SqlType::Int => {
                    dst.put_u8(4);
                    dst.put_i32_le(i32::try_from(int).map_err(|_| out_of_range())?);
                }
                _ => {
                    dst.put_u8(8);
                    dst.put_i64_le(int);
                }
            }
        }
        SqlType::Real | SqlType::Float => {
            let float = match value {
                Value::Float(f) => *f,
                Value::Int(i) => *i as f64,
                Value::Decimal { value, scale } => *value as f64 / 10f64.powi(*scale as i32),
                _ => return Err(mismatch()),
            };
            if *ty == SqlType::Real {
                dst.put_u8(4);
                dst.put_f32_le(float as f32);
            } else {
                dst.put_u8(8);
                dst.put_f64_le(float);
            }
        }
        SqlType::Decimal { precision, scale } => {
            let scaled = scaled_decimal(value, *scale).ok_or_else(mismatch)?;
            if scaled.unsigned_abs() >= 10u128.pow(*precision as u32) {
                return Err(format!("arithmetic overflow: {value:?} does not fit a {ty:?}"));
            }
            let len = decimal_len(*precision);
            dst.put_u8(len);
            dst.put_u8((scaled >= 0) as u8);
            dst.put_slice(&scaled.unsigned_abs().to_le_bytes()[..len as usize - 1]);
        }
        SqlType::Money | SqlType::SmallMoney => {
            let scaled = scaled_decimal(value, 4).ok_or_else(mismatch)?;
            let overflow = || format!("arithmetic overflow: {value:?} does not fit a {ty:?}");
            if *ty == SqlType::SmallMoney {
                dst.put_u8(4);
                dst.put_i32_le(i32::try_from(scaled).map_err(|_| overflow())?);
            } else {
                let money = i64::try_from(scaled).map_err(|_| overflow())?;
                dst.put_u8(8);
                dst.put_i32_le((money >> 32) as i32);
                dst.put_u32_le(money as u32);
            }
        }
        SqlType::Char(_) | SqlType::VarChar(_) | SqlType::NChar(_) | SqlType::NVarChar(_) => {
            let Value::Text(text) = value else {
                return Err(mismatch());
            };
            let bytes = match ty {
                SqlType::Char(n) => encode_1252(&format!("{text:<width$}", width = *n as usize)),
                SqlType::VarChar(_) => encode_1252(text),
                SqlType::NChar(n) => {
                    let pad = (*n as usize).saturating_sub(text.encode_utf16().count());
                    utf16(&format!("{text}{}", " ".repeat(pad)))
                }
                _ => utf16(text),
            };
            let max = matches!(ty, SqlType::VarChar(None) | SqlType::NVarChar(None));
            put_var_bytes(dst, &bytes, max)?;
        }
        SqlType::VarBinary(n) => {
            let Value::Bytes(bytes) = value else {
                return Err(mismatch());
            };
            put_var_bytes(dst, bytes, n.is_none())?;
        }
        SqlType::Date => {
            let Value::Date(days) = value else {
                return Err(mismatch());
            };
            dst.put_u8(3);
            put_date(dst, *days)?;
        }
        SqlType::Time(scale) => {
            let Value::Time(time) = value else {
                return Err(mismatch());
            };
            dst.put_u8(temporal::time_len(*scale));
            put_time(dst, *time, *scale)?;
        }
        SqlType::DateTime2(scale) => {
            let (days, time) = date_time(value).ok_or_else(mismatch)?;
            dst.put_u8(temporal::time_len(*scale) + 3);
            put_time(dst, time, *scale)?;
            put_date(dst, days)?;
        }
        SqlType::DateTimeOffset(scale) => {
            let Value::DateTimeOffset {
                days,
                time,
                offset_minutes,
            } = value
            else {
                return Err(mismatch());
            };
            let (days, time) = temporal::shift(*days, *time, -(*offset_minutes as i64));
            dst.put_u8(temporal::time_len(*scale) + 5);
            put_time(dst, time, *scale)?;
            put_date(dst, days)?;
            dst.put_i16_le(*offset_minutes);
        }
        SqlType::DateTime => {
            let (days, time) = date_time(value).ok_or_else(mismatch)?;
            let (days, ticks) = temporal::to_datetime(days, time);
            dst.put_u8(8);
            dst.put_i32_le(days);
            dst.put_u32_le(ticks);
        }
        SqlType::SmallDateTime => {
            let (days, time) = date_time(value).ok_or_else(mismatch)?;
            let (days, minutes) = temporal::to_smalldatetime(days, time);
            dst.put_u8(4);
            dst.put_u16_le(days);
            dst.put_u16_le(minutes);
        }
        SqlType::UniqueIdentifier => {
            let Value::Guid(bytes) = value else {
                return Err(mismatch());
            };
            dst.put_u8(16);
            dst.put_slice(bytes);
        }
    }
    Ok(())
}

fn encode_null(dst: &mut Vec<u8>, ty: &SqlType) {
    match ty {
        SqlType::VarChar(None) | SqlType::NVarChar(None) | SqlType::VarBinary(None) => {
            dst.put_u64_le(PLP_NULL)
        }
        SqlType::Char(_)
        | SqlType::VarChar(_)
        | SqlType::NChar(_)
        | SqlType::NVarChar(_)
        | SqlType::VarBinary(_) => dst.put_u16_le(0xffff),
        _ => dst.put_u8(0),
    }
}

fn utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A two-byte length then the bytes, or for `max` types one PLP chunk and the terminator.
fn put_var_bytes(dst: &mut Vec<u8>, bytes: &[u8], max: bool) -> std::result::Result<(), String> {
    if max {
        dst.put_u64_le(bytes.len() as u64);
        if !bytes.is_empty() {
            dst.put_u32_le(bytes.len() as u32);
            dst.put_slice(bytes);
        }
        dst.put_u32_le(0);
    } else {
        let len = u16::try_from(bytes.len()).ok().filter(|l| *l != 0xffff);
        dst.put_u16_le(len.ok_or_else(|| format!("{} bytes do not fit a non-max column", bytes.len()))?);
        dst.put_slice(bytes);
    }
    Ok(())
}

/// `value` as an integer count of 10^-scale units, rounding half away from zero.
fn scaled_decimal(value: &Value, scale: u8) -> Option<i128> {
    match value {
        Value::Int(i) => (*i as i128).checked_mul(10i128.pow(scale as u32)),
        Value::Float(f) => {
            let scaled = (f * 10f64.powi(scale as i32)).round();
            (scaled.abs() < 1e38).then_some(scaled as i128)
        }
        Value::Decimal { value, scale: from } if *from <= scale => {
            value.checked_mul(10i128.pow((scale - from) as u32))
        }
        Value::Decimal { value, scale: from } => {
            let divisor = 10i128.pow((from - scale) as u32);
            let (quotient, remainder) = (value / divisor, value % divisor);
            Some(
                quotient
                    + if remainder.abs() * 2 >= divisor {
                        value.signum()
                    } else {
                        0
                    },
            )
        }
        _ => None,
    }
}

fn date_time(value: &Value) -> Option<(i32, u64)> {
    match value {
        Value::DateTime { days, time } => Some((*days, *time)),
        Value::Date(days) => Some((*days, 0)),
        _ => None,
    }
}

fn put_date(dst: &mut Vec<u8>, days: i32) -> std::result::Result<(), String> {
    if !(0..=MAX_DAYS).contains(&days) {
        return Err(format!("day {days} is outside 0001-01-01..9999-12-31"));
    }
    dst.put_slice(&days.to_le_bytes()[..3]);
    Ok(())
}

fn put_time(dst: &mut Vec<u8>, time: u64, scale: u8) -> std::result::Result<(), String> {
    if time >= DAY as u64 {
        return Err(format!("time {time} (100 ns) is not within a day"));
    }
    let increments = temporal::to_increments(time, scale);
    dst.put_slice(&increments.to_le_bytes()[..temporal::time_len(scale) as usize]);
    Ok(())
}

/// Reads one value of type `ty` (an RPC parameter value or a bulk row column).
pub fn decode_value(src: &mut Reader, ty: WireType) -> Result<Value> {
    let len = match ty {
        WireType::Null => return Ok(Value::Null),
        WireType::Int { len, fixed: true }
        | WireType::Float { len, fixed: true }
        | WireType::Money { len, fixed: true }
        | WireType::DateTime { len, fixed: true } => len,
        WireType::Bit { fixed: true } => 1,
        WireType::Text { .. } | WireType::Binary { .. } => return decode_var_bytes(src, ty),
        _ => src.u8()?,
    };
    if len == 0 {
        return Ok(Value::Null);
    }
    let bad_len = || malformed(format!("{ty:?} value of {len} bytes"));
    Ok(match ty {
        WireType::Int { .. } => Value::Int(match len {
            1 => src.u8()? as i64,
            2 => src.i16()? as i64,
            4 => src.i32()? as i64,
            8 => src.i64()?,
            _ => return bad_len(),
        }),
        WireType::Bit { .. } => Value::Bool(src.u8()? != 0),
        WireType::Float { .. } => Value::Float(match len {
            4 => src.f32()? as f64,
            8 => src.f64()?,
            _ => return bad_len(),
        }),
        WireType::Money { .. } => Value::Decimal {
            value: match len {
                4 => src.i32()? as i128,
                8 => ((src.i32()? as i64) << 32 | src.u32()? as i64) as i128,
                _ => return bad_len(),
            },
            scale: 4,
        },
        WireType::DateTime { .. } => {
            let (days, time) = match len {
                4 => temporal::from_smalldatetime(src.u16()?, src.u16()?),
                8 => temporal::from_datetime(src.i32()?, src.u32()?),
                _ => return bad_len(),
            };
            Value::DateTime { days, time }
        }
        WireType::Guid => {
            if len != 16 {
                return bad_len();
            }
            let mut guid = [0u8; 16];
            guid.copy_from_slice(src.bytes(16)?);
            Value::Guid(guid)
        }
        WireType::Decimal { scale, .. } => {
            let sign = src.u8()?;
            let magnitude = src.bytes(len as usize - 1)?;
            if magnitude.len() > 16 {
                return bad_len();
            }
            let mut bytes = [0u8; 16];
            bytes[..magnitude.len()].copy_from_slice(magnitude);
            let value = u128::from_le_bytes(bytes) as i128;
            Value::Decimal {
                value: if sign == 0 { -value } else { value },
                scale,
            }
        }
        WireType::Date => Value::Date(read_date(src, len)?),
        WireType::Time(scale) => Value::Time(read_time(src, scale, len)?),
        WireType::DateTime2(scale) => {
            let time = read_time(src, scale, len.saturating_sub(3))?;
            Value::DateTime {
                days: read_date(src, 3)?,
                time,
            }
        }
        WireType::DateTimeOffset(scale) => {
            let time = read_time(src, scale, len.saturating_sub(5))?;
            let days = read_date(src, 3)?;
            let offset_minutes = src.i16()?;
            let (days, time) = temporal::shift(days, time, offset_minutes as i64);
            Value::DateTimeOffset {
                days,
                time,
                offset_minutes,
            }
        }
        WireType::Null | WireType::Text { .. } | WireType::Binary { .. } => unreachable!("handled above"),
    })
}

fn read_date(src: &mut Reader, len: u8) -> Result<i32> {
    if len != 3 {
        return malformed(format!("date value of {len} bytes"));
    }
    let b = src.bytes(3)?;
    Ok(i32::from_le_bytes([b[0], b[1], b[2], 0]))
}

/// A `time` of `len` bytes; when the length does not match `scale` (tiberius sends bulk `time`
/// values at their own scale), the largest scale of that length.
fn read_time(src: &mut Reader, scale: u8, len: u8) -> Result<u64> {
    if !(3..=5).contains(&len) {
        return malformed(format!("time value of {len} bytes"));
    }
    let scale = if temporal::time_len(scale) == len {
        scale
    } else {
        temporal::scale_for_len(len)
    };
    let mut bytes = [0u8; 8];
    bytes[..len as usize].copy_from_slice(src.bytes(len as usize)?);
    Ok(temporal::from_increments(u64::from_le_bytes(bytes), scale))
}

fn decode_var_bytes(src: &mut Reader, ty: WireType) -> Result<Value> {
    let bytes = if ty.is_plp() {
        let total = src.u64()?;
        if total == PLP_NULL {
            return Ok(Value::Null);
        }
        let mut bytes = Vec::new();
        loop {
            let chunk = src.u32()? as usize;
            if chunk == 0 {
                break bytes;
            }
            bytes.extend_from_slice(src.bytes(chunk)?);
        }
    } else {
        match src.u16()? {
            0xffff => return Ok(Value::Null),
            len => src.bytes(len as usize)?.to_vec(),
        }
    };
    Ok(match ty {
        WireType::Text { unicode: true, .. } => Value::Text(utf16_to_string(&bytes)?),
        WireType::Text { unicode: false, .. } => Value::Text(decode_1252(&bytes)),
        _ => Value::Bytes(bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::super::typeinfo::{decode_type_info, encode_type_info};
    use super::*;

    /// Encodes as the server does for a ROW and decodes as a client-sent value of the same type.
    fn round_trip(ty: SqlType, value: Value) -> Value {
        let mut buf = Vec::new();
        encode_type_info(&mut buf, &ty);
        encode_value(&mut buf, &ty, &value).unwrap();
        let mut src = Reader::new(&buf);
        let wire = decode_type_info(&mut src).unwrap();
        let out = decode_value(&mut src, wire).unwrap();
        assert!(src.is_empty(), "{ty:?} left bytes");
        out
    }

    #[test]
    fn every_type_round_trips() {
        let dec = |value, scale| Value::Decimal { value, scale };
        let max38 = 10i128.pow(38) - 1;
        let cases = [
            (SqlType::Bit, Value::Bool(true)),
            (SqlType::TinyInt, Value::Int(255)),
            (SqlType::SmallInt, Value::Int(-32768)),
            (SqlType::Int, Value::Int(i32::MIN as i64)),
            (SqlType::BigInt, Value::Int(i64::MAX)),
            (SqlType::Real, Value::Float(1.5)),
            (SqlType::Float, Value::Float(-2.25e300)),
            (
                SqlType::Decimal {
                    precision: 38,
                    scale: 0,
                },
                dec(max38, 0),
            ),
            (
                SqlType::Decimal {
                    precision: 38,
                    scale: 38,
                },
                dec(-max38, 38),
            ),
            (
                SqlType::Decimal {
                    precision: 9,
                    scale: 2,
                },
                dec(-123_456_789, 2),
            ),
            (
                SqlType::Decimal {
                    precision: 28,
                    scale: 4,
                },
                dec(10i128.pow(27), 4),
            ),
            (SqlType::Money, dec(i64::MIN as i128, 4)),
            (SqlType::SmallMoney, dec(2_147_483_647, 4)),
            (SqlType::VarChar(Some(20)), Value::Text("Ñandú €".into())),
            (SqlType::VarChar(None), Value::Text("x".repeat(10_000))),
            (SqlType::NVarChar(Some(40)), Value::Text("Ñ 😀 字".into())),
            (SqlType::NVarChar(None), Value::Text(String::new())),
            (SqlType::NVarChar(None), Value::Text("😀".repeat(5000))),
            (SqlType::VarBinary(Some(4)), Value::Bytes(vec![0, 1, 255])),
            (SqlType::VarBinary(None), Value::Bytes(vec![9; 70_000])),
            (SqlType::Date, Value::Date(0)),
            (SqlType::Date, Value::Date(MAX_DAYS)),
            (SqlType::Time(7), Value::Time(DAY as u64 - 1)),
            (SqlType::Time(0), Value::Time(3_600 * 10_000_000)),
            (
                SqlType::DateTime2(7),
                Value::DateTime {
                    days: MAX_DAYS,
                    time: DAY as u64 - 1,
                },
            ),
            (
                SqlType::DateTime2(3),
                Value::DateTime {
                    days: 0,
                    time: 1_230_000,
                },
            ),
            (
                SqlType::DateTimeOffset(7),
                Value::DateTimeOffset {
                    days: 1,
                    time: 0,
                    offset_minutes: 840,
                },
            ),
            (
                SqlType::DateTimeOffset(2),
                Value::DateTimeOffset {
                    days: 738_000,
                    time: 10_000_000,
                    offset_minutes: -300,
                },
            ),
            (
                SqlType::DateTime,
                Value::DateTime {
                    days: 700_000,
                    time: 123 * 10_000_000,
                },
            ),
            (
                SqlType::SmallDateTime,
                Value::DateTime {
                    days: 700_000,
                    time: 60 * 600_000_000,
                },
            ),
            (SqlType::UniqueIdentifier, Value::Guid([7; 16])),
        ];
        for (ty, value) in cases {
            assert_eq!(round_trip(ty.clone(), value.clone()), value, "{ty:?}");
            assert_eq!(round_trip(ty.clone(), Value::Null), Value::Null, "{ty:?} NULL");
        }
    }

    #[test]
    fn fixed_width_strings_are_padded() {
        assert_eq!(
            round_trip(SqlType::Char(4), Value::Text("ab".into())),
            Value::Text("ab  ".into())
        );
        assert_eq!(
            round_trip(SqlType::NChar(3), Value::Text("ñ".into())),
            Value::Text("ñ  ".into())
        );
    }

    #[test]
    fn values_are_rescaled_and_range_checked() {
        let ty = SqlType::Decimal {
            precision: 5,
            scale: 2,
        };
        let out = round_trip(
            ty.clone(),
            Value::Decimal {
                value: 12_345,
                scale: 3,
            },
        );
        assert_eq!(
            out,
            Value::Decimal {
                value: 1_235,
                scale: 2
            }
        );
        assert!(encode_value(&mut Vec::new(), &ty, &Value::Int(1000)).is_err());
        assert!(encode_value(&mut Vec::new(), &SqlType::TinyInt, &Value::Int(256)).is_err());
        assert!(encode_value(&mut Vec::new(), &SqlType::Int, &Value::Text("1".into())).is_err());
    }

    #[test]
    fn reads_fixed_length_and_typeless_null_forms() {
        // INT4 42, FLT8 0.5, typeless NULL.
        let mut buf = vec![0x38];
        buf.extend_from_slice(&42i32.to_le_bytes());
        buf.push(0x3e);
        buf.extend_from_slice(&0.5f64.to_le_bytes());
        buf.push(0x1f);
        let mut src = Reader::new(&buf);
        let mut next = || {
            let ty = decode_type_info(&mut src).unwrap();
            decode_value(&mut src, ty).unwrap()
        };
        assert_eq!(next(), Value::Int(42));
        assert_eq!(next(), Value::Float(0.5));
        assert_eq!(next(), Value::Null);
    }

    #[test]
    fn bulk_time_at_another_scale_is_read_at_the_scale_of_its_length() {
        // A time(3) column receiving a scale-7 (5-byte) value, as tiberius sends chrono times.
        let mut buf = vec![5];
        buf.extend_from_slice(&123_456_789u64.to_le_bytes()[..5]);
        let value = decode_value(&mut Reader::new(&buf), WireType::Time(3)).unwrap();
        assert_eq!(value, Value::Time(123_456_789));
    }
}
