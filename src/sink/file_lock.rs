//! The file output's lock: `<output>/.routeflow/lock`, created atomically (`PutMode::Create`: a
//! hard link on local disk, a conditional PUT on object stores) and holding the [`RunOwner`] as
//! JSON, so that a second run names the holder and an operator knows what to delete.
//!
//! A lock whose owner is gone — on this host, and its pid no longer that run's process — is taken
//! over with a warning: a run killed outright (SIGKILL, out of memory, a reboot) leaves its lock
//! behind, and the next night must not stop there. A lock from another host is never taken over:
//! this host cannot tell whether that run lives. Taking over is itself guarded by a second file
//! created atomically, so two runs finding the same dead lock cannot both take it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::error::{DataFusionError, Result};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use tracing::{info, warn};

use super::output::{RunOwner, TargetLock};
use super::publish::{META_DIR, local_dir};
use crate::error::Error;
use crate::source::location::Location;

/// The lock file, under [`META_DIR`].
pub const LOCK_FILE: &str = "lock";
/// Held while a dead run's lock is taken over.
const TAKEOVER_FILE: &str = "lock.takeover";
/// How often a waiting run looks at the lock again.
const POLL: Duration = Duration::from_millis(200);
/// A takeover lasts milliseconds: a guard older than this was left by a run that died in it.
const STALE_TAKEOVER: Duration = Duration::from_secs(60);
/// A process that started this long after a run did cannot be that run's process.
const START_SLACK_SECONDS: u64 = 2;

/// A run's hold on a file output.
#[derive(Debug)]
pub struct FileLock {
    store: Arc<dyn ObjectStore>,
    path: Path,
    guard: Path,
    /// The lock file as people see it, in messages.
    shown: String,
    owner: RunOwner,
    /// Directories on local disk that taking the lock created (the output's, `.routeflow`),
    /// innermost first: removed on release when still empty, so a run that wrote nothing leaves
    /// nothing behind.
    created_dirs: Vec<std::path::PathBuf>,
}

/// What a lock file says.
#[derive(Debug, PartialEq, Eq)]
enum Holder {
    Run(RunOwner),
    /// Not a lock routeflow wrote: reported, never taken over.
    Unreadable(String),
}

impl Holder {
    fn of(bytes: &[u8]) -> Self {
        serde_json::from_slice(bytes)
            .map(Holder::Run)
            .unwrap_or_else(|e| Holder::Unreadable(e.to_string()))
    }
}

/// Takes the lock of `output` for `owner`, waiting up to `wait` for its holder to release it;
/// [`Error::TargetBusy`] naming the holder and the lock file if it does not.
pub async fn acquire(output: &Location, owner: &RunOwner, wait: Duration) -> Result<FileLock> {
    let meta = output.subdir(META_DIR);
    let lock = FileLock {
        store: Arc::clone(&output.store),
        path: meta.child(LOCK_FILE),
        guard: meta.child(TAKEOVER_FILE),
        shown: format!("{}/{LOCK_FILE}", meta.display),
        owner: owner.clone(),
        created_dirs: local_dir(&meta)
            .into_iter()
            .flat_map(|meta| [meta.clone(), meta.parent().map(Into::into).unwrap_or(meta)])
            .filter(|dir| !dir.exists())
            .collect(),
    };
    let deadline = Instant::now() + wait;
    let mut announced = false;
    loop {
        let Some(seen) = lock.create(&lock.path).await? else {
            return Ok(lock);
        };
        let holder = Holder::of(&seen);
        if let Holder::Run(dead) = &holder
            && is_gone(dead, owner)
            && lock.take_over(&seen).await?
        {
            warn!(lock = %lock.shown, dead = %dead, "took over the output's lock: the run holding it is gone");
            return Ok(lock);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(busy(output, &lock.shown, &holder));
        }
        if !announced {
            info!(lock = %lock.shown, holder = ?holder, wait_seconds = wait.as_secs(), "output busy: waiting for its lock");
            announced = true;
        }
        tokio::time::sleep(POLL.min(deadline - now)).await;
    }
}

