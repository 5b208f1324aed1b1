//! The trials: a target put back to last night's state, a run stopped at a random moment (or hit by
//! a dropped connection), the state a reader sees then judged, and a re-run compared with an
//! uninterrupted run's result.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use tds_server::Fault;

use super::Rng;
use super::judge::{Verdict, judge_final, judge_interrupted, judge_sigterm};
use super::mssql::{SqlTarget, random_drop};
use super::rows::{Observed, difference};
use super::runs::{self, Finished, Stop, logged};

/// What is written, and so what "whole" means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A Parquet dataset and `run_summary.json`: one run's, published together.
    Files,
    /// SQL Server `--write in-place`: whole distributors.
    InPlace,
    /// SQL Server `--write table`: the whole table.
    Table,
}

impl Kind {
    /// The log line the write starts with, when one marks it (files: none; the write follows the
    /// summary figures, whose time the summary reports).
    fn write_start(self) -> Option<&'static str> {
        match self {
            Kind::Files => None,
            _ => Some("writing"),
        }
    }

    /// The log line after which readers see tonight's result.
    fn write_end(self) -> &'static str {
        match self {
            Kind::Files => "result published",
            _ => "result written",
        }
    }
}

/// A target a trial writes to.
pub(crate) trait Target {
    /// Puts last night's state back and returns what readers see then.
    fn reset(&mut self, kind: Kind) -> Result<Observed, String>;
    /// What readers see now.
    fn observe(&self, kind: Kind) -> Result<Observed, String>;
    /// `routeflow` with the environment the target needs.
    fn command(&self) -> Command;
    /// The arguments of tonight's `routeflow run`, `--json` included.
    fn run_args(&self, kind: Kind) -> Vec<String>;
    /// Arms the stand-in's delays that widen the write (nothing elsewhere).
    fn widen(&self, _kind: Kind) {}
    /// Waits until what a stopped run had set going is over (requests it had sent).
    fn settle(&self) {}
    /// Disarms whatever faults are left.
    fn disarm(&self) {}
    /// A directory for the runs' logs.
    fn scratch(&self) -> PathBuf;
}

/// Where a run's write lies, in seconds after its plan's last stage is logged done, as measured on
/// an uninterrupted run.
#[derive(Debug, Clone)]
struct Window {
    stage: String,
    start: f64,
    end: f64,
}

/// When a stop landed, relative to the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    Before,
    During,
    /// After readers could see tonight's result, or the run had ended.
    After,
}

impl Window {
    /// A moment to stop at: from a little before the write to a little after it, most inside.
    fn sample(&self, rng: &mut Rng) -> Duration {
        let tail = ((self.end - self.start) * 0.15).max(0.005);
        Duration::from_secs_f64(rng.between(self.start * 0.75, self.end + tail))
    }

    /// When `f`'s stop landed, by its own log.
    fn moment(&self, f: &Finished, kind: Kind) -> Moment {
        let Some(stopped) = f.stopped_at else {
            return Moment::After;
        };
        if f.logged_before_stop(kind.write_end()).is_some() {
            return Moment::After;
        }
        let started = match kind.write_start() {
            Some(line) => f.logged_before_stop(line).is_some(),
            None => f
                .stage_done(&self.stage)
                .is_some_and(|at| stopped >= at + self.start),
        };
        if started { Moment::During } else { Moment::Before }
    }
}

/// One scenario's figures and failures.
#[derive(Debug)]
pub(crate) struct Tally {
    pub name: String,
    pub trials: usize,
    pub failures: Vec<String>,
    pub rows: usize,
    /// Stops before, during and after the write.
    moments: [usize; 3],
    pub exits: BTreeMap<String, u32>,
    /// The state the stop left: last night's, tonight's, or split by distributor.
    left: BTreeMap<&'static str, usize>,
    stop: Option<Stop>,
    /// Drops that fired (a retry was logged).
    pub fired: usize,
    started: Instant,
    /// Seconds the scenario took, once it is over.
    seconds: Option<f64>,
}

