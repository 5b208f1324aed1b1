//! Sources: where the five input tables come from.
//!
//! A source hands the plan one DataFusion `TableProvider` per contract table, already in canonical
//! types and with a source-order ordinal column. Files now; SQL Server implements the same trait.

pub mod canonical;
pub mod file;
pub mod location;

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
}
