//! A run's input: the source opened from `--input`, and its tables registered on the session, the
//! plan table restricted by the run's filters.

use std::any::Any;
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::dataframe::DataFrame;
use datafusion::error::Result;
use datafusion::logical_expr::{JoinType, ident, lit};
use datafusion::prelude::SessionContext;

use crate::mssql::options::{MssqlRunOptions, is_mssql};
use crate::names::{CUST_NO, DISTRIBUTOR_ID, ROUTE_KEY};
use crate::schema::{self, ROUTE_PLAN};
use crate::source::Source;
use crate::source::empty;
use crate::source::file::{FileSource, FileTable};
use crate::source::location::Location;
use crate::source::spill::ReadOnce;
use crate::summary::Filters;

/// Opens the input: a file location, or SQL Server when `input` is `mssql`.
pub fn open_source(
    ctx: &SessionContext,
    input: &str,
    mssql: &MssqlRunOptions,
    concurrency: usize,
) -> Result<Arc<dyn Source>> {
    if is_mssql(input) {
        mssql.source(concurrency)
    } else {
        Ok(Arc::new(FileSource::new(Location::resolve(ctx, input)?)))
    }
}

/// Opens every input table of `source` (failing on the first missing table or column, or malformed
/// file) and registers them on `ctx`, the plan table restricted by `filters`. A batch run over a
/// live database passes `read_once` to read each table once into temporary files (see
/// [`ReadOnce`]); files, and the analysts' catalog, stay lazy and stream.
///
/// Tables are held to the empty-table rule ([`empty`]) where it costs nothing: files count their
/// rows when opened, a database read once is counted in its temporary files (a live one, read
/// lazily by the catalog, is not); and the plan rows the filters keep must not be none.
pub async fn register_sources(
    ctx: &SessionContext,
    source: &dyn Source,
    filters: &Filters,
    read_once: Option<&ReadOnce>,
) -> Result<()> {
    let mut providers = Vec::new();
    for table in schema::INPUT_TABLES {
        let provider = source.table(table).await?;
        let any: &dyn Any = provider.as_ref();
        if let Some(file) = any.downcast_ref::<FileTable>() {
            empty::check(table, file.origin(), file.rows() == 0)?;
        }
        providers.push((table, provider));
    }
    for (table, provider) in providers {
        if table == ROUTE_PLAN {
            register_plan(ctx, source, provider, filters, read_once).await?;
            continue;
        }
        let provider = match read_once {
            Some(once) => {
                let read = once.spill(ctx, table, provider).await?;
                empty::check(table, &source.describe(), !has_rows(ctx, &read).await?)?;
                read
            }
            None => provider,
        };
        ctx.register_table(TableReference::bare(table), provider)?;
    }
    Ok(())
}

/// Registers the plan table, restricted by `filters`, read once when `read_once` is given.
async fn register_plan(
    ctx: &SessionContext,
    source: &dyn Source,
    provider: Arc<dyn TableProvider>,
    filters: &Filters,
    read_once: Option<&ReadOnce>,
) -> Result<()> {
    let unfiltered = filters.distributor_ids.is_empty() && filters.limit_routes.is_none();
    let plan = match unfiltered {
        true => provider,
        false => filtered(ctx.read_table(provider)?, filters)?.into_view(),
    };
    let plan = match read_once {
        Some(once) => once.spill(ctx, ROUTE_PLAN, plan).await?,
        None => plan,
    };
    if unfiltered {
        if read_once.is_some() {
            empty::check(ROUTE_PLAN, &source.describe(), !has_rows(ctx, &plan).await?)?;
        }
    } else if !has_rows(ctx, &plan).await? {
        return Err(no_rows_kept(source, filters));
    }
    ctx.register_table(TableReference::bare(ROUTE_PLAN), plan)?;
    Ok(())
}

/// Whether `table` has a row (reads at most one batch).
async fn has_rows(ctx: &SessionContext, table: &Arc<dyn TableProvider>) -> Result<bool> {
    Ok(ctx
        .read_table(Arc::clone(table))?
        .limit(0, Some(1))?
        .count()
        .await?
        > 0)
}

/// The filters kept no plan row: most likely a mistyped distributor id.
fn no_rows_kept(source: &dyn Source, filters: &Filters) -> datafusion::error::DataFusionError {
    let what = match filters.distributor_ids.as_slice() {
        [] => "with a whole route key (--limit-routes)".to_string(),
        ids => format!("for distributor(s) {}", ids.join(", ")),
    };
    crate::error::bad_input(format!(
        "no plan rows {what} in {}: nothing to route",
        source.describe()
    ))
}

/// The plan rows of the selected distributors and, with `--limit-routes N`, of the first N routes in
/// route key order. Filters are expressions, never SQL text: the ids are user input.
fn filtered(mut plan: DataFrame, filters: &Filters) -> Result<DataFrame> {
    if !filters.distributor_ids.is_empty() {
        let ids = filters.distributor_ids.iter().map(|d| lit(d.as_str())).collect();
        plan = plan.filter(ident(DISTRIBUTOR_ID).in_list(ids, false))?;
    }
    if let Some(n) = filters.limit_routes {
        let first = first_routes(plan.clone(), n)?;
        let on: Vec<_> = ROUTE_KEY
            .iter()
            .map(|k| ident(*k).eq(ident(format!("first_{k}"))))
            .collect();
        plan = plan.join_on(first, JoinType::LeftSemi, on)?;
    }
    Ok(plan)
}

/// The keys of the first `n` routes of `plan` (rows with a whole key and a CustNo), as columns
/// `first_<key>`.
fn first_routes(plan: DataFrame, n: usize) -> Result<DataFrame> {
    plan.filter(
        ROUTE_KEY
            .iter()
            .map(|k| ident(*k).is_not_null())
            .fold(ident(CUST_NO).is_not_null(), |a, b| a.and(b)),
    )?
    .select_columns(&ROUTE_KEY)?
    .distinct()?
    .sort(ROUTE_KEY.iter().map(|k| ident(*k).sort(true, false)).collect())?
    .limit(0, Some(n))?
    .select(
        ROUTE_KEY
            .iter()
            .map(|k| ident(*k).alias(format!("first_{k}")))
            .collect::<Vec<_>>(),
    )
}
