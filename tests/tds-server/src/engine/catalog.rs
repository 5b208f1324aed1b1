//! Table names and columns. A T-SQL name (`dbo.x`, `[dbo].[x]`, `#x`) maps to a SQLite table: `#temp`
//! tables live in the session's own TEMP schema, everything else in the shared file; schema prefixes
//! are dropped (all tables are `dbo`). The declared types in SQLite's schema are the catalog (see
//! `sqltype`); INFORMATION_SCHEMA and the `sys.indexes`, `sys.index_columns` and `sys.columns` catalog
//! views are materialised from it into per-session temp tables on demand (as are the dynamic
//! management views `sys.dm_tran_locks` and `sys.dm_exec_sessions`, from the server's state). Object ids are SQLite's
//! schema row ids (what `OBJECT_ID` returns).

use rusqlite::Connection;
use sqlparser::ast::{ObjectName, ObjectNamePart};

use super::instance::{DM_EXEC_SESSIONS, DM_TRAN_LOCKS};
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
const SYS_INDEXES: &str = "__sys_indexes";
const SYS_INDEX_COLUMNS: &str = "__sys_index_columns";
const SYS_COLUMNS: &str = "__sys_columns";
/// The catalog tables, by the view name after `INFORMATION_SCHEMA.` or `sys.`. The dynamic
/// management views' rows come from the server's sessions and locks (see `instance`).
const CATALOG: [(&str, &str, &str); 7] = [
    ("information_schema", "columns", INFO_COLUMNS),
    ("information_schema", "tables", INFO_TABLES),
    ("sys", "indexes", SYS_INDEXES),
    ("sys", "index_columns", SYS_INDEX_COLUMNS),
    ("sys", "columns", SYS_COLUMNS),
    ("sys", "dm_tran_locks", DM_TRAN_LOCKS),
    ("sys", "dm_exec_sessions", DM_EXEC_SESSIONS),
];

