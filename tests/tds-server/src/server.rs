//! The TCP side: listener, one task per connection, statement counters and fault injection.
//! The public API below is what routeflow's tests rely on.

mod connection;
mod state;
mod worker;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use state::Shared;

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The SQLite file holding the database (created if absent).
    pub database_file: PathBuf,
    /// 0 picks a free port.
    pub port: u16,
    /// The only login accepted (SQL Server authentication).
    pub user: String,
    pub password: String,
}

/// Which request a fault applies to. Requests are SQL batches, RPC calls and bulk loads, counted
/// server-wide from 1 since start (or the last `reset_stats`).
#[derive(Debug, Clone)]
pub enum FaultMatch {
    /// The request's statement text contains this (case-insensitive); a bulk load matches on its
    /// `INSERT BULK …` text.
    Contains(String),
    /// The Kth request.
    Nth(u64),
}

/// What happens to a matching request.
#[derive(Debug, Clone)]
pub enum FaultAction {
    /// Answer with an ERROR token with this SQL Server error number (e.g. 1205 deadlock) instead of
    /// running the request; an open transaction is rolled back, as SQL Server does for a deadlock victim.
    /// A bulk load receives its data first and fails at the end, as a deadlocked load does.
    Error { number: u32, message: String },
    /// Close the connection instead of answering (a bulk load: instead of answering `INSERT BULK`).
    Drop,
    /// Keep reading this connection for this many more bytes from the client, then close it (a drop
    /// in the middle of a bulk load). The matching request itself is answered normally; on an
    /// `INSERT BULK` the bytes counted are those of the bulk data that follows.
    DropAfterBytes(usize),
    /// Answer after this delay (a bulk load: its final answer).
    Delay(Duration),
}

/// One armed fault: applies to the next `times` matching requests.
#[derive(Debug, Clone)]
pub struct Fault {
    pub when: FaultMatch,
    pub action: FaultAction,
    pub times: usize,
}

/// Counters since start or the last reset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Connections that completed the login.
    pub connections: u64,
    /// SQL batches, transaction manager requests (`Client::begin_transaction`…) included.
    pub batches: u64,
    pub rpcs: u64,
    pub bulk_loads: u64,
    /// Rows stored by completed bulk loads.
    pub bulk_rows: u64,
    /// Statements executed (a batch of three statements counts three, a failing one included; a
    /// bulk load counts one).
    pub statements: u64,
    /// Per table (lowercase name): statements that read it whole, by SQLite's plan (a scan, or an
    /// automatic index built over it). On a heap, SQL Server reads it whole for the same statements.
    pub full_scans: BTreeMap<String, u64>,
}

/// A running server; stops when dropped.
pub struct ServerHandle {
    pub addr: SocketAddr,
    config: ServerConfig,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

pub struct Server;

impl Server {
    /// Starts a server on 127.0.0.1 on its own thread and runtime, so it outlives any test runtime.
    pub fn spawn(config: ServerConfig) -> std::io::Result<ServerHandle> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared::default());
        let (shutdown, stop) = oneshot::channel();
        let thread = {
            let (config, shared) = (config.clone(), shared.clone());
            std::thread::Builder::new()
                .name(format!("tds-server-{}", addr.port()))
                .spawn(move || {
                    runtime.block_on(async move {
                        let listener =
                            tokio::net::TcpListener::from_std(listener).expect("inside the runtime");
                        tokio::select! {
                            () = connection::accept(listener, config, shared) => {}
                            _ = stop => {}
                        }
                    });
                    // Connection tasks die with the runtime; their sessions roll back on their threads.
                    runtime.shutdown_timeout(Duration::from_secs(1));
                })?
        };
        Ok(ServerHandle {
            addr,
            config,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }
}

impl ServerHandle {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// An ADO.NET connection string for this server and `database`. `Encrypt=DANGER_PLAINTEXT`, not
    /// `Encrypt=false`: the server has no TLS, and tiberius built with a TLS backend turns
    /// `Encrypt=false` into login-only encryption, which needs TLS.
    pub fn connection_string(&self, database: &str) -> String {
        format!(
            "Server=tcp:127.0.0.1,{};Database={};User Id={};Password={};Encrypt=DANGER_PLAINTEXT;TrustServerCertificate=true",
            self.port(),
            ado_value(database),
            ado_value(&self.config.user),
            ado_value(&self.config.password),
        )
    }

    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Zeroes the counters, empties the request log and restarts request numbering at 1.
    pub fn reset_stats(&self) {
        self.shared.reset()
    }

    /// Texts of the requests received since start or the last reset, in order.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests()
    }

    pub fn inject(&self, fault: Fault) {
        self.shared.inject(fault)
    }

    pub fn clear_faults(&self) {
        self.shared.clear_faults()
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Row order, as a fault: SQL Server returns rows in whatever order its plan produces them unless
/// the statement has an `ORDER BY`.
impl ServerHandle {
    /// While on, every SELECT returns its rows in a random order, as a heap scan or a parallel plan
    /// may: a statement without `ORDER BY` in any order, one with an `ORDER BY` sorted by it but with
    /// the rows it ties on (equal under the columns' collations) shuffled among themselves.
    pub fn shuffle_rows(&self, on: bool) {
        self.shared.set_shuffle(on)
    }
}

/// A connection-string value, quoted when it holds characters the format gives a meaning to.
fn ado_value(value: &str) -> String {
    if value.contains([';', '=', '\'', '"', '{']) || value.trim() != value {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_string_values_are_quoted_when_needed() {
        assert_eq!(ado_value("sa"), "sa");
        assert_eq!(ado_value("p;w\"d"), "\"p;w\"\"d\"");
        assert_eq!(ado_value(" x"), "\" x\"");
    }
}
