//! `routeflow run` as a child process: its JSON log read back as events, and the run stopped (SIGKILL
//! or SIGTERM) a chosen time after one of its log lines.

use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Safety net only: a fixture run takes well under a second.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// How a run is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// SIGKILL: what an out-of-memory killer or a scheduler's hard timeout does.
    Kill,
    /// SIGTERM: what schedulers, systemd and Kubernetes send first.
    Term,
}

/// One line of the run's JSON log.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub message: String,
    /// The `phase` field, when the line has one (`stage done` lines name their stage).
    pub phase: Option<String>,
    /// Unix seconds.
    pub at: f64,
    pub run_id: Option<String>,
}

/// A run that ended, by itself or stopped.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub events: Vec<Event>,
    /// When the signal went out (Unix seconds); `None` when the run ended first or was not stopped.
    pub stopped_at: Option<f64>,
}

impl Finished {
    /// `143`, `0`, or `killed by signal 9`.
    pub fn exit(&self) -> String {
        use std::os::unix::process::ExitStatusExt;
        match (self.status.code(), self.status.signal()) {
            (Some(code), _) => code.to_string(),
            (None, Some(signal)) => format!("signal {signal}"),
            _ => "?".into(),
        }
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The run's id, from the span of its log lines.
    pub fn run_id(&self) -> Option<&str> {
        self.events.iter().find_map(|e| e.run_id.as_deref())
    }

    /// When the first line with `message` was logged, if it was before the stop (or at all when
    /// the run was not stopped).
    pub fn logged_before_stop(&self, message: &str) -> Option<f64> {
        let limit = self.stopped_at.unwrap_or(f64::INFINITY);
        self.events
            .iter()
            .find(|e| e.message == message && e.at <= limit)
            .map(|e| e.at)
    }

    /// When the stage `stage` was done.
    pub fn stage_done(&self, stage: &str) -> Option<f64> {
        self.events
            .iter()
            .find(|e| e.message == "stage done" && e.phase.as_deref() == Some(stage))
            .map(|e| e.at)
    }

    /// The last stage the log says was done.
    pub fn last_stage(&self) -> Option<&str> {
        self.events
            .iter()
            .filter(|e| e.message == "stage done")
            .filter_map(|e| e.phase.as_deref())
            .next_back()
    }

    /// How many lines hold `needle` in their message.
    pub fn count(&self, needle: &str) -> usize {
        self.events.iter().filter(|e| e.message.contains(needle)).count()
    }

    /// The run's `--json` output.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.stdout).ok()
    }

    /// The last few log messages and standard error, for a failure's message.
    pub fn tail(&self) -> String {
        let messages: Vec<&str> = self.events.iter().map(|e| e.message.as_str()).collect();
        let tail = &messages[messages.len().saturating_sub(4)..];
        let stderr = self.stderr.trim();
        let stderr = &stderr[stderr.len().saturating_sub(300)..];
        format!("exit {}, last log lines {tail:?}, stderr {stderr:?}", self.exit())
    }
}

/// `cmd` with its log going to `log` as JSON at the info level, whatever the caller's environment.
pub(crate) fn logged(mut cmd: Command, log: &Path, args: &[String]) -> Command {
    cmd.env("RUST_LOG", "info")
        .args(["--log-format", "json", "--log-file"])
        .arg(log)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `cmd` (from [`logged`]) to its end.
pub(crate) fn run(mut cmd: Command, log: &Path) -> Finished {
    let child = cmd.spawn().expect("routeflow starts");
    finish(child, log, None)
}

/// Runs `cmd` (from [`logged`]), waits for the log line `stage done` of `stage`, then `delay`, and
/// stops the run with `stop` unless it ended first. A SIGTERMed run that does not end is killed
/// after the safety timeout (and says so in its standard error).
pub(crate) fn run_and_stop(
    mut cmd: Command,
    log: &Path,
    stage: &str,
    delay: Duration,
    stop: Stop,
) -> Result<Finished, String> {
    let mut child = cmd.spawn().expect("routeflow starts");
    let started = Instant::now();
    let mut reader = LogTail::default();
    loop {
        if reader
            .read(log)
            .iter()
            .any(|e| e.message == "stage done" && e.phase.as_deref() == Some(stage))
        {
            break;
        }
        if child.try_wait().expect("child status").is_some() || started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let f = finish(child, log, None);
            return Err(format!("the run never logged stage {stage} done: {}", f.tail()));
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    std::thread::sleep(delay);
    if child.try_wait().expect("child status").is_some() {
        return Ok(finish(child, log, None));
    }
    let stopped_at = unix_now();
    match stop {
        Stop::Kill => child.kill().expect("SIGKILL"),
        Stop::Term => {
            let pid = i32::try_from(child.id()).expect("pid");
            // SAFETY: kill(2) on our own child's pid, which it keeps until we wait for it.
            let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
            assert_eq!(rc, 0, "SIGTERM to {pid}");
        }
    }
    Ok(finish(child, log, Some(stopped_at)))
}

/// Waits for the child (killing it after the safety timeout) and collects its output and log.
fn finish(mut child: std::process::Child, log: &Path, stopped_at: Option<f64>) -> Finished {
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("child status") {
            break status;
        }
        if started.elapsed() > RUN_TIMEOUT {
            timed_out = true;
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut stderr = err.join().unwrap_or_default();
    if timed_out {
        stderr.push_str("\n[soak] the run did not end within the safety timeout and was killed");
    }
    Finished {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr,
        events: LogTail::default().read(log),
        stopped_at,
    }
}

/// Reads a log file as it grows: every call returns the events added since the last one. A line
/// cut short (the writer was killed mid-line) is skipped.
#[derive(Default)]
struct LogTail {
    offset: usize,
}

impl LogTail {
    fn read(&mut self, path: &Path) -> Vec<Event> {
        let Ok(text) = std::fs::read(path) else {
            return Vec::new();
        };
        let Some(end) = text[self.offset.min(text.len())..]
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|i| self.offset + i + 1)
        else {
            return Vec::new();
        };
        let lines = String::from_utf8_lossy(&text[self.offset..end]).into_owned();
        self.offset = end;
        lines.lines().filter_map(parse_event).collect()
    }
}

fn parse_event(line: &str) -> Option<Event> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = v.get("fields")?;
    Some(Event {
        message: fields.get("message")?.as_str()?.to_string(),
        phase: fields.get("phase").and_then(|p| p.as_str()).map(str::to_string),
        at: parse_timestamp(v.get("timestamp")?.as_str()?)?,
        run_id: v
            .pointer("/span/run_id")
            .and_then(|r| r.as_str())
            .map(str::to_string),
    })
}

/// `2026-12-05T20:27:03.616194Z` as Unix seconds.
fn parse_timestamp(s: &str) -> Option<f64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':');
    let (h, min) = (t.next()?.parse::<f64>().ok()?, t.next()?.parse::<f64>().ok()?);
    let sec = t.next()?.parse::<f64>().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + h * 3600.0 + min * 60.0 + sec)
}

pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[test]
fn log_timestamps_read_as_unix_seconds() {
    assert_eq!(parse_timestamp("1970-01-01T00:00:01.5Z"), Some(1.5));
    assert_eq!(parse_timestamp("2026-12-05T20:27:03Z"), Some(1_796_502_423.0));
    assert_eq!(parse_timestamp("2000-03-01T00:00:00Z"), Some(951_868_800.0));
}
