//! `routeflow copy`: the contract tables between a file location and SQL Server, in either direction,
//! streaming batch by batch with the same type mapping the run uses. It loads fixtures into a server
//! and snapshots a server's tables to Parquet.
//!
//! Into SQL Server, a missing table is created from the Arrow types, values longer than their column
//! are found first (rule 8: counted, or with `--strict-widths` refused before anything is deleted),
//! and the table is emptied and loaded in one transaction (or appended to, with `--append`); the
//! rows travel by bulk load ([`crate::mssql::bulk`], as the sink's do).
//! Into files, each table becomes a Parquet dataset `<to>/<Table>/`, which `--input` reads back.

use std::sync::Arc;

use datafusion::common::TableReference;
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use serde::Serialize;
use tracing::{info, warn};

use crate::mssql::bulk::{self, BulkError};
use crate::mssql::catalog::{self, qualified, validate_table_name};
use crate::mssql::conn::{Conn, Mssql};
use crate::mssql::types::{SqlColumn, Truncation, WidthPolicy, field_index};
use crate::run::{self, MssqlRunOptions, is_mssql};
use crate::schema::{self, SOURCE_ORDINAL};
use crate::sink::SinkTable;
use crate::sink::parquet::ParquetDatasetSink;
use crate::source::location::Location;
use crate::summary::Truncations;

/// What to copy.
#[derive(Debug, Clone)]
pub struct CopyConfig {
    pub from: String,
    pub to: String,
    /// Contract tables to copy; empty: all five.
    pub tables: Vec<String>,
    /// Into SQL Server: keep existing rows instead of replacing them.
    pub append: bool,
    pub mssql: MssqlRunOptions,
    pub concurrency: usize,
}

/// Rows copied per table, and values cut to fit narrower SQL Server columns.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CopyReport {
    pub tables: Vec<(String, u64)>,
    pub truncations: Truncations,
}

/// Copies the tables; fails on the first table that cannot be copied.
pub async fn copy(config: &CopyConfig) -> Result<CopyReport> {
    let tables: Vec<String> = if config.tables.is_empty() {
        schema::INPUT_TABLES.iter().map(|t| t.to_string()).collect()
    } else {
        config.tables.clone()
    };
    for t in &tables {
        if schema::columns(t).is_none() {
            return Err(crate::error::bad_input(format!(
                "copy handles the contract tables ({}), not {t}",
                schema::INPUT_TABLES.join(", ")
            )));
        }
    }
    if is_mssql(&config.from) && is_mssql(&config.to) {
        return Err(crate::error::bad_input("copy needs a file location on one side"));
    }
    let ctx = run::session(config.concurrency);
    let source = run::open_source(&ctx, &config.from, &config.mssql, config.concurrency)?;
    let target_db = if is_mssql(&config.to) {
        Some(config.mssql.connect(config.concurrency)?)
    } else {
        None
    };
    let mut report = CopyReport::default();
    for table in &tables {
        let provider = source.table(table).await?;
        let df = ctx.read_table(provider)?.drop_columns(&[SOURCE_ORDINAL])?;
        let rows = match &target_db {
            Some(db) => to_mssql(db, table, df, config, &mut report.truncations).await?,
            None => to_files(&ctx, table, df, &config.to, config.concurrency).await?,
        };
        info!(table = %table, rows, from = %source.describe(), to = %config.to, "table copied");
        report.tables.push((table.clone(), rows));
    }
    Ok(report)
}

/// Writes `df` as the Parquet dataset `<to>/<table>/`.
async fn to_files(
    ctx: &SessionContext,
    table: &str,
    df: DataFrame,
    to: &str,
    concurrency: usize,
) -> Result<u64> {
    let location = Location::resolve(ctx, to)?;
    let sink = Arc::new(ParquetDatasetSink::new(
        &location,
        table,
        df.schema().inner().clone(),
        concurrency,
    ));
    let name = format!("copy_{}", table.to_lowercase());
    ctx.register_table(
        TableReference::bare(name.as_str()),
        Arc::new(SinkTable::new(sink)),
    )?;
    let counts = df.write_table(&name, DataFrameWriteOptions::new()).await?;
    ctx.deregister_table(TableReference::bare(name.as_str()))?;
    run::sink_count(&counts)
}

/// Loads `df` into `table` by bulk load, creating the table when missing and, unless appending,
/// replacing its rows in the same transaction. Values too long for their column are found before
/// anything is deleted (rule 8), as in the sink.
async fn to_mssql(
    db: &Arc<Mssql>,
    table: &str,
    df: DataFrame,
    config: &CopyConfig,
    truncations: &mut Truncations,
) -> Result<u64> {
    validate_table_name(table)?;
    let q = qualified(db, table);
    let fail = |e: &dyn std::fmt::Display| db.error(Some(table), e);
    if catalog::columns(db, table).await?.is_none() {
        let declarations = bulk::field_declarations(df.schema().fields(), &[]).map_err(|e| fail(&e))?;
        let sql = bulk::create_table(&q, &declarations);
        db.get().await?.batch(&sql).await.map_err(|e| fail(&e))?;
        info!(table = %table, "created table");
    }
    let columns = catalog::columns(db, table).await?.unwrap_or_default();
    check_widths(db, table, &df, &columns, config.mssql.strict_widths, truncations).await?;

    let stream = df.execute_stream().await?;
    let begin = if config.append {
        "BEGIN TRAN".to_string()
    } else {
        format!("BEGIN TRAN; DELETE FROM {q}")
    };
    let mut conn = db.get().await?;
    let load = async |conn: &mut Conn| bulk::load(conn, &q, &columns, WidthPolicy::Truncate, stream).await;
    let rows = bulk::in_transaction(&mut conn, &begin, "COMMIT", load)
        .await
        .map_err(|e| match e {
            BulkError::Source(e) => e,
            other => fail(&other),
        })?;
    if truncations.count > 0 {
        warn!(table = %table, count = truncations.count, "values truncated to fit their columns");
    }
    Ok(rows)
}

/// Rule 8 before anything is written: counts the values of `df` longer than their column into
/// `truncations`, or, with `--strict-widths`, refuses the copy at the first batch holding one.
/// Reads only the bounded character columns, and nothing when the table has none.
async fn check_widths(
    db: &Mssql,
    table: &str,
    df: &DataFrame,
    columns: &[SqlColumn],
    strict: bool,
    truncations: &mut Truncations,
) -> Result<()> {
    let schema = df.schema().inner().clone();
    let bounded: Vec<&str> = columns
        .iter()
        .filter(|c| c.width().is_some())
        .filter_map(|c| field_index(&schema, &c.name).map(|i| schema.field(i).name().as_str()))
        .collect();
    if bounded.is_empty() {
        return Ok(());
    }
    let mut stream = df.clone().select_columns(&bounded)?.execute_stream().await?;
    while let Some(batch) = stream.next().await {
        let describe = |t: &Truncation| {
            format!(
                "{table}.{}: {:?} cut to {} characters",
                t.column, t.value, t.width
            )
        };
        let cut = bulk::check_widths(&batch?, columns, truncations, describe)
            .map_err(|e| db.error(Some(table), &e))?;
        if strict && let Some(t) = cut.first() {
            // Data the owner must fix, not a failure: bad input (exit 3), and nothing was deleted yet.
            return Err(db.bad_input(
                Some(table),
                &format!(
                    "{} value(s) do not fit (--strict-widths), e.g. column {}: {:?} is {} characters, the column {}",
                    cut.len(),
                    t.column,
                    t.value,
                    t.length,
                    t.width
                ),
            ));
        }
    }
    Ok(())
}
