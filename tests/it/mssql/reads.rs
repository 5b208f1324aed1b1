//! Reading from SQL Server: filters as parameters, partitioned reads, the read order (rule 9), and the
//! single read into temporary files.

use super::*;

/// Filters reach the server as parameters; the plan is read by several connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_push_filters_as_parameters_and_partition_the_plan() {
    let db = TestDb::test_server();
    db.create_schema(true).await;
    db.ok(&["-q", "copy", "--from", FIXTURES, "--to", "mssql"]);
    let server = db.server.as_ref().unwrap();
    server.reset_stats();
    let out = db.ok(&[
        "-q", "sql", "--input", "mssql", "--format", "csv", "--concurrency", "2",
        "SELECT COUNT(*) AS n FROM MonthlyRoutePlan_temp WHERE DistributorID = 'D002' AND RouteDate >= DATE '2026-12-01'",
    ]);
    let requests = server.requests();
    let scan = requests
        .iter()
        .find(|r| r.contains("FROM [dbo].[MonthlyRoutePlan_temp] WHERE"))
        .unwrap_or_else(|| panic!("{requests:#?}"));
    assert!(
        scan.contains("[DistributorID] = @P1") && scan.contains("[RouteDate] >= @P2"),
        "{scan}"
    );
    assert!(!scan.contains("D002"), "values are parameters: {scan}");
    let n: u64 = out.lines().nth(1).unwrap().parse().unwrap();
    let expected = db
        .read("MonthlyRoutePlan_temp")
        .await
        .iter()
        .filter(|r| r["DistributorID"].as_deref() == Some("D002"))
        .count() as u64;
    assert_eq!(n, expected);

    server.reset_stats();
    db.ok(&[
        "-q",
        "sql",
        "--input",
        "mssql",
        "--format",
        "csv",
        "--concurrency",
        "3",
        "SELECT COUNT(*) FROM MonthlyRoutePlan_temp",
    ]);
    let ranges = server
        .requests()
        .iter()
        .filter(|r| r.contains("FROM [dbo].[MonthlyRoutePlan_temp] WHERE [DistributorID] >= @P1"))
        .count();
    assert_eq!(ranges, 3, "{:#?}", server.requests());
}

/// Rule 9's read order: the primary key, else the clustered index, else the contract columns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_order_is_primary_key_else_clustered_index_else_contract_columns() {
    on_each_target(|db| async move {
        for t in ["rf_order_pk", "rf_order_cl", "rf_order_heap"] {
            db.exec(&format!("DROP TABLE IF EXISTS {t}")).await;
        }
        db.exec(
            "CREATE TABLE rf_order_pk (a nvarchar(10), b int NOT NULL, c int NOT NULL, n nvarchar(max), \
               CONSTRAINT pk_rf_order_pk PRIMARY KEY (c, b)); \
             CREATE INDEX ix_rf_order_pk ON rf_order_pk (a); \
             CREATE TABLE rf_order_cl (a nvarchar(10), b int, n nvarchar(max)); \
             CREATE CLUSTERED INDEX ix_rf_order_cl ON rf_order_cl (b, a); \
             CREATE TABLE rf_order_heap (a nvarchar(10), b int); \
             CREATE INDEX ix_rf_order_heap ON rf_order_heap (b)",
        )
        .await;
        let pool = db.pool();
        let key = |names: &[&str]| names.iter().map(|n| OrderKey::asc(n)).collect::<Vec<_>>();
        assert_eq!(
            catalog::index_key(&pool, "rf_order_pk").await.unwrap(),
            Some((OrderSource::PrimaryKey, key(&["c", "b"])))
        );
        let clustered = catalog::index_key(&pool, "rf_order_cl").await.unwrap();
        if db.babelfish {
            // Babelfish has no clustered indexes: sys.indexes reports every index NONCLUSTERED (type 2),
            // so the table reads as a heap there. SQL Server reports type 1.
            assert_eq!(clustered, None);
        } else {
            assert_eq!(
                clustered,
                Some((OrderSource::ClusteredIndex { unique: false }, key(&["b", "a"])))
            );
        }
        assert_eq!(catalog::index_key(&pool, "rf_order_heap").await.unwrap(), None);
        assert_eq!(catalog::index_key(&pool, "rf_no_such_table").await.unwrap(), None);

        // The contract tables as the fixtures' DDL declares them: heaps, read in contract column order
        // (the plan by all its columns: contract ones first, then any other orderable ones).
        db.create_schema(true).await;
        db.exec(
            "ALTER TABLE MonthlyRoutePlan_temp ADD Remarks nvarchar(50); \
             ALTER TABLE MonthlyRoutePlan_temp ADD Notes nvarchar(max)",
        )
        .await;
        let order = |table: &'static str| {
            let pool = Arc::clone(&pool);
            async move {
                MssqlTable::open(pool, table, 100, 1)
                    .await
                    .unwrap()
                    .read_order()
                    .clone()
            }
        };
        let customer = order("customer").await;
        assert_eq!(customer.source, OrderSource::Columns);
        assert_eq!(
            customer.order_by(),
            " ORDER BY [CustNo], [latitude], [longitude], [address3]"
        );
        assert_eq!(
            order("MonthlyRoutePlan_temp").await.order_by(),
            " ORDER BY [CustNo], [RouteDate], [Name], [WD], [SalesManTerritory], [AgentID], [RouteName], \
             [DistributorID], [RouteCode], [SalesOfficeID], [StopNo], [custype], [Remarks]"
        );
        db.exec(
            "DROP TABLE customer; CREATE TABLE customer (CustNo nvarchar(50) NOT NULL PRIMARY KEY, \
             latitude decimal(10,7), longitude decimal(10,7), address3 nvarchar(50))",
        )
        .await;
        let customer = order("customer").await;
        assert_eq!(customer.source, OrderSource::PrimaryKey);
        // (Babelfish's sys.columns spells it in lower case; T-SQL names are case-insensitive.)
        assert_eq!(customer.order_by().to_lowercase(), " order by [custno]");
    })
    .await;
}

