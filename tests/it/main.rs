//! Integration tests: one binary (every test binary links DataFusion), one module per theme.

mod cli;
mod map;
mod mssql;
mod pipeline;
mod rules;
mod snapshots;
mod sources;
mod sql;
mod support;
