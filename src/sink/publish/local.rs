//! File output on local disk: versions published by symlinks. `.routeflow/current` names the
//! published version (`runs/<run_id>`) and is replaced by rename(2), which swaps it in one step;
//! the names readers use, `<output>/MonthlyRoutePlan_temp` and `<output>/run_summary.json`, are
//! symlinks through it made once, so both always resolve to the same run. `.routeflow/previous`
//! names the version published before it, kept for readers that resolved it.
//!
//! Everything here is a few system calls on one directory; the caller runs it off the async
//! threads. The version is flushed to disk before it is published, so a power cut cannot publish
//! files the disk does not hold yet.

use std::fs;
use std::io::{self, ErrorKind};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use super::{CURRENT_LINK, META_DIR, PREVIOUS_LINK, READER_NAMES, RUNS_DIR};
use crate::run::SUMMARY_FILE;
use crate::snapshot::{new_run_id, validate_run_id};
use crate::source::location::Location;

/// The output directory on local disk.
#[derive(Debug, Clone)]
pub(super) struct LocalLayout {
    root: PathBuf,
}

/// What [`LocalLayout::adopt_legacy`] moved aside.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Adopted {
    /// The version directory it is now in.
    pub run_id: String,
    /// Whether it became the published version (there was none yet).
    pub published: bool,
}

impl LocalLayout {
    /// The layout of `output` when it is on local disk.
    pub fn of(output: &Location) -> Option<Self> {
        local_dir(output).map(|root| Self { root })
    }

