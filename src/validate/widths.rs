//! Checks against a SQL Server target (`--output mssql`): values longer than their column, which a
//! run truncates and reports, or refuses with `--strict-widths` (rule 8). The target's columns are
//! read as the sink reads them and the values measured by the sink's own check
//! ([`crate::mssql::types::check_widths`]); nothing is created, altered or written.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use datafusion::common::TableReference;
use datafusion::error::Result;
use datafusion::logical_expr::ident;
use datafusion::prelude::{DataFrame, SessionContext};
use futures::TryStreamExt;

use super::check::text;
use super::{Example, Problem};
use crate::mssql::catalog::{self, validate_table_name};
use crate::mssql::conn::Mssql;
use crate::mssql::options::MssqlRunOptions;
use crate::mssql::types::{SqlColumn, Truncation, check_widths, find_column};
use crate::names::ROW_KEY;
use crate::schema::{ROUTE_PLAN, SOURCE_ORDINAL};
use crate::sink::mssql::WriteMode;

/// The `--fail-on` keys of this module's checks.
pub const KEYS: [&str; 2] = [VALUES_TOO_WIDE, PROSPECT_NAMES_TOO_WIDE];
const VALUES_TOO_WIDE: &str = "values_too_wide";
const PROSPECT_NAMES_TOO_WIDE: &str = "prospect_names_too_wide";
/// Characters of a value shown in an example.
const SHOWN_CHARS: usize = 60;

/// The SQL Server table a run would write, and its columns.
pub struct Target {
    /// Kept open for the checks' length.
    _db: Arc<Mssql>,
    mode: WriteMode,
    table: String,
    columns: Vec<SqlColumn>,
}

impl Target {
    /// Connects and reads the target's columns as the sink would: the plan table in place; in
    /// `table NAME` mode NAME, or the plan table's when NAME does not exist yet (the sink creates
    /// NAME with the plan table's widths).
    pub async fn open(mssql: &MssqlRunOptions, concurrency: usize) -> Result<Self> {
        let db = mssql.connect(concurrency.max(1))?;
        let (table, columns) = match &mssql.write {
            WriteMode::InPlace => (ROUTE_PLAN.to_string(), catalog::columns(&db, ROUTE_PLAN).await?),
            WriteMode::Table(name) => {
                validate_table_name(name)?;
                let columns = match catalog::columns(&db, name).await? {
                    Some(c) => Some(c),
                    None => catalog::columns(&db, ROUTE_PLAN).await?,
                };
                (name.clone(), columns)
            }
        };
        let columns = columns.ok_or_else(|| {
            crate::error::bad_input(format!(
                "SQL Server {}: table {ROUTE_PLAN} does not exist",
                db.target()
            ))
        })?;
        Ok(Self {
            _db: db,
            mode: mssql.write.clone(),
            table,
            columns,
        })
    }

    /// The target as the report names it.
    pub fn describe(&self) -> String {
        format!("SQL Server {}", self.table)
    }

    /// The two width checks: the plan's values, and the names of prospects the top-up may add.
    pub async fn check(&self, ctx: &SessionContext, examples: usize) -> Result<Vec<(String, Problem)>> {
        let mut plan = ctx.table(TableReference::bare(ROUTE_PLAN)).await?;
        if self.mode == WriteMode::InPlace {
            // In place, rows without a full key are not written (rule 1): the sink skips them.
            let full_key = ROW_KEY
                .iter()
                .map(|k| ident(*k).is_not_null())
                .reduce(|a, b| a.and(b))
                .expect("a key");
            plan = plan.filter(full_key)?;
        }
        let values = Widths::measure(plan, &self.columns, &ROW_KEY, examples).await?;
        let name = find_column(&self.columns, "Name").cloned();
        let names = match name {
            Some(name) => {
                let prospects = ctx
                    .sql(
                        "SELECT p.tdlinx, p._src_ord, e.store_name_nielsen AS Name
                         FROM validate_prospects AS p JOIN eligible_prospects AS e ON p.tdlinx = e.tdlinx",
                    )
                    .await?;
                Widths::measure(prospects, &[name], &["tdlinx"], examples).await?
            }
            None => Widths::default(),
        };
        let section = self.describe();
        Ok(vec![
            (
                section.clone(),
                values.problem(
                    VALUES_TOO_WIDE,
                    "values longer than their column in the target: truncated and reported by a run, refused with --strict-widths",
                ),
            ),
            (
                section,
                names.problem(
                    PROSPECT_NAMES_TOO_WIDE,
                    "prospects the top-up may add whose store_name_nielsen is longer than the target's Name column: truncated if added, refused with --strict-widths",
                ),
            ),
        ])
    }
}

/// Values too wide: how many per column, and the first few in source order.
#[derive(Default)]
struct Widths {
    by_column: BTreeMap<String, u64>,
    /// (source position, example), the earliest `limit` kept.
    examples: Vec<(i64, Example)>,
}

impl Widths {
    /// Streams `df` (which has `_src_ord` and the `keys` columns) through the sink's width check
    /// against `columns`.
    async fn measure(df: DataFrame, columns: &[SqlColumn], keys: &[&str], limit: usize) -> Result<Self> {
        let mut widths = Self::default();
        let mut stream = df.execute_stream().await?;
        while let Some(batch) = stream.try_next().await? {
            let found = check_widths(&batch, columns).map_err(|e| crate::error::bad_input(e.to_string()))?;
            for t in &found {
                *widths.by_column.entry(t.column.clone()).or_insert(0) += 1;
            }
            widths.keep(&batch, &found, keys, limit);
        }
        Ok(widths)
    }

    /// Adds the found values as examples, keeping the `limit` earliest in source order.
    fn keep(&mut self, batch: &RecordBatch, found: &[Truncation], keys: &[&str], limit: usize) {
        let positions = batch
            .column_by_name(SOURCE_ORDINAL)
            .and_then(|c| c.as_primitive_opt::<Int64Type>().cloned());
        for t in found {
            let position = positions.as_ref().map_or(0, |p| p.value(t.row));
            let row = keys
                .iter()
                .map(|k| {
                    let value = batch.column_by_name(k).and_then(|c| text(c, t.row));
                    (k.to_string(), value)
                })
                .collect();
            let example = Example {
                row,
                source_position: positions.as_ref().map(|_| position),
                detail: Some(describe(t)),
            };
            self.examples.push((position, example));
        }
        self.examples.sort_by_key(|(p, _)| *p);
        self.examples.truncate(limit);
    }

    fn problem(self, key: &'static str, description: &'static str) -> Problem {
        Problem {
            key,
            description,
            count: self.by_column.values().sum(),
            pct: None,
            breakdown: self.by_column,
            examples: self.examples.into_iter().map(|(_, e)| e).collect(),
        }
    }
}

/// `Name: "Sari-Sari Store…" is 23 characters, the column 15`, the value cut for display.
fn describe(t: &Truncation) -> String {
    let shown: String = t.value.chars().take(SHOWN_CHARS).collect();
    let more = if shown.len() < t.value.len() { "…" } else { "" };
    format!(
        "{}: {:?}{more} is {} characters, the column {}",
        t.column, shown, t.length, t.width
    )
}