impl Tally {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            trials: 0,
            failures: Vec::new(),
            rows: 0,
            moments: [0; 3],
            exits: BTreeMap::new(),
            left: BTreeMap::new(),
            stop: None,
            fired: 0,
            started: Instant::now(),
            seconds: None,
        }
    }

    /// `soak <scenario>: trials N, failures F, rows compared R, kills before/during/after write a/b/c`.
    pub fn line(&self) -> String {
        let mut line = format!(
            "soak {}: trials {}, failures {}, rows compared {}",
            self.name,
            self.trials,
            self.failures.len(),
            self.rows
        );
        match self.stop {
            Some(_) => line.push_str(&format!(
                ", kills before/during/after write {}/{}/{}",
                self.moments[0], self.moments[1], self.moments[2]
            )),
            None => line.push_str(&format!(", drops fired {}/{}", self.fired, self.trials)),
        }
        if self.stop != Some(Stop::Kill) {
            let codes: Vec<String> = self.exits.iter().map(|(c, n)| format!("{c}×{n}")).collect();
            line.push_str(&format!(", exit codes {}", codes.join(" ")));
        }
        let left = |k: &str| self.left.get(k).copied().unwrap_or(0);
        line.push_str(&format!(
            "; left last night's/tonight's/split by distributor {}/{}/{}",
            left("last"),
            left("tonight"),
            left("split")
        ));
        let seconds = self
            .seconds
            .unwrap_or_else(|| self.started.elapsed().as_secs_f64());
        line.push_str(&format!(" ({seconds:.0} s)"));
        line
    }

    /// The scenario is over: its time stops.
    pub fn finish(&mut self) {
        self.seconds = Some(self.started.elapsed().as_secs_f64());
    }

    fn left(&mut self, verdict: &Verdict) {
        *self.left.entry(verdict.label()).or_default() += 1;
    }
}

/// A scenario on one target and write mode: last night's and tonight's results, and the window.
pub(crate) struct Bench {
    name: String,
    kind: Kind,
    last: Observed,
    tonight: Observed,
    /// Windows of the uninterrupted runs so far: the calibration's, then every re-run's.
    windows: Vec<Window>,
    rng: Rng,
    runs: usize,
}

impl Bench {
    /// Measures the target: three uninterrupted runs from last night's state give tonight's result
    /// (they must agree) and the write's window (kept up to date by the trials' re-runs).
    pub fn prepare(target: &mut dyn Target, kind: Kind, name: &str) -> Self {
        Self::measure(target, kind, name, 3)
    }

    /// Tonight's result from one uninterrupted run, for trials that do not aim at the window.
    pub fn references(target: &mut dyn Target, kind: Kind, name: &str) -> Self {
        Self::measure(target, kind, name, 1)
    }

    fn measure(target: &mut dyn Target, kind: Kind, name: &str, runs: usize) -> Self {
        let mut bench = Self {
            name: name.to_string(),
            kind,
            last: Observed::table(Vec::new()),
            tonight: Observed::table(Vec::new()),
            windows: Vec::new(),
            rng: Rng::for_scenario(name),
            runs: 0,
        };
        for i in 0..runs {
            bench.last = target.reset(kind).unwrap_or_else(|e| panic!("{name}: {e}"));
            target.widen(kind);
            let (cmd, log) = bench.next_run(target);
            let f = runs::run(cmd, &log);
            target.disarm();
            assert_eq!(f.code(), Some(0), "{name}: an uninterrupted run: {}", f.tail());
            let seen = target.observe(kind).unwrap_or_else(|e| panic!("{name}: {e}"));
            if i == 0 {
                bench.tonight = seen;
            } else {
                assert_eq!(
                    bench.tonight.rows, seen.rows,
                    "{name}: two uninterrupted runs differ"
                );
            }
            let window = window_of(&f, kind).unwrap_or_else(|e| panic!("{name}: {e}"));
            bench.windows.push(window);
        }
        assert_ne!(
            bench.last.rows, bench.tonight.rows,
            "{name}: last night's result must differ from tonight's, or a mix cannot be seen"
        );
        let window = bench.window();
        super::say(&format!(
            "soak {name}: seed {}, write {:.3}..{:.3} s after stage {} is done",
            super::seed(),
            window.start,
            window.end,
            window.stage
        ));
        bench
    }

