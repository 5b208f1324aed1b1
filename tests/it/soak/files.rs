//! The file target: a fresh output directory per trial, holding last night's run (the fixtures with
//! `--target-stops 40`), read as a reader does: the `*.parquet` files directly under
//! `<output>/MonthlyRoutePlan_temp/` and `<output>/run_summary.json`, whatever they are (files,
//! symlinks). Runs keep their default snapshot, as a nightly run does.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tempfile::TempDir;

use super::rows::{Observed, Summary};
use super::trials::{Kind, Target};
use crate::support::{Row, routeflow, text_rows};

pub(crate) struct FileTarget {
    root: TempDir,
    trial: usize,
}

impl FileTarget {
    pub fn new() -> Self {
        Self {
            root: tempfile::tempdir().unwrap(),
            trial: 0,
        }
    }

    fn trial_dir(&self) -> PathBuf {
        self.root.path().join(format!("trial-{}", self.trial))
    }

    fn out(&self) -> PathBuf {
        self.trial_dir().join("out")
    }
}

impl Target for FileTarget {
    fn reset(&mut self, _kind: Kind) -> Result<Observed, String> {
        let _ = std::fs::remove_dir_all(self.trial_dir());
        self.trial += 1;
        std::fs::create_dir_all(self.trial_dir()).unwrap();
        let out = routeflow()
            .args(["-q", "run", "--target-stops", "40", "--json", "--output"])
            .arg(self.out())
            .output()
            .unwrap();
        if !out.status.success() {
            return Err(format!(
                "last night's run failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        self.observe(Kind::Files)
    }

    fn observe(&self, _kind: Kind) -> Result<Observed, String> {
        let out = self.out();
        let rows = read_parquet_files(&out.join("MonthlyRoutePlan_temp"))?;
        let summary = match std::fs::read(out.join("run_summary.json")) {
            Ok(bytes) => {
                let json: serde_json::Value = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("run_summary.json does not parse: {e}"))?;
                Some(Summary::from_json(&json).ok_or("run_summary.json has no run_id/status")?)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("run_summary.json: {e}")),
        };
        Ok(Observed {
            summary,
            ..Observed::table(rows)
        })
    }

    fn command(&self) -> Command {
        routeflow()
    }

    fn run_args(&self, _kind: Kind) -> Vec<String> {
        let out = self.out().display().to_string();
        ["run", "--json", "--output", &out].map(String::from).to_vec()
    }

    fn scratch(&self) -> PathBuf {
        self.trial_dir()
    }
}

/// Every row of the `*.parquet` files directly in `dir` (none when it does not exist).
fn read_parquet_files(dir: &Path) -> Result<Vec<Row>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.map(|e| e.path()).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    paths.retain(|p| p.extension().is_some_and(|x| x == "parquet"));
    paths.sort();
    let mut rows = Vec::new();
    for path in paths {
        let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let batches = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| format!("{} does not read: {e}", path.display()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{} does not read: {e}", path.display()))?;
        rows.extend(text_rows(&batches));
    }
    Ok(rows)
}
