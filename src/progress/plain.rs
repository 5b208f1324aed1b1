//! Progress as plain text lines: for a log file or a scheduler's log collector, where a redrawn bar
//! would be noise.

use std::io::{self, Write};

use super::Snapshot;
use super::reporter::Sink;

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

/// A [`Mode::Plain`](super::Mode::Plain) writer that turns each progress line into an `info` log
/// event (target `progress`), so a JSON log stays one JSON object per line.
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

/// The reporter's plain-line display: one line per interval, and always a last one.
pub(super) struct PlainSink {
    pub(super) writer: Box<dyn Write + Send>,
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
