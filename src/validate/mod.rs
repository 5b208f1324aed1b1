//! `routeflow validate`: every data problem of the input, per table, with a count and a few
//! examples naming the row, without writing anything (no output, no snapshot, no lock).
//!
//! The checks are SQL over the same source tables and stage views a run registers (the plan's
//! stages up to `routes`, materialised as a run materialises them), so validate and the run summary
//! count the same things the same way. Validate stops before the top-up and the sequencing, which
//! is most of a run's time. Each group of checks is a module: [`plan`] (keys, duplicates, route
//! sizes, dates, custype), [`coordinates`] (stops and depots), [`lookups`] (customer, prospective,
//! custvisit, distributors) and [`widths`] (a SQL Server target's column widths); [`check`] runs a
//! check's queries, [`thresholds`] decides the exit code, [`text`] prints the report for people.

mod check;
mod coordinates;
mod lookups;
mod plan;
mod text;
pub mod thresholds;
mod widths;

use std::collections::BTreeMap;
use std::time::Instant;

use datafusion::error::Result;
use serde::Serialize;
use serde::ser::SerializeMap;

use crate::mssql::options::{MssqlRunOptions, is_mssql};
use crate::names::stage;
use crate::plan::PlanOptions;
use crate::run::{open_source, register_sources, session};
use crate::source::spill::ReadOnce;
use crate::summary::Filters;
use check::{Check, Per};
pub use thresholds::Threshold;

/// What to validate and how to report it.
#[derive(Debug, Clone)]
pub struct ValidateConfig {
    /// A file location, or `mssql`.
    pub input: String,
    pub filters: Filters,
    pub concurrency: usize,
    /// The options that change what a run computes (the depot override).
    pub plan: PlanOptions,
    /// `mssql` to check values against the SQL Server target's column widths; anything else (a file
    /// location, which has no widths) or nothing: no width checks.
    pub output: Option<String>,
    pub mssql: MssqlRunOptions,
    /// Examples per problem.
    pub examples: usize,
    /// `--fail-on` thresholds, already parsed (see [`thresholds::parse`]).
    pub fail_on: Vec<Threshold>,
}

impl ValidateConfig {
    /// Whether the width checks run: the output is SQL Server.
    pub fn checks_widths(&self) -> bool {
        self.output.as_deref().is_some_and(is_mssql)
    }
}

/// The validation report: `--format json` prints it as it is (field reference in the README).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub routeflow_version: &'static str,
    pub input: String,
    pub filters: Filters,
    /// The SQL Server table whose column widths were checked; `None` without `--output mssql`.
    pub target: Option<String>,
    /// The month most plan rows fall in (`YYYY-MM`); `None` for a plan without dates.
    pub plan_month: Option<String>,
    pub totals: Totals,
    /// One entry per table, in the order of [`TABLE_ORDER`], each with every check of that table.
    pub tables: Vec<TableProblems>,
    /// Every `--fail-on` threshold with the value it was compared with.
    pub thresholds: Vec<ThresholdResult>,
    /// `ok`, or `failed` when a threshold was exceeded (exit 1).
    pub status: &'static str,
    pub seconds: f64,
}

impl Report {
    /// The problem with this key, if it was checked.
    pub fn problem(&self, key: &str) -> Option<&Problem> {
        self.tables
            .iter()
            .flat_map(|t| &t.problems)
            .find(|p| p.key == key)
    }

    /// The thresholds that were exceeded.
    pub fn exceeded(&self) -> impl Iterator<Item = &ThresholdResult> {
        self.thresholds.iter().filter(|t| t.exceeded)
    }
}

/// What the percentages are taken of.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Totals {
    /// Plan rows read (after `--distributor-id` / `--limit-routes`).
    pub plan_rows: u64,
    /// Distinct (route, CustNo) stops: what a run sequences.
    pub stops: u64,
    pub routes: u64,
}

impl Totals {
    fn of(&self, per: Per) -> Option<u64> {
        match per {
            Per::None => None,
            Per::PlanRow => Some(self.plan_rows),
            Per::Stop => Some(self.stops),
            Per::Route => Some(self.routes),
        }
    }
}

