//! Rule 8 with `--strict-widths`: a value too wide for its column fails the run and nothing is
//! written. The target is compared whole before and after (its columns as the catalog declares them
//! and every row, every column), not counted.

use routeflow::mssql::types::SqlColumn;

use super::*;

const PLAN: &str = "MonthlyRoutePlan_temp";
const STAGING: &str = "RoutePlanResult__rf_new";

/// A table as routeflow reads it: its columns and every row, every column as text (sorted: a table
/// has no order). `None` when the table does not exist.
async fn contents(db: &TestDb, table: &str) -> Option<(Vec<SqlColumn>, Vec<Row>)> {
    let pool = db.pool();
    let columns = catalog::columns(&pool, table).await.unwrap()?;
    Some((columns, db.read(table).await))
}

/// Fails unless `table` is exactly as it was, naming the first row that differs.
fn assert_unchanged(
    table: &str,
    before: &Option<(Vec<SqlColumn>, Vec<Row>)>,
    after: &Option<(Vec<SqlColumn>, Vec<Row>)>,
) {
    let (Some((columns, rows)), Some((columns_after, rows_after))) = (before, after) else {
        assert_eq!(before.is_some(), after.is_some(), "{table}: existence changed");
        return;
    };
    let describe = |c: &[SqlColumn]| -> Vec<String> {
        c.iter()
            .map(|c| format!("{} {} {:?}", c.name, c.data_type, c.max_length))
            .collect()
    };
    assert_eq!(
        describe(columns),
        describe(columns_after),
        "{table}: columns changed"
    );
    assert_eq!(columns, columns_after, "{table}: column types changed");
    let first_change = rows.iter().zip(rows_after).find(|(a, b)| a != b);
    assert!(
        rows.len() == rows_after.len() && first_change.is_none(),
        "{table}: {} rows before, {} after; first difference: {first_change:#?}",
        rows.len(),
        rows_after.len()
    );
}

/// Production widths (`Name` 15 characters) and the fixtures: the added prospects' names do not fit.
async fn too_wide_for_the_plan(db: &TestDb) {
    db.create_schema(false).await;
    db.load_fixtures().await;
}

/// Runs routeflow expecting the strict refusal: exit 3 (bad input), an error naming a row that does not fit.
fn refused(db: &TestDb, args: &[&str]) {
    let (code, _, stderr) = db.run(args);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("--strict-widths") && stderr.contains(".Name of ("),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_widths_in_place_leaves_the_plan_table_exactly_as_it_was() {
    on_each_target(|db| async move {
        too_wide_for_the_plan(&db).await;
        let before = contents(&db, PLAN).await;
        let strict = [RUN_MSSQL, &["--strict-widths"]].concat();
        refused(&db, &strict);
        assert_unchanged(PLAN, &before, &contents(&db, PLAN).await);

        // A plan table without `custype`, which a run adds: refused, it gains no column either.
        db.exec("ALTER TABLE MonthlyRoutePlan_temp DROP COLUMN custype")
            .await;
        let before = contents(&db, PLAN).await;
        refused(&db, &strict);
        assert_unchanged(PLAN, &before, &contents(&db, PLAN).await);
        // Without --strict-widths the same run adds the column, then writes (names cut to fit).
        db.ok(RUN_MSSQL);
        let (columns, rows) = contents(&db, PLAN).await.unwrap();
        assert!(columns.iter().any(|c| c.name == "custype"), "{columns:?}");
        assert!(rows.iter().any(|r| r["custype"].as_deref() == Some("prospect")));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_widths_in_table_mode_creates_and_replaces_nothing() {
    on_each_target(|db| async move {
        too_wide_for_the_plan(&db).await;
        let plan = contents(&db, PLAN).await;
        let table = [RUN_MSSQL, &["--write", "table", RESULT_TABLE]].concat();
        let strict = [&table[..], &["--strict-widths"]].concat();

        // No result table yet: none is created, and no staging table is left behind.
        refused(&db, &strict);
        assert!(
            contents(&db, RESULT_TABLE).await.is_none(),
            "result table created"
        );
        assert!(
            contents(&db, STAGING).await.is_none(),
            "staging table left behind"
        );

        // A result table from an earlier run (its names truncated to fit): kept as it was.
        db.ok(&table);
        let result = contents(&db, RESULT_TABLE).await;
        assert!(result.is_some());
        refused(&db, &strict);
        assert_unchanged(RESULT_TABLE, &result, &contents(&db, RESULT_TABLE).await);
        assert!(
            contents(&db, STAGING).await.is_none(),
            "staging table left behind"
        );
        assert_unchanged(PLAN, &plan, &contents(&db, PLAN).await);
    })
    .await;
}
