//! T-SQL to SQLite on the AST: [`check`] rejects what parses but SQL Server would refuse (the
//! MsSqlDialect is lenient: it accepts `LIMIT`), [`Rewriter`] maps names, `TOP`/`OFFSET … FETCH`,
//! built-in functions, literals and `+` on strings to their SQLite forms; `to_string` renders.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, CastKind, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, LimitClause,
    ObjectName, ObjectNamePart, Offset, OffsetRows, Query, SetExpr, Statement, TableFactor, TopQuantity,
    UnaryOperator, Value as AstValue, Visit, VisitMut, Visitor, VisitorMut,
};

use super::catalog::Table;
use super::infer::{Scope, cast_target};
use super::{error, sqltype};
use crate::types::SqlError;

/// Rejects statements that parse but are not T-SQL.
pub fn check(stmt: &Statement) -> Result<(), SqlError> {
    struct Check;
    impl Visitor for Check {
        type Break = SqlError;
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<SqlError> {
            match &q.limit_clause {
                Some(LimitClause::OffsetCommaLimit { .. })
                | Some(LimitClause::LimitOffset { limit: Some(_), .. }) => {
                    return ControlFlow::Break(error::syntax("LIMIT"));
                }
                Some(LimitClause::LimitOffset { offset: Some(o), .. }) if o.rows == OffsetRows::None => {
                    return ControlFlow::Break(error::syntax(&o.value.to_string()));
                }
                None if q.fetch.is_some() => return ControlFlow::Break(error::syntax("FETCH")),
                _ => {}
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<SqlError> {
            match e {
                Expr::Value(v) if matches!(v.value, AstValue::Boolean(_)) => {
                    ControlFlow::Break(error::invalid_column(&v.value.to_string()))
                }
                Expr::Value(v) if matches!(v.value, AstValue::DoubleQuotedString(_)) => {
                    ControlFlow::Break(error::invalid_column(&v.value.to_string()))
                }
                Expr::Cast {
                    kind: CastKind::DoubleColon,
                    ..
                } => ControlFlow::Break(error::syntax("::")),
                Expr::ILike { .. } => ControlFlow::Break(error::syntax("ILIKE")),
                Expr::RLike { .. } | Expr::SimilarTo { .. } => {
                    ControlFlow::Break(error::syntax(&e.to_string()))
                }
                Expr::BinaryOp {
                    op: BinaryOperator::StringConcat,
                    ..
                } => ControlFlow::Break(error::syntax("|")),
                _ => ControlFlow::Continue(()),
            }
        }
    }
    match stmt {
        Statement::CreateTable(c) if c.if_not_exists => return Err(error::syntax("IF")),
        Statement::CreateTable(c) if c.query.is_some() => return Err(error::syntax("AS")),
        Statement::CreateTable(c) if c.or_replace || c.temporary => {
            return Err(error::syntax(&c.name.to_string()));
        }
        Statement::Insert(i)
            if i.or.is_some() || i.ignore || i.replace_into || i.on.is_some() || i.returning.is_some() =>
        {
            return Err(error::syntax(&i.table.to_string()));
        }
        Statement::Update(u) if u.returning.is_some() || u.limit.is_some() || u.or.is_some() => {
            return Err(error::syntax("RETURNING"));
        }
        _ => {}
    }
    match stmt.visit(&mut Check) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// What the rewrite needs from the session.
pub struct Context<'a> {
    pub scope: &'a Scope<'a>,
    pub database: &'a str,
    pub depth: u32,
    /// `@@SPID`.
    pub spid: u16,
}

/// Rewrites a statement (or expression) in place into its SQLite form.
pub struct Rewriter<'a> {
    ctx: &'a Context<'a>,
    /// Whether the statement reads INFORMATION_SCHEMA (which must be refreshed first).
    pub info_schema: bool,
}

impl<'a> Rewriter<'a> {
    pub fn new(ctx: &'a Context<'a>) -> Self {
        Self {
            ctx,
            info_schema: false,
        }
    }

    /// Rewrites `node`; the first untranslatable construct is the error.
    pub fn apply<V: VisitMut>(&mut self, node: &mut V) -> Result<(), SqlError> {
        match node.visit(self) {
            ControlFlow::Break(e) => Err(e),
            ControlFlow::Continue(()) => Ok(()),
        }
    }
}

/// An expression given as SQLite text: `Ident` renders its value verbatim when unquoted, which lets a
/// rewrite produce SQLite syntax the T-SQL AST has no node for.
pub fn raw(sql: String) -> Expr {
    Expr::Identifier(Ident::new(sql))
}

fn number(n: u64) -> Expr {
    Expr::value(AstValue::Number(n.to_string(), false))
}

/// A plain or bracketed T-SQL identifier as a double-quoted SQLite one; `@` variables and [`raw`]
/// text (never a plain word) stay as they are.
fn requote(id: &mut Ident) {
    let word = id
        .value
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '#' | '$'));
    if id.quote_style.is_some() || word && !id.value.starts_with('@') {
        id.quote_style = Some('"');
    }
}

