//! Filter literals as query parameters: a pushed-down filter compares a column with `@Pn`, never
//! with the literal's text. Which literals a column takes is its line of the
//! [type table](super::table).

use datafusion::common::ScalarValue;
use tiberius::{ColumnData, ToSql};

use super::temporal::DAYS_0001_TO_1970;

/// A query parameter.
#[derive(Debug, Clone)]
pub enum SqlParam {
    Text(String),
    Int(i64),
    Float(f64),
    /// Days since 0001-01-01.
    Date(u32),
}

/// The parameter for a literal compared with a column of one type; `None` when the literal cannot
/// be sent as one.
pub(crate) type ParamFn = fn(&ScalarValue) -> Option<SqlParam>;

/// Character and `uniqueidentifier` columns compare with text.
pub(crate) fn text(value: &ScalarValue) -> Option<SqlParam> {
    match value {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            Some(SqlParam::Text(s.clone()))
        }
        _ => None,
    }
}

/// Integer columns compare with a bigint.
pub(crate) fn int(value: &ScalarValue) -> Option<SqlParam> {
    match value {
        ScalarValue::Int32(Some(n)) => Some(SqlParam::Int((*n).into())),
        ScalarValue::Int64(Some(n)) => Some(SqlParam::Int(*n)),
        _ => None,
    }
}

/// `float` columns compare with a finite float.
pub(crate) fn float(value: &ScalarValue) -> Option<SqlParam> {
    match value {
        ScalarValue::Float64(Some(f)) if f.is_finite() => Some(SqlParam::Float(*f)),
        _ => None,
    }
}

/// `date` columns compare with a date.
pub(crate) fn date(value: &ScalarValue) -> Option<SqlParam> {
    match value {
        ScalarValue::Date32(Some(d)) => Some(SqlParam::Date(
            u32::try_from(i64::from(*d) + DAYS_0001_TO_1970).ok()?,
        )),
        _ => None,
    }
}

impl ToSql for SqlParam {
    fn to_sql(&self) -> ColumnData<'_> {
        match self {
            SqlParam::Text(s) => ColumnData::String(Some(s.as_str().into())),
            SqlParam::Int(n) => ColumnData::I64(Some(*n)),
            SqlParam::Float(f) => ColumnData::F64(Some(*f)),
            SqlParam::Date(d) => ColumnData::Date(Some(tiberius::time::Date::new(*d))),
        }
    }
}
