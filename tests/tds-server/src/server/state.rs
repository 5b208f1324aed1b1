//! State shared by all connections: counters, the request log and the armed faults, behind one
//! lock so that numbering a request and matching a fault against it happen together.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Fault, FaultAction, FaultMatch, Stats};
use crate::engine::instance::Instance;

/// What kind of request arrived, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Batch,
    Rpc,
    BulkLoad,
}

#[derive(Default)]
struct State {
    stats: Stats,
    requests: Vec<String>,
    faults: Vec<Fault>,
}

#[derive(Default)]
pub struct Shared {
    state: Mutex<State>,
    /// The sessions and application locks every connection's engine session sees.
    pub instance: Arc<Instance>,
    /// Whether SELECTs return their rows in a random order (see `ServerHandle::shuffle_rows`).
    shuffle: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking connection task must not take the whole server down with it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Logs and counts a request, and returns the fault it triggers, if any.
    pub fn request(&self, kind: RequestKind, text: &str) -> Option<FaultAction> {
        let mut state = self.lock();
        state.requests.push(text.to_string());
        let number = state.requests.len() as u64;
        match kind {
            RequestKind::Batch => state.stats.batches += 1,
            RequestKind::Rpc => state.stats.rpcs += 1,
            RequestKind::BulkLoad => state.stats.bulk_loads += 1,
        }
        let lower = text.to_lowercase();
        let index = state.faults.iter().position(|fault| match &fault.when {
            FaultMatch::Contains(needle) => lower.contains(&needle.to_lowercase()),
            FaultMatch::Nth(n) => *n == number,
        })?;
        let fault = &mut state.faults[index];
        let action = fault.action.clone();
        fault.times -= 1;
        if fault.times == 0 {
            state.faults.remove(index);
        }
        Some(action)
    }

    pub fn update(&self, change: impl FnOnce(&mut Stats)) {
        change(&mut self.lock().stats);
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    pub fn reset(&self) {
        let mut state = self.lock();
        state.stats = Stats::default();
        state.requests.clear();
    }

    pub fn inject(&self, fault: Fault) {
        if fault.times > 0 {
            self.lock().faults.push(fault);
        }
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    pub fn set_shuffle(&self, on: bool) {
        self.shuffle.store(on, Ordering::Relaxed);
    }

    pub fn shuffle(&self) -> bool {
        self.shuffle.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_fire_their_number_of_times_on_matching_requests() {
        let shared = Shared::default();
        shared.inject(Fault {
            when: FaultMatch::Contains("orders".into()),
            action: FaultAction::Drop,
            times: 2,
        });
        shared.inject(Fault {
            when: FaultMatch::Nth(2),
            action: FaultAction::DropAfterBytes(3),
            times: 1,
        });
        assert!(shared.request(RequestKind::Batch, "SELECT 1").is_none());
        assert!(matches!(
            shared.request(RequestKind::Rpc, "select 2"),
            Some(FaultAction::DropAfterBytes(3))
        ));
        assert!(matches!(
            shared.request(RequestKind::Batch, "SELECT * FROM ORDERS"),
            Some(FaultAction::Drop)
        ));
        assert!(matches!(
            shared.request(RequestKind::BulkLoad, "INSERT BULK orders"),
            Some(FaultAction::Drop)
        ));
        assert!(
            shared
                .request(RequestKind::Batch, "SELECT * FROM orders")
                .is_none()
        );
        let stats = shared.stats();
        assert_eq!((stats.batches, stats.rpcs, stats.bulk_loads), (3, 1, 1));
        shared.reset();
        assert!(shared.requests().is_empty());
        assert_eq!(shared.stats(), Stats::default());
    }
}
