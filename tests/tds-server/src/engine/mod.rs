//! T-SQL on SQLite. Every batch is parsed with sqlparser's `MsSqlDialect` (syntax SQL Server rejects is
//! rejected, error 102), checked, rewritten on the AST into SQLite's dialect and run on the session's own
//! connection to the shared database file. Errors carry SQL Server's numbers and wording.

mod catalog;
mod ddl;
mod dml;
mod error;
mod infer;
pub mod instance;
mod procedures;
mod scans;
mod sqlite;
mod sqltype;
mod translate;
mod value;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::Connection;
use sqlparser::ast::{OrderBy, OrderByExpr, OrderByKind, OrderByOptions, Query, SetExpr, Statement};
use sqlparser::dialect::MsSqlDialect;
use sqlparser::parser::{Parser, ParserError, ParserOptions};
use sqlparser::tokenizer::Token;

use crate::types::{Column, SqlError, SqlType, Value};
use catalog::Table;
use infer::Scope;
use instance::{Instance, SessionInfo};
use translate::{Context, Rewriter};

/// The shared database: one SQLite file that every session opens, and the server's sessions and
/// application locks.
#[derive(Clone)]
pub struct Engine {
    pub path: PathBuf,
    instance: Arc<Instance>,
}

/// A named, typed parameter of an RPC (`sp_executesql`) call, e.g. `@P1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: SqlType,
    pub value: Value,
}

/// What one statement of a batch produced, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A result set (SELECT).
    Rows {
        columns: Vec<Column>,
        rows: Vec<Vec<Value>>,
    },
    /// A statement without a result set; `rows` is the affected count when it has one.
    Done { rows: Option<u64> },
    /// `BEGIN TRAN` started a transaction.
    Began,
    /// `COMMIT` ended the transaction.
    Committed,
    /// `ROLLBACK` ended the transaction.
    RolledBack,
}

/// One client connection's view of the database. Dropping it ends the session: its application
/// locks are released.
pub struct Session {
    conn: Connection,
    /// `@@SPID`: the session's id in the server's views and locks.
    spid: u16,
    instance: Arc<Instance>,
    /// The batch's `DECLARE`d variables, bound like parameters; a batch starts without any.
    variables: Vec<Param>,
    /// `@@TRANCOUNT`: nested `BEGIN TRAN`s count, only the outermost COMMIT commits.
    depth: u32,
    /// What `DB_NAME()` and INFORMATION_SCHEMA's TABLE_CATALOG say: the file's stem.
    database: String,
    /// Tables read whole, see [`Session::take_full_scans`].
    scans: scans::ScanLog,
    /// Return the rows of every SELECT in a random order, as far as its `ORDER BY` leaves it free
    /// (a fault the server switches on; see `ServerHandle::shuffle_rows`).
    pub shuffle: bool,
}

impl Engine {
    /// The database in `path`, with sessions and locks of its own.
    pub fn new(path: PathBuf) -> Self {
        Self::shared(path, Arc::default())
    }

    /// The database in `path`, its sessions sharing `instance` with every other engine on it.
    pub fn shared(path: PathBuf, instance: Arc<Instance>) -> Self {
        Self { path, instance }
    }

    /// A session without a client (tests).
    pub fn session(&self) -> Result<Session, SqlError> {
        self.session_as(self.instance.free_spid(), SessionInfo::default())
    }

