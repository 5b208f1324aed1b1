//! Declarations for the columns of a new table, from the Arrow types of what will be written into
//! it: the last column of the [type table](super::table).

use arrow::datatypes::DataType;

use super::table::{Rule, SqlType};

/// The declaration of a column of a [`SqlType`] for an Arrow type and an optional string width
/// hint; `None` when the Arrow type's parameters do not fit it.
pub(crate) type DdlFn = fn(&SqlType, &DataType, Option<usize>) -> Option<String>;

/// Never created (the type is only ever read or written into).
pub(crate) fn never(_: &SqlType, _: &DataType, _: Option<usize>) -> Option<String> {
    None
}

/// The bare name: `int`, `date`, …
pub(crate) fn name(sql: &SqlType, _: &DataType, _: Option<usize>) -> Option<String> {
    Some(sql.name().to_string())
}

/// `decimal(p,s)` with the Arrow decimal's precision and scale (a UInt64 needs 20 digits); not for
/// scales SQL Server lacks (negative, or larger than the precision).
pub(crate) fn decimal(sql: &SqlType, data_type: &DataType, _: Option<usize>) -> Option<String> {
    let (p, s) = match data_type {
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) => (p, s),
        DataType::UInt64 => (&20, &0),
        _ => return None,
    };
    ((1..=38).contains(p) && (0..=*p as i8).contains(s)).then(|| format!("{}({p},{s})", sql.name()))
}

/// `name(n)` when the hint gives an n the type allows, else `name(max)`.
pub(crate) fn hinted_length(sql: &SqlType, _: &DataType, width_hint: Option<usize>) -> Option<String> {
    let Rule::Length(unit) = sql.rule else {
        return None;
    };
    Some(match width_hint {
        Some(n) if (1..=unit.longest()).contains(&n) => format!("{}({n})", sql.name()),
        _ => format!("{}(max)", sql.name()),
    })
}

/// `name(max)`.
pub(crate) fn max(sql: &SqlType, _: &DataType, _: Option<usize>) -> Option<String> {
    Some(format!("{}(max)", sql.name()))
}

/// `name(n)` for a fixed-size Arrow binary of n bytes.
pub(crate) fn fixed_size(sql: &SqlType, data_type: &DataType, _: Option<usize>) -> Option<String> {
    let (DataType::FixedSizeBinary(n), Rule::Length(unit)) = (data_type, sql.rule) else {
        return None;
    };
    let n = usize::try_from(*n).ok()?;
    (1..=unit.longest())
        .contains(&n)
        .then(|| format!("{}({n})", sql.name()))
}

/// `name(7)`: the finest fractional seconds.
pub(crate) fn max_scale(sql: &SqlType, _: &DataType, _: Option<usize>) -> Option<String> {
    Some(format!("{}(7)", sql.name()))
}
