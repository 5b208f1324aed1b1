//! The whole pipeline on medium-scale generated data (2,600 routes, ~134,000 plan rows): read Parquet,
//! plan, top up, sequence, write Parquet. Reported per run; divide 2,600 by the time for routes/s.
//!
//! Run: `cargo bench --bench pipeline`

use criterion::{Criterion, criterion_group, criterion_main};
use routeflow::generate::{self, GenerateOptions, Scale};
use routeflow::plan::PlanOptions;
use routeflow::plan::sequence::SequenceMode;
use routeflow::run::{RunConfig, run};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("medium");
    let tables = generate::generate(&GenerateOptions {
        scale: Scale::Medium,
        seed: 42,
        factor: 1,
        prospects: Default::default(),
    });
    generate::write_parquet_dir(&input, &tables).expect("write medium data");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let concurrency = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut group = c.benchmark_group("pipeline_medium");
    group.sample_size(10);
    for (name, sequence) in [
        ("improved", SequenceMode::Improved),
        ("nearest_neighbor", SequenceMode::NearestNeighbor),
    ] {
        let config = RunConfig {
            input: input.display().to_string(),
            output: dir.path().join(format!("out-{name}")).display().to_string(),
            snapshot_dir: None,
            dry_run: false,
            distributor_ids: vec![],
            limit_routes: None,
            concurrency,
            plan: PlanOptions {
                sequence,
                ..PlanOptions::default()
            },
            mssql: Default::default(),
            wait_lock_seconds: 0,
        };
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(run(&config)).expect("run succeeds"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
