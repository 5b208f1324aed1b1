//! A batch run's single read of a live database: each table is streamed once into Parquet files in
//! a temporary folder, and every later scan, the summary and the snapshot read those files.
//!
//! A database may change between two scans (and an in-place write changes the plan table itself),
//! so a run must not read it twice. Holding the rows in memory did that too, but as raw copies of
//! every table (1.1 GiB for a national month); files keep the run's memory what the plan needs,
//! as on the file path. The folder is removed when the run ends.

use std::path::Path;
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::common::config::TableParquetOptions;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use tracing::debug;

/// Rows per Parquet row group: small enough that a writer buffers a few MiB, not a whole table.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// The temporary folder of one run's reads; removed on drop.
#[derive(Debug)]
pub struct ReadOnce {
    dir: tempfile::TempDir,
}

impl ReadOnce {
    /// A new folder under the system's temporary directory (`TMPDIR`).
    pub fn new() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("routeflow-read-")
            .tempdir()
            .map_err(|e| {
                DataFusionError::Execution(format!("cannot create a temporary folder for the read: {e}"))
            })?;
        Ok(Self { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Reads `provider` to its end into `<folder>/<table>/` and returns a table over those files,
    /// with the same schema (ordinal column included, so source order is kept).
    pub async fn spill(
        &self,
        ctx: &SessionContext,
        table: &str,
        provider: Arc<dyn TableProvider>,
    ) -> Result<Arc<dyn TableProvider>> {
        let schema = provider.schema();
        let dir = self.dir.path().join(table);
        std::fs::create_dir_all(&dir)?;
        let path = dir.to_str().ok_or_else(|| {
            DataFusionError::Execution(format!("temporary folder {} is not UTF-8", dir.display()))
        })?;
        let mut options = TableParquetOptions::default();
        // Written once and read back at once on this machine: speed over size.
        options.global.compression = Some("lz4_raw".into());
        options.global.max_row_group_size = ROW_GROUP_ROWS;
        ctx.read_table(provider)?
            .write_parquet(&format!("{path}/"), DataFrameWriteOptions::new(), Some(options))
            .await?;
        debug!(table, folder = %dir.display(), "table read once into temporary files");
        let url = ListingTableUrl::parse(format!("{path}/"))?;
        let listing = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new(url)
            .with_listing_options(listing)
            .with_schema(schema);
        Ok(Arc::new(ListingTable::try_new(config)?))
    }
}