impl FileLock {
    /// Creates `path` holding this run's owner, atomically; `None` when it did, else what is there.
    async fn create(&self, path: &Path) -> Result<Option<Bytes>> {
        let json =
            serde_json::to_vec_pretty(&self.owner).map_err(|e| DataFusionError::External(Box::new(e)))?;
        loop {
            let options = PutOptions {
                mode: PutMode::Create,
                ..PutOptions::default()
            };
            match self
                .store
                .put_opts(path, PutPayload::from(json.clone()), options)
                .await
            {
                Ok(_) => return Ok(None),
                Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            if let Some(bytes) = self.read(path).await? {
                return Ok(Some(bytes));
            }
            // Released in between: try again.
        }
    }

    async fn read(&self, path: &Path) -> Result<Option<Bytes>> {
        match self.store.get(path).await {
            Ok(get) => Ok(Some(get.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, path: &Path) -> Result<()> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces the lock `seen` (a gone owner's) with this run's, unless another run does first;
    /// whether this run now holds the lock.
    async fn take_over(&self, seen: &Bytes) -> Result<bool> {
        if self.create(&self.guard).await?.is_some() {
            self.clear_stale_guard().await?;
            return Ok(false);
        }
        let taken = async {
            if self.read(&self.path).await?.as_ref() == Some(seen) {
                self.delete(&self.path).await?;
            }
            Ok::<_, DataFusionError>(self.create(&self.path).await?.is_none())
        }
        .await;
        self.delete(&self.guard).await?;
        taken
    }

    /// Deletes a takeover guard left by a run that died during its takeover.
    async fn clear_stale_guard(&self) -> Result<()> {
        let modified = match self.store.head(&self.guard).await {
            Ok(meta) => SystemTime::from(meta.last_modified),
            Err(object_store::Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if modified.elapsed().is_ok_and(|age| age > STALE_TAKEOVER) {
            warn!(guard = %self.guard, "removing a stale lock takeover guard");
            self.delete(&self.guard).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl TargetLock for FileLock {
    /// Deletes the lock, if it still names this run.
    async fn release(self: Box<Self>) -> Result<()> {
        match self.read(&self.path).await?.map(|b| Holder::of(&b)) {
            Some(Holder::Run(owner)) if owner == self.owner => {
                self.delete(&self.path).await?;
                for dir in &self.created_dirs {
                    // Only while empty: a run that wrote something keeps it.
                    let _ = std::fs::remove_dir(dir);
                }
                Ok(())
            }
            Some(other) => {
                warn!(lock = %self.shown, holder = ?other, "the output's lock no longer names this run: left in place");
                Ok(())
            }
            None => {
                warn!(lock = %self.shown, "the output's lock was already gone");
                Ok(())
            }
        }
    }
}

fn busy(output: &Location, lock: &str, holder: &Holder) -> DataFusionError {
    let holder = match holder {
        Holder::Run(owner) => format!(
            "{owner}; its lock file is {lock} (delete it by hand only if that run is gone and its host \
             cannot be reached)"
        ),
        Holder::Unreadable(why) => format!(
            "an unknown holder: the lock file {lock} is not a routeflow lock ({why}); delete it by hand if \
             no run is writing"
        ),
    };
    crate::error::external(Error::TargetBusy {
        target: output.display.clone(),
        holder,
    })
}

/// Whether `holder`'s run is gone: it ran on this host and its pid is no longer its process.
fn is_gone(holder: &RunOwner, this: &RunOwner) -> bool {
    holder.host == this.host && !process_alive(holder.pid, &holder.started_at)
}

/// Whether the process `pid` lives and can be the one that started a run at `run_started_at`
/// (RFC 3339, UTC). Linux: `/proc/<pid>/stat`; a zombie is dead, and a process started after the
/// run is a new one that got a reused pid (pid 1 again after a container restarts). Elsewhere:
/// `kill(pid, 0)`.
fn process_alive(pid: u32, run_started_at: &str) -> bool {
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

fn is_zombie(stat: &str) -> bool {
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
    use object_store::memory::InMemory;

    fn in_memory() -> Location {
        let ctx = datafusion::prelude::SessionContext::new();
        let url = url::Url::parse("memory://locks").unwrap();
        ctx.register_object_store(&url, Arc::new(InMemory::new()));
        Location::resolve(&ctx, "memory://locks/out").unwrap()
    }

    fn owner(run: &str, host: &str, pid: u32, started_at: &str) -> RunOwner {
        RunOwner {
            run_id: run.into(),
            host: host.into(),
            pid,
            started_at: started_at.into(),
        }
    }

    fn now() -> String {
        crate::summary::utc_rfc3339(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
    }

    async fn write_lock(output: &Location, holder: &RunOwner) {
        let path = output.subdir(META_DIR).child(LOCK_FILE);
        let json = serde_json::to_vec(holder).unwrap();
        output.store.put(&path, json.into()).await.unwrap();
    }

    async fn lock_holder(output: &Location) -> Option<RunOwner> {
        let path = output.subdir(META_DIR).child(LOCK_FILE);
        let get = output.store.get(&path).await.ok()?;
        serde_json::from_slice(&get.bytes().await.unwrap()).ok()
    }

    fn is_busy(e: &DataFusionError) -> Option<String> {
        match crate::error::find(e) {
            Some(Error::TargetBusy { holder, .. }) => Some(holder.clone()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_second_run_finds_the_target_busy_until_the_first_releases() {
        let output = in_memory();
        let first = owner("run-1", "here", std::process::id(), &now());
        let second = owner("run-2", "here", std::process::id(), &now());
        let held = acquire(&output, &first, Duration::ZERO).await.unwrap();
        assert_eq!(lock_holder(&output).await, Some(first.clone()));
        let e = acquire(&output, &second, Duration::ZERO).await.unwrap_err();
        let holder = is_busy(&e).unwrap_or_else(|| panic!("not TargetBusy: {e}"));
        assert!(
            holder.contains("run-1") && holder.contains(".routeflow/lock"),
            "{holder}"
        );
        Box::new(held).release().await.unwrap();
        assert_eq!(lock_holder(&output).await, None);
        let again = acquire(&output, &second, Duration::ZERO).await.unwrap();
        assert_eq!(lock_holder(&output).await, Some(second));
        Box::new(again).release().await.unwrap();
    }

    #[tokio::test]
    async fn release_leaves_a_lock_that_names_another_run() {
        let output = in_memory();
        let mine = owner("run-1", "here", std::process::id(), &now());
        let held = acquire(&output, &mine, Duration::ZERO).await.unwrap();
        let other = owner("run-2", "there", 1, &now());
        write_lock(&output, &other).await;
        Box::new(held).release().await.unwrap();
        assert_eq!(lock_holder(&output).await, Some(other));
    }

    #[tokio::test]
    async fn a_dead_process_s_lock_on_this_host_is_taken_over() {
        let output = in_memory();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let me = owner("run-2", "here", std::process::id(), &now());
        write_lock(&output, &owner("run-1", "here", pid, &now())).await;
        acquire(&output, &me, Duration::ZERO).await.unwrap();
        assert_eq!(lock_holder(&output).await, Some(me));
    }

    #[tokio::test]
    async fn a_zombie_s_lock_is_taken_over() {
        let output = in_memory();
        let mut child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
        child.kill().unwrap();
        // Not waited for: a zombie once the kill has landed (a safety net of 10 s, not a timing).
        let stat = format!("/proc/{}/stat", child.id());
        for _ in 0..1000 {
            if is_zombie(&std::fs::read_to_string(&stat).unwrap()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let me = owner("run-2", "here", std::process::id(), &now());
        write_lock(&output, &owner("run-1", "here", child.id(), &now())).await;
        let taken = acquire(&output, &me, Duration::ZERO).await;
        child.wait().unwrap();
        taken.unwrap();
    }

    #[tokio::test]
    async fn a_reused_pid_does_not_keep_a_dead_run_s_lock() {
        // The run started long before this process, which now has its pid.
        let output = in_memory();
        let dead = owner("run-1", "here", std::process::id(), "2001-01-01T00:00:00Z");
        write_lock(&output, &dead).await;
        let me = owner("run-2", "here", std::process::id(), &now());
        acquire(&output, &me, Duration::ZERO).await.unwrap();
        assert_eq!(lock_holder(&output).await, Some(me));
    }

    #[tokio::test]
    async fn a_lock_from_another_host_is_not_taken_over() {
        let output = in_memory();
        // A pid not alive here, which says nothing of the other host.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        write_lock(&output, &owner("run-1", "elsewhere", child.id(), &now())).await;
        let me = owner("run-2", "here", std::process::id(), &now());
        let e = acquire(&output, &me, Duration::ZERO).await.unwrap_err();
        assert!(is_busy(&e).unwrap().contains("host elsewhere"), "{e}");
    }

    #[tokio::test]
    async fn an_unreadable_lock_is_reported_not_taken() {
        let output = in_memory();
        let path = output.subdir(META_DIR).child(LOCK_FILE);
        output
            .store
            .put(&path, b"{\"run_id\":".to_vec().into())
            .await
            .unwrap();
        let me = owner("run-2", "here", std::process::id(), &now());
        let e = acquire(&output, &me, Duration::ZERO).await.unwrap_err();
        assert!(is_busy(&e).unwrap().contains("not a routeflow lock"), "{e}");
        assert!(lock_holder(&output).await.is_none(), "left as it was");
    }

    #[tokio::test]
    async fn a_takeover_in_progress_is_not_joined() {
        let output = in_memory();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        write_lock(&output, &owner("run-1", "here", pid, &now())).await;
        let other = owner("run-3", "here", std::process::id(), &now());
        let guard = output.subdir(META_DIR).child(TAKEOVER_FILE);
        output
            .store
            .put(&guard, serde_json::to_vec(&other).unwrap().into())
            .await
            .unwrap();
        let me = owner("run-2", "here", std::process::id(), &now());
        assert!(
            acquire(&output, &me, Duration::ZERO).await.is_err(),
            "another run is taking it"
        );
        output.store.delete(&guard).await.unwrap();
        acquire(&output, &me, Duration::ZERO).await.unwrap();
    }

    #[test]
    fn this_process_is_alive_and_started_before_now() {
        assert!(process_alive(std::process::id(), &now()));
        assert!(!process_alive(std::process::id(), "2001-01-01T00:00:00Z"));
        assert!(process_alive(std::process::id(), "not a time"), "unknown: alive");
    }
}
