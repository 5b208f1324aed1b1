//! The reporter thread: shows a [`Progress`] every interval, as plain lines or a terminal bar, until
//! [`Reporter::finish`].

use std::io::{self, IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::ProgressDrawTarget;

use super::plain::PlainSink;
use super::terminal::start_terminal;
use super::{Progress, Snapshot};

/// Where the reporter shows progress.
pub enum Mode {
    /// A bar if stderr is a terminal, otherwise plain lines to stderr.
    Auto,
    /// Always the indicatif bar on stderr (indicatif hides it by itself if stderr is not a tty).
    Terminal,
    /// One [`plain_line`](super::plain_line) per interval to this writer.
    Plain(Box<dyn Write + Send>),
    /// Nothing: no thread is started.
    Off,
}

/// Handle to a running reporter. [`Reporter::finish`] (or dropping it) stops the thread,
/// writes a last plain line or clears the bar, and returns as soon as that is done.
pub struct Reporter {
    pub(super) stop: Option<mpsc::Sender<()>>,
    pub(super) thread: Option<JoinHandle<()>>,
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

/// One way of showing a snapshot; `finish` is called once, after the last `show`.
pub(super) trait Sink: Send + 'static {
    fn show(&mut self, s: &Snapshot);
    fn finish(&mut self, s: &Snapshot);
}

pub(super) fn spawn(progress: Progress, interval: Duration, mut sink: impl Sink) -> Reporter {
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
