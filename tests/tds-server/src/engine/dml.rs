//! INSERT, UPDATE, DELETE and bulk rows. Every value written to a column goes through
//! `tsql_convert(value, declared type)` (or `value::store` for bulk rows): SQL Server's width checks
//! (8152), range checks (8115) and canonical storage, which SQLite alone would not do.

use rusqlite::Connection;
use sqlparser::ast::{
    AssignmentTarget, Delete, Expr, FromTable, Insert, JoinConstraint, JoinOperator, ObjectNamePart,
    Statement, TableFactor, TableObject, TableWithJoins, Update, UpdateTableFromKind,
};

use super::catalog::{self, Table, TableColumn, quote};
use super::infer::Scope;
use super::{Param, Session, error, sqltype, value};
use crate::types::{SqlError, Value};

impl Session {
    /// `INSERT INTO t [(cols)] VALUES … | SELECT …`, as
    /// `WITH src(c1…) AS (<source>) INSERT INTO t (cols) SELECT tsql_convert(c1, 'type')… FROM src`.
    pub(super) fn insert(&mut self, insert: Insert, params: &[Param]) -> Result<u64, SqlError> {
        let TableObject::TableName(name) = &insert.table else {
            return Err(error::unsupported("INSERT INTO a table function"));
        };
        let table = Table::from_object_name(name);
        let columns = catalog::require(&self.conn, &table)?;
        let targets: Vec<&TableColumn> = if insert.columns.is_empty() {
            columns.iter().filter(|c| !c.identity).collect()
        } else {
            insert
                .columns
                .iter()
                .map(|c| {
                    let name = c.0.last().map(part_name).unwrap_or_default();
                    find(&columns, &name)
                })
                .collect::<Result<_, _>>()?
        };
        let names: Vec<String> = targets.iter().map(|c| quote(&c.column.name)).collect();
        let Some(mut source) = insert.source else {
            return self.exec(&format!("INSERT INTO {} DEFAULT VALUES", table.sql()), params);
        };
        let scope = Scope::of(&self.conn, source.as_ref(), params);
        let source_sql = self.rewrite(&scope, source.as_mut())?;
        let aliases: Vec<String> = (1..=targets.len()).map(|i| format!("\"c{i}\"")).collect();
        let converted: Vec<String> = targets
            .iter()
            .zip(&aliases)
            .map(|(c, a)| format!("tsql_convert({a}, '{}')", sqltype::decl(&c.column.ty)))
            .collect();
        let sql = format!(
            "WITH \"__src\"({}) AS ({source_sql}) INSERT INTO {} ({}) SELECT {} FROM \"__src\"",
            aliases.join(", "),
            table.sql(),
            names.join(", "),
            converted.join(", ")
        );
        self.exec(&sql, params)
    }

    /// UPDATE, including T-SQL's `UPDATE alias SET … FROM t AS alias JOIN s ON …`, which becomes SQLite's
    /// `UPDATE t AS alias SET … FROM s WHERE <join conditions> AND <where>`.
    pub(super) fn update(&mut self, mut update: Update, params: &[Param]) -> Result<u64, SqlError> {
        let mut from = match update.from.take() {
            Some(UpdateTableFromKind::AfterSet(f) | UpdateTableFromKind::BeforeSet(f)) => f,
            None => Vec::new(),
        };
        let mut conditions = Vec::new();
        if let TableFactor::Table {
            name, alias: None, ..
        } = &update.table.relation
            && let Some(factor) = take_factor(&mut from, &Table::from_object_name(name).name, &mut conditions)
        {
            update.table.relation = factor;
        }
        if let Some(selection) = update.selection.take() {
            conditions.push(selection);
        }
        update.selection = conditions.into_iter().reduce(|a, b| Expr::BinaryOp {
            left: Box::new(nest(a)),
            op: sqlparser::ast::BinaryOperator::And,
            right: Box::new(nest(b)),
        });
        update.from = (!from.is_empty()).then_some(UpdateTableFromKind::AfterSet(from));
        let TableFactor::Table { name, .. } = &update.table.relation else {
            return Err(error::unsupported("UPDATE of a derived table"));
        };
        let table = Table::from_object_name(name);
        let columns = catalog::require(&self.conn, &table)?;
        let mut types = Vec::new();
        for assignment in &update.assignments {
            let AssignmentTarget::ColumnName(target) = &assignment.target else {
                return Err(error::unsupported("tuple assignments"));
            };
            let name = target.0.last().map(part_name).unwrap_or_default();
            types.push(find(&columns, &name)?);
        }
        let scope = Scope::of(&self.conn, &update, params);
        self.rewrite(&scope, &mut update)?;
        let sets: Vec<String> = update
            .assignments
            .iter()
            .zip(types)
            .map(|(a, c)| {
                format!(
                    "{} = tsql_convert({}, '{}')",
                    quote(&c.column.name),
                    a.value,
                    sqltype::decl(&c.column.ty)
                )
            })
            .collect();
        let mut sql = format!("UPDATE {} SET {}", update.table, sets.join(", "));
        if let Some(UpdateTableFromKind::AfterSet(from)) = &update.from {
            sql.push_str(&format!(" FROM {}", join_list(from)));
        }
        if let Some(selection) = &update.selection {
            sql.push_str(&format!(" WHERE {selection}"));
        }
        self.exec(&sql, params)
    }

