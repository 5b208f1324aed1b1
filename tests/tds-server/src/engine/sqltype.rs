//! T-SQL type names: parsing what DDL and CAST say, and the SQLite declared type that carries a column's
//! exact T-SQL type in the schema itself (so renames, ALTERs and rollbacks need no side catalog).
//!
//! The declared type is the T-SQL name plus, where SQLite's affinity rules would otherwise mangle the
//! stored text (a `decimal(38,10)` has NUMERIC affinity and would turn into a lossy REAL), a second
//! word that forces the right affinity: `decimal text(38,10)`, `date text`, `varbinary blob(16)`.
//! Unbounded widths (`max`) are written `-1`, as INFORMATION_SCHEMA reports them.

use crate::types::SqlType;

/// Parses a T-SQL type (`NVARCHAR(15)`, `decimal(10,7)`, `varchar(max)`) or a declared type written
/// by [`decl`]. `None` for a type SQL Server does not have.
pub fn parse(text: &str) -> Option<SqlType> {
    let text = text.trim().to_ascii_lowercase();
    let (head, args) = match text.find('(') {
        Some(open) => {
            let close = text.rfind(')')?;
            let args: Vec<&str> = text.get(open + 1..close)?.split(',').map(str::trim).collect();
            (text[..open].trim().to_string(), args)
        }
        None => (text.clone(), Vec::new()),
    };
    let mut words = head.split_whitespace();
    let name = words.next()?;
    let second = words.next();
    // `double precision`; otherwise a second word is this module's affinity marker.
    let name = if name == "double" && second == Some("precision") {
        "float"
    } else {
        name
    };
    let arg = |i: usize| -> Option<Option<i64>> {
        match args.get(i) {
            None => Some(None),
            Some(&"max") => Some(Some(-1)),
            Some(a) => a.parse::<i64>().ok().map(Some),
        }
    };
    let length = |default: u16| -> Option<Option<u16>> {
        match arg(0)? {
            None => Some(Some(default)),
            Some(-1) => Some(None),
            Some(n) if (1..=8000).contains(&n) => Some(Some(n as u16)),
            Some(_) => None,
        }
    };
    let fixed = |default: u16| -> Option<u16> { length(default)? };
    let scale = |default: u8| -> Option<u8> {
        match arg(0)? {
            None => Some(default),
            Some(s) if (0..=7).contains(&s) => Some(s as u8),
            Some(_) => None,
        }
    };
    Some(match name {
        "bit" => SqlType::Bit,
        "tinyint" => SqlType::TinyInt,
        "smallint" => SqlType::SmallInt,
        "int" | "integer" => SqlType::Int,
        "bigint" => SqlType::BigInt,
        "real" => SqlType::Real,
        "float" => match arg(0)? {
            Some(n) if (1..=24).contains(&n) => SqlType::Real,
            _ => SqlType::Float,
        },
        "decimal" | "numeric" | "dec" => {
            let precision = arg(0)?.unwrap_or(18);
            let scale = arg(1)?.unwrap_or(0);
            if !(1..=38).contains(&precision) || !(0..=precision).contains(&scale) {
                return None;
            }
            SqlType::Decimal {
                precision: precision as u8,
                scale: scale as u8,
            }
        }
        "money" => SqlType::Money,
        "smallmoney" => SqlType::SmallMoney,
        "char" | "character" => SqlType::Char(fixed(1)?),
        "varchar" => SqlType::VarChar(length(1)?),
        "nchar" => SqlType::NChar(fixed(1)?.min(4000)),
        "nvarchar" => SqlType::NVarChar(length(1)?.map(|n| n.min(4000))),
        "sysname" => SqlType::NVarChar(Some(128)),
        "text" => SqlType::VarChar(None),
        "ntext" => SqlType::NVarChar(None),
        "varbinary" | "binary" => SqlType::VarBinary(length(1)?),
        "image" => SqlType::VarBinary(None),
        "date" => SqlType::Date,
        "time" => SqlType::Time(scale(7)?),
        "datetime" => SqlType::DateTime,
        "smalldatetime" => SqlType::SmallDateTime,
        "datetime2" => SqlType::DateTime2(scale(7)?),
        "datetimeoffset" => SqlType::DateTimeOffset(scale(7)?),
        "uniqueidentifier" => SqlType::UniqueIdentifier,
        _ => return None,
    })
}

/// The SQLite declared type for a column of type `ty` (see the module doc).
pub fn decl(ty: &SqlType) -> String {
    let len = |n: Option<u16>| n.map_or(-1, i64::from);
    match ty {
        SqlType::Decimal { precision, scale } => format!("decimal text({precision},{scale})"),
        SqlType::Money | SqlType::SmallMoney | SqlType::Date | SqlType::DateTime | SqlType::SmallDateTime => {
            format!("{} text", name(ty))
        }
        SqlType::UniqueIdentifier => "uniqueidentifier text".into(),
        SqlType::Time(s) | SqlType::DateTime2(s) | SqlType::DateTimeOffset(s) => {
            format!("{} text({s})", name(ty))
        }
        SqlType::Char(n) | SqlType::NChar(n) => format!("{}({n})", name(ty)),
        SqlType::VarChar(n) | SqlType::NVarChar(n) => format!("{}({})", name(ty), len(*n)),
        SqlType::VarBinary(n) => format!("varbinary blob({})", len(*n)),
        _ => name(ty).into(),
    }
}

