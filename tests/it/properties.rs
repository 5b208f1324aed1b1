//! Property tests over random small plans: what must hold for every input, however broken.
//!
//! Each case generates the five input tables ([`generate`], [`tables`]), runs routeflow over them three times
//! through the library (improved sequence at concurrency 1 and 4, nearest neighbour at 4) and checks
//! the written rows against the contract recomputed from the inputs ([`model`], [`checks`]).
//!
//! Cases: 24 by default, `PROPTEST_CASES=n` for more. A failing case is shrunk and printed as its
//! tables; its seed is saved in `tests/proptest-regressions/properties.txt` (proptest's default
//! place for this file), which is committed so that every later run replays it first.

mod checks;
mod generate;
mod model;
mod tables;

use std::path::Path;
use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};
use routeflow::plan::PlanOptions;
use routeflow::plan::sequence::SequenceMode;
use routeflow::run::run;

use crate::support::{Row, config, read_output, read_table};
use model::Model;
use tables::Spec;

/// Four workers, so that a run at concurrency 4 really runs its partitions side by side.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
});

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

/// Runs routeflow over `input` into `out` and reads the written plan back.
async fn run_once(
    spec: &Spec,
    input: &Path,
    out: &Path,
    sequence: SequenceMode,
    concurrency: usize,
) -> Result<Vec<Row>, TestCaseError> {
    let options = PlanOptions {
        target_stops: spec.opts.target_stops,
        max_distance_km: spec.opts.radius_km,
        no_coords_stop: spec.opts.no_coords_stop,
        start: None,
        sequence,
    };
    let config = routeflow::run::RunConfig {
        concurrency,
        ..config(input, out, options)
    };
    run(&config)
        .await
        .map_err(|e| TestCaseError::fail(format!("the run failed: {e}")))?;
    Ok(read_output(out).await)
}

/// The written plan file by file: (name, rows).
async fn files(out: &Path) -> Vec<(String, Vec<Row>)> {
    let dir = out.join("MonthlyRoutePlan_temp");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut files = Vec::new();
    for name in names {
        let rows = read_table(&dir.join(&name)).await;
        files.push((name, rows));
    }
    files
}

async fn check(spec: &Spec) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    spec.write(&input);
    let rows_in = read_table(&input.join("MonthlyRoutePlan_temp.parquet")).await;
    let out = |name: &str| dir.path().join(name);
    let improved = run_once(spec, &input, &out("one"), SequenceMode::Improved, 1).await?;
    let model = Model::new(spec);

    let added = checks::every_row_once(&model, &rows_in, &improved)?;
    checks::stops_numbered(&model, &improved)?;
    checks::prospects_added_once_and_eligible(&model, &added)?;

    let four = run_once(spec, &input, &out("four"), SequenceMode::Improved, 4).await?;
    prop_assert!(
        four == improved,
        "property 5: output at concurrency 4 differs from concurrency 1 (first difference at row {:?})",
        four.iter().zip(&improved).position(|(a, b)| a != b)
    );
    prop_assert_eq!(
        files(&out("one")).await,
        files(&out("four")).await,
        "property 5: files differ"
    );

    let nn = run_once(spec, &input, &out("nn"), SequenceMode::NearestNeighbor, 4).await?;
    checks::stops_numbered(&model, &nn)?;
    checks::improved_never_longer(&model, &improved, &nn)
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        // Shrinking (only after a failure) runs a case per step: bounded in steps and in time.
        max_shrink_iters: 4096,
        max_shrink_time: 300_000,
        ..Config::default()
    })]

    /// Issue 20 item 5: every row kept once plus the added ones (1), StopNo 1..N with duplicates
    /// sharing and NULL-key rows untouched (2), no prospect added twice (3), only eligible ones (4),
    /// the same output at concurrency 1 and 4 (5), and an improved path never longer than nearest
    /// neighbour's (6).
    #[test]
    fn random_plans_keep_every_row_and_rule(spec in generate::spec()) {
        RUNTIME.block_on(check(&spec))?;
    }
}
