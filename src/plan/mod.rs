//! The plan: the SQL stages of `plans/` registered as views in one `SessionContext`, plus the two
//! operators SQL cannot express (the top-up allocation and route sequencing), each a table computed
//! by its own `ExecutionPlan` over a view of its inputs.
//!
//! Data flows lookup → enrich → routes (with prospects) → candidates → topup → sequence →
//! route_summary → route_plan.
//! A view is planned against the tables that exist when it is created, so a view that reads a
//! materialised table lives in a later stage than the one that materialises it. Every name is a
//! view (or table) of the context, so analysts can query any stage with the same names.

pub mod curve;
pub mod geo;
pub mod options;
pub mod sequence;
pub mod sequence_exec;
pub mod topup;
pub mod topup_exec;
pub mod tsp;

use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use tracing::debug;

use crate::names::{stage, view};
use crate::progress::Progress;
pub use options::PlanOptions;
use sequence_exec::{SequenceTable, Sequencing};
use topup_exec::TopUpTable;

/// One stage of the plan and the tables it creates.
pub struct Stage {
    pub name: &'static str,
    pub body: Body,
    /// Views worth materialising in a batch run because later stages read them more than once.
    /// They are computed at the same time: all of a stage's views are planned before any of them is
    /// materialised, so none reads another's table.
    pub materialize: &'static [&'static str],
}

