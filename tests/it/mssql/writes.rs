//! Writing to SQL Server: the in-place and table write-back against the file path, widths (rule 8)
//! in the sink and in `routeflow copy`, and how many statements and scans a write costs.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_write_back_equals_the_file_path() {
    on_each_target(|db| async move {
        let expected = db.load_fixtures_and_file_result(true).await;
        let plan_rows = db.read("MonthlyRoutePlan_temp").await.len();
        db.ok(RUN_MSSQL);
        let written = db.read("MonthlyRoutePlan_temp").await;
        assert!(written.len() > plan_rows, "prospects were added");
        assert_eq!(written.len(), expected.len());
        assert!(
            written == expected,
            "the SQL Server table differs from the file result"
        );

        // Rule 10 through SQL Server: a second run changes nothing and writes nothing.
        let json = db.ok(&[RUN_MSSQL, &["--json"]].concat());
        let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(summary["sink"]["rows_updated"], 0, "{json}");
        assert_eq!(summary["sink"]["rows_inserted"], 0, "{json}");
        assert_eq!(db.read("MonthlyRoutePlan_temp").await, expected);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_write_equals_the_file_path_and_replaces_atomically() {
    on_each_target(|db| async move {
        let expected = db.load_fixtures_and_file_result(true).await;
        let args = [RUN_MSSQL, &["--write", "table", RESULT_TABLE]].concat();
        db.ok(&args);
        assert_eq!(db.read(RESULT_TABLE).await, expected);
        // Replaced, not appended to; the staging table is gone; the plan table is untouched.
        db.ok(&args);
        assert_eq!(db.read(RESULT_TABLE).await, expected);
        let db_pool = db.pool();
        assert!(
            catalog::columns(&db_pool, "RoutePlanResult__rf_new")
                .await
                .unwrap()
                .is_none()
        );
        assert!(db.read("MonthlyRoutePlan_temp").await.len() < expected.len());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_widths_truncate_and_report_or_refuse() {
    on_each_target(|db| async move {
        db.create_schema(false).await;
        db.load_fixtures().await;
        let (code, _, stderr) = db.run(&[RUN_MSSQL, &["--strict-widths"]].concat());
        assert_eq!(code, 3, "a value too wide is bad input: {stderr}");
        assert!(stderr.contains("MonthlyRoutePlan_temp.Name of ("), "{stderr}");
        assert!(stderr.contains("the column 15"), "{stderr}");

        let json = db.ok(&[RUN_MSSQL, &["--json"]].concat());
        let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
        let count = summary["truncations"]["count"].as_u64().unwrap();
        assert!(count > 0, "{json}");
        assert!(
            summary["truncations"]["examples"][0]
                .as_str()
                .unwrap()
                .contains(".Name of (")
        );
        let added: Vec<Row> = db
            .read("MonthlyRoutePlan_temp")
            .await
            .into_iter()
            .filter(|r| r["custype"].as_deref() == Some("prospect"))
            .collect();
        assert!(!added.is_empty());
        assert!(
            added
                .iter()
                .all(|r| r["Name"].as_deref().is_none_or(|n| n.chars().count() <= 15))
        );
    })
    .await;
}

/// Rule 8 in `routeflow copy`, as in the sink: values too long for their column are found before
/// anything is deleted. With `--strict-widths` the copy is refused and the table keeps its rows (no
/// DELETE ever reaches the server); without it the values are cut, counted, and the table replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_checks_widths_before_deleting_anything() {
    on_each_target(|db| async move {
        db.exec(
            "DROP TABLE IF EXISTS distributors; CREATE TABLE distributors (DistributorID nvarchar(50), \
             Latitude float, Longitude float, Name nvarchar(10), Address nvarchar(400)); \
             INSERT INTO distributors VALUES (N'KEEP', 1.5, 2.5, N'kept', N'here')",
        )
        .await;
        if let Some(server) = &db.server {
            server.reset_stats();
        }
        let copy = [
            "-q",
            "copy",
            "--from",
            FIXTURES,
            "--to",
            "mssql",
            "--tables",
            "distributors",
        ];
        let (code, _, stderr) = db.run(&[&copy[..], &["--strict-widths"]].concat());
        assert_eq!(code, 3, "a value too wide is bad input: {stderr}");
        assert!(
            stderr.contains("--strict-widths") && stderr.contains("Name"),
            "{stderr}"
        );
        let kept = db.read("distributors").await;
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(kept[0]["DistributorID"].as_deref(), Some("KEEP"));
        if let Some(server) = &db.server {
            let requests = server.requests();
            assert!(
                !requests.iter().any(|r| r.to_uppercase().contains("DELETE")),
                "refused before deleting: {requests:#?}"
            );
        }

        let stdout = db.ok(&copy);
        assert!(stdout.contains("truncated values"), "{stdout}");
        let rows = db.read("distributors").await;
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert!(
            rows.iter().all(|r| r["Name"].as_deref() == Some("Golden Har")),
            "{rows:?}"
        );
    })
    .await;
}

/// Statements per write unit are a fixed handful: the count does not grow with rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_statements_grow_with_units_not_rows() {
    let db = TestDb::test_server();
    db.load_fixtures_and_file_result(true).await;
    let server = db.server.as_ref().unwrap();
    server.reset_stats();
    db.ok(&[RUN_MSSQL, &["--json", "--concurrency", "2"]].concat());
    let stats = server.stats();
    let requests = server.requests();
    let units = 2; // one per connection: the fixtures' three distributors in two units
    let bulk = requests
        .iter()
        .filter(|r| r.to_uppercase().starts_with("INSERT BULK"))
        .count();
    assert_eq!(bulk, units, "{requests:#?}");
    assert!(stats.bulk_rows > 2000, "{stats:?}");
    // Reading (catalog, distribution, five tables) plus at most 10 per unit.
    let total = stats.batches + stats.rpcs + stats.bulk_loads;
    assert!(
        total <= 20 + 10 * units as u64,
        "{total} requests for {} rows: {requests:#?}",
        stats.bulk_rows
    );
}

/// The in-place write reads the plan table whole a fixed number of times, however many distributors
/// there are (the stand-in counts the statements whose plan scans it; the table is a heap, as in
/// production). Before write units it was twice per distributor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_write_reads_the_plan_table_a_fixed_number_of_times() {
    let mut scans = Vec::new();
    for factor in ["1", "4"] {
        let db = TestDb::test_server();
        db.create_schema(true).await;
        let data = db.dir.path().join("generated");
        db.ok(&[
            "-q",
            "generate",
            "--scale",
            "small",
            "--factor",
            factor,
            "--output",
            data.to_str().unwrap(),
        ]);
        db.ok(&["-q", "copy", "--from", data.to_str().unwrap(), "--to", "mssql"]);
        let server = db.server.as_ref().unwrap();
        server.reset_stats();
        let json = db.ok(&[RUN_MSSQL, &["--json", "--concurrency", "2"]].concat());
        let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(summary["sink"]["rows_updated"].as_u64().unwrap() > 0, "{json}");
        assert!(summary["sink"]["rows_inserted"].as_u64().unwrap() > 0, "{json}");
        let partitions = summary["sink"]["partitions"].as_u64().unwrap();
        let stats = server.stats();
        let plan = stats
            .full_scans
            .get("monthlyrouteplan_temp")
            .copied()
            .unwrap_or(0);
        scans.push((partitions, plan, stats.full_scans));
    }
    let (few, many) = (&scans[0], &scans[1]);
    assert_eq!((few.0, many.0), (3, 12), "distributors: {scans:?}");
    // Reading: the distribution query, one SELECT per connection and one for rows without a
    // distributor; writing: the UPDATE and the INSERT's NOT EXISTS of each of the two units.
    assert!(few.1 > 0, "the counter sees the reads: {scans:?}");
    assert_eq!(few.1, many.1, "whole reads of the plan table: {scans:?}");
    assert!(
        many.1 <= 2 + 2 + 2 * 2,
        "whole reads of the plan table: {scans:?}"
    );
}
