//! Sinks: where the result table goes. Each is a DataFusion `DataSink` behind a write-only table
//! ([`SinkTable`]), so the plan's output reaches it through DataFusion's insert path: Parquet files
//! ([`parquet`]) or SQL Server ([`mssql`]).
//!
//! A batch run sees each as an [`output::Output`], which builds its sink, writes through it and
//! reports what it did: [`parquet_output`] and [`mssql_output`]. Another kind of output is one more
//! file implementing that trait.

pub mod file_lock;
pub mod mssql;
pub mod mssql_output;
pub mod output;
pub mod parquet;
pub mod parquet_output;
pub mod publish;

use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::UInt64Type;
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::datasource::TableType;
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

/// The write-only table a run's result is written into ([`write_through`]).
pub const OUTPUT_TABLE: &str = "route_plan_output";

/// A write-only table over a sink, so results reach it through DataFusion's own insert path
/// (`DataFrame::write_table` / `INSERT INTO`).
#[derive(Debug)]
pub struct SinkTable {
    sink: Arc<dyn DataSink>,
}

impl SinkTable {
    pub fn new(sink: Arc<dyn DataSink>) -> Self {
        Self { sink }
    }
}

#[async_trait]
impl TableProvider for SinkTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(self.sink.schema())
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Err(crate::error::internal(
            "an output table can be written, not read",
            None,
        ))
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if insert_op != InsertOp::Append && insert_op != InsertOp::Overwrite {
            return Err(DataFusionError::NotImplemented(format!(
                "{insert_op} into an output table"
            )));
        }
        Ok(Arc::new(DataSinkExec::new(input, Arc::clone(&self.sink), None)))
    }
}

/// Writes `data` into `sink` through DataFusion's insert path, registering the sink on `ctx` as the
/// write-only table `name`; returns the row count the sink reported.
pub async fn write_through(
    ctx: &SessionContext,
    name: &str,
    sink: Arc<dyn DataSink>,
    data: DataFrame,
) -> Result<u64> {
    ctx.register_table(name, Arc::new(SinkTable::new(sink)))?;
    let counts = data.write_table(name, DataFrameWriteOptions::new()).await?;
    sink_count(&counts)
}

/// The row count a `DataSinkExec` reports.
pub fn sink_count(batches: &[RecordBatch]) -> Result<u64> {
    Ok(batches
        .iter()
        .map(|b| {
            b.column(0)
                .as_primitive::<UInt64Type>()
                .values()
                .iter()
                .sum::<u64>()
        })
        .sum())
}
