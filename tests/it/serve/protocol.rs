//! The Flight SQL protocol as `FlightSqlServiceClient` (arrow-flight) speaks it.

use std::time::Duration;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::util::pretty::pretty_format_batches;
use arrow_flight::sql::{CommandGetDbSchemas, CommandGetTables, SqlInfo};
use futures::StreamExt;
use std::sync::Arc;

use super::server::{USER, fixture, query, rows, start};
use crate::support::routeflow;

fn text(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).unwrap().to_string()
}

#[tokio::test]
async fn a_login_gets_a_token_and_a_wrong_password_or_no_login_is_refused() {
    let server = start(&[]);
    let mut anonymous = server.client(false).await;
    let err = query(&mut anonymous, "SELECT 1").await.unwrap_err().to_string();
    assert!(err.contains("log in"), "{err}");
    let err = anonymous
        .handshake(USER, "not the password")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("wrong user or password"), "{err}");
    let err = anonymous
        .handshake("nobody", super::server::PASSWORD)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("wrong user or password"), "{err}");

    let mut client = server.client(true).await;
    let batches = query(&mut client, "SELECT COUNT(*) AS n FROM MonthlyRoutePlan_temp")
        .await
        .unwrap();
    assert_eq!(rows(&batches), 1);
    let login = server.wait_for_event(|e| e["fields"]["message"] == "login").await;
    assert_eq!(login["fields"]["user"], USER);
}

