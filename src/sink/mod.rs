//! Sinks: where the result table goes. Each is a DataFusion `DataSink` behind a write-only table, so
//! the plan's output reaches it through DataFusion's insert path. Files now; SQL Server implements the
//! same trait.

pub mod parquet;
