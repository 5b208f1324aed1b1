//! Reading Arrow arrays of any width or layout through one accessor per kind of value (text, bytes,
//! instants, times of day), so a write codec handles `Utf8`, `LargeUtf8` and `Utf8View` alike.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType,
    Time64NanosecondType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};

use super::super::temporal;

/// Row `i` of an array, `None` for NULL.
pub(crate) type Reader<'a, T> = Box<dyn Fn(usize) -> Option<T> + 'a>;

/// Integers and decimals may be written to character columns as their text.
pub(crate) fn as_text(array: &ArrayRef) -> Option<ArrayRef> {
    match array.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(array.clone()),
        dt if dt.is_integer() || matches!(dt, DataType::Decimal128(..)) => cast(array, &DataType::Utf8).ok(),
        _ => None,
    }
}

/// Reads the values of a typed array (`as_string::<i32>()`, `as_binary_view()`, …).
macro_rules! values {
    ($typed:expr) => {{
        let a = $typed;
        Box::new(move |i| a.is_valid(i).then(|| a.value(i)))
    }};
}

/// Reads any string array.
pub(crate) fn strings(array: &ArrayRef) -> Option<Reader<'_, &str>> {
    let read: Reader<'_, &str> = match array.data_type() {
        DataType::Utf8 => values!(array.as_string::<i32>()),
        DataType::LargeUtf8 => values!(array.as_string::<i64>()),
        DataType::Utf8View => values!(array.as_string_view()),
        _ => return None,
    };
    Some(read)
}

/// Reads any binary array, fixed-size ones too.
pub(crate) fn binaries(array: &ArrayRef) -> Option<Reader<'_, &[u8]>> {
    let read: Reader<'_, &[u8]> = match array.data_type() {
        DataType::Binary => values!(array.as_binary::<i32>()),
        DataType::LargeBinary => values!(array.as_binary::<i64>()),
        DataType::BinaryView => values!(array.as_binary_view()),
        DataType::FixedSizeBinary(_) => values!(array.as_fixed_size_binary()),
        _ => return None,
    };
    Some(read)
}

/// Reads dates and timestamps as (ticks since the epoch, unit), plus the minutes east of UTC to
/// record in a datetimeoffset (from a fixed-offset timezone, else 0). Timestamps with a
/// timezone are instants, written as their UTC date/time.
pub(crate) fn instants(array: &ArrayRef) -> Option<(Reader<'_, (i128, TimeUnit)>, i16)> {
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
pub(crate) fn times(array: &ArrayRef) -> Option<Reader<'_, (i128, TimeUnit)>> {
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
