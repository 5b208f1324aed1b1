//! SQL Server column types and their Arrow counterparts: what to SELECT, how to decode tiberius
//! rows into record batches ([`BatchBuilder`]) and how to encode batches as bulk-insert rows
//! ([`encode_batch`]).
//!
//! tiberius facts this module relies on (0.13, `tds73`):
//! - `money` decodes as a lossy `f64` (`((high << 32) as f64 + low) / 1e4`), so money is selected
//!   as `decimal(19,4)`; `smallmoney` fits an `f64` exactly and is read as is.
//! - Bulk rows are encoded against the server's column metadata; each value must be the matching
//!   `ColumnData` variant (an `I32` for an `int`, never an `I64`), `time` and `datetimeoffset`
//!   are *not* rescaled to the column scale (so we always send the column's scale), and a
//!   `datetimeoffset` carries its date/time in UTC plus the offset in minutes.

mod read;
mod temporal;
mod write;

use arrow::datatypes::{DataType, Field, TimeUnit};

pub use read::BatchBuilder;
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

/// What a column is, with its parameters resolved (defaults applied, limits checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bit,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Real,
    Float,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Money,
    SmallMoney,
    /// char/varchar/text (`unicode: false`) and nchar/nvarchar/ntext; `width` in characters
    /// (UTF-16 code units when unicode), `None` for max/text.
    Text {
        unicode: bool,
        width: Option<usize>,
    },
    Guid,
    /// binary/varbinary; `width` in bytes, `None` for max.
    Binary {
        width: Option<usize>,
    },
    Date,
    DateTime,
    SmallDateTime,
    DateTime2 {
        scale: u8,
    },
    Time {
        scale: u8,
    },
    DateTimeOffset {
        scale: u8,
    },
}