#[test]
fn without_users_or_off_loopback_without_auth_the_server_does_not_start() {
    let empty = fixture().dir.join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    for (config, args, needle) in [
        (&empty, vec!["serve", "--port", "0"], "no users"),
        (
            &empty,
            vec!["serve", "--port", "0", "--no-auth", "--bind", "0.0.0.0"],
            "only allowed on a loopback",
        ),
        (
            &empty,
            vec!["serve", "--port", "0", "--user", "ana:hunter2"],
            "not an Argon2 password hash",
        ),
    ] {
        let out = routeflow()
            .arg("--config")
            .arg(config)
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn the_object_browser_sees_catalogs_schemas_tables_with_columns_and_table_types() {
    let server = start(&[]);
    let mut client = server.client(true).await;
    let collect = |info: arrow_flight::FlightInfo| info.endpoint[0].ticket.clone().unwrap();

    let ticket = collect(client.get_catalogs().await.unwrap());
    let catalogs = text(
        &client
            .do_get(ticket)
            .await
            .unwrap()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect::<Vec<_>>(),
    );
    assert!(catalogs.contains("datafusion"), "{catalogs}");

    let schemas_cmd = CommandGetDbSchemas {
        catalog: None,
        db_schema_filter_pattern: Some("snapshot%".into()),
    };
    let ticket = collect(client.get_db_schemas(schemas_cmd).await.unwrap());
    let schemas = text(&drain(&mut client, ticket).await);
    assert!(
        schemas.contains("snapshot_input") && schemas.contains("snapshot_output"),
        "{schemas}"
    );
    assert!(!schemas.contains("public"), "the pattern filters: {schemas}");

    let tables_cmd = CommandGetTables {
        catalog: None,
        db_schema_filter_pattern: Some("public".into()),
        table_name_filter_pattern: Some("route_%".into()),
        table_types: vec![],
        include_schema: true,
    };
    let ticket = collect(client.get_tables(tables_cmd).await.unwrap());
    let tables = drain(&mut client, ticket).await;
    let batch = arrow::compute::concat_batches(&tables[0].schema(), &tables).unwrap();
    let names: &StringArray = batch.column_by_name("table_name").unwrap().as_string();
    let at = (0..names.len())
        .find(|&i| names.value(i) == "route_stops")
        .expect("route_stops listed");
    // `_` is LIKE's one-character wildcard: `routes` matches too.
    assert!((0..names.len()).all(|i| names.value(i).starts_with("route")));
    let schema_bytes = batch
        .column_by_name("table_schema")
        .unwrap()
        .as_binary::<i32>()
        .value(at)
        .to_vec();
    let message = arrow::ipc::root_as_message(&schema_bytes[8..]).unwrap();
    let schema = arrow::ipc::convert::fb_to_schema(message.header_as_schema().unwrap());
    assert!(schema.field_with_name("stop_no").is_ok(), "{schema:?}");

    let views_cmd = CommandGetTables {
        catalog: None,
        db_schema_filter_pattern: Some("public".into()),
        table_name_filter_pattern: None,
        table_types: vec!["VIEW".into()],
        include_schema: false,
    };
    let ticket = collect(client.get_tables(views_cmd).await.unwrap());
    let views = drain(&mut client, ticket).await;
    let views = arrow::compute::concat_batches(&views[0].schema(), &views).unwrap();
    let kinds: &StringArray = views.column_by_name("table_type").unwrap().as_string();
    assert!(kinds.iter().all(|k| k == Some("VIEW")), "only views: {kinds:?}");
    let names: Vec<&str> = views
        .column_by_name("table_name")
        .unwrap()
        .as_string::<i32>()
        .iter()
        .flatten()
        .collect();
    assert!(
        names.contains(&"route_summary") && !names.contains(&"MonthlyRoutePlan_temp"),
        "{names:?}"
    );

    let ticket = collect(client.get_table_types().await.unwrap());
    let types = text(&drain(&mut client, ticket).await);
    assert!(types.contains("TABLE") && types.contains("VIEW"), "{types}");

    let ticket = collect(
        client
            .get_sql_info(vec![SqlInfo::FlightSqlServerReadOnly])
            .await
            .unwrap(),
    );
    let info = text(&drain(&mut client, ticket).await);
    assert!(info.contains("true"), "read-only is reported: {info}");
}

async fn drain(
    client: &mut arrow_flight::sql::client::FlightSqlServiceClient<tonic::transport::Channel>,
    ticket: arrow_flight::Ticket,
) -> Vec<RecordBatch> {
    client
        .do_get(ticket)
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await
}

#[tokio::test]
async fn every_write_is_refused_and_no_file_outside_the_catalog_can_be_opened() {
    let server = start(&[]);
    let mut client = server.client(true).await;
    for sql in [
        "CREATE TABLE x AS SELECT 1",
        "CREATE VIEW v AS SELECT 1",
        "INSERT INTO MonthlyRoutePlan_temp SELECT * FROM MonthlyRoutePlan_temp",
        "DROP VIEW route_summary",
        "COPY (SELECT 1) TO '/tmp/routeflow-serve-copy.csv'",
        "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let err = query(&mut client, sql).await.unwrap_err().to_string();
        assert!(err.contains("read-only"), "{sql}: {err}");
    }
    let err = client
        .execute_update("DELETE FROM customer".into(), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("read-only"), "{err}");
    for sql in [
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM read_csv('/etc/passwd')",
    ] {
        assert!(
            query(&mut client, sql).await.is_err(),
            "{sql} must not read a file"
        );
    }
    // The catalog is unchanged.
    let batches = query(&mut client, "SELECT 1 FROM route_summary LIMIT 1")
        .await
        .unwrap();
    assert_eq!(rows(&batches), 1);
}

#[tokio::test]
async fn a_prepared_statement_binds_its_parameters_and_matches_the_catalog() {
    let server = start(&[]);
    let mut client = server.client(true).await;
    let sql = "SELECT CustNo, stop_no FROM route_stops WHERE AgentID = ? AND RouteDate = CAST(? AS DATE) ORDER BY stop_no";
    let mut prepared = client.prepare(sql.into(), None).await.unwrap();
    let params = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("$1", DataType::Utf8, false),
            Field::new("$2", DataType::Utf8, false),
        ])),
        vec![
            Arc::new(StringArray::from(vec!["D001-A02"])),
            Arc::new(StringArray::from(vec!["2026-12-01"])),
        ],
    )
    .unwrap();
    prepared.set_parameters(params).unwrap();
    let info = prepared.execute().await.unwrap();
    let batches = drain(&mut client, info.endpoint[0].ticket.clone().unwrap()).await;

    let ctx = crate::support::fixture_catalog().await;
    let expected = ctx
        .sql("SELECT CustNo, stop_no FROM route_stops WHERE AgentID = 'D001-A02' AND RouteDate = DATE '2026-12-01' ORDER BY stop_no")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert!(rows(&expected) >= 60, "the fixture route has its 60 stops");
    assert_eq!(text(&batches), text(&expected));
    prepared.close().await.unwrap();
}

