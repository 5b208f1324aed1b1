//! `routeflow serve`: the analysts' catalog (the same one `routeflow sql` builds: sources, every stage
//! view, snapshots) over Arrow Flight SQL, the protocol ADBC drivers, the Flight SQL JDBC driver
//! (DBeaver, DataGrip) and Arrow-native notebooks speak. Read-only, authenticated, TLS when given a
//! certificate, and with a timeout and a cap on concurrent queries.

pub mod auth;
mod metadata;
mod prepared;
mod query;
mod service;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use datafusion::error::{DataFusionError, Result};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};

pub use auth::{Auth, Users, hash_password};
pub use query::{Limits, number_placeholders};
pub use service::RouteflowFlightSql;

use crate::shutdown::Shutdown;
use crate::sql::{self, CatalogConfig};

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub catalog: CatalogConfig,
    pub bind: SocketAddr,
    /// PEM certificate chain and private key; without them the server speaks plain gRPC.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `None`: `--no-auth` (loopback only).
    pub users: Option<Users>,
    pub query_timeout: Duration,
    pub max_queries: usize,
}

impl ServeConfig {
    /// Refuses an open door: no users without `--no-auth`, and `--no-auth` only on loopback.
    pub fn check(&self) -> Result<()> {
        match &self.users {
            None if !self.bind.ip().is_loopback() => Err(crate::error::bad_input(format!(
                "--no-auth is only allowed on a loopback address, not {}: anyone who can reach it could query the data",
                self.bind.ip()
            ))),
            Some(users) if users.is_empty() => Err(crate::error::bad_input(
                "no users: add `user = [\"NAME:HASH\"]` under [serve] in the config file \
                 (make the hash with `routeflow hash-password`), or pass --no-auth on a loopback address",
            )),
            _ => Ok(()),
        }
    }
}

/// Builds the catalog, listens, and serves until `shutdown` asks to stop; `listening` is told the
/// address (useful with port 0) once the socket is bound.
pub async fn serve(
    config: ServeConfig,
    shutdown: Shutdown,
    listening: impl FnOnce(SocketAddr),
) -> Result<()> {
    config.check()?;
    let ctx = sql::catalog(&config.catalog).await?;
    let auth = match config.users.clone() {
        Some(users) => Auth::users(users),
        None => std::sync::Arc::new(Auth::Disabled),
    };
    let service = RouteflowFlightSql::new(ctx, auth, Limits::new(config.query_timeout, config.max_queries));
    let mut server = Server::builder();
    if let Some((cert, key)) = &config.tls {
        server = server
            .tls_config(ServerTlsConfig::new().identity(identity(cert, key)?))
            .map_err(|e| crate::error::bad_input(format!("TLS: {e}")))?;
    }
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| DataFusionError::Execution(format!("cannot listen on {}: {e}", config.bind)))?;
    listening(listener.local_addr()?);
    server
        .add_service(FlightServiceServer::new(service).max_decoding_message_size(64 << 20))
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async move {
            shutdown.wait().await;
        })
        .await
        .map_err(|e| DataFusionError::Execution(format!("the Flight SQL server stopped: {e}")))
}

/// The certificate and key, read now so a wrong path fails at start with its name.
fn identity(cert: &PathBuf, key: &PathBuf) -> Result<Identity> {
    let read = |p: &PathBuf| {
        std::fs::read(p).map_err(|e| crate::error::bad_input(format!("cannot read {}: {e}", p.display())))
    };
    Ok(Identity::from_pem(read(cert)?, read(key)?))
}
