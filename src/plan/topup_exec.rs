//! The top-up stage as a DataFusion table: `topup` holds the prospects added to short routes.
//!
//! [`TopUpTable`] is a `TableProvider` whose scan plans the three SQL views it depends on
//! (`topup_routes`, `route_barangays`, `eligible_prospects`) and puts them under [`TopUpExec`], which
//! collects them and runs the greedy allocation of [`super::topup`]. The allocation is global (routes
//! compete for prospects), so it runs once, on one partition.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt32Array,
};
use arrow::compute::{SortOptions, concat_batches, take, take_record_batch};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::HashMap;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{
    EquivalenceProperties, LexRequirement, OrderingRequirements, PhysicalExpr, PhysicalSortRequirement,
};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream, collect,
};
use datafusion::prelude::SessionContext;

use tracing::debug;

use super::topup::{self, Assignment, Prospect, ShortRoute};
use crate::names::column::{
    BARANGAY, CENTROID_LAT, CENTROID_LON, CODE, DISTANCE_KM, LATITUDE, LONGITUDE, NAME, NEED, ROUTE_IDX,
    STAGE, STORE_NAME_NIELSEN, TDLINX,
};
use crate::names::{AGENT_ID, CUST_NO, DISTRIBUTOR_ID, ROUTE_DATE, view};

/// Columns of `topup`.
pub fn topup_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(DISTRIBUTOR_ID, DataType::Utf8, true),
        Field::new(AGENT_ID, DataType::Utf8, true),
        Field::new(ROUTE_DATE, DataType::Date32, true),
        Field::new(CUST_NO, DataType::Utf8, true),
        Field::new(NAME, DataType::Utf8, true),
        Field::new(LATITUDE, DataType::Float64, true),
        Field::new(LONGITUDE, DataType::Float64, true),
        Field::new(STAGE, DataType::Utf8, false),
        Field::new(DISTANCE_KM, DataType::Float64, true),
    ]))
}

/// The `topup` table: computed on scan from the views it depends on.
#[derive(Debug)]
pub struct TopUpTable {
    routes: LogicalPlan,
    barangays: LogicalPlan,
    prospects: LogicalPlan,
    radius_km: f64,
}

impl TopUpTable {
    /// Looks up the input views in `ctx`; they must be registered first.
    pub async fn new(ctx: &SessionContext, radius_km: f64) -> Result<Self> {
        Ok(Self {
            routes: ctx.table(view::TOPUP_ROUTES).await?.into_unoptimized_plan(),
            barangays: ctx.table(view::ROUTE_BARANGAYS).await?.into_unoptimized_plan(),
            prospects: ctx.table(view::ELIGIBLE_PROSPECTS).await?.into_unoptimized_plan(),
            radius_km,
        })
    }
}

#[async_trait]
impl TableProvider for TopUpTable {
    fn schema(&self) -> SchemaRef {
        topup_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let exec = TopUpExec::new(
            state.create_physical_plan(&self.routes).await?,
            state.create_physical_plan(&self.barangays).await?,
            state.create_physical_plan(&self.prospects).await?,
            self.radius_km,
        );
        let exec: Arc<dyn ExecutionPlan> = Arc::new(exec);
        match projection {
            None => Ok(exec),
            Some(p) => project(exec, p),
        }
    }
}

/// `input` with only the columns of `projection`, for a table scan asked for fewer columns.
pub(super) fn project(input: Arc<dyn ExecutionPlan>, projection: &[usize]) -> Result<Arc<dyn ExecutionPlan>> {
    use datafusion::physical_plan::projection::ProjectionExec;
    let schema = input.schema();
    let exprs: Vec<(Arc<dyn PhysicalExpr>, String)> = projection
        .iter()
        .map(|&i| {
            let name = schema.field(i).name().clone();
            (Arc::new(Column::new(&name, i)) as Arc<dyn PhysicalExpr>, name)
        })
        .collect();
    Ok(Arc::new(ProjectionExec::try_new(exprs, input)?))
}

/// Runs the allocation over its three collected inputs.
#[derive(Debug)]
pub struct TopUpExec {
    routes: Arc<dyn ExecutionPlan>,
    barangays: Arc<dyn ExecutionPlan>,
    prospects: Arc<dyn ExecutionPlan>,
    radius_km: f64,
    properties: Arc<PlanProperties>,
}

impl TopUpExec {
    fn new(
        routes: Arc<dyn ExecutionPlan>,
        barangays: Arc<dyn ExecutionPlan>,
        prospects: Arc<dyn ExecutionPlan>,
        radius_km: f64,
    ) -> Self {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(topup_schema()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        Self {
            routes,
            barangays,
            prospects,
            radius_km,
            properties,
        }
    }
}

impl DisplayAs for TopUpExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "TopUpExec: greedy by distance, radius_km={}", self.radius_km)
    }
}

impl ExecutionPlan for TopUpExec {
    fn name(&self) -> &str {
        "TopUpExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.routes, &self.barangays, &self.prospects]
    }

