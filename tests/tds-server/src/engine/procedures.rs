//! `EXEC` of the system procedures the test server knows: `sp_rename` (see `ddl`), and
//! `sp_getapplock` / `sp_releaseapplock`, application locks owned by the session (see
//! `instance`). Each returns its return status, which `EXEC @r = procedure …` stores in a variable
//! the batch `DECLARE`d. Arguments are positional or named (`@Resource = @P1`), as SQL Server
//! takes them.

use std::time::Duration;

use sqlparser::ast::{BinaryOperator, Declare, Expr, Ident, ObjectName};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use super::catalog::Table;
use super::ddl::argument;
use super::infer::cast_target;
use super::instance::LockMode;
use super::{Param, Session, error};
use crate::types::{SqlError, Value};

/// `sp_getapplock`'s parameters, in order.
const GET_APPLOCK: [&str; 5] = [
    "@Resource",
    "@LockMode",
    "@LockOwner",
    "@LockTimeout",
    "@DbPrincipal",
];
/// `sp_releaseapplock`'s parameters, in order.
const RELEASE_APPLOCK: [&str; 3] = ["@Resource", "@LockOwner", "@DbPrincipal"];
/// What SQL Server keeps of a resource name.
const MAX_RESOURCE: usize = 255;

impl Session {
    /// `DECLARE @name type[, …]`: variables start NULL, as in SQL Server.
    pub(super) fn declare(&mut self, declare: &Declare) -> Result<(), SqlError> {
        let ty = match (&declare.data_type, &declare.assignment, &declare.declare_type) {
            (Some(ty), None, None) => cast_target(&ty.to_string()).ok_or_else(|| {
                SqlError::new(
                    2715,
                    format!("Column, parameter, or variable #1: Cannot find data type {ty}."),
                )
            })?,
            _ => return Err(error::unsupported(&format!("'DECLARE {declare}'"))),
        };
        for name in &declare.names {
            if self.variable(&name.value).is_some() {
                return Err(SqlError::new(
                    134,
                    format!(
                        "The variable name '{}' has already been declared. Variable names must be unique within a query batch or stored procedure.",
                        name.value
                    ),
                ));
            }
            self.variables.push(Param {
                name: name.value.clone(),
                ty: ty.clone(),
                value: Value::Null,
            });
        }
        Ok(())
    }

    /// Sets a declared variable; SQL Server's error 137 when there is none of that name.
    pub(super) fn assign(&mut self, name: &Ident, value: Value) -> Result<(), SqlError> {
        let at = self
            .variable(&name.value)
            .ok_or_else(|| error::undeclared(&name.value))?;
        self.variables[at].value = value;
        Ok(())
    }

    fn variable(&self, name: &str) -> Option<usize> {
        self.variables
            .iter()
            .position(|v| v.name.eq_ignore_ascii_case(name))
    }

    /// Runs the procedure `name`; its return status.
    pub(super) fn procedure(
        &mut self,
        name: &ObjectName,
        args: &[Expr],
        params: &[Param],
    ) -> Result<i64, SqlError> {
        let procedure = Table::from_object_name(name).name;
        match procedure.to_ascii_lowercase().as_str() {
            "sp_rename" => self.sp_rename(args, params).map(|()| 0),
            "sp_getapplock" => self.get_applock(args, params),
            "sp_releaseapplock" => self.release_applock(args, params),
            _ => Err(SqlError::new(
                2812,
                format!("Could not find stored procedure '{procedure}'."),
            )),
        }
    }

    /// `sp_getapplock`: 0 granted, 1 granted after a wait, -1 timed out (`@LockTimeout` in ms,
    /// -1 or absent: wait for ever, 0: do not wait).
    fn get_applock(&mut self, args: &[Expr], params: &[Param]) -> Result<i64, SqlError> {
        let [resource, mode, owner, timeout, _principal] = bind("sp_getapplock", &GET_APPLOCK, args, params)?;
        let resource = required("sp_getapplock", "@Resource", resource)?;
        let mode = LockMode::parse(&required("sp_getapplock", "@LockMode", mode)?)?;
        session_owner(owner)?;
        let timeout = match timeout {
            None => None,
            Some(ms) => {
                let ms: i64 = ms.trim().parse().map_err(|_| {
                    SqlError::new(8114, format!("Error converting data type varchar to int. ({ms})"))
                })?;
                u64::try_from(ms).ok().map(Duration::from_millis)
            }
        };
        let resource = truncate(&resource);
        Ok(self.instance.lock(self.spid, &resource, mode, timeout).code())
    }

    /// `sp_releaseapplock`: 0, or SQL Server's error 1223 when the session does not hold the lock.
    fn release_applock(&mut self, args: &[Expr], params: &[Param]) -> Result<i64, SqlError> {
        let [resource, owner, _principal] = bind("sp_releaseapplock", &RELEASE_APPLOCK, args, params)?;
        let resource = truncate(&required("sp_releaseapplock", "@Resource", resource)?);
        session_owner(owner)?;
        if self.instance.unlock(self.spid, &resource) {
            Ok(0)
        } else {
            Err(SqlError::new(
                1223,
                format!(
                    "Cannot release the application lock (Database Principal: 'public', Resource: '{resource}') because it is not currently held."
                ),
            ))
        }
    }
}

