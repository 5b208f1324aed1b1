//! Values between the protocol's [`Value`] and SQLite storage.
//!
//! Storage: integers and bit as INTEGER, floats as REAL, decimals and money as canonical decimal text
//! (exact at any precision), date/times as fixed-width ISO-8601 text (`2024-01-31 08:00:00.0000000`, so
//! text order is time order), GUIDs as upper-case text, binary as BLOB. [`convert`] gives a value the
//! variant, scale and range its column type demands, with SQL Server's error numbers when it cannot.

use rusqlite::types::{Value as Sql, ValueRef};

use super::error;
use crate::types::{SqlError, SqlType, Value};

const TICKS_PER_SECOND: u64 = 10_000_000;
const TICKS_PER_DAY: u64 = 86_400 * TICKS_PER_SECOND;
/// 9999-12-31 as days since 0001-01-01.
const MAX_DAYS: i32 = 3_652_058;

/// A SQLite value as a loosely typed [`Value`], before [`convert`] gives it its column's type.
pub fn loose(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

/// The SQLite form of a value: what is stored, and how parameters are bound.
pub fn to_sqlite(v: &Value) -> Sql {
    match v {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Int(i) => Sql::Integer(*i),
        Value::Float(f) => Sql::Real(*f),
        Value::Decimal { value, scale } => Sql::Text(format_decimal(*value, *scale)),
        Value::Text(s) => Sql::Text(s.clone()),
        Value::Bytes(b) => Sql::Blob(b.clone()),
        Value::Date(d) => Sql::Text(format_date(*d)),
        Value::Time(t) => Sql::Text(format_time(*t)),
        Value::DateTime { days, time } => Sql::Text(format!("{} {}", format_date(*days), format_time(*time))),
        Value::DateTimeOffset {
            days,
            time,
            offset_minutes,
        } => Sql::Text(format!(
            "{} {} {}",
            format_date(*days),
            format_time(*time),
            format_offset(*offset_minutes)
        )),
        Value::Guid(g) => Sql::Text(format_guid(g)),
    }
}

/// Converts a value for storage in a column of type `ty`: [`convert`], then SQL Server's width check
/// (8152; trailing spaces beyond the width are dropped silently, as SQL Server does) and `char(n)` padding.
pub fn store(v: &Value, ty: &SqlType) -> Result<Sql, SqlError> {
    let v = convert(v, ty)?;
    let v = match (v, ty) {
        (
            Value::Text(s),
            SqlType::Char(n) | SqlType::VarChar(Some(n)) | SqlType::NChar(n) | SqlType::NVarChar(Some(n)),
        ) => {
            let wide = matches!(ty, SqlType::NChar(_) | SqlType::NVarChar(_));
            let width = |s: &str| {
                if wide {
                    s.encode_utf16().count()
                } else {
                    s.chars().count()
                }
            };
            let n = usize::from(*n);
            let mut s = if width(&s) > n {
                let trimmed = s.trim_end_matches(' ');
                if width(trimmed) > n {
                    return Err(error::truncated());
                }
                trimmed.chars().take(n).collect()
            } else {
                s
            };
            if matches!(ty, SqlType::Char(_) | SqlType::NChar(_)) {
                let pad = n.saturating_sub(width(&s));
                s.extend(std::iter::repeat_n(' ', pad));
            }
            Value::Text(s)
        }
        (Value::Bytes(b), SqlType::VarBinary(Some(n))) if b.len() > usize::from(*n) => {
            return Err(error::truncated());
        }
        (v, _) => v,
    };
    Ok(to_sqlite(&v))
}

/// Gives `v` the variant, scale and range of type `ty`, as a CAST to `ty` would.
pub fn convert(v: &Value, ty: &SqlType) -> Result<Value, SqlError> {
    if matches!(v, Value::Null) {
        return Ok(Value::Null);
    }
    match ty {
        SqlType::Bit => to_bit(v, ty).map(Value::Bool),
        SqlType::TinyInt => to_int(v, ty, 0, 255).map(Value::Int),
        SqlType::SmallInt => to_int(v, ty, i16::MIN.into(), i16::MAX.into()).map(Value::Int),
        SqlType::Int => to_int(v, ty, i32::MIN.into(), i32::MAX.into()).map(Value::Int),
        SqlType::BigInt => to_int(v, ty, i64::MIN, i64::MAX).map(Value::Int),
        SqlType::Real => to_float(v, ty).map(|f| Value::Float(f64::from(f as f32))),
        SqlType::Float => to_float(v, ty).map(Value::Float),
        SqlType::Decimal { precision, scale } => to_decimal(v, ty, *precision, *scale, None),
        SqlType::Money => to_decimal(v, ty, 19, 4, Some(i128::from(i64::MAX))),
        SqlType::SmallMoney => to_decimal(v, ty, 10, 4, Some(i128::from(i32::MAX))),
        SqlType::Char(_) | SqlType::VarChar(_) | SqlType::NChar(_) | SqlType::NVarChar(_) => {
            Ok(Value::Text(to_text(v)))
        }
        SqlType::VarBinary(_) => match v {
            Value::Bytes(b) => Ok(Value::Bytes(b.clone())),
            Value::Text(s) => Ok(Value::Bytes(s.as_bytes().to_vec())),
            _ => Err(error::implicit_conversion(v, ty)),
        },
        SqlType::Date => to_datetime(v, ty).map(|(days, _, _)| Value::Date(days)),
        SqlType::Time(scale) => {
            let time = match v {
                Value::Text(s) => match parse_time(s.trim()) {
                    Some(t) => t,
                    None => to_datetime(v, ty)?.1,
                },
                _ => to_datetime(v, ty)?.1,
            };
            let (_, time) = round_ticks(0, time, 10u64.pow(7 - u32::from((*scale).min(7))));
            Ok(Value::Time(time % TICKS_PER_DAY))
        }
        SqlType::DateTime | SqlType::SmallDateTime | SqlType::DateTime2(_) => {
            let (days, time, _) = to_datetime(v, ty)?;
            let (days, time) = match ty {
                SqlType::DateTime => round_datetime(days, time),
                SqlType::SmallDateTime => round_ticks(days, time, 60 * TICKS_PER_SECOND),
                SqlType::DateTime2(s) => round_ticks(days, time, 10u64.pow(7 - u32::from((*s).min(7)))),
                _ => (days, time),
            };
            let min_days = match ty {
                SqlType::DateTime => days_from_civil(1753, 1, 1),
                SqlType::SmallDateTime => days_from_civil(1900, 1, 1),
                _ => 0,
            };
            let max_days = if *ty == SqlType::SmallDateTime {
                days_from_civil(2079, 6, 6)
            } else {
                MAX_DAYS
            };
            if days < min_days || days > max_days {
                return Err(error::datetime_out_of_range(ty));
            }
            Ok(Value::DateTime { days, time })
        }
        SqlType::DateTimeOffset(s) => {
            let (days, time, offset) = to_datetime(v, ty)?;
            let (days, time) = round_ticks(days, time, 10u64.pow(7 - u32::from((*s).min(7))));
            Ok(Value::DateTimeOffset {
                days,
                time,
                offset_minutes: offset.unwrap_or(0),
            })
        }
        SqlType::UniqueIdentifier => match v {
            Value::Guid(g) => Ok(Value::Guid(*g)),
            Value::Text(s) => parse_guid(s.trim()).map(Value::Guid).ok_or_else(error::bad_guid),
            Value::Bytes(b) if b.len() == 16 => {
                let mut g = [0u8; 16];
                g.copy_from_slice(b);
                Ok(Value::Guid(g))
            }
            _ => Err(error::implicit_conversion(v, ty)),
        },
    }
}

fn to_bit(v: &Value, ty: &SqlType) -> Result<bool, SqlError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Int(i) => Ok(*i != 0),
        Value::Float(f) => Ok(*f != 0.0),
        Value::Decimal { value, .. } => Ok(*value != 0),
        Value::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            t => t
                .parse::<f64>()
                .map(|f| f != 0.0)
                .map_err(|_| error::conversion_failed(s, ty)),
        },
        _ => Err(error::implicit_conversion(v, ty)),
    }
}