impl VisitorMut for Rewriter<'_> {
    type Break = SqlError;

    fn pre_visit_relation(&mut self, name: &mut ObjectName) -> ControlFlow<SqlError> {
        let table = Table::from_object_name(name);
        self.info_schema |= table.is_info_schema();
        let mut parts = Vec::new();
        if table.temp {
            parts.push(ObjectNamePart::Identifier(Ident::new("temp")));
        }
        parts.push(ObjectNamePart::Identifier(Ident::with_quote('"', table.name)));
        *name = ObjectName(parts);
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<SqlError> {
        if let TableFactor::Table {
            with_hints, alias, ..
        } = factor
        {
            // Locking hints (`WITH (NOLOCK)`) mean nothing to SQLite.
            with_hints.clear();
            if let Some(a) = alias {
                requote(&mut a.name);
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, q: &mut Query) -> ControlFlow<SqlError> {
        let mut limit = None;
        if let SetExpr::Select(select) = q.body.as_mut()
            && let Some(top) = select.top.take()
        {
            if top.percent || top.with_ties {
                return ControlFlow::Break(error::unsupported("TOP … PERCENT / WITH TIES"));
            }
            limit = match top.quantity {
                Some(TopQuantity::Constant(n)) => Some(number(n)),
                Some(TopQuantity::Expr(e)) => Some(e),
                None => None,
            };
        }
        let offset = match q.limit_clause.take() {
            Some(LimitClause::LimitOffset { offset, .. }) => offset.map(|o| o.value),
            _ => None,
        };
        if let Some(fetch) = q.fetch.take() {
            if fetch.percent || fetch.with_ties {
                return ControlFlow::Break(error::unsupported("FETCH … PERCENT / WITH TIES"));
            }
            limit = fetch.quantity;
        }
        if limit.is_some() || offset.is_some() {
            q.limit_clause = Some(LimitClause::LimitOffset {
                limit: Some(limit.unwrap_or_else(|| raw("-1".into()))),
                offset: offset.map(|value| Offset {
                    value,
                    rows: OffsetRows::None,
                }),
                limit_by: Vec::new(),
            });
        }
        ControlFlow::Continue(())
    }

    /// `+` on strings is concatenation; decided on the T-SQL operands, before they are rewritten.
    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<SqlError> {
        if let Expr::BinaryOp {
            left,
            op: op @ BinaryOperator::Plus,
            right,
        } = e
            && (self.ctx.scope.is_string(left) || self.ctx.scope.is_string(right))
        {
            *op = BinaryOperator::StringConcat;
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<SqlError> {
        match self.expr(e) {
            Ok(Some(new)) => *e = new,
            Ok(None) => {}
            Err(err) => return ControlFlow::Break(err),
        }
        ControlFlow::Continue(())
    }
}

impl Rewriter<'_> {
    /// The SQLite form of `e` (whose children are already rewritten), `None` to keep it.
    fn expr(&mut self, e: &mut Expr) -> Result<Option<Expr>, SqlError> {
        Ok(Some(match e {
            Expr::Identifier(id) if id.value.starts_with("@@") => self.global(&id.value)?,
            Expr::Identifier(id) => {
                requote(id);
                return Ok(None);
            }
            Expr::CompoundIdentifier(parts) => {
                // `dbo.t.col` → `t.col`.
                let keep = parts.len().min(2);
                parts.drain(..parts.len() - keep);
                parts.iter_mut().for_each(requote);
                return Ok(None);
            }
            // `-<long literal>`: the literal is text by now (below); negate the text, not a REAL.
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } if matches!(expr.as_ref(), Expr::Value(v) if matches!(&v.value,
                AstValue::SingleQuotedString(n) if is_long_number(n))) =>
            {
                let Expr::Value(v) = expr.as_ref() else {
                    unreachable!()
                };
                let AstValue::SingleQuotedString(n) = &v.value else {
                    unreachable!()
                };
                Expr::value(AstValue::SingleQuotedString(format!("-{n}")))
            }
            Expr::Value(v) => match &v.value {
                AstValue::NationalStringLiteral(s) => Expr::value(AstValue::SingleQuotedString(s.clone())),
                // SQLite would read a long literal as a lossy REAL; as text it converts exactly.
                AstValue::Number(n, _) if n.parse::<i64>().is_err() && significant_digits(n) > 15 => {
                    Expr::value(AstValue::SingleQuotedString(n.clone()))
                }
                _ => return Ok(None),
            },
            Expr::Cast {
                kind,
                expr,
                data_type,
                ..
            } => {
                let try_ = matches!(kind, CastKind::TryCast | CastKind::SafeCast);
                convert(expr, &data_type.to_string(), try_)?
            }
            Expr::Convert {
                is_try,
                expr,
                data_type: Some(t),
                ..
            } => convert(expr, &t.to_string(), *is_try)?,
            Expr::Function(f) => return self.function(f),
            _ => return Ok(None),
        }))
    }

    fn global(&self, name: &str) -> Result<Expr, SqlError> {
        let text = |s: String| Expr::value(AstValue::SingleQuotedString(s));
        Ok(match name.to_ascii_uppercase().as_str() {
            "@@VERSION" => text(format!(
                "Microsoft SQL Server 2019 (RTM) - 15.0.2000.5 (X64) — routeflow test server on SQLite {}",
                rusqlite::version()
            )),
            "@@SERVERNAME" => text("routeflow-test".into()),
            "@@SPID" => number(self.ctx.spid.into()),
            "@@TRANCOUNT" => number(self.ctx.depth.into()),
            "@@ROWCOUNT" => raw("changes()".into()),
            "@@IDENTITY" => raw("last_insert_rowid()".into()),
            _ => return Err(error::undeclared(name)),
        })
    }

    /// T-SQL built-ins to SQLite's; anything else is SQL Server's error 195.
    fn function(&mut self, f: &mut sqlparser::ast::Function) -> Result<Option<Expr>, SqlError> {
        let name = f.name.to_string().to_ascii_uppercase();
        let args: Vec<String> = match &f.args {
            FunctionArguments::List(list) => list
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => e.to_string(),
                    other => other.to_string(),
                })
                .collect(),
            _ => Vec::new(),
        };
        let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| "NULL".into());
        let sql = match name.as_str() {
            "COUNT" | "SUM" | "MIN" | "MAX" | "AVG" | "ABS" | "ROUND" | "UPPER" | "LOWER" | "LTRIM"
            | "RTRIM" | "TRIM" | "REPLACE" | "COALESCE" | "NULLIF" | "IIF" | "CONCAT" | "SIGN" | "FLOOR"
            | "CEILING" | "POWER" | "SQRT" => {
                return Ok(None);
            }
            "COUNT_BIG" => {
                f.name = ObjectName::from(vec![Ident::new("count")]);
                return Ok(None);
            }
            "ISNULL" => format!("ifnull({}, {})", arg(0), arg(1)),
            "LEN" => format!("length(rtrim({}))", arg(0)),
            "DATALENGTH" => format!("length(CAST({} AS BLOB))", arg(0)),
            "SUBSTRING" => format!("substr({}, {}, {})", arg(0), arg(1), arg(2)),
            "LEFT" => format!("substr({}, 1, {})", arg(0), arg(1)),
            "RIGHT" => format!("substr({}, -({}))", arg(0), arg(1)),
            "CHARINDEX" if args.len() == 2 => format!("instr({}, {})", arg(1), arg(0)),
            "GETDATE" | "SYSDATETIME" | "CURRENT_TIMESTAMP" => {
                "strftime('%Y-%m-%d %H:%M:%f0000', 'now', 'localtime')".into()
            }
            "GETUTCDATE" | "SYSUTCDATETIME" => "strftime('%Y-%m-%d %H:%M:%f0000', 'now')".into(),
            "YEAR" => format!("CAST(strftime('%Y', {}) AS INTEGER)", arg(0)),
            "MONTH" => format!("CAST(strftime('%m', {}) AS INTEGER)", arg(0)),
            "DAY" => format!("CAST(strftime('%d', {}) AS INTEGER)", arg(0)),
            "NEWID" => "tsql_newid()".into(),
            "DB_NAME" => format!("'{}'", self.ctx.database.replace('\'', "''")),
            "DB_ID" if args.is_empty() => super::instance::DATABASE_ID.to_string(),
            // The test server's one login may do anything.
            "HAS_PERMS_BY_NAME" => "1".into(),
            // APPLOCK_MODE('public', resource, 'Session'): the mode this session holds.
            "APPLOCK_MODE" => format!("tsql_applock_mode({}, {})", arg(0), arg(1)),
            "SCOPE_IDENTITY" => "last_insert_rowid()".into(),
            "OBJECT_ID" => object_id(&f.args),
            _ => return Err(error::unknown_function(&f.name.to_string())),
        };
        Ok(Some(raw(sql)))
    }
}

