//! Malformed input files: each ends the run with exit 3 and one error line naming the file (and the
//! line and column where they apply), and leaves the output a previous run published exactly as
//! it was — `current` on the old version, no lock behind.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tempfile::TempDir;

use crate::support::{FIXTURES, Tables, routeflow};

/// An input directory and an output directory a good run has already published to.
struct Case {
    dir: TempDir,
}

impl Case {
    /// Input: the bundled Parquet fixtures; the output holds a published run.
    fn fixtures() -> Self {
        let case = Self::published();
        std::fs::create_dir_all(case.input()).unwrap();
        for entry in std::fs::read_dir(FIXTURES).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, case.input().join(path.file_name().unwrap())).unwrap();
        }
        case
    }

    /// Input: small CSV tables, which the caller then breaks.
    fn csv() -> Self {
        let case = Self::published();
        good_tables().write(&case.input());
        case
    }

    fn published() -> Self {
        let case = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let good = case.dir.path().join("good");
        good_tables().write(&good);
        let out = routeflow()
            .args(["-q", "run", "--no-snapshot", "--input"])
            .arg(&good)
            .arg("--output")
            .arg(case.output())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        case
    }

    fn input(&self) -> PathBuf {
        self.dir.path().join("in")
    }

    fn output(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// `<input>/<name>`, as the message must name it.
    fn file(&self, name: &str) -> String {
        format!("{}/{name}", self.input().display())
    }

    /// Runs over the input (with `args`), expects exit 3 with one error line holding every one of
    /// `expected`, the output unchanged; returns the error line.
    fn refused(&self, args: &[&str], expected: &[&str]) -> String {
        let before = tree(&self.output());
        let out = routeflow()
            .args(["-q", "run", "--no-snapshot", "--input"])
            .arg(self.input())
            .arg("--output")
            .arg(self.output())
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
        assert_eq!(errors.len(), 1, "one error line: {stderr}");
        let line = errors[0].split_once("ERROR ").unwrap().1;
        for part in expected {
            assert!(line.contains(part), "{part:?} not in {line:?}");
        }
        assert_eq!(line.matches(expected[0]).count(), 1, "repeated: {line}");
        for wrapper in ["Execution error", "External error", "Arrow error"] {
            assert!(!line.contains(wrapper), "{line}");
        }
        assert_eq!(tree(&self.output()), before, "the published output changed");
        assert!(!self.output().join(".routeflow/lock").exists(), "a lock was left");
        line.to_string()
    }
}

fn good_tables() -> Tables {
    Tables {
        plan: vec![Tables::stop("C1"), Tables::stop("C2")],
        customer: vec!["C1,14.600,121.000,B1".into(), "C2,14.610,121.000,B1".into()],
        distributors: vec!["D1,14.590,121.000,Warehouse,x".into()],
        ..Default::default()
    }
}

/// What a directory holds: files with their bytes, symlinks with their targets, directories.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    Dir,
    File(Vec<u8>),
    Link(PathBuf),
}

fn tree(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut entries = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let e = if meta.is_symlink() {
                Entry::Link(std::fs::read_link(&path).unwrap())
            } else if meta.is_dir() {
                todo.push(path.clone());
                Entry::Dir
            } else {
                Entry::File(std::fs::read(&path).unwrap())
            };
            entries.insert(path.strip_prefix(dir).unwrap().to_path_buf(), e);
        }
    }
    assert!(
        entries.contains_key(Path::new(".routeflow/current")),
        "a published run"
    );
    entries
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    let mut w = ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

#[test]
fn a_truncated_parquet_file_is_refused() {
    let case = Case::fixtures();
    let path = case.input().join("customer.parquet");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    case.refused(
        &[],
        &[&case.file("customer.parquet"), "is not a readable Parquet file"],
    );
}

