//! The SQL Server source: each contract table is a DataFusion `TableProvider` whose scan streams rows
//! from tiberius into Arrow batches of a fixed size, never holding the whole table.
//!
//! - Only the projected columns are selected, and filters on plain columns (the distributor and date
//!   filters, and analysts' `WHERE`s) become `sp_executesql` parameters, never SQL text ([`filter`]).
//! - The plan table is read in several partitions, each a range of `DistributorID` on its own pooled
//!   connection, so reading is not one serial stream ([`scan`]). The ordinal column is `partition << 40 | row`,
//!   unique and ordered within every route.
//! - Every read has an `ORDER BY` (contract rule 9): SQL Server guarantees no order without one, and
//!   "the first row wins" rules go by the ordinal. The order is the primary key's, else the
//!   clustered index's, else that of the contract columns (see [`catalog::fallback_columns`] and
//!   [`catalog::ReadOrder`]). A partition is a `DistributorID` range, so within a route the order is
//!   the same however the plan is partitioned.

mod filter;
mod scan;

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use tiberius::ColumnData;

use super::Source;
use super::canonical::{ColumnSource, TableLayout};
use crate::mssql::catalog::{self, ReadOrder, qualified};
use crate::mssql::conn::Mssql;
use crate::mssql::types::{SqlColumn, SqlParam, quote_ident};
use crate::schema::{CUSTVISIT, ROUTE_PLAN};
use filter::{Filter, Pushable};
use scan::PartitionQuery;
pub use scan::{MssqlScan, MssqlScanExec};

/// Default rows per Arrow batch read from SQL Server.
pub const DEFAULT_BATCH_ROWS: usize = 8192;

/// Tables read from one SQL Server database.
#[derive(Debug, Clone)]
pub struct MssqlSource {
    db: Arc<Mssql>,
    batch_rows: usize,
    partitions: usize,
}

impl MssqlSource {
    /// `partitions`: how many connections read the plan table at once.
    pub fn new(db: Arc<Mssql>, batch_rows: usize, partitions: usize) -> Self {
        Self {
            db,
            batch_rows: batch_rows.max(1),
            partitions: partitions.max(1),
        }
    }
}

#[async_trait]
impl Source for MssqlSource {
    fn describe(&self) -> String {
        format!("mssql {}", self.db.target())
    }

    fn cache_reads(&self) -> bool {
        true
    }

    async fn table(&self, table: &str) -> Result<Arc<dyn TableProvider>> {
        let partitions = if table == ROUTE_PLAN { self.partitions } else { 1 };
        Ok(Arc::new(
            MssqlTable::open(Arc::clone(&self.db), table, self.batch_rows, partitions).await?,
        ))
    }
}

/// One SQL Server table in canonical columns.
#[derive(Debug)]
pub struct MssqlTable {
    db: Arc<Mssql>,
    table: String,
    /// The stored columns routeflow reads, in table order (the layout's stored schema).
    columns: Arc<Vec<SqlColumn>>,
    layout: Arc<TableLayout>,
    /// The order rows are read in (rule 9).
    order: ReadOrder,
    batch_rows: usize,
    partitions: usize,
}

