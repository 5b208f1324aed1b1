//! Reading a snapshot directory: list runs, load manifests, verify files, and register a run's tables
//! on a session for SQL.

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::catalog::MemorySchemaProvider;
use datafusion::common::{ScalarValue, TableReference};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, ident, lit, when};
use datafusion::prelude::SessionContext;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};

use super::manifest::{self, MANIFEST_FILE, Manifest, Role, TableEntry};
use super::{RUN_DIR_PREFIX, validate_run_id};
use crate::sink::parquet::{NULL_PARTITION, child_path};
use crate::source::location::Location;

/// A directory of snapshots (`--snapshot-dir`).
#[derive(Debug, Clone)]
pub struct SnapshotDir {
    pub location: Location,
}

/// One run found in the directory.
#[derive(Debug, Clone)]
pub struct Listing {
    pub run_id: String,
    /// `None`: the run never finished writing its snapshot.
    pub manifest: Option<Manifest>,
}

/// What `verify` found.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    pub files_checked: usize,
    /// One line per problem: a changed, missing or unexpected file, or a table hash that does not match.
    pub problems: Vec<String>,
}

impl SnapshotDir {
    pub fn new(location: Location) -> Self {
        Self { location }
    }

    /// The directory of one run.
    pub fn run(&self, run_id: &str) -> Result<Location> {
        validate_run_id(run_id)?;
        Ok(self.location.subdir(&format!("{RUN_DIR_PREFIX}{run_id}")))
    }

