//! Calendar arithmetic between SQL Server's date/time encodings and Arrow's epoch-based values.
//!
//! SQL Server (as tiberius hands it over): `date`/`datetime2`/`datetimeoffset` count days from
//! 0001-01-01 plus 10^-scale s increments since midnight (`datetimeoffset` in UTC);
//! `datetime` counts (signed) days from 1900-01-01 plus 1/300 s ticks; `smalldatetime` counts
//! days from 1900-01-01 plus minutes. Arrow counts from 1970-01-01.

use arrow::datatypes::TimeUnit;

/// Days from 0001-01-01 to 1970-01-01 (proleptic Gregorian).
pub(crate) const DAYS_0001_TO_1970: i64 = 719_162;
/// Days from 1900-01-01 to 1970-01-01.
pub(crate) const DAYS_1900_TO_1970: i64 = 25_567;
/// 9999-12-31 in days from 0001-01-01: the last day `date`/`datetime2` accept.
pub(crate) const MAX_DAYS_0001: i64 = 3_652_058;
/// `datetime` accepts 1753-01-01 ..= 9999-12-31 (days from 1900-01-01).
pub(crate) const DATETIME_DAYS: std::ops::RangeInclusive<i64> = -53_690..=2_958_463;
pub(crate) const SECS_PER_DAY: i128 = 86_400;

/// 10^n as i128 (n <= 38).
pub(crate) fn pow10(n: u32) -> i128 {
    10i128.pow(n)
}

/// Ticks per second of an Arrow time unit.
pub(crate) fn per_second(unit: TimeUnit) -> i128 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

/// `n / d` rounded half up (towards +inf), `d > 0`: instants round the same way on both sides of
/// the epoch, like SQL Server's own conversions to a coarser precision.
pub(crate) fn div_round_half_up(n: i128, d: i128) -> i128 {
    (2 * n + d).div_euclid(2 * d)
}

/// Converts `count` ticks at `from` ticks/s to ticks at `to` ticks/s, rounding half up.
pub(crate) fn rescale_ticks(count: i128, from: i128, to: i128) -> i128 {
    if to % from == 0 {
        count * (to / from)
    } else {
        div_round_half_up(count * to, from)
    }
}

/// Reading: `datetime2`/`datetimeoffset` parts (days from 0001, increments at `scale`) → ticks
/// of `unit` since the epoch. Digits finer than the unit are truncated, which never moves a
/// value to the next day (9999-12-31 23:59:59.9999999 stays in 9999).
pub(crate) fn from_datetime2(days: u32, increments: u64, scale: u8, unit: TimeUnit) -> i128 {
    let ups = per_second(unit);
    let day = (i128::from(days) - i128::from(DAYS_0001_TO_1970)) * SECS_PER_DAY * ups;
    day + i128::from(increments) * ups / pow10(u32::from(scale))
}

/// Reading: `time` increments at `scale` → ticks of `unit` since midnight (truncating).
pub(crate) fn from_time(increments: u64, scale: u8, unit: TimeUnit) -> i128 {
    i128::from(increments) * per_second(unit) / pow10(u32::from(scale))
}

/// Reading: `datetime` (days from 1900, 1/300 s ticks) → ticks of `unit` since the epoch,
/// rounded to the nearest tick of `unit` (1/300 s is not a whole number of µs or ns).
pub(crate) fn from_datetime(days: i32, fragments: u32, unit: TimeUnit) -> i128 {
    let ups = per_second(unit);
    let day = (i128::from(days) - i128::from(DAYS_1900_TO_1970)) * SECS_PER_DAY * ups;
    day + div_round_half_up(i128::from(fragments) * ups, 300)
}

/// Reading: `smalldatetime` (days from 1900, minutes) → ticks of `unit` since the epoch.
pub(crate) fn from_smalldatetime(days: u16, minutes: u16, unit: TimeUnit) -> i128 {
    let ups = per_second(unit);
    (i128::from(days) - i128::from(DAYS_1900_TO_1970)) * SECS_PER_DAY * ups + i128::from(minutes) * 60 * ups
}

/// Writing: an Arrow instant (`value` ticks of `unit` since the epoch) → (days from 0001,
/// increments at `scale`), rounded half up to the scale; `None` outside 0001..=9999.
pub(crate) fn to_datetime2(value: i128, unit: TimeUnit, scale: u8) -> Option<(u32, u64)> {
    let per_sec = pow10(u32::from(scale));
    let ticks = rescale_ticks(value, per_second(unit), per_sec);
    let per_day = SECS_PER_DAY * per_sec;
    let total = ticks + i128::from(DAYS_0001_TO_1970) * per_day;
    let days = total.div_euclid(per_day);
    if !(0..=i128::from(MAX_DAYS_0001)).contains(&days) {
        return None;
    }
    Some((days as u32, total.rem_euclid(per_day) as u64))
}

