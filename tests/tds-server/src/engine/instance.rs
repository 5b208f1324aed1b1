//! What the sessions of one server share besides the database file: who is connected (what
//! `sys.dm_exec_sessions` shows) and the application locks of `sp_getapplock` (what
//! `sys.dm_tran_locks` shows). A lock belongs to the session that took it and goes with it, as on
//! SQL Server: a client that disconnects, or is killed, never leaves one behind.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

use super::catalog::quote;
use super::error;
use crate::types::SqlError;

/// The database id every resource of the test server reports (`DB_ID()`): one user database.
pub const DATABASE_ID: i64 = 5;

/// The temp tables behind the two dynamic management views.
pub const DM_TRAN_LOCKS: &str = "__sys_dm_tran_locks";
pub const DM_EXEC_SESSIONS: &str = "__sys_dm_exec_sessions";

/// Who a session is, as its login said.
#[derive(Debug, Clone, Default)]
pub struct SessionInfo {
    pub program_name: String,
    pub host_name: String,
    pub login_name: String,
    /// Seconds since the Unix epoch.
    pub login_time: f64,
}

impl SessionInfo {
    /// A session logging in now.
    pub fn now(program_name: &str, host_name: &str, login_name: &str) -> Self {
        Self {
            program_name: program_name.into(),
            host_name: host_name.into(),
            login_name: login_name.into(),
            login_time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        }
    }
}

/// The application lock modes the test server grants; the others are refused as unsupported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

impl LockMode {
    /// `@LockMode`, compared without regard to case as SQL Server does.
    pub fn parse(text: &str) -> Result<Self, SqlError> {
        match text.to_ascii_lowercase().as_str() {
            "shared" => Ok(Self::Shared),
            "exclusive" => Ok(Self::Exclusive),
            "update" | "intentshared" | "intentexclusive" => {
                Err(error::unsupported(&format!("the application lock mode {text}")))
            }
            _ => Err(SqlError::new(
                15600,
                format!(
                    "An invalid parameter or option was specified for procedure 'sp_getapplock'. ({text})"
                ),
            )),
        }
    }

    /// `request_mode` of `sys.dm_tran_locks`.
    fn code(self) -> &'static str {
        match self {
            Self::Shared => "S",
            Self::Exclusive => "X",
        }
    }
}

/// How a lock request ended: `sp_getapplock`'s return code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOutcome {
    /// 0: granted at once.
    Granted,
    /// 1: granted after waiting for other sessions to release it.
    GrantedAfterWait,
    /// -1: not granted within the timeout.
    TimedOut,
}

impl LockOutcome {
    pub fn code(self) -> i64 {
        match self {
            Self::Granted => 0,
            Self::GrantedAfterWait => 1,
            Self::TimedOut => -1,
        }
    }
}

/// One session's hold on a resource: taken `count` times, released as many.
#[derive(Debug, Clone)]
struct Grant {
    session: u16,
    mode: LockMode,
    count: u32,
}

#[derive(Default)]
struct State {
    sessions: BTreeMap<u16, SessionInfo>,
    /// By resource name, compared binary (case-sensitive whatever the collation), as SQL Server does.
    locks: BTreeMap<String, Vec<Grant>>,
    next_spid: u16,
}

#[derive(Default)]
pub struct Instance {
    state: Mutex<State>,
    /// Woken whenever a lock is released, for the requests waiting on one.
    released: Condvar,
}

impl Instance {
    fn state(&self) -> MutexGuard<'_, State> {
        // A session that panicked must not take the others down with it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A session id nobody uses, for sessions opened without a connection (the engine's own tests).
    pub fn free_spid(&self) -> u16 {
        let mut state = self.state();
        loop {
            state.next_spid = state.next_spid.wrapping_add(1).max(1000);
            if !state.sessions.contains_key(&state.next_spid) {
                return state.next_spid;
            }
        }
    }

