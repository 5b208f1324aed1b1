//! Crash soak: runs killed at random moments of the write, then run again, compared row for row
//! with an uninterrupted run.
//!
//! Every trial starts from a known "last night" state of the target that differs from tonight's
//! result, starts `routeflow run`, stops it at a random moment (SIGKILL, SIGTERM, or a connection the
//! SQL Server stand-in drops), and checks what a reader sees then: the whole of last night's result
//! or the whole of tonight's (files: the table under `<output>/MonthlyRoutePlan_temp/*.parquet`
//! and `<output>/run_summary.json` of the same run; SQL Server in place: each distributor's rows all
//! of one night; `--write table`: the old table or the new one). Then it runs again, uninterrupted,
//! and the target must equal an uninterrupted run's result, row for row, every column.
//!
//! Only the reader-facing paths are looked at, so the soak checks any implementation of the output.
//! Kills are aimed at the write: uninterrupted runs (three before the trials, then every trial's
//! re-run; the median of the last five) measure where the write starts and ends after the plan's
//! last stage, and each kill lands at a random offset from that stage's log line, a little before
//! the write to a little after it; on the stand-in, short delays on the bulk loads, inside the
//! in-place transaction and on the table swap widen the window. Each trial then counts as before,
//! during or after the write from its own log.
//!
//! Environment: `ROUTEFLOW_SOAK_SEED` replays a seed (printed by every scenario),
//! `ROUTEFLOW_SOAK_TRIALS` sets trials per scenario (default 20), `ROUTEFLOW_SOAK_REAL_TRIALS` the
//! trials per scenario on the real server of `ROUTEFLOW_TEST_MSSQL` (default 5).
//! `benches/crash_soak.sh` runs it with 200 trials.

mod files;
mod judge;
mod mssql;
mod rows;
mod runs;
mod trials;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::OnceLock;

use files::FileTarget;
use mssql::SqlTarget;
use runs::Stop;
use trials::{Bench, Kind, Tally};

/// The seed of every scenario of this test binary: `ROUTEFLOW_SOAK_SEED`, or drawn once.
fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| match std::env::var("ROUTEFLOW_SOAK_SEED") {
        Ok(s) if !s.trim().is_empty() => {
            let s = s.trim();
            match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            }
            .unwrap_or_else(|e| panic!("ROUTEFLOW_SOAK_SEED={s}: {e}"))
        }
        _ => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            Rng(nanos ^ u64::from(std::process::id()) << 32).next_u64()
        }
    })
}

/// A count from the environment, or `default`.
fn count(var: &str, default: usize) -> usize {
    match std::env::var(var) {
        Ok(s) if !s.trim().is_empty() => s.trim().parse().unwrap_or_else(|e| panic!("{var}={s}: {e}")),
        _ => default,
    }
}

fn trials() -> usize {
    count("ROUTEFLOW_SOAK_TRIALS", 20)
}

