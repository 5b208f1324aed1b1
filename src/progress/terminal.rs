//! Progress as a terminal bar (indicatif), one per phase, and the log writer that lifts it off the
//! screen while a log line is written.

use std::io::{self, Write};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::reporter::{Reporter, Sink, spawn};
use super::{Progress, Snapshot};

/// Redraw period for the terminal bar: the plain `interval` is meant for log files (tens of
/// seconds), which would make a bar look frozen.
const TERMINAL_TICK: Duration = Duration::from_millis(200);

/// Starts a reporter drawing a bar on `target` (stderr; a recording terminal in tests).
pub(super) fn start_terminal(
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
pub(super) static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn set_active(bar: Option<ProgressBar>) {
    *ACTIVE.lock().unwrap_or_else(PoisonError::into_inner) = bar;
}

/// Runs `f` with the active bar (if any) taken off the screen, then redraws it.
pub(super) fn with_bar_suspended<R>(f: impl FnOnce() -> R) -> R {
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
