//! Naming the value that stops a column from being read as its type: a cast fails for a whole
//! array, but the person who fixes the file needs the row and the value.

use arrow::array::{Array, ArrayRef};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::DataType;
use arrow::util::display::array_value_to_string;

/// Values longer than this are cut in messages.
const SHOWN_CHARS: usize = 40;

/// The first value of a column that cannot be read as the wanted type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    /// Its index in the array.
    pub row: usize,
    /// The value as text, cut when long.
    pub value: String,
    /// What it should have been, e.g. "a number".
    pub wanted: String,
}

impl BadValue {
    /// `"abc" is not a number`.
    pub fn describe(&self) -> String {
        format!("{:?} is not {}", self.value, self.wanted)
    }
}

/// The first non-NULL value of `array` that a cast to `target` turns into NULL (or cannot cast at
/// all); `None` when every value casts.
pub fn first_bad_value(array: &ArrayRef, target: &DataType) -> Option<BadValue> {
    let safe = CastOptions {
        safe: true,
        ..Default::default()
    };
    let row = match cast_with_options(array, target, &safe) {
        Ok(cast) => (0..array.len()).find(|&i| array.is_valid(i) && cast.is_null(i))?,
        Err(_) => (0..array.len()).find(|&i| array.is_valid(i))?,
    };
    let mut value = array_value_to_string(array, row).unwrap_or_default();
    if value.chars().count() > SHOWN_CHARS {
        value = value.chars().take(SHOWN_CHARS).collect::<String>() + "…";
    }
    Some(BadValue {
        row,
        value,
        wanted: wanted(target),
    })
}

/// What a value of `target` is, in words a data owner reads.
fn wanted(target: &DataType) -> String {
    match target {
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
            "a number".into()
        }
        t if t.is_integer() => format!("a whole number ({t})"),
        DataType::Date32 | DataType::Date64 => "a date (YYYY-MM-DD)".into(),
        DataType::Timestamp(..) => "a date and time (YYYY-MM-DD hh:mm:ss)".into(),
        DataType::Boolean => "true or false".into(),
        t => format!("readable as {t}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use arrow::array::{Float64Array, StringArray};

    #[test]
    fn the_first_unreadable_value_is_named_with_its_row() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![
            Some("14.5"),
            None,
            Some("abc"),
            Some("x"),
        ]));
        let bad = first_bad_value(&a, &DataType::Float64).unwrap();
        assert_eq!(bad.row, 2);
        assert_eq!(bad.describe(), "\"abc\" is not a number");
        let dates: ArrayRef = Arc::new(StringArray::from(vec!["2026-12-01", "2026-13-45"]));
        assert_eq!(
            first_bad_value(&dates, &DataType::Date32).unwrap().describe(),
            "\"2026-13-45\" is not a date (YYYY-MM-DD)"
        );
    }

    #[test]
    fn readable_columns_and_nulls_are_not_bad() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![Some("1"), None, Some("2.5")]));
        assert_eq!(first_bad_value(&a, &DataType::Float64), None);
        let f: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0]));
        assert_eq!(first_bad_value(&f, &DataType::Int32), None);
    }

    #[test]
    fn long_values_are_cut() {
        let long = "9".repeat(30) + &"x".repeat(30);
        let a: ArrayRef = Arc::new(StringArray::from(vec![long.as_str()]));
        let bad = first_bad_value(&a, &DataType::Int32).unwrap();
        assert_eq!(bad.value.chars().count(), SHOWN_CHARS + 1);
        assert!(bad.describe().ends_with("is not a whole number (Int32)"));
    }
}
