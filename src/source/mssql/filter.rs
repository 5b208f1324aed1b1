//! DataFusion filters as T-SQL: the predicates a scan hands to the server, every literal sent as a
//! parameter (`@Pn`), never as SQL text. Only comparisons of a plain column with literals, `IN`
//! lists, `IS [NOT] NULL` and `AND`s of those are pushed down, and only on columns whose type says
//! how its literals are sent (see the type table in [`crate::mssql::types`]).

use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use tiberius::ToSql;

use crate::mssql::types::{ParamFn, SqlParam};

/// A column a filter may compare on the server: its quoted name, and how a literal compared with
/// it is sent.
pub(super) struct Pushable {
    pub ident: String,
    pub param: ParamFn,
}

/// The pushed-down filters of one scan.
#[derive(Debug, Clone, Default)]
pub(super) struct Filter {
    predicates: Vec<String>,
    pub params: Vec<SqlParam>,
}

impl Filter {
    /// The filters that can run on the server; `column` gives the columns that can be compared
    /// there, by name.
    pub fn new(filters: &[Expr], column: impl Fn(&str) -> Option<Pushable>) -> Self {
        let mut filter = Self::default();
        for f in filters {
            if let Some(p) = predicate(f, &column, &mut filter.params) {
                filter.predicates.push(p);
            }
        }
        filter
    }

    /// ` WHERE …` (or nothing), with `range` as one more predicate; range parameters follow the
    /// filter's.
    pub fn where_clause(&self, range: Option<&str>) -> String {
        let mut all = self.predicates.clone();
        if let Some(r) = range {
            all.push(r.to_string());
        }
        if all.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", all.join(" AND "))
        }
    }

    pub fn param_refs(&self) -> Vec<&dyn ToSql> {
        self.params.iter().map(|p| p as &dyn ToSql).collect()
    }
}

/// `expr` as a T-SQL predicate whose literals are appended to `params`, when all of it can be
/// pushed down; otherwise `None`, and `params` is as it was.
pub(super) fn predicate(
    expr: &Expr,
    column: &impl Fn(&str) -> Option<Pushable>,
    params: &mut Vec<SqlParam>,
) -> Option<String> {
    let plain = |e: &Expr| match e {
        Expr::Column(c) => column(&c.name),
        _ => None,
    };
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And,
            right,
        }) => {
            let mark = params.len();
            let l = predicate(left, column, params);
            let r = l.as_ref().and_then(|_| predicate(right, column, params));
            match (l, r) {
                (Some(l), Some(r)) => Some(format!("({l} AND {r})")),
                _ => {
                    params.truncate(mark);
                    None
                }
            }
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let sql_op = comparison(op)?;
            let Expr::Literal(v, _) = right.as_ref() else {
                return None;
            };
            let c = plain(left).filter(|_| !v.is_null())?;
            params.push((c.param)(v)?);
            Some(format!("{} {sql_op} @P{}", c.ident, params.len()))
        }
        Expr::InList(list) if !list.negated && !list.list.is_empty() && list.list.len() <= 1000 => {
            let c = plain(&list.expr)?;
            let mark = params.len();
            let names = in_list(&list.list, &c, params);
            if names.is_none() {
                params.truncate(mark);
            }
            Some(format!("{} IN ({})", c.ident, names?.join(", ")))
        }
        Expr::IsNull(e) => plain(e).map(|c| format!("{} IS NULL", c.ident)),
        Expr::IsNotNull(e) => plain(e).map(|c| format!("{} IS NOT NULL", c.ident)),
        _ => None,
    }
}

/// The T-SQL of a comparison operator.
fn comparison(op: &Operator) -> Option<&'static str> {
    Some(match op {
        Operator::Eq => "=",
        Operator::NotEq => "<>",
        Operator::Lt => "<",
        Operator::LtEq => "<=",
        Operator::Gt => ">",
        Operator::GtEq => ">=",
        _ => return None,
    })
}

/// The parameter names of an `IN` list's literals, appended to `params`; `None` when one is not a
/// literal the column takes.
fn in_list(items: &[Expr], column: &Pushable, params: &mut Vec<SqlParam>) -> Option<Vec<String>> {
    items
        .iter()
        .map(|item| match item {
            Expr::Literal(v, _) if !v.is_null() => {
                params.push((column.param)(v)?);
                Some(format!("@P{}", params.len()))
            }
            _ => None,
        })
        .collect()
}
