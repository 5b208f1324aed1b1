//! One run per SQL Server target: an application lock (`sp_getapplock`, exclusive, owned by the
//! session) on a resource named after the database, schema and table the run writes, held on a
//! connection of its own for the whole run. Because the session owns it, the server releases it
//! when that connection ends, however the run ends: a killed run never leaves it stuck.
//!
//! The holding connection's application name says which run holds it (`routeflow run <id> pid
//! <pid> host <host>`); a run that finds the target busy reads the holder from
//! `sys.dm_tran_locks` and `sys.dm_exec_sessions` when the server lets it (VIEW SERVER STATE).

use std::time::Duration;

use datafusion::error::{DataFusionError, Result};
use futures::TryStreamExt;
use tiberius::error::Error as TdsError;
use tiberius::{Row, ToSql};
use tracing::{info, warn};

use crate::error::Error;
use crate::mssql::conn::{Conn, Mssql};

/// What SQL Server keeps of a resource name (`nvarchar(255)`).
const MAX_RESOURCE: usize = 255;
/// What SQL Server keeps of an application name (`program_name` is `nvarchar(128)`).
const MAX_PROGRAM: usize = 128;
/// How much of a resource name `sys.dm_tran_locks` shows in `resource_description`.
const SHOWN_RESOURCE: usize = 32;

const GET: &str = "DECLARE @r int; EXEC @r = sp_getapplock @Resource = @P1, @LockMode = @P2, \
                   @LockOwner = @P3, @LockTimeout = @P4; SELECT @r";
const RELEASE: &str =
    "DECLARE @r int; EXEC @r = sp_releaseapplock @Resource = @P1, @LockOwner = @P2; SELECT @r";
const HELD: &str = "SELECT APPLOCK_MODE('public', @P1, @P2)";
/// The sessions holding an application lock whose name starts as ours (only the first 32
/// characters are shown), oldest first. Asked only where the view exists and may be read, so that
/// an engine without it (Babelfish) or a login without VIEW SERVER STATE logs no error.
const HOLDERS: &str = "IF OBJECT_ID(N'sys.dm_tran_locks') IS NOT NULL \
     AND HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE') = 1 \
     SELECT TOP 3 CAST(s.session_id AS int), s.program_name, s.host_name, \
     CONVERT(nvarchar(30), s.login_time, 126) \
     FROM sys.dm_tran_locks AS l INNER JOIN sys.dm_exec_sessions AS s ON s.session_id = l.request_session_id \
     WHERE l.resource_type = 'APPLICATION' AND l.resource_database_id = DB_ID() \
     AND l.request_status <> 'WAIT' AND l.request_session_id <> @@SPID \
     AND CHARINDEX(@P1, l.resource_description) > 0 ORDER BY s.login_time";

/// A held lock on one target table.
pub struct AppLock {
    conn: Conn,
    resource: String,
}

impl AppLock {
    /// Takes the lock on `schema.table` of the pool's database over a new connection named
    /// `program`, waiting up to `wait` for another session to release it. A busy target is
    /// [`Error::TargetBusy`], naming the holder as well as the server lets us.
    pub async fn acquire(db: &Mssql, table: &str, program: &str, wait: Duration) -> Result<Self> {
        let program: String = program.chars().take(MAX_PROGRAM).collect();
        let mut conn = db.dedicated(&program, wait).await?;
        let database = first_row(&mut conn, "SELECT DB_NAME()", &[])
            .await
            .map_err(|e| db.error(Some(table), &e))?
            .and_then(|r| r.get::<&str, _>(0).map(str::to_string))
            .unwrap_or_default();
        let resource = resource_name(&database, db.schema(), table);
        // 0 would mean "do not wait" on SQL Server, but Babelfish answers it with -999 when the
        // lock is busy; 1 ms means the same to both.
        let timeout = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX).max(1);
        let params: [&dyn ToSql; 4] = [&resource.as_str(), &"Exclusive", &"Session", &timeout];
        let code = first_row(&mut conn, GET, &params)
            .await
            .map_err(|e| db.error(Some(table), &e))?
            .and_then(|r| r.get::<i32, _>(0));
        let target = format!(
            "mssql {} table {}.{table} (application lock {resource})",
            db.target(),
            db.schema()
        );
        match code {
            Some(0 | 1) => {
                info!(lock = %resource, "target locked for this run");
                Ok(Self { conn, resource })
            }
            Some(-1) => {
                let mut holder = holders(&mut conn, &resource).await;
                if !wait.is_zero() {
                    holder.push_str(&format!("; waited {}s for it (--wait-lock)", wait.as_secs()));
                }
                Err(crate::error::external(Error::TargetBusy { target, holder }))
            }
            other => Err(db.error(
                Some(table),
                &format!("sp_getapplock on {resource} failed: {}", describe(other)),
            )),
        }
    }

    /// Whether the lock is still ours: false when its connection was lost (the server released
    /// it then, and another run may have taken it).
    pub async fn still_held(&mut self) -> bool {
        let params: [&dyn ToSql; 2] = [&self.resource.as_str(), &"Session"];
        match first_row(&mut self.conn, HELD, &params).await {
            Ok(row) => row.and_then(|r| r.get::<&str, _>(0).map(str::to_string)) == Some("Exclusive".into()),
            Err(e) => {
                warn!(lock = %self.resource, "cannot check the target's lock: {e}");
                false
            }
        }
    }

    /// The resource name, for messages.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Releases the lock and closes its connection. Should the release fail, closing the
    /// connection releases it all the same.
    pub async fn release(mut self) -> Result<()> {
        let params: [&dyn ToSql; 2] = [&self.resource.as_str(), &"Session"];
        let released = first_row(&mut self.conn, RELEASE, &params).await;
        let closed = self.conn.client.close().await;
        let code = released
            .map_err(|e| DataFusionError::Execution(format!("sp_releaseapplock: {e}")))?
            .and_then(|r| r.get::<i32, _>(0));
        if code != Some(0) {
            return Err(DataFusionError::Execution(format!(
                "sp_releaseapplock on {} returned {}",
                self.resource,
                describe(code)
            )));
        }
        info!(lock = %self.resource, "target lock released");
        closed.map_err(|e| DataFusionError::Execution(format!("closing the lock's connection: {e}")))
    }
}

