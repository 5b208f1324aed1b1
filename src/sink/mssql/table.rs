//! `table NAME`: every unit is bulk-loaded into a staging table, each in its own transaction, then
//! the staging table is swapped in for NAME (drop and `sp_rename` in one transaction): readers see
//! the old table or the new one, never half of it.

use datafusion::error::Result;
use tiberius::error::Error as TdsError;
use tracing::{info, warn};

use super::units::{Unit, UnitResult};
use super::{Failure, MssqlSink, column_name};
use crate::mssql::bulk;
use crate::mssql::catalog::{self, qualified};
use crate::mssql::conn::Conn;
use crate::mssql::types::{SqlColumn, quote_ident};

/// Suffix of the staging table of `--write table NAME`.
pub(super) const STAGING_SUFFIX: &str = "__rf_new";

impl MssqlSink {
    /// Creates the staging table afresh and returns it with its columns. Widths come from the
    /// table being replaced, else from the plan table, else from the Arrow types.
    pub(super) async fn prepare_staging(&self, name: &str) -> Result<(String, Vec<SqlColumn>)> {
        let existing = match catalog::columns(&self.db, name).await? {
            Some(c) => c,
            None => catalog::columns(&self.db, &self.plan_table)
                .await?
                .unwrap_or_default(),
        };
        let declarations = bulk::field_declarations(self.schema.fields(), &existing)
            .map_err(|e| crate::error::bad_input(e.to_string()))?;
        let staging = format!("{name}{STAGING_SUFFIX}");
        let q = qualified(&self.db, &staging);
        let create = bulk::create_table(&q, &declarations);
        self.batch(&format!("DROP TABLE IF EXISTS {q}; {create}"), &staging)
            .await?;
        let columns = catalog::columns(&self.db, &staging).await?.unwrap_or_default();
        Ok((staging, columns))
    }

    /// Drops the staging table `staging` of a write refused before any row went in
    /// (`--strict-widths`), so that a refused run leaves no table behind. Best effort: the refusal
    /// is what the run reports, and the next run drops the table anyway.
    pub(super) async fn discard_staging(&self, staging: &str) {
        let sql = format!("DROP TABLE IF EXISTS {}", qualified(&self.db, staging));
        if let Err(e) = self.batch(&sql, staging).await {
            warn!(table = %staging, error = %e, "could not drop the staging table");
        }
    }

    /// Bulk-loads the unit into the staging table in its own transaction. A retry first deletes
    /// whatever an earlier attempt left of the unit (a commit whose answer was lost), so it never
    /// doubles rows; a first attempt has nothing to delete in the new table.
    pub(super) async fn append(
        &self,
        target: &str,
        columns: &[SqlColumn],
        unit: &Unit,
        attempt: u32,
    ) -> Result<UnitResult, Failure> {
        let mut conn = self.db.get().await.map_err(Failure::other)?;
        let table = qualified(&self.db, target);
        let distributor = quote_ident(&column_name(columns, "DistributorID"));
        let load = async |conn: &mut Conn| {
            if attempt > 0 {
                clear_unit(conn, &table, &distributor, unit).await?;
            }
            bulk::load(conn, &table, columns, unit.policy, unit.stream()).await
        };
        let inserted = bulk::in_transaction(&mut conn, "BEGIN TRAN", "COMMIT", load).await?;
        Ok(UnitResult {
            inserted,
            ..Default::default()
        })
    }

    /// Swaps the staging table in for NAME in one transaction, retrying transient failures (a lost
    /// connection) as units do. Before a retry, a staging table that is gone means the commit went
    /// through and only its answer was lost: the swap is done.
    pub(super) async fn swap(&self, name: &str) -> Result<()> {
        let staging = format!("{name}{STAGING_SUFFIX}");
        let mut attempt = 0;
        loop {
            let failure = match self.try_swap(name, &staging).await {
                Ok(()) => return Ok(()),
                Err(failure) => failure,
            };
            if !failure.transient || attempt >= self.options.retries {
                return Err(self.db.error(Some(name), &failure.message));
            }
            let wait = self.options.backoff * 2u32.saturating_pow(attempt);
            warn!(table = %name, attempt = attempt + 1, error = %failure.message, "swap failed, retrying in {wait:?}");
            tokio::time::sleep(wait).await;
            if catalog::columns(&self.db, &staging).await?.is_none() {
                info!(table = %name, "the staging table is gone: the swap's commit went through");
                return Ok(());
            }
            attempt += 1;
        }
    }

    /// One attempt at the swap. `@objtype` is named: SQL Server defaults it, Babelfish requires it.
    async fn try_swap(&self, name: &str, staging: &str) -> Result<(), Failure> {
        let sql = format!(
            "BEGIN TRAN; DROP TABLE IF EXISTS {}; EXEC sp_rename @P1, @P2, 'OBJECT'; COMMIT",
            qualified(&self.db, name)
        );
        let old = format!("{}.{staging}", self.db.schema());
        let mut conn = self.db.get().await.map_err(Failure::other)?;
        let health = conn.health();
        let result = conn.client.execute(sql, &[&old.as_str(), &name]).await;
        if let Err(e) = health.note(result) {
            // Errors are ignored: there may be no transaction left, or no connection.
            let _ = conn.batch("ROLLBACK").await;
            return Err(Failure::from(e));
        }
        Ok(())
    }
}

/// Deletes the unit's rows from `table`: its distributors, a thousand parameters at a time (SQL
/// Server takes at most 2,100), or the rows without one.
async fn clear_unit(conn: &mut Conn, table: &str, distributor: &str, unit: &Unit) -> Result<(), TdsError> {
    if unit.keys.iter().any(Option::is_none) {
        execute(conn, &format!("DELETE FROM {table} WHERE {distributor} IS NULL")).await?;
    }
    let keys: Vec<&str> = unit.keys.iter().flatten().map(String::as_str).collect();
    for chunk in keys.chunks(1000) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("@P{i}")).collect();
        let sql = format!(
            "DELETE FROM {table} WHERE {distributor} IN ({})",
            marks.join(", ")
        );
        let params: Vec<&dyn tiberius::ToSql> = chunk.iter().map(|k| k as &dyn tiberius::ToSql).collect();
        let health = conn.health();
        let result = conn.client.execute(sql, &params).await;
        health.note(result)?;
    }
    Ok(())
}

/// Runs one statement and returns the rows it affected.
async fn execute(conn: &mut Conn, sql: &str) -> Result<u64, TdsError> {
    let health = conn.health();
    let result = conn.client.execute(sql, &[]).await;
    health.note(result).map(|r| r.total())
}
