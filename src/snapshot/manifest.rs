//! `manifest.json`: what a snapshot holds and how to check it. It is written last, so a run directory
//! without one is an incomplete snapshot, never mistaken for a finished one.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const MANIFEST_FILE: &str = "manifest.json";
/// Bumped when the layout or manifest changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub routeflow_version: String,
    /// The run's effective configuration, secrets redacted.
    pub config: serde_json::Value,
    pub tables: Vec<TableEntry>,
    /// The run's figures, as in `run_summary.json`.
    pub summary: serde_json::Value,
    /// What the sink did, partition by partition.
    pub sink: SinkReport,
}

impl Manifest {
    pub fn table(&self, role: Role, name: &str) -> Option<&TableEntry> {
        self.tables.iter().find(|t| t.role == role && t.name == name)
    }
}

/// Whether a table is what the run read or what it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Input,
    Output,
}

impl Role {
    /// The directory of the run holding tables of this role, and the SQL schema they appear under.
    pub fn dir(self) -> &'static str {
        match self {
            Role::Input => "input",
            Role::Output => "output",
        }
    }
}

/// One table of the snapshot: a Parquet dataset directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableEntry {
    pub name: String,
    pub role: Role,
    /// Directory relative to the run directory (`input/customer`).
    pub path: String,
    /// Hive partition column, if the table is partitioned.
    pub partition_by: Option<String>,
    pub rows: u64,
    /// The table's content hash: see [`content_hash`].
    pub sha256: String,
    pub files: Vec<FileEntry>,
}

/// One Parquet file of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the table directory, as stored (`DistributorID=D001/part-00000.parquet`).
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// What the sink reported for each partition it wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SinkReport {
    /// `parquet` for the file sink.
    pub kind: String,
    /// Where the result table went (redacted).
    pub target: String,
    pub partitions: Vec<PartitionOutcome>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionOutcome {
    pub partition: String,
    /// `written` or `failed`.
    pub status: String,
    pub rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// SHA-256 over a table's files: one line `path<TAB>sha256<LF>` per file, in path order. It changes
/// when any file's bytes change, or a file is added, removed or renamed.
pub fn content_hash(files: &[FileEntry]) -> String {
    let mut sorted: Vec<&FileEntry> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut hasher = Sha256::new();
    for file in sorted {
        hasher.update(file.path.as_bytes());
        hasher.update(b"\t");
        hasher.update(file.sha256.as_bytes());
        hasher.update(b"\n");
    }
    hex(&hasher.finalize())
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, sha: &str) -> FileEntry {
        FileEntry {
            path: path.into(),
            rows: 1,
            bytes: 1,
            sha256: sha.into(),
        }
    }

    #[test]
    fn content_hash_ignores_listing_order_but_not_content_or_names() {
        let a = content_hash(&[file("p0", "aa"), file("p1", "bb")]);
        assert_eq!(a, content_hash(&[file("p1", "bb"), file("p0", "aa")]));
        assert_ne!(a, content_hash(&[file("p0", "aa"), file("p1", "bc")]));
        assert_ne!(a, content_hash(&[file("p0", "aa"), file("p2", "bb")]));
        assert_ne!(a, content_hash(&[file("p0", "aa")]));
        assert_eq!(a.len(), 64);
    }
}
