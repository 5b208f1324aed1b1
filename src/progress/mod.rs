//! Progress reporting for a nightly run: a shared counter that hot code bumps, and a reporter
//! thread that shows it either as a terminal progress bar or as plain log lines.
//!
//! The counter side ([`Progress`], here) is separate from the display side ([`start`]) so that the
//! planning code never depends on whether anyone is watching: operators are handed a `Progress` and
//! count on it. [`reporter`] runs the display thread, [`plain`] writes log lines and [`terminal`]
//! draws the bar.

pub mod plain;
pub mod reporter;
pub mod terminal;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub use plain::{LogLines, parse_plain_line, plain_line};
pub use reporter::{Mode, Reporter, start};
pub use terminal::SuspendingWriter;

/// Phase reported before the first `set_phase`, so a line always names one.
const INITIAL_PHASE: &str = "start";

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

/// The process's progress: the one the command line shows and [`crate::run::run`] counts on. A
/// batch run is one per process; the run hands it to the operators that count routes.
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

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.snapshot();
        write!(f, "Progress({}: {}/{})", s.phase, s.done, s.total)
    }
}
