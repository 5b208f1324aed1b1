//! CREATE/DROP/ALTER TABLE, CREATE INDEX, `SELECT … INTO` and `sp_rename`. Tables are created with
//! the exact T-SQL types in their declared types (see `sqltype`), so the schema is the catalog.

use sqlparser::ast::{
    AlterTable, AlterTableOperation, ColumnDef, ColumnOption, CreateIndex, CreateTable, Expr, ObjectName,
    ObjectType, Query, SetExpr, TableConstraint, Value as AstValue,
};

use super::catalog::{self, IDENTITY_DECL, Table, quote};
use super::infer::Scope;
use super::translate::quote_literal;
use super::{Param, Session, dml, error, sqltype};
use crate::types::{SqlError, SqlType, Value};

impl Session {
    pub(super) fn create_table(&mut self, create: &CreateTable) -> Result<(), SqlError> {
        let table = Table::from_object_name(&create.name);
        if catalog::columns(&self.conn, &table)?.is_some() {
            return Err(error::already_exists(&table.name));
        }
        let mut primary: Vec<String> = Vec::new();
        let mut constraints = Vec::new();
        for constraint in &create.constraints {
            let columns = |cols: &[sqlparser::ast::IndexColumn]| {
                cols.iter()
                    .map(|c| super::dml::expr_name(&c.column.expr))
                    .collect::<Vec<_>>()
            };
            match constraint {
                TableConstraint::PrimaryKey(pk) => {
                    primary = columns(&pk.columns);
                    constraints.push(format!("PRIMARY KEY ({})", quoted(&primary)));
                }
                TableConstraint::Unique(u) => {
                    constraints.push(format!("UNIQUE ({})", quoted(&columns(&u.columns))))
                }
                TableConstraint::Check(c) => {
                    constraints.push(format!("CHECK ({})", self.expression(&c.expr)?))
                }
                // Foreign keys and indexes do not change what tests observe; SQLite would not enforce them.
                _ => {}
            }
        }
        let mut defs = Vec::new();
        for (i, column) in create.columns.iter().enumerate() {
            let in_primary = primary.iter().any(|p| p.eq_ignore_ascii_case(&column.name.value));
            defs.push(self.column_def(i + 1, column, in_primary, !primary.is_empty())?);
        }
        defs.extend(constraints);
        self.conn
            .execute_batch(&format!("CREATE TABLE {} ({})", table.sql(), defs.join(", ")))
            .map_err(error::from_sqlite)
    }

    /// One column's SQLite definition: declared type, nullability (SQL Server's default is NULL;
    /// key columns are NOT NULL), key, default, check and collation.
    fn column_def(
        &self,
        position: usize,
        column: &ColumnDef,
        in_primary: bool,
        table_has_key: bool,
    ) -> Result<String, SqlError> {
        let type_text = column.data_type.to_string();
        let ty = sqltype::parse(&type_text).ok_or_else(|| error::unknown_type(position, &type_text))?;
        let (mut nullable, mut primary, mut unique, mut identity) = (true, in_primary, false, false);
        let mut extra = String::new();
        for option in &column.options {
            match &option.option {
                ColumnOption::Null => nullable = true,
                ColumnOption::NotNull => nullable = false,
                ColumnOption::PrimaryKey(_) => primary = true,
                ColumnOption::Unique(_) => unique = true,
                ColumnOption::Identity(_) => identity = true,
                ColumnOption::Default(e) => extra.push_str(&format!(" DEFAULT ({})", self.expression(e)?)),
                ColumnOption::Check(c) => extra.push_str(&format!(" CHECK ({})", self.expression(&c.expr)?)),
                _ => {}
            }
        }
        let name = &column.name.value;
        if identity {
            if !matches!(
                ty,
                SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt
            ) || (table_has_key && !primary)
            {
                return Err(error::unsupported("IDENTITY other than an integer key column"));
            }
            // Only `INTEGER PRIMARY KEY` is SQLite's auto-assigned rowid.
            return Ok(format!(
                "{} {IDENTITY_DECL} NOT NULL PRIMARY KEY AUTOINCREMENT",
                quote(name)
            ));
        }
        let mut sql = catalog::column_sql(name, &ty, nullable && !primary);
        if primary && !in_primary {
            sql.push_str(" PRIMARY KEY");
        }
        if unique {
            sql.push_str(" UNIQUE");
        }
        sql.push_str(&extra);
        Ok(sql)
    }