/// `tsql_convert(x, 'declared type')`: SQL Server's conversion rules and errors (see `value::convert`).
fn convert(expr: &Expr, target: &str, try_: bool) -> Result<Expr, SqlError> {
    let ty = cast_target(target)
        .ok_or_else(|| SqlError::new(243, format!("Type {target} is not a defined system type.")))?;
    let function = if try_ { "tsql_try_convert" } else { "tsql_convert" };
    Ok(raw(format!("{function}({expr}, '{}')", sqltype::decl(&ty))))
}

/// `OBJECT_ID(N'dbo.x')`: the table's id, NULL when there is no such table. Ids are SQLite's schema
/// row ids, negated for `#temp` tables; `sys.indexes`, `sys.columns`… use the same (see `catalog`).
fn object_id(args: &FunctionArguments) -> String {
    let FunctionArguments::List(list) = args else {
        return "NULL".into();
    };
    let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(e))) = list.args.first() else {
        return "NULL".into();
    };
    let name = match e {
        Expr::Value(v) => match &v.value {
            AstValue::SingleQuotedString(s) | AstValue::NationalStringLiteral(s) => {
                if let Some(id) = super::catalog::system_view_id(s) {
                    return id.to_string();
                }
                quote_literal(&Table::parse(s).name)
            }
            _ => return "NULL".into(),
        },
        // A parameter or expression: parsed at run time.
        other => format!("tsql_object_name({other})"),
    };
    format!(
        "(SELECT id FROM (SELECT rowid AS id, name FROM main.sqlite_schema WHERE type = 'table' \
         AND substr(name, 1, 1) <> '#' UNION ALL SELECT -rowid, name FROM temp.sqlite_schema \
         WHERE type = 'table' AND substr(name, 1, 1) = '#') WHERE name = {name} COLLATE NOCASE)"
    )
}

pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A numeric literal too long for a REAL, kept as text by the rewrite.
fn is_long_number(n: &str) -> bool {
    !n.is_empty()
        && n.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && n.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && significant_digits(n) > 15
}

fn significant_digits(n: &str) -> usize {
    let mantissa = n.split(['e', 'E']).next().unwrap_or(n);
    mantissa
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .trim_start_matches('0')
        .len()
}
