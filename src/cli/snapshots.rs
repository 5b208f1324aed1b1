//! `routeflow snapshots`: list, show, compare and verify the audit snapshots runs leave behind.

mod report;

use std::path::PathBuf;

use clap::Subcommand;
use datafusion::prelude::SessionContext;
use routeflow::run;
use routeflow::snapshot::{SnapshotDir, diff};
use routeflow::source::location::Location;
use routeflow::sql::{self, Format};

use super::args::{SnapshotDirArg, concurrency};

#[derive(Subcommand, Debug)]
pub enum SnapshotsCommand {
    /// Every run in the directory, oldest first; runs that never finished are marked incomplete.
    ///
    /// Example: routeflow snapshots list --snapshot-dir out/snapshots
    List {
        #[command(flatten)]
        dir: SnapshotDirArg,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One run's manifest: configuration, tables with row counts and hashes, sink partitions, figures.
    ///
    /// Example: routeflow snapshots show 20261130T020000.000Z-3fa2c1
    Show {
        run_id: String,
        #[command(flatten)]
        dir: SnapshotDirArg,
        /// Print the manifest as stored (JSON).
        #[arg(long)]
        json: bool,
    },
    /// Routes that changed from RUN_A to RUN_B: stops added or removed, StopNo changes, km before/after.
    ///
    /// Example: routeflow snapshots diff 20261129T020000.000Z-a1b2c3 20261130T020000.000Z-3fa2c1
    Diff {
        run_a: String,
        run_b: String,
        #[command(flatten)]
        dir: SnapshotDirArg,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Write the changed routes to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Recompute every file's hash and report any file changed, missing or added since the run.
    ///
    /// Example: routeflow snapshots verify 20261130T020000.000Z-3fa2c1
    Verify {
        run_id: String,
        #[command(flatten)]
        dir: SnapshotDirArg,
    },
}

/// Opens the snapshot directory the subcommand names and runs it.
pub async fn snapshots(command: SnapshotsCommand) -> anyhow::Result<()> {
    let ctx = run::session(concurrency(None));
    match command {
        SnapshotsCommand::List { dir, json } => list(&snapshot_dir(&ctx, &dir)?, json).await,
        SnapshotsCommand::Show { run_id, dir, json } => show(&snapshot_dir(&ctx, &dir)?, &run_id, json).await,
        SnapshotsCommand::Diff {
            run_a,
            run_b,
            dir,
            format,
            out,
        } => {
            let dir = snapshot_dir(&ctx, &dir)?;
            compare(&dir, &run_a, &run_b, format, out).await
        }
        SnapshotsCommand::Verify { run_id, dir } => verify(&snapshot_dir(&ctx, &dir)?, &run_id).await,
    }
}

/// The snapshot directory at a local path or URL.
fn snapshot_dir(ctx: &SessionContext, arg: &SnapshotDirArg) -> anyhow::Result<SnapshotDir> {
    Ok(SnapshotDir::new(Location::resolve(ctx, &arg.dir)?))
}

/// Every run, as a table or JSON.
async fn list(dir: &SnapshotDir, json: bool) -> anyhow::Result<()> {
    let runs = dir.list().await?;
    if json {
        println!("{}", report::list_json(&runs)?);
    } else {
        print!("{}", report::list_table(&runs));
    }
    Ok(())
}

/// One run's manifest, as text or as stored.
async fn show(dir: &SnapshotDir, run_id: &str, json: bool) -> anyhow::Result<()> {
    let manifest = dir.manifest(run_id).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else {
        print!("{}", report::manifest_text(&manifest)?);
    }
    Ok(())
}

/// The routes that changed between two runs, then the totals.
async fn compare(
    dir: &SnapshotDir,
    run_a: &str,
    run_b: &str,
    format: Format,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    let (changed, totals) = diff::diff(dir, run_a, run_b, concurrency(None)).await?;
    let rows = sql::output::write(changed.execute_stream().await?, format, out.as_deref()).await?;
    // The totals follow the table for people; next to CSV or JSON on standard output they go
    // to standard error, so the data stays parseable.
    let totals = arrow::util::pretty::pretty_format_batches(&totals.collect().await?)?;
    let text = format!("{rows} routes changed from {run_a} to {run_b}\n{totals}");
    if format == Format::Table && out.is_none() {
        println!("{text}");
    } else {
        eprintln!("{text}");
    }
    Ok(())
}

/// Every problem found; any problem fails the command (exit 1).
async fn verify(dir: &SnapshotDir, run_id: &str) -> anyhow::Result<()> {
    let report = dir.verify(run_id, concurrency(None)).await?;
    for problem in &report.problems {
        println!("{problem}");
    }
    if report.problems.is_empty() {
        println!(
            "{run_id}: {} files verified, all match the manifest",
            report.files_checked
        );
        Ok(())
    } else {
        anyhow::bail!(
            "{run_id}: {} problem(s) in {} files checked",
            report.problems.len(),
            report.files_checked
        )
    }
}