    /// A DDL expression (DEFAULT, CHECK) as SQLite SQL.
    fn expression(&self, e: &Expr) -> Result<String, SqlError> {
        let scope = Scope::of(&self.conn, e, &[]);
        self.rewrite(&scope, &mut e.clone())
    }

    pub(super) fn create_index(&mut self, index: &CreateIndex) -> Result<(), SqlError> {
        let table = Table::from_object_name(&index.table_name);
        catalog::require(&self.conn, &table)?;
        let columns: Vec<String> = index
            .columns
            .iter()
            .map(|c| {
                let name = quote(&super::dml::expr_name(&c.column.expr));
                if c.column.options.asc == Some(false) {
                    format!("{name} DESC")
                } else {
                    name
                }
            })
            .collect();
        // SQL Server scopes index names to their table, SQLite to the schema.
        let name = index
            .name
            .as_ref()
            .map_or_else(|| columns.join("_"), |n| Table::from_object_name(n).name);
        // `CLUSTERED` came through `strip_clustered` as a mark on the name; it stays in SQLite's name.
        let (name, suffix) = match name.strip_prefix(CLUSTERED_MARK) {
            Some(bare) => {
                let existing = self.clustered_index(&table)?;
                if let Some(existing) = existing {
                    return Err(SqlError::new(
                        1902,
                        format!(
                            "Cannot create more than one clustered index on table '{}'. Drop the existing clustered index '{existing}' before creating another.",
                            table.name
                        ),
                    ));
                }
                (bare.to_string(), catalog::CLUSTERED_SUFFIX)
            }
            None => (name, ""),
        };
        let schema = if table.temp { "temp." } else { "" };
        let unique = if index.unique { "UNIQUE " } else { "" };
        self.conn
            .execute_batch(&format!(
                "CREATE {unique}INDEX {schema}{} ON {} ({})",
                quote(&format!("{}.{name}{suffix}", table.name)),
                quote(&table.name),
                columns.join(", ")
            ))
            .map_err(error::from_sqlite)
    }

    /// The name of `table`'s index created `CLUSTERED`, if any.
    fn clustered_index(&self, table: &Table) -> Result<Option<String>, SqlError> {
        let schema = if table.temp { "temp" } else { "main" };
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM pragma_index_list(?1, ?2)")
            .map_err(error::from_sqlite)?;
        let names: Vec<String> = stmt
            .query_map((&table.name, schema), |r| r.get(0))
            .map_err(error::from_sqlite)?
            .collect::<Result<_, _>>()
            .map_err(error::from_sqlite)?;
        let prefix = format!("{}.", table.name);
        Ok(names.into_iter().find_map(|n| {
            n.strip_suffix(catalog::CLUSTERED_SUFFIX)
                .map(|n| n.strip_prefix(&prefix).unwrap_or(n).to_string())
        }))
    }

    pub(super) fn drop(
        &mut self,
        object_type: ObjectType,
        if_exists: bool,
        names: &[ObjectName],
    ) -> Result<(), SqlError> {
        if object_type != ObjectType::Table {
            return Err(error::unsupported(&format!("DROP {object_type}")));
        }
        for name in names {
            let table = Table::from_object_name(name);
            if catalog::columns(&self.conn, &table)?.is_none() {
                if if_exists {
                    continue;
                }
                return Err(error::cannot_drop(&table.name));
            }
            self.conn
                .execute_batch(&format!("DROP TABLE {}", table.sql()))
                .map_err(error::from_sqlite)?;
        }
        Ok(())
    }

