//! SQL Server column types and their Arrow counterparts: what to SELECT, how to decode tiberius
//! rows into record batches ([`BatchBuilder`]) and how to encode batches as bulk-insert rows
//! ([`encode_batch`]). Every type is one line of the [type table](table), which drives all of it.
//!
//! tiberius facts this module relies on (0.13, `tds73`):
//! - `money` decodes as a lossy `f64` (`((high << 32) as f64 + low) / 1e4`), so money is selected
//!   as `decimal(19,4)`; `smallmoney` fits an `f64` exactly and is read as is.
//! - Bulk rows are encoded against the server's column metadata; each value must be the matching
//!   `ColumnData` variant (an `I32` for an `int`, never an `I64`), `time` and `datetimeoffset`
//!   are *not* rescaled to the column scale (so we always send the column's scale), and a
//!   `datetimeoffset` carries its date/time in UTC plus the offset in minutes.

mod ddl;
mod error;
mod param;
mod read;
mod table;
mod temporal;
mod write;

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

pub use error::{TypeError, ValueProblem};
pub(crate) use param::ParamFn;
pub use param::SqlParam;
pub use read::BatchBuilder;
pub(crate) use table::ColumnType;
pub use write::{Truncation, WidthPolicy, check_widths, encode_batch};

/// Unit of the Arrow timestamps made from `datetime`, `smalldatetime`, `datetime2` and
/// `datetimeoffset`. Microseconds cover SQL Server's whole range (0001-01-01..9999-12-31, which
/// nanoseconds do not: i64 ns end in 2262, and 9999-12-31 is a common "open end" sentinel);
/// the 7th fractional digit of `datetime2(7)` is dropped (truncated) on reading.
/// [`BatchBuilder`] also honours any other unit the schema asks for.
pub const TIMESTAMP_UNIT: TimeUnit = TimeUnit::Microsecond;

/// Arrow field metadata key with the longest string a column holds (decimal characters), used by
/// [`sql_type_for_arrow`] to create `nvarchar(n)` instead of `nvarchar(max)`.
pub const WIDTH_HINT_KEY: &str = "mssql.width";

/// A column as INFORMATION_SCHEMA.COLUMNS describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlColumn {
    pub name: String,
    /// INFORMATION_SCHEMA.COLUMNS.DATA_TYPE, lower case: "nvarchar", "decimal", "datetime2", …
    pub data_type: String,
    /// CHARACTER_MAXIMUM_LENGTH: characters for char/varchar/nchar/nvarchar, bytes for binary types; -1 = max.
    pub max_length: Option<i32>,
    /// NUMERIC_PRECISION
    pub precision: Option<u8>,
    /// NUMERIC_SCALE, or DATETIME_PRECISION for time/datetime2/datetimeoffset
    pub scale: Option<u8>,
    pub nullable: bool,
}

impl SqlColumn {
    /// Canonical Arrow type (see the module docs for the mapping); unsupported types are an error
    /// naming the column and its type.
    pub fn arrow_type(&self) -> Result<DataType, TypeError> {
        Ok(self.resolve()?.arrow_type())
    }

    /// The expression to SELECT: `[name]`, except `money`, which tiberius would decode as a lossy
    /// f64, so it is cast to `decimal(19,4)` (and aliased back to its name).
    pub fn select_expr(&self) -> String {
        let ident = quote_ident(&self.name);
        if self.data_type.trim().eq_ignore_ascii_case("money") {
            format!("CAST({ident} AS decimal(19,4)) AS {ident}")
        } else {
            ident
        }
    }