impl Stage {
    const fn new(name: &'static str, body: Body, materialize: &'static [&'static str]) -> Self {
        Self {
            name,
            body,
            materialize,
        }
    }
}

/// A file of `plans/`: `CREATE VIEW` statements.
pub struct PlanFile {
    /// The file name without `.sql`, for messages.
    pub name: &'static str,
    pub sql: &'static str,
}

/// The [`PlanFile`] `plans/<name>.sql`, compiled in.
macro_rules! plan_file {
    ($name:literal) => {
        PlanFile {
            name: $name,
            sql: include_str!(concat!("../../plans/", $name, ".sql")),
        }
    };
}

/// What a stage is made of.
pub enum Body {
    /// Plan files, run in order.
    Sql(&'static [PlanFile]),
    /// The `topup` table, built in Rust over the candidate views ([`topup_exec::TopUpTable`]).
    TopUp,
    /// A plan file defining `sequence_input`, then the `route_stops` table sequenced over it
    /// ([`sequence_exec::SequenceTable`]).
    Sequence(PlanFile),
}

/// The stages in order.
pub const STAGES: &[Stage] = &[
    Stage::new(stage::LOOKUP, Body::Sql(&[plan_file!("lookup")]), &[]),
    Stage::new(
        stage::ENRICH,
        Body::Sql(&[plan_file!("enrich")]),
        &[view::PLAN_STOPS],
    ),
    Stage::new(
        stage::ROUTES,
        Body::Sql(&[plan_file!("routes"), plan_file!("prospects")]),
        &[view::ROUTES, view::ELIGIBLE_PROSPECTS],
    ),
    Stage::new(stage::CANDIDATES, Body::Sql(&[plan_file!("candidates")]), &[]),
    Stage::new(stage::TOPUP, Body::TopUp, &[view::TOPUP]),
    Stage::new(
        stage::SEQUENCE,
        Body::Sequence(plan_file!("sequence")),
        &[view::ROUTE_STOPS],
    ),
    Stage::new(
        stage::ROUTE_SUMMARY,
        Body::Sql(&[plan_file!("route_summary")]),
        &[],
    ),
    Stage::new(stage::ROUTE_PLAN, Body::Sql(&[plan_file!("route_plan")]), &[]),
];

/// Registers the UDFs, the run options and every stage on `ctx`, whose source tables must already be
/// registered. With `materialize`, the views listed by each stage are computed once and replaced by
/// in-memory tables before later stages are planned (a batch run); without it every stage stays a lazy
/// view (analysts and `explain`). `on_stage` is called after each stage with the row counts of the
/// tables it materialised, for timing and progress.
pub async fn register(
    ctx: &SessionContext,
    options: &PlanOptions,
    materialize: bool,
    on_stage: impl FnMut(&str, &[(&str, usize)]),
) -> Result<()> {
    register_stages(ctx, options, materialize, None, None, on_stage).await
}

/// The stages up to and including `last`, materialised, and no further: what `routeflow validate`
/// checks the data against, without the top-up or the sequencing.
pub async fn register_through(ctx: &SessionContext, options: &PlanOptions, last: &str) -> Result<()> {
    register_stages(ctx, options, true, None, Some(last), |_, _| {}).await
}

/// [`register`] for a batch run: materialised, and the sequencing operator counts every route it
/// sequences on `progress`.
pub async fn register_for_run(
    ctx: &SessionContext,
    options: &PlanOptions,
    progress: &Progress,
    on_stage: impl FnMut(&str, &[(&str, usize)]),
) -> Result<()> {
    register_stages(ctx, options, true, Some(progress), None, on_stage).await
}

async fn register_stages(
    ctx: &SessionContext,
    options: &PlanOptions,
    materialize: bool,
    progress: Option<&Progress>,
    last: Option<&str>,
    mut on_stage: impl FnMut(&str, &[(&str, usize)]),
) -> Result<()> {
    for udf in geo::udfs() {
        ctx.register_udf(udf);
    }
    ctx.register_batch(view::RUN_OPTIONS, options.to_batch()?)?;
    for stage in STAGES {
        match &stage.body {
            Body::Sql(files) => {
                for file in *files {
                    run_statements(ctx, file).await?;
                }
            }
            Body::TopUp => {
                let topup = TopUpTable::new(ctx, options.max_distance_km).await?;
                ctx.register_table(view::TOPUP, Arc::new(topup))?;
            }
            Body::Sequence(file) => {
                run_statements(ctx, file).await?;
                let sequencing = Sequencing {
                    mode: options.sequence,
                    no_coords_stop: options.no_coords_stop,
                    progress: progress.cloned(),
                };
                let stops = SequenceTable::new(ctx, sequencing).await?;
                ctx.register_table(view::ROUTE_STOPS, Arc::new(stops))?;
            }
        }
        let mut rows = Vec::new();
        if materialize {
            let counts =
                futures::future::try_join_all(stage.materialize.iter().map(|v| materialize_table(ctx, v)))
                    .await?;
            rows.extend(stage.materialize.iter().copied().zip(counts));
        }
        on_stage(stage.name, &rows);
        if last == Some(stage.name) {
            break;
        }
    }
    Ok(())
}

/// What a batch run no longer needs once its summary figures are taken: neither the output
/// (`route_plan` reads `route_stops` and the plan table) nor the snapshot reads these. A view holds
/// the tables it was planned on, so the views over the two tables go with them.
const NOT_READ_BY_OUTPUT: &[&str] = &[
    view::TOPUP_ROUTES,
    view::ROUTE_BARANGAYS,
    view::ELIGIBLE_PROSPECTS,
    view::SEQUENCE_INPUT,
    view::TOPUP,
    view::PLAN_STOPS,
];

/// Drops the stage tables the output does not read, so that the write, where a run's memory
/// peaks, does not hold them too. For a batch run, after its summary figures are taken.
pub fn release_before_write(ctx: &SessionContext) -> Result<()> {
    for name in NOT_READ_BY_OUTPUT {
        ctx.deregister_table(*name)?;
    }
    Ok(())
}

/// A shipped `plans/*.sql` that does not plan is routeflow's bug, not the user's input: exit 1.
/// (The sources have checked the input's columns and types before any stage is planned.)
fn shipped_plan_error(file: &PlanFile, e: DataFusionError) -> DataFusionError {
    crate::error::internal(
        format!("plans/{}.sql does not plan", file.name),
        Some(Box::new(e)),
    )
}

/// Runs the `CREATE VIEW` statements of a plan file.
async fn run_statements(ctx: &SessionContext, file: &PlanFile) -> Result<()> {
    for statement in statements(file.sql) {
        ctx.sql(statement)
            .await
            .map_err(|e| shipped_plan_error(file, e))?;
    }
    Ok(())
}

/// Computes `name` once and re-registers it as an in-memory table under the same name; returns its
/// row count.
async fn materialize_table(ctx: &SessionContext, name: &str) -> Result<usize> {
    let df = ctx.table(name).await?;
    let schema = df.schema().inner().clone();
    let partitions = df.collect_partitioned().await?;
    let rows = partitions.iter().flatten().map(|b| b.num_rows()).sum();
    if tracing::enabled!(tracing::Level::DEBUG) {
        let mib = unique_buffer_bytes(&partitions) >> 20;
        debug!(table = name, rows, mib, "materialised");
    }
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(MemTable::try_new(schema, partitions)?))?;
    Ok(rows)
}

/// Memory held by `partitions`, counting each buffer once (batches are often slices of one buffer,
/// which `get_array_memory_size` would count per batch).
fn unique_buffer_bytes(partitions: &[Vec<arrow::array::RecordBatch>]) -> usize {
    fn visit(data: &arrow::array::ArrayData, seen: &mut std::collections::HashMap<usize, usize>) {
        for buffer in data.buffers() {
            seen.insert(buffer.data_ptr().as_ptr() as usize, buffer.capacity());
        }
        if let Some(nulls) = data.nulls() {
            let b = nulls.buffer();
            seen.insert(b.data_ptr().as_ptr() as usize, b.capacity());
        }
        for child in data.child_data() {
            visit(child, seen);
        }
    }
    let mut seen = std::collections::HashMap::new();
    for batch in partitions.iter().flatten() {
        for column in batch.columns() {
            visit(&column.to_data(), &mut seen);
        }
    }
    seen.values().sum()
}

/// Splits a plan file into statements: on `;` at the end of a line, ignoring comment-only chunks.
pub fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(";\n")
        .map(str::trim)
        .map(|s| s.trim_end_matches(';'))
        .filter(|s| {
            s.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
        })
}