/// The procedure's arguments by parameter position: positional ones first, then `@Name = value`.
fn bind<const N: usize>(
    procedure: &str,
    names: &[&str; N],
    args: &[Expr],
    params: &[Param],
) -> Result<[Option<String>; N], SqlError> {
    let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
    let mut named_seen = false;
    for (position, arg) in args.iter().enumerate() {
        let (index, value) = match arg {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } if matches!(left.as_ref(), Expr::Identifier(id) if id.value.starts_with('@')) => {
                let Expr::Identifier(id) = left.as_ref() else {
                    unreachable!()
                };
                named_seen = true;
                let index = names
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(&id.value))
                    .ok_or_else(|| {
                        SqlError::new(
                            8145,
                            format!("{} is not a parameter for procedure {procedure}.", id.value),
                        )
                    })?;
                (index, right.as_ref())
            }
            _ if named_seen => {
                return Err(SqlError::new(
                    119,
                    format!(
                        "Must pass parameter number {} and subsequent parameters as '@name = value'. After the form '@name = value' has been used, all subsequent parameters must be passed in the form '@name = value'.",
                        position + 1
                    ),
                ));
            }
            _ if position >= N => {
                return Err(SqlError::new(
                    8144,
                    format!("Procedure or function {procedure} has too many arguments specified."),
                ));
            }
            other => (position, other),
        };
        values[index] = Some(argument(value, params)?);
    }
    Ok(values)
}

/// A parameter without a default: SQL Server's error 201 when it is missing.
fn required(procedure: &str, name: &str, value: Option<String>) -> Result<String, SqlError> {
    value.ok_or_else(|| {
        SqlError::new(
            201,
            format!(
                "Procedure or function '{procedure}' expects parameter '{name}', which was not supplied."
            ),
        )
    })
}

/// Only locks owned by the session are supported (`@LockOwner` defaults to `Transaction`).
fn session_owner(owner: Option<String>) -> Result<(), SqlError> {
    match owner {
        Some(owner) if owner.eq_ignore_ascii_case("session") => Ok(()),
        _ => Err(error::unsupported(
            "application locks owned by a transaction (pass @LockOwner = 'Session')",
        )),
    }
}

fn truncate(resource: &str) -> String {
    resource.chars().take(MAX_RESOURCE).collect()
}

/// `EXEC @r = procedure …`, which sqlparser does not parse: takes `EXEC @r =` off and parses the
/// rest as `EXEC procedure …`, with `@r` as the statement's `into`. `None`: not that form.
pub(super) fn parse_exec_with_status(
    parser: &mut Parser,
) -> Result<Option<sqlparser::ast::Statement>, ParserError> {
    let [exec, variable, equals] = parser.peek_tokens::<3>();
    let is_exec = matches!(&exec, Token::Word(w) if matches!(w.keyword, Keyword::EXEC | Keyword::EXECUTE));
    let Token::Word(variable) = variable else {
        return Ok(None);
    };
    if !is_exec || !variable.value.starts_with('@') || equals != Token::Eq {
        return Ok(None);
    }
    for _ in 0..3 {
        parser.next_token();
    }
    let mut statement = parser.parse_execute()?;
    if let sqlparser::ast::Statement::Execute { into, .. } = &mut statement {
        *into = vec![Ident::new(variable.value)];
    }
    Ok(Some(statement))
}

#[cfg(test)]
mod tests {
    use super::super::{Engine, Outcome};
    use super::*;
    use crate::types::SqlType;

    fn text(name: &str, value: &str) -> Param {
        Param {
            name: name.into(),
            ty: SqlType::NVarChar(Some(255)),
            value: Value::Text(value.into()),
        }
    }

    /// The last result set's rows of a batch that must succeed.
    fn rows(s: &mut Session, sql: &str, params: &[Param]) -> Vec<Vec<Value>> {
        let (out, err) = s.execute(sql, params);
        assert!(err.is_none(), "{sql}: {err:?}");
        match out.into_iter().rev().find(|o| matches!(o, Outcome::Rows { .. })) {
            Some(Outcome::Rows { rows, .. }) => rows,
            other => panic!("{sql}: {other:?}"),
        }
    }

    const GET: &str = "DECLARE @r int; EXEC @r = sp_getapplock @Resource = @P1, @LockMode = @P2, \
                       @LockOwner = @P3, @LockTimeout = @P4; SELECT @r AS r";
    const RELEASE: &str = "DECLARE @r int; EXEC @r = sys.sp_releaseapplock @P1, @P2; SELECT @r";

    fn get(s: &mut Session, resource: &str, timeout_ms: i64) -> Value {
        let params = [
            text("@P1", resource),
            text("@P2", "Exclusive"),
            text("@P3", "Session"),
            Param {
                name: "@P4".into(),
                ty: SqlType::Int,
                value: Value::Int(timeout_ms),
            },
        ];
        rows(s, GET, &params).remove(0).remove(0)
    }

