//! What can go wrong between SQL Server and Arrow types: one variant per kind of problem, each
//! message naming the column (bracket-quoted, as T-SQL spells it) and, for a value, its row.

use arrow::datatypes::DataType;
use arrow::error::ArrowError;

/// A type or value that cannot cross between SQL Server and Arrow.
#[derive(Debug, thiserror::Error)]
pub enum TypeError {
    /// A SQL Server type routeflow has no mapping for (`xml`, `geography`, …).
    #[error("{column}: SQL Server type {data_type} is not supported")]
    UnsupportedType { column: String, data_type: String },
    /// A fractional-second scale outside 0..=7.
    #[error("{column}: {data_type}({scale}) has an invalid scale")]
    InvalidScale {
        column: String,
        data_type: String,
        scale: u8,
    },
    /// A precision outside 1..=38, or a scale larger than the precision.
    #[error("{column}: {data_type}({precision},{scale}) is not a valid decimal type")]
    InvalidDecimal {
        column: String,
        data_type: String,
        precision: u8,
        scale: u8,
    },
    /// An Arrow type no SQL Server column type holds, so no table can be created for it.
    #[error("field {field}: Arrow type {data_type} has no SQL Server column type")]
    NoColumnType { field: String, data_type: DataType },
    /// A schema to read into that does not have one field per column.
    #[error("schema has {fields} fields but the table has {columns} columns")]
    SchemaShape { fields: usize, columns: usize },
    /// A row from the server with fewer values than columns.
    #[error("row has {values} values but the table has {columns} columns")]
    RowTooShort { values: usize, columns: usize },
    /// A row from the server with more values than columns.
    #[error("row has more values than the {columns} columns")]
    RowTooLong { columns: usize },
    /// A column asked to be read as an Arrow type other than its own.
    #[error("{column} ({declaration}) cannot be read as Arrow {requested}; expected {expected}")]
    CannotRead {
        column: String,
        declaration: String,
        requested: DataType,
        expected: DataType,
    },
    /// A value from the server of another type than its column's.
    #[error("{column} ({declaration}): got an unexpected {variant} value from the server")]
    UnexpectedValue {
        column: String,
        declaration: String,
        variant: &'static str,
    },
    /// A value from the server that its Arrow type cannot hold.
    #[error("{column}: {problem}")]
    ValueDoesNotFit { column: String, problem: ValueProblem },
    /// An Arrow type that cannot be written into a column of this type.
    #[error("{column}: cannot write Arrow {data_type} into {declaration}")]
    CannotWrite {
        column: String,
        data_type: DataType,
        declaration: String,
    },
    /// An Arrow type that cannot be written into a character column, found by the width check.
    #[error("column {column}: cannot write {data_type} as text")]
    NotText { column: String, data_type: DataType },
    /// A value that cannot be written into its column (out of range, a NULL into NOT NULL, …).
    #[error("{column} row {row}: {problem}")]
    BadValue {
        column: String,
        row: usize,
        problem: ValueProblem,
    },
    /// Arrow refused to build or convert an array.
    #[error("{context}: {source}")]
    Arrow {
        context: String,
        #[source]
        source: ArrowError,
    },
}

/// What is wrong with one value, read or written.
#[derive(Debug, thiserror::Error)]
pub enum ValueProblem {
    #[error("NULL into a NOT NULL column")]
    NullIntoNotNull,
    /// A fraction, or an integer outside the column's range.
    #[error("{value} does not fit an integer in {min}..={max}")]
    NotAnInteger { value: String, min: i128, max: i128 },
    /// NaN or an infinity into a decimal.
    #[error("{value} is not a finite number")]
    NotFinite { value: String },
    /// A number too large for a decimal at the column's scale.
    #[error("{value} does not fit a decimal with scale {scale}")]
    TooLargeForScale { value: String, scale: u8 },
    /// A number with more digits than the column's precision (or outside money's range).
    #[error("{value} does not fit {declaration}")]
    TooManyDigits { value: String, declaration: String },
    /// Text that is not a GUID.
    #[error("{value:?} is not a uniqueidentifier: {reason}")]
    NotAGuid { value: String, reason: String },
    /// Bytes longer than a binary column.
    #[error("{length} bytes do not fit {declaration}")]
    TooLong { length: usize, declaration: String },
    /// A date or time outside the column's range.
    #[error("value is outside the range of {declaration}")]
    OutOfRange { declaration: String },
    /// A timestamp that is not at midnight, into a `date`.
    #[error("a date column cannot hold a time of day")]
    TimeOfDay,
    /// A decimal from the server with more fractional digits than the field's scale.
    #[error("decimal {value} does not fit scale {scale}")]
    FinerThanScale { value: String, scale: u8 },
    /// A money value (as an f64) beyond what a decimal holds.
    #[error("money value {value} is out of range")]
    MoneyOutOfRange { value: f64 },
    /// A date or time beyond the field's Arrow type (nanoseconds end in 2262).
    #[error("value does not fit an Arrow {data_type}")]
    BeyondArrowType { data_type: DataType },
}