fn to_int(v: &Value, ty: &SqlType, min: i64, max: i64) -> Result<i64, SqlError> {
    let i: i128 = match v {
        Value::Bool(b) => i128::from(*b),
        Value::Int(i) => i128::from(*i),
        Value::Float(f) if f.is_finite() && f.abs() < 1e38 => f.trunc() as i128,
        Value::Float(_) => return Err(error::overflow(ty)),
        Value::Decimal { value, scale } => value / 10i128.checked_pow(u32::from(*scale)).unwrap_or(i128::MAX),
        Value::Text(s) => s
            .trim()
            .parse::<i128>()
            .map_err(|_| error::conversion_failed(s, ty))?,
        _ => return Err(error::implicit_conversion(v, ty)),
    };
    if i < i128::from(min) || i > i128::from(max) {
        return Err(error::overflow(ty));
    }
    Ok(i as i64)
}

fn to_float(v: &Value, ty: &SqlType) -> Result<f64, SqlError> {
    match v {
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        Value::Decimal { value, scale } => Ok(format_decimal(*value, *scale).parse().unwrap_or(f64::NAN)),
        Value::Text(s) => s.trim().parse().map_err(|_| error::conversion_failed(s, ty)),
        _ => Err(error::implicit_conversion(v, ty)),
    }
}

