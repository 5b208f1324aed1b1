//! One check: SQL for its count, what the count is made of, and example rows, run over the tables
//! a run registers. Values a check needs (a coordinate reason, the matrix limit) are query
//! parameters, never SQL text.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::{DataFrame, SessionContext};

use super::{Example, Problem, Totals};

/// Column of an examples query holding the row's source position; every column before it names
/// the row.
pub const POSITION: &str = "source_position";
/// Column of an examples query saying what is wrong with the row.
pub const DETAIL: &str = "detail";

/// What a check's percentage is taken of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    /// No percentage (the lookup tables).
    None,
    PlanRow,
    Stop,
    Route,
}

/// The value bound to `$1` in every query of a check.
#[derive(Debug, Clone, Copy)]
pub enum Param {
    None,
    Text(&'static str),
    Int(i64),
}

/// One check: its key (the `--fail-on` key), the table it reports under, and its queries.
/// `count` returns one row with a BIGINT column `n`; `breakdown` rows of (label, n); `examples`
/// the row's key columns, then [`POSITION`] and [`DETAIL`], ordered as they should be shown.
#[derive(Debug)]
pub struct Check {
    pub key: &'static str,
    pub table: &'static str,
    pub description: &'static str,
    pub per: Per,
    pub param: Param,
    pub count: &'static str,
    pub breakdown: Option<&'static str>,
    pub examples: Option<&'static str>,
}

/// Views the checks share, over the registered stage tables. `validate_route_sizes` and
/// `validate_plan_month` are materialised: several checks read them.
const HELPERS: &[(&str, &str, bool)] = &[
    (
        // Every route's distinct stops and those with coordinates: a route with more than
        // MAX_MATRIX_STOPS of the latter is sequenced along the curve (src/plan/sequence.rs).
        "validate_route_sizes",
        "SELECT DistributorID, AgentID, RouteDate, COUNT(*) AS stops, COUNT(latitude) AS with_coords,
                MIN(first_ord) AS first_ord
         FROM plan_stops GROUP BY DistributorID, AgentID, RouteDate",
        true,
    ),
    (
        // The month most dated plan rows fall in (ties: the earlier month).
        "validate_plan_month",
        "SELECT month FROM (
           SELECT to_char(RouteDate, '%Y-%m') AS month, COUNT(*) AS n
           FROM MonthlyRoutePlan_temp WHERE RouteDate IS NOT NULL GROUP BY 1
         ) AS m ORDER BY n DESC, month LIMIT 1",
        true,
    ),
    (
        // The prospective row each tdlinx resolves to (the first in source order, as in
        // `prospect_first`), with its position.
        "validate_prospects",
        "SELECT p.tdlinx, p.latitude, p.longitude, p.barangay_code, p._src_ord, f.copies
         FROM prospective AS p
         JOIN (SELECT MIN(_src_ord) AS first_ord, COUNT(*) AS copies FROM prospective
               WHERE tdlinx IS NOT NULL GROUP BY tdlinx) AS f ON p._src_ord = f.first_ord",
        false,
    ),
];

/// Registers the views of [`HELPERS`] on `ctx`.
pub async fn register_helpers(ctx: &SessionContext) -> Result<()> {
    for (name, sql, materialise) in HELPERS {
        let df = ctx.sql(sql).await?;
        if *materialise {
            let schema = df.schema().inner().clone();
            let partitions = df.collect_partitioned().await?;
            ctx.register_table(*name, Arc::new(MemTable::try_new(schema, partitions)?))?;
        } else {
            ctx.register_table(*name, df.into_view())?;
        }
    }
    Ok(())
}

/// Plan rows, stops and routes; and the plan's month.
pub async fn totals(ctx: &SessionContext) -> Result<(Totals, Option<String>)> {
    let sql = "SELECT (SELECT COUNT(*) FROM MonthlyRoutePlan_temp) AS plan_rows,
                      (SELECT COUNT(*) FROM plan_stops) AS stops,
                      (SELECT COUNT(*) FROM routes) AS routes";
    let (counts, month) = futures::try_join!(
        collect(ctx, sql, Param::None),
        collect(ctx, "SELECT month FROM validate_plan_month", Param::None),
    )?;
    let counts = single(&counts)?;
    let int = |name: &str| first_int(&counts, name);
    let totals = Totals {
        plan_rows: int("plan_rows"),
        stops: int("stops"),
        routes: int("routes"),
    };
    let month = month
        .iter()
        .find(|b| b.num_rows() > 0)
        .and_then(|b| text(b.column(0), 0));
    Ok((totals, month))
}

