//! Integration tests: one binary (every test binary links DataFusion), one module per theme.

mod cli;
mod pipeline;
mod rules;
mod sources;
mod support;