/// `routeflow:<database>.<schema>.<table>`, lower case: the same table however its name is
/// spelled (SQL Server compares resource names binary, its identifiers usually without regard to
/// case). A name longer than SQL Server keeps ends in a hash of the whole, so that two long names
/// never share a lock by being cut.
pub fn resource_name(database: &str, schema: &str, table: &str) -> String {
    let name = format!("routeflow:{database}.{schema}.{table}").to_lowercase();
    if name.chars().count() <= MAX_RESOURCE {
        return name;
    }
    let hash = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let kept: String = name.chars().take(MAX_RESOURCE - 9).collect();
    format!("{kept}#{hash:08x}")
}

/// Who holds `resource`, as well as the server tells: `session 57 ("routeflow run …", host etl01,
/// connected 2026-12-05T01:00:02.117)`; `another session` when it does not say (no VIEW SERVER
/// STATE, or an engine without `sys.dm_tran_locks`).
async fn holders(conn: &mut Conn, resource: &str) -> String {
    let shown: String = resource.chars().take(SHOWN_RESOURCE).collect();
    let params: [&dyn ToSql; 1] = [&shown.as_str()];
    let rows = match all_rows(conn, HOLDERS, &params).await {
        Ok(rows) => rows,
        Err(e) => {
            info!(lock = %resource, "cannot name the lock's holder: {e}");
            return "another session".into();
        }
    };
    let named: Vec<String> = rows
        .iter()
        .map(|r| {
            let text = |i: usize| r.get::<&str, _>(i).unwrap_or("?").trim().to_string();
            format!(
                "session {} ({:?}, host {}, connected {})",
                r.get::<i32, _>(0).unwrap_or_default(),
                text(1),
                text(2),
                text(3)
            )
        })
        .collect();
    if named.is_empty() {
        "another session".into()
    } else {
        named.join(" or ")
    }
}

/// `sp_getapplock`'s and `sp_releaseapplock`'s failure codes in words.
fn describe(code: Option<i32>) -> String {
    match code {
        Some(-2) => "-2 (the request was cancelled)".into(),
        Some(-3) => "-3 (chosen as deadlock victim)".into(),
        Some(-999) => "-999 (parameter validation or other call error)".into(),
        Some(other) => other.to_string(),
        None => "no return code".into(),
    }
}

/// Every row of every result of `sql`.
async fn all_rows(conn: &mut Conn, sql: &str, params: &[&dyn ToSql]) -> Result<Vec<Row>, TdsError> {
    let health = conn.health();
    let stream = health.note(conn.client.query(sql, params).await)?;
    health.note(stream.into_row_stream().try_collect().await)
}

/// The first row of `sql`'s results (a `DECLARE`/`EXEC` batch answers with its `SELECT` last).
async fn first_row(conn: &mut Conn, sql: &str, params: &[&dyn ToSql]) -> Result<Option<Row>, TdsError> {
    Ok(all_rows(conn, sql, params).await?.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_the_table_whatever_its_spelling() {
        assert_eq!(
            resource_name("Routes", "dbo", "MonthlyRoutePlan_temp"),
            "routeflow:routes.dbo.monthlyrouteplan_temp"
        );
        let long = |t: &str| resource_name(&"d".repeat(128), "dbo", &format!("{}{t}", "t".repeat(120)));
        assert_eq!(long("a").chars().count(), MAX_RESOURCE);
        assert_ne!(long("a"), long("b"), "cut names keep a hash of the whole");
    }
}