/// Writing: an Arrow instant → `datetime` (days from 1900, 1/300 s ticks), rounded half up to
/// the nearest 1/300 s as SQL Server does (.000/.003/.007); `None` outside 1753..=9999.
pub(crate) fn to_datetime(value: i128, unit: TimeUnit) -> Option<(i32, u32)> {
    let per_day = SECS_PER_DAY * 300;
    let ticks = div_round_half_up(value * 300, per_second(unit));
    let total = ticks + i128::from(DAYS_1900_TO_1970) * per_day;
    let days = total.div_euclid(per_day);
    let range = i128::from(*DATETIME_DAYS.start())..=i128::from(*DATETIME_DAYS.end());
    if !range.contains(&days) {
        return None;
    }
    Some((days as i32, total.rem_euclid(per_day) as u32))
}

/// Writing: an Arrow instant → `smalldatetime` (days from 1900, minutes), rounded half up to the
/// minute (SQL Server rounds 29.999 s up too; the half-up point here is 30 s); `None` outside
/// 1900-01-01..=2079-06-06.
pub(crate) fn to_smalldatetime(value: i128, unit: TimeUnit) -> Option<(u16, u16)> {
    let minutes = div_round_half_up(value, per_second(unit) * 60);
    let total = minutes + i128::from(DAYS_1900_TO_1970) * 1440;
    let days = total.div_euclid(1440);
    let days = u16::try_from(days).ok()?;
    Some((days, total.rem_euclid(1440) as u16))
}

/// Writing: a time of day (`value` ticks of `unit` since midnight) → increments at `scale`,
/// rounded half up; `None` unless within 00:00:00 ..= 23:59:59.9999999 at that scale.
pub(crate) fn to_time(value: i128, unit: TimeUnit, scale: u8) -> Option<u64> {
    let per_sec = pow10(u32::from(scale));
    let ticks = rescale_ticks(value, per_second(unit), per_sec);
    (0..SECS_PER_DAY * per_sec)
        .contains(&ticks)
        .then_some(ticks as u64)
}

/// Minutes east of UTC for an Arrow timezone that is a fixed offset ("+02:00", "-0530", "Z",
/// "UTC"); `None` for named zones, which are stored with offset 0 (the instant is kept).
pub(crate) fn fixed_offset_minutes(tz: &str) -> Option<i16> {
    let tz = tz.trim();
    if tz.eq_ignore_ascii_case("utc") || tz.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let (sign, rest) = match tz.as_bytes().first()? {
        b'+' => (1, &tz[1..]),
        b'-' => (-1, &tz[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i16 = digits[..2].parse().ok()?;
    let minutes: i16 = digits[2..].parse().ok()?;
    let total = hours * 60 + minutes;
    // datetimeoffset accepts -14:00 ..= +14:00.
    (total <= 14 * 60 && minutes < 60).then_some(sign * total)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), so tests
/// can state dates readably.
#[cfg(test)]
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_constants_agree() {
        // tiberius' DAYS_YEAR_1_TO_1900 is 693_595.
        assert_eq!(DAYS_0001_TO_1970 - DAYS_1900_TO_1970, 693_595);
        // 9999-12-31 is 2_932_896 days after 1970-01-01.
        assert_eq!(MAX_DAYS_0001 - DAYS_0001_TO_1970, 2_932_896);
    }

    #[test]
    fn rounding_is_half_up_on_both_sides_of_zero() {
        assert_eq!(div_round_half_up(5, 10), 1);
        assert_eq!(div_round_half_up(4, 10), 0);
        assert_eq!(div_round_half_up(-5, 10), 0);
        assert_eq!(div_round_half_up(-6, 10), -1);
    }

    #[test]
    fn datetime_round_trip_through_ticks() {
        for frag in [0u32, 1, 2, 150, 299, 25_919_999] {
            let us = from_datetime(0, frag, TimeUnit::Microsecond);
            assert_eq!(to_datetime(us, TimeUnit::Microsecond), Some((0, frag)));
            let ns = from_datetime(0, frag, TimeUnit::Nanosecond);
            assert_eq!(to_datetime(ns, TimeUnit::Nanosecond), Some((0, frag)));
        }
    }

    #[test]
    fn civil_days_match_sql_server_epochs() {
        assert_eq!(i64::from(days_from_civil(1, 1, 1)), -DAYS_0001_TO_1970);
        assert_eq!(i64::from(days_from_civil(1900, 1, 1)), -DAYS_1900_TO_1970);
        assert_eq!(
            i64::from(days_from_civil(9999, 12, 31)),
            MAX_DAYS_0001 - DAYS_0001_TO_1970
        );
        assert_eq!(
            i64::from(days_from_civil(1753, 1, 1)),
            DATETIME_DAYS.start() - DAYS_1900_TO_1970
        );
        assert_eq!(i64::from(days_from_civil(2079, 6, 6)), 65_535 - DAYS_1900_TO_1970);
    }

    #[test]
    fn fixed_offsets_parse() {
        assert_eq!(fixed_offset_minutes("+00:00"), Some(0));
        assert_eq!(fixed_offset_minutes("+02:00"), Some(120));
        assert_eq!(fixed_offset_minutes("-0530"), Some(-330));
        assert_eq!(fixed_offset_minutes("UTC"), Some(0));
        assert_eq!(fixed_offset_minutes("Europe/Berlin"), None);
        assert_eq!(fixed_offset_minutes("+15:00"), None);
    }
}
