//! `in-place`: each unit is bulk-loaded into a session temporary table (concurrently with the other
//! units), then, in the unit's turn and in one transaction holding the table's exclusive lock, the
//! `StopNo`/`custype` of existing rows are updated (only where they differ) and the added prospects
//! inserted (only where missing). A unit whose turn comes after a stop was asked for does not
//! apply: its distributors keep their old rows. Not MERGE, which T-SQL-compatible engines other
//! than SQL Server often lack.

use std::time::Instant;

use datafusion::error::Result;
use tiberius::error::Error as TdsError;
use tracing::{debug, info};

use super::units::{Turns, Unit, UnitResult};
use super::{Failure, MssqlSink, ROW_KEY, column_name};
use crate::mssql::bulk;
use crate::mssql::catalog::{self, qualified};
use crate::mssql::conn::Conn;
use crate::mssql::types::{SqlColumn, find_column, quote_ident};
use crate::schema::{CUSTYPE, STOP_NO};

/// The session temporary table a unit is staged in.
const STAGE: &str = "#rf_stage";

impl MssqlSink {
    /// The plan table and its columns. A missing `custype` column is added only once the widths
    /// are checked ([`Self::add_custype`]): a refused write leaves the table as it was.
    pub(super) async fn prepare_in_place(&self) -> Result<(String, Vec<SqlColumn>)> {
        let table = &self.plan_table;
        let columns = catalog::columns(&self.db, table).await?.ok_or_else(|| {
            crate::error::bad_input(format!(
                "SQL Server {}: table {table} does not exist",
                self.db.target()
            ))
        })?;
        Ok((table.clone(), columns))
    }

    /// `columns` of the plan table `table`, with a `custype` column added when it has none.
    pub(super) async fn add_custype(&self, table: &str, columns: Vec<SqlColumn>) -> Result<Vec<SqlColumn>> {
        if find_column(&columns, CUSTYPE).is_some() {
            return Ok(columns);
        }
        let sql = format!(
            "ALTER TABLE {} ADD {} varchar(20) NULL",
            qualified(&self.db, table),
            quote_ident(CUSTYPE)
        );
        self.batch(&sql, table).await?;
        info!(table = %table, "added column custype varchar(20) to the plan table");
        Ok(catalog::columns(&self.db, table).await?.unwrap_or_default())
    }

    /// Stages the unit, waits for its turn, then updates and inserts in one transaction.
    pub(super) async fn apply_in_place(
        &self,
        target: &str,
        columns: &[SqlColumn],
        unit: &Unit,
        turns: &Turns,
    ) -> Result<UnitResult, Failure> {
        let mut conn = self.db.get().await.map_err(Failure::other)?;
        let create = bulk::create_table(STAGE, &bulk::column_declarations(columns));
        conn.batch(&format!("DROP TABLE IF EXISTS {STAGE}; {create}"))
            .await
            .map_err(Failure::from)?;
        // The stage takes NULLs everywhere; a NOT NULL target column refuses them at the INSERT,
        // with SQL Server's own message.
        let stage: Vec<SqlColumn> = columns
            .iter()
            .cloned()
            .map(|mut c| {
                c.nullable = true;
                c
            })
            .collect();
        let started = Instant::now();
        bulk::load(&mut conn, STAGE, &stage, unit.policy, unit.stream()).await?;
        debug!(unit = %unit.label, rows = unit.rows(), seconds = started.elapsed().as_secs_f64(), "unit staged");
        let distributor = quote_ident(&column_name(columns, "DistributorID"));
        // The unit's first and last distributor in the server's collation, which may order them
        // differently from Rust: they bound the target rows each statement looks at.
        let (lo, hi) = stage_bounds(&mut conn, &distributor).await?;
        let statements = InPlaceStatements::new(&qualified(&self.db, target), columns);
        turns.wait(unit.index).await;
        // Checked right before the transaction: once it begins, the unit commits or rolls back.
        if self.stop_requested() {
            debug!(unit = %unit.label, "staged, not applied: a stop was asked for");
            return Ok(UnitResult::interrupted(None));
        }
        let apply = async |conn: &mut Conn| {
            let started = Instant::now();
            let updated = execute_with(conn, &statements.update, &lo, &hi).await?;
            let update_s = started.elapsed().as_secs_f64();
            let inserted = execute_with(conn, &statements.insert, &lo, &hi).await?;
            let insert_s = started.elapsed().as_secs_f64() - update_s;
            Ok::<_, TdsError>((updated, inserted, update_s, insert_s))
        };
        let commit = format!("COMMIT; DROP TABLE {STAGE}");
        let (updated, inserted, update_s, insert_s) =
            bulk::in_transaction(&mut conn, "BEGIN TRAN", &commit, apply)
                .await
                .map_err(Failure::from)?;
        debug!(unit = %unit.label, updated, update_s, inserted, insert_s, "unit applied");
        Ok(UnitResult {
            updated,
            inserted,
            ..Default::default()
        })
    }
}