    /// DELETE; T-SQL's `DELETE alias FROM t AS alias JOIN s ON …` becomes
    /// `DELETE FROM t WHERE rowid IN (SELECT alias.rowid FROM t AS alias JOIN s ON … WHERE …)`.
    pub(super) fn delete(&mut self, delete: Delete, params: &[Param]) -> Result<u64, SqlError> {
        let from = match &delete.from {
            FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f.clone(),
        };
        let simple = delete.tables.is_empty() && from.len() == 1 && from[0].joins.is_empty();
        let target = match (delete.tables.first(), from.first()) {
            (Some(t), _) => Table::from_object_name(t).name,
            (
                None,
                Some(TableWithJoins {
                    relation: TableFactor::Table { name, alias, .. },
                    ..
                }),
            ) => alias
                .as_ref()
                .map_or_else(|| Table::from_object_name(name).name, |a| a.name.value.clone()),
            _ => return Err(error::unsupported("this DELETE form")),
        };
        let scope = Scope::of(&self.conn, &delete, params);
        if simple {
            let sql = self.rewrite(&scope, &mut Statement::Delete(delete))?;
            return self.exec(&sql, params);
        }
        let mut ignored = Vec::new();
        let Some(TableFactor::Table { name, alias, .. }) =
            take_factor(&mut from.clone(), &target, &mut ignored)
        else {
            return Err(error::invalid_object(&target));
        };
        let table = Table::from_object_name(&name);
        let key = quote(&alias.map_or_else(|| table.name.clone(), |a| a.name.value));
        let mut delete = Delete {
            tables: Vec::new(),
            ..delete
        };
        self.rewrite(&scope, &mut delete)?;
        let from = match &delete.from {
            FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => join_list(f),
        };
        let filter = delete
            .selection
            .as_ref()
            .map(|s| format!(" WHERE {s}"))
            .unwrap_or_default();
        let sql = format!(
            "DELETE FROM {} WHERE rowid IN (SELECT {key}.rowid FROM {from}{filter})",
            table.sql()
        );
        self.exec(&sql, params)
    }
}

/// Inserts `rows` (values in `names` order) with one prepared statement, converting each value to its
/// column's type and storage as `tsql_convert` would.
pub fn insert_rows(
    conn: &Connection,
    table: &Table,
    names: &[String],
    rows: Vec<Vec<Value>>,
) -> Result<u64, SqlError> {
    let columns = catalog::require(conn, table)?;
    let targets: Vec<&TableColumn> = names
        .iter()
        .map(|n| find(&columns, n))
        .collect::<Result<_, _>>()?;
    let placeholders: Vec<String> = (1..=targets.len()).map(|i| format!("?{i}")).collect();
    let list: Vec<String> = targets.iter().map(|c| quote(&c.column.name)).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        table.sql(),
        list.join(", "),
        placeholders.join(", ")
    );
    let mut stmt = conn.prepare(&sql).map_err(error::from_sqlite)?;
    let mut count = 0;
    for row in rows {
        if row.len() != targets.len() {
            return Err(SqlError::new(
                4864,
                "Bulk load data conversion error: row has the wrong number of columns.",
            ));
        }
        for (i, (v, c)) in row.iter().zip(&targets).enumerate() {
            if matches!(v, Value::Null) && !c.column.nullable && !c.identity {
                return Err(error::not_null(&table.name, &c.column.name));
            }
            stmt.raw_bind_parameter(i + 1, value::store(v, &c.column.ty)?)
                .map_err(error::from_sqlite)?;
        }
        stmt.raw_execute().map_err(error::from_sqlite)?;
        count += 1;
    }
    Ok(count)
}

/// The name an identifier stands for, unquoted: `[a]]b]` is `a]b` (not its text with the
/// brackets trimmed, which would also eat a name's own leading or trailing `[`, `]` or `"`).
pub(super) fn part_name(part: &ObjectNamePart) -> String {
    match part.as_ident() {
        Some(ident) => ident.value.clone(),
        None => part.to_string(),
    }
}

/// The column an expression names, unquoted (see [`part_name`]).
pub(super) fn expr_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(ident) => ident.value.clone(),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.clone()).unwrap_or_default(),
        other => other.to_string(),
    }
}

fn find<'c>(columns: &'c [TableColumn], name: &str) -> Result<&'c TableColumn, SqlError> {
    columns
        .iter()
        .find(|c| c.column.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| error::invalid_column(name))
}

/// Removes from a FROM list the table factor `key` names (by alias, else by table name) and returns
/// it; the ON conditions of joins it took part in go to `conditions`.
fn take_factor(from: &mut Vec<TableWithJoins>, key: &str, conditions: &mut Vec<Expr>) -> Option<TableFactor> {
    let matches = |f: &TableFactor| match f {
        TableFactor::Table { alias: Some(a), .. } => a.name.value.eq_ignore_ascii_case(key),
        TableFactor::Table {
            name, alias: None, ..
        } => Table::from_object_name(name).name.eq_ignore_ascii_case(key),
        _ => false,
    };
    for i in 0..from.len() {
        if matches(&from[i].relation) {
            let item = &mut from[i];
            if item.joins.is_empty() {
                return Some(from.remove(i).relation);
            }
            let first = item.joins.remove(0);
            conditions.extend(on_condition(&first.join_operator));
            return Some(std::mem::replace(&mut item.relation, first.relation));
        }
        if let Some(j) = from[i].joins.iter().position(|j| matches(&j.relation)) {
            let join = from[i].joins.remove(j);
            conditions.extend(on_condition(&join.join_operator));
            return Some(join.relation);
        }
    }
    None
}

fn on_condition(op: &JoinOperator) -> Option<Expr> {
    match op {
        JoinOperator::Join(JoinConstraint::On(e))
        | JoinOperator::Inner(JoinConstraint::On(e))
        | JoinOperator::Left(JoinConstraint::On(e))
        | JoinOperator::LeftOuter(JoinConstraint::On(e)) => Some(e.clone()),
        _ => None,
    }
}

fn nest(e: Expr) -> Expr {
    Expr::Nested(Box::new(e))
}

fn join_list(from: &[TableWithJoins]) -> String {
    from.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
