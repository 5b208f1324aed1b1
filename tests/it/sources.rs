//! The file source: layouts, type casts, and clear errors before any work starts.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Array, Float32Array, Int64Array, LargeStringArray, RecordBatch,
    TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use routeflow::plan::PlanOptions;
use routeflow::run::run;

use crate::support::{Tables, config, get, run_config};

fn write_parquet(path: &Path, batch: &RecordBatch) {
    let mut w = ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

fn base_tables() -> Tables {
    Tables {
        plan: vec![Tables::stop("C1"), Tables::stop("C2")],
        customer: vec!["C1,14.600,121.000,B1".into(), "C2,14.610,121.000,B1".into()],
        distributors: vec!["D1,14.590,121.000,Warehouse,x".into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn parquet_written_by_other_tools_is_cast_to_canonical_types() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    base_tables().write(&input);
    // customer as Parquet with LargeUtf8 ids and Decimal(10,7) / Float32 coordinates.
    std::fs::remove_file(input.join("customer.csv")).unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("CustNo", DataType::LargeUtf8, true),
        Field::new("latitude", DataType::Decimal128(10, 7), true),
        Field::new("longitude", DataType::Float32, true),
        Field::new("address3", DataType::LargeUtf8, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(LargeStringArray::from(vec!["C1", "C2"])),
        Arc::new(
            Decimal128Array::from(vec![146_000_000i128, 146_100_000])
                .with_precision_and_scale(10, 7)
                .unwrap(),
        ),
        Arc::new(Float32Array::from(vec![121.0f32, 121.0])),
        Arc::new(LargeStringArray::from(vec!["B1", "B1"])),
    ];
    write_parquet(
        &input.join("customer.parquet"),
        &RecordBatch::try_new(schema, cols).unwrap(),
    );
    // custvisit as a directory of Parquet files with Timestamp dates and Int64 ids.
    std::fs::remove_file(input.join("custvisit.csv")).unwrap();
    std::fs::create_dir_all(input.join("custvisit")).unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("CustID", DataType::Int64, true),
        Field::new("AgentID", DataType::Utf8, true),
        Field::new(
            "TransDate",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            true,
        ),
    ]));
    for part in 0..2 {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![part])),
            Arc::new(arrow::array::StringArray::from(vec!["A1"])),
            Arc::new(TimestampMillisecondArray::from(vec![1_780_000_000_000])),
        ];
        write_parquet(
            &input.join(format!("custvisit/part-{part}.parquet")),
            &RecordBatch::try_new(Arc::clone(&schema), cols).unwrap(),
        );
    }
    let out = run_config(
        config(&input, &dir.path().join("out"), PlanOptions::default()),
        dir,
    )
    .await;
    assert_eq!(out.stop_no("C1"), Some(1));
    assert_eq!(out.stop_no("C2"), Some(2));
    assert_eq!(out.custype("C1").as_deref(), Some("customer"));
    assert_eq!(get(out.cust("C1")[0], "RouteDate"), Some("2026-12-01"));
}

#[tokio::test]
async fn csv_ids_keep_leading_zeros() {
    let mut tables = base_tables();
    tables.plan.push(Tables::stop("00123"));
    tables.customer.push("00123,14.620,121.000,B1".into());
    let out = crate::support::run_tables(&tables, PlanOptions::default()).await;
    assert_eq!(out.custype("00123").as_deref(), Some("customer"));
}

#[tokio::test]
async fn a_missing_table_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    base_tables().write(&input);
    std::fs::remove_file(input.join("prospective.csv")).unwrap();
    let err = run(&config(&input, &dir.path().join("out"), PlanOptions::default()))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("table prospective not found"), "{err}");
    assert!(!dir.path().join("out").exists(), "nothing written");
}

#[tokio::test]
async fn a_missing_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    base_tables().write(&input);
    std::fs::write(
        input.join("distributors.csv"),
        "DistributorID,Latitude,Name,Address\nD1,14.5,W,x\n",
    )
    .unwrap();
    let err = run(&config(&input, &dir.path().join("out"), PlanOptions::default()))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("distributors") && err.contains("Longitude"), "{err}");
}

/// Runs `tables` without top-up after `adjust` sets the filters.
async fn run_filtered(
    tables: &Tables,
    adjust: impl FnOnce(&mut routeflow::run::RunConfig),
) -> crate::support::Output {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    tables.write(&input);
    let plan = PlanOptions {
        target_stops: 0,
        ..Default::default()
    };
    let mut cfg = config(&input, &dir.path().join("out"), plan);
    adjust(&mut cfg);
    run_config(cfg, dir).await
}

#[tokio::test]
async fn filters_restrict_the_plan_to_distributors_and_first_routes() {
    let mut tables = base_tables();
    tables.plan.push(Tables::stop_on("D2", "A1", "2026-12-01", "C1"));
    tables.plan.push(Tables::stop_on("D1", "A1", "2026-12-02", "C1"));
    let out = run_filtered(&tables, |cfg| cfg.distributor_ids = vec!["D2".into()]).await;
    assert_eq!(out.rows.len(), 1);
    assert_eq!(out.summary.routes.total, 1);

    let out = run_filtered(&tables, |cfg| cfg.limit_routes = Some(2)).await;
    assert_eq!(out.summary.routes.total, 2);
    assert_eq!(out.rows.len(), 3, "D1/2026-12-01 (two stops) and D1/2026-12-02");
}

#[tokio::test]
async fn file_urls_work_like_paths() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    base_tables().write(&input);
    let mut cfg = config(&input, &dir.path().join("out"), PlanOptions::default());
    cfg.input = format!("file://{}", input.display());
    let out = run_config(cfg, dir).await;
    assert_eq!(out.stop_no("C1"), Some(1));
}
