//! Integration tests: one binary (every test binary links DataFusion), one module per theme.

mod cli;
mod files_output;
mod malformed;
mod map;
mod map_image;
mod mssql;
mod pipeline;
mod properties;
mod rules;
mod serve;
mod snapshots;
mod soak;
mod sources;
mod sql;
mod support;
mod validate;