/// The two statements of an in-place unit. Each reads the target once; `@P1`/`@P2` (the unit's
/// first and last distributor) let an index on `DistributorID` narrow that read. The UPDATE takes
/// the table's exclusive lock (`TABLOCKX`): an update of this many rows would escalate to it on
/// SQL Server anyway, and taking it first means two writers queue instead of deadlocking.
struct InPlaceStatements {
    update: String,
    insert: String,
}

impl InPlaceStatements {
    fn new(table: &str, columns: &[SqlColumn]) -> Self {
        let key_match = ROW_KEY
            .iter()
            .map(|k| format!("t.{0} = s.{0}", quote_ident(&column_name(columns, k))))
            .collect::<Vec<_>>()
            .join(" AND ");
        let distributor = quote_ident(&column_name(columns, "DistributorID"));
        let in_unit = format!("t.{distributor} >= @P1 AND t.{distributor} <= @P2");
        let differs = [STOP_NO, CUSTYPE]
            .iter()
            .map(|c| {
                let c = quote_ident(&column_name(columns, c));
                format!(
                    "(t.{c} <> s.{c} OR (t.{c} IS NULL AND s.{c} IS NOT NULL) OR (t.{c} IS NOT NULL AND s.{c} IS NULL))"
                )
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        let stop_no = quote_ident(&column_name(columns, STOP_NO));
        let custype = quote_ident(&column_name(columns, CUSTYPE));
        let all: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
        let all_s: Vec<String> = all.iter().map(|c| format!("s.{c}")).collect();
        Self {
            update: format!(
                "UPDATE t SET t.{stop_no} = s.{stop_no}, t.{custype} = s.{custype} \
                 FROM {table} AS t WITH (TABLOCKX) INNER JOIN {STAGE} AS s ON {key_match} \
                 WHERE {in_unit} AND ({differs})"
            ),
            insert: format!(
                "INSERT INTO {table} ({}) SELECT {} FROM {STAGE} AS s \
                 WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {in_unit} AND {key_match})",
                all.join(", "),
                all_s.join(", "),
            ),
        }
    }
}

/// The lowest and highest `DistributorID` of the stage, in the server's collation.
async fn stage_bounds(conn: &mut Conn, distributor: &str) -> Result<(String, String), Failure> {
    let sql = format!("SELECT MIN({distributor}), MAX({distributor}) FROM {STAGE}");
    let health = conn.health();
    let result = async {
        let row = conn.client.simple_query(sql).await?.into_row().await?;
        Ok::<_, TdsError>(row.map(|r| {
            let text = |i: usize| r.get::<&str, _>(i).map(str::to_string);
            (text(0), text(1))
        }))
    }
    .await;
    match health.note(result).map_err(Failure::from)? {
        Some((Some(lo), Some(hi))) => Ok((lo, hi)),
        _ => Err(Failure {
            message: "the staged unit has no DistributorID".into(),
            transient: false,
        }),
    }
}

/// Runs one statement with the unit's bounds as `@P1`, `@P2`; the rows it affected.
async fn execute_with(conn: &mut Conn, sql: &str, lo: &str, hi: &str) -> Result<u64, TdsError> {
    let health = conn.health();
    let result = conn.client.execute(sql, &[&lo, &hi]).await;
    health.note(result).map(|r| r.total())
}