/// Names of the views created by the stages (plus the `topup` and `route_stops` tables), in order: the catalog analysts see.
pub fn stage_views() -> Vec<String> {
    let mut names = Vec::new();
    for stage in STAGES {
        let (files, table): (&[PlanFile], _) = match &stage.body {
            Body::Sql(files) => (files, None),
            Body::TopUp => (&[], Some(view::TOPUP)),
            Body::Sequence(file) => (std::slice::from_ref(file), Some(view::ROUTE_STOPS)),
        };
        for statement in files.iter().flat_map(|f| statements(f.sql)) {
            let mut words = statement
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .flat_map(str::split_whitespace);
            if words.by_ref().any(|w| w.eq_ignore_ascii_case("VIEW"))
                && let Some(name) = words.next()
            {
                names.push(name.to_string());
            }
        }
        names.extend(table.map(str::to_string));
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shipped plan that does not plan is routeflow's bug (exit 1), not bad input (exit 3), even
    /// though DataFusion reports it as a planning error, as it does for an analyst's query.
    #[tokio::test]
    async fn a_broken_shipped_plan_is_a_bug() {
        let ctx = SessionContext::new();
        let broken = PlanFile {
            name: "broken",
            sql: "CREATE VIEW v AS SELECT no_such_column FROM no_such_table",
        };
        let e = run_statements(&ctx, &broken).await.unwrap_err();
        assert_eq!(crate::error::kind_of(&e), crate::error::Kind::Failure);
        let message = crate::error::one_line(&e);
        assert!(
            message.starts_with("internal error: plans/broken.sql does not plan: "),
            "{message}"
        );
    }

    #[test]
    fn every_stage_parses_into_views() {
        let views = stage_views();
        for expected in [
            "customer_first",
            "plan_stops",
            "routes",
            "eligible_prospects",
            "topup",
            "route_stops",
            "route_plan",
        ] {
            assert!(
                views.iter().any(|v| v == expected),
                "{expected} missing from {views:?}"
            );
        }
    }

    #[test]
    fn every_view_rust_reads_is_a_stage_view() {
        let views = stage_views();
        for (name, _) in crate::names::READ_FROM_VIEWS {
            assert!(views.iter().any(|v| v == name), "{name} is not a stage name");
        }
    }

    #[test]
    fn every_released_name_is_a_stage_table_or_view() {
        let views = stage_views();
        for name in NOT_READ_BY_OUTPUT {
            assert!(views.iter().any(|v| v == name), "{name} is not a stage name");
        }
        for kept in [
            view::ROUTE_STOPS,
            view::ROUTE_SUMMARY,
            view::ROUTE_PLAN,
            view::ROUTES,
        ] {
            assert!(
                !NOT_READ_BY_OUTPUT.contains(&kept),
                "{kept} is read by the output or summary"
            );
        }
    }

    #[test]
    fn slices_of_one_buffer_are_counted_once() {
        use arrow::array::{ArrayRef, Int64Array, RecordBatch};
        let column: ArrayRef = Arc::new(Int64Array::from_iter_values(0..1000));
        let batch = RecordBatch::try_from_iter([("x", column)]).unwrap();
        let whole = unique_buffer_bytes(&[vec![batch.clone()]]);
        assert!(whole >= 8000, "{whole}");
        let slices = vec![batch.slice(0, 500), batch.slice(500, 500)];
        assert_eq!(unique_buffer_bytes(&[slices]), whole);
        let other =
            RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from_iter_values(0..1000)) as ArrayRef)])
                .unwrap();
        assert_eq!(unique_buffer_bytes(&[vec![batch], vec![other]]), 2 * whole);
    }
}