    /// Where the write lies now: the median of the last five uninterrupted runs, so that the aim
    /// follows the machine's load.
    fn window(&self) -> Window {
        median(self.windows[self.windows.len().saturating_sub(5)..].to_vec())
    }

    /// The same bench under another scenario name (and its own random stream).
    pub fn rename(&mut self, name: &str) {
        self.name = name.to_string();
        self.rng = Rng::for_scenario(name);
    }

    /// The next run's command, its JSON log going to a file of its own (returned with it).
    fn next_run(&mut self, target: &dyn Target) -> (Command, PathBuf) {
        self.runs += 1;
        let log = target.scratch().join(format!("{}-{}.log", self.name, self.runs));
        let cmd = logged(target.command(), &log, &target.run_args(self.kind));
        (cmd, log)
    }

    /// `trials` runs stopped with `stop` at random moments of the write.
    pub fn stops(&mut self, target: &mut dyn Target, stop: Stop, trials: usize) -> Tally {
        let mut tally = Tally::new(&self.name);
        tally.stop = Some(stop);
        for trial in 0..trials {
            tally.trials += 1;
            if let Err(e) = self.stop_trial(target, stop, &mut tally) {
                tally.failures.push(format!(
                    "{} trial {trial} (seed {}): {e}",
                    self.name,
                    super::seed()
                ));
            }
        }
        tally.finish();
        tally
    }

    fn stop_trial(&mut self, target: &mut dyn Target, stop: Stop, tally: &mut Tally) -> Result<(), String> {
        let last = target.reset(self.kind)?;
        if last.rows != self.last.rows {
            return Err(format!(
                "last night's state was not restored: {}",
                difference(&last.rows, &self.last.rows)
            ));
        }
        let window = self.window();
        let delay = window.sample(&mut self.rng);
        target.widen(self.kind);
        let (cmd, log) = self.next_run(target);
        let f = runs::run_and_stop(cmd, &log, &window.stage, delay, stop);
        target.settle();
        target.disarm();
        let f = f?;
        let moment = window.moment(&f, self.kind);
        tally.moments[moment as usize] += 1;
        *tally.exits.entry(f.exit()).or_default() += 1;
        let at = format!(
            "{stop:?} {:.0} ms after stage {} ({moment:?} the write, {})",
            delay.as_secs_f64() * 1000.0,
            window.stage,
            f.tail()
        );
        let result = self.judge_stopped(target, stop, &f, &last, tally);
        result.map_err(|e| format!("{at}: {e}"))
    }

    /// The state the stopped run `f` left, then a re-run.
    fn judge_stopped(
        &mut self,
        target: &mut dyn Target,
        stop: Stop,
        f: &Finished,
        last: &Observed,
        tally: &mut Tally,
    ) -> Result<(), String> {
        let seen = target
            .observe(self.kind)
            .map_err(|e| format!("after the stop: {e}"))?;
        tally.rows += seen.rows.len();
        let verdict = judge_interrupted(self.kind, &seen, last, &self.tonight, f.run_id())
            .map_err(|e| format!("after the stop: {e}"))?;
        tally.left(&verdict);
        if stop == Stop::Term {
            judge_sigterm(self.kind, f, &verdict)?;
        }
        self.rerun(target, tally)
    }

