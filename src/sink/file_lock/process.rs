//! Whether a lock's owner process still lives, from what the kernel says of its pid.

/// A process that started this long after a run did cannot be that run's process.
const START_SLACK_SECONDS: u64 = 2;

/// Whether the process `pid` lives and can be the one that started a run at `run_started_at`
/// (RFC 3339, UTC). Linux: `/proc/<pid>/stat`; a zombie is dead, and a process started after the
/// run is a new one that got a reused pid (pid 1 again after a container restarts). Elsewhere:
/// `kill(pid, 0)`.
pub(super) fn process_alive(pid: u32, run_started_at: &str) -> bool {
    let Ok(id) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if id <= 0 {
        // Not a process id a run writes: never taken over.
        return true;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !is_zombie(&stat) && !started_after(&stat, run_started_at),
        Err(_) if std::path::Path::new("/proc/self/stat").exists() => false,
        Err(_) => {
            // SAFETY: signal 0 sends nothing; it only checks that the process exists.
            let sent = unsafe { libc::kill(id, 0) };
            sent == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
        }
    }
}

/// The fields of `/proc/<pid>/stat` after the command name (which may hold spaces).
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default()
}

pub(super) fn is_zombie(stat: &str) -> bool {
    matches!(stat_fields(stat).first(), Some(&"Z") | Some(&"X"))
}

/// Whether the process of `stat` started more than [`START_SLACK_SECONDS`] after `run_started_at`.
/// Both are compared as RFC 3339 text of the same shape (which sorts as time); `false` whenever
/// either cannot be read.
fn started_after(stat: &str, run_started_at: &str) -> bool {
    let shape =
        run_started_at.len() == 20 && run_started_at.ends_with('Z') && run_started_at.as_bytes()[10] == b'T';
    let Some(start) = process_start_seconds(stat).filter(|_| shape) else {
        return false;
    };
    crate::summary::utc_rfc3339(start.saturating_sub(START_SLACK_SECONDS)).as_str() > run_started_at
}

/// The UNIX time a process started: boot time plus its start in clock ticks since boot.
fn process_start_seconds(stat: &str) -> Option<u64> {
    let ticks: u64 = stat_fields(stat).get(19)?.parse().ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf reads a constant of the system.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .ok()
        .filter(|hz| *hz > 0)?;
    Some(boot + ticks / hz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> String {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        crate::summary::utc_rfc3339(secs)
    }

    #[test]
    fn this_process_is_alive_and_started_before_now() {
        assert!(process_alive(std::process::id(), &now()));
        assert!(!process_alive(std::process::id(), "2001-01-01T00:00:00Z"));
        assert!(process_alive(std::process::id(), "not a time"), "unknown: alive");
    }
}
