//! Connecting to SQL Server: the ADO.NET connection string, a bb8 pool of tiberius clients sized by
//! `--concurrency`, timeouts, and errors that name the server, database and table but never the
//! password.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use connection_string::AdoNetString;
use datafusion::error::DataFusionError;
use tiberius::error::Error as TdsError;
use tiberius::{Client, Config};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

/// The environment variable holding the connection string, so the password never shows in a
/// process list.
pub const MSSQL_ENV: &str = "ROUTEFLOW_MSSQL";

/// Default time to open a connection (TCP and login).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default time to wait for the server between two parts of one answer.
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(300);

/// How to reach one database.
#[derive(Clone)]
pub struct MssqlOptions {
    /// ADO.NET connection string (`Server=tcp:host,1433;Database=…;User Id=…;Password=…;Encrypt=true`).
    pub connection_string: String,
    pub connect_timeout: Duration,
    pub query_timeout: Duration,
    /// Connections in the pool: at most this many statements run at once.
    pub pool_size: u32,
}

impl fmt::Debug for MssqlOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MssqlOptions")
            .field(
                "connection_string",
                &crate::redact::redact(&self.connection_string),
            )
            .field("connect_timeout", &self.connect_timeout)
            .field("query_timeout", &self.query_timeout)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// A tiberius client over tokio TCP.
pub type TdsClient = Client<Compat<TcpStream>>;

/// A pooled client with its [`Health`], so the pool drops it instead of reusing a connection left
/// mid-answer.
pub struct Conn {
    pub client: TdsClient,
    health: Health,
}

impl Conn {
    /// A handle on the connection's health, usable while `client` is borrowed by a result stream.
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// Runs statements without parameters (identifiers only, already quoted) and reads every answer.
    pub async fn batch(&mut self, sql: &str) -> Result<(), TdsError> {
        let health = self.health();
        let result = self.client.simple_query(sql).await;
        let result = health.note(result)?.into_results().await;
        health.note(result).map(|_| ())
    }
}

/// Whether a connection can go back to the pool.
#[derive(Clone, Default)]
pub struct Health(Arc<HealthState>);

#[derive(Default)]
struct HealthState {
    broken: AtomicBool,
    in_use: AtomicBool,
}

impl Health {
    /// Passes `result` through, marking the connection broken when it failed other than with a
    /// server error (a server error leaves the connection usable; a lost or timed-out one does not).
    pub fn note<T>(&self, result: Result<T, TdsError>) -> Result<T, TdsError> {
        if let Err(e) = &result
            && !matches!(e, TdsError::Server(_))
        {
            self.0.broken.store(true, Ordering::Relaxed);
        }
        result
    }

    /// Marks the connection broken whatever happened (a caller gave up halfway).
    pub fn discard(&self) {
        self.0.broken.store(true, Ordering::Relaxed);
    }

    /// Marks the connection as in the middle of an answer; a connection returned to the pool in
    /// that state (a stream dropped early) is closed rather than reused.
    pub fn set_in_use(&self, in_use: bool) {
        self.0.in_use.store(in_use, Ordering::Relaxed);
    }

    fn unusable(&self) -> bool {
        self.0.broken.load(Ordering::Relaxed) || self.0.in_use.load(Ordering::Relaxed)
    }
}

/// Opens connections for the pool.
pub struct Manager {
    config: Config,
    connect_timeout: Duration,
    target: Arc<str>,
}

impl Manager {
    /// Opens a connection with `config` (the pool's, or a variant of it), within the connect timeout.
    async fn open(&self, config: Config) -> Result<Conn, TdsError> {
        let open = async {
            let tcp = TcpStream::connect(config.get_addr()).await?;
            tcp.set_nodelay(true)?;
            Client::connect(config, tcp.compat_write()).await
        };
        match tokio::time::timeout(self.connect_timeout, open).await {
            Ok(client) => Ok(Conn {
                client: client?,
                health: Health::default(),
            }),
            Err(_) => Err(TdsError::Io {
                kind: std::io::ErrorKind::TimedOut,
                message: format!(
                    "no connection to {} within {:?}",
                    self.target, self.connect_timeout
                ),
            }),
        }
    }
}