#[test]
fn a_file_named_parquet_that_is_not_parquet_is_refused() {
    let case = Case::fixtures();
    std::fs::write(case.input().join("customer.parquet"), "CustNo,latitude\nA,1\n").unwrap();
    case.refused(
        &[],
        &[&case.file("customer.parquet"), "is not a readable Parquet file"],
    );
}

#[test]
fn corrupt_parquet_data_pages_are_refused_before_the_write() {
    let case = Case::fixtures();
    let path = case.input().join("customer.parquet");
    let mut bytes = std::fs::read(&path).unwrap();
    // The first page's header and data, right after the magic; the footer stays intact.
    bytes[4..204].fill(0xff);
    std::fs::write(&path, &bytes).unwrap();
    case.refused(&[], &[&case.file("customer.parquet"), "the file is damaged"]);
}

#[test]
fn a_csv_line_with_another_field_count_is_named() {
    let case = Case::csv();
    let mut tables = good_tables();
    tables.customer.push("C3,14.620,121.000,B1,extra".into());
    tables.write(&case.input());
    let line = case.refused(&[], &[&case.file("customer.csv")]);
    assert!(
        line.ends_with("customer.csv line 4: 5 fields, but the header has 4"),
        "{line}"
    );
}

#[test]
fn an_unparsable_csv_number_is_named_with_line_column_and_value() {
    let case = Case::csv();
    let mut tables = good_tables();
    tables.customer[1] = "C2,abc,121.000,B1".into();
    tables.write(&case.input());
    let line = case.refused(&[], &[&case.file("customer.csv")]);
    assert!(
        line.ends_with("customer.csv line 3, column latitude: \"abc\" is not a number"),
        "{line}"
    );
}

#[test]
fn an_unparsable_csv_date_is_named_with_line_column_and_value() {
    let case = Case::csv();
    let mut tables = good_tables();
    tables.plan.push(Tables::stop_on("D1", "A1", "2026-13-45", "C3"));
    tables.write(&case.input());
    let line = case.refused(
        &[],
        &[
            &case.file("MonthlyRoutePlan_temp.csv"),
            "line 4, column RouteDate: \"2026-13-45\" is not a date",
        ],
    );
    assert_eq!(line.matches("2026-13-45").count(), 1, "{line}");
}

#[test]
fn a_missing_required_column_is_named() {
    let case = Case::csv();
    std::fs::write(
        case.input().join("customer.csv"),
        "CustNo,longitude,address3\nC1,121.0,B1\n",
    )
    .unwrap();
    case.refused(&[], &[&case.file("customer.csv"), "lacks column(s) latitude;"]);
}

#[test]
fn a_date_where_a_coordinate_belongs_is_refused() {
    let case = Case::csv();
    std::fs::remove_file(case.input().join("customer.csv")).unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("CustNo", DataType::Utf8, true),
        Field::new("latitude", DataType::Date32, true),
        Field::new("longitude", DataType::Float64, true),
        Field::new("address3", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["C1", "C2"])),
        Arc::new(Date32Array::from(vec![20_000, 20_001])),
        Arc::new(Float64Array::from(vec![121.0, 121.0])),
        Arc::new(StringArray::from(vec!["B1", "B1"])),
    ];
    let batch = RecordBatch::try_new(schema, columns).unwrap();
    write_parquet(&case.input().join("customer.parquet"), &batch);
    case.refused(
        &[],
        &[
            &case.file("customer.parquet"),
            "latitude",
            "Date32, which cannot be read as Float64",
        ],
    );
}