/// Rule 9 through SQL Server: "the first row wins" rules give the same result however the server
/// orders rows. The stand-in returns every SELECT's rows in a random order (keeping what an ORDER BY
/// fixes); duplicates make the first row matter: customers, prospects and distributors listed twice
/// with other coordinates, plan rows repeated with other fields (the template of added rows), and
/// plan rows equal in every contract column but one extra column (their order in the output).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shuffled_reads_give_identical_output() {
    let db = TestDb::test_server();
    db.create_schema(true).await;
    db.ok(&["-q", "copy", "--from", FIXTURES, "--to", "mssql"]);
    db.exec(
        "INSERT INTO customer (CustNo, latitude, longitude, address3) \
           SELECT CustNo, latitude + 0.02, longitude - 0.02, address3 FROM customer \
           WHERE CustNo IN (SELECT CustNo FROM MonthlyRoutePlan_temp); \
         INSERT INTO customer (CustNo, latitude, longitude, address3) \
           SELECT CustNo, latitude - 0.01, longitude + 0.01, N'elsewhere' FROM customer \
           WHERE CustNo IN (SELECT CustNo FROM MonthlyRoutePlan_temp); \
         INSERT INTO prospective (tdlinx, latitude, longitude, barangay_code, store_name_nielsen) \
           SELECT tdlinx, latitude + 0.01, longitude + 0.01, barangay_code, store_name_nielsen + N' (2)' \
           FROM prospective; \
         INSERT INTO distributors (DistributorID, Latitude, Longitude, Name, Address) \
           SELECT DistributorID, Latitude + 0.05, Longitude - 0.05, Name, Address FROM distributors; \
         INSERT INTO MonthlyRoutePlan_temp \
           SELECT CustNo, RouteDate, Name, WD + 1, SalesManTerritory, AgentID, RouteName + N' b', \
             DistributorID, RouteCode, SalesOfficeID, StopNo, custype \
           FROM MonthlyRoutePlan_temp AS p \
           WHERE CustNo = (SELECT MIN(q.CustNo) FROM MonthlyRoutePlan_temp AS q \
             WHERE q.DistributorID = p.DistributorID AND q.AgentID = p.AgentID AND q.RouteDate = p.RouteDate)",
    )
    .await;
    db.exec("ALTER TABLE MonthlyRoutePlan_temp ADD Remarks nvarchar(50)")
        .await;
    db.exec(
        "INSERT INTO MonthlyRoutePlan_temp \
           SELECT CustNo, RouteDate, Name, WD, SalesManTerritory, AgentID, RouteName, DistributorID, \
             RouteCode, SalesOfficeID, StopNo, custype, N'copy' \
           FROM MonthlyRoutePlan_temp WHERE WD % 2 = 0",
    )
    .await;
    let server = db.server.as_ref().unwrap();
    let dir = db.dir.path().to_path_buf();
    let run = |name: &str| {
        let out = dir.join(name);
        db.ok(&[
            "-q",
            "run",
            "--input",
            "mssql",
            "--output",
            out.to_str().unwrap(),
            "--no-snapshot",
        ]);
        out
    };
    server.reset_stats();
    let reference_dir = run("in-order");
    let reads = server.requests();
    for (table, keys) in [
        ("customer", "[CustNo], [latitude], [longitude], [address3]"),
        (
            "prospective",
            "[tdlinx], [latitude], [longitude], [barangay_code], [store_name_nielsen]",
        ),
        (
            "distributors",
            "[DistributorID], [Latitude], [Longitude], [Name], [Address]",
        ),
        ("MonthlyRoutePlan_temp", "[CustNo], [RouteDate], [Name], [WD]"),
    ] {
        let from = format!("FROM [dbo].[{table}]");
        assert!(
            reads
                .iter()
                .any(|r| r.contains(&from) && r.contains(&format!("ORDER BY {keys}"))),
            "{table} is read ORDER BY {keys}: {reads:#?}"
        );
    }
    // Visits are a set (was a store visited?): read in whatever order, and shuffled below too.
    assert!(
        reads
            .iter()
            .any(|r| r.contains("FROM [dbo].[custvisit]") && !r.contains("ORDER BY")),
        "custvisit is read without ORDER BY: {reads:#?}"
    );
    let reference = output_files(&reference_dir);
    let reference_rows = read_output(&reference_dir).await;
    assert!(
        reference_rows
            .iter()
            .any(|r| r["Remarks"].as_deref() == Some("copy"))
    );

    server.shuffle_rows(true);
    for i in 0..10 {
        let out = run(&format!("shuffled-{i}"));
        let rows = read_output(&out).await;
        let first_difference = reference_rows.iter().zip(&rows).position(|(a, b)| a != b);
        assert!(
            rows.len() == reference_rows.len() && first_difference.is_none(),
            "shuffled read {i}: {} rows against {}; first different row {first_difference:?}: {:?} against {:?}",
            rows.len(),
            reference_rows.len(),
            first_difference.map(|d| &rows[d]),
            first_difference.map(|d| &reference_rows[d]),
        );
        assert!(
            output_files(&out) == reference,
            "shuffled read {i}: the files differ"
        );
    }
}