    pub(super) fn alter_table(&mut self, alter: &AlterTable) -> Result<(), SqlError> {
        let table = Table::from_object_name(&alter.name);
        let columns = catalog::require(&self.conn, &table)?;
        for operation in &alter.operations {
            let sql = match operation {
                AlterTableOperation::AddColumn { column_def, .. } => {
                    let def = self.column_def(columns.len() + 1, column_def, false, true)?;
                    format!("ALTER TABLE {} ADD COLUMN {def}", table.sql())
                }
                AlterTableOperation::DropColumn { column_names, .. } => column_names
                    .iter()
                    .map(|c| format!("ALTER TABLE {} DROP COLUMN {};", table.sql(), quote(&c.value)))
                    .collect(),
                other => return Err(error::unsupported(&format!("ALTER TABLE … {other}"))),
            };
            self.conn.execute_batch(&sql).map_err(error::from_sqlite)?;
        }
        Ok(())
    }

    /// `SELECT … INTO t FROM …`: a new table with the result's columns and types, filled with its rows.
    pub(super) fn select_into(
        &mut self,
        mut query: Query,
        target: Table,
        params: &[Param],
    ) -> Result<u64, SqlError> {
        if catalog::columns(&self.conn, &target)?.is_some() {
            return Err(error::already_exists(&target.name));
        }
        if let SetExpr::Select(select) = query.body.as_mut() {
            select.into = None;
        }
        self.atomic(|s| s.fill_into(&query, &target, params))
    }

    fn fill_into(&mut self, query: &Query, target: &Table, params: &[Param]) -> Result<u64, SqlError> {
        let (columns, rows) = self.query(query, params)?;
        let defs: Vec<String> = columns
            .iter()
            .map(|c| catalog::column_sql(&c.name, &c.ty, true))
            .collect();
        self.conn
            .execute_batch(&format!("CREATE TABLE {} ({})", target.sql(), defs.join(", ")))
            .map_err(error::from_sqlite)?;
        let names: Vec<String> = columns.into_iter().map(|c| c.name).collect();
        dml::insert_rows(&self.conn, target, &names, rows)
    }

    /// `EXEC sp_rename 'old', 'new' [, 'OBJECT' | 'COLUMN']`.
    pub(super) fn sp_rename(&mut self, args: &[Expr], params: &[Param]) -> Result<(), SqlError> {
        let args: Vec<String> = args
            .iter()
            .map(|a| argument(a, params))
            .collect::<Result<_, _>>()?;
        let [old, new, rest @ ..] = args.as_slice() else {
            return Err(SqlError::new(
                201,
                "Procedure or function 'sp_rename' expects parameter '@newname', which was not supplied.",
            ));
        };
        let new = Table::parse(new).name;
        if rest
            .first()
            .is_some_and(|kind| kind.eq_ignore_ascii_case("column"))
        {
            let (table, column) = old.rsplit_once('.').ok_or_else(|| error::invalid_column(old))?;
            let table = Table::parse(table);
            catalog::require(&self.conn, &table)?;
            return self
                .conn
                .execute_batch(&format!(
                    "ALTER TABLE {} RENAME COLUMN {} TO {}",
                    table.sql(),
                    quote(column),
                    quote(&new)
                ))
                .map_err(error::from_sqlite);
        }
        let old = Table::parse(old);
        if catalog::columns(&self.conn, &old)?.is_none() {
            return Err(SqlError::new(
                15248,
                "Either the parameter @objname is ambiguous or the claimed @objtype (OBJECT) is wrong.",
            ));
        }
        let renamed = Table {
            name: new.clone(),
            temp: old.temp,
        };
        if catalog::columns(&self.conn, &renamed)?.is_some() {
            return Err(SqlError::new(
                15335,
                format!(
                    "Error: The new name '{new}' is already in use as a object name and would cause a duplicate that is not permitted."
                ),
            ));
        }
        self.conn
            .execute_batch(&format!("ALTER TABLE {} RENAME TO {}", old.sql(), quote(&new)))
            .map_err(error::from_sqlite)
    }
}

