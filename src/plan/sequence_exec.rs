//! The sequencing stage as a DataFusion table: `route_stops` is every stop of `sequence_input` with
//! its `stop_no`, and its route's `route_km` and `nn_km`, appended.
//!
//! [`SequenceTable`] is a `TableProvider` whose scan plans the `sequence_input` view and puts it under
//! [`SequenceExec`]. The operator asks for its input hash-partitioned by route key, which the view's
//! join with `routes` already is, so routes are spread over all cores and each partition holds whole
//! routes. It groups a partition's rows by `route_idx` (an integer sort of row numbers, no row is
//! moved), sequences each route with [`sequence_route`] on plain arrays, and appends the three result
//! columns to the rows as they came. Filters on the route key are pushed into the input, so an
//! analyst asking for one route sequences only that route. Each route sequenced is counted on the
//! progress handle the run passes in ([`Sequencing::progress`]).

use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int32Array, RecordBatch};
use arrow::compute::{concat_batches, sort_to_indices};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, TableProviderFilterPushDown};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;

use super::geo::MANILA;
use super::sequence::{SequenceMode, sequence_route};
use super::topup_exec::project;
use crate::names::column::{DEPOT_LAT, DEPOT_LON, LATITUDE, LONGITUDE, NN_KM, ROUTE_IDX, ROUTE_KM, STOP_NO};
use crate::names::{CUST_NO, ROUTE_KEY, view};
use crate::progress::Progress;

/// What sequencing reads from `sequence_input`, in the order [`sequence_partition`] takes it.
const INPUT_COLUMNS: [&str; 6] = [ROUTE_IDX, CUST_NO, LATITUDE, LONGITUDE, DEPOT_LAT, DEPOT_LON];

/// How routes are sequenced, and where finished routes are counted.
#[derive(Debug, Clone)]
pub struct Sequencing {
    pub mode: SequenceMode,
    /// StopNo of stops without coordinates (at least N + 1).
    pub no_coords_stop: i32,
    /// Counts every sequenced route, for the progress a batch run shows; `None` when nobody watches
    /// (analysts' queries, `explain`).
    pub progress: Option<Progress>,
}

/// The `route_stops` table: computed on scan from the `sequence_input` view.
#[derive(Debug)]
pub struct SequenceTable {
    input: LogicalPlan,
    schema: SchemaRef,
    sequencing: Sequencing,
}

impl SequenceTable {
    /// Looks up `sequence_input` in `ctx`; it must be registered first.
    pub async fn new(ctx: &SessionContext, sequencing: Sequencing) -> Result<Self> {
        let input = ctx.table(view::SEQUENCE_INPUT).await?.into_unoptimized_plan();
        let schema = output_schema(input.schema().inner());
        Ok(Self {
            input,
            schema,
            sequencing,
        })
    }
}

/// The input's columns followed by the three results.
fn output_schema(input: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(STOP_NO, DataType::Int32, false));
    fields.push(Field::new(ROUTE_KM, DataType::Float64, false));
    fields.push(Field::new(NN_KM, DataType::Float64, false));
    Arc::new(Schema::new(fields))
}

/// Whether `expr` reads nothing but route key columns: such a filter keeps or drops whole routes, so
/// it may be applied before sequencing without changing the result of any route it keeps.
fn on_route_key(expr: &Expr) -> bool {
    let columns = expr.column_refs();
    !columns.is_empty() && columns.iter().all(|c| ROUTE_KEY.contains(&c.name.as_str()))
}

#[async_trait]
impl TableProvider for SequenceTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if on_route_key(f) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut input = LogicalPlanBuilder::from(self.input.clone());
        let route_filters: Vec<Expr> = filters.iter().filter(|f| on_route_key(f)).cloned().collect();
        if let Some(predicate) = conjunction(route_filters) {
            input = input.filter(predicate)?;
        }
        let input = state.create_physical_plan(&input.build()?).await?;
        let exec: Arc<dyn ExecutionPlan> = Arc::new(SequenceExec::try_new(input, self.sequencing.clone())?);
        match projection {
            None => Ok(exec),
            Some(p) => project(exec, p),
        }
    }
}

/// Sequences the routes of each input partition.
#[derive(Debug)]
pub struct SequenceExec {
    input: Arc<dyn ExecutionPlan>,
    sequencing: Sequencing,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    /// Input column indices of [`INPUT_COLUMNS`].
    columns: [usize; 6],
    /// Rows out and time spent sequencing, per partition (EXPLAIN ANALYZE).
    metrics: ExecutionPlanMetricsSet,
}

impl SequenceExec {
    pub fn try_new(input: Arc<dyn ExecutionPlan>, sequencing: Sequencing) -> Result<Self> {
        let input_schema = input.schema();
        let mut columns = [0; 6];
        for (slot, name) in columns.iter_mut().zip(INPUT_COLUMNS) {
            *slot = input_schema
                .index_of(name)
                .map_err(|_| DataFusionError::Internal(format!("sequence_input lacks column {name}")))?;
        }
        let schema = output_schema(&input_schema);
        // Output partitions are the input's, with the same rows in the same order.
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            input.properties().output_partitioning().clone(),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        Ok(Self {
            input,
            sequencing,
            schema,
            properties,
            columns,
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }
}

impl DisplayAs for SequenceExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "SequenceExec: mode={:?}, no_coords_stop={}",
            self.sequencing.mode, self.sequencing.no_coords_stop
        )
    }
}