/// Runs `check`: its count, breakdown, and up to `examples` example rows. Returns the table it
/// reports under, and the problem.
pub async fn run(
    ctx: &SessionContext,
    check: &'static Check,
    totals: &Totals,
    examples: usize,
) -> Result<(String, Problem)> {
    let count = first_int(&single(&collect(ctx, check.count, check.param).await?)?, "n");
    let breakdown = match check.breakdown {
        Some(sql) => labelled_counts(&collect(ctx, sql, check.param).await?),
        None => BTreeMap::new(),
    };
    let examples = match check.examples {
        Some(sql) if count > 0 && examples > 0 => {
            let df = query(ctx, sql, check.param).await?.limit(0, Some(examples))?;
            example_rows(&df.collect().await?)
        }
        _ => Vec::new(),
    };
    let problem = Problem {
        key: check.key,
        description: check.description,
        count,
        pct: pct(count, totals.of(check.per)),
        breakdown,
        examples,
    };
    Ok((check.table.to_string(), problem))
}

/// `count` in percent of `total`, to two decimals (0 of nothing is 0 %).
pub fn pct(count: u64, total: Option<u64>) -> Option<f64> {
    total.map(|t| match t {
        0 => 0.0,
        t => (count as f64 * 10_000.0 / t as f64).round() / 100.0,
    })
}

/// `sql` as a DataFrame with `$1` bound to `param`.
async fn query(ctx: &SessionContext, sql: &str, param: Param) -> Result<DataFrame> {
    let df = ctx.sql(sql).await?;
    Ok(match param {
        Param::None => df,
        Param::Text(v) => df.with_param_values(vec![ScalarValue::from(v)])?,
        Param::Int(v) => df.with_param_values(vec![ScalarValue::from(v)])?,
    })
}

async fn collect(ctx: &SessionContext, sql: &str, param: Param) -> Result<Vec<RecordBatch>> {
    query(ctx, sql, param).await?.collect().await
}

/// The single row of a one-row query.
fn single(batches: &[RecordBatch]) -> Result<RecordBatch> {
    let schema = batches
        .first()
        .map(|b| b.schema())
        .ok_or_else(|| DataFusionError::Internal("validate query returned nothing".into()))?;
    let batch = arrow::compute::concat_batches(&schema, batches)?;
    if batch.num_rows() != 1 {
        return Err(DataFusionError::Internal(format!(
            "validate query returned {} rows",
            batch.num_rows()
        )));
    }
    Ok(batch)
}

/// Column `name` of row 0 as a count (NULL: 0).
fn first_int(batch: &RecordBatch, name: &str) -> u64 {
    let col = batch.column_by_name(name).expect("count column");
    let col = cast(col, &DataType::Int64).expect("a count is an integer");
    let col = col.as_primitive::<Int64Type>();
    if col.is_null(0) {
        0
    } else {
        col.value(0).max(0) as u64
    }
}

/// Rows of (label, n) as a map; a NULL label is `NULL`.
fn labelled_counts(batches: &[RecordBatch]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for batch in batches {
        let counts = cast(batch.column(1), &DataType::Int64).expect("a count is an integer");
        let counts = counts.as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            let label = text(batch.column(0), i).unwrap_or_else(|| "NULL".to_string());
            *out.entry(label).or_insert(0) += counts.value(i).max(0) as u64;
        }
    }
    out
}

/// Row `i` of `array` as text (dates as `YYYY-MM-DD`); `None` for NULL.
pub fn text(array: &dyn Array, i: usize) -> Option<String> {
    if array.is_null(i) {
        return None;
    }
    arrow::util::display::array_value_to_string(array, i).ok()
}

/// The rows of an examples query: the columns before [`POSITION`] name the row.
fn example_rows(batches: &[RecordBatch]) -> Vec<Example> {
    let mut out = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        let position = schema.index_of(POSITION).ok();
        let detail = schema.index_of(DETAIL).ok();
        let keys = position.unwrap_or(schema.fields().len());
        for i in 0..batch.num_rows() {
            let row = (0..keys)
                .map(|c| (schema.field(c).name().clone(), text(batch.column(c), i)))
                .collect();
            let source_position = position.and_then(|p| {
                let col = batch.column(p).as_primitive_opt::<Int64Type>()?;
                col.is_valid(i).then(|| col.value(i))
            });
            out.push(Example {
                row,
                source_position,
                detail: detail.and_then(|d| text(batch.column(d), i)),
            });
        }
    }
    out
}
