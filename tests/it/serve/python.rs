//! A notebook's view: Python's ADBC Flight SQL driver (from PyPI, not written here) over TLS.

use std::path::PathBuf;
use std::process::Command;

use super::server::{PASSWORD, USER, fixture, start};

/// The Python of the test environment: `ROUTEFLOW_TEST_PYTHON`, else the one tests/python/env.sh
/// makes (a virtual environment with the pinned clients; `.ci/run` makes it beforehand).
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("ROUTEFLOW_TEST_PYTHON") {
        return p.into();
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/env.sh");
    let out = Command::new("bash")
        .arg(script)
        .output()
        .expect("bash runs tests/python/env.sh");
    assert!(
        out.status.success(),
        "tests/python/env.sh could not make the Python environment (python3 with venv and PyPI access): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().into()
}

#[test]
fn a_python_notebook_lists_queries_binds_and_fetches_over_tls_and_writes_are_refused() {
    let f = fixture();
    let server = start(&[
        "--tls-cert",
        f.cert.to_str().unwrap(),
        "--tls-key",
        f.key.to_str().unwrap(),
    ]);
    assert!(server.url.starts_with("grpc+tls://"), "{}", server.url);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/flight_sql_client.py");
    let out = Command::new(python())
        .arg(script)
        .args([
            &server.url,
            USER,
            PASSWORD,
            f.cert.to_str().unwrap(),
            "D001-A02",
            "2026-12-01",
            &f.run_id,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the Python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    // What the client saw equals what the catalog holds.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let count = |sql: &str| -> i64 {
        rt.block_on(async {
            let ctx = crate::support::fixture_catalog().await;
            let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
            arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(batches[0].column(0)).value(0)
        })
    };
    let stops = count(
        "SELECT COUNT(*) FROM route_stops WHERE AgentID = 'D001-A02' AND RouteDate = DATE '2026-12-01'",
    );
    assert_eq!(summary["route_stops"], stops);
    assert_eq!(
        summary["big_rows"],
        8 * count("SELECT COUNT(*) FROM MonthlyRoutePlan_temp")
    );
    assert!(summary["big_batches"].as_u64().unwrap() > 1);
    assert_eq!(summary["writes_refused"], 5);
    assert!(
        summary["wrong_password"]
            .as_str()
            .unwrap()
            .contains("wrong user or password")
            || summary["wrong_password"]
                .as_str()
                .unwrap()
                .contains("Unauthenticated")
    );
    rt.block_on(
        server.wait_for_event(|e| e["fields"]["message"] == "query" && e["fields"]["prepared"] == true),
    );
}
