//! Opening a session's SQLite connection: WAL and a long busy timeout so concurrent sessions wait for
//! each other instead of failing, plus the collations and functions translated T-SQL relies on.

use std::cmp::Ordering;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags};

use super::{error, sqltype, value};
use crate::types::SqlError;

/// How long a statement waits for another session's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

pub fn open(path: &Path) -> Result<Connection, SqlError> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(error::from_sqlite)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(error::from_sqlite)?;
    // A double-quoted name that is no column must be error 207, not SQLite's fallback to a string.
    for config in [
        DbConfig::SQLITE_DBCONFIG_DQS_DML,
        DbConfig::SQLITE_DBCONFIG_DQS_DDL,
    ] {
        conn.set_db_config(config, false).map_err(error::from_sqlite)?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(error::from_sqlite)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(error::from_sqlite)?;
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(error::from_sqlite)?;
    register(&conn).map_err(error::from_sqlite)?;
    Ok(conn)
}

/// Collations and functions. Every connection registers them: the schema names the collations, so a
/// connection without them could not even read the tables.
fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_collation("tsql_ci", compare_ci)?;
    conn.create_collation("tsql_num", |a, b| {
        match (value::Decimal::parse(a.trim()), value::Decimal::parse(b.trim())) {
            (Some(x), Some(y)) => x.compare(&y),
            _ => a.cmp(b),
        }
    })?;
    conn.create_collation("tsql_time", |a, b| {
        match (value::time_key(a), value::time_key(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.cmp(b),
        }
    })?;
    let deterministic = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    // tsql_convert(x, declared type): CAST and every value written to a column go through it.
    conn.create_scalar_function("tsql_convert", 2, deterministic, |ctx| {
        let ty = target(&ctx.get::<String>(1)?)?;
        value::store(&value::loose(ctx.get_raw(0)), &ty).map_err(error::raise)
    })?;
    // tsql_try_convert(x, declared type): TRY_CAST / TRY_CONVERT, NULL when the conversion fails.
    conn.create_scalar_function("tsql_try_convert", 2, deterministic, |ctx| {
        let ty = target(&ctx.get::<String>(1)?)?;
        Ok(value::store(&value::loose(ctx.get_raw(0)), &ty).unwrap_or(rusqlite::types::Value::Null))
    })?;
    // tsql_object_name('[dbo].[x]'): the table a name given as text refers to (OBJECT_ID's argument).
    conn.create_scalar_function("tsql_object_name", 1, deterministic, |ctx| {
        Ok(ctx
            .get::<Option<String>>(0)?
            .map(|text| super::catalog::Table::parse(&text).name))
    })?;
    conn.create_scalar_function("tsql_newid", 0, FunctionFlags::SQLITE_UTF8, |_| {
        let mut bytes = [0u8; 16];
        for chunk in bytes.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(0);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
        bytes[7] = (bytes[7] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Ok(value::to_sqlite(&crate::types::Value::Guid(bytes)))
    })?;
    Ok(())
}

fn target(decl: &str) -> rusqlite::Result<crate::types::SqlType> {
    sqltype::parse(decl).ok_or_else(|| error::raise(error::unknown_type(1, decl)))
}

/// SQL Server's default collation: case-insensitive, trailing spaces ignored.
pub fn compare_ci(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_end_matches(' '), b.trim_end_matches(' '));
    if a.is_ascii() && b.is_ascii() {
        return a
            .bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()));
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase))
}
