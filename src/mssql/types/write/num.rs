//! Numbers on their way into SQL Server: any integer, float or decimal Arrow value as a [`Num`],
//! kept exact until the target column's type says what it must become.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Decimal32Type, Decimal64Type, Decimal128Type, Float16Type, Float32Type,
    Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};

use super::super::ValueProblem;
use super::arrays::Reader;

/// A number read from any numeric Arrow array, kept exact until the target type is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i128),
    /// mantissa × 10^-scale (Arrow decimal scales may be negative).
    Dec(i128, i32),
    F32(f32),
    F64(f64),
}

impl Num {
    /// An exact integer in `min..=max`; fractions and out-of-range values are errors.
    pub(crate) fn to_int(self, min: i128, max: i128) -> Result<i128, ValueProblem> {
        match self.exact_int() {
            Some(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(ValueProblem::NotAnInteger {
                value: self.to_string(),
                min,
                max,
            }),
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

    pub(crate) fn to_f64(self) -> f64 {
        match self {
            Num::Int(v) => v as f64,
            Num::Dec(m, s) => format!("{m}e{}", -s).parse().unwrap_or(f64::NAN),
            Num::F32(v) => f64::from(v),
            Num::F64(v) => v,
        }
    }

    pub(crate) fn to_f32(self) -> f32 {
        match self {
            Num::F32(v) => v,
            // Parsed directly so a decimal is rounded once, not twice through f64.
            Num::Dec(m, s) => format!("{m}e{}", -s).parse().unwrap_or(f32::NAN),
            other => other.to_f64() as f32,
        }
    }

    /// The mantissa at `scale`, rounded half away from zero (floats from their shortest
    /// round-trip decimal form, so 0.1 is 0.1 and not 0.1000000000000000055…).
    pub(crate) fn to_decimal(self, scale: u8) -> Result<i128, ValueProblem> {
        let not_finite = |value: String| ValueProblem::NotFinite { value };
        let (mantissa, from) = match self {
            Num::Int(v) => (v, 0),
            Num::Dec(m, s) => (m, s),
            Num::F32(v) => shortest_decimal(&format!("{v:e}")).ok_or_else(|| not_finite(v.to_string()))?,
            Num::F64(v) => shortest_decimal(&format!("{v:e}")).ok_or_else(|| not_finite(v.to_string()))?,
        };
        rescale_round(mantissa, from, i32::from(scale)).ok_or_else(|| ValueProblem::TooLargeForScale {
            value: self.to_string(),
            scale,
        })
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

/// Reads any integer, float or decimal array as [`Num`]s (`None` for NULL).
pub(crate) fn numbers(array: &ArrayRef) -> Option<Reader<'_, Num>> {
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