/// The end of the SQLite name of an index created `CLUSTERED` (SQLite has no such thing; the name
/// keeps it for `sys.indexes`).
pub const CLUSTERED_SUFFIX: &str = " (clustered)";

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
            && let Some((_, _, table)) = CATALOG
                .iter()
                .find(|(s, v, _)| schema.eq_ignore_ascii_case(s) && view.eq_ignore_ascii_case(v))
        {
            return Self {
                name: (*table).into(),
                temp: true,
            };
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
        self.temp && CATALOG.iter().any(|(_, _, t)| self.name == *t)
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

/// `OBJECT_ID` of a catalog or dynamic management view named as text (`sys.dm_tran_locks`):
/// negative, as SQL Server's system objects' ids are.
pub fn system_view_id(text: &str) -> Option<i64> {
    let bare = text.replace(['[', ']', '"'], "");
    let parts: Vec<&str> = bare.trim().split('.').collect();
    let [.., schema, view] = parts.as_slice() else {
        return None;
    };
    CATALOG
        .iter()
        .position(|(s, v, _)| schema.eq_ignore_ascii_case(s) && view.eq_ignore_ascii_case(v))
        .map(|i| -1000 - i as i64)
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
    let (int, bit, tiny) = (SqlType::Int, SqlType::Bit, SqlType::TinyInt);
    let name = SqlType::NVarChar(Some(128));
    let indexes = [
        ("object_id", int.clone()),
        ("name", name.clone()),
        ("index_id", int.clone()),
        ("type", tiny),
        ("type_desc", SqlType::NVarChar(Some(60))),
        ("is_unique", bit.clone()),
        ("is_primary_key", bit.clone()),
        ("is_unique_constraint", bit.clone()),
    ];
    let index_columns = [
        ("object_id", int.clone()),
        ("index_id", int.clone()),
        ("index_column_id", int.clone()),
        ("column_id", int.clone()),
        ("key_ordinal", SqlType::TinyInt),
        ("is_descending_key", bit.clone()),
        ("is_included_column", bit.clone()),
    ];
    let sys_columns = [
        ("object_id", int.clone()),
        ("name", name),
        ("column_id", int),
        ("is_nullable", bit.clone()),
        ("is_identity", bit),
    ];
    conn.execute_batch(
        &[
            create(INFO_COLUMNS, &columns),
            create(INFO_TABLES, &tables),
            create(SYS_INDEXES, &indexes),
            create(SYS_INDEX_COLUMNS, &index_columns),
            create(SYS_COLUMNS, &sys_columns),
        ]
        .concat(),
    )
    .map_err(error::from_sqlite)
}

/// Fills `sys.columns`, `sys.indexes` and `sys.index_columns` for one table (object `id`) as SQL
/// Server describes it: the primary key from SQLite's table info, the other indexes from its index
/// list (`UNIQUE` constraints and `CREATE INDEX`). Index 0 is the heap when there is no clustered
/// index, 1 the clustered index: the one created `CLUSTERED`, else the primary key (SQL Server's
/// default; `PRIMARY KEY NONCLUSTERED` is not told apart here). Key order of a primary key is
/// always ascending here.
fn refresh_sys(conn: &Connection, id: i64, table: &str) -> Result<(), SqlError> {
    let sql = |s: &str| s.replace("{I}", SYS_INDEXES).replace("{C}", SYS_INDEX_COLUMNS);
    let columns: Vec<(String, bool, i64, String)> = {
        let mut stmt = conn
            .prepare(r#"SELECT name, "notnull", pk, type FROM pragma_table_info(?1, 'main') ORDER BY cid"#)
            .map_err(error::from_sqlite)?;
        stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(error::from_sqlite)?
            .collect::<Result<_, _>>()
            .map_err(error::from_sqlite)?
    };
    let mut insert_column = conn
        .prepare(&format!(
            "INSERT INTO temp.{} VALUES (?1, ?2, ?3, ?4, ?5)",
            quote(SYS_COLUMNS)
        ))
        .map_err(error::from_sqlite)?;
    for (i, (name, not_null, pk, decl)) in columns.iter().enumerate() {
        let identity = *pk > 0 && decl.as_str() == IDENTITY_DECL;
        insert_column
            .execute(rusqlite::params![
                id,
                name,
                i as i64 + 1,
                !not_null && !identity,
                identity
            ])
            .map_err(error::from_sqlite)?;
    }
    // (SQLite index name, unique, origin): explicit indexes and UNIQUE constraints, by creation.
    let indexes: Vec<(String, bool, String)> = {
        let mut stmt = conn
            .prepare("SELECT name, \"unique\", origin FROM pragma_index_list(?1, 'main') WHERE origin <> 'pk' ORDER BY seq DESC")
            .map_err(error::from_sqlite)?;
        stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(error::from_sqlite)?
            .collect::<Result<_, _>>()
            .map_err(error::from_sqlite)?
    };
    let clustered = indexes.iter().any(|(n, ..)| n.ends_with(CLUSTERED_SUFFIX));
    let mut pk: Vec<(i64, usize)> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.2 > 0)
        .map(|(i, c)| (c.2, i + 1))
        .collect();
    pk.sort_unstable();
    let mut insert_index = conn
        .prepare(&sql(
            "INSERT INTO temp.\"{I}\" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        ))
        .map_err(error::from_sqlite)?;
    let mut insert_key = conn
        .prepare(&sql(
            "INSERT INTO temp.\"{C}\" VALUES (?1, ?2, ?3, ?4, ?3, ?5, 0)",
        ))
        .map_err(error::from_sqlite)?;
    let kind = |clustered: bool| {
        if clustered {
            (1, "CLUSTERED")
        } else {
            (2, "NONCLUSTERED")
        }
    };
    if !clustered && pk.is_empty() {
        insert_index
            .execute(rusqlite::params![
                id,
                None::<String>,
                0,
                0,
                "HEAP",
                false,
                false,
                false
            ])
            .map_err(error::from_sqlite)?;
    }
    let mut next = 2;
    if !pk.is_empty() {
        let index_id = if clustered { next } else { 1 };
        next += i64::from(clustered);
        let (ty, desc) = kind(!clustered);
        let name = format!("PK__{table}");
        insert_index
            .execute(rusqlite::params![id, name, index_id, ty, desc, true, true, false])
            .map_err(error::from_sqlite)?;
        for (ordinal, (_, column_id)) in pk.iter().enumerate() {
            insert_key
                .execute(rusqlite::params![
                    id,
                    index_id,
                    ordinal as i64 + 1,
                    *column_id as i64,
                    false
                ])
                .map_err(error::from_sqlite)?;
        }
    }
    for (sqlite_name, unique, origin) in indexes {
        let is_clustered = sqlite_name.ends_with(CLUSTERED_SUFFIX);
        let index_id = if is_clustered {
            1
        } else {
            next += 1;
            next - 1
        };
        let (ty, desc) = kind(is_clustered);
        let name = sqlite_name.strip_suffix(CLUSTERED_SUFFIX).unwrap_or(&sqlite_name);
        let name = name.strip_prefix(&format!("{table}.")).unwrap_or(name);
        insert_index
            .execute(rusqlite::params![
                id,
                name,
                index_id,
                ty,
                desc,
                unique,
                false,
                origin == "u"
            ])
            .map_err(error::from_sqlite)?;
        let mut stmt = conn
            .prepare("SELECT cid, \"desc\" FROM pragma_index_xinfo(?1, 'main') WHERE key = 1 ORDER BY seqno")
            .map_err(error::from_sqlite)?;
        let keys: Vec<(i64, bool)> = stmt
            .query_map([&sqlite_name], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(error::from_sqlite)?
            .collect::<Result<_, _>>()
            .map_err(error::from_sqlite)?;
        for (ordinal, (cid, descending)) in keys.into_iter().enumerate() {
            insert_key
                .execute(rusqlite::params![
                    id,
                    index_id,
                    ordinal as i64 + 1,
                    cid + 1,
                    descending
                ])
                .map_err(error::from_sqlite)?;
        }
    }
    Ok(())
}

/// Fills this session's INFORMATION_SCHEMA tables from the shared schema.
pub fn refresh_info_schema(conn: &Connection, database: &str) -> Result<(), SqlError> {
    let tables: Vec<(i64, String)> = {
        let mut stmt = conn
            .prepare("SELECT rowid, name FROM main.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name")
            .map_err(error::from_sqlite)?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(error::from_sqlite)?
            .collect::<Result<_, _>>()
            .map_err(error::from_sqlite)?
    };
    let clear: String = CATALOG
        .iter()
        .map(|(_, _, t)| format!("DELETE FROM temp.{};", quote(t)))
        .collect();
    conn.execute_batch(&clear).map_err(error::from_sqlite)?;
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
    for (id, name) in tables {
        refresh_sys(conn, id, &name)?;
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
