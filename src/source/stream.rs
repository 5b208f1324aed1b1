//! What the sources' scan operators share: a leaf `ExecutionPlan` that streams one table's rows, cast
//! to the canonical schema, with DataFusion's plumbing written once.
//!
//! A source implements [`SourceScan`] (its EXPLAIN line and how one partition streams) and hands
//! DataFusion a [`ScanExec`] around it.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, SendableRecordBatchStream,
};

/// A source table's scan, less the `ExecutionPlan` plumbing.
pub trait SourceScan: fmt::Debug + Send + Sync + 'static {
    /// The operator's name in plans, e.g. `FileScanExec`.
    const NAME: &'static str;

    /// The operator's EXPLAIN line; `schema` is its (projected) output schema.
    fn fmt_as(&self, schema: &SchemaRef, f: &mut fmt::Formatter) -> fmt::Result;

    /// Streams output partition `partition`, whose batches have `schema`.
    fn execute(
        &self,
        partition: usize,
        schema: &SchemaRef,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream>;
}

/// A leaf operator around a [`SourceScan`]: a bounded read of `partitions` partitions that emits
/// batches as they are read, with no children and no expressions.
#[derive(Debug)]
pub struct ScanExec<S> {
    scan: S,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl<S: SourceScan> ScanExec<S> {
    pub fn new(scan: S, schema: SchemaRef, partitions: usize) -> Self {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Self {
            scan,
            schema,
            properties,
        }
    }
}

/// The names of `schema`'s columns, comma-separated, for EXPLAIN lines.
pub fn column_list(schema: &SchemaRef) -> String {
    let cols: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    cols.join(", ")
}

impl<S: SourceScan> DisplayAs for ScanExec<S> {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        self.scan.fmt_as(&self.schema, f)
    }
}

impl<S: SourceScan> ExecutionPlan for ScanExec<S> {
    fn name(&self) -> &str {
        S::NAME
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        self.scan.execute(partition, &self.schema, context)
    }
}
