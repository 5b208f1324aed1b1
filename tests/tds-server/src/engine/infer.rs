//! The SQL Server type of a select-list expression, as SQL Server would report it: SQLite knows the
//! declared type of plain columns only, but clients read `COUNT(*)` as an `int`, `MAX(PlanDate)` as a
//! `date` and `CAST(x AS decimal(10,2))` as a decimal.

use std::ops::ControlFlow;

use rusqlite::Connection;
use sqlparser::ast::{
    BinaryOperator, CastKind, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Query, SelectItem,
    SetExpr, TableFactor, UnaryOperator, Value as AstValue, Visit, Visitor,
};

use super::catalog::{self, Table};
use super::{Param, sqltype};
use crate::types::{Column, SqlType};

/// The tables a statement reads, by the name or alias its expressions qualify columns with.
pub struct Scope<'a> {
    tables: Vec<(String, Vec<Column>)>,
    params: &'a [Param],
}

impl<'a> Scope<'a> {
    /// Every table factor anywhere in `node` (subqueries included: expressions are resolved against
    /// all of them, which is exact for the unambiguous queries tests write).
    pub fn of<V: Visit>(conn: &Connection, node: &V, params: &'a [Param]) -> Self {
        struct Tables(Vec<(String, Table)>);
        impl Visitor for Tables {
            type Break = ();
            fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
                if let TableFactor::Table { name, alias, .. } = factor {
                    let table = Table::from_object_name(name);
                    let key = alias
                        .as_ref()
                        .map_or_else(|| table.name.clone(), |a| a.name.value.clone());
                    self.0.push((key.to_lowercase(), table));
                }
                ControlFlow::Continue(())
            }
        }
        let mut found = Tables(Vec::new());
        let _ = node.visit(&mut found);
        let tables = found
            .0
            .into_iter()
            .filter_map(|(key, table)| {
                let columns = catalog::columns(conn, &table).ok().flatten()?;
                Some((key, columns.into_iter().map(|c| c.column).collect()))
            })
            .collect();
        Self { tables, params }
    }

    fn column(&self, qualifier: Option<&str>, name: &str) -> Option<SqlType> {
        let qualifier = qualifier.map(|q| q.to_lowercase());
        self.tables
            .iter()
            .filter(|(key, _)| {
                qualifier
                    .as_ref()
                    .is_none_or(|q| q == key || key.rsplit('.').next() == Some(q))
            })
            .flat_map(|(_, columns)| columns.iter())
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .map(|c| c.ty.clone())
    }

    /// Per select-list item of `query`: its result name when SQL Server's differs from SQLite's (an
    /// unaliased expression has none), and its type when the expression tells. Empty when the list has
    /// a wildcard (SQLite's declared types cover plain columns).
    pub fn select_list(&self, query: &Query) -> Vec<(Option<String>, Option<SqlType>)> {
        let SetExpr::Select(select) = first_select(&query.body) else {
            return Vec::new();
        };
        let mut items = Vec::new();
        for item in &select.projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let name = match e {
                        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => None,
                        _ => Some(String::new()),
                    };
                    items.push((name, self.infer(e)));
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    items.push((Some(alias.value.clone()), self.infer(expr)))
                }
                _ => return Vec::new(),
            }
        }
        items
    }

    /// The type of `e`, when its form tells.
    pub fn infer(&self, e: &Expr) -> Option<SqlType> {
        match e {
            Expr::Identifier(id) if id.value.starts_with("@@") => Some(global_type(&id.value)),
            Expr::Identifier(id) if id.value.starts_with('@') => self
                .params
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(&id.value))
                .map(|p| p.ty.clone()),
            Expr::Identifier(id) => self.column(None, &id.value),
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let n = parts.len();
                self.column(Some(&parts[n - 2].value), &parts[n - 1].value)
            }
            Expr::Value(v) => literal(&v.value),
            Expr::Nested(inner) => self.infer(inner),
            Expr::UnaryOp {
                op: UnaryOperator::Minus | UnaryOperator::Plus,
                expr,
            } => self.infer(expr),
            Expr::Cast { data_type, kind, .. } if *kind != CastKind::DoubleColon => {
                cast_target(&data_type.to_string())
            }
            Expr::Convert {
                data_type: Some(t), ..
            } => cast_target(&t.to_string()),
            Expr::BinaryOp { left, op, right } => self.binary(left, op, right),
            Expr::Case {
                conditions,
                else_result,
                ..
            } => conditions
                .iter()
                .find_map(|c| self.infer(&c.result))
                .or_else(|| else_result.as_ref().and_then(|e| self.infer(e))),
            Expr::Subquery(q) => self.select_list(q).into_iter().next().and_then(|(_, t)| t),
            Expr::Function(f) => {
                let args: Vec<&Expr> = match &f.args {
                    FunctionArguments::List(list) => list
                        .args
                        .iter()
                        .filter_map(|a| match a {
                            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let first = || args.first().and_then(|e| self.infer(e));
                let name = f.name.to_string().to_ascii_uppercase();
                match name.as_str() {
                    "COUNT" | "LEN" | "CHARINDEX" | "DATALENGTH" | "OBJECT_ID" | "YEAR" | "MONTH" | "DAY" => {
                        Some(SqlType::Int)
                    }
                    "COUNT_BIG" => Some(SqlType::BigInt),
                    "SUM" | "AVG" => first().map(|t| match t {
                        SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::Bit => SqlType::Int,
                        SqlType::Decimal { scale, .. } if name == "AVG" => SqlType::Decimal {
                            precision: 38,
                            scale: scale.max(6),
                        },
                        SqlType::Decimal { scale, .. } => SqlType::Decimal { precision: 38, scale },
                        SqlType::Real => SqlType::Float,
                        other => other,
                    }),
                    "MIN" | "MAX" | "ABS" | "ROUND" | "ISNULL" | "COALESCE" | "NULLIF" | "UPPER"
                    | "LOWER" | "LTRIM" | "RTRIM" | "TRIM" | "SUBSTRING" | "LEFT" | "RIGHT" | "REPLACE" => {
                        args.iter().find_map(|e| self.infer(e))
                    }
                    "GETDATE" | "GETUTCDATE" | "CURRENT_TIMESTAMP" => Some(SqlType::DateTime),
                    "SYSDATETIME" | "SYSUTCDATETIME" => Some(SqlType::DateTime2(7)),
                    "NEWID" => Some(SqlType::UniqueIdentifier),
                    "DB_NAME" => Some(SqlType::NVarChar(Some(128))),
                    "DB_ID" | "HAS_PERMS_BY_NAME" => Some(SqlType::Int),
                    "APPLOCK_MODE" => Some(SqlType::NVarChar(Some(32))),
                    "SCOPE_IDENTITY" => Some(SqlType::Decimal {
                        precision: 38,
                        scale: 0,
                    }),
                    "CONCAT" => Some(SqlType::NVarChar(Some(4000))),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn binary(&self, left: &Expr, op: &BinaryOperator, right: &Expr) -> Option<SqlType> {
        let (l, r) = (self.infer(left), self.infer(right));
        match op {
            BinaryOperator::Plus
                if l.as_ref().is_some_and(sqltype::is_string)
                    || r.as_ref().is_some_and(sqltype::is_string) =>
            {
                Some(SqlType::NVarChar(Some(4000)))
            }
            BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Multiply
            | BinaryOperator::Divide
            | BinaryOperator::Modulo => {
                let (l, r) = (l?, r?);
                Some(match (&l, &r) {
                    (SqlType::Float | SqlType::Real, _) | (_, SqlType::Float | SqlType::Real) => {
                        SqlType::Float
                    }
                    (SqlType::Decimal { scale: a, .. }, SqlType::Decimal { scale: b, .. }) => {
                        SqlType::Decimal {
                            precision: 38,
                            scale: (*a).max(*b),
                        }
                    }
                    (SqlType::Decimal { .. } | SqlType::Money, _) => l,
                    (_, SqlType::Decimal { .. } | SqlType::Money) => r,
                    (SqlType::BigInt, _) | (_, SqlType::BigInt) => SqlType::BigInt,
                    _ if is_integer(&l) && is_integer(&r) => SqlType::Int,
                    _ => return None,
                })
            }
            _ => None,
        }
    }

    /// Whether `e` is a string, so `+` on it concatenates.
    pub fn is_string(&self, e: &Expr) -> bool {
        self.infer(e).is_some_and(|t| sqltype::is_string(&t))
    }
}

fn first_select(body: &SetExpr) -> &SetExpr {
    match body {
        SetExpr::SetOperation { left, .. } => first_select(left),
        SetExpr::Query(q) => first_select(&q.body),
        other => other,
    }
}

fn is_integer(t: &SqlType) -> bool {
    matches!(
        t,
        SqlType::Bit | SqlType::TinyInt | SqlType::SmallInt | SqlType::Int
    )
}

/// The type of a `@@` global.
fn global_type(name: &str) -> SqlType {
    match name.to_ascii_uppercase().as_str() {
        "@@SPID" => SqlType::SmallInt,
        "@@TRANCOUNT" | "@@ROWCOUNT" => SqlType::Int,
        _ => SqlType::NVarChar(Some(4000)),
    }
}

/// A CAST target; `varchar` without a length is `varchar(30)` there.
pub fn cast_target(text: &str) -> Option<SqlType> {
    if text.contains('(') {
        return sqltype::parse(text);
    }
    match sqltype::parse(text)? {
        SqlType::VarChar(_) => Some(SqlType::VarChar(Some(30))),
        SqlType::NVarChar(_) => Some(SqlType::NVarChar(Some(30))),
        other => Some(other),
    }
}

/// SQL Server's type of a literal: `1` is an int, `1.50` a numeric(3,2), `'ab'` a varchar(2).
fn literal(v: &AstValue) -> Option<SqlType> {
    match v {
        AstValue::Number(n, _) => {
            if let Ok(i) = n.parse::<i64>() {
                return Some(if i32::try_from(i).is_ok() {
                    SqlType::Int
                } else {
                    SqlType::Decimal {
                        precision: 19,
                        scale: 0,
                    }
                });
            }
            let digits = n.trim_start_matches('-');
            let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
            if n.contains(['e', 'E']) {
                return Some(SqlType::Float);
            }
            let precision = (int.trim_start_matches('0').len() + frac.len()).clamp(1, 38) as u8;
            Some(SqlType::Decimal {
                precision: precision.max(frac.len() as u8),
                scale: frac.len().min(38) as u8,
            })
        }
        AstValue::SingleQuotedString(s) => {
            Some(SqlType::VarChar(Some(s.chars().count().clamp(1, 8000) as u16)))
        }
        AstValue::NationalStringLiteral(s) => Some(SqlType::NVarChar(Some(
            s.encode_utf16().count().clamp(1, 4000) as u16,
        ))),
        _ => None,
    }
}