/// The checks of one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableProblems {
    pub table: String,
    pub problems: Vec<Problem>,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Stable name, also the `--fail-on` key.
    pub key: &'static str,
    pub description: &'static str,
    pub count: u64,
    /// `count` as a percentage of plan rows, stops or routes (`--fail-on <key>_pct`); `None` for
    /// checks of the other tables.
    pub pct: Option<f64>,
    /// What the count is made of (by column, reason, month, change), label → count.
    pub breakdown: BTreeMap<String, u64>,
    /// Up to `--examples` rows, first in source order (largest first for route sizes).
    pub examples: Vec<Example>,
}

/// One row showing a problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The key columns naming the row, in the table's order, as text (`None`: NULL).
    pub row: Vec<(String, Option<String>)>,
    /// The row's `_src_ord` (see the README: 0-based position in source order).
    pub source_position: Option<i64>,
    pub detail: Option<String>,
}

impl Serialize for Example {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        struct Row<'a>(&'a [(String, Option<String>)]);
        impl Serialize for Row<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(self.0.len()))?;
                for (k, v) in self.0 {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("row", &Row(&self.row))?;
        map.serialize_entry("source_position", &self.source_position)?;
        map.serialize_entry("detail", &self.detail)?;
        map.end()
    }
}

/// A `--fail-on` threshold and how the data compared.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdResult {
    pub key: String,
    pub limit: f64,
    pub value: f64,
    pub exceeded: bool,
}

/// The order of the report's sections: the plan, then the lookup tables as the contract lists them,
/// then the SQL Server target.
pub const TABLE_ORDER: [&str; 5] = [
    crate::schema::ROUTE_PLAN,
    crate::schema::CUSTOMER,
    crate::schema::PROSPECTIVE,
    crate::schema::CUSTVISIT,
    crate::schema::DISTRIBUTORS,
];

/// Every SQL check, in report order.
fn sql_checks() -> impl Iterator<Item = &'static Check> {
    plan::CHECKS
        .iter()
        .chain(coordinates::CHECKS)
        .chain(lookups::CHECKS)
}

/// Reads the input, runs every check and compares the thresholds. Writes nothing.
pub async fn validate(config: &ValidateConfig) -> Result<Report> {
    let started = Instant::now();
    config.plan.validate()?;
    thresholds::check_keys(&config.fail_on, config.checks_widths())?;
    let ctx = session(config.concurrency);
    let source = open_source(&ctx, &config.input, &config.mssql, config.concurrency)?;
    // The target is reached before the data is read: a bad connection fails fast.
    let target = match config.checks_widths() {
        true => Some(widths::Target::open(&config.mssql, config.concurrency).await?),
        false => None,
    };
    // A live database is read once into temporary files, as a run reads it: the checks read the
    // tables many times, and must all see the same rows.
    let read_once = source.cache_reads().then(ReadOnce::new).transpose()?;
    register_sources(&ctx, source.as_ref(), &config.filters, read_once.as_ref()).await?;
    crate::plan::register_through(&ctx, &config.plan, stage::ROUTES).await?;
    check::register_helpers(&ctx).await?;

    let (totals, plan_month) = check::totals(&ctx).await?;
    let mut problems =
        futures::future::try_join_all(sql_checks().map(|c| check::run(&ctx, c, &totals, config.examples)))
            .await?;
    if let Some(target) = &target {
        problems.extend(target.check(&ctx, config.examples).await?);
    }
    let mut tables: Vec<TableProblems> = Vec::new();
    for (table, problem) in problems {
        match tables.iter_mut().find(|t| t.table == table) {
            Some(t) => t.problems.push(problem),
            None => tables.push(TableProblems {
                table,
                problems: vec![problem],
            }),
        }
    }
    // The target's section (not a contract table) comes last.
    tables.sort_by_key(|t| {
        TABLE_ORDER
            .iter()
            .position(|n| *n == t.table)
            .unwrap_or(TABLE_ORDER.len())
    });
    let thresholds = thresholds::compare(&config.fail_on, &tables);
    let failed = thresholds.iter().any(|t| t.exceeded);
    Ok(Report {
        routeflow_version: env!("CARGO_PKG_VERSION"),
        input: crate::redact::redact(&config.input),
        filters: config.filters.clone(),
        target: target.map(|t| t.describe()),
        plan_month,
        totals,
        tables,
        thresholds,
        status: if failed { "failed" } else { "ok" },
        seconds: started.elapsed().as_secs_f64(),
    })
}