impl ExecutionPlan for SequenceExec {
    fn name(&self) -> &str {
        "SequenceExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        let schema = self.input.schema();
        let keys = ROUTE_KEY
            .iter()
            .filter_map(|k| {
                schema
                    .index_of(k)
                    .ok()
                    .map(|i| Arc::new(Column::new(k, i)) as Arc<dyn PhysicalExpr>)
            })
            .collect();
        vec![Distribution::KeyPartitioned(keys)]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [input]: [Arc<dyn ExecutionPlan>; 1] = children
            .try_into()
            .map_err(|_| DataFusionError::Internal("SequenceExec has one child".into()))?;
        Ok(Arc::new(SequenceExec::try_new(input, self.sequencing.clone())?))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, Arc::clone(&context))?;
        let input_schema = self.input.schema();
        let schema = Arc::clone(&self.schema);
        let (sequencing, columns) = (self.sequencing.clone(), self.columns);
        let baseline = BaselineMetrics::new(&self.metrics, partition);
        let stream = futures::stream::once(async move {
            let batches: Vec<RecordBatch> = input.try_collect().await?;
            // Sequencing is seconds of pure CPU per partition: on the blocking pool, not on a tokio
            // worker, where it holds up every task queued behind it. Run on the workers, the stage
            // ended with one core idle for most of a second, most likely another partition's task
            // waiting behind a busy worker; on the blocking pool both partitions run to the end.
            let out = tokio::task::spawn_blocking(move || {
                sequence_batches(batches, &input_schema, &schema, columns, &sequencing, &baseline)
            })
            .await
            .map_err(|e| DataFusionError::Execution(format!("sequencing task failed: {e}")))??;
            Ok::<_, DataFusionError>(futures::stream::iter(out.into_iter().map(Ok)))
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }
}

/// Sequences the rows of one partition (whole routes) and appends stop_no, route_km and nn_km to
/// each of its batches.
fn sequence_batches(
    batches: Vec<RecordBatch>,
    input_schema: &SchemaRef,
    schema: &SchemaRef,
    columns: [usize; 6],
    sequencing: &Sequencing,
    baseline: &BaselineMetrics,
) -> Result<Vec<RecordBatch>> {
    let timer = baseline.elapsed_compute().timer();
    // Only the six columns sequencing reads are copied into one batch; the rows themselves stay in
    // their batches, which get the results appended (a copy of every column would double the
    // stage's memory at its peak).
    let keys: Vec<RecordBatch> = batches
        .iter()
        .map(|b| b.project(&columns))
        .collect::<std::result::Result<_, _>>()?;
    let key_schema = Arc::new(input_schema.project(&columns)?);
    let keys = concat_batches(&key_schema, &keys)?;
    let [stop_no, route_km, nn_km] = sequence_partition(&keys, sequencing)?;
    let mut offset = 0;
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let n = batch.num_rows();
        let mut cols = batch.columns().to_vec();
        cols.extend([&stop_no, &route_km, &nn_km].map(|c| c.slice(offset, n)));
        out.push(RecordBatch::try_new(Arc::clone(schema), cols)?);
        offset += n;
    }
    timer.done();
    baseline.record_output(offset);
    baseline.done();
    Ok(out)
}

/// Sequences every route of `rows` (whole routes, any order; the columns of [`INPUT_COLUMNS`]) and
/// returns stop_no, route_km and nn_km per row.
fn sequence_partition(rows: &RecordBatch, sequencing: &Sequencing) -> Result<[ArrayRef; 3]> {
    let n = rows.num_rows();
    let route = arrow::compute::cast(rows.column(0), &DataType::Int64)?;
    let route = route.as_primitive::<Int64Type>();
    let cust = arrow::compute::cast(rows.column(1), &DataType::Utf8)?;
    let cust = cust.as_string::<i32>();
    let float = |i: usize| arrow::compute::cast(rows.column(i), &DataType::Float64);
    let (lat, lon, dlat, dlon) = (float(2)?, float(3)?, float(4)?, float(5)?);
    let (lat, lon) = (
        lat.as_primitive::<Float64Type>(),
        lon.as_primitive::<Float64Type>(),
    );
    let (dlat, dlon) = (
        dlat.as_primitive::<Float64Type>(),
        dlon.as_primitive::<Float64Type>(),
    );

    // Row numbers grouped by route: only the numbers are sorted, the rows stay where they are.
    let order = sort_to_indices(route, None, None)?;
    let order = order.values();
    let mut stop_no = vec![0i32; n];
    let mut route_km = vec![0f64; n];
    let mut nn_km = vec![0f64; n];
    let (mut cust_no, mut coords) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < n {
        let key = route.value(order[start] as usize);
        let mut end = start + 1;
        while end < n && route.value(order[end] as usize) == key {
            end += 1;
        }
        let members = &order[start..end];
        cust_no.clear();
        coords.clear();
        for &r in members {
            let r = r as usize;
            cust_no.push(cust.is_valid(r).then(|| cust.value(r)));
            coords.push((lat.is_valid(r) && lon.is_valid(r)).then(|| (lat.value(r), lon.value(r))));
        }
        let depot = members
            .iter()
            .map(|&r| r as usize)
            .find(|&r| dlat.is_valid(r) && dlon.is_valid(r))
            .map(|r| (dlat.value(r), dlon.value(r)))
            .unwrap_or(MANILA);
        let seq = sequence_route(
            &cust_no,
            &coords,
            depot,
            sequencing.mode,
            sequencing.no_coords_stop,
        );
        for (&r, &s) in members.iter().zip(&seq.stop_no) {
            let r = r as usize;
            stop_no[r] = s;
            route_km[r] = seq.route_km;
            nn_km[r] = seq.nn_km;
        }
        if let Some(progress) = &sequencing.progress {
            progress.add_done(1);
        }
        start = end;
    }
    Ok([
        Arc::new(Int32Array::from(stop_no)),
        Arc::new(Float64Array::from(route_km)),
        Arc::new(Float64Array::from(nn_km)),
    ])
}
