//! How `routeflow snapshots list` and `show` present runs: a table or JSON for the list, a short
//! text for one manifest.

use std::fmt::Write;

use routeflow::snapshot::Manifest;
use routeflow::snapshot::store::Listing;

/// The figures of the summary that `show` prints, by JSON pointer.
const SHOWN_FIGURES: [&str; 5] = [
    "/routes/total",
    "/rows/read",
    "/rows/written",
    "/prospects_added/total",
    "/distance_km/sequence",
];

/// The runs as a JSON array, one object per run.
pub fn list_json(runs: &[Listing]) -> serde_json::Result<String> {
    let rows: Vec<_> = runs
        .iter()
        .map(|r| {
            serde_json::json!({
                "run_id": r.run_id,
                "complete": r.manifest.is_some(),
                "finished_at": r.manifest.as_ref().map(|m| &m.finished_at),
                "routes": r.manifest.as_ref().and_then(|m| m.summary.pointer("/routes/total").cloned()),
                "rows_written": r.manifest.as_ref().and_then(|m| m.summary.pointer("/rows/written").cloned()),
            })
        })
        .collect();
    serde_json::to_string_pretty(&rows)
}

/// The runs as a table, one line per run; a run without a manifest is `incomplete`.
pub fn list_table(runs: &[Listing]) -> String {
    let mut text = format!(
        "{:<28} {:<10} {:<21} {:>8} {:>12} {:>12}\n",
        "run id", "status", "finished", "routes", "rows written", "km"
    );
    for run in runs {
        match &run.manifest {
            Some(m) => {
                let figure = |p: &str| m.summary.pointer(p).map(|v| v.to_string()).unwrap_or_default();
                let km = m
                    .summary
                    .pointer("/distance_km/sequence")
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0);
                let _ = writeln!(
                    text,
                    "{:<28} {:<10} {:<21} {:>8} {:>12} {:>12.1}",
                    run.run_id,
                    "complete",
                    m.finished_at,
                    figure("/routes/total"),
                    figure("/rows/written"),
                    km
                );
            }
            None => {
                let _ = writeln!(text, "{:<28} {:<10}", run.run_id, "incomplete");
            }
        }
    }
    text
}

/// One run's manifest for people: times, configuration, tables, sink outcome and main figures.
pub fn manifest_text(manifest: &Manifest) -> serde_json::Result<String> {
    let mut text = format!(
        "run {} (routeflow {})\n",
        manifest.run_id, manifest.routeflow_version
    );
    let _ = writeln!(
        text,
        "  {:<12} {} .. {}",
        "time", manifest.started_at, manifest.finished_at
    );
    let _ = writeln!(
        text,
        "  {:<12} {}",
        "config",
        serde_json::to_string(&manifest.config)?
    );
    text.push_str("  tables\n");
    for t in &manifest.tables {
        let _ = writeln!(
            text,
            "    {:<36} {:>10} rows {:>4} files  sha256 {}",
            t.path,
            t.rows,
            t.files.len(),
            t.sha256
        );
    }
    let failed = manifest
        .sink
        .partitions
        .iter()
        .filter(|p| p.status != "written")
        .count();
    let _ = writeln!(
        text,
        "  sink         {} -> {}: {} partitions written, {failed} failed",
        manifest.sink.kind,
        manifest.sink.target,
        manifest.sink.partitions.len() - failed
    );
    for key in SHOWN_FIGURES {
        if let Some(v) = manifest.summary.pointer(key) {
            let _ = writeln!(
                text,
                "  {:<28} {v}",
                key.trim_start_matches('/').replace('/', ".")
            );
        }
    }
    Ok(text)
}
