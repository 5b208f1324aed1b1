//! Table names and columns. A T-SQL name (`dbo.x`, `[dbo].[x]`, `#x`) maps to a SQLite table: `#temp`
//! tables live in the session's own TEMP schema, everything else in the shared file; schema prefixes
//! are dropped (all tables are `dbo`). The declared types in SQLite's schema are the catalog (see
//! `sqltype`); INFORMATION_SCHEMA is materialised from it into per-session temp tables on demand.

use rusqlite::Connection;
use sqlparser::ast::{ObjectName, ObjectNamePart};

use super::{error, sqltype};
use crate::types::{Column, SqlError, SqlType};

/// A table as SQLite knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub temp: bool,
}

/// A column and whether it is the `IDENTITY` (SQLite rowid) column.
pub struct TableColumn {
    pub column: Column,
    pub identity: bool,
}

/// The declared type an IDENTITY column gets: SQLite makes only `INTEGER PRIMARY KEY` a rowid alias.
pub const IDENTITY_DECL: &str = "INTEGER";

/// The INFORMATION_SCHEMA views and the temp tables that hold them.
const INFO_COLUMNS: &str = "__information_schema_columns";
const INFO_TABLES: &str = "__information_schema_tables";

impl Table {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            temp: name.starts_with('#'),
        }
    }

    /// The table a (possibly schema-qualified) AST name refers to.
    pub fn from_object_name(name: &ObjectName) -> Self {
        let parts: Vec<&str> = name
            .0
            .iter()
            .filter_map(|p| match p {
                ObjectNamePart::Identifier(i) => Some(i.value.as_str()),
                ObjectNamePart::Function(_) => None,
            })
            .collect();
        if let [.., schema, view] = parts.as_slice()
            && schema.eq_ignore_ascii_case("information_schema")
        {
            if view.eq_ignore_ascii_case("columns") {
                return Self {
                    name: INFO_COLUMNS.into(),
                    temp: true,
                };
            }
            if view.eq_ignore_ascii_case("tables") {
                return Self {
                    name: INFO_TABLES.into(),
                    temp: true,
                };
            }
        }
        Self::new(parts.last().copied().unwrap_or_default())
    }

    /// The table a name given as text refers to (`dbo.x`, `[dbo].[x]`, `"x"`, `#x`, `tempdb..#x`).
    pub fn parse(text: &str) -> Self {
        let mut parts = Vec::new();
        let mut current = String::new();
        let mut quote: Option<char> = None;
        for c in text.trim().chars() {
            match (quote, c) {
                (None, '[') => quote = Some(']'),
                (None, '"') => quote = Some('"'),
                (Some(q), c) if c == q => quote = None,
                (None, '.') => parts.push(std::mem::take(&mut current)),
                (_, c) => current.push(c),
            }
        }
        parts.push(current);
        let name = parts.into_iter().rfind(|p| !p.is_empty()).unwrap_or_default();
        Self::new(&name)
    }

    pub fn is_info_schema(&self) -> bool {
        self.temp && (self.name == INFO_COLUMNS || self.name == INFO_TABLES)
    }

    fn schema(&self) -> &'static str {
        if self.temp { "temp" } else { "main" }
    }

    /// The name in SQLite SQL.
    pub fn sql(&self) -> String {
        if self.temp {
            format!("temp.{}", quote(&self.name))
        } else {
            quote(&self.name)
        }
    }
}