    /// The allocator's ties depend on routes in `route_idx` order and prospects in `tdlinx` order,
    /// so it asks for them sorted on one partition: DataFusion sorts each input partition on its
    /// own core and merges. (Sorted after the collect instead, the 0.6 M national tdlinx strings took
    /// about 0.15 s on the allocator's one thread.)
    fn required_input_distribution(&self) -> Vec<Distribution> {
        vec![
            Distribution::SinglePartition,
            Distribution::UnspecifiedDistribution,
            Distribution::SinglePartition,
        ]
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        vec![
            ascending(&self.routes, ROUTE_IDX),
            None,
            ascending(&self.prospects, TDLINX),
        ]
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
        let [routes, barangays, prospects]: [Arc<dyn ExecutionPlan>; 3] = children
            .try_into()
            .map_err(|_| DataFusionError::Internal("TopUpExec has three children".into()))?;
        Ok(Arc::new(TopUpExec::new(
            routes,
            barangays,
            prospects,
            self.radius_km,
        )))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "TopUpExec has one partition, not {partition}"
            )));
        }
        let routes = Arc::clone(&self.routes);
        let barangays = Arc::clone(&self.barangays);
        let prospects = Arc::clone(&self.prospects);
        let radius_km = self.radius_km;
        let threads = context.session_config().target_partitions();
        let stream = futures::stream::once(async move {
            let started = Instant::now();
            let (routes, barangays, prospects) = futures::try_join!(
                collect_one(routes, Arc::clone(&context)),
                collect_one(barangays, Arc::clone(&context)),
                collect_one(prospects, context),
            )?;
            let inputs_s = started.elapsed().as_secs_f64();
            let batch =
                tokio::task::spawn_blocking(move || run(&routes, &barangays, &prospects, radius_km, threads))
                    .await
                    .map_err(|e| DataFusionError::Execution(format!("top-up task failed: {e}")))??;
            // Where the stage's time goes: its input views, or the allocation itself.
            debug!(
                inputs_s,
                allocation_s = started.elapsed().as_secs_f64() - inputs_s,
                added = batch.num_rows(),
                "top-up allocated"
            );
            Ok(batch)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(topup_schema(), stream)))
    }
}

/// An ascending order on column `key` of `plan` (NULLs first, as `sort_to_indices` puts them).
fn ascending(plan: &Arc<dyn ExecutionPlan>, key: &str) -> Option<OrderingRequirements> {
    let index = plan.schema().index_of(key).ok()?;
    let column: Arc<dyn PhysicalExpr> = Arc::new(Column::new(key, index));
    LexRequirement::new([PhysicalSortRequirement::new(column, Some(SortOptions::default()))])
        .map(OrderingRequirements::new)
}

async fn collect_one(plan: Arc<dyn ExecutionPlan>, context: Arc<TaskContext>) -> Result<RecordBatch> {
    let schema = plan.schema();
    let batches = collect(plan, context).await?;
    Ok(concat_batches(&schema, &batches)?)
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| DataFusionError::Internal(format!("top-up input lacks column {name}")))
}

/// A column cast to the type the allocator reads, so the views may widen or narrow types freely.
fn typed(batch: &RecordBatch, name: &str, data_type: &DataType) -> Result<ArrayRef> {
    Ok(arrow::compute::cast(column(batch, name)?, data_type)?)
}

fn floats(batch: &RecordBatch, name: &str) -> Result<Float64Array> {
    Ok(typed(batch, name, &DataType::Float64)?
        .as_primitive::<Float64Type>()
        .clone())
}

fn ints(batch: &RecordBatch, name: &str) -> Result<Int64Array> {
    Ok(typed(batch, name, &DataType::Int64)?
        .as_primitive::<Int64Type>()
        .clone())
}

fn strings(batch: &RecordBatch, name: &str) -> Result<StringArray> {
    Ok(typed(batch, name, &DataType::Utf8)?.as_string::<i32>().clone())
}

/// Builds the allocator's inputs from the collected views, allocates, and builds the `topup` batch.
///
/// Routes must be in `route_idx` order (route key order) and prospects in `tdlinx` order, because
/// the allocator's ties depend on both: the operator requires that order and [`in_order`] makes sure.
fn run(
    routes: &RecordBatch,
    barangays: &RecordBatch,
    prospects: &RecordBatch,
    radius_km: f64,
    threads: usize,
) -> Result<RecordBatch> {
    let routes = in_order(routes, ROUTE_IDX)?;
    let prospects = in_order(prospects, TDLINX)?;
    let mut short = short_routes(&routes)?;
    // Codes are looked up by the string slices of the collected batch: no allocation per row.
    let codes = strings(barangays, CODE)?;
    let codes = add_barangays(
        &mut short,
        &ints(&routes, ROUTE_IDX)?,
        &ints(barangays, ROUTE_IDX)?,
        &codes,
    );
    let candidates = candidates(&prospects, &codes)?;
    let assigned = topup::allocate(&short, &candidates, radius_km, threads);
    topup_batch(&routes, &prospects, &assigned)
}

