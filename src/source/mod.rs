//! Sources: where the five input tables come from.
//!
//! A source hands the plan one DataFusion `TableProvider` per contract table, already in canonical
//! types and with a source-order ordinal column: files ([`file`]) or SQL Server ([`mssql`]).

pub mod bad_value;
pub mod canonical;
pub mod empty;
pub mod file;
pub mod location;
pub mod mssql;
pub mod spill;
pub mod stream;

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::TableProvider;
use datafusion::error::Result;

/// Somewhere the contract's tables can be read from.
#[async_trait]
pub trait Source: Send + Sync + std::fmt::Debug {
    /// A short description for logs and the run summary (never holds secrets).
    fn describe(&self) -> String;
    /// Opens `table`, checking it exists and has the contract's columns.
    async fn table(&self, table: &str) -> Result<Arc<dyn TableProvider>>;
    /// Whether a batch run should read each table once (into temporary files): a live database may
    /// change between scans (and an in-place write changes the plan table itself), files do not.
    fn cache_reads(&self) -> bool {
        false
    }
}