/// Says something on the terminal even when the test passes (cargo test captures `print!`s only).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A small deterministic generator (splitmix64): the soak needs replayable randomness, not a crate.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// The generator of `scenario` under the binary's seed.
    fn for_scenario(scenario: &str) -> Self {
        let mut hash = 0xcbf2_9ce4_8422_2325u64; // FNV-1a
        for b in scenario.bytes() {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        Rng(seed() ^ hash)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[lo, hi)`.
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * unit
    }
}

/// Prints the scenarios' lines, then fails with every failing trial.
fn report(tallies: &[Tally]) {
    for tally in tallies {
        say(&tally.line());
    }
    let failures: Vec<String> = tallies.iter().flat_map(|t| t.failures.clone()).collect();
    assert!(
        failures.is_empty(),
        "{} failing trial(s) (seed {}, replay with ROUTEFLOW_SOAK_SEED={}):\n{}",
        failures.len(),
        seed(),
        seed(),
        failures.join("\n")
    );
}

/// Files: SIGKILL at random moments of the write; the published table is last night's or
/// tonight's, `run_summary.json` the same run's, and a re-run publishes tonight's.
#[test]
fn files_killed_mid_write_show_last_or_tonight_and_a_rerun_completes() {
    let mut target = FileTarget::new();
    let mut bench = Bench::prepare(&mut target, Kind::Files, "files-sigkill");
    let tally = bench.stops(&mut target, Stop::Kill, trials());
    report(&[tally]);
}

/// SQL Server in place: SIGKILL at random moments of the write; every distributor's rows are all
/// last night's or all tonight's, and a re-run completes the table.
#[test]
fn in_place_killed_mid_write_keeps_whole_distributors_and_a_rerun_completes() {
    let mut target = SqlTarget::stand_in();
    let mut bench = Bench::prepare(&mut target, Kind::InPlace, "in-place-sigkill");
    let tally = bench.stops(&mut target, Stop::Kill, trials());
    report(&[tally]);
}

/// SQL Server `--write table`: SIGKILL at random moments of the write; the table is the old one or
/// the new one entire, and a re-run replaces it with tonight's.
#[test]
fn table_write_killed_mid_write_keeps_the_old_or_new_table_and_a_rerun_completes() {
    let mut target = SqlTarget::stand_in();
    let mut bench = Bench::prepare(&mut target, Kind::Table, "table-sigkill");
    let tally = bench.stops(&mut target, Stop::Kill, trials());
    report(&[tally]);
}

/// Connections the stand-in drops at random byte offsets of random bulk loads (and, in place,
/// inside a unit's transaction), in both write modes: the sink retries and the run completes, or
/// exits 2 with whole partitions and a re-run completes.
#[test]
fn dropped_connections_are_retried_to_the_full_result() {
    let mut target = SqlTarget::stand_in();
    let mut benches = [
        Bench::references(&mut target, Kind::InPlace, "drops-in-place"),
        Bench::references(&mut target, Kind::Table, "drops-table"),
    ];
    let mut rng = Rng::for_scenario("drops");
    let mut tally = Tally::new("mssql-drops");
    let wanted = trials();
    let mut run = 0;
    // A drop whose offset lies past everything its connection carries never fires: run until
    // `wanted` have fired (a retry was logged), within a bound.
    while tally.fired < wanted && run < 3 * wanted {
        benches[run % 2].drop_trial(&mut target, run, &mut rng, &mut tally);
        run += 1;
    }
    if tally.fired < wanted {
        tally.failures.push(format!(
            "only {} of {run} runs had their connection dropped (wanted {wanted})",
            tally.fired
        ));
    }
    tally.finish();
    report(&[tally]);
}

/// SIGTERM at random moments, spread over files and both SQL Server modes: exit 143 (or 0 when the
/// run finished first), whole partitions, the report names what was written, a re-run completes.
#[test]
fn sigterm_exits_143_with_whole_partitions_and_a_rerun_completes() {
    let mut files = FileTarget::new();
    let mut sql = SqlTarget::stand_in();
    let mut file_bench = Bench::prepare(&mut files, Kind::Files, "files-sigterm");
    let mut in_place = Bench::prepare(&mut sql, Kind::InPlace, "in-place-sigterm");
    let mut table = Bench::prepare(&mut sql, Kind::Table, "table-sigterm");
    let total = trials();
    let share = |i: usize| total / 3 + usize::from(i < total % 3);
    let tallies = [
        file_bench.stops(&mut files, Stop::Term, share(0)),
        in_place.stops(&mut sql, Stop::Term, share(1)),
        table.stops(&mut sql, Stop::Term, share(2)),
    ];
    let mut exits: BTreeMap<String, u32> = BTreeMap::new();
    for t in &tallies {
        for (code, n) in &t.exits {
            *exits.entry(code.clone()).or_default() += n;
        }
    }
    let codes: Vec<String> = exits.iter().map(|(c, n)| format!("{c}×{n}")).collect();
    say(&format!(
        "soak sigterm: {} SIGTERMs, exit codes {}",
        tallies.iter().map(|t| t.trials).sum::<usize>(),
        codes.join(", ")
    ));
    report(&tallies);
}

/// The SIGKILL and SIGTERM scenarios of SQL Server on the real server of `ROUTEFLOW_TEST_MSSQL`
/// (fewer trials; faults need the stand-in, so no delays widen the write there).
#[test]
fn on_a_real_server_kills_and_sigterms_keep_whole_partitions() {
    let Some(conn) = std::env::var("ROUTEFLOW_TEST_MSSQL")
        .ok()
        .filter(|c| !c.trim().is_empty())
    else {
        say("soak real server: ROUTEFLOW_TEST_MSSQL is not set, skipped");
        return;
    };
    let n = count("ROUTEFLOW_SOAK_REAL_TRIALS", 5);
    let mut sql = SqlTarget::real(&conn);
    let mut tallies = Vec::new();
    for (kind, name) in [(Kind::InPlace, "real-in-place"), (Kind::Table, "real-table")] {
        let mut bench = Bench::prepare(&mut sql, kind, &format!("{name}-sigkill"));
        tallies.push(bench.stops(&mut sql, Stop::Kill, n));
        bench.rename(&format!("{name}-sigterm"));
        tallies.push(bench.stops(&mut sql, Stop::Term, n));
    }
    sql.drop_soak_tables();
    report(&tallies);
}
