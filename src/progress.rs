//! Progress reporting for a nightly run: a shared counter that hot code bumps, and a reporter
//! thread that shows it either as a terminal progress bar or as plain log lines.
//!
//! The counter side ([`Progress`]) is separate from the display side ([`start`]) so that the
//! planning code never depends on whether anyone is watching.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Phase reported before the first `set_phase`, so a line always names one.
const INITIAL_PHASE: &str = "start";

/// Redraw period for the terminal bar: the plain `interval` is meant for log files (tens of
/// seconds), which would make a bar look frozen.
const TERMINAL_TICK: Duration = Duration::from_millis(200);

/// Shared run progress: the current phase, routes done and routes total.
///
/// Cloning is cheap (one `Arc`). `done` and `total` are atomics so workers on any thread or
/// runtime can update them without coordination. The phase name and its start time sit behind a
/// mutex because they change a handful of times per run and must be read together.
#[derive(Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

struct Inner {
    done: AtomicU64,
    total: AtomicU64,
    phase: Mutex<PhaseState>,
}

struct PhaseState {
    name: &'static str,
    started: Instant,
}

/// The process's progress. A batch run is one per process, and the sequencing operator, deep inside
/// DataFusion's execution, has no handle of its own to reach the reporter.
pub fn global() -> &'static Progress {
    static GLOBAL: std::sync::OnceLock<Progress> = std::sync::OnceLock::new();
    GLOBAL.get_or_init(Progress::new)
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// A fresh counter in phase `start`, nothing done, total unknown (0).
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                done: AtomicU64::new(0),
                total: AtomicU64::new(0),
                phase: Mutex::new(PhaseState {
                    name: INITIAL_PHASE,
                    started: Instant::now(),
                }),
            }),
        }
    }

    /// Starts a new phase: its clock restarts and `done` goes back to 0, because rate and ETA
    /// are per phase. `total` is kept (the route count usually stays the same from phase to
    /// phase); call [`Progress::set_total`] if the new phase counts something else.
    ///
    /// Call it between phases, once the previous phase's workers have stopped adding.
    pub fn set_phase(&self, phase: &'static str) {
        let mut state = self.phase_state();
        state.name = phase;
        state.started = Instant::now();
        self.inner.done.store(0, Ordering::Relaxed);
    }

    /// Sets the number of routes the current phase will process; 0 means unknown.
    pub fn set_total(&self, routes: u64) {
        self.inner.total.store(routes, Ordering::Relaxed);
    }

    /// Counts finished routes. Safe to call from hot code: a single relaxed atomic add.
    #[inline]
    pub fn add_done(&self, routes: u64) {
        self.inner.done.fetch_add(routes, Ordering::Relaxed);
    }

    /// A consistent-enough copy for display: the counters are read without a lock, so `done`
    /// may lag other threads by a few increments.
    pub fn snapshot(&self) -> Snapshot {
        let (phase, started) = {
            let state = self.phase_state();
            (state.name, state.started)
        };
        Snapshot {
            phase,
            done: self.inner.done.load(Ordering::Relaxed),
            total: self.inner.total.load(Ordering::Relaxed),
            phase_elapsed: started.elapsed(),
        }
    }

    fn phase_state(&self) -> MutexGuard<'_, PhaseState> {
        // The guarded data is two plain fields that are always valid, so a poisoned lock is harmless.
        self.inner.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the reporter shows at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub phase: &'static str,
    pub done: u64,
    /// 0 when unknown.
    pub total: u64,
    pub phase_elapsed: Duration,
}

impl Snapshot {
    /// Routes per second over the whole phase; 0 before any time has passed.
    fn rate(&self) -> f64 {
        let secs = self.phase_elapsed.as_secs_f64();
        if secs > 0.0 { self.done as f64 / secs } else { 0.0 }
    }

    /// `34.0% | 2.45 routes/s | ETA 12.3 min`, shared by the plain line and the bar so both agree.
    fn stats(&self) -> String {
        let rate = self.rate();
        let rate_text = if rate >= 100.0 {
            format!("{rate:.0}")
        } else {
            format!("{rate:.2}")
        };
        let eta = if self.total == 0 || rate <= 0.0 || !rate.is_finite() {
            "-".to_string()
        } else {
            format_eta(self.total.saturating_sub(self.done) as f64 / rate)
        };
        format!("{rate_text} routes/s | ETA {eta}")
    }

    fn percent(&self) -> f64 {
        self.done as f64 * 100.0 / self.total as f64
    }
}

