//! Sinks: where the result table goes. Each is a DataFusion `DataSink` behind a write-only table
//! ([`SinkTable`]), so the plan's output reaches it through DataFusion's insert path: Parquet files
//! ([`parquet`]) or SQL Server ([`mssql`]).

pub mod mssql;
pub mod parquet;

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::physical_plan::ExecutionPlan;

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
        Err(DataFusionError::Plan(
            "an output table can be written, not read".into(),
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