/// The lazy views keep their pushdown over the endpoint: EXPLAIN shows the route filter below the
/// sequencing operator, as `routeflow sql` does.
#[tokio::test]
async fn explain_through_the_endpoint_shows_one_routes_filter_below_the_sequencer() {
    let server = start(&[]);
    let mut client = server.client(true).await;
    let sql = "EXPLAIN SELECT * FROM route_stops WHERE DistributorID = 'D001' AND AgentID = 'D001-A02' \
               AND RouteDate = DATE '2026-12-01'";
    let plan = text(&query(&mut client, sql).await.unwrap());
    let physical = &plan[plan.find("physical_plan").unwrap()..];
    let sequence = physical.find("SequenceExec").expect("the sequencing operator");
    assert!(
        physical[sequence..].contains("FilterExec"),
        "the route filter is below the sequencer:\n{plan}"
    );
}

#[tokio::test]
async fn one_log_event_per_query_names_the_user_rows_duration_and_text() {
    let server = start(&[]);
    let mut client = server.client(true).await;
    let sql = "SELECT CustNo FROM MonthlyRoutePlan_temp WHERE AgentID = 'D001-A02' LIMIT 7";
    assert_eq!(rows(&query(&mut client, sql).await.unwrap()), 7);
    let event = server.wait_for_event(|e| e["fields"]["message"] == "query").await;
    let fields = &event["fields"];
    assert_eq!(fields["user"], USER);
    assert_eq!(fields["rows"], 7);
    assert_eq!(fields["sql"], sql, "the text with its literals");
    assert_eq!(fields["outcome"], "Finished");
    assert!(fields["duration_ms"].is_u64());
}

/// A slow client: a query streams while the test reads nothing, then goes away.
const ENDLESS: &str = "SELECT value, repeat('x', 200) AS pad FROM range(1000000000)";

#[tokio::test]
async fn a_client_that_goes_away_cancels_its_query_and_frees_its_slot() {
    let server = start(&["--max-queries", "1"]);
    let mut client = server.client(true).await;
    let info = client.execute(ENDLESS.into(), None).await.unwrap();
    let mut stream = client
        .do_get(info.endpoint[0].ticket.clone().unwrap())
        .await
        .unwrap();
    assert!(stream.next().await.unwrap().unwrap().num_rows() > 0);

    let mut other = server.client(true).await;
    let busy = query(&mut other, "SELECT 1").await.unwrap_err().to_string();
    assert!(busy.contains("try again"), "one slot, in use: {busy}");

    drop(stream);
    drop(client);
    let event = server
        .wait_for_event(|e| e["fields"]["outcome"] == "Cancelled")
        .await;
    assert_eq!(event["fields"]["sql"], ENDLESS);
    assert_eq!(
        rows(&query(&mut other, "SELECT 1").await.unwrap()),
        1,
        "the slot is free again"
    );
}

#[tokio::test]
async fn a_heavy_query_does_not_block_a_small_one() {
    let server = start(&["--max-queries", "2"]);
    let mut heavy = server.client(true).await;
    let info = heavy.execute(ENDLESS.into(), None).await.unwrap();
    let mut stream = heavy
        .do_get(info.endpoint[0].ticket.clone().unwrap())
        .await
        .unwrap();
    assert!(stream.next().await.unwrap().is_ok());

    let mut small = server.client(true).await;
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        query(
            &mut small,
            "SELECT COUNT(*) FROM route_summary WHERE AgentID = 'D001-A02'",
        ),
    )
    .await
    .expect("the small query answers while the heavy one streams")
    .unwrap();
    assert_eq!(rows(&answer), 1);
    assert!(
        stream.next().await.unwrap().is_ok(),
        "the heavy query is still streaming"
    );
}