impl bb8::ManageConnection for Manager {
    type Connection = Conn;
    type Error = TdsError;

    async fn connect(&self) -> Result<Conn, TdsError> {
        self.open(self.config.clone()).await
    }

    async fn is_valid(&self, conn: &mut Conn) -> Result<(), TdsError> {
        conn.batch("SELECT 1").await
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.health.unusable()
    }
}

/// A pool of connections to one database.
pub struct Mssql {
    pool: bb8::Pool<Manager>,
    /// How the pool connects, for connections of their own ([`Mssql::dedicated`]).
    dedicated: Manager,
    /// Why the pool last failed to connect: bb8 keeps retrying in the background and a waiting
    /// caller only sees a timeout, which would tell an operator nothing.
    last_error: LastError,
    /// `host,port/database`, for messages.
    target: Arc<str>,
    schema: String,
}

impl fmt::Debug for Mssql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mssql({})", self.target)
    }
}

impl Mssql {
    /// Parses the connection string and builds the pool; no connection is opened yet.
    pub fn new(options: &MssqlOptions) -> Result<Arc<Self>, DataFusionError> {
        let target = describe(&options.connection_string)?;
        let mut config = Config::from_ado_string(&options.connection_string).map_err(|e| {
            // tiberius' messages quote the offending part, which may be the password.
            crate::error::bad_input(format!(
                "SQL Server connection string for {target} is not valid ({})",
                crate::redact::redact(&e.to_string())
            ))
        })?;
        config.command_timeout(Some(options.query_timeout));
        config.handshake_timeout(Some(options.connect_timeout));
        config.application_name("routeflow");
        let target: Arc<str> = target.into();
        let last_error = LastError::default();
        let manager = || Manager {
            config: config.clone(),
            connect_timeout: options.connect_timeout,
            target: Arc::clone(&target),
        };
        let pool = bb8::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(0))
            // Broken connections are flagged by `Conn::note`; no extra round trip per checkout.
            .test_on_check_out(false)
            .connection_timeout(options.connect_timeout)
            .error_sink(Box::new(last_error.clone()))
            .build_unchecked(manager());
        Ok(Arc::new(Self {
            pool,
            dedicated: manager(),
            last_error,
            target,
            schema: "dbo".into(),
        }))
    }

    /// `host,port/database`: what logs and errors show.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The schema tables live in (`dbo`).
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// A connection from the pool.
    pub async fn get(&self) -> Result<bb8::PooledConnection<'_, Manager>, DataFusionError> {
        self.pool.get().await.map_err(|e| match e {
            bb8::RunError::User(e) => self.error(None, &e),
            bb8::RunError::TimedOut => match self.last_error.take() {
                Some(cause) => self.error(None, &format!("cannot connect: {cause}")),
                None => DataFusionError::Execution(format!(
                    "SQL Server {}: timed out waiting for a free connection",
                    self.target
                )),
            },
        })
    }

    /// A connection of its own, outside the pool (so it takes no writer's place), shown to the
    /// server as `application_name` (`program_name` in `sys.dm_exec_sessions`), whose statements
    /// may take `longest` beyond the query timeout to answer (a lock wait). For holding the
    /// target's lock for a whole run.
    pub async fn dedicated(
        &self,
        application_name: &str,
        longest: Duration,
    ) -> Result<Conn, DataFusionError> {
        let mut config = self.dedicated.config.clone();
        config.application_name(application_name);
        config.command_timeout(config.get_command_timeout().map(|t| t + longest));
        self.dedicated
            .open(config)
            .await
            .map_err(|e| self.error(None, &format!("cannot connect: {e}")))
    }

    /// Runs a query about `table` with parameters on a pooled connection and returns all its rows;
    /// for small answers (catalog lookups, counts), not for reading tables.
    pub async fn query_rows(
        &self,
        table: &str,
        sql: &str,
        params: &[&dyn tiberius::ToSql],
    ) -> Result<Vec<tiberius::Row>, DataFusionError> {
        use futures::TryStreamExt;
        let mut conn = self.get().await?;
        let health = conn.health();
        let result = conn.client.query(sql, params).await;
        let stream = health.note(result).map_err(|e| self.error(Some(table), &e))?;
        health
            .note(stream.into_row_stream().try_collect().await)
            .map_err(|e| self.error(Some(table), &e))
    }

    /// An error naming the server, database and (when given) table.
    pub fn error(&self, table: Option<&str>, e: &dyn fmt::Display) -> DataFusionError {
        DataFusionError::Execution(self.message(table, e))
    }

    /// The same, for data the user must fix (exit 3).
    pub fn bad_input(&self, table: Option<&str>, e: &dyn fmt::Display) -> DataFusionError {
        crate::error::bad_input(self.message(table, e))
    }

    fn message(&self, table: Option<&str>, e: &dyn fmt::Display) -> String {
        let message = crate::redact::redact(&e.to_string());
        match table {
            Some(t) => format!("SQL Server {}, table {t}: {message}", self.target),
            None => format!("SQL Server {}: {message}", self.target),
        }
    }
}