    /// The session of the client `info` logged in as `spid`.
    pub fn session_as(&self, spid: u16, info: SessionInfo) -> Result<Session, SqlError> {
        let conn = sqlite::open(&self.path)?;
        catalog::create_info_schema(&conn)?;
        Instance::create_views(&conn)?;
        let instance = Arc::clone(&self.instance);
        conn.create_scalar_function(
            "tsql_applock_mode",
            2,
            rusqlite::functions::FunctionFlags::SQLITE_UTF8,
            {
                let instance = Arc::clone(&instance);
                move |ctx| Ok(instance.mode_of(spid, &ctx.get::<String>(1)?))
            },
        )
        .map_err(error::from_sqlite)?;
        instance.join(spid, info);
        let database = self
            .path
            .file_stem()
            .map_or_else(|| "routeflow".into(), |s| s.to_string_lossy().into_owned());
        Ok(Session {
            conn,
            spid,
            instance,
            variables: Vec::new(),
            depth: 0,
            database,
            scans: scans::ScanLog::default(),
            shuffle: false,
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.instance.leave(self.spid);
    }
}

impl Session {
    /// Runs a batch (one or more statements) with `params`. Stops at the first failing statement and
    /// returns the outcomes so far plus the error; an error inside a transaction leaves it open, as
    /// SQL Server does (the client decides to roll back).
    pub fn execute(&mut self, sql: &str, params: &[Param]) -> (Vec<Outcome>, Option<SqlError>) {
        let statements = match parse(sql) {
            Ok(s) => s,
            Err(e) => return (Vec::new(), Some(e)),
        };
        // SQL Server compiles the whole batch first: a rejected statement runs none of it.
        if let Err(e) = statements.iter().try_for_each(translate::check) {
            return (Vec::new(), Some(e));
        }
        self.variables.clear();
        let mut outcomes = Vec::new();
        for stmt in statements {
            let result = if self.variables.is_empty() {
                self.run(stmt, params, &mut outcomes)
            } else {
                let bound = [params, self.variables.as_slice()].concat();
                self.run(stmt, &bound, &mut outcomes)
            };
            // SQLite rolls back by itself on some errors (I/O, lock); follow it.
            if self.depth > 0 && self.conn.is_autocommit() {
                self.depth = 0;
            }
            if let Err(e) = result {
                return (outcomes, Some(e));
            }
        }
        (outcomes, None)
    }

    /// The tables that statements run since the last call read whole (SQLite's plan scans them or
    /// builds an automatic index over them): one entry per statement and table, lowercase T-SQL
    /// names. What makes a write's cost grow with the table's size.
    pub fn take_full_scans(&mut self) -> Vec<String> {
        self.scans.take()
    }

    /// The columns of `table` (as `SELECT TOP 0 * FROM table` reports them), for bulk load.
    pub fn columns(&mut self, table: &str) -> Result<Vec<Column>, SqlError> {
        let columns = catalog::require(&self.conn, &Table::parse(table))?;
        Ok(columns.into_iter().map(|c| c.column).collect())
    }

    /// Inserts bulk-loaded rows into `table`; `columns` are the ones named in `INSERT BULK`.
    pub fn bulk_insert(
        &mut self,
        table: &str,
        columns: &[Column],
        rows: Vec<Vec<Value>>,
    ) -> Result<u64, SqlError> {
        let table = Table::parse(table);
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        self.atomic(|s| dml::insert_rows(&s.conn, &table, &names, rows))
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.depth > 0
    }

    /// Rolls back an open transaction (the connection closed).
    pub fn abort(&mut self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.depth = 0;
    }

    fn run(&mut self, stmt: Statement, params: &[Param], out: &mut Vec<Outcome>) -> Result<(), SqlError> {
        self.scans.begin_statement(&stmt);
        let done = |rows: Option<u64>| Outcome::Done { rows };
        let outcome = match stmt {
            Statement::Query(q) => match into_target(&q) {
                Some(target) => done(Some(self.select_into(*q, target, params)?)),
                None => {
                    let (columns, rows) = self.query(&q, params)?;
                    Outcome::Rows { columns, rows }
                }
            },
            Statement::Insert(insert) => done(Some(self.insert(insert, params)?)),
            Statement::Update(update) => done(Some(self.update(update, params)?)),
            Statement::Delete(delete) => done(Some(self.delete(delete, params)?)),
            Statement::CreateTable(create) => {
                self.create_table(&create)?;
                done(None)
            }
            Statement::CreateIndex(index) => {
                self.create_index(&index)?;
                done(None)
            }
            Statement::Drop {
                object_type,
                if_exists,
                names,
                ..
            } => {
                self.drop(object_type, if_exists, &names)?;
                done(None)
            }
            Statement::AlterTable(alter) => {
                self.alter_table(&alter)?;
                done(None)
            }
            Statement::Truncate(truncate) => {
                for target in &truncate.table_names {
                    let table = Table::from_object_name(&target.name);
                    catalog::require(&self.conn, &table)?;
                    self.exec(&format!("DELETE FROM {}", table.sql()), params)?;
                }
                done(None)
            }
            Statement::Execute {
                name: Some(name),
                parameters,
                into,
                ..
            } => {
                let status = self.procedure(&name, &parameters, params)?;
                // `EXEC @r = …` (see `parse`): the return status goes to the variable.
                if let Some(variable) = into.first() {
                    self.assign(variable, Value::Int(status))?;
                }
                done(None)
            }
            Statement::Declare { stmts } => {
                for declare in stmts {
                    self.declare(&declare)?;
                }
                return Ok(());
            }
            Statement::StartTransaction { .. } => {
                if self.depth == 0 {
                    // IMMEDIATE takes the write lock now: two writers never deadlock upgrading a read lock.
                    self.conn
                        .execute_batch("BEGIN IMMEDIATE")
                        .map_err(error::from_sqlite)?;
                }
                self.depth += 1;
                Outcome::Began
            }
            Statement::Commit { .. } => {
                if self.depth == 0 {
                    return Err(SqlError::new(
                        3902,
                        "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.",
                    ));
                }
                if self.depth == 1 {
                    self.conn.execute_batch("COMMIT").map_err(error::from_sqlite)?;
                }
                self.depth -= 1;
                Outcome::Committed
            }
            Statement::Rollback { savepoint: None, .. } => {
                if self.depth == 0 {
                    return Err(SqlError::new(
                        3903,
                        "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.",
                    ));
                }
                self.abort();
                Outcome::RolledBack
            }
            // Session options (NOCOUNT, XACT_ABORT, ANSI_*, TEXTSIZE…) and USE change nothing here.
            Statement::Set(_) | Statement::Use(_) => done(None),
            Statement::If(stmt) => {
                let blocks = std::iter::once(&stmt.if_block).chain(&stmt.elseif_blocks);
                let mut chosen = None;
                for block in blocks {
                    if let Some(condition) = &block.condition
                        && self.condition(condition, params)?
                    {
                        chosen = Some(block);
                        break;
                    }
                }
                if let Some(block) = chosen.or(stmt.else_block.as_ref()) {
                    for inner in block.conditional_statements.statements().clone() {
                        self.run(inner, params, out)?;
                    }
                }
                return Ok(());
            }
            other => {
                let text = other.to_string();
                return Err(error::unsupported(&format!(
                    "'{}'",
                    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
                )));
            }
        };
        out.push(outcome);
        Ok(())
    }

    /// Runs a SELECT: rewrites it, binds `params`, and types each result column (declared type of a
    /// plain column, else what the expression says, else what the values look like).
    fn query(&mut self, q: &Query, params: &[Param]) -> Result<(Vec<Column>, Vec<Vec<Value>>), SqlError> {
        let scope = Scope::of(&self.conn, q, params);
        let items = scope.select_list(q);
        let mut q = q.clone();
        let mut sql = self.rewrite(&scope, &mut q)?;
        // Shuffled: a random last sort key, so only what the ORDER BY leaves tied moves. A set
        // operation (whose ORDER BY may name result columns only) is shuffled below when unsorted.
        let mut shuffle_after = false;
        if self.shuffle {
            if matches!(q.body.as_ref(), SetExpr::Select(_)) {
                order_randomly(&mut q);
                sql = q.to_string();
            } else {
                shuffle_after = q.order_by.is_none();
            }
        }
        self.scans.explain(&self.conn, &sql, params);
        let mut stmt = self.conn.prepare(&sql).map_err(error::from_sqlite)?;
        bind(&mut stmt, params)?;
        let decls: Vec<(String, Option<SqlType>)> = stmt
            .columns()
            .map(|c| (c.name().to_string(), c.decl_type().and_then(sqltype::parse)))
            .collect();
        let mut raw_rows = Vec::new();
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().map_err(error::from_sqlite)? {
            let values: Vec<Value> = (0..decls.len())
                .map(|i| row.get_ref(i).map(value::loose))
                .collect::<Result<_, _>>()
                .map_err(error::from_sqlite)?;
            raw_rows.push(values);
        }
        if shuffle_after {
            shuffle(&mut raw_rows);
        }
        let mut columns = Vec::with_capacity(decls.len());
        for (i, (name, decl)) in decls.into_iter().enumerate() {
            let (alias, inferred) = items.get(i).cloned().unwrap_or((None, None));
            let ty = decl
                .or(inferred)
                .unwrap_or_else(|| value::infer_type(&mut raw_rows.iter().map(|r| &r[i])));
            columns.push(Column {
                name: alias.unwrap_or(name),
                ty,
                nullable: true,
            });
        }
        let rows = raw_rows
            .into_iter()
            .map(|row| {
                row.iter()
                    .zip(&columns)
                    .map(|(v, c)| value::convert(v, &c.ty))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()?;
        Ok((columns, rows))
    }

    /// Rewrites `node` into SQLite SQL, refreshing INFORMATION_SCHEMA first when it reads it.
    fn rewrite<V: sqlparser::ast::VisitMut + std::fmt::Display>(
        &self,
        scope: &Scope,
        node: &mut V,
    ) -> Result<String, SqlError> {
        let ctx = Context {
            scope,
            database: &self.database,
            depth: self.depth,
            spid: self.spid,
        };
        let mut rewriter = Rewriter::new(&ctx);
        rewriter.apply(node)?;
        if rewriter.info_schema {
            catalog::refresh_info_schema(&self.conn, &self.database)?;
            self.instance.fill_views(&self.conn)?;
        }
        Ok(node.to_string())
    }

    /// Evaluates an IF condition.
    fn condition(&mut self, condition: &sqlparser::ast::Expr, params: &[Param]) -> Result<bool, SqlError> {
        let scope = Scope::of(&self.conn, condition, params);
        let mut condition = condition.clone();
        let sql = self.rewrite(&scope, &mut condition)?;
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT CASE WHEN {sql} THEN 1 ELSE 0 END"))
            .map_err(error::from_sqlite)?;
        bind(&mut stmt, params)?;
        let mut rows = stmt.raw_query();
        let row = rows.next().map_err(error::from_sqlite)?;
        Ok(row.is_some_and(|r| r.get::<_, i64>(0).unwrap_or(0) == 1))
    }

    /// Runs one SQLite statement with `params`; the number of rows it changed.
    fn exec(&self, sql: &str, params: &[Param]) -> Result<u64, SqlError> {
        self.scans.explain(&self.conn, sql, params);
        let mut stmt = self.conn.prepare(sql).map_err(error::from_sqlite)?;
        bind(&mut stmt, params)?;
        let changed = stmt.raw_execute().map_err(error::from_sqlite)?;
        Ok(changed as u64)
    }

    /// Runs `f` all-or-nothing: in a savepoint inside a transaction, else in its own (IMMEDIATE, so a
    /// concurrent writer waits rather than deadlocks).
    fn atomic<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, SqlError>) -> Result<T, SqlError> {
        let nested = !self.conn.is_autocommit();
        let (begin, commit, rollback) = if nested {
            (
                "SAVEPOINT tds_atomic",
                "RELEASE tds_atomic",
                "ROLLBACK TO tds_atomic; RELEASE tds_atomic",
            )
        } else {
            ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")
        };
        self.conn.execute_batch(begin).map_err(error::from_sqlite)?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch(commit).map_err(error::from_sqlite)?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch(rollback);
                Err(e)
            }
        }
    }
}

/// Appends `random()` to the query's ORDER BY (or makes it the ORDER BY).
fn order_randomly(q: &mut Query) {
    let key = OrderByExpr {
        expr: translate::raw("random()".into()),
        options: OrderByOptions {
            asc: None,
            nulls_first: None,
        },
        with_fill: None,
    };
    match &mut q.order_by {
        Some(OrderBy {
            kind: OrderByKind::Expressions(keys),
            ..
        }) => keys.push(key),
        Some(_) => {}
        None => {
            q.order_by = Some(OrderBy {
                kind: OrderByKind::Expressions(vec![key]),
                interpolate: None,
            })
        }
    }
}

/// Shuffles `rows` (Fisher-Yates, seeded from the process's random hasher keys).
fn shuffle<T>(rows: &mut [T]) {
    use std::hash::{BuildHasher, Hasher};
    let mut state = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        | 1;
    for i in (1..rows.len()).rev() {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        rows.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

/// Parses a batch; statements need no `;` between them in T-SQL.
fn parse(sql: &str) -> Result<Vec<Statement>, SqlError> {
    let sql = &ddl::strip_clustered(sql);
    let options = ParserOptions::new().with_trailing_commas(false);
    let options = ParserOptions {
        require_semicolon_stmt_delimiter: false,
        ..options
    };
    let dialect = MsSqlDialect {};
    let statements = Parser::new(&dialect)
        .with_options(options)
        .try_with_sql(sql)
        .and_then(|mut p| parse_statements(&mut p))
        .map_err(|e| syntax_error(&e, sql))?;
    Ok(statements)
}

/// sqlparser's `parse_statements` (without required `;`), plus `EXEC @r = procedure …`.
fn parse_statements(parser: &mut Parser) -> Result<Vec<Statement>, ParserError> {
    let mut statements = Vec::new();
    loop {
        while parser.consume_token(&Token::SemiColon) {}
        if parser.peek_token_ref().token == Token::EOF {
            return Ok(statements);
        }
        let statement = match procedures::parse_exec_with_status(parser)? {
            Some(statement) => statement,
            None => parser.parse_statement()?,
        };
        statements.push(statement);
    }
}

/// SQL Server's 102 for a parse error, near the token sqlparser stopped at.
fn syntax_error(e: &ParserError, sql: &str) -> SqlError {
    let message = e.to_string();
    let near = message
        .split_once("found: ")
        .map(|(_, rest)| rest.split(" at Line:").next().unwrap_or(rest).trim().to_string())
        .filter(|t| t != "EOF")
        .unwrap_or_else(|| sql.split_whitespace().last().unwrap_or_default().to_string());
    error::syntax(&near)
}

/// The target of `SELECT … INTO t`.
fn into_target(q: &Query) -> Option<Table> {
    match q.body.as_ref() {
        SetExpr::Select(select) => select
            .into
            .as_ref()
            .map(|into| Table::from_object_name(&into.name)),
        _ => None,
    }
}

/// Binds the statement's `@name` parameters; one the call does not supply is SQL Server's 137.
fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[Param]) -> Result<(), SqlError> {
    for i in 1..=stmt.parameter_count() {
        let Some(name) = stmt.parameter_name(i).map(str::to_string) else {
            continue;
        };
        let bare = name.trim_start_matches(['@', ':', '$']);
        let param = params
            .iter()
            .find(|p| p.name.trim_start_matches('@').eq_ignore_ascii_case(bare))
            .ok_or_else(|| error::undeclared(&name))?;
        stmt.raw_bind_parameter(i, value::to_sqlite(&param.value))
            .map_err(error::from_sqlite)?;
    }
    Ok(())
}