/// `45 s` under a minute, `12.3 min` under an hour, `1.2 h` beyond. Thresholds are applied to
/// the rounded value so we never print `60 s` or `60.0 min`.
fn format_eta(secs: f64) -> String {
    if secs < 59.5 {
        format!("{secs:.0} s")
    } else if (secs / 6.0).round() < 600.0 {
        format!("{:.1} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// The line written when stderr is not a terminal, for example
/// `progress: 150/441 routes (34.0%) | 2.45 routes/s | ETA 12.3 min | phase sequence`,
/// or `progress: 150 routes | 2.45 routes/s | ETA - | phase read` when the total is unknown.
///
/// Contains no control characters, so it stays a single clean line in any log collector.
pub fn plain_line(s: &Snapshot) -> String {
    let count = if s.total == 0 {
        format!("{} routes", s.done)
    } else {
        format!("{}/{} routes ({:.1}%)", s.done, s.total, s.percent())
    };
    let phase: String = s
        .phase
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!("progress: {count} | {} | phase {phase}", s.stats())
}

/// Reads a [`plain_line`] with a known total back into (done, total), checking every part of its shape:
/// `progress: D/T routes (P.P%) | R routes/s | ETA E | phase NAME`. For tools that follow scheduler
/// logs, and for tests.
pub fn parse_plain_line(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("progress: ")?;
    let (counts, rest) = rest.split_once(" routes (")?;
    let (done, total) = counts.split_once('/')?;
    let (done, total) = (done.parse().ok()?, total.parse().ok()?);
    let (pct, rest) = rest.split_once("%) | ")?;
    let (whole, tenth) = pct.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || tenth.len() != 1 || !digits(tenth) {
        return None;
    }
    let (rate, rest) = rest.split_once(" routes/s | ETA ")?;
    rate.parse::<f64>().ok()?;
    let (eta, phase) = rest.split_once(" | phase ")?;
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (!eta.is_empty() && word(phase)).then_some((done, total))
}

/// A [`Mode::Plain`] writer that turns each progress line into an `info` log event (target
/// `progress`), so a JSON log stays one JSON object per line.
#[derive(Debug, Default)]
pub struct LogLines {
    pending: Vec<u8>,
}

impl Write for LogLines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line[..end]);
            tracing::info!(target: "progress", "{line}");
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where the reporter shows progress.
pub enum Mode {
    /// A bar if stderr is a terminal, otherwise plain lines to stderr.
    Auto,
    /// Always the indicatif bar on stderr (indicatif hides it by itself if stderr is not a tty).
    Terminal,
    /// One [`plain_line`] per interval to this writer.
    Plain(Box<dyn Write + Send>),
    /// Nothing: no thread is started.
    Off,
}

/// Handle to a running reporter. [`Reporter::finish`] (or dropping it) stops the thread,
/// writes a last plain line or clears the bar, and returns as soon as that is done.
pub struct Reporter {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Reporter {
    /// Stops reporting now, without waiting for the current interval to run out.
    pub fn finish(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // Dropping the sender wakes the thread at once (the channel disconnects).
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // A panic in the reporter must not take the run down with it.
            let _ = thread.join();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts reporting `progress` on a dedicated std thread, so a busy or blocked async runtime
/// cannot stall it. In plain mode a line is written every `interval`; the terminal bar redraws
/// every `interval` or 200 ms, whichever is shorter.
pub fn start(progress: &Progress, mode: Mode, interval: Duration) -> Reporter {
    let mode = match mode {
        Mode::Auto if io::stderr().is_terminal() => Mode::Terminal,
        Mode::Auto => Mode::Plain(Box::new(io::stderr())),
        other => other,
    };
    match mode {
        Mode::Off => Reporter {
            stop: None,
            thread: None,
        },
        Mode::Plain(writer) => spawn(progress.clone(), interval, PlainSink { writer }),
        Mode::Terminal | Mode::Auto => start_terminal(progress, interval, ProgressDrawTarget::stderr),
    }
}

fn start_terminal(
    progress: &Progress,
    interval: Duration,
    target: impl Fn() -> ProgressDrawTarget + Send + 'static,
) -> Reporter {
    let sink = BarSink {
        target: Box::new(target),
        current: None,
    };
    spawn(progress.clone(), interval.min(TERMINAL_TICK), sink)
}

/// One way of showing a snapshot; `finish` is called once, after the last `show`.
trait Sink: Send + 'static {
    fn show(&mut self, s: &Snapshot);
    fn finish(&mut self, s: &Snapshot);
}

fn spawn(progress: Progress, interval: Duration, mut sink: impl Sink) -> Reporter {
    let (stop, stopped) = mpsc::channel::<()>();
    // A zero interval would spin; 1 ms is already far below anything useful.
    let interval = interval.max(Duration::from_millis(1));
    let thread = std::thread::Builder::new()
        .name("progress".into())
        .spawn(move || {
            sink.show(&progress.snapshot());
            // Nothing is ever sent: the sender being dropped (`finish`) is the stop signal.
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                sink.show(&progress.snapshot());
            }
            sink.finish(&progress.snapshot());
        })
        .expect("spawning the progress thread");
    Reporter {
        stop: Some(stop),
        thread: Some(thread),
    }
}

struct PlainSink {
    writer: Box<dyn Write + Send>,
}

impl PlainSink {
    fn write(&mut self, s: &Snapshot) {
        let mut line = plain_line(s);
        line.push('\n');
        // One write per line so it cannot interleave with log lines on the same stream; a
        // failing log stream is not a reason to stop the run.
        let _ = self.writer.write_all(line.as_bytes());
        let _ = self.writer.flush();
    }
}

impl Sink for PlainSink {
    fn show(&mut self, s: &Snapshot) {
        // No line before there is anything to say; the final line is always written.
        if s.done > 0 || s.total > 0 {
            self.write(s);
        }
    }

    fn finish(&mut self, s: &Snapshot) {
        self.write(s);
    }
}

struct BarSink {
    target: Box<dyn Fn() -> ProgressDrawTarget + Send>,
    /// The bar of the phase being shown and whether it has a known length.
    current: Option<(&'static str, bool, ProgressBar)>,
}

impl BarSink {
    fn new_bar(&self, s: &Snapshot) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, (self.target)());
        bar.set_prefix(s.phase);
        bar
    }
}

impl Sink for BarSink {
    fn show(&mut self, s: &Snapshot) {
        let known = s.total > 0;
        let same_phase = matches!(&self.current, Some((phase, _, _)) if *phase == s.phase);
        if !same_phase {
            if let Some((_, _, old)) = self.current.take() {
                set_active(None);
                old.finish_and_clear();
            }
            let bar = self.new_bar(s);
            set_active(Some(bar.clone()));
            self.current = Some((s.phase, !known, bar));
        }
        let Some((_, styled_known, bar)) = &mut self.current else {
            return;
        };
        if *styled_known != known {
            *styled_known = known;
            if known {
                bar.set_style(bar_style());
                bar.set_length(s.total);
            } else {
                bar.set_style(spinner_style());
                bar.unset_length();
            }
        } else if known {
            bar.set_length(s.total);
        }
        bar.set_position(s.done);
        let msg = if known {
            format!("({:.1}%) | {}", s.percent(), s.stats())
        } else {
            s.stats()
        };
        bar.set_message(msg);
        bar.tick();
    }

    fn finish(&mut self, _s: &Snapshot) {
        set_active(None);
        if let Some((_, _, bar)) = self.current.take() {
            bar.finish_and_clear();
        }
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>9} [{wide_bar}] {pos}/{len} routes {msg}")
        .expect("static template is valid")
        .progress_chars("=> ")
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>9} {spinner} {pos} routes | {msg}")
        .expect("static template is valid")
}

/// The bar currently on screen, if any. Global so that a log writer installed before the
/// reporter starts (tracing subscribers usually are) still finds it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn set_active(bar: Option<ProgressBar>) {
    *ACTIVE.lock().unwrap_or_else(PoisonError::into_inner) = bar;
}

