//! File output published in one step. A run writes into a version directory of its own,
//! `<output>/.routeflow/runs/<run_id>/` (the table and `run_summary.json`), which no reader looks
//! at; publishing then makes that version what readers see, at once:
//!
//! - on local disk, a symlink replaced by rename(2), which the reader's names
//!   (`<output>/MonthlyRoutePlan_temp`, `<output>/run_summary.json`) go through, so both switch
//!   together ([`local`]);
//! - on object stores, which have neither rename nor symlinks, the pointer object
//!   `<output>/.routeflow/CURRENT` ([`Pointer`]), written with one PUT (atomic per object); readers
//!   follow it ([`published_dir`]).
//!
//! The version published before stays, so a reader that resolved it can finish; every other
//! version directory (older versions, what dead runs left) is removed when a run starts writing,
//! with the target's lock held, and after it publishes. Under a dot-prefixed directory, none of
//! it is read by pyarrow or Spark, nor listed by a reader of `<output>/MonthlyRoutePlan_temp/`.

mod local;

use std::time::{SystemTime, UNIX_EPOCH};

use datafusion::error::{DataFusionError, Result};
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::run::SUMMARY_FILE;
use crate::schema::ROUTE_PLAN;
use crate::snapshot::validate_run_id;
use crate::source::location::Location;
use local::LocalLayout;
pub(crate) use local::local_dir;

/// routeflow's own directory under the output: versions, the pointer or symlink, the lock.
pub const META_DIR: &str = ".routeflow";
/// The version directories, one per run, under [`META_DIR`].
pub const RUNS_DIR: &str = "runs";
/// The pointer object naming the published version, on object stores.
pub const POINTER_FILE: &str = "CURRENT";
/// The symlink to the published version, on local disk.
const CURRENT_LINK: &str = "current";
/// The symlink to the version published before it, on local disk.
const PREVIOUS_LINK: &str = "previous";
/// The names readers use, directly under the output.
const READER_NAMES: [&str; 2] = [ROUTE_PLAN, SUMMARY_FILE];

/// The pointer object's content: which version is published (and which was before it, kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pointer {
    pub run_id: String,
    /// The version directory, relative to the output: `.routeflow/runs/<run_id>`.
    pub dir: String,
    /// RFC 3339, UTC.
    pub published_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

/// The published version and the one before it.
#[derive(Debug, Default)]
struct Published {
    current: Option<String>,
    previous: Option<String>,
}

/// The versions of one file output.
#[derive(Debug, Clone)]
pub struct Versions {
    output: Location,
    /// Set on local disk: published by symlinks rather than the pointer.
    local: Option<LocalLayout>,
}

impl Versions {
    pub fn new(output: &Location) -> Self {
        Self {
            output: output.clone(),
            local: LocalLayout::of(output),
        }
    }

    /// The version directory of the run `run_id`.
    pub fn run_dir(&self, run_id: &str) -> Location {
        self.output.subdir(META_DIR).subdir(RUNS_DIR).subdir(run_id)
    }

    /// What is published now; on local disk, what the symlinks name, else the pointer.
    async fn published(&self) -> Result<Published> {
        match &self.local {
            Some(local) => {
                let local = local.clone();
                let (current, previous) = blocking(self.shown(), move || local.published()).await?;
                Ok(Published { current, previous })
            }
            None => Ok(self
                .pointer()
                .await?
                .map(|p| Published {
                    current: Some(p.run_id),
                    previous: p.previous,
                })
                .unwrap_or_default()),
        }
    }

    /// Readies the output for the run `run_id`, which holds its lock: adopts the layout before
    /// versions (local disk) and removes every version but the published one, the one before it
    /// and the run's own.
    pub async fn prepare(&self, run_id: &str) -> Result<()> {
        self.adopt_legacy().await?;
        let published = self.published().await?;
        let keep = [published.current, published.previous, Some(run_id.to_string())];
        self.remove_versions_except(&keep).await;
        Ok(())
    }

    /// Publishes the run `run_id`, whose version directory is complete, in one step; then keeps
    /// only it and the version it replaced.
    pub async fn publish(&self, run_id: &str) -> Result<()> {
        self.adopt_legacy().await?;
        let before = match self.local.clone() {
            Some(local) => {
                let id = run_id.to_string();
                blocking(self.shown(), move || local.switch(&id)).await?
            }
            None => self.switch_pointer(run_id).await?,
        };
        info!(output = %self.output.display, version = run_id, replaced = ?before, "version published");
        self.remove_versions_except(&[Some(run_id.to_string()), before])
            .await;
        Ok(())
    }

    /// On local disk, moves the layout before versions into a version of its own, once.
    async fn adopt_legacy(&self) -> Result<()> {
        let Some(local) = self.local.clone() else {
            return Ok(());
        };
        if let Some(adopted) = blocking(self.shown(), move || local.adopt_legacy()).await? {
            info!(
                output = %self.output.display,
                version = %adopted.run_id,
                published = adopted.published,
                "the output's old layout (a real MonthlyRoutePlan_temp/ and run_summary.json) moved \
                 into .routeflow/runs/; readers now go through symlinks to the published version"
            );
        }
        Ok(())
    }