    /// Runs again, uninterrupted (its window measured for the next trials): the target must hold
    /// tonight's result exactly.
    fn rerun(&mut self, target: &mut dyn Target, tally: &mut Tally) -> Result<(), String> {
        let (cmd, log) = self.next_run(target);
        target.widen(self.kind);
        let r = runs::run(cmd, &log);
        target.disarm();
        if r.code() != Some(0) {
            return Err(format!("the re-run failed: {}", r.tail()));
        }
        if let Ok(window) = window_of(&r, self.kind) {
            self.windows.push(window);
        }
        let seen = target
            .observe(self.kind)
            .map_err(|e| format!("after the re-run: {e}"))?;
        tally.rows += seen.rows.len();
        judge_final(self.kind, &seen, &self.tonight, r.run_id()).map_err(|e| format!("after the re-run: {e}"))
    }

    /// A run whose connection the stand-in drops once, at a random byte offset of a random bulk
    /// load (or, in place, inside a unit's transaction): it completes, or exits 2 with whole
    /// partitions and a re-run completes.
    pub fn drop_trial(&mut self, target: &mut SqlTarget, trial: usize, rng: &mut Rng, tally: &mut Tally) {
        tally.trials += 1;
        let (what, faults) = random_drop(self.kind, rng);
        if let Err(e) = self.drop_run(target, faults, tally) {
            tally.failures.push(format!(
                "{} trial {trial} (seed {}, {:?}, {what}): {e}",
                tally.name,
                super::seed(),
                self.kind
            ));
        }
    }

    fn drop_run(
        &mut self,
        target: &mut SqlTarget,
        faults: Vec<Fault>,
        tally: &mut Tally,
    ) -> Result<(), String> {
        let last = target.reset(self.kind)?;
        target.inject(faults);
        let (cmd, log) = self.next_run(target);
        let f = runs::run(cmd, &log);
        target.disarm();
        *tally.exits.entry(f.exit()).or_default() += 1;
        // Fired: the sink logged a retry, or the run did not complete.
        if f.count("transient failure") > 0 || f.code() != Some(0) {
            tally.fired += 1;
        }
        let seen = target.observe(self.kind)?;
        tally.rows += seen.rows.len();
        if f.code() == Some(0) {
            return judge_final(self.kind, &seen, &self.tonight, None);
        }
        let verdict = judge_interrupted(self.kind, &seen, &last, &self.tonight, None)
            .map_err(|e| format!("after the run ({}): {e}", f.tail()))?;
        tally.left(&verdict);
        self.rerun(target, tally)?;
        match f.code() {
            Some(2) => Ok(()),
            _ => Err(format!(
                "the run ended with exit {} (wanted 0, or 2 with a re-run completing; the target was \
                 whole and a re-run completed): {}",
                f.exit(),
                f.tail()
            )),
        }
    }
}

/// The write's window in one uninterrupted run.
fn window_of(f: &Finished, kind: Kind) -> Result<Window, String> {
    let stage = f.last_stage().ok_or("no stage logged done")?.to_string();
    let anchor = f.stage_done(&stage).expect("the stage's line");
    let end = f
        .logged_before_stop(kind.write_end())
        .ok_or_else(|| format!("no {:?} line", kind.write_end()))?;
    let start = match kind.write_start() {
        Some(line) => {
            f.logged_before_stop(line)
                .ok_or_else(|| format!("no {line:?} line"))?
                - anchor
        }
        None => f
            .json()
            .and_then(|j| {
                j["phases"]
                    .as_array()?
                    .iter()
                    .find_map(|p| (p["name"] == "summary").then(|| p["seconds"].as_f64()).flatten())
            })
            .ok_or("no summary phase in the run's JSON")?,
    };
    Ok(Window {
        stage,
        start,
        end: end - anchor,
    })
}

fn median(mut windows: Vec<Window>) -> Window {
    let mid = windows.len() / 2;
    let pick = |key: fn(&Window) -> f64, w: &mut Vec<Window>| {
        w.sort_by(|a, b| key(a).total_cmp(&key(b)));
        key(&w[mid])
    };
    let start = pick(|w| w.start, &mut windows);
    let end = pick(|w| w.end, &mut windows);
    Window {
        stage: windows[0].stage.clone(),
        start,
        end: end.max(start),
    }
}
