//! Tests of the counter, the plain lines, the reporter thread and the terminal bar.

use super::plain::*;
use super::reporter::*;
use super::terminal::*;
use super::*;
use std::io::{self, Write};
use std::thread;

use indicatif::ProgressDrawTarget;

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