/// To `value / 10^scale` with at most `precision` digits (and `|value| <= limit` for money), rounding
/// half away from zero as SQL Server does.
fn to_decimal(
    v: &Value,
    ty: &SqlType,
    precision: u8,
    scale: u8,
    limit: Option<i128>,
) -> Result<Value, SqlError> {
    let text = match v {
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_finite() => f.to_string(),
        Value::Float(_) => return Err(error::overflow(ty)),
        Value::Decimal { value, scale } => format_decimal(*value, *scale),
        Value::Text(s) => s.trim().to_string(),
        _ => return Err(error::implicit_conversion(v, ty)),
    };
    let parsed = Decimal::parse(&text).ok_or_else(|| error::conversion_failed(&text, ty))?;
    let value = parsed
        .rescale(precision, scale)
        .ok_or_else(|| error::overflow(ty))?;
    if limit.is_some_and(|limit| value > limit || value < -limit - 1) {
        return Err(error::overflow(ty));
    }
    Ok(Value::Decimal { value, scale })
}

/// Days, ticks and the offset (when written) of a date/time value.
fn to_datetime(v: &Value, ty: &SqlType) -> Result<(i32, u64, Option<i16>), SqlError> {
    match v {
        Value::Date(d) => Ok((*d, 0, None)),
        Value::Time(t) => Ok((days_from_civil(1900, 1, 1), *t, None)),
        Value::DateTime { days, time } => Ok((*days, *time, None)),
        Value::DateTimeOffset {
            days,
            time,
            offset_minutes,
        } => Ok((*days, *time, Some(*offset_minutes))),
        Value::Text(s) => parse_datetime(s.trim()).ok_or_else(error::bad_datetime),
        _ => Err(error::implicit_conversion(v, ty)),
    }
}

/// Any value as text, the way CAST to nvarchar writes it.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Text(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => match to_sqlite(other) {
            Sql::Text(s) => s,
            _ => String::new(),
        },
    }
}

/// A decimal number parsed exactly: sign, integer digits without leading zeros, fraction digits
/// without trailing zeros.
#[derive(Debug, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    int: String,
    frac: String,
}

