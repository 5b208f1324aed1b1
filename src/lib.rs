//! routeflow: turns a distributor's monthly route plan into optimized daily routes.
//!
//! Data flows source → plan → sink:
//! - [`source`]: the five contract tables as DataFusion table providers (files or SQL Server), cast
//!   to the canonical types of [`schema`];
//! - [`plan`]: the SQL stages of `plans/` as views in one `SessionContext`, plus the top-up allocation
//!   and the sequencing operator;
//! - [`sink`]: the result table written through a DataFusion `DataSink` (Parquet or SQL Server).
//!
//! [`mssql`] holds what the SQL Server source and sink share (pool, catalog, type mapping).
//!
//! [`names`] holds the names SQL and Rust share (route key, stage views, their columns).
//!
//! [`run`] wires them together for a batch run and produces the [`summary`]; [`snapshot`] keeps what a
//! run read and wrote for auditors, [`sql`] lets analysts query sources, stages and snapshots, and
//! [`map`] draws a run's routes for planners. [`validate`] reports what is wrong with the input
//! data, with the same stage views, without writing anything.

pub mod config;
pub mod copy;
pub mod error;
pub mod generate;
pub mod map;
pub mod memory;
pub mod mssql;
pub mod names;
pub mod plan;
pub mod progress;
pub mod redact;
pub mod run;
pub mod schema;
pub mod serve;
pub mod shutdown;
pub mod sink;
pub mod snapshot;
pub mod source;
pub mod sql;
pub mod summary;
pub mod validate;
