//! SIGINT and SIGTERM during `routeflow run`: the first asks the run to stop gracefully (the output
//! keeps only whole partitions and the run reports what it wrote), the second exits at once. Both
//! are logged. Signals arrive on a thread of their own (signal-hook), so a run busy on every core
//! still hears them.

use routeflow::shutdown::{Shutdown, Signal};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracing::{error, warn};

/// Starts listening for SIGINT and SIGTERM; the returned handle is what the run watches.
pub fn install() -> std::io::Result<Shutdown> {
    let shutdown = Shutdown::new();
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let handle = shutdown.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for raw in signals.forever() {
                let signal = if raw == SIGINT {
                    Signal::Interrupt
                } else {
                    Signal::Terminate
                };
                if handle.request(signal) {
                    warn!(
                        signal = signal.name(),
                        "stopping: no new output partition starts, those in flight finish; \
                         a second signal exits at once"
                    );
                } else {
                    error!(
                        signal = signal.name(),
                        "second signal: exiting now; the output keeps only whole partitions"
                    );
                    std::process::exit(i32::from(signal.exit_code()));
                }
            }
        })?;
    Ok(shutdown)
}