/// The collation a column of type `ty` compares with (see `sqlite::register`): SQL Server's default
/// collation is case-insensitive and ignores trailing spaces; decimals and date/times are stored as
/// text and must compare by value.
pub fn collation(ty: &SqlType) -> Option<&'static str> {
    match ty {
        SqlType::Char(_)
        | SqlType::VarChar(_)
        | SqlType::NChar(_)
        | SqlType::NVarChar(_)
        | SqlType::UniqueIdentifier => Some("tsql_ci"),
        SqlType::Decimal { .. } | SqlType::Money | SqlType::SmallMoney => Some("tsql_num"),
        SqlType::Date
        | SqlType::Time(_)
        | SqlType::DateTime
        | SqlType::SmallDateTime
        | SqlType::DateTime2(_)
        | SqlType::DateTimeOffset(_) => Some("tsql_time"),
        _ => None,
    }
}

/// The lower-case T-SQL name, as INFORMATION_SCHEMA's DATA_TYPE reports it.
pub fn name(ty: &SqlType) -> &'static str {
    match ty {
        SqlType::Bit => "bit",
        SqlType::TinyInt => "tinyint",
        SqlType::SmallInt => "smallint",
        SqlType::Int => "int",
        SqlType::BigInt => "bigint",
        SqlType::Real => "real",
        SqlType::Float => "float",
        SqlType::Decimal { .. } => "decimal",
        SqlType::Money => "money",
        SqlType::SmallMoney => "smallmoney",
        SqlType::Char(_) => "char",
        SqlType::VarChar(_) => "varchar",
        SqlType::NChar(_) => "nchar",
        SqlType::NVarChar(_) => "nvarchar",
        SqlType::VarBinary(_) => "varbinary",
        SqlType::Date => "date",
        SqlType::Time(_) => "time",
        SqlType::DateTime => "datetime",
        SqlType::SmallDateTime => "smalldatetime",
        SqlType::DateTime2(_) => "datetime2",
        SqlType::DateTimeOffset(_) => "datetimeoffset",
        SqlType::UniqueIdentifier => "uniqueidentifier",
    }
}

/// Whether values of `ty` are strings (for `+` meaning concatenation).
pub fn is_string(ty: &SqlType) -> bool {
    matches!(
        ty,
        SqlType::Char(_) | SqlType::VarChar(_) | SqlType::NChar(_) | SqlType::NVarChar(_)
    )
}

/// INFORMATION_SCHEMA.COLUMNS' CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE and
/// DATETIME_PRECISION for `ty`.
pub fn info_schema_sizes(ty: &SqlType) -> [Option<i64>; 4] {
    let len = |n: &Option<u16>| Some(n.map_or(-1, i64::from));
    let numeric = |p: i64, s: Option<i64>| [None, Some(p), s, None];
    match ty {
        SqlType::Char(n) | SqlType::NChar(n) => [Some(i64::from(*n)), None, None, None],
        SqlType::VarChar(n) | SqlType::NVarChar(n) | SqlType::VarBinary(n) => [len(n), None, None, None],
        SqlType::TinyInt => numeric(3, Some(0)),
        SqlType::SmallInt => numeric(5, Some(0)),
        SqlType::Int => numeric(10, Some(0)),
        SqlType::BigInt => numeric(19, Some(0)),
        SqlType::Real => numeric(24, None),
        SqlType::Float => numeric(53, None),
        SqlType::Decimal { precision, scale } => numeric(i64::from(*precision), Some(i64::from(*scale))),
        SqlType::Money => numeric(19, Some(4)),
        SqlType::SmallMoney => numeric(10, Some(4)),
        SqlType::Date | SqlType::SmallDateTime => [None, None, None, Some(0)],
        SqlType::DateTime => [None, None, None, Some(3)],
        SqlType::Time(s) | SqlType::DateTime2(s) | SqlType::DateTimeOffset(s) => {
            [None, None, None, Some(i64::from(*s))]
        }
        SqlType::Bit | SqlType::UniqueIdentifier => [None; 4],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decl_round_trips_every_type() {
        let all = [
            SqlType::Bit,
            SqlType::TinyInt,
            SqlType::SmallInt,
            SqlType::Int,
            SqlType::BigInt,
            SqlType::Real,
            SqlType::Float,
            SqlType::Decimal {
                precision: 38,
                scale: 10,
            },
            SqlType::Money,
            SqlType::SmallMoney,
            SqlType::Char(3),
            SqlType::VarChar(Some(20)),
            SqlType::VarChar(None),
            SqlType::NChar(2),
            SqlType::NVarChar(Some(15)),
            SqlType::NVarChar(None),
            SqlType::VarBinary(Some(16)),
            SqlType::VarBinary(None),
            SqlType::Date,
            SqlType::Time(3),
            SqlType::DateTime,
            SqlType::SmallDateTime,
            SqlType::DateTime2(7),
            SqlType::DateTimeOffset(0),
            SqlType::UniqueIdentifier,
        ];
        for ty in all {
            assert_eq!(parse(&decl(&ty)), Some(ty.clone()), "{}", decl(&ty));
        }
    }

    #[test]
    fn parses_tsql_spellings() {
        assert_eq!(parse("NVARCHAR(MAX)"), Some(SqlType::NVarChar(None)));
        assert_eq!(
            parse("DECIMAL(10, 7)"),
            Some(SqlType::Decimal {
                precision: 10,
                scale: 7
            })
        );
        assert_eq!(
            parse("numeric"),
            Some(SqlType::Decimal {
                precision: 18,
                scale: 0
            })
        );
        assert_eq!(parse("varchar"), Some(SqlType::VarChar(Some(1))));
        assert_eq!(parse("datetime2"), Some(SqlType::DateTime2(7)));
        assert_eq!(parse("DOUBLE PRECISION"), Some(SqlType::Float));
        assert_eq!(parse("decimal(39,0)"), None);
        assert_eq!(parse("string"), None);
    }
}