impl MssqlTable {
    /// Reads the table's columns from the server and checks them against the contract. Columns of a
    /// type routeflow cannot read are an error when they are needed (every column of the plan table,
    /// which is written back whole) and skipped otherwise.
    pub async fn open(db: Arc<Mssql>, table: &str, batch_rows: usize, partitions: usize) -> Result<Self> {
        let all = catalog::columns(&db, table).await?.ok_or_else(|| {
            crate::error::bad_input(format!(
                "SQL Server {}: table {}.{table} does not exist",
                db.target(),
                db.schema()
            ))
        })?;
        let contract = crate::schema::columns(table).unwrap_or_default();
        let contract_names: Vec<&str> = contract.iter().map(|c| c.name).collect();
        // The plan is written back whole: every orderable column of it breaks ties (see
        // `catalog::fallback_columns`); the other tables are read only in their contract columns.
        let fallback = catalog::fallback_columns(&all, &contract_names, table == ROUTE_PLAN);
        // Visits are only asked whether a store was visited: no rule depends on their order, so
        // the server is spared sorting the largest table but one.
        let order = if table == CUSTVISIT {
            ReadOrder::new(None, &[])
        } else {
            ReadOrder::new(catalog::index_key(&db, table).await?, &fallback)
        };
        tracing::debug!(
            "SQL Server table {table}: read order {:?}:{}",
            order.source,
            order.order_by()
        );
        let mut columns = Vec::new();
        let mut fields = Vec::new();
        for c in all {
            let needed = table == ROUTE_PLAN || contract.iter().any(|k| k.name.eq_ignore_ascii_case(&c.name));
            match c.arrow_type() {
                Ok(t) => {
                    fields.push(Field::new(&c.name, t, true));
                    columns.push(c);
                }
                Err(e) if needed => {
                    return Err(crate::error::bad_input(format!(
                        "SQL Server {}, table {table}: {e}",
                        db.target()
                    )));
                }
                Err(_) => {}
            }
        }
        let origin = format!("SQL Server {}", db.target());
        let layout = TableLayout::new(table, &Schema::new(fields), &origin)?;
        Ok(Self {
            db,
            table: table.to_string(),
            columns: Arc::new(columns),
            layout: Arc::new(layout),
            order,
            batch_rows,
            partitions,
        })
    }

    /// The order rows are read in: the primary key, else the clustered index, else the contract
    /// columns (contract rule 9).
    pub fn read_order(&self) -> &ReadOrder {
        &self.order
    }

    /// The stored column a canonical column reads without a cast, when a filter on it can run on
    /// the server with the same meaning: its type has a parameter for literals (see the type table
    /// in [`crate::mssql::types`]).
    fn pushable(&self, name: &str) -> Option<Pushable> {
        let i = self.layout.schema.index_of(name).ok()?;
        let ColumnSource::Stored { index, target } = &self.layout.columns[i] else {
            return None;
        };
        let stored = &self.columns[*index];
        let ty = stored.resolve().ok()?;
        let param = ty.sql.param?;
        (ty.arrow_type() == *target).then(|| Pushable {
            ident: quote_ident(&stored.name),
            param,
        })
    }

    /// The query of each partition: the projected stored columns of `ranges`, under the filter, in
    /// the read order.
    fn queries(&self, filter: &Filter, ranges: &[Range], stored_idx: &[usize]) -> Vec<PartitionQuery> {
        let select = if stored_idx.is_empty() {
            "1".to_string()
        } else {
            stored_idx
                .iter()
                .map(|&i| self.columns[i].select_expr())
                .collect::<Vec<_>>()
                .join(", ")
        };
        // Without a stored column (a count) the order means nothing and costs a sort.
        let order_by = if stored_idx.is_empty() {
            String::new()
        } else {
            self.order.order_by()
        };
        ranges
            .iter()
            .map(|range| {
                let mut params = filter.params.clone();
                let extra = match range {
                    Range::All => None,
                    Range::Null(c) => Some(format!("{} IS NULL", quote_ident(c))),
                    Range::Between(c, lo, hi) => {
                        params.push(SqlParam::Text(lo.clone()));
                        params.push(SqlParam::Text(hi.clone()));
                        let n = params.len();
                        Some(format!("{0} >= @P{1} AND {0} <= @P{2}", quote_ident(c), n - 1, n))
                    }
                };
                let sql = format!(
                    "SELECT {select} FROM {}{}{order_by}",
                    qualified(&self.db, &self.table),
                    filter.where_clause(extra.as_deref())
                );
                PartitionQuery { sql, params }
            })
            .collect()
    }