impl SqlColumn {
    /// Canonical Arrow type (see the module docs for the mapping); unsupported types are an error
    /// naming the column and its type.
    pub fn arrow_type(&self) -> Result<DataType, String> {
        Ok(match self.kind()? {
            Kind::Bit => DataType::Boolean,
            Kind::TinyInt => DataType::UInt8,
            Kind::SmallInt => DataType::Int16,
            Kind::Int => DataType::Int32,
            Kind::BigInt => DataType::Int64,
            Kind::Real => DataType::Float32,
            Kind::Float => DataType::Float64,
            Kind::Decimal { precision, scale } => DataType::Decimal128(precision, scale as i8),
            Kind::Money => DataType::Decimal128(19, 4),
            Kind::SmallMoney => DataType::Decimal128(10, 4),
            Kind::Text { .. } | Kind::Guid => DataType::Utf8,
            Kind::Binary { .. } => DataType::Binary,
            Kind::Date => DataType::Date32,
            Kind::DateTime | Kind::SmallDateTime | Kind::DateTime2 { .. } => {
                DataType::Timestamp(TIMESTAMP_UNIT, None)
            }
            Kind::Time { .. } => DataType::Time64(TimeUnit::Nanosecond),
            Kind::DateTimeOffset { .. } => DataType::Timestamp(TIMESTAMP_UNIT, Some("+00:00".into())),
        })
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

    /// T-SQL declaration for CREATE TABLE, e.g. "nvarchar(50)", "nvarchar(max)", "decimal(10,7)".
    pub fn declaration(&self) -> String {
        let t = self.data_type.trim().to_ascii_lowercase();
        let length = || match self.max_length {
            Some(-1) => "(max)".to_string(),
            Some(n) if n > 0 => format!("({n})"),
            _ => String::new(),
        };
        match t.as_str() {
            "char" | "varchar" | "nchar" | "nvarchar" | "binary" | "varbinary" => {
                format!("{t}{}", length())
            }
            "decimal" | "numeric" => format!(
                "{t}({},{})",
                self.precision.unwrap_or(18),
                self.scale.unwrap_or(0)
            ),
            "datetime2" | "time" | "datetimeoffset" => format!("{t}({})", self.scale.unwrap_or(7)),
            "float" if self.precision.is_some_and(|p| p <= 24) => "real".to_string(),
            _ => t,
        }
    }

    /// Max characters for string columns (None for max or non-strings).
    pub fn width(&self) -> Option<usize> {
        match self.data_type.trim().to_ascii_lowercase().as_str() {
            "char" | "varchar" | "nchar" | "nvarchar" => self.positive_length(),
            _ => None,
        }
    }

    fn positive_length(&self) -> Option<usize> {
        self.max_length
            .filter(|&n| n > 0)
            .and_then(|n| usize::try_from(n).ok())
    }

    /// Resolves the type; the one place that decides what is supported.
    pub(crate) fn kind(&self) -> Result<Kind, String> {
        let t = self.data_type.trim().to_ascii_lowercase();
        let time_scale = || match self.scale.unwrap_or(7) {
            s @ 0..=7 => Ok(s),
            s => Err(format!("{}: {t}({s}) has an invalid scale", self.label())),
        };
        Ok(match t.as_str() {
            "bit" => Kind::Bit,
            "tinyint" => Kind::TinyInt,
            "smallint" => Kind::SmallInt,
            "int" => Kind::Int,
            "bigint" => Kind::BigInt,
            "real" => Kind::Real,
            // float(1..24) is stored (and bulk-loaded) as a 4-byte real.
            "float" if self.precision.is_some_and(|p| p <= 24) => Kind::Real,
            "float" => Kind::Float,
            "decimal" | "numeric" => {
                let precision = self.precision.unwrap_or(18);
                let scale = self.scale.unwrap_or(0);
                if !(1..=38).contains(&precision) || scale > precision {
                    return Err(format!(
                        "{}: {t}({precision},{scale}) is not a valid decimal type",
                        self.label()
                    ));
                }
                Kind::Decimal { precision, scale }
            }
            "money" => Kind::Money,
            "smallmoney" => Kind::SmallMoney,
            "char" | "varchar" | "nchar" | "nvarchar" => Kind::Text {
                unicode: t.starts_with('n'),
                width: self.positive_length(),
            },
            "text" => Kind::Text {
                unicode: false,
                width: None,
            },
            "ntext" => Kind::Text {
                unicode: true,
                width: None,
            },
            "uniqueidentifier" => Kind::Guid,
            "binary" | "varbinary" => Kind::Binary {
                width: self.positive_length(),
            },
            "date" => Kind::Date,
            "datetime" => Kind::DateTime,
            "smalldatetime" => Kind::SmallDateTime,
            "datetime2" => Kind::DateTime2 { scale: time_scale()? },
            "time" => Kind::Time { scale: time_scale()? },
            "datetimeoffset" => Kind::DateTimeOffset { scale: time_scale()? },
            _ => {
                return Err(format!("{}: SQL Server type {t} is not supported", self.label()));
            }
        })
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

/// The T-SQL type to create for an Arrow field when the target table does not exist. Strings
/// become `nvarchar(n)` when the field's [`WIDTH_HINT_KEY`] metadata gives n (at most 4000),
/// else `nvarchar(max)`.
pub fn sql_type_for_arrow(field: &Field) -> Result<String, String> {
    let hint = field
        .metadata()
        .get(WIDTH_HINT_KEY)
        .and_then(|v| v.trim().parse::<usize>().ok());
    sql_type_for_arrow_with_width(field, hint)
}

/// [`sql_type_for_arrow`] with the string width given directly.
pub fn sql_type_for_arrow_with_width(field: &Field, width_hint: Option<usize>) -> Result<String, String> {
    Ok(match field.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => match width_hint {
            // nvarchar(n) allows 1..=4000; wider needs max.
            Some(n @ 1..=4000) => format!("nvarchar({n})"),
            _ => "nvarchar(max)".to_string(),
        },
        DataType::Int8 | DataType::Int16 => "smallint".to_string(),
        DataType::Int32 | DataType::UInt16 => "int".to_string(),
        DataType::Int64 | DataType::UInt32 => "bigint".to_string(),
        DataType::UInt8 => "tinyint".to_string(),
        DataType::UInt64 => "decimal(20,0)".to_string(),
        DataType::Float16 | DataType::Float32 => "real".to_string(),
        DataType::Float64 => "float".to_string(),
        DataType::Boolean => "bit".to_string(),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s)
            if (1..=38).contains(p) && (0..=*p as i8).contains(s) =>
        {
            format!("decimal({p},{s})")
        }
        DataType::Date32 => "date".to_string(),
        DataType::Timestamp(_, None) => "datetime2(7)".to_string(),
        DataType::Timestamp(_, Some(_)) => "datetimeoffset(7)".to_string(),
        DataType::Time32(_) | DataType::Time64(_) => "time(7)".to_string(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "varbinary(max)".to_string(),
        DataType::FixedSizeBinary(n) if (1..=8000).contains(n) => format!("binary({n})"),
        DataType::Dictionary(_, value) => {
            let inner = Field::new(field.name(), value.as_ref().clone(), field.is_nullable());
            return sql_type_for_arrow_with_width(&inner, width_hint);
        }
        other => {
            return Err(format!(
                "field {}: Arrow type {other} has no SQL Server column type",
                quote_ident(field.name())
            ));
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A column of `data_type` with the given length / precision / scale, nullable.
    pub(crate) fn col(
        name: &str,
        data_type: &str,
        max_length: Option<i32>,
        precision: Option<u8>,
        scale: Option<u8>,
    ) -> SqlColumn {
        SqlColumn {
            name: name.to_string(),
            data_type: data_type.to_string(),
            max_length,
            precision,
            scale,
            nullable: true,
        }
    }

    /// A column with no length/precision/scale.
    pub(crate) fn plain(name: &str, data_type: &str) -> SqlColumn {
        col(name, data_type, None, None, None)
    }

    #[test]
    fn arrow_type_maps_every_supported_type() {
        let us = |tz: Option<&str>| DataType::Timestamp(TimeUnit::Microsecond, tz.map(Into::into));
        let cases = [
            (plain("a", "bit"), DataType::Boolean),
            (plain("a", "tinyint"), DataType::UInt8),
            (plain("a", "smallint"), DataType::Int16),
            (plain("a", "int"), DataType::Int32),
            (plain("a", "bigint"), DataType::Int64),
            (col("a", "real", None, Some(24), None), DataType::Float32),
            (col("a", "float", None, Some(53), None), DataType::Float64),
            (col("a", "float", None, Some(24), None), DataType::Float32),
            (
                col("a", "decimal", None, Some(10), Some(7)),
                DataType::Decimal128(10, 7),
            ),
            (
                col("a", "numeric", None, Some(38), Some(38)),
                DataType::Decimal128(38, 38),
            ),
            (
                col("a", "money", None, Some(19), Some(4)),
                DataType::Decimal128(19, 4),
            ),
            (
                col("a", "smallmoney", None, Some(10), Some(4)),
                DataType::Decimal128(10, 4),
            ),
            (col("a", "char", Some(3), None, None), DataType::Utf8),
            (col("a", "varchar", Some(-1), None, None), DataType::Utf8),
            (col("a", "nchar", Some(3), None, None), DataType::Utf8),
            (col("a", "NVARCHAR", Some(50), None, None), DataType::Utf8),
            (col("a", "text", Some(2147483647), None, None), DataType::Utf8),
            (col("a", "ntext", Some(1073741823), None, None), DataType::Utf8),
            (plain("a", "uniqueidentifier"), DataType::Utf8),
            (col("a", "binary", Some(16), None, None), DataType::Binary),
            (col("a", "varbinary", Some(-1), None, None), DataType::Binary),
            (plain("a", "date"), DataType::Date32),
            (col("a", "datetime", None, None, Some(3)), us(None)),
            (plain("a", "smalldatetime"), us(None)),
            (col("a", "datetime2", None, None, Some(7)), us(None)),
            (
                col("a", "time", None, None, Some(7)),
                DataType::Time64(TimeUnit::Nanosecond),
            ),
            (
                col("a", "datetimeoffset", None, None, Some(7)),
                us(Some("+00:00")),
            ),
        ];
        for (column, expected) in cases {
            assert_eq!(column.arrow_type(), Ok(expected), "{column:?}");
        }
    }

    #[test]
    fn arrow_type_rejects_unsupported_types_naming_column() {
        for t in [
            "xml",
            "geography",
            "sql_variant",
            "image",
            "hierarchyid",
            "timestamp",
        ] {
            let err = plain("Odd]Col", t).arrow_type().unwrap_err();
            assert!(err.contains("[Odd]]Col]") && err.contains(t), "{err}");
        }
        let err = col("d", "decimal", None, Some(40), Some(2))
            .arrow_type()
            .unwrap_err();
        assert!(err.contains("[d]") && err.contains("decimal(40,2)"), "{err}");
        let err = col("t", "datetime2", None, None, Some(9))
            .arrow_type()
            .unwrap_err();
        assert!(err.contains("[t]"), "{err}");
    }

    #[test]
    fn declaration_renders_lengths_precision_and_scale() {
        let cases = [
            (col("a", "nvarchar", Some(50), None, None), "nvarchar(50)"),
            (col("a", "nvarchar", Some(-1), None, None), "nvarchar(max)"),
            (col("a", "varchar", Some(20), None, None), "varchar(20)"),
            (col("a", "varbinary", Some(-1), None, None), "varbinary(max)"),
            (col("a", "binary", Some(16), None, None), "binary(16)"),
            (col("a", "decimal", None, Some(10), Some(7)), "decimal(10,7)"),
            (col("a", "numeric", None, None, None), "numeric(18,0)"),
            (col("a", "datetime2", None, None, Some(7)), "datetime2(7)"),
            (col("a", "time", None, None, Some(3)), "time(3)"),
            (col("a", "datetimeoffset", None, None, None), "datetimeoffset(7)"),
            (col("a", "datetime", None, None, Some(3)), "datetime"),
            (col("a", "int", None, Some(10), Some(0)), "int"),
            (col("a", "float", None, Some(53), None), "float"),
            (col("a", "money", None, Some(19), Some(4)), "money"),
            (col("a", "ntext", Some(1073741823), None, None), "ntext"),
        ];
        for (column, expected) in cases {
            assert_eq!(column.declaration(), expected, "{column:?}");
        }
    }

    #[test]
    fn select_expr_casts_money_only() {
        assert_eq!(plain("a]b", "int").select_expr(), "[a]]b]");
        assert_eq!(
            plain("Price", "money").select_expr(),
            "CAST([Price] AS decimal(19,4)) AS [Price]"
        );
        // smallmoney's i32 / 1e4 is exact enough in an f64 to round back, so no cast.
        assert_eq!(plain("p", "smallmoney").select_expr(), "[p]");
    }

    #[test]
    fn width_only_for_bounded_strings() {
        assert_eq!(col("a", "nvarchar", Some(50), None, None).width(), Some(50));
        assert_eq!(col("a", "char", Some(1), None, None).width(), Some(1));
        assert_eq!(col("a", "nvarchar", Some(-1), None, None).width(), None);
        assert_eq!(col("a", "ntext", Some(1073741823), None, None).width(), None);
        assert_eq!(col("a", "varbinary", Some(10), None, None).width(), None);
        assert_eq!(plain("a", "int").width(), None);
    }

    #[test]
    fn quote_ident_doubles_closing_bracket() {
        assert_eq!(quote_ident("plain"), "[plain]");
        assert_eq!(quote_ident("a]b"), "[a]]b]");
        assert_eq!(quote_ident("]]"), "[]]]]]");
        assert_eq!(quote_ident("[x"), "[[x]");
    }

    #[test]
    fn sql_type_for_arrow_maps_fields() {
        let cases = [
            (DataType::Utf8, "nvarchar(max)"),
            (DataType::LargeUtf8, "nvarchar(max)"),
            (DataType::Utf8View, "nvarchar(max)"),
            (DataType::Int8, "smallint"),
            (DataType::Int16, "smallint"),
            (DataType::Int32, "int"),
            (DataType::Int64, "bigint"),
            (DataType::UInt8, "tinyint"),
            (DataType::UInt16, "int"),
            (DataType::UInt32, "bigint"),
            (DataType::UInt64, "decimal(20,0)"),
            (DataType::Float32, "real"),
            (DataType::Float64, "float"),
            (DataType::Boolean, "bit"),
            (DataType::Decimal128(10, 7), "decimal(10,7)"),
            (DataType::Decimal64(18, 2), "decimal(18,2)"),
            (DataType::Date32, "date"),
            (DataType::Timestamp(TimeUnit::Nanosecond, None), "datetime2(7)"),
            (
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                "datetimeoffset(7)",
            ),
            (DataType::Time64(TimeUnit::Nanosecond), "time(7)"),
            (DataType::Binary, "varbinary(max)"),
            (
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                "nvarchar(max)",
            ),
        ];
        for (dt, expected) in cases {
            let field = Field::new("f", dt.clone(), true);
            assert_eq!(sql_type_for_arrow(&field).as_deref(), Ok(expected), "{dt}");
        }
    }

    #[test]
    fn sql_type_for_arrow_uses_width_hint() {
        let meta = |w: &str| HashMap::from([(WIDTH_HINT_KEY.to_string(), w.to_string())]);
        let field = Field::new("s", DataType::Utf8, true).with_metadata(meta("42"));
        assert_eq!(sql_type_for_arrow(&field).as_deref(), Ok("nvarchar(42)"));
        let wide = Field::new("s", DataType::Utf8, true).with_metadata(meta("5000"));
        assert_eq!(sql_type_for_arrow(&wide).as_deref(), Ok("nvarchar(max)"));
        let plain = Field::new("s", DataType::Utf8, true);
        assert_eq!(
            sql_type_for_arrow_with_width(&plain, Some(7)).as_deref(),
            Ok("nvarchar(7)")
        );
    }

    #[test]
    fn sql_type_for_arrow_rejects_unmapped_types_naming_field() {
        let field = Field::new(
            "Tags]",
            DataType::List(std::sync::Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        );
        let err = sql_type_for_arrow(&field).unwrap_err();
        assert!(err.contains("[Tags]]]"), "{err}");
        let neg = Field::new("d", DataType::Decimal128(10, -2), true);
        assert!(sql_type_for_arrow(&neg).unwrap_err().contains("[d]"));
    }
}