#[tokio::test]
async fn a_query_past_the_timeout_is_stopped() {
    let server = start(&["--query-timeout", "1"]);
    let mut client = server.client(true).await;
    let err = query(&mut client, "SELECT COUNT(*) FROM range(1000000000000)")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ran longer than 1 s"), "{err}");
    server
        .wait_for_event(|e| e["fields"]["outcome"] == "TimedOut")
        .await;
}

#[tokio::test]
async fn many_clients_at_once_each_get_their_own_result() {
    let server = start(&["--max-queries", "16"]);
    let ctx = crate::support::fixture_catalog().await;
    let agents = ctx
        .sql("SELECT AgentID, COUNT(*) AS n FROM MonthlyRoutePlan_temp WHERE AgentID IS NOT NULL GROUP BY AgentID ORDER BY AgentID LIMIT 12")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let batch = arrow::compute::concat_batches(&agents[0].schema(), &agents).unwrap();
    let ids: Vec<String> = batch
        .column(0)
        .as_string::<i32>()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect();
    let counts: Vec<i64> = batch
        .column(1)
        .as_primitive::<arrow::datatypes::Int64Type>()
        .values()
        .to_vec();
    let server = &server;
    let answers = futures::future::join_all(ids.iter().map(|id| async move {
        let mut client = server.client(true).await;
        let sql = format!("SELECT COUNT(*) FROM MonthlyRoutePlan_temp WHERE AgentID = '{id}'");
        let batches = query(&mut client, &sql).await.unwrap();
        batches[0]
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .value(0)
    }))
    .await;
    assert_eq!(answers, counts);
}

/// Two million wide rows stream through while the server's memory stays far below their size: the
/// result is never held whole.
#[tokio::test]
async fn two_million_rows_stream_with_bounded_server_memory() {
    let server = start(&[]);
    let mut client = server.client(true).await;
    query(&mut client, "SELECT 1").await.unwrap();
    let before = server.peak_rss_kb();
    // 2 M rows of about 250 bytes: some 500 MB in all.
    let sql = "SELECT value, repeat('x', 240) AS pad FROM range(2000000)";
    let info = client.execute(sql.into(), None).await.unwrap();
    let mut stream = client
        .do_get(info.endpoint[0].ticket.clone().unwrap())
        .await
        .unwrap();
    let mut n = 0;
    while let Some(batch) = stream.next().await {
        n += batch.unwrap().num_rows();
    }
    assert_eq!(n, 2_000_000);
    let grown_mb = (server.peak_rss_kb().saturating_sub(before)) / 1024;
    assert!(
        grown_mb < 200,
        "the server's peak memory grew by {grown_mb} MB for a 500 MB result"
    );
}

/// A plan that emits tiny batches (a cross join gives a few rows each) still reaches the client in
/// full-size batches: a million two-row Flight messages would cost more than the rows.
#[tokio::test]
async fn small_batches_of_a_plan_reach_the_client_coalesced() {
    let server = start(&[]);
    let mut client = server.client(true).await;
    let sql = "SELECT p.CustNo, r.value FROM MonthlyRoutePlan_temp AS p CROSS JOIN range(8) AS r";
    let batches = query(&mut client, sql).await.unwrap();
    let total = rows(&batches);
    assert!(total > 2 * 8192, "{total}");
    let sizes: Vec<usize> = batches
        .iter()
        .map(RecordBatch::num_rows)
        .filter(|&n| n > 0)
        .collect();
    assert!(sizes[..sizes.len() - 1].iter().all(|&n| n == 8192), "{sizes:?}");
}
