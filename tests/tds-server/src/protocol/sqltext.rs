//! The little T-SQL the protocol reads itself, before any statement reaches the engine: type names
//! (in `sp_executesql`'s `@params` and in `INSERT BULK`), identifiers and comma-separated lists.

use crate::types::SqlType;

/// Parses a type name as written in a declaration: `int`, `nvarchar(40)`, `decimal(18, 4)`,
/// `varbinary(max)`, `float(53)`, `datetime2(3)`…
pub fn parse_type(text: &str) -> Option<SqlType> {
    let text = text.trim().to_ascii_lowercase();
    let (name, args) = match text.split_once('(') {
        Some((name, rest)) => (name.trim(), Some(rest.strip_suffix(')')?)),
        None => (text.as_str(), None),
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    let args: Vec<&str> = args
        .map(|a| a.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<u32>().ok());
    let max = args.first() == Some(&"max");
    // A length: `None` for `max`, the default without one.
    let length = |default: u16| {
        if max {
            None
        } else {
            Some(number(0).map_or(default, |n| n.min(u16::MAX as u32) as u16))
        }
    };
    let scale = || number(0).map_or(7, |s| s.min(7) as u8);
    Some(match name {
        "bit" => SqlType::Bit,
        "tinyint" => SqlType::TinyInt,
        "smallint" => SqlType::SmallInt,
        "int" => SqlType::Int,
        "bigint" => SqlType::BigInt,
        "real" => SqlType::Real,
        "float" => match number(0) {
            Some(bits) if bits <= 24 => SqlType::Real,
            _ => SqlType::Float,
        },
        "decimal" | "numeric" => {
            let precision = number(0).map_or(18, |p| p.clamp(1, 38) as u8);
            SqlType::Decimal {
                precision,
                scale: number(1).map_or(0, |s| s.min(precision as u32) as u8),
            }
        }
        "money" => SqlType::Money,
        "smallmoney" => SqlType::SmallMoney,
        "char" => SqlType::Char(length(1)?),
        "varchar" => SqlType::VarChar(length(1)),
        "text" => SqlType::VarChar(None),
        "nchar" => SqlType::NChar(length(1)?),
        "nvarchar" => SqlType::NVarChar(length(1)),
        "ntext" | "xml" => SqlType::NVarChar(None),
        "sysname" => SqlType::NVarChar(Some(128)),
        "binary" | "varbinary" => SqlType::VarBinary(length(1)),
        "image" => SqlType::VarBinary(None),
        "date" => SqlType::Date,
        "time" => SqlType::Time(scale()),
        "datetime" => SqlType::DateTime,
        "smalldatetime" => SqlType::SmallDateTime,
        "datetime2" => SqlType::DateTime2(scale()),
        "datetimeoffset" => SqlType::DateTimeOffset(scale()),
        "uniqueidentifier" => SqlType::UniqueIdentifier,
        _ => return None,
    })
}

/// The position of the first character outside `[…]`, `"…"` and `'…'` (where a doubled closer is
/// an escape) for which `visit` says yes.
pub fn find_unquoted(text: &str, mut visit: impl FnMut(char) -> bool) -> Option<usize> {
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let close = match c {
            '[' => ']',
            '"' | '\'' => c,
            _ if visit(c) => return Some(i),
            _ => continue,
        };
        while let Some((_, q)) = chars.next() {
            if q == close && chars.next_if(|(_, n)| *n == close).is_none() {
                break;
            }
        }
    }
    None
}

/// Splits on commas outside parentheses, brackets and quotes.
pub fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    loop {
        let mut depth = 0;
        let comma = find_unquoted(rest, |c| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            c == ',' && depth == 0
        });
        match comma {
            Some(at) => {
                parts.push(rest[..at].trim());
                rest = &rest[at + 1..];
            }
            None => {
                if !rest.trim().is_empty() || !parts.is_empty() {
                    parts.push(rest.trim());
                }
                return parts;
            }
        }
    }
}

/// Splits a leading identifier (bare, `[bracketed]` or `"quoted"`) off `text`; returns it unquoted
/// and the rest.
pub fn take_identifier(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start();
    let close = match text.chars().next()? {
        '[' => ']',
        '"' => '"',
        _ => {
            let end = text
                .find(|c: char| c.is_whitespace() || "(),".contains(c))
                .unwrap_or(text.len());
            return (end > 0).then(|| (text[..end].to_string(), &text[end..]));
        }
    };
    let mut name = String::new();
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == close {
            if chars.peek().map(|(_, n)| *n) == Some(close) {
                chars.next();
            } else {
                return Some((name, &text[i + 1..]));
            }
        }
        name.push(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_type_names() {
        assert_eq!(parse_type("int"), Some(SqlType::Int));
        assert_eq!(parse_type("NVARCHAR(4000)"), Some(SqlType::NVarChar(Some(4000))));
        assert_eq!(parse_type("nvarchar(max)"), Some(SqlType::NVarChar(None)));
        assert_eq!(
            parse_type("decimal(38, 10)"),
            Some(SqlType::Decimal {
                precision: 38,
                scale: 10
            })
        );
        assert_eq!(
            parse_type("numeric"),
            Some(SqlType::Decimal {
                precision: 18,
                scale: 0
            })
        );
        assert_eq!(parse_type("float(24)"), Some(SqlType::Real));
        assert_eq!(parse_type("float(53)"), Some(SqlType::Float));
        assert_eq!(parse_type("time"), Some(SqlType::Time(7)));
        assert_eq!(parse_type("datetime2(3)"), Some(SqlType::DateTime2(3)));
        assert_eq!(
            parse_type("varbinary(8000)"),
            Some(SqlType::VarBinary(Some(8000)))
        );
        assert_eq!(parse_type("geography"), None);
    }

    #[test]
    fn splits_lists_and_identifiers() {
        assert_eq!(
            split_top_level("@P1 int,@P2 decimal(10,2)"),
            vec!["@P1 int", "@P2 decimal(10,2)"]
        );
        assert_eq!(
            split_top_level("[a,b] int, c char(1)"),
            vec!["[a,b] int", "c char(1)"]
        );
        assert!(split_top_level("").is_empty());
        assert_eq!(
            take_identifier("[we]]ird] int"),
            Some(("we]ird".to_string(), " int"))
        );
        assert_eq!(take_identifier("id bigint"), Some(("id".to_string(), " bigint")));
    }
}