    /// Every run in the directory, oldest first, finished or not.
    pub async fn list(&self) -> Result<Vec<Listing>> {
        let listing = self
            .location
            .store
            .list_with_delimiter(Some(&self.location.prefix))
            .await?;
        let mut ids: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename()?.strip_prefix(RUN_DIR_PREFIX).map(str::to_string))
            .filter(|id| validate_run_id(id).is_ok())
            .collect();
        ids.sort();
        let mut runs = Vec::with_capacity(ids.len());
        for run_id in ids {
            let manifest = self.read_manifest(&run_id).await?;
            runs.push(Listing { run_id, manifest });
        }
        Ok(runs)
    }

    async fn read_manifest(&self, run_id: &str) -> Result<Option<Manifest>> {
        let path = self.run(run_id)?.child(MANIFEST_FILE);
        let bytes = match self.location.store.get(&path).await {
            Ok(get) => get.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| DataFusionError::Execution(format!("{path}: not a valid manifest: {e}")))
    }

    /// The manifest of a finished run; a clear error for an unknown or unfinished one.
    pub async fn manifest(&self, run_id: &str) -> Result<Manifest> {
        match self.read_manifest(run_id).await? {
            Some(m) => Ok(m),
            None => {
                let exists = self.list().await?.iter().any(|r| r.run_id == run_id);
                Err(crate::error::bad_input(if exists {
                    format!(
                        "snapshot {run_id} in {} is incomplete (no {MANIFEST_FILE}): its run did not finish",
                        self.location.display
                    )
                } else {
                    format!("no snapshot {run_id} in {}", self.location.display)
                }))
            }
        }
    }

    /// Recomputes every file's hash and compares files and table hashes with the manifest.
    pub async fn verify(&self, run_id: &str, concurrency: usize) -> Result<Verification> {
        let manifest = self.manifest(run_id).await?;
        let run = self.run(run_id)?;
        let mut result = Verification::default();
        let mut expected = vec![run.child(MANIFEST_FILE)];
        for table in &manifest.tables {
            let dir = table_dir(&run, table);
            let checks = futures::stream::iter(table.files.iter().map(|file| {
                let store = Arc::clone(&run.store);
                let dir = dir.clone();
                async move {
                    let path = child_path(&dir, &file.path)?;
                    let found = match hash_object(store.as_ref(), &path).await {
                        Ok(found) => Some(found),
                        Err(DataFusionError::ObjectStore(e))
                            if matches!(*e, object_store::Error::NotFound { .. }) =>
                        {
                            None
                        }
                        Err(e) => return Err(e),
                    };
                    Ok::<_, DataFusionError>((path, file, found))
                }
            }))
            .buffer_unordered(concurrency.max(1))
            .try_collect::<Vec<_>>()
            .await?;
            for (path, file, found) in checks {
                result.files_checked += 1;
                match found {
                    None => result.problems.push(format!("missing: {path}")),
                    Some((bytes, sha)) if bytes != file.bytes || sha != file.sha256 => {
                        result.problems.push(format!(
                            "changed: {path} (now {bytes} bytes, sha256 {sha}; manifest {} bytes, {})",
                            file.bytes, file.sha256
                        ))
                    }
                    Some(_) => {}
                }
                expected.push(path);
            }
            if manifest::content_hash(&table.files) != table.sha256 {
                result.problems.push(format!(
                    "table {}: its hash does not match its files in the manifest",
                    table.path
                ));
            }
        }
        let present: Vec<Path> = run
            .store
            .list(Some(&run.prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await?;
        for path in present {
            if !expected.contains(&path) {
                result.problems.push(format!("unexpected: {path}"));
            }
        }
        Ok(result)
    }

    /// One table of a finished run, read as the run wrote it; `None` when the run has no such table.
    /// The session only lends its object stores and configuration: the provider stands alone.
    pub async fn table(
        &self,
        ctx: &SessionContext,
        run_id: &str,
        role: Role,
        name: &str,
    ) -> Result<Option<Arc<dyn datafusion::catalog::TableProvider>>> {
        let manifest = self.manifest(run_id).await?;
        let Some(entry) = manifest.tables.iter().find(|t| t.role == role && t.name == name) else {
            return Ok(None);
        };
        let run = self.run(run_id)?;
        self.register_store(ctx, &run)?;
        listing_table(ctx, &run, entry).await.map(Some)
    }

    /// Lets `ctx` read the run's files.
    fn register_store(&self, ctx: &SessionContext, run: &Location) -> Result<()> {
        let url = url::Url::parse(run.store_url.as_str())
            .map_err(|e| DataFusionError::Internal(format!("store URL {}: {e}", run.store_url.as_str())))?;
        ctx.register_object_store(&url, Arc::clone(&run.store));
        Ok(())
    }

    /// Registers the tables of a finished run on `ctx`: inputs under the schema `<prefix>input`, outputs
    /// under `<prefix>output` (e.g. `snapshot_output."MonthlyRoutePlan_temp"`).
    pub async fn register(&self, ctx: &SessionContext, run_id: &str, prefix: &str) -> Result<Manifest> {
        let manifest = self.manifest(run_id).await?;
        let run = self.run(run_id)?;
        self.register_store(ctx, &run)?;
        let catalog = ctx
            .catalog("datafusion")
            .ok_or_else(|| DataFusionError::Internal("no default catalog".into()))?;
        for role in [Role::Input, Role::Output] {
            let schema = format!("{prefix}{}", role.dir());
            catalog.register_schema(&schema, Arc::new(MemorySchemaProvider::new()))?;
            for table in manifest.tables.iter().filter(|t| t.role == role) {
                let provider = listing_table(ctx, &run, table).await?;
                ctx.register_table(
                    TableReference::partial(schema.as_str(), table.name.as_str()),
                    provider,
                )?;
            }
        }
        Ok(manifest)
    }
}

/// The directory of `table` in `run`.
fn table_dir(run: &Location, table: &TableEntry) -> Path {
    table
        .path
        .split('/')
        .fold(run.prefix.clone(), |p, part| p.join(part))
}

/// A snapshot table as DataFusion reads it. A Hive partition column reads back as text with the
/// default-partition directory as NULL; filters on it still prune whole directories.
async fn listing_table(
    ctx: &SessionContext,
    run: &Location,
    table: &TableEntry,
) -> Result<Arc<dyn datafusion::catalog::TableProvider>> {
    let url = ListingTableUrl::parse(run.url_of(&table_dir(run, table)))?;
    let mut options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    if let Some(column) = &table.partition_by {
        options = options.with_table_partition_cols(vec![(column.clone(), DataType::Utf8)]);
    }
    let schema = options.infer_schema(&ctx.state(), &url).await?;
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(schema);
    let listing = Arc::new(ListingTable::try_new(config)?);
    let Some(column) = &table.partition_by else {
        return Ok(listing);
    };
    let df = ctx.read_table(listing)?;
    let columns: Vec<Expr> = df
        .schema()
        .fields()
        .iter()
        .map(|f| {
            if f.name() == column {
                when(
                    ident(column).eq(lit(NULL_PARTITION)),
                    lit(ScalarValue::Utf8(None)),
                )
                .otherwise(ident(column))
                .map(|e| e.alias(column))
            } else {
                Ok(ident(f.name()))
            }
        })
        .collect::<Result<_>>()?;
    Ok(df.select(columns)?.into_view())
}

/// The size and SHA-256 (hex) of one object, streamed.
pub async fn hash_object(store: &dyn ObjectStore, path: &Path) -> Result<(u64, String)> {
    let mut stream = store.get(path).await?.into_stream();
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        bytes += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((bytes, manifest::hex(&hasher.finalize())))
}
