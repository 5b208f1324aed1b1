//! A SQL Server stand-in for tests: speaks TDS 7.4 as tiberius uses it, checks every statement with
//! sqlparser's `MsSqlDialect` (so T-SQL that SQL Server would reject is rejected here too), and runs it
//! on SQLite. Dev and test only; never shipped.
//!
//! - [`types`]: SQL Server types and values, shared by both halves;
//! - [`engine`]: T-SQL → SQLite, one [`engine::Session`] per connection (`#temp` tables are per session);
//! - [`protocol`]: TDS packets and tokens (PRELOGIN, LOGIN7, SQL batch, RPC, bulk load, results, errors);
//! - [`server`]: the TCP listener, per-connection loop, statement counters and fault injection.

pub mod engine;
pub mod protocol;
pub mod server;
pub mod types;

pub use server::{Fault, FaultAction, FaultMatch, Server, ServerConfig, ServerHandle, Stats};
