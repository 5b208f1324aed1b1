//! How a run, `sql` or `copy` reaches SQL Server when an input or output is `mssql`: the options
//! the command line gathers, the connection pool they open, and the source and sink settings they
//! give.

use std::sync::Arc;
use std::time::Duration;

use datafusion::error::Result;

use crate::mssql::conn::{self, Mssql, MssqlOptions};
use crate::redact::redact;
use crate::sink::mssql::{MssqlSinkOptions, WriteMode};
use crate::source::Source;
use crate::source::mssql::MssqlSource;

/// The `--input` / `--output` word that selects SQL Server.
pub const MSSQL: &str = "mssql";

/// Whether an `--input`/`--output`/`--from`/`--to` value means SQL Server.
pub fn is_mssql(location: &str) -> bool {
    location.eq_ignore_ascii_case(MSSQL)
}

/// How to reach SQL Server and write to it, when the input or output is `mssql`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MssqlRunOptions {
    /// ADO.NET connection string; serialized without its password.
    #[serde(serialize_with = "serialize_redacted")]
    pub connection_string: Option<String>,
    pub connect_timeout_s: f64,
    pub query_timeout_s: f64,
    /// Rows per Arrow batch read.
    pub batch_rows: usize,
    pub write: WriteMode,
    /// Fail instead of truncating values longer than their column.
    pub strict_widths: bool,
    /// Retries of a partition after a transient error, and the first wait in milliseconds.
    pub retries: u32,
    pub retry_backoff_ms: u64,
}

impl Default for MssqlRunOptions {
    fn default() -> Self {
        Self {
            connection_string: None,
            connect_timeout_s: conn::DEFAULT_CONNECT_TIMEOUT.as_secs_f64(),
            query_timeout_s: conn::DEFAULT_QUERY_TIMEOUT.as_secs_f64(),
            batch_rows: crate::source::mssql::DEFAULT_BATCH_ROWS,
            write: WriteMode::InPlace,
            strict_widths: false,
            retries: 3,
            retry_backoff_ms: 500,
        }
    }
}

fn serialize_redacted<S: serde::Serializer>(
    v: &Option<String>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_some(&redact(v)),
        None => s.serialize_none(),
    }
}

impl MssqlRunOptions {
    /// A pool of `pool_size` connections; the connection string must be set.
    pub fn connect(&self, pool_size: usize) -> Result<Arc<Mssql>> {
        let connection_string = self.connection_string.clone().ok_or_else(|| {
            crate::error::bad_input(format!(
                "SQL Server needs a connection string: set {} (or --mssql, which other users can see in the process list)",
                conn::MSSQL_ENV
            ))
        })?;
        let seconds = |s: f64, what: &str| {
            Duration::try_from_secs_f64(s)
                .map_err(|e| crate::error::bad_input(format!("--mssql-{what}-timeout: {e}")))
        };
        Mssql::new(&MssqlOptions {
            connection_string,
            connect_timeout: seconds(self.connect_timeout_s, "connect")?,
            query_timeout: seconds(self.query_timeout_s, "query")?,
            pool_size: u32::try_from(pool_size.max(1)).unwrap_or(u32::MAX),
        })
    }

    /// SQL Server as the input: the plan's tables read over `concurrency` connections.
    pub fn source(&self, concurrency: usize) -> Result<Arc<dyn Source>> {
        Ok(Arc::new(MssqlSource::new(
            self.connect(concurrency)?,
            self.batch_rows,
            concurrency,
        )))
    }

    /// How the SQL Server sink writes, with `concurrency` partitions at once; a `--write table`
    /// name that is not a plain identifier is refused here, before anything is read or written.
    pub fn sink_options(&self, concurrency: usize) -> Result<MssqlSinkOptions> {
        self.write.check()?;
        Ok(MssqlSinkOptions {
            mode: self.write.clone(),
            strict_widths: self.strict_widths,
            concurrency,
            retries: self.retries,
            backoff: Duration::from_millis(self.retry_backoff_ms),
        })
    }
}
