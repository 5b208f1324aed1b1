//! A graceful stop, asked for by a signal (SIGINT, SIGTERM) and honoured by the run: phases before
//! the write are abandoned, sinks start no new partition and let those in flight commit or roll back,
//! file output is not published. The command line turns signals into [`Shutdown::request`]
//! (`cli/signals.rs`); the library only reads it, so a run started from code never stops by itself.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::watch;

/// Which signal asked for the stop; it decides the exit code (128 + its number, as shells report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Signal {
    /// Ctrl-C: exit 130.
    #[serde(rename = "SIGINT")]
    Interrupt,
    /// What schedulers, systemd and Kubernetes send first: exit 143.
    #[serde(rename = "SIGTERM")]
    Terminate,
}

impl Signal {
    /// 128 + the signal's number.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// A stop request shared by everything a run starts; cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown(Arc<watch::Sender<Option<Signal>>>);

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// Nobody has asked for a stop yet.
    pub fn new() -> Self {
        Self(Arc::new(watch::Sender::new(None)))
    }

    /// Asks for a stop; the first signal is the one that counts. Returns whether this was the first.
    pub fn request(&self, signal: Signal) -> bool {
        self.0.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(signal);
                true
            } else {
                false
            }
        })
    }

    /// The signal that asked for a stop, if one did.
    pub fn requested(&self) -> Option<Signal> {
        *self.0.borrow()
    }

    /// Resolves when a stop is asked for (at once if it already was).
    pub async fn wait(&self) -> Signal {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`: waiting cannot fail.
        let signal = rx.wait_for(Option::is_some).await.map(|s| *s);
        signal.ok().flatten().unwrap_or(Signal::Terminate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_signal_counts_and_wakes_every_waiter() {
        let shutdown = Shutdown::new();
        assert_eq!(shutdown.requested(), None);
        let waiter = tokio::spawn({
            let s = shutdown.clone();
            async move { s.wait().await }
        });
        assert!(shutdown.request(Signal::Terminate));
        assert!(
            !shutdown.request(Signal::Interrupt),
            "a second signal changes nothing"
        );
        assert_eq!(waiter.await.unwrap(), Signal::Terminate);
        assert_eq!(shutdown.requested(), Some(Signal::Terminate));
        assert_eq!(shutdown.wait().await, Signal::Terminate, "already asked: at once");
    }
}