    #[test]
    fn applocks_return_sql_servers_codes_and_go_with_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::new(dir.path().join("routes.db"));
        let (mut a, mut b) = (engine.session().unwrap(), engine.session().unwrap());
        assert_eq!(get(&mut a, "routeflow:x", 0), Value::Int(0));
        assert_eq!(get(&mut b, "routeflow:x", 30), Value::Int(-1));
        assert_eq!(get(&mut b, "routeflow:y", 0), Value::Int(0), "another resource");
        let mode = "SELECT APPLOCK_MODE('public', @P1, 'Session')";
        assert_eq!(
            rows(&mut a, mode, &[text("@P1", "routeflow:x")]),
            [[Value::Text("Exclusive".into())]]
        );
        assert_eq!(
            rows(&mut b, mode, &[text("@P1", "routeflow:x")]),
            [[Value::Text("NoLock".into())]]
        );

        // Who holds it, as the dynamic management views show it.
        let holder = "IF OBJECT_ID(N'sys.dm_tran_locks') IS NOT NULL \
                      AND HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE') = 1 \
                      SELECT s.program_name, l.request_mode, l.resource_description FROM sys.dm_tran_locks AS l \
                      INNER JOIN sys.dm_exec_sessions AS s ON s.session_id = l.request_session_id \
                      WHERE l.resource_type = 'APPLICATION' AND l.resource_database_id = DB_ID() \
                      AND l.request_session_id <> @@SPID AND CHARINDEX(@P1, l.resource_description) > 0";
        let found = rows(&mut b, holder, &[text("@P1", "routeflow:x")]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0][1], Value::Text("X".into()));
        assert!(
            matches!(&found[0][2], Value::Text(d) if d.starts_with("0:[routeflow:x]:(")),
            "{found:?}"
        );

        let (_, err) = b.execute(RELEASE, &[text("@P1", "routeflow:x"), text("@P2", "Session")]);
        assert_eq!(err.map(|e| e.number), Some(1223), "b does not hold it");
        assert_eq!(
            rows(
                &mut a,
                RELEASE,
                &[text("@P1", "routeflow:x"), text("@P2", "Session")]
            ),
            [[Value::Int(0)]]
        );
        assert_eq!(get(&mut b, "routeflow:x", 0), Value::Int(0));
        drop(b);
        assert_eq!(
            get(&mut a, "routeflow:x", 0),
            Value::Int(0),
            "released with its session"
        );
        assert_eq!(get(&mut a, "routeflow:y", 0), Value::Int(0));
    }

    #[test]
    fn variables_and_procedure_arguments_follow_sql_server() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::new(dir.path().join("routes.db"));
        let mut s = engine.session().unwrap();
        assert!(
            s_number(&mut s, "SELECT @@SPID") >= 1000,
            "sessions without a client"
        );
        let (_, err) = s.execute("EXEC @r = sp_getapplock 'x', 'Exclusive', 'Session', 0", &[]);
        assert_eq!(err.map(|e| e.number), Some(137), "undeclared");
        let (_, err) = s.execute("DECLARE @r int; DECLARE @r int", &[]);
        assert_eq!(err.map(|e| e.number), Some(134));
        let (_, err) = s.execute(
            "DECLARE @r int; EXEC @r = sp_getapplock @Resource = 'x', 'Exclusive'",
            &[],
        );
        assert_eq!(err.map(|e| e.number), Some(119), "positional after named");
        let (_, err) = s.execute(
            "DECLARE @r int; EXEC @r = sp_getapplock @Resource = 'x', @Mode = 'Exclusive'",
            &[],
        );
        assert_eq!(err.map(|e| e.number), Some(8145));
        let (_, err) = s.execute("DECLARE @r int; EXEC @r = sp_getapplock @Resource = 'x'", &[]);
        assert_eq!(err.map(|e| e.number), Some(201));
        let (_, err) = s.execute("EXEC sp_getapplock 'x', 'Exclusive'", &[]);
        assert_eq!(
            err.map(|e| e.number),
            Some(40000),
            "transaction owner: not supported"
        );
        let r = rows(
            &mut s,
            "DECLARE @r int, @s int; EXEC @r = sp_getapplock 'x', 'Exclusive', 'Session', 0; SELECT @r, @s",
            &[],
        );
        assert_eq!(r, [[Value::Int(0), Value::Null]]);
        let r = rows(&mut s, "SELECT 1", &[]);
        assert_eq!(r, [[Value::Int(1)]]);
        let (_, err) = s.execute("SELECT @r", &[]);
        assert_eq!(err.map(|e| e.number), Some(137), "variables end with their batch");
    }

    fn s_number(s: &mut Session, sql: &str) -> i64 {
        match rows(s, sql, &[]).remove(0).remove(0) {
            Value::Int(n) => n,
            other => panic!("{sql}: {other:?}"),
        }
    }
}