/// A double-quoted SQLite identifier.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The columns of `table` in order, `None` when it does not exist.
pub fn columns(conn: &Connection, table: &Table) -> Result<Option<Vec<TableColumn>>, SqlError> {
    let mut stmt = conn
        .prepare(r#"SELECT name, type, "notnull", pk FROM pragma_table_info(?1, ?2) ORDER BY cid"#)
        .map_err(error::from_sqlite)?;
    let rows = stmt
        .query_map((&table.name, table.schema()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .map_err(error::from_sqlite)?;
    let mut columns = Vec::new();
    for row in rows {
        let (name, decl, not_null, pk) = row.map_err(error::from_sqlite)?;
        let identity = pk > 0 && decl.as_str() == IDENTITY_DECL;
        let ty = sqltype::parse(&decl).unwrap_or(SqlType::NVarChar(None));
        columns.push(TableColumn {
            column: Column {
                name,
                ty,
                nullable: !not_null && !identity,
            },
            identity,
        });
    }
    Ok((!columns.is_empty()).then_some(columns))
}

/// `columns`, with SQL Server's error when the table does not exist.
pub fn require(conn: &Connection, table: &Table) -> Result<Vec<TableColumn>, SqlError> {
    columns(conn, table)?.ok_or_else(|| error::invalid_object(&table.name))
}

/// The SQLite definition of a column.
pub fn column_sql(name: &str, ty: &SqlType, nullable: bool) -> String {
    let mut sql = format!("{} {}", quote(name), sqltype::decl(ty));
    if !nullable {
        sql.push_str(" NOT NULL");
    }
    if let Some(collation) = sqltype::collation(ty) {
        sql.push_str(" COLLATE ");
        sql.push_str(collation);
    }
    sql
}

/// Creates this session's (empty) INFORMATION_SCHEMA tables.
pub fn create_info_schema(conn: &Connection) -> Result<(), SqlError> {
    let name = SqlType::NVarChar(Some(128));
    let int = SqlType::Int;
    let columns: [(&str, SqlType); 11] = [
        ("TABLE_CATALOG", name.clone()),
        ("TABLE_SCHEMA", name.clone()),
        ("TABLE_NAME", name.clone()),
        ("COLUMN_NAME", name.clone()),
        ("ORDINAL_POSITION", int.clone()),
        ("IS_NULLABLE", SqlType::VarChar(Some(3))),
        ("DATA_TYPE", name.clone()),
        ("CHARACTER_MAXIMUM_LENGTH", int.clone()),
        ("NUMERIC_PRECISION", SqlType::TinyInt),
        ("NUMERIC_SCALE", int),
        ("DATETIME_PRECISION", SqlType::SmallInt),
    ];
    let tables = [
        ("TABLE_CATALOG", name.clone()),
        ("TABLE_SCHEMA", name.clone()),
        ("TABLE_NAME", name),
        ("TABLE_TYPE", SqlType::VarChar(Some(10))),
    ];
    let create = |table: &str, cols: &[(&str, SqlType)]| {
        let defs: Vec<String> = cols.iter().map(|(n, t)| column_sql(n, t, true)).collect();
        format!(
            "CREATE TEMP TABLE IF NOT EXISTS {} ({});",
            quote(table),
            defs.join(", ")
        )
    };
    conn.execute_batch(&(create(INFO_COLUMNS, &columns) + &create(INFO_TABLES, &tables)))
        .map_err(error::from_sqlite)
}

/// Fills this session's INFORMATION_SCHEMA tables from the shared schema.
pub fn refresh_info_schema(conn: &Connection, database: &str) -> Result<(), SqlError> {
    let tables: Vec<String> = {
        let mut stmt = conn
            .prepare("SELECT name FROM main.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name")
            .map_err(error::from_sqlite)?;
        stmt.query_map([], |r| r.get(0))
            .map_err(error::from_sqlite)?
            .collect::<Result<_, _>>()
            .map_err(error::from_sqlite)?
    };
    conn.execute_batch(&format!(
        "DELETE FROM temp.{}; DELETE FROM temp.{};",
        quote(INFO_COLUMNS),
        quote(INFO_TABLES)
    ))
    .map_err(error::from_sqlite)?;
    let mut insert_table = conn
        .prepare(&format!(
            "INSERT INTO temp.{} VALUES (?1, 'dbo', ?2, 'BASE TABLE')",
            quote(INFO_TABLES)
        ))
        .map_err(error::from_sqlite)?;
    let mut insert_column = conn
        .prepare(&format!(
            "INSERT INTO temp.{} VALUES (?1, 'dbo', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            quote(INFO_COLUMNS)
        ))
        .map_err(error::from_sqlite)?;
    for name in tables {
        insert_table
            .execute((database, &name))
            .map_err(error::from_sqlite)?;
        for (i, c) in require(
            conn,
            &Table {
                name: name.clone(),
                temp: false,
            },
        )?
        .into_iter()
        .enumerate()
        {
            let c = c.column;
            let [length, precision, scale, datetime] = sqltype::info_schema_sizes(&c.ty);
            let nullable = if c.nullable { "YES" } else { "NO" };
            insert_column
                .execute(rusqlite::params![
                    database,
                    &name,
                    &c.name,
                    i as i64 + 1,
                    nullable,
                    sqltype::name(&c.ty),
                    length,
                    precision,
                    scale,
                    datetime
                ])
                .map_err(error::from_sqlite)?;
        }
    }
    Ok(())
}
