//! `routeflow serve`: the analysts' catalog over Arrow Flight SQL; `routeflow hash-password`: the
//! hash a user's entry in the config file holds.

use std::io::{BufRead, IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use routeflow::serve::{self, ServeConfig, Users};
use tracing::info;

use super::args::CatalogArgs;

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Address to listen on. Anything but loopback exposes the data to the network: use TLS and users.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// PEM certificate (chain) for TLS; with --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for TLS; with --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// A user and the Argon2 hash of their password, NAME:HASH (repeatable). Put these in the config
    /// file, `user = ["ana:$argon2id$..."]` under [serve]; make hashes with `routeflow hash-password`.
    #[arg(long = "user", value_name = "NAME:HASH")]
    users: Vec<String>,
    /// Let anyone connect without a password; only on a loopback --bind.
    #[arg(long)]
    no_auth: bool,
    /// Seconds a query may run before it is stopped.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    query_timeout: u64,
    /// Queries executing at once; more are refused with "try again".
    #[arg(long, value_name = "N", default_value_t = 4)]
    max_queries: usize,
}

/// Builds the catalog and serves it until SIGINT or SIGTERM.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let users = match (args.no_auth, args.users.is_empty()) {
        (true, false) => {
            return Err(routeflow::error::bad_input("--no-auth and --user exclude each other").into());
        }
        (true, true) => None,
        (false, _) => Some(Users::parse(&args.users)?),
    };
    let tls = args.tls_cert.clone().zip(args.tls_key.clone());
    let scheme = if tls.is_some() { "grpc+tls" } else { "grpc" };
    let config = ServeConfig {
        catalog: args.catalog.config(),
        bind: SocketAddr::new(args.bind, args.port),
        tls,
        users,
        query_timeout: Duration::from_secs(args.query_timeout.max(1)),
        max_queries: args.max_queries,
    };
    let shutdown = super::signals::install()?;
    serve::serve(config, shutdown, |addr| {
        // On standard output, for scripts and tests that start the server on port 0.
        println!("listening on {scheme}://{addr}");
        let _ = std::io::stdout().flush();
        info!(address = %addr, tls = args.tls_cert.is_some(), auth = !args.no_auth, "serving Flight SQL");
    })
    .await?;
    info!("server stopped");
    Ok(())
}

/// Reads a password (the first line of standard input, or a prompt on a terminal) and prints its
/// Argon2id hash for the config file.
pub fn hash_password() -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password (shown as you type; this only prints its hash): ");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(routeflow::error::bad_input("an empty password").into());
    }
    println!("{}", serve::hash_password(password)?);
    Ok(())
}