impl Decimal {
    /// Parses `-12.50`, `+3`, `.5`, `1e-5`, `1.5E+3`.
    pub fn parse(s: &str) -> Option<Self> {
        let (negative, s) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exponent) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
            None => (s, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut digits = format!("{int}{frac}");
        let mut point = int.len() as i64 + i64::from(exponent);
        if point < 0 {
            digits.insert_str(0, &"0".repeat(point.unsigned_abs() as usize));
            point = 0;
        }
        let point = point as usize;
        if point > digits.len() {
            digits.push_str(&"0".repeat(point - digits.len()));
        }
        let int = digits[..point].trim_start_matches('0').to_string();
        let frac = digits[point..].trim_end_matches('0').to_string();
        let negative = negative && !(int.is_empty() && frac.is_empty());
        Some(Self { negative, int, frac })
    }

    /// `value` such that `value / 10^scale` is this number rounded to `scale` digits, or `None` when
    /// it needs more than `precision` digits.
    pub fn rescale(&self, precision: u8, scale: u8) -> Option<i128> {
        let scale = usize::from(scale);
        if self.int.len() > usize::from(precision).saturating_sub(scale) {
            return None;
        }
        let mut digits = self.int.clone();
        let kept: String = self.frac.chars().take(scale).collect();
        digits.push_str(&kept);
        digits.push_str(&"0".repeat(scale - kept.len()));
        let mut value: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        if self.frac.as_bytes().get(scale).is_some_and(|d| *d >= b'5') {
            value += 1;
        }
        if 10i128
            .checked_pow(u32::from(precision))
            .is_none_or(|limit| value >= limit)
        {
            return None;
        }
        Some(if self.negative { -value } else { value })
    }

    /// Numeric order.
    pub fn compare(&self, other: &Self) -> std::cmp::Ordering {
        let magnitude = self
            .int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(&other.int))
            .then_with(|| self.frac.cmp(&other.frac));
        match (self.negative, other.negative) {
            (false, false) => magnitude,
            (true, true) => magnitude.reverse(),
            (false, true) => std::cmp::Ordering::Greater,
            (true, false) => std::cmp::Ordering::Less,
        }
    }
}

/// `value / 10^scale` as text with exactly `scale` fraction digits.
pub fn format_decimal(value: i128, scale: u8) -> String {
    let digits = value.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let sign = if value < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// Days since 0001-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = i64::from(if month <= 2 { year - 1 } else { year });
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    // 719_162 days from 0001-01-01 to 1970-01-01; 719_468 from 0000-03-01 to 1970-01-01.
    (era * 146_097 + doe - 719_468 + 719_162) as i32
}

/// The date of `days` since 0001-01-01.
pub fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = i64::from(days) - 719_162 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn format_time(ticks: u64) -> String {
    let secs = ticks / TICKS_PER_SECOND;
    format!(
        "{:02}:{:02}:{:02}.{:07}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ticks % TICKS_PER_SECOND
    )
}

fn format_offset(minutes: i16) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

