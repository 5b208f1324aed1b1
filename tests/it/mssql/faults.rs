//! Faults: a connection dropped mid-load, deadlocks, and errors that name the server but never the
//! password. They need the test server's fault injection, so they run only on it.

use super::*;

/// A connection dropped in the middle of a partition's bulk load: the partition is retried on a new
/// connection and the table ends as after a clean run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_mid_write_is_retried() {
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let server = db.server.as_ref().unwrap();
    let drop_mid_load = || Fault {
        when: FaultMatch::Contains("INSERT BULK".into()),
        action: FaultAction::DropAfterBytes(3000),
        times: 1,
    };
    let retried = |extra: &[&str]| {
        let json = db.ok(&[RUN_MSSQL, &["--json", "--retry-backoff-ms", "50"], extra].concat());
        let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(summary["sink"]["failed"].as_array().unwrap().len(), 0, "{json}");
    };
    // Into a new table too: the retried partition's rows are there once.
    server.inject(drop_mid_load());
    retried(&["--write", "table", RESULT_TABLE]);
    assert_eq!(db.read(RESULT_TABLE).await, expected);
    server.inject(drop_mid_load());
    retried(&[]);
    assert_eq!(db.read("MonthlyRoutePlan_temp").await, expected);
}

/// The swap of `--write table` loses its connection: it is retried, and the new table is in place
/// once, whole (before the retry, the swap ended the run with exit 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_whose_connection_drops_is_retried() {
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let server = db.server.as_ref().unwrap();
    server.inject(Fault {
        when: FaultMatch::Contains("sp_rename".into()),
        action: FaultAction::Drop,
        times: 1,
    });
    let args = [
        RUN_MSSQL,
        &["--write", "table", RESULT_TABLE, "--retry-backoff-ms", "20"],
    ]
    .concat();
    let (code, stdout, stderr) = db.run(&args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("swap failed, retrying"), "{stderr}");
    assert_eq!(db.read(RESULT_TABLE).await, expected);
}

/// A deadlock on one partition: retried. Failing for good: the run exits 2 naming the partition,
/// the others are written, and a re-run completes the table without doubling anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlocked_partition_is_retried_or_completed_by_a_rerun() {
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let server = db.server.as_ref().unwrap();
    let deadlock = |times| {
        Fault {
        when: FaultMatch::Contains("UPDATE t SET".into()),
        action: FaultAction::Error {
            number: 1205,
            message: "Transaction (Process ID 61) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.".into(),
        },
        times,
    }
    };
    let run = [RUN_MSSQL, &["--json", "--retry-backoff-ms", "20"]].concat();

    // Once: the retry succeeds.
    server.inject(deadlock(1));
    db.ok(&run);
    assert_eq!(db.read("MonthlyRoutePlan_temp").await, expected);

    // Every time for one unit (more than the retries): exit 2, its distributors listed. Units
    // apply in order, so the first one (holding D001) takes all four deadlocks; the second is written.
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let server = db.server.as_ref().unwrap();
    server.inject(deadlock(4));
    let (code, stdout, stderr) = db.run(&[&run[..], &["--retries", "3", "--concurrency", "2"]].concat());
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let failed = summary["sink"]["failed"].as_array().unwrap();
    assert!((1..3).contains(&failed.len()), "{stdout}");
    assert_eq!(failed[0]["partition"], "DistributorID=D001", "{stdout}");
    for f in failed {
        assert!(f["error"].as_str().unwrap().contains("deadlock"), "{stdout}");
    }
    let partial = db.read("MonthlyRoutePlan_temp").await;
    assert_ne!(partial, expected);
    server.clear_faults();
    db.ok(&run);
    assert_eq!(db.read("MonthlyRoutePlan_temp").await, expected);
}

/// Password and connection string stay out of errors; errors name the server and database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_server_never_the_password() {
    let db = TestDb::test_server();
    // A dry run with this connection string: its exit code and standard error.
    let dry_run = |conn: &str| {
        let out = routeflow()
            .env("ROUTEFLOW_MSSQL", conn)
            .args([
                "-q",
                "run",
                "--input",
                "mssql",
                "--dry-run",
                "--mssql-connect-timeout",
                "3",
            ])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = dry_run(&db.conn.replace("Test-Secret-42", "Wrong-Secret-7"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("Wrong-Secret-7"), "{stderr}");
    assert!(stderr.contains("127.0.0.1"), "{stderr}");
    assert!(stderr.contains("routes"), "{stderr}");
    assert!(
        stderr.contains("18456") || stderr.contains("Login failed"),
        "{stderr}"
    );

    // Nothing listening: the cause, not a bare timeout.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port = db.server.as_ref().unwrap().port();
    let (code, stderr) = dry_run(&db.conn.replace(&format!(",{port}"), &format!(",{closed}")));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot connect") && stderr.contains("refused"),
        "{stderr}"
    );

    let db2 = TestDb::test_server();
    db2.create_schema(true).await;
    db2.exec("DROP TABLE customer").await;
    let (code, _, stderr) = db2.run(&["-q", "run", "--input", "mssql", "--dry-run"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("table dbo.customer does not exist"), "{stderr}");

    let out = routeflow()
        .env_remove("ROUTEFLOW_MSSQL")
        .args(["-q", "run", "--input", "mssql", "--dry-run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("ROUTEFLOW_MSSQL"), "{stderr}");
}