    /// T-SQL declaration for CREATE TABLE, e.g. "nvarchar(50)", "nvarchar(max)", "decimal(10,7)";
    /// a type routeflow does not map is declared by its name, bracket-quoted: it comes from the
    /// server's catalog (a user-defined type may be named anything) and goes into T-SQL text.
    pub fn declaration(&self) -> String {
        let t = self.type_name();
        let Some(sql) = table::lookup(&t) else {
            return quote_ident(&t);
        };
        match sql.rule {
            table::Rule::Length(_) => match self.max_length {
                Some(-1) => format!("{t}(max)"),
                Some(n) if n > 0 => format!("{t}({n})"),
                _ => t,
            },
            table::Rule::Decimal => format!(
                "{t}({},{})",
                self.precision.unwrap_or(18),
                self.scale.unwrap_or(0)
            ),
            table::Rule::Scale => format!("{t}({})", self.scale.unwrap_or(7)),
            _ => t,
        }
    }

    /// Max characters for string columns (None for max or non-strings).
    pub fn width(&self) -> Option<usize> {
        Some(self.resolve().ok()?.text_width()?.length)
    }

    fn positive_length(&self) -> Option<usize> {
        self.max_length
            .filter(|&n| n > 0)
            .and_then(|n| usize::try_from(n).ok())
    }

    /// The type name to look up: lower case, and `real` for a `float(1..24)`, which is stored (and
    /// bulk-loaded) as a 4-byte real.
    fn type_name(&self) -> String {
        let t = self.data_type.trim().to_ascii_lowercase();
        if t == "float" && self.precision.is_some_and(|p| p <= 24) {
            "real".to_string()
        } else {
            t
        }
    }

    /// Resolves the type through the [type table](table); the one place that decides what is
    /// supported.
    pub(crate) fn resolve(&self) -> Result<ColumnType, TypeError> {
        let t = self.type_name();
        let sql = table::lookup(&t).ok_or_else(|| TypeError::UnsupportedType {
            column: self.label(),
            data_type: t.clone(),
        })?;
        let params = sql.rule.params(self, &t)?;
        Ok(ColumnType { sql, params })
    }

    /// How errors name the column.
    pub(crate) fn label(&self) -> String {
        format!("column {}", quote_ident(&self.name))
    }
}

/// Bracket-quotes an identifier, doubling `]` (for T-SQL text; identifiers only, never values).
pub fn quote_ident(name: &str) -> String {
    format!("[{}]", name.replace(']', "]]"))
}

/// The table column `name` refers to: T-SQL names are case-insensitive.
pub fn find_column<'a>(columns: &'a [SqlColumn], name: &str) -> Option<&'a SqlColumn> {
    columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The field of `schema` that a table column `name` takes its values from: the one spelled the
/// same, else the first that differs only in case.
pub fn field_index(schema: &Schema, name: &str) -> Option<usize> {
    let fields = schema.fields();
    fields
        .iter()
        .position(|f| f.name() == name)
        .or_else(|| fields.iter().position(|f| f.name().eq_ignore_ascii_case(name)))
}

/// The T-SQL type to create for an Arrow field when the target table does not exist. Strings
/// become `nvarchar(n)` when the field's [`WIDTH_HINT_KEY`] metadata gives n (at most 4000),
/// else `nvarchar(max)`.
pub fn sql_type_for_arrow(field: &Field) -> Result<String, TypeError> {
    let hint = field
        .metadata()
        .get(WIDTH_HINT_KEY)
        .and_then(|v| v.trim().parse::<usize>().ok());
    sql_type_for_arrow_with_width(field, hint)
}

/// [`sql_type_for_arrow`] with the string width given directly. Dictionaries are declared as
/// their values.
pub fn sql_type_for_arrow_with_width(field: &Field, width_hint: Option<usize>) -> Result<String, TypeError> {
    if let DataType::Dictionary(_, value) = field.data_type() {
        let inner = Field::new(field.name(), value.as_ref().clone(), field.is_nullable());
        return sql_type_for_arrow_with_width(&inner, width_hint);
    }
    table::created_for(field.data_type(), width_hint).ok_or_else(|| TypeError::NoColumnType {
        field: quote_ident(field.name()),
        data_type: field.data_type().clone(),
    })
}

#[cfg(test)]
pub(crate) mod tests;
