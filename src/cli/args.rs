//! Argument groups several subcommands share: the input, SQL Server access and writing, the
//! plan options, and the snapshot directory.

use clap::Args;
use datafusion::error::DataFusionError;
use routeflow::plan::PlanOptions;
use routeflow::plan::sequence::SequenceMode;
use routeflow::run;
use routeflow::sink::mssql::WriteMode;
use routeflow::summary::Filters;

#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Directory or URL holding the five tables (<Table>.parquet, <Table>.csv or <Table>/), or
    /// `mssql` for SQL Server (see --mssql).
    #[arg(long, default_value = "fixtures/small")]
    pub input: String,
    /// Only these distributors (repeatable).
    #[arg(long = "distributor-id", value_name = "ID")]
    pub distributor_ids: Vec<String>,
    /// Only the first N routes in (DistributorID, AgentID, RouteDate) order.
    #[arg(long, value_name = "N")]
    pub limit_routes: Option<usize>,
    /// Parallel partitions (default: number of cores); also the SQL Server connection pool size.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    #[command(flatten, next_help_heading = "SQL Server")]
    pub mssql: MssqlArgs,
}

impl InputArgs {
    /// The rows to read: the distributors and the route limit.
    pub fn filters(&self) -> Filters {
        Filters {
            distributor_ids: self.distributor_ids.clone(),
            limit_routes: self.limit_routes,
        }
    }
}

/// Reaching SQL Server when an input or output is `mssql`.
#[derive(Args, Debug, Clone)]
pub struct MssqlArgs {
    /// ADO.NET connection string (Server=tcp:host,1433;Database=…;User Id=…;Password=…;Encrypt=true).
    /// Prefer the ROUTEFLOW_MSSQL environment variable: a flag shows in the process list.
    #[arg(long, value_name = "CONNECTION_STRING", hide_env_values = true)]
    pub mssql: Option<String>,
    /// Seconds to open a connection (TCP and login).
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0)]
    pub mssql_connect_timeout: f64,
    /// Seconds to wait for the server within one answer before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    pub mssql_query_timeout: f64,
    /// Rows per Arrow batch read from SQL Server.
    #[arg(long, value_name = "ROWS", default_value_t = 8192)]
    pub mssql_batch_rows: usize,
}

impl MssqlArgs {
    pub fn options(&self) -> run::MssqlRunOptions {
        run::MssqlRunOptions {
            connection_string: self.mssql.clone(),
            connect_timeout_s: self.mssql_connect_timeout,
            query_timeout_s: self.mssql_query_timeout,
            batch_rows: self.mssql_batch_rows,
            ..Default::default()
        }
    }
}

/// Writing to SQL Server (`--output mssql`).
#[derive(Args, Debug, Clone)]
pub struct WriteArgs {
    /// `in-place`: update StopNo/custype of the plan table and insert the added prospects;
    /// `table NAME`: write the whole result into NAME, created or atomically replaced.
    #[arg(long, num_args = 1..=2, value_names = ["MODE", "NAME"], default_values_t = ["in-place".to_string()])]
    pub write: Vec<String>,
    /// Fail instead of truncating values longer than their SQL Server column (rule 8).
    #[arg(long)]
    pub strict_widths: bool,
    /// Retries of a partition after a transient error (deadlock, lost connection, timeout).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// Milliseconds before the first retry; doubled for each further one.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub retry_backoff_ms: u64,
}

impl WriteArgs {
    pub fn mode(&self) -> Result<WriteMode, DataFusionError> {
        match self
            .write
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["in-place"] => Ok(WriteMode::InPlace),
            ["table", name] => Ok(WriteMode::Table(name.to_string())),
            other => Err(routeflow::error::bad_input(format!(
                "--write takes `in-place` or `table NAME`, not `{}`",
                other.join(" ")
            ))),
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
    /// Depot latitude for every route (overrides distributors; needs --start-lon).
    #[arg(long, requires = "start_lon", allow_hyphen_values = true)]
    pub start_lat: Option<f64>,
    /// Depot longitude for every route (needs --start-lat).
    #[arg(long, requires = "start_lat", allow_hyphen_values = true)]
    pub start_lon: Option<f64>,
    /// Routes with fewer distinct stops are topped up with prospects to this many.
    #[arg(long, default_value_t = 60)]
    pub target_stops: u32,
    /// Radius of the second top-up stage around the route centroid, in km.
    #[arg(long, default_value_t = 5.0)]
    pub max_distance_km: f64,
    /// StopNo of stops without coordinates (at least N + 1).
    #[arg(long, default_value_t = 100)]
    pub no_coords_stop: i32,
    /// Path construction.
    #[arg(long, value_enum, default_value_t = SequenceMode::Improved)]
    pub sequence: SequenceMode,
}

impl PlanArgs {
    pub fn options(&self) -> PlanOptions {
        PlanOptions {
            target_stops: self.target_stops,
            max_distance_km: self.max_distance_km,
            no_coords_stop: self.no_coords_stop,
            start: self.start_lat.zip(self.start_lon),
            sequence: self.sequence,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct SnapshotDirArg {
    /// Directory or URL holding the snapshots.
    #[arg(long = "snapshot-dir", value_name = "URL", default_value = "out/snapshots")]
    pub dir: String,
}

/// What the analysts' catalog holds, for `sql` and `serve` alike: the input, the plan options and
/// the snapshots.
#[derive(Args, Debug, Clone)]
pub struct CatalogArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Also query this snapshot's tables (`latest`: the last finished run, when the catalog is
    /// built), as snapshot_input.<Table> and snapshot_output.<Table>. Any run is also reachable by
    /// name: "snapshot_output@<RUN_ID>".<Table>; routeflow.snapshots lists them.
    #[arg(long, value_name = "RUN_ID")]
    pub snapshot: Option<String>,
    #[command(flatten)]
    pub snapshot_dir: SnapshotDirArg,
}

impl CatalogArgs {
    pub fn config(&self) -> routeflow::sql::CatalogConfig {
        routeflow::sql::CatalogConfig {
            input: self.input.input.clone(),
            filters: self.input.filters(),
            concurrency: concurrency(self.input.concurrency),
            plan: self.plan.options(),
            mssql: self.input.mssql.options(),
            snapshot: self
                .snapshot
                .clone()
                .map(|id| (self.snapshot_dir.dir.clone(), id)),
            runs: Some(self.snapshot_dir.dir.clone()),
        }
    }
}

/// Parallel partitions: as asked, or one per core.
pub fn concurrency(n: Option<usize>) -> usize {
    n.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}