/// A procedure argument: a string literal or a parameter's text.
pub(super) fn argument(e: &Expr, params: &[Param]) -> Result<String, SqlError> {
    match e {
        Expr::Value(v) => match &v.value {
            AstValue::SingleQuotedString(s) | AstValue::NationalStringLiteral(s) => Ok(s.clone()),
            other => Ok(other.to_string()),
        },
        Expr::Identifier(id) if id.value.starts_with('@') => {
            let param = params
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(&id.value))
                .ok_or_else(|| error::undeclared(&id.value))?;
            match &param.value {
                Value::Text(s) => Ok(s.clone()),
                other => Ok(super::value::to_text(other)),
            }
        }
        Expr::Identifier(id) => Ok(id.value.clone()),
        other => Err(error::syntax(&quote_literal(&other.to_string()))),
    }
}

/// Put on the name of an index created `CLUSTERED` by [`strip_clustered`].
const CLUSTERED_MARK: &str = "__tds_clustered__";

/// `CLUSTERED` and `NONCLUSTERED`, which sqlparser does not parse, taken out of a batch before it is
/// parsed: in `CREATE [UNIQUE] CLUSTERED INDEX name` the name gets [`CLUSTERED_MARK`] instead; after
/// `PRIMARY KEY` or `UNIQUE` (constraints) and in `CREATE NONCLUSTERED INDEX` the word is dropped.
/// Edits the text by token positions, so literals and comments are never touched.
pub fn strip_clustered(sql: &str) -> std::borrow::Cow<'_, str> {
    use sqlparser::dialect::MsSqlDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let lower = sql.to_ascii_lowercase();
    if !lower.contains("clustered") {
        return sql.into();
    }
    let Ok(tokens) = Tokenizer::new(&MsSqlDialect {}, sql).tokenize_with_location() else {
        return sql.into();
    };
    // Byte offset of each line's start, to turn token locations (line, character) into offsets.
    let mut lines = vec![0];
    lines.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
    let offset = |line: u64, column: u64| {
        let start = lines
            .get(line.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(sql.len());
        sql[start..]
            .char_indices()
            .nth(column.saturating_sub(1) as usize)
            .map_or(sql.len(), |(i, _)| start + i)
    };
    // The tokens that are not whitespace: index and, for a word, its upper-case text.
    let words: Vec<(usize, String)> = tokens
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match &t.token {
            Token::Whitespace(_) => None,
            Token::Word(w) if w.quote_style.is_none() => Some((i, w.value.to_ascii_uppercase())),
            _ => Some((i, String::new())),
        })
        .collect();
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for (k, (i, word)) in words.iter().enumerate() {
        if word != "CLUSTERED" && word != "NONCLUSTERED" {
            continue;
        }
        let before = |n: usize| k.checked_sub(n).map(|j| words[j].1.as_str());
        let after = |n: usize| words.get(k + n).map(|w| w.1.as_str());
        let span = tokens[*i].span;
        let (start, end) = (
            offset(span.start.line, span.start.column),
            offset(span.end.line, span.end.column),
        );
        let create_index = after(1) == Some("INDEX")
            && (before(1) == Some("CREATE") || before(1) == Some("UNIQUE") && before(2) == Some("CREATE"));
        let constraint =
            before(1) == Some("UNIQUE") || before(1) == Some("KEY") && before(2) == Some("PRIMARY");
        if create_index && word == "CLUSTERED" {
            edits.push((start, end, String::new()));
            if let Some((n, _)) = words.get(k + 2)
                && let Token::Word(w) = &tokens[*n].token
            {
                let span = tokens[*n].span;
                let name = w.value.replace(']', "]]");
                edits.push((
                    offset(span.start.line, span.start.column),
                    offset(span.end.line, span.end.column),
                    format!("[{CLUSTERED_MARK}{name}]"),
                ));
            }
        } else if create_index || constraint {
            edits.push((start, end, String::new()));
        }
    }
    if edits.is_empty() {
        return sql.into();
    }
    let mut out = sql.to_string();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (start, end, text) in edits {
        out.replace_range(start..end, &text);
    }
    out.into()
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", ")
}