    #[cfg(test)]
    pub fn at(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    fn meta(&self) -> PathBuf {
        self.root.join(META_DIR)
    }

    fn version(&self, run_id: &str) -> PathBuf {
        self.meta().join(RUNS_DIR).join(run_id)
    }

    /// The published version and the one published before it.
    pub fn published(&self) -> io::Result<(Option<String>, Option<String>)> {
        Ok((
            version_of(&self.meta().join(CURRENT_LINK))?,
            version_of(&self.meta().join(PREVIOUS_LINK))?,
        ))
    }

    /// Publishes the version `run_id` (already written): flushes it to disk, records the version
    /// published until now as `previous`, then swaps `current`. Returns that previous version.
    pub fn switch(&self, run_id: &str) -> io::Result<Option<String>> {
        let version = self.version(run_id);
        sync_tree(&version)?;
        let meta = self.meta();
        let before = version_of(&meta.join(CURRENT_LINK))?;
        // Recorded first: a crash before the swap leaves `previous` equal to `current`, harmless.
        if let Some(before) = before.as_deref().filter(|b| *b != run_id) {
            replace_symlink(&version_target(before), &meta.join(PREVIOUS_LINK))?;
        }
        replace_symlink(&version_target(run_id), &meta.join(CURRENT_LINK))?;
        self.ensure_reader_links()?;
        sync_dir(&meta)?;
        sync_dir(&self.root)?;
        Ok(before)
    }

    /// The layout before versions: a real `MonthlyRoutePlan_temp/` or `run_summary.json` at the
    /// reader's names. Moves them into a version directory of their own and puts the symlinks in
    /// their place; when nothing is published yet, that version becomes the published one, so
    /// readers keep seeing the same output. Between the move and the symlink (an instant) the
    /// names do not exist; readers never see a mix of two runs.
    pub fn adopt_legacy(&self) -> io::Result<Option<Adopted>> {
        let legacy: Vec<&str> = READER_NAMES
            .into_iter()
            .filter(|name| fs::symlink_metadata(self.root.join(name)).is_ok_and(|m| !m.is_symlink()))
            .collect();
        if legacy.is_empty() {
            return Ok(None);
        }
        let run_id = self.legacy_run_id();
        let dir = self.version(&run_id);
        fs::create_dir_all(&dir)?;
        for name in &legacy {
            fs::rename(self.root.join(name), dir.join(name))?;
        }
        let meta = self.meta();
        let published = version_of(&meta.join(CURRENT_LINK))?.is_none();
        if published {
            replace_symlink(&version_target(&run_id), &meta.join(CURRENT_LINK))?;
        }
        self.ensure_reader_links()?;
        sync_dir(&meta)?;
        sync_dir(&self.root)?;
        Ok(Some(Adopted { run_id, published }))
    }

    /// The run id of the legacy output's summary when it has a free one, else a new id.
    fn legacy_run_id(&self) -> String {
        fs::read(self.root.join(SUMMARY_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|summary| summary.get("run_id")?.as_str().map(str::to_string))
            .filter(|id| validate_run_id(id).is_ok() && !self.version(id).exists())
            .unwrap_or_else(new_run_id)
    }

    /// Makes the reader's names the symlinks through `current`, once `current` exists.
    fn ensure_reader_links(&self) -> io::Result<()> {
        for name in READER_NAMES {
            let path = self.root.join(name);
            let target = Path::new(META_DIR).join(CURRENT_LINK).join(name);
            match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == ErrorKind::NotFound => match symlink(&target, &path) {
                    Err(e) if e.kind() != ErrorKind::AlreadyExists => return Err(e),
                    _ => {}
                },
                Err(e) => return Err(e),
                Ok(m) if m.is_symlink() => {
                    if fs::read_link(&path)? != target {
                        replace_symlink(&target, &path)?;
                    }
                }
                Ok(_) => {
                    return Err(io::Error::other(format!(
                        "{} is not the symlink routeflow publishes through",
                        path.display()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Removes every version directory but those in `keep`; returns how many it removed.
    pub fn remove_versions_except(&self, keep: &[&str]) -> io::Result<usize> {
        let entries = match fs::read_dir(self.meta().join(RUNS_DIR)) {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
            entries => entries?,
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry?;
            if keep.iter().any(|k| entry.file_name() == **k) {
                continue;
            }
            if entry.file_type()?.is_dir() {
                fs::remove_dir_all(entry.path())?;
            } else {
                fs::remove_file(entry.path())?;
            }
            removed += 1;
        }
        Ok(removed)
    }
}

/// The directory of `output` when it is on local disk (`file://`), mapped to a path the way
/// object_store's `LocalFileSystem` (rooted at `/`) maps it, so both name the same files.
pub(crate) fn local_dir(output: &Location) -> Option<PathBuf> {
    if output.store_url.as_str() != "file:///" {
        return None;
    }
    let mut url = url::Url::parse("file:///").ok()?;
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(output.prefix.parts());
    url.to_file_path().ok()
}

/// `runs/<run_id>`, as `current` and `previous` name it (relative, so the output can be moved).
fn version_target(run_id: &str) -> PathBuf {
    Path::new(RUNS_DIR).join(run_id)
}

/// The version the symlink `link` names, `None` if there is no such link.
fn version_of(link: &Path) -> io::Result<Option<String>> {
    let target = match fs::read_link(link) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        target => target?,
    };
    let run_id = target
        .strip_prefix(RUNS_DIR)
        .ok()
        .and_then(Path::to_str)
        .filter(|id| validate_run_id(id).is_ok());
    match run_id {
        Some(id) => Ok(Some(id.to_string())),
        None => Err(io::Error::new(
            ErrorKind::InvalidData,
            format!(
                "{} points to {}, not to a version of this output",
                link.display(),
                target.display()
            ),
        )),
    }
}

/// Points `link` at `target` in one step: a new symlink under a temporary name, renamed over it.
fn replace_symlink(target: &Path, link: &Path) -> io::Result<()> {
    let name = link.file_name().and_then(|n| n.to_str()).unwrap_or("link");
    let temporary = link.with_file_name(format!(".{name}.new-{}", std::process::id()));
    match fs::remove_file(&temporary) {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    symlink(target, &temporary)?;
    fs::rename(&temporary, link)
}

/// Flushes every file and directory under `dir` to disk.
fn sync_tree(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        } else {
            fs::File::open(entry.path())?.sync_all()?;
        }
    }
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ROUTE_PLAN;

    const A: &str = "20261130T020000.000Z-00000a";
    const B: &str = "20261201T020000.000Z-00000b";
    const C: &str = "20261202T020000.000Z-00000c";

    /// Writes a version `run_id`: one table file and a summary naming the run.
    fn version(layout: &LocalLayout, run_id: &str) {
        let dir = layout.version(run_id);
        fs::create_dir_all(dir.join(ROUTE_PLAN)).unwrap();
        fs::write(dir.join(ROUTE_PLAN).join("part-00000.parquet"), run_id).unwrap();
        fs::write(dir.join(SUMMARY_FILE), format!(r#"{{"run_id":"{run_id}"}}"#)).unwrap();
    }

    /// The run the reader's names resolve to: (table, summary).
    fn seen(root: &Path) -> (String, String) {
        let table = fs::read_to_string(root.join(ROUTE_PLAN).join("part-00000.parquet")).unwrap();
        let summary: serde_json::Value =
            serde_json::from_slice(&fs::read(root.join(SUMMARY_FILE)).unwrap()).unwrap();
        (table, summary["run_id"].as_str().unwrap().to_string())
    }

    #[test]
    fn switching_moves_both_names_and_records_the_previous_version() {
        let dir = tempfile::tempdir().unwrap();
        let layout = LocalLayout::at(dir.path());
        version(&layout, A);
        assert_eq!(layout.switch(A).unwrap(), None);
        assert_eq!(seen(dir.path()), (A.into(), A.into()));
        version(&layout, B);
        assert_eq!(layout.switch(B).unwrap(), Some(A.into()));
        assert_eq!(seen(dir.path()), (B.into(), B.into()));
        assert_eq!(layout.published().unwrap(), (Some(B.into()), Some(A.into())));
        assert!(
            fs::symlink_metadata(dir.path().join(ROUTE_PLAN))
                .unwrap()
                .is_symlink()
        );
        let leftovers: Vec<_> = fs::read_dir(layout.meta())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".new-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn the_old_layout_is_adopted_as_the_published_version() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join(ROUTE_PLAN)).unwrap();
        fs::write(root.join(ROUTE_PLAN).join("part-00000.parquet"), A).unwrap();
        fs::write(root.join(SUMMARY_FILE), format!(r#"{{"run_id":"{A}"}}"#)).unwrap();
        let layout = LocalLayout::at(root);
        let adopted = layout.adopt_legacy().unwrap();
        assert_eq!(
            adopted,
            Some(Adopted {
                run_id: A.into(),
                published: true
            })
        );
        assert_eq!(seen(root), (A.into(), A.into()), "readers see the same output");
        assert_eq!(layout.adopt_legacy().unwrap(), None, "once");
        version(&layout, B);
        layout.switch(B).unwrap();
        assert_eq!(seen(root), (B.into(), B.into()));
    }

    #[test]
    fn only_the_versions_kept_remain() {
        let dir = tempfile::tempdir().unwrap();
        let layout = LocalLayout::at(dir.path());
        for id in [A, B, C] {
            version(&layout, id);
        }
        assert_eq!(layout.remove_versions_except(&[B, C]).unwrap(), 1);
        assert!(!layout.version(A).exists());
        assert!(layout.version(B).exists() && layout.version(C).exists());
    }

    #[test]
    fn a_link_to_something_else_is_an_error_not_a_version() {
        let dir = tempfile::tempdir().unwrap();
        let layout = LocalLayout::at(dir.path());
        fs::create_dir_all(layout.meta()).unwrap();
        symlink("/etc", layout.meta().join(CURRENT_LINK)).unwrap();
        let e = layout.published().unwrap_err();
        assert!(e.to_string().contains("not to a version"), "{e}");
    }
}