/// The allocator's routes, one per row of `routes`, without their barangays yet.
fn short_routes(routes: &RecordBatch) -> Result<Vec<ShortRoute>> {
    let (clat, clon) = (floats(routes, CENTROID_LAT)?, floats(routes, CENTROID_LON)?);
    let need = ints(routes, NEED)?;
    Ok((0..routes.num_rows())
        .map(|i| ShortRoute {
            centroid: (clat.is_valid(i) && clon.is_valid(i)).then(|| (clat.value(i), clon.value(i))),
            need: need.value(i).max(0) as usize,
            barangays: Vec::new(),
        })
        .collect())
}

/// Gives each short route (numbered by `route_idx`) the codes of `route_barangays` (rows `b_route`,
/// `b_code`) as small integers, numbered in order of first appearance; returns that numbering.
fn add_barangays<'a>(
    short: &mut [ShortRoute],
    route_idx: &Int64Array,
    b_route: &Int64Array,
    b_code: &'a StringArray,
) -> HashMap<&'a str, u32> {
    let position: HashMap<i64, usize> = route_idx
        .values()
        .iter()
        .enumerate()
        .map(|(i, &r)| (r, i))
        .collect();
    let mut codes: HashMap<&str, u32> = HashMap::new();
    for i in 0..b_route.len() {
        if let (Some(&r), true) = (position.get(&b_route.value(i)), b_code.is_valid(i)) {
            let next = codes.len() as u32;
            let id = *codes.entry(b_code.value(i)).or_insert(next);
            short[r].barangays.push(id);
        }
    }
    codes
}

/// The allocator's prospects, one per row of `prospects`, with their barangay's number in `codes`.
fn candidates(prospects: &RecordBatch, codes: &HashMap<&str, u32>) -> Result<Vec<Prospect>> {
    let (plat, plon) = (floats(prospects, LATITUDE)?, floats(prospects, LONGITUDE)?);
    let pcode = strings(prospects, BARANGAY)?;
    Ok((0..prospects.num_rows())
        .map(|i| Prospect {
            lat: plat.value(i),
            lon: plon.value(i),
            barangay: pcode
                .is_valid(i)
                .then(|| codes.get(pcode.value(i)).copied())
                .flatten(),
        })
        .collect())
}

/// The `topup` rows: each assigned prospect with its route's key.
fn topup_batch(
    routes: &RecordBatch,
    prospects: &RecordBatch,
    assigned: &[Assignment],
) -> Result<RecordBatch> {
    let r_idx = UInt32Array::from_iter_values(assigned.iter().map(|a| a.route as u32));
    let p_idx = UInt32Array::from_iter_values(assigned.iter().map(|a| a.prospect as u32));
    let take_col = |batch: &RecordBatch, name: &str, idx: &UInt32Array| -> Result<ArrayRef> {
        Ok(take(column(batch, name)?, idx, None)?)
    };
    let columns: Vec<ArrayRef> = vec![
        take_col(routes, DISTRIBUTOR_ID, &r_idx)?,
        take_col(routes, AGENT_ID, &r_idx)?,
        take_col(routes, ROUTE_DATE, &r_idx)?,
        take_col(prospects, TDLINX, &p_idx)?,
        take_col(prospects, STORE_NAME_NIELSEN, &p_idx)?,
        take_col(prospects, LATITUDE, &p_idx)?,
        take_col(prospects, LONGITUDE, &p_idx)?,
        Arc::new(StringArray::from_iter_values(
            assigned.iter().map(|a| a.stage.as_str()),
        )),
        Arc::new(assigned.iter().map(|a| a.distance_km).collect::<Float64Array>()),
    ];
    Ok(RecordBatch::try_new(topup_schema(), columns)?)
}

/// `batch` ordered by `key`. The operator requires that order of its input, so this only checks it
/// (one comparison per row) and sorts when a plan did not keep it.
fn in_order(batch: &RecordBatch, key: &str) -> Result<RecordBatch> {
    let keys = column(batch, key)?;
    let ordered = {
        let compare = arrow::array::make_comparator(keys, keys, Default::default())?;
        (1..batch.num_rows()).all(|i| compare(i - 1, i).is_le())
    };
    if ordered {
        return Ok(batch.clone());
    }
    let order = arrow::compute::sort_to_indices(keys, None, None)?;
    Ok(take_record_batch(batch, &order)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(ids: &[&str], n: &[i64]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("tdlinx", DataType::Utf8, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(ids.to_vec())),
            Arc::new(Int64Array::from(n.to_vec())),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }

    #[test]
    fn in_order_keeps_sorted_input_and_sorts_the_rest() {
        let sorted = batch(&["A1", "A2", "B"], &[1, 2, 3]);
        assert_eq!(in_order(&sorted, "tdlinx").unwrap(), sorted);
        let shuffled = batch(&["B", "A1", "A2"], &[3, 1, 2]);
        assert_eq!(in_order(&shuffled, "tdlinx").unwrap(), sorted);
    }
}
