//! A run's input: the source opened from `--input`, and its tables registered on the session, the
//! plan table restricted by the run's filters.

use std::sync::Arc;

use datafusion::common::TableReference;
use datafusion::dataframe::DataFrame;
use datafusion::error::Result;
use datafusion::logical_expr::{JoinType, ident, lit};
use datafusion::prelude::SessionContext;

use crate::mssql::options::{MssqlRunOptions, is_mssql};
use crate::names::{CUST_NO, DISTRIBUTOR_ID, ROUTE_KEY};
use crate::schema::{self, ROUTE_PLAN};
use crate::source::Source;
use crate::source::file::FileSource;
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

/// Opens every input table of `source` (failing on the first missing table or column) and registers
/// them on `ctx`, the plan table restricted by `filters`. A batch run over a live database passes
/// `read_once` to read each table once into temporary files (see [`ReadOnce`]); files, and the
/// analysts' catalog, stay lazy and stream.
pub async fn register_sources(
    ctx: &SessionContext,
    source: &dyn Source,
    filters: &Filters,
    read_once: Option<&ReadOnce>,
) -> Result<()> {
    let mut providers = Vec::new();
    for table in schema::INPUT_TABLES {
        providers.push((table, source.table(table).await?));
    }
    for (table, provider) in providers {
        let provider = match read_once {
            Some(once) if table != ROUTE_PLAN => once.spill(ctx, table, provider).await?,
            _ => provider,
        };
        if table != ROUTE_PLAN {
            ctx.register_table(TableReference::bare(table), provider)?;
            continue;
        }
        if filters.distributor_ids.is_empty() && filters.limit_routes.is_none() {
            let provider = match read_once {
                Some(once) => once.spill(ctx, table, provider).await?,
                None => provider,
            };
            ctx.register_table(TableReference::bare(table), provider)?;
            continue;
        }
        let view = filtered(ctx.read_table(provider)?, filters)?.into_view();
        let view = match read_once {
            Some(once) => once.spill(ctx, table, view).await?,
            None => view,
        };
        ctx.register_table(TableReference::bare(table), view)?;
    }
    Ok(())
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