    /// How the plan table's rows spread over `DistributorID`: one row per distributor with its row
    /// count, in the server's order (NULL first), under the pushed-down filters.
    async fn distribution(&self, column: &str, filter: &Filter) -> Result<Vec<(Option<String>, i64)>> {
        let c = quote_ident(column);
        let sql = format!(
            "SELECT {c}, COUNT_BIG(*) FROM {}{} GROUP BY {c} ORDER BY {c}",
            qualified(&self.db, &self.table),
            filter.where_clause(None)
        );
        let rows = self
            .db
            .query_rows(&self.table, &sql, &filter.param_refs())
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut values = row.into_iter();
                let key = match values.next() {
                    Some(ColumnData::String(s)) => s.map(|s| s.to_string()),
                    _ => None,
                };
                let count = match values.next() {
                    Some(ColumnData::I64(Some(n))) => n,
                    Some(ColumnData::I32(Some(n))) => n.into(),
                    _ => 0,
                };
                (key, count)
            })
            .collect())
    }

    /// Splits the plan table into up to `self.partitions` contiguous `DistributorID` ranges of about
    /// equal row counts (plus one for a NULL distributor).
    async fn partition_ranges(&self, filter: &Filter) -> Result<Vec<Range>> {
        let Some(column) = self.columns.iter().find(|c| {
            c.name.eq_ignore_ascii_case("DistributorID") && c.arrow_type().ok() == Some(DataType::Utf8)
        }) else {
            return Ok(vec![Range::All]);
        };
        if self.partitions <= 1 {
            return Ok(vec![Range::All]);
        }
        let groups = self.distribution(&column.name, filter).await?;
        let mut remaining: i64 = groups.iter().map(|g| g.1).sum();
        let mut parts_left = self.partitions as i64;
        let mut ranges = Vec::new();
        // The range being filled: first and last distributor, rows.
        let mut current: Option<(String, String, i64)> = None;
        for (key, count) in groups {
            let Some(key) = key else {
                ranges.push(Range::Null(column.name.clone()));
                remaining -= count;
                continue;
            };
            if let Some((lo, hi, n)) = current.take() {
                // Close the range here when that lands nearer an equal share than taking `key` too.
                let share = remaining / parts_left.max(1);
                if parts_left > 1 && (n - share).abs() <= (n + count - share).abs() {
                    ranges.push(Range::Between(column.name.clone(), lo, hi));
                    remaining -= n;
                    parts_left -= 1;
                } else {
                    current = Some((lo, key.clone(), n + count));
                    continue;
                }
            }
            current = Some((key.clone(), key, count));
        }
        if let Some((lo, hi, _)) = current {
            ranges.push(Range::Between(column.name.clone(), lo, hi));
        }
        if ranges.is_empty() {
            ranges.push(Range::All);
        }
        Ok(ranges)
    }
}

/// A partition of the plan table.
#[derive(Debug, Clone)]
enum Range {
    All,
    /// Rows whose distributor is NULL.
    Null(String),
    /// Rows whose distributor lies in `[lo, hi]` in the server's collation.
    Between(String, String, String),
}

#[async_trait]
impl TableProvider for MssqlTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.layout.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        // Inexact: DataFusion still applies every filter, so a server collation that compares
        // differently can never let a wrong row through.
        let column = |name: &str| self.pushable(name);
        Ok(filters
            .iter()
            .map(|f| {
                if filter::predicate(f, &column, &mut Vec::new()).is_some() {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection = projection
            .cloned()
            .unwrap_or_else(|| (0..self.layout.schema.fields().len()).collect());
        let filter = Filter::new(filters, |name| self.pushable(name));
        let ranges = self.partition_ranges(&filter).await?;
        let stored_idx = self.layout.stored_indices(&projection);
        let queries = self.queries(&filter, &ranges, &stored_idx);
        Ok(Arc::new(MssqlScan::exec(
            Arc::clone(&self.db),
            Arc::clone(&self.columns),
            Arc::clone(&self.layout),
            projection,
            queries,
            self.batch_rows,
        )?))
    }
}