    pub fn join(&self, spid: u16, info: SessionInfo) {
        self.state().sessions.insert(spid, info);
    }

    /// The session is gone: it leaves the views, and every lock it held is released.
    pub fn leave(&self, spid: u16) {
        let mut state = self.state();
        state.sessions.remove(&spid);
        state.locks.retain(|_, grants| {
            grants.retain(|g| g.session != spid);
            !grants.is_empty()
        });
        drop(state);
        self.released.notify_all();
    }

    /// `sp_getapplock` for `spid`: granted when every other holder's mode is compatible (only
    /// shared with shared), else waits up to `timeout` (`None`: for ever) for them to release it.
    /// A session that holds the resource already takes it once more.
    pub fn lock(&self, spid: u16, resource: &str, mode: LockMode, timeout: Option<Duration>) -> LockOutcome {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.state();
        let mut waited = false;
        loop {
            let grants = state.locks.entry(resource.to_string()).or_default();
            let blocked = grants
                .iter()
                .any(|g| g.session != spid && (mode == LockMode::Exclusive || g.mode == LockMode::Exclusive));
            if !blocked {
                match grants.iter_mut().find(|g| g.session == spid) {
                    Some(own) => {
                        own.count += 1;
                        if mode == LockMode::Exclusive {
                            own.mode = mode;
                        }
                    }
                    None => grants.push(Grant {
                        session: spid,
                        mode,
                        count: 1,
                    }),
                }
                return if waited {
                    LockOutcome::GrantedAfterWait
                } else {
                    LockOutcome::Granted
                };
            }
            state = match deadline {
                None => self.released.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return LockOutcome::TimedOut;
                    }
                    self.released
                        .wait_timeout(state, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
            waited = true;
        }
    }

    /// `sp_releaseapplock` for `spid`: false when it does not hold the resource.
    pub fn unlock(&self, spid: u16, resource: &str) -> bool {
        let mut state = self.state();
        let Some(grants) = state.locks.get_mut(resource) else {
            return false;
        };
        let Some(at) = grants.iter().position(|g| g.session == spid) else {
            return false;
        };
        grants[at].count -= 1;
        if grants[at].count == 0 {
            grants.remove(at);
        }
        if grants.is_empty() {
            state.locks.remove(resource);
        }
        drop(state);
        self.released.notify_all();
        true
    }

    /// `APPLOCK_MODE`: the mode `spid` holds on `resource`, `NoLock` when none.
    pub fn mode_of(&self, spid: u16, resource: &str) -> &'static str {
        let state = self.state();
        let mode = state
            .locks
            .get(resource)
            .and_then(|grants| grants.iter().find(|g| g.session == spid))
            .map(|g| g.mode);
        match mode {
            Some(LockMode::Shared) => "Shared",
            Some(LockMode::Exclusive) => "Exclusive",
            None => "NoLock",
        }
    }

    /// Creates this session's (empty) tables behind `sys.dm_tran_locks` and `sys.dm_exec_sessions`.
    pub fn create_views(conn: &Connection) -> Result<(), SqlError> {
        conn.execute_batch(&format!(
            "CREATE TEMP TABLE IF NOT EXISTS {} (resource_type nvarchar(60), resource_database_id int, \
             resource_description nvarchar(256), request_mode nvarchar(60), request_type nvarchar(60), \
             request_status nvarchar(60), request_reference_count smallint, request_session_id int, \
             request_owner_type nvarchar(60)); \
             CREATE TEMP TABLE IF NOT EXISTS {} (session_id smallint, login_time datetime, \
             host_name nvarchar(128), program_name nvarchar(128), login_name nvarchar(128), \
             status nvarchar(30), is_user_process bit)",
            quote(DM_TRAN_LOCKS),
            quote(DM_EXEC_SESSIONS)
        ))
        .map_err(error::from_sqlite)
    }

