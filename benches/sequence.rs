//! Sequencing speed: nearest neighbour and the improved path for one route of 60, 100 and 200
//! clustered stops (the target is under 0.5 ms for 60 stops on one core).
//!
//! Run: `cargo bench --bench sequence`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use routeflow::plan::tsp::Sequencer;

/// A route like the generated ones: stores scattered around a few points a few km apart.
fn route(n: usize, seed: u64) -> ((f64, f64), Vec<(f64, f64)>) {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let centres: Vec<(f64, f64)> = (0..4)
        .map(|_| (14.55 + next() * 0.1, 121.0 + next() * 0.1))
        .collect();
    let stops = (0..n)
        .map(|i| {
            let c = centres[i % centres.len()];
            (c.0 + (next() - 0.5) * 0.03, c.1 + (next() - 0.5) * 0.03)
        })
        .collect();
    ((14.5995, 120.9842), stops)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("sequence");
    for n in [60, 100, 200] {
        let (depot, stops) = route(n, n as u64);
        let mut seq = Sequencer::new();
        let mut nn = Vec::new();
        seq.load(depot, &stops);
        seq.nearest_neighbor(&mut nn);
        group.bench_with_input(BenchmarkId::new("nearest_neighbor", n), &n, |b, _| {
            let mut order = Vec::new();
            b.iter(|| {
                seq.load(depot, black_box(&stops));
                seq.nearest_neighbor(&mut order);
                black_box(&order);
            })
        });
        group.bench_with_input(BenchmarkId::new("improve", n), &n, |b, _| {
            let mut order = Vec::new();
            b.iter(|| {
                order.clone_from(&nn);
                seq.improve(black_box(&mut order));
                black_box(&order);
            })
        });
        group.bench_with_input(BenchmarkId::new("load_nn_improve", n), &n, |b, _| {
            let mut order = Vec::new();
            b.iter(|| {
                seq.load(depot, black_box(&stops));
                seq.nearest_neighbor(&mut order);
                seq.improve(&mut order);
                black_box(&order);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
