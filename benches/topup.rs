//! The top-up's allocation alone on shapes the generator's profiles do not have, at national size
//! (20,000 short routes): one metropolis where every route can reach every other's prospects (a single
//! region, no parallelism to gain from the split), and the same routes spread over 100 towns (100
//! regions). In each, prospects are plentiful (supply twice the need) or scarce (half the need, so
//! most routes end short and the radius stage works hardest). The point is that the cost follows the
//! number of prospects given, not how contested they are.
//!
//! Run: `cargo bench --bench topup`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use routeflow::plan::topup::{Prospect, ShortRoute, allocate};

const ROUTES: usize = 20_000;
const NEED: usize = 15;

fn unit(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// `towns` towns of `span` degrees (about 111 km a degree) each; barangays are cells of 0.01 degrees.
/// Routes sit at random points of the middle half of their town and list the barangay of their
/// centroid and one neighbour; prospects are uniform over the whole towns, `supply` times the routes'
/// combined need, so the radius stage has prospects outside every route's barangays to give.
fn shape(towns: usize, span: f64, supply: f64) -> (Vec<ShortRoute>, Vec<Prospect>) {
    let mut state = 7;
    let town = |t: usize| (6.0 + (t / 10) as f64 * 1.5, 118.0 + (t % 10) as f64 * 0.9);
    let cell = |lat: f64, lon: f64| ((lat * 100.0).floor() as i64, (lon * 100.0).floor() as i64);
    let code = |c: (i64, i64)| (c.0.rem_euclid(4096) * 4096 + c.1.rem_euclid(4096)) as u32;
    let routes = (0..ROUTES)
        .map(|i| {
            let (lat0, lon0) = town(i % towns);
            let (lat, lon) = (
                lat0 + (0.25 + unit(&mut state) / 2.0) * span,
                lon0 + (0.25 + unit(&mut state) / 2.0) * span,
            );
            let (row, col) = cell(lat, lon);
            let barangays = vec![code((row, col)), code((row, col + 1))];
            ShortRoute {
                centroid: Some((lat, lon)),
                need: NEED,
                barangays,
            }
        })
        .collect();
    let prospects = (0..(ROUTES as f64 * NEED as f64 * supply) as usize)
        .map(|i| {
            let (lat0, lon0) = town(i % towns);
            let (lat, lon) = (lat0 + unit(&mut state) * span, lon0 + unit(&mut state) * span);
            Prospect {
                lat,
                lon,
                barangay: Some(code(cell(lat, lon))),
            }
        })
        .collect();
    (routes, prospects)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("topup");
    group.sample_size(10);
    for (name, towns, span) in [("one_metropolis", 1, 0.3), ("hundred_towns", 100, 0.03)] {
        for (supply_name, supply) in [("plentiful", 2.0), ("scarce", 0.5)] {
            let (routes, prospects) = shape(towns, span, supply);
            let given = allocate(&routes, &prospects, 5.0, 2);
            let radius = given.iter().filter(|a| a.stage.as_str() == "radius").count();
            println!(
                "{name}/{supply_name}: {} prospects, {} given ({radius} by radius)",
                prospects.len(),
                given.len()
            );
            group.bench_function(format!("{name}/{supply_name}"), |b| {
                b.iter(|| allocate(black_box(&routes), black_box(&prospects), 5.0, 2))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