    /// Fills the views' tables (emptied by the catalog refresh) with the sessions and locks of now.
    /// `resource_description` is SQL Server's: principal id, the first 32 characters of the
    /// resource, and a hash of the whole name.
    pub fn fill_views(&self, conn: &Connection) -> Result<(), SqlError> {
        let state = self.state();
        let mut lock = conn
            .prepare(&format!(
                "INSERT INTO temp.{} VALUES ('APPLICATION', ?1, ?2, ?3, 'LOCK', 'GRANT', ?4, ?5, 'SESSION')",
                quote(DM_TRAN_LOCKS)
            ))
            .map_err(error::from_sqlite)?;
        for (resource, grants) in &state.locks {
            let shown: String = resource.chars().take(32).collect();
            let description = format!("0:[{shown}]:({:08x})", fnv1a(resource));
            for g in grants {
                lock.execute(rusqlite::params![
                    DATABASE_ID,
                    description,
                    g.mode.code(),
                    g.count,
                    g.session
                ])
                .map_err(error::from_sqlite)?;
            }
        }
        let mut session = conn
            .prepare(&format!(
                "INSERT INTO temp.{} VALUES (?1, strftime('%Y-%m-%d %H:%M:%f', ?2, 'unixepoch'), ?3, ?4, ?5, \
                 'sleeping', 1)",
                quote(DM_EXEC_SESSIONS)
            ))
            .map_err(error::from_sqlite)?;
        for (spid, info) in &state.sessions {
            session
                .execute(rusqlite::params![
                    spid,
                    info.login_time,
                    info.host_name,
                    info.program_name,
                    info.login_name
                ])
                .map_err(error::from_sqlite)?;
        }
        Ok(())
    }
}

/// A 32-bit FNV-1a hash: stands in for SQL Server's (undocumented) hash of a resource name.
fn fnv1a(text: &str) -> u32 {
    text.bytes()
        .fold(0x811c_9dc5, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn exclusive_locks_exclude_other_sessions_and_count_their_own() {
        let instance = Instance::default();
        let ms = |n| Some(Duration::from_millis(n));
        assert_eq!(
            instance.lock(1, "r", LockMode::Exclusive, ms(0)),
            LockOutcome::Granted
        );
        assert_eq!(
            instance.lock(1, "r", LockMode::Exclusive, ms(0)),
            LockOutcome::Granted
        );
        assert_eq!(
            instance.lock(2, "r", LockMode::Exclusive, ms(20)),
            LockOutcome::TimedOut
        );
        assert_eq!(
            instance.lock(2, "r", LockMode::Shared, ms(0)),
            LockOutcome::TimedOut
        );
        assert_eq!(
            instance.lock(2, "R", LockMode::Exclusive, ms(0)),
            LockOutcome::Granted,
            "case-sensitive"
        );
        assert!(instance.unlock(1, "r"));
        assert_eq!(
            instance.mode_of(1, "r"),
            "Exclusive",
            "taken twice, released once"
        );
        assert!(instance.unlock(1, "r"));
        assert!(!instance.unlock(1, "r"), "no longer held");
        assert_eq!(
            instance.lock(2, "r", LockMode::Exclusive, ms(0)),
            LockOutcome::Granted
        );
    }

    #[test]
    fn shared_locks_share_and_a_leaving_session_wakes_the_waiter() {
        let instance = Arc::new(Instance::default());
        assert_eq!(
            instance.lock(1, "r", LockMode::Shared, None),
            LockOutcome::Granted
        );
        assert_eq!(
            instance.lock(2, "r", LockMode::Shared, None),
            LockOutcome::Granted
        );
        instance.leave(2);
        let waiter = {
            let instance = Arc::clone(&instance);
            std::thread::spawn(move || instance.lock(3, "r", LockMode::Exclusive, None))
        };
        std::thread::sleep(Duration::from_millis(20));
        instance.leave(1);
        assert_eq!(waiter.join().unwrap(), LockOutcome::GrantedAfterWait);
        assert_eq!(instance.mode_of(3, "r"), "Exclusive");
    }
}