    /// The pointer, if there is one; an unreadable one is an error naming it.
    pub async fn pointer(&self) -> Result<Option<Pointer>> {
        let path = self.output.subdir(META_DIR).child(POINTER_FILE);
        let bytes = match self.output.store.get(&path).await {
            Ok(get) => get.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let pointer: Pointer = serde_json::from_slice(&bytes).map_err(|e| {
            crate::error::bad_input(format!("{}: not a routeflow pointer: {e}", self.shown_pointer()))
        })?;
        let ids = std::iter::once(&pointer.run_id).chain(&pointer.previous);
        for id in ids {
            validate_run_id(id).map_err(|e| DataFusionError::Context(self.shown_pointer(), Box::new(e)))?;
        }
        Ok(Some(pointer))
    }

    /// Replaces the pointer with one naming `run_id` (one PUT); returns the version it named.
    async fn switch_pointer(&self, run_id: &str) -> Result<Option<String>> {
        let before = self.pointer().await?;
        let previous = match &before {
            Some(b) if b.run_id == run_id => b.previous.clone(),
            Some(b) => Some(b.run_id.clone()),
            None => None,
        };
        let pointer = Pointer {
            run_id: run_id.to_string(),
            dir: format!("{META_DIR}/{RUNS_DIR}/{run_id}"),
            published_at: crate::summary::utc_rfc3339(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
            ),
            previous,
        };
        let json = serde_json::to_vec_pretty(&pointer).map_err(|e| DataFusionError::External(Box::new(e)))?;
        let path = self.output.subdir(META_DIR).child(POINTER_FILE);
        self.output.store.put(&path, PutPayload::from(json)).await?;
        self.remove_legacy_objects().await;
        Ok(before.map(|b| b.run_id).filter(|b| b != run_id))
    }

    /// Once the pointer is published, the old layout's table and summary at the reader's names
    /// would only mislead (routeflow's readers follow the pointer): they are deleted.
    async fn remove_legacy_objects(&self) {
        let store = &self.output.store;
        let summary = self.output.child(SUMMARY_FILE);
        let mut legacy: Vec<_> = match store
            .list(Some(&self.output.child(ROUTE_PLAN)))
            .try_collect::<Vec<_>>()
            .await
        {
            Ok(files) => files.into_iter().map(|m| m.location).collect(),
            Err(e) => return warn!(output = %self.output.display, "could not list the old layout: {e}"),
        };
        if store.head(&summary).await.is_ok() {
            legacy.push(summary);
        }
        if legacy.is_empty() {
            return;
        }
        let count = legacy.len();
        let paths = futures::stream::iter(legacy.into_iter().map(Ok)).boxed();
        match store.delete_stream(paths).try_collect::<Vec<_>>().await {
            Ok(_) => info!(
                output = %self.output.display,
                objects = count,
                "removed the old layout's MonthlyRoutePlan_temp/ and run_summary.json: readers follow \
                 .routeflow/CURRENT"
            ),
            Err(e) => warn!(output = %self.output.display, "could not remove the old layout: {e}"),
        }
    }

    /// Removes every version directory not in `keep`. A failure is logged, not fatal: it costs
    /// space, and the next run tries again.
    async fn remove_versions_except(&self, keep: &[Option<String>]) {
        let keep: Vec<String> = keep.iter().flatten().cloned().collect();
        let removed = match self.local.clone() {
            Some(local) => {
                blocking(self.shown(), move || {
                    let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
                    local.remove_versions_except(&keep)
                })
                .await
            }
            None => self.remove_stored_versions_except(&keep).await,
        };
        match removed {
            Ok(0) => {}
            Ok(n) => {
                info!(output = %self.output.display, removed = n, "old versions and dead runs' leftovers removed")
            }
            Err(e) => warn!(output = %self.output.display, "could not remove old versions: {e}"),
        }
    }

    async fn remove_stored_versions_except(&self, keep: &[String]) -> Result<usize> {
        let store: &dyn ObjectStore = self.output.store.as_ref();
        let runs = self.output.subdir(META_DIR).child(RUNS_DIR);
        let listing = store.list_with_delimiter(Some(&runs)).await?;
        let mut removed = 0;
        for dir in listing.common_prefixes {
            if dir.filename().is_some_and(|name| keep.iter().any(|k| k == name)) {
                continue;
            }
            let files = store.list(Some(&dir)).map_ok(|m| m.location).boxed();
            store.delete_stream(files).try_collect::<Vec<_>>().await?;
            removed += 1;
        }
        Ok(removed)
    }

    fn shown(&self) -> String {
        format!("{}/{META_DIR}", self.output.display.trim_end_matches('/'))
    }

    fn shown_pointer(&self) -> String {
        format!("{}/{POINTER_FILE}", self.shown())
    }
}

/// The directory holding the published output of the file output `output`, for its readers: the
/// version the symlink (local disk) or the pointer (object stores) names, or `output` itself when
/// it has no versions (written before they existed). The table and `run_summary.json` read from
/// it belong to the same run, even if another run publishes meanwhile.
pub async fn published_dir(output: &Location) -> Result<Location> {
    let versions = Versions::new(output);
    Ok(match versions.published().await?.current {
        Some(run_id) => versions.run_dir(&run_id),
        None => output.clone(),
    })
}

/// Runs the file system work `work` off the async threads; its errors name `what`.
async fn blocking<T: Send + 'static>(
    what: String,
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DataFusionError::Execution(format!("{what}: {e}")))?
        .map_err(|e| DataFusionError::Context(what, Box::new(DataFusionError::IoError(e))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use object_store::memory::InMemory;

    const A: &str = "20261130T020000.000Z-00000a";
    const B: &str = "20261201T020000.000Z-00000b";
    const C: &str = "20261202T020000.000Z-00000c";
    const DEAD: &str = "20261202T010000.000Z-0000dd";

    fn in_memory() -> Location {
        let ctx = datafusion::prelude::SessionContext::new();
        let url = url::Url::parse("memory://versions").unwrap();
        ctx.register_object_store(&url, Arc::new(InMemory::new()));
        Location::resolve(&ctx, "memory://versions/out").unwrap()
    }

    /// Writes the version `run_id`: a table file and a summary.
    async fn write_version(versions: &Versions, run_id: &str) {
        let dir = versions.run_dir(run_id);
        for name in [
            format!("{ROUTE_PLAN}/part-00000.parquet"),
            SUMMARY_FILE.to_string(),
        ] {
            let path = crate::sink::parquet::child_path(&dir.prefix, &name).unwrap();
            dir.store
                .put(&path, run_id.as_bytes().to_vec().into())
                .await
                .unwrap();
        }
    }

    async fn version_dirs(output: &Location) -> Vec<String> {
        let runs = output.subdir(META_DIR).child(RUNS_DIR);
        let listing = output.store.list_with_delimiter(Some(&runs)).await.unwrap();
        let mut names: Vec<String> = listing
            .common_prefixes
            .iter()
            .map(|p| p.filename().unwrap().to_string())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn the_pointer_names_the_published_version_and_keeps_the_one_before() {
        let output = in_memory();
        let versions = Versions::new(&output);
        assert!(versions.local.is_none());
        assert_eq!(
            published_dir(&output).await.unwrap().prefix,
            output.prefix,
            "no versions yet"
        );
        for id in [A, B] {
            versions.prepare(id).await.unwrap();
            write_version(&versions, id).await;
            versions.publish(id).await.unwrap();
        }
        assert_eq!(
            published_dir(&output).await.unwrap().prefix,
            versions.run_dir(B).prefix
        );
        let pointer = versions.pointer().await.unwrap().unwrap();
        assert_eq!(pointer.run_id, B);
        assert_eq!(pointer.dir, format!(".routeflow/runs/{B}"));
        assert_eq!(pointer.previous.as_deref(), Some(A));

        // A dead run's leftover and a run in progress: the leftover goes when the run prepares,
        // never published; the published version and the one before it stay.
        write_version(&versions, DEAD).await;
        versions.prepare(C).await.unwrap();
        assert_eq!(version_dirs(&output).await, [A, B]);
        write_version(&versions, C).await;
        versions.publish(C).await.unwrap();
        assert_eq!(version_dirs(&output).await, [B, C], "the oldest version removed");
        assert_eq!(
            published_dir(&output).await.unwrap().prefix,
            versions.run_dir(C).prefix
        );
    }

    #[tokio::test]
    async fn the_old_layout_on_an_object_store_is_removed_once_the_pointer_is_published() {
        let output = in_memory();
        let old = output.child(ROUTE_PLAN).join("part-00000.parquet");
        output.store.put(&old, vec![1u8].into()).await.unwrap();
        output
            .store
            .put(&output.child(SUMMARY_FILE), vec![1u8].into())
            .await
            .unwrap();
        let versions = Versions::new(&output);
        assert_eq!(
            published_dir(&output).await.unwrap().prefix,
            output.prefix,
            "read in place"
        );
        versions.prepare(A).await.unwrap();
        write_version(&versions, A).await;
        versions.publish(A).await.unwrap();
        assert!(output.store.head(&old).await.is_err());
        assert!(output.store.head(&output.child(SUMMARY_FILE)).await.is_err());
        assert_eq!(
            published_dir(&output).await.unwrap().prefix,
            versions.run_dir(A).prefix
        );
    }

    #[tokio::test]
    async fn an_unreadable_pointer_is_an_error_naming_it() {
        let output = in_memory();
        let path = output.subdir(META_DIR).child(POINTER_FILE);
        output
            .store
            .put(&path, b"{\"run_id\":\"../x\"".to_vec().into())
            .await
            .unwrap();
        let e = published_dir(&output).await.unwrap_err().to_string();
        assert!(e.contains(".routeflow/CURRENT"), "{e}");
    }
}