/// Runs `f` with the active bar (if any) taken off the screen, then redraws it.
fn with_bar_suspended<R>(f: impl FnOnce() -> R) -> R {
    // Clone out so the global lock is not held while the bar's own lock is taken.
    let bar = ACTIVE.lock().unwrap_or_else(PoisonError::into_inner).clone();
    match bar {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}

/// A stderr writer that lifts the progress bar off the screen while it writes, so log lines
/// land above the bar instead of being torn through it. With no bar running it is plain stderr.
///
/// `SuspendingWriter::new` is a `Fn() -> impl Write`, which tracing-subscriber accepts as a
/// `MakeWriter`: `tracing_subscriber::fmt().with_writer(SuspendingWriter::new)` (as `main` does).
#[derive(Clone, Copy, Debug, Default)]
pub struct SuspendingWriter;

impl SuspendingWriter {
    pub fn new() -> Self {
        Self
    }
}

impl Write for SuspendingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Write everything inside one suspension: a partial write would leave the rest of the
        // line to be drawn over by the bar.
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        with_bar_suspended(|| io::stderr().lock().write_all(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    fn snap(phase: &'static str, done: u64, total: u64, secs: f64) -> Snapshot {
        Snapshot {
            phase,
            done,
            total,
            phase_elapsed: Duration::from_secs_f64(secs),
        }
    }

    #[test]
    fn plain_line_eta_in_minutes() {
        assert_eq!(
            plain_line(&snap("sequence", 150, 441, 60.0)),
            "progress: 150/441 routes (34.0%) | 2.50 routes/s | ETA 1.9 min | phase sequence"
        );
        // 1808 remaining at 2.45/s: 738 s.
        assert_eq!(
            plain_line(&snap("sequence", 150, 1958, 150.0 / 2.45)),
            "progress: 150/1958 routes (7.7%) | 2.45 routes/s | ETA 12.3 min | phase sequence"
        );
    }

    #[test]
    fn plain_line_eta_in_seconds_and_fast_rate() {
        assert_eq!(
            plain_line(&snap("plan", 90, 100, 10.0)),
            "progress: 90/100 routes (90.0%) | 9.00 routes/s | ETA 1 s | phase plan"
        );
        assert_eq!(
            plain_line(&snap("write", 5000, 10000, 20.0)),
            "progress: 5000/10000 routes (50.0%) | 250 routes/s | ETA 20 s | phase write"
        );
    }

    #[test]
    fn plain_line_eta_in_hours() {
        assert_eq!(
            plain_line(&snap("sequence", 10, 7210, 100.0)),
            "progress: 10/7210 routes (0.1%) | 0.10 routes/s | ETA 20.0 h | phase sequence"
        );
    }

    #[test]
    fn plain_line_unknown_total() {
        assert_eq!(
            plain_line(&snap("read", 150, 0, 60.0)),
            "progress: 150 routes | 2.50 routes/s | ETA - | phase read"
        );
    }

    #[test]
    fn plain_line_zero_rate() {
        assert_eq!(
            plain_line(&snap("plan", 0, 441, 5.0)),
            "progress: 0/441 routes (0.0%) | 0.00 routes/s | ETA - | phase plan"
        );
        // No time elapsed at all: no division by zero, no NaN.
        assert_eq!(
            plain_line(&snap("plan", 3, 441, 0.0)),
            "progress: 3/441 routes (0.7%) | 0.00 routes/s | ETA - | phase plan"
        );
    }

    #[test]
    fn plain_line_done_past_total_and_control_chars() {
        assert_eq!(
            plain_line(&snap("bad\rphase\x1b", 11, 10, 1.0)),
            "progress: 11/10 routes (110.0%) | 11.00 routes/s | ETA 0 s | phase bad?phase?"
        );
    }

    #[test]
    fn eta_unit_boundaries() {
        assert_eq!(format_eta(0.0), "0 s");
        assert_eq!(format_eta(59.4), "59 s");
        assert_eq!(format_eta(59.6), "1.0 min");
        assert_eq!(format_eta(3596.0), "59.9 min");
        assert_eq!(format_eta(3599.0), "1.0 h");
        assert_eq!(format_eta(4320.0), "1.2 h");
    }

    #[test]
    fn add_done_from_four_threads_sums() {
        let p = Progress::new();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let p = p.clone();
                thread::spawn(move || {
                    for _ in 0..10_000 {
                        p.add_done(1);
                    }
                    p.add_done(3);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(p.snapshot().done, 40_012);
    }

    #[test]
    fn set_phase_restarts_count_and_clock_keeps_total() {
        let p = Progress::new();
        assert_eq!(p.snapshot().phase, "start");
        p.set_total(441);
        p.add_done(100);
        thread::sleep(Duration::from_millis(30));
        p.set_phase("sequence");
        let s = p.snapshot();
        assert_eq!((s.phase, s.done, s.total), ("sequence", 0, 441));
        assert!(s.phase_elapsed < Duration::from_millis(30));
    }

    /// A `Write` whose bytes the test can read while the reporter still owns a handle.
    #[derive(Clone, Default)]
    struct SharedBuf(Arc<Mutex<Vec<u8>>>);

    impl Write for SharedBuf {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl SharedBuf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn plain_reporter_writes_clean_lines() {
        let p = Progress::new();
        p.set_phase("sequence");
        p.set_total(200);
        let buf = SharedBuf::default();
        let reporter = start(&p, Mode::Plain(Box::new(buf.clone())), Duration::from_millis(20));
        let worker = {
            let p = p.clone();
            thread::spawn(move || {
                for _ in 0..40 {
                    p.add_done(5);
                    thread::sleep(Duration::from_millis(5));
                }
            })
        };
        worker.join().unwrap();
        reporter.finish();

        let text = buf.text();
        assert!(text.ends_with('\n'));
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "control character in {text:?}"
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() >= 3, "expected several lines, got {lines:?}");
        let mut last_done = 0;
        for line in &lines {
            let (done, _) = parse_plain_line(line).unwrap_or_else(|| panic!("bad line {line:?}"));
            assert!(done >= last_done, "done went backwards in {lines:?}");
            last_done = done;
        }
        let last = lines.last().unwrap();
        assert!(
            last.starts_with("progress: 200/200 routes (100.0%) | "),
            "last line {last:?}"
        );
        assert!(
            last.ends_with(" | ETA 0 s | phase sequence"),
            "last line {last:?}"
        );
    }

    #[test]
    fn finish_does_not_wait_for_the_interval() {
        let p = Progress::new();
        p.set_total(10);
        p.add_done(10);
        let buf = SharedBuf::default();
        let reporter = start(&p, Mode::Plain(Box::new(buf.clone())), Duration::from_secs(3600));
        let t = Instant::now();
        reporter.finish();
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "finish took {:?}",
            t.elapsed()
        );
        // The first draw and the final one; nothing in between.
        assert_eq!(buf.text().lines().count(), 2);
        assert!(
            buf.text()
                .lines()
                .all(|l| l.starts_with("progress: 10/10 routes (100.0%)"))
        );
    }

    #[test]
    fn dropping_the_reporter_also_writes_the_last_line() {
        let p = Progress::new();
        let buf = SharedBuf::default();
        drop(start(
            &p,
            Mode::Plain(Box::new(buf.clone())),
            Duration::from_secs(3600),
        ));
        assert_eq!(
            buf.text(),
            "progress: 0 routes | 0.00 routes/s | ETA - | phase start\n"
        );
    }

    #[test]
    fn off_starts_nothing() {
        let p = Progress::new();
        p.set_total(5);
        let reporter = start(&p, Mode::Off, Duration::from_millis(1));
        p.add_done(5);
        thread::sleep(Duration::from_millis(10));
        assert!(reporter.thread.is_none() && reporter.stop.is_none());
        reporter.finish();
    }

    /// Records what indicatif draws, in order, so the bar can be checked without a tty.
    #[derive(Debug, Clone, Default)]
    struct RecordingTerm(Arc<Mutex<Vec<String>>>);

    impl RecordingTerm {
        fn push(&self, op: String) {
            self.0.lock().unwrap().push(op);
        }
        fn ops(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }

    impl indicatif::TermLike for RecordingTerm {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _n: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _n: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _n: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _n: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.push(format!("write:{s}"));
            Ok(())
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.push(format!("write:{s}"));
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            self.push("clear".into());
            Ok(())
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(5));
        }
    }

    // The only test that touches the global active bar, so tests running in parallel cannot race on it.
    #[test]
    fn terminal_bar_per_phase_suspends_for_logs_and_clears() {
        let term = RecordingTerm::default();
        let p = Progress::new();
        p.set_phase("read");
        p.add_done(7);
        let target = {
            let term = term.clone();
            move || ProgressDrawTarget::term_like_with_hz(Box::new(term.clone()), 100)
        };
        let reporter = start_terminal(&p, Duration::from_millis(10), target);

        let has = |needle: &str| term.ops().iter().any(|op| op.contains(needle));
        wait_for("spinner", || has("read") && has("7 routes | "));

        p.set_phase("sequence");
        p.set_total(50);
        p.add_done(25);
        wait_for("bar", || has("25/50 routes (50.0%) | ") && has("sequence"));

        // A log line written through the writer's path: the bar is cleared before it and redrawn after.
        let before = term.ops().len();
        with_bar_suspended(|| term.push("LOG".into()));
        let ops = term.ops()[before..].to_vec();
        let log_at = ops.iter().position(|op| op == "LOG").unwrap();
        assert!(
            ops[..log_at].contains(&"clear".to_string()),
            "not cleared before log: {ops:?}"
        );
        assert!(
            ops[log_at..].iter().any(|op| op.contains("25/50")),
            "not redrawn after log: {ops:?}"
        );

        reporter.finish();
        assert!(ACTIVE.lock().unwrap().is_none());
        let ops = term.ops();
        let last_write = ops.iter().rposition(|op| op.starts_with("write:")).unwrap();
        assert!(
            ops[last_write..].contains(&"clear".to_string()),
            "bar left on screen: {ops:?}"
        );
    }

    #[test]
    fn suspending_writer_is_a_tracing_make_writer() {
        let _subscriber = tracing_subscriber::fmt()
            .with_writer(SuspendingWriter::new)
            .finish();
    }
}
