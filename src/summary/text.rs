//! The summary as a table for people, printed at the end of a run.

use std::fmt::{Display, Write as _};

use super::{RunSummary, SinkSummary};

/// Lines of `  key  value`, keys padded to one width.
#[derive(Default)]
struct Lines(String);

impl Lines {
    fn line(&mut self, key: &str, value: impl Display) {
        let _ = writeln!(self.0, "  {key:<34} {value}");
    }
}

/// `k n, k n, ...` of the entries of a count map.
fn joined<'a>(counts: impl IntoIterator<Item = (&'a String, &'a u64)>) -> String {
    counts
        .into_iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl RunSummary {
    /// A table for people, printed at the end of a run.
    pub fn to_text(&self) -> String {
        let mut lines = Lines::default();
        lines.line("run id", &self.run_id);
        self.data_lines(&mut lines);
        if let Some(sink) = &self.sink {
            sink.lines(&mut lines);
        }
        self.time_lines(&mut lines);
        lines.0
    }

    /// What the run found and did to the data.
    fn data_lines(&self, lines: &mut Lines) {
        lines.line("routes", self.routes.total);
        lines.line(
            "rows read / written",
            format!("{} / {}", self.rows.read, self.rows.written),
        );
        lines.line("rows not routed (NULL key)", self.rows.not_routed);
        let added = &self.prospects_added;
        lines.line(
            "prospects added (barangay/radius)",
            format!("{} ({} / {})", added.total, added.barangay, added.radius),
        );
        lines.line(
            "routes below target before/after",
            format!(
                "{} / {}",
                self.routes.below_target_before, self.routes.short_after_topup
            ),
        );
        if self.routes.curve_sequenced > 0 {
            let listed: Vec<String> = self
                .routes
                .curve_sequenced_routes
                .iter()
                .map(|r| {
                    format!(
                        "{}/{}/{} {} stops",
                        r.distributor_id, r.agent_id, r.route_date, r.stops
                    )
                })
                .collect();
            lines.line(
                "routes sequenced along the curve",
                format!("{} ({})", self.routes.curve_sequenced, listed.join(", ")),
            );
        }
        let reasons = joined(
            self.stops
                .without_coordinates_by_reason
                .iter()
                .filter(|(_, n)| **n > 0),
        );
        lines.line(
            "stops without coordinates",
            format!(
                "{} of {} ({reasons})",
                self.stops.without_coordinates, self.stops.planned
            ),
        );
        lines.line("rows by custype", joined(&self.custype_rows));
        let dups = &self.duplicates;
        lines.line(
            "duplicates (customer/prospect/plan)",
            format!(
                "{} / {} / {}",
                dups.customer_custno, dups.prospective_tdlinx, dups.plan_rows_same_stop
            ),
        );
        lines.line("truncated values", self.truncations.count);
    }

    /// Path lengths, time and where the snapshot went.
    fn time_lines(&self, lines: &mut Lines) {
        let km = &self.distance_km;
        lines.line(
            "path km (nearest neighbour)",
            format!(
                "{:.1} ({:.1}, {:.2}% shorter)",
                km.sequence, km.nearest_neighbor, km.improvement_pct
            ),
        );
        let phases: Vec<String> = self
            .phases
            .iter()
            .map(|p| format!("{} {:.2}s", p.name, p.seconds))
            .collect();
        lines.line(
            "time",
            format!("{:.2}s ({})", self.total_seconds, phases.join(", ")),
        );
        lines.line("routes per second", format!("{:.0}", self.routes_per_second));
        if let Some(snapshot) = &self.snapshot {
            lines.line("snapshot", snapshot);
        }
    }
}

impl SinkSummary {
    /// The SQL Server write: partitions, rows changed, and each failed partition.
    fn lines(&self, lines: &mut Lines) {
        lines.line(
            "SQL Server partitions written",
            format!(
                "{} of {}",
                self.partitions - self.failed.len() as u64,
                self.partitions
            ),
        );
        lines.line(
            "SQL Server rows updated / inserted",
            format!("{} / {}", self.rows_updated, self.rows_inserted),
        );
        for f in &self.failed {
            lines.line(
                "FAILED partition",
                format!("{}: {}", f.partition, f.error.as_deref().unwrap_or("")),
            );
        }
    }
}
