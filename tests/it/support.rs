//! Shared helpers: hand-built input tables as CSV text, a run through the library, and the output read
//! back as rows of strings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use routeflow::plan::PlanOptions;
use routeflow::run::{RunConfig, run};
use routeflow::summary::RunSummary;
use tempfile::TempDir;

/// The bundled sample tables.
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/small");

pub const PLAN_HEADER: &str = "CustNo,RouteDate,Name,WD,SalesManTerritory,AgentID,RouteName,DistributorID,RouteCode,SalesOfficeID,StopNo,custype";
pub const CUSTOMER_HEADER: &str = "CustNo,latitude,longitude,address3";
pub const PROSPECT_HEADER: &str = "tdlinx,latitude,longitude,barangay_code,store_name_nielsen";
pub const VISIT_HEADER: &str = "CustID,AgentID,TransDate";
pub const DISTRIBUTOR_HEADER: &str = "DistributorID,Latitude,Longitude,Name,Address";

/// Five input tables as CSV bodies (header added when a body has none).
#[derive(Debug, Clone, Default)]
pub struct Tables {
    pub plan: Vec<String>,
    pub customer: Vec<String>,
    pub prospective: Vec<String>,
    pub custvisit: Vec<String>,
    pub distributors: Vec<String>,
    /// Replaces the plan header (for extra columns).
    pub plan_header: Option<String>,
}

impl Tables {
    /// A plan row with the usual template values for route (D1, A1, 2026-12-01).
    pub fn stop(cust: &str) -> String {
        Self::stop_on("D1", "A1", "2026-12-01", cust)
    }

    pub fn stop_on(dist: &str, agent: &str, date: &str, cust: &str) -> String {
        format!("{cust},{date},Store {cust},1,T1,{agent},R1,{dist},RC1,SO1,,")
    }

    pub fn write(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let header = self.plan_header.clone().unwrap_or(PLAN_HEADER.to_string());
        let files = [
            ("MonthlyRoutePlan_temp", header.as_str(), &self.plan),
            ("customer", CUSTOMER_HEADER, &self.customer),
            ("prospective", PROSPECT_HEADER, &self.prospective),
            ("custvisit", VISIT_HEADER, &self.custvisit),
            ("distributors", DISTRIBUTOR_HEADER, &self.distributors),
        ];
        for (name, header, rows) in files {
            let mut text = format!("{header}\n");
            for r in rows.iter() {
                text.push_str(r);
                text.push('\n');
            }
            std::fs::write(dir.join(format!("{name}.csv")), text).unwrap();
        }
    }
}

/// One output row: column name → value as text (NULL = None).
pub type Row = BTreeMap<String, Option<String>>;

pub struct Output {
    pub rows: Vec<Row>,
    pub summary: RunSummary,
    pub dir: TempDir,
}

impl Output {
    pub fn out_dir(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// The row(s) of CustNo `cust`.
    pub fn cust(&self, cust: &str) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| get(r, "CustNo") == Some(cust))
            .collect()
    }

    /// StopNo of the (single) row of `cust`.
    pub fn stop_no(&self, cust: &str) -> Option<i64> {
        let rows = self.cust(cust);
        assert_eq!(rows.len(), 1, "expected one row for {cust}");
        get(rows[0], "StopNo").map(|s| s.parse().unwrap())
    }

    pub fn custype(&self, cust: &str) -> Option<String> {
        let rows = self.cust(cust);
        assert_eq!(rows.len(), 1, "expected one row for {cust}");
        get(rows[0], "custype").map(str::to_string)
    }
}

pub fn get<'a>(row: &'a Row, col: &str) -> Option<&'a str> {
    row.get(col)
        .unwrap_or_else(|| panic!("no column {col}"))
        .as_deref()
}

pub fn config(input: &Path, output: &Path, plan: PlanOptions) -> RunConfig {
    RunConfig {
        input: input.display().to_string(),
        output: output.display().to_string(),
        snapshot_dir: None,
        dry_run: false,
        distributor_ids: vec![],
        limit_routes: None,
        concurrency: 2,
        plan,
        mssql: Default::default(),
        wait_lock_seconds: 0,
    }
}

/// Writes `tables`, runs routeflow over them, and reads the output back.
pub async fn run_tables(tables: &Tables, plan: PlanOptions) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    tables.write(&input);
    run_config(config(&input, &dir.path().join("out"), plan), dir).await
}

pub async fn run_config(config: RunConfig, dir: TempDir) -> Output {
    let summary = run(&config).await.expect("run succeeds");
    let rows = read_output(Path::new(&config.output)).await;
    Output { rows, summary, dir }
}

/// Reads `<out>/MonthlyRoutePlan_temp/` as one table, every column as text, in file order.
pub async fn read_output(out: &Path) -> Vec<Row> {
    read_table(&out.join("MonthlyRoutePlan_temp")).await
}

pub async fn read_table(path: &Path) -> Vec<Row> {
    let ctx = SessionContext::new();
    // A directory is read as one table (DataFusion wants the trailing slash for that).
    let location = if path.is_dir() {
        format!("{}/", path.display())
    } else {
        path.display().to_string()
    };
    let df = ctx
        .read_parquet(location, ParquetReadOptions::default())
        .await
        .unwrap();
    text_rows(&df.collect().await.unwrap())
}

/// Every row of `batches`, every column as text.
pub fn text_rows(batches: &[arrow::array::RecordBatch]) -> Vec<Row> {
    let mut rows = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        let cols: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| cast(c, &DataType::Utf8).unwrap())
            .collect();
        for i in 0..batch.num_rows() {
            let mut row = Row::new();
            for (f, c) in schema.fields().iter().zip(&cols) {
                let c = c.as_string::<i32>();
                row.insert(f.name().clone(), c.is_valid(i).then(|| c.value(i).to_string()));
            }
            rows.push(row);
        }
    }
    rows
}

/// The routeflow binary, run from the project directory (so `fixtures/small` is the default input).
/// The analysts' catalog over the bundled fixtures, every stage a lazy view.
pub async fn fixture_catalog() -> SessionContext {
    routeflow::sql::catalog(&routeflow::sql::CatalogConfig {
        input: FIXTURES.into(),
        filters: routeflow::summary::Filters::default(),
        concurrency: 2,
        plan: PlanOptions::default(),
        mssql: Default::default(),
        snapshot: None,
        runs: None,
    })
    .await
    .unwrap()
}

pub fn routeflow() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_routeflow"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// Runs `cmd`, fails the test with its stderr unless it succeeded, and returns its stdout.
pub fn stdout_of(cmd: &mut std::process::Command) -> String {
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
