//! Writing a run's snapshot: the inputs as read, the output as written, a per-route summary, each file
//! hashed. The caller writes the manifest last ([`write_manifest`]), which is what makes it complete.

use std::sync::Arc;

use datafusion::common::TableReference;
use datafusion::dataframe::DataFrame;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::ident;
use datafusion::prelude::SessionContext;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStoreExt, PutPayload};
use tokio::task::JoinSet;

use super::manifest::{self, FileEntry, MANIFEST_FILE, Manifest, Role, TableEntry};
use super::store::hash_object;
use crate::names::{DISTRIBUTOR_ID, ROUTE_KEY, view};
use crate::schema::{self, ROUTE_PLAN, SOURCE_ORDINAL};
use crate::sink::parquet::{ParquetDatasetSink, child_path};
use crate::source::file::FileTable;
use crate::source::location::Location;

/// The column the output is Hive-partitioned by.
pub const PARTITION_COLUMN: &str = DISTRIBUTOR_ID;
/// The per-route view of `plans/` stored next to the output.
pub const ROUTE_SUMMARY: &str = view::ROUTE_SUMMARY;

/// Writes every table of the snapshot of a finished run into `run` and returns their manifest entries.
/// `ctx` holds the run's (filtered) sources and plan; `output` is where the run wrote its result.
pub async fn write_tables(
    ctx: &SessionContext,
    run: &Location,
    output: Option<&Location>,
    concurrency: usize,
) -> Result<Vec<TableEntry>> {
    // What to write: (data, directory, table name, role, partition column).
    let mut jobs: Vec<(DataFrame, Location, &'static str, Role, Option<&'static str>)> = Vec::new();
    let inputs = run.subdir(Role::Input.dir());
    for name in schema::INPUT_TABLES {
        let df = ctx.table(TableReference::bare(name)).await?;
        // Plan rows by route, source order kept within a route: a replay gives the same output.
        let df = if name == ROUTE_PLAN {
            sort_by_route(df, true)?
        } else {
            df
        };
        let df = df.drop_columns(&[SOURCE_ORDINAL])?;
        jobs.push((df, inputs.clone(), name, Role::Input, None));
    }

    // The output exactly as the sink wrote it, read back in file order (it is sorted by route);
    // for a database output, the table the sink was given (a database holds other rows too).
    let outputs = run.subdir(Role::Output.dir());
    let df = match output {
        Some(output) => {
            let written = FileTable::open(output, ROUTE_PLAN).await?;
            ctx.read_table(Arc::new(written))?
                .drop_columns(&[SOURCE_ORDINAL])?
        }
        None => ctx.table(view::ROUTE_PLAN).await?,
    };
    jobs.push((
        df,
        outputs.clone(),
        ROUTE_PLAN,
        Role::Output,
        Some(PARTITION_COLUMN),
    ));

    let df = sort_by_route(ctx.table(ROUTE_SUMMARY).await?, false)?;
    jobs.push((df, outputs, ROUTE_SUMMARY, Role::Output, None));

    // Each table is written by a task of its own: one table's write is mostly one stream (read,
    // sort, encode), so writing them one after another left a core idle for much of the snapshot.
    // A JoinSet aborts the others when one fails and this returns.
    let mut tasks = JoinSet::new();
    for (started, (df, dir, name, role, partition_by)) in jobs.into_iter().enumerate() {
        let ctx = ctx.clone();
        tasks.spawn(async move {
            let table = write_table(&ctx, df, &dir, name, role, partition_by, concurrency).await?;
            Ok::<_, DataFusionError>((started, table))
        });
    }
    // In the order the jobs were listed, so the manifest lists the tables in a fixed order.
    let mut tables = Vec::with_capacity(tasks.len());
    while let Some(done) = tasks.join_next().await {
        tables.push(
            done.map_err(|e| DataFusionError::Execution(format!("snapshot writer task failed: {e}")))??,
        );
    }
    tables.sort_by_key(|(started, _)| *started);
    Ok(tables.into_iter().map(|(_, table)| table).collect())
}

/// `df` sorted by route key (NULLs last), the sort order of every table that has it, then by source
/// order when asked.
fn sort_by_route(df: DataFrame, then_source_order: bool) -> Result<DataFrame> {
    let mut keys: Vec<_> = ROUTE_KEY.iter().map(|k| ident(*k).sort(true, false)).collect();
    if then_source_order {
        keys.push(ident(SOURCE_ORDINAL).sort(true, false));
    }
    df.sort(keys)
}

/// Writes one table through the Parquet sink and hashes its files.
async fn write_table(
    ctx: &SessionContext,
    df: DataFrame,
    dir: &Location,
    name: &str,
    role: Role,
    partition_by: Option<&str>,
    concurrency: usize,
) -> Result<TableEntry> {
    let mut sink = ParquetDatasetSink::new(dir, name, df.schema().inner().clone(), concurrency);
    if let Some(column) = partition_by {
        sink = sink.with_partition_column(column)?;
    }
    let rows =
        datafusion::datasource::sink::DataSink::write_all(&sink, df.execute_stream().await?, &ctx.task_ctx())
            .await?;
    let table_dir = dir.child(name);
    let files: Vec<FileEntry> = futures::stream::iter(sink.written_files())
        .map(|file| {
            let store = Arc::clone(&dir.store);
            let path = child_path(&table_dir, &file.path);
            async move {
                let (bytes, sha256) = hash_object(store.as_ref(), &path?).await?;
                Ok::<_, DataFusionError>(FileEntry {
                    path: file.path,
                    rows: file.rows,
                    bytes,
                    sha256,
                })
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(TableEntry {
        name: name.to_string(),
        role,
        path: format!("{}/{name}", role.dir()),
        partition_by: partition_by.map(str::to_string),
        rows,
        sha256: manifest::content_hash(&files),
        files,
    })
}

/// Writes `manifest.json`, the last file of a snapshot.
pub async fn write_manifest(run: &Location, manifest: &Manifest) -> Result<()> {
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| DataFusionError::External(Box::new(e)))?;
    run.store
        .put(&run.child(MANIFEST_FILE), PutPayload::from(json))
        .await?;
    Ok(())
}