/// `YYYY-MM-DD` or `YYYYMMDD`.
fn parse_date(s: &str) -> Option<i32> {
    if !s.is_ascii() {
        return None;
    }
    let b = s.as_bytes();
    let (y, m, d) = match b.len() {
        10 if b[4] == b'-' && b[7] == b'-' => (&s[..4], &s[5..7], &s[8..]),
        8 => (&s[..4], &s[4..6], &s[6..]),
        _ => return None,
    };
    if ![y, m, d].iter().all(|p| p.bytes().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if y < 1 || !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    (civil_from_days(days) == (y, m, d)).then_some(days)
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fffffff` (more fraction digits are rounded to 100 ns).
fn parse_time(s: &str) -> Option<u64> {
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut parts = hms.split(':');
    let h: u64 = parts.next()?.parse().ok()?;
    let m: u64 = parts.next()?.parse().ok()?;
    let sec: u64 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    if parts.next().is_some() || h > 23 || m > 59 || sec > 59 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut ticks = (h * 3600 + m * 60 + sec) * TICKS_PER_SECOND;
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(7).collect();
    ticks += digits.parse::<u64>().ok()?;
    if frac.as_bytes().get(7).is_some_and(|d| *d >= b'5') {
        ticks += 1;
    }
    Some(ticks)
}

/// A date, a date and time (`T` or space between), optionally with `Z` or a `±HH:MM` offset.
fn parse_datetime(s: &str) -> Option<(i32, u64, Option<i16>)> {
    let date_len = if s.as_bytes().get(4) == Some(&b'-') { 10 } else { 8 };
    let days = parse_date(s.get(..date_len)?)?;
    let rest = s[date_len..].trim_start_matches([' ', 'T']);
    if rest.is_empty() {
        return Some((days, 0, None));
    }
    let (time, offset) = if let Some(t) = rest.strip_suffix('Z') {
        (t.trim_end(), Some(0))
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (h, m) = rest[i + 1..].split_once(':')?;
        let minutes = h.parse::<i16>().ok()? * 60 + m.parse::<i16>().ok()?;
        if minutes > 14 * 60 {
            return None;
        }
        (
            rest[..i].trim_end(),
            Some(if &rest[i..=i] == "-" { -minutes } else { minutes }),
        )
    } else {
        (rest, None)
    };
    Some((days, parse_time(time)?, offset))
}

/// Rounds a time of day to a multiple of `unit` ticks, carrying into the next day.
fn round_ticks(days: i32, time: u64, unit: u64) -> (i32, u64) {
    let rounded = time.saturating_add(unit / 2) / unit * unit;
    if rounded >= TICKS_PER_DAY && days < MAX_DAYS {
        (days + 1, rounded - TICKS_PER_DAY)
    } else {
        (days, rounded.min(TICKS_PER_DAY - unit))
    }
}

/// `datetime` keeps 1/300 s.
fn round_datetime(days: i32, time: u64) -> (i32, u64) {
    let three_hundredths = (time.min(TICKS_PER_DAY) * 300 + TICKS_PER_SECOND / 2) / TICKS_PER_SECOND;
    let time = (three_hundredths * TICKS_PER_SECOND + 150) / 300;
    round_ticks(days, time, 1)
}

/// `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`, optionally in braces, to SQL Server's byte order.
fn parse_guid(s: &str) -> Option<[u8; 16]> {
    let s = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')).unwrap_or(s);
    let groups: Vec<&str> = s.split('-').collect();
    if groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
        return None;
    }
    let hex: String = groups.concat();
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    bytes[..4].reverse();
    bytes[4..6].reverse();
    bytes[6..8].reverse();
    Some(bytes)
}

fn format_guid(g: &[u8; 16]) -> String {
    let mut b = *g;
    b[..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A key that orders date/time text by instant (UTC when an offset is written), for the `tsql_time`
/// collation; `None` when the text is not a date/time.
pub fn time_key(s: &str) -> Option<i128> {
    let s = s.trim();
    let (days, time, offset) = parse_datetime(s).or_else(|| parse_time(s).map(|t| (0, t, None)))?;
    let minutes = i128::from(offset.unwrap_or(0));
    Some(
        i128::from(days) * i128::from(TICKS_PER_DAY) + i128::from(time)
            - minutes * 60 * i128::from(TICKS_PER_SECOND),
    )
}

/// The type to report for a result column whose type the query does not tell: from its values.
pub fn infer_type(values: &mut dyn Iterator<Item = &Value>) -> SqlType {
    let (mut ints, mut reals, mut longest, mut texts, mut blobs) = (false, false, 0usize, false, false);
    for v in values {
        match v {
            Value::Int(_) => ints = true,
            Value::Float(_) => reals = true,
            Value::Text(s) => {
                texts = true;
                longest = longest.max(s.encode_utf16().count());
            }
            Value::Bytes(_) => blobs = true,
            _ => {}
        }
    }
    if texts {
        SqlType::NVarChar(if longest <= 4000 { Some(4000) } else { None })
    } else if blobs {
        SqlType::VarBinary(None)
    } else if reals {
        SqlType::Float
    } else if ints {
        SqlType::BigInt
    } else {
        SqlType::Int
    }
}

/// The SQL Server name of a value's type, for conversion messages.
pub fn type_name_of(v: &Value) -> &'static str {
    match v {
        Value::Null | Value::Int(_) => "int",
        Value::Bool(_) => "bit",
        Value::Float(_) => "float",
        Value::Decimal { .. } => "numeric",
        Value::Text(_) => "nvarchar",
        Value::Bytes(_) => "varbinary",
        Value::Date(_) => "date",
        Value::Time(_) => "time",
        Value::DateTime { .. } => "datetime2",
        Value::DateTimeOffset { .. } => "datetimeoffset",
        Value::Guid(_) => "uniqueidentifier",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_cover_sql_server_range() {
        assert_eq!(days_from_civil(1, 1, 1), 0);
        assert_eq!(days_from_civil(9999, 12, 31), MAX_DAYS);
        assert_eq!(civil_from_days(MAX_DAYS), (9999, 12, 31));
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(format_date(parse_date("20240229").unwrap()), "2024-02-29");
    }

    #[test]
    fn datetimes_parse_and_round() {
        let v = convert(
            &Value::Text("2024-01-31T23:59:59.9999999".into()),
            &SqlType::DateTime2(0),
        )
        .unwrap();
        assert_eq!(
            v,
            Value::DateTime {
                days: days_from_civil(2024, 2, 1),
                time: 0
            }
        );
        let v = convert(&Value::Text("2024-01-31 10:00:00.001".into()), &SqlType::DateTime).unwrap();
        assert_eq!(to_text(&v), "2024-01-31 10:00:00.0000000");
        let v = convert(
            &Value::Text("2024-01-31 10:00 +05:30".into()),
            &SqlType::DateTimeOffset(7),
        )
        .unwrap();
        assert_eq!(to_text(&v), "2024-01-31 10:00:00.0000000 +05:30");
        assert!(time_key("2024-01-31 10:00 +05:30") < time_key("2024-01-31 10:00"));
    }

    #[test]
    fn decimals_are_exact_and_round_half_away() {
        let d = |s: &str, p, sc| Decimal::parse(s).unwrap().rescale(p, sc);
        assert_eq!(d("1.005", 10, 2), Some(101));
        assert_eq!(d("-1.005", 10, 2), Some(-101));
        assert_eq!(
            d("99999999999999999999999999999999999999", 38, 0),
            Some(10i128.pow(38) - 1)
        );
        assert_eq!(d("100000000000000000000000000000000000000", 38, 0), None);
        assert_eq!(d("9.995", 3, 2), None);
        assert_eq!(d("1.5e-3", 10, 4), Some(15));
        assert_eq!(format_decimal(-5, 3), "-0.005");
        assert_eq!(format_decimal(12345, 2), "123.45");
    }

    #[test]
    fn guids_use_sql_server_byte_order() {
        let text = "01020304-0506-0708-090A-0B0C0D0E0F10";
        let g = parse_guid(text).unwrap();
        assert_eq!(g[..4], [4, 3, 2, 1]);
        assert_eq!(format_guid(&g), text);
    }

    #[test]
    fn widths_are_enforced() {
        let ty = SqlType::NVarChar(Some(2));
        assert_eq!(
            store(&Value::Text("ab  ".into()), &ty).unwrap(),
            Sql::Text("ab".into())
        );
        assert_eq!(store(&Value::Text("abc".into()), &ty).unwrap_err().number, 8152);
        assert_eq!(
            store(&Value::Text("😀".into()), &SqlType::NVarChar(Some(1)))
                .unwrap_err()
                .number,
            8152
        );
        assert_eq!(
            store(&Value::Text("a".into()), &SqlType::Char(3)).unwrap(),
            Sql::Text("a  ".into())
        );
    }
}
