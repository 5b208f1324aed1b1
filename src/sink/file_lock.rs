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
use process::process_alive;

mod process;

/// The lock file, under [`META_DIR`].
pub const LOCK_FILE: &str = "lock";
/// Held while a dead run's lock is taken over.
const TAKEOVER_FILE: &str = "lock.takeover";
/// How often a waiting run looks at the lock again.
const POLL: Duration = Duration::from_millis(200);
/// A takeover lasts milliseconds: a guard older than this was left by a run that died in it.
const STALE_TAKEOVER: Duration = Duration::from_secs(60);

/// A run's hold on a file output. Released by [`TargetLock::release`]; one dropped unreleased (the
/// run failed or was stopped while opening, before it could release) is released by its drop.
#[derive(Debug, Clone)]
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
    /// The lock file on local disk, where a drop can release it at once.
    local_file: Option<std::path::PathBuf>,
    /// Whether the lock file is this run's to release.
    held: bool,
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
        local_file: local_dir(&meta).map(|meta| meta.join(LOCK_FILE)),
        held: false,
    };
    let deadline = Instant::now() + wait;
    let mut announced = false;
    loop {
        let Some(seen) = lock.create(&lock.path).await? else {
            return Ok(lock.held());
        };
        let holder = Holder::of(&seen);
        if let Holder::Run(dead) = &holder
            && is_gone(dead, owner)
            && lock.take_over(&seen).await?
        {
            warn!(lock = %lock.shown, dead = %dead, "took over the output's lock: the run holding it is gone");
            return Ok(lock.held());
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
    fn held(mut self) -> Self {
        self.held = true;
        self
    }

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
        if let Err(e) = self.delete(&self.guard).await {
            warn!(guard = %self.guard, "could not remove the lock takeover guard: {e}");
        }
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
    async fn release(mut self: Box<Self>) -> Result<()> {
        self.held = false;
        self.release_now().await
    }
}

impl FileLock {
    /// Deletes the lock, if it still names this run.
    async fn release_now(&self) -> Result<()> {
        match self.read(&self.path).await?.map(|b| Holder::of(&b)) {
            Some(Holder::Run(owner)) if owner == self.owner => {
                self.delete(&self.path).await?;
                self.remove_created_dirs();
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

    /// The directories taking the lock created, while still empty: a run that wrote nothing leaves
    /// nothing behind.
    fn remove_created_dirs(&self) {
        for dir in &self.created_dirs {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        if !std::mem::take(&mut self.held) {
            return;
        }
        match &self.local_file {
            Some(file) => {
                let ours =
                    std::fs::read(file).ok().map(|b| Holder::of(&b)) == Some(Holder::Run(self.owner.clone()));
                if ours && std::fs::remove_file(file).is_ok() {
                    self.remove_created_dirs();
                    info!(lock = %self.shown, "the output's lock released as the run ended");
                }
            }
            None => {
                // An object store is reached through the runtime: released in the background.
                // Not held by the copy: if the runtime drops the task unrun, nothing more happens.
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let lock = self.clone();
                    runtime.spawn(async move {
                        if let Err(e) = lock.release_now().await {
                            warn!(lock = %lock.shown, "could not release the output's lock: {e}");
                        }
                    });
                }
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
            if process::is_zombie(&std::fs::read_to_string(&stat).unwrap()) {
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

    #[tokio::test]
    async fn a_lock_dropped_unreleased_is_released_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let ctx = datafusion::prelude::SessionContext::new();
        let output = Location::resolve(&ctx, out.to_str().unwrap()).unwrap();
        let me = owner("run-1", "here", std::process::id(), &now());
        let lock = acquire(&output, &me, Duration::ZERO).await.unwrap();
        assert!(out.join(".routeflow/lock").exists());
        drop(lock);
        assert!(!out.exists(), "a run that wrote nothing leaves nothing");

        // On an object store, in the background.
        let output = in_memory();
        drop(acquire(&output, &me, Duration::ZERO).await.unwrap());
        for _ in 0..1000 {
            if lock_holder(&output).await.is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(lock_holder(&output).await, None);
    }

    #[tokio::test]
    async fn a_busy_target_s_lock_is_left_to_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = datafusion::prelude::SessionContext::new();
        let output = Location::resolve(&ctx, dir.path().to_str().unwrap()).unwrap();
        let holder = owner("run-1", "here", std::process::id(), &now());
        let held = acquire(&output, &holder, Duration::ZERO).await.unwrap();
        let me = owner("run-2", "here", std::process::id(), &now());
        acquire(&output, &me, Duration::ZERO).await.unwrap_err();
        assert_eq!(lock_holder(&output).await, Some(holder));
        Box::new(held).release().await.unwrap();
    }
}
