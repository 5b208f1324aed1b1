//! Conversions between the value model (days since 0001-01-01, 100 ns units since midnight) and the
//! wire forms of the temporal types.

/// 100 ns units in a day and in a minute.
pub const DAY: i64 = 864_000_000_000;
const MINUTE: i64 = 600_000_000;
/// Days from 0001-01-01 to 1900-01-01, the epoch of `datetime` and `smalldatetime`.
pub const DAYS_TO_1900: i32 = 693_595;
/// `datetime` counts time in 1/300 s.
const TICKS_PER_DAY: i64 = 300 * 86_400;

/// Bytes of a `time` value at `scale`.
pub fn time_len(scale: u8) -> u8 {
    match scale {
        0..=2 => 3,
        3..=4 => 4,
        _ => 5,
    }
}

/// The largest scale stored in `len` bytes: how a bulk `time` sent at another scale than the
/// column's is read (tiberius sends it at its own scale, 7 from chrono).
pub fn scale_for_len(len: u8) -> u8 {
    match len {
        3 => 2,
        4 => 4,
        _ => 7,
    }
}

fn pow10(scale: u8) -> u64 {
    10u64.pow(7 - scale.min(7) as u32)
}

/// 100 ns units to increments of 10^-scale s (truncating, as the value already has its scale).
pub fn to_increments(time: u64, scale: u8) -> u64 {
    time / pow10(scale)
}

pub fn from_increments(increments: u64, scale: u8) -> u64 {
    increments * pow10(scale)
}

/// `datetime`: days since 1900 and 1/300 s ticks, rounded to the nearest tick.
pub fn to_datetime(days: i32, time: u64) -> (i32, u32) {
    let ticks = (time as i64 * 300 + 5_000_000) / 10_000_000;
    if ticks >= TICKS_PER_DAY {
        (days - DAYS_TO_1900 + 1, 0)
    } else {
        (days - DAYS_TO_1900, ticks as u32)
    }
}

pub fn from_datetime(days: i32, ticks: u32) -> (i32, u64) {
    (days + DAYS_TO_1900, (ticks as u64 * 10_000_000 + 150) / 300)
}

/// `smalldatetime`: days since 1900 and minutes, rounded to the nearest minute.
pub fn to_smalldatetime(days: i32, time: u64) -> (u16, u16) {
    let minutes = (time as i64 + MINUTE / 2) / MINUTE;
    let carry = minutes / 1440;
    (
        (days - DAYS_TO_1900 + carry as i32) as u16,
        (minutes % 1440) as u16,
    )
}

pub fn from_smalldatetime(days: u16, minutes: u16) -> (i32, u64) {
    (days as i32 + DAYS_TO_1900, minutes as u64 * MINUTE as u64)
}

/// Moves a date-time by `minutes` (the wire keeps `datetimeoffset` in UTC, the model in local time).
pub fn shift(days: i32, time: u64, minutes: i64) -> (i32, u64) {
    let total = days as i64 * DAY + time as i64 + minutes * MINUTE;
    (total.div_euclid(DAY) as i32, total.rem_euclid(DAY) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_ticks_round_trip() {
        // 23:59:59.997 is the last tick of a day.
        let last = (TICKS_PER_DAY - 1) as u32;
        let (days, time) = from_datetime(0, last);
        assert_eq!(to_datetime(days, time), (0, last));
        assert_eq!(to_datetime(DAYS_TO_1900, DAY as u64 - 1), (1, 0));
    }

    #[test]
    fn smalldatetime_rounds_to_minutes() {
        let (days, minutes) = to_smalldatetime(DAYS_TO_1900 + 2, 90 * MINUTE as u64 + 31 * 10_000_000);
        assert_eq!((days, minutes), (2, 91));
        assert_eq!(from_smalldatetime(2, 91), (DAYS_TO_1900 + 2, 91 * MINUTE as u64));
    }

    #[test]
    fn shift_crosses_days() {
        assert_eq!(shift(10, 0, -60), (9, (DAY - 60 * MINUTE) as u64));
        assert_eq!(shift(9, (DAY - 60 * MINUTE) as u64, 60), (10, 0));
    }

    #[test]
    fn time_scales() {
        assert_eq!(to_increments(123_456_789, 3), 12_345);
        assert_eq!(from_increments(12_345, 3), 123_450_000);
        assert_eq!((time_len(0), time_len(3), time_len(7)), (3, 4, 5));
    }
}