/// Every file of the output table under `out` (not the summary, which has timings), by relative
/// path, with its bytes.
fn output_files(out: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let dir = &out.join("MonthlyRoutePlan_temp");
    let mut files = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    assert!(!files.is_empty(), "{} holds no file", dir.display());
    files
}

/// A batch run reads each SQL Server table once into temporary Parquet files (not into memory),
/// reads those for every stage, and removes them when it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_single_read_goes_to_temporary_files_removed_after_the_run() {
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let tmp = db.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = db.dir.path().join("out");
    let output = db
        .routeflow()
        .env("TMPDIR", &tmp)
        .env("RUST_LOG", "warn,routeflow::source::spill=debug")
        .args([
            "--log-format",
            "json",
            "run",
            "--input",
            "mssql",
            "--output",
            out.to_str().unwrap(),
            "--no-snapshot",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    for table in [
        "MonthlyRoutePlan_temp",
        "customer",
        "prospective",
        "custvisit",
        "distributors",
    ] {
        let line = stderr
            .lines()
            .find(|l| {
                l.contains("read once into temporary files") && l.contains(&format!("\"table\":\"{table}\""))
            })
            .unwrap_or_else(|| panic!("no temporary files for {table}:\n{stderr}"));
        assert!(line.contains(tmp.to_str().unwrap()), "{line}");
    }
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let mut rows = read_output(&out).await;
    rows.sort();
    assert!(rows == expected, "the result differs from the file path's");
}
