//! SQL Server's errors, by number and with its wording, and the mapping of SQLite's errors onto them.

use super::sqltype;
use super::value;
use crate::types::{SqlError, SqlType, Value};

/// Prefix of a message raised inside a SQLite user function that carries a SQL Server error number.
const RAISED: &str = "tsql:";

pub fn syntax(near: &str) -> SqlError {
    SqlError::new(102, format!("Incorrect syntax near '{near}'."))
}

pub fn invalid_object(name: &str) -> SqlError {
    SqlError::new(208, format!("Invalid object name '{name}'."))
}

pub fn invalid_column(name: &str) -> SqlError {
    SqlError::new(207, format!("Invalid column name '{name}'."))
}

pub fn already_exists(name: &str) -> SqlError {
    SqlError::new(
        2714,
        format!("There is already an object named '{name}' in the database."),
    )
}

pub fn cannot_drop(name: &str) -> SqlError {
    SqlError::new(
        3701,
        format!("Cannot drop the table '{name}', because it does not exist or you do not have permission."),
    )
}

pub fn truncated() -> SqlError {
    SqlError::new(8152, "String or binary data would be truncated.")
}

pub fn overflow(ty: &SqlType) -> SqlError {
    let target = match ty {
        SqlType::Decimal { .. } => "numeric".to_string(),
        other => sqltype::name(other).to_string(),
    };
    SqlError::new(
        8115,
        format!("Arithmetic overflow error converting expression to data type {target}."),
    )
}

pub fn conversion_failed(text: &str, ty: &SqlType) -> SqlError {
    match ty {
        SqlType::Decimal { .. } | SqlType::Money | SqlType::SmallMoney | SqlType::Real | SqlType::Float => {
            SqlError::new(
                8114,
                format!("Error converting data type nvarchar to {}.", sqltype::name(ty)),
            )
        }
        _ => SqlError::new(
            245,
            format!(
                "Conversion failed when converting the nvarchar value '{text}' to data type {}.",
                sqltype::name(ty)
            ),
        ),
    }
}

pub fn implicit_conversion(v: &Value, ty: &SqlType) -> SqlError {
    SqlError::new(
        257,
        format!(
            "Implicit conversion from data type {} to {} is not allowed.",
            value::type_name_of(v),
            sqltype::name(ty)
        ),
    )
}

pub fn bad_datetime() -> SqlError {
    SqlError::new(
        241,
        "Conversion failed when converting date and/or time from character string.",
    )
}

pub fn datetime_out_of_range(ty: &SqlType) -> SqlError {
    SqlError::new(
        242,
        format!(
            "The conversion of a nvarchar data type to a {} data type resulted in an out-of-range value.",
            sqltype::name(ty)
        ),
    )
}

pub fn bad_guid() -> SqlError {
    SqlError::new(
        8169,
        "Conversion failed when converting from a character string to uniqueidentifier.",
    )
}

pub fn undeclared(name: &str) -> SqlError {
    SqlError::new(137, format!("Must declare the scalar variable \"{name}\"."))
}

pub fn unknown_type(column: usize, name: &str) -> SqlError {
    SqlError::new(
        2715,
        format!("Column, parameter, or variable #{column}: Cannot find data type {name}."),
    )
}

pub fn unknown_function(name: &str) -> SqlError {
    SqlError::new(
        195,
        format!("'{name}' is not a recognized built-in function name."),
    )
}

pub fn unsupported(what: &str) -> SqlError {
    SqlError::new(
        40000,
        format!("The routeflow test server does not support {what}."),
    )
}

/// Carries `e` through SQLite (out of a user function) so [`from_sqlite`] can restore it.
pub fn raise(e: SqlError) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(format!("{RAISED}{}:{}", e.number, e.message).into())
}

/// Maps a SQLite error to SQL Server's error for the same condition.
pub fn from_sqlite(e: rusqlite::Error) -> SqlError {
    let message = match &e {
        rusqlite::Error::SqliteFailure(f, Some(m)) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
            return SqlError::new(1222, format!("Lock request time out period exceeded. ({m})"));
        }
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        other => other.to_string(),
    };
    if let Some(rest) = message.split_once(RAISED).map(|(_, r)| r)
        && let Some((number, text)) = rest.split_once(':')
        && let Ok(number) = number.parse()
    {
        return SqlError::new(number, text);
    }
    let strip = |name: &str| {
        let name = name.trim();
        name.strip_prefix("temp.")
            .or_else(|| name.strip_prefix("main."))
            .unwrap_or(name)
            .to_string()
    };
    if let Some(name) = message.strip_prefix("no such table: ") {
        return invalid_object(&strip(name));
    }
    if let Some(name) = message.strip_prefix("no such column: ") {
        let name = name.rsplit('.').next().unwrap_or(name);
        return invalid_column(name.trim_matches('"'));
    }
    if let Some(rest) = message.strip_prefix("table ")
        && let Some(name) = rest.strip_suffix(" already exists")
    {
        return already_exists(strip(name).trim_matches('"'));
    }
    if let Some(columns) = message.strip_prefix("UNIQUE constraint failed: ") {
        let table = columns.split('.').next().unwrap_or_default();
        return SqlError::new(
            2627,
            format!(
                "Violation of PRIMARY KEY or UNIQUE KEY constraint. Cannot insert duplicate key in object 'dbo.{table}'. ({columns})"
            ),
        );
    }
    if let Some(column) = message.strip_prefix("NOT NULL constraint failed: ") {
        let (table, column) = column.split_once('.').unwrap_or(("", column));
        return not_null(table, column);
    }
    if let Some(name) = message.strip_prefix("no such function: ") {
        return unknown_function(name);
    }
    if let Some(name) = message.strip_prefix("duplicate column name: ") {
        return SqlError::new(
            2705,
            format!(
                "Column names in each table must be unique. Column name '{name}' is specified more than once."
            ),
        );
    }
    if message.contains("syntax error") {
        let near = message.split('"').nth(1).unwrap_or("");
        return syntax(near);
    }
    if message.contains("values for") && message.contains("columns") {
        return SqlError::new(
            213,
            "Column name or number of supplied values does not match table definition.",
        );
    }
    SqlError::new(50000, message)
}

pub fn not_null(table: &str, column: &str) -> SqlError {
    SqlError::new(
        515,
        format!(
            "Cannot insert the value NULL into column '{column}', table 'dbo.{table}'; column does not allow nulls. INSERT fails."
        ),
    )
}