/// The pool's latest connection error (bb8's error sink).
#[derive(Debug, Clone, Default)]
struct LastError(Arc<std::sync::Mutex<Option<String>>>);

impl LastError {
    fn take(&self) -> Option<String> {
        self.0.lock().map(|mut e| e.take()).unwrap_or(None)
    }
}

impl bb8::ErrorSink<TdsError> for LastError {
    fn sink(&self, error: TdsError) {
        if let Ok(mut last) = self.0.lock() {
            *last = Some(error.to_string());
        }
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<TdsError>> {
        Box::new(self.clone())
    }
}

/// `host,port/database` from a connection string, without credentials.
pub fn describe(connection_string: &str) -> Result<String, DataFusionError> {
    let ado = AdoNetString::from_str(connection_string).map_err(|_| {
        crate::error::bad_input(
            "SQL Server connection string is not valid: expected key=value pairs separated by ';'",
        )
    })?;
    let get = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| {
                ado.iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_default()
    };
    let server = get(&["server", "data source", "address", "addr", "network address"]);
    let server = server.strip_prefix("tcp:").unwrap_or(&server).to_string();
    let database = get(&["database", "initial catalog"]);
    if server.is_empty() {
        return Err(crate::error::bad_input(
            "SQL Server connection string has no Server (e.g. Server=tcp:host,1433)",
        ));
    }
    Ok(format!(
        "{server}/{}",
        if database.is_empty() {
            "(default database)"
        } else {
            &database
        }
    ))
}

/// Whether retrying may succeed: a lost or timed-out connection, or a server error SQL Server
/// documents as transient (deadlock victim, lock timeout, Azure failover and throttling).
pub fn is_transient(e: &TdsError) -> bool {
    match e {
        TdsError::Io { .. } => true,
        TdsError::Server(t) => matches!(
            t.code(),
            1205 | 1222 | 233 | 10053 | 10054 | 10060 | 40143 | 40197 | 40501 | 40613 | 49918 | 49919 | 49920
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_names_server_and_database_only() {
        let d =
            describe("Server=tcp:db.example,1433;Database=routes;User Id=etl;Password=s3cret;Encrypt=true")
                .unwrap();
        assert_eq!(d, "db.example,1433/routes");
        let d = describe("Data Source=db;Initial Catalog=x;Pwd={a;b}").unwrap();
        assert_eq!(d, "db/x");
        assert!(
            describe("Database=x")
                .unwrap_err()
                .to_string()
                .contains("no Server")
        );
    }

    #[test]
    fn bad_string_does_not_echo_the_password() {
        let e = Mssql::new(&MssqlOptions {
            connection_string: "Server=tcp:h,1433;Password=hunter2;Encrypt=maybe".into(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            query_timeout: DEFAULT_QUERY_TIMEOUT,
            pool_size: 1,
        })
        .unwrap_err()
        .to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("h,1433"), "{e}");
    }

    #[test]
    fn deadlocks_and_lost_connections_are_transient() {
        let io = TdsError::Io {
            kind: std::io::ErrorKind::ConnectionReset,
            message: "reset".into(),
        };
        assert!(is_transient(&io));
        assert!(!is_transient(&TdsError::Protocol("bad".into())));
    }
}