#[test]
fn an_unreadable_parquet_value_is_named_with_row_and_column() {
    let case = Case::csv();
    std::fs::remove_file(case.input().join("customer.csv")).unwrap();
    // Text coordinates are read as numbers while streaming; one is not a number.
    let schema = Arc::new(Schema::new(vec![
        Field::new("CustNo", DataType::Utf8, true),
        Field::new("latitude", DataType::Utf8, true),
        Field::new("longitude", DataType::Float64, true),
        Field::new("address3", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["C1", "C2"])),
        Arc::new(StringArray::from(vec!["14.600", "14.61x"])),
        Arc::new(Float64Array::from(vec![121.0, 121.0])),
        Arc::new(StringArray::from(vec!["B1", "B1"])),
    ];
    let batch = RecordBatch::try_new(schema, columns).unwrap();
    write_parquet(&case.input().join("customer.parquet"), &batch);
    let line = case.refused(&[], &[&case.file("customer.parquet")]);
    assert!(
        line.ends_with("customer.parquet row 2, column latitude: \"14.61x\" is not a number"),
        "{line}"
    );
}

#[test]
fn an_empty_plan_table_is_refused() {
    let case = Case::fixtures();
    let path = case.input().join("MonthlyRoutePlan_temp.parquet");
    let schema = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
        .unwrap()
        .schema()
        .clone();
    write_parquet(&path, &RecordBatch::new_empty(schema));
    case.refused(
        &[],
        &[
            &case.file("MonthlyRoutePlan_temp.parquet"),
            "has no rows (table MonthlyRoutePlan_temp): nothing to route",
        ],
    );
}

#[test]
fn a_zero_byte_table_file_is_empty_not_columnless() {
    let case = Case::csv();
    std::fs::write(case.input().join("customer.csv"), "").unwrap();
    let line = case.refused(&[], &[&case.file("customer.csv")]);
    assert!(line.ends_with("customer.csv is empty (no header line)"), "{line}");
}

#[test]
fn a_distributor_filter_that_keeps_no_plan_row_is_refused() {
    let case = Case::fixtures();
    case.refused(
        &["--distributor-id", "NO-SUCH-DIST"],
        &["no plan rows for distributor(s) NO-SUCH-DIST"],
    );
}

#[test]
fn an_empty_customer_table_is_refused() {
    let case = Case::csv();
    let mut tables = good_tables();
    tables.customer.clear();
    tables.write(&case.input());
    case.refused(
        &[],
        &[
            &case.file("customer.csv"),
            "has no rows (table customer): every stop would lose its coordinates",
        ],
    );
}

#[test]
fn a_csv_that_is_not_utf8_is_named_with_line_and_column() {
    let case = Case::csv();
    let mut text = b"CustNo,latitude,longitude,address3\nC1,14.600,121.000,B1\n".to_vec();
    text.extend_from_slice(b"C2,14.610,121.000,Pe\xf1a\n");
    std::fs::write(case.input().join("customer.csv"), text).unwrap();
    let line = case.refused(&[], &[&case.file("customer.csv")]);
    assert!(
        line.ends_with("customer.csv line 3, column address3: not UTF-8; save the file as UTF-8"),
        "{line}"
    );
}

#[test]
fn empty_prospect_and_visit_tables_are_allowed_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    good_tables().write(&dir.path().join("in"));
    let out = routeflow()
        .args(["run", "--no-snapshot", "--input"])
        .arg(dir.path().join("in"))
        .arg("--output")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for table in ["prospective", "custvisit"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains("WARN") && l.contains("has no rows") && l.contains(table)),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn empty_sql_server_tables_are_refused_after_the_single_read() {
    let db = crate::mssql::TestDb::test_server();
    db.create_schema(false).await;
    let out = db.dir.path().join("out");
    let args = [
        "-q",
        "run",
        "--input",
        "mssql",
        "--no-snapshot",
        "--output",
        out.to_str().unwrap(),
    ];
    let (code, _, stderr) = db.run(&args);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("has no rows (table MonthlyRoutePlan_temp): nothing to route"),
        "{stderr}"
    );
    db.exec(
        "INSERT INTO MonthlyRoutePlan_temp (CustNo, RouteDate, AgentID, DistributorID) \
         VALUES ('C1', '2026-12-01', 'A1', 'D1')",
    )
    .await;
    let (code, _, stderr) = db.run(&args);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("has no rows (table customer)"), "{stderr}");
    assert!(!out.exists(), "nothing written to {out:?}");
}
