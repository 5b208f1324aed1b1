//! The report as text for the people who own the data (`--format table`): one section per table,
//! each check with its count, what it means, what the count is made of, and example rows.

use std::fmt::Write as _;

use super::{Example, Problem, Report, TableProblems};

impl Report {
    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "routeflow validate {}", self.input);
        let totals = &self.totals;
        let _ = writeln!(
            out,
            "  plan month {}: {} plan rows, {} stops, {} routes",
            self.plan_month.as_deref().unwrap_or("(no dates)"),
            totals.plan_rows,
            totals.stops,
            totals.routes
        );
        for table in &self.tables {
            table.write(&mut out);
        }
        self.write_thresholds(&mut out);
        out
    }

    fn write_thresholds(&self, out: &mut String) {
        if !self.thresholds.is_empty() {
            let _ = writeln!(out, "\nthresholds (--fail-on)");
            for t in &self.thresholds {
                let verdict = if t.exceeded { "EXCEEDED" } else { "ok" };
                let _ = writeln!(out, "  {} > {}: {}  {verdict}", t.key, t.limit, t.value);
            }
        }
        let exceeded: Vec<&str> = self.exceeded().map(|t| t.key.as_str()).collect();
        let _ = match exceeded.is_empty() {
            true => writeln!(out, "\nresult: ok ({:.1}s)", self.seconds),
            false => writeln!(
                out,
                "\nresult: failed, thresholds exceeded: {} ({:.1}s)",
                exceeded.join(", "),
                self.seconds
            ),
        };
    }
}

impl TableProblems {
    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "\n{}", self.table);
        for problem in &self.problems {
            problem.write(out);
        }
    }
}

impl Problem {
    fn write(&self, out: &mut String) {
        if self.count == 0 {
            let _ = writeln!(out, "  {}: 0", self.key);
            return;
        }
        let pct = self.pct.map(|p| format!(" ({p}%)")).unwrap_or_default();
        let _ = writeln!(out, "  {}: {}{pct}", self.key, self.count);
        let _ = writeln!(out, "      {}", self.description);
        let parts: Vec<String> = self
            .breakdown
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        if !parts.is_empty() {
            let _ = writeln!(out, "      of which: {}", parts.join(", "));
        }
        for example in &self.examples {
            let _ = writeln!(out, "      - {}", example.line());
        }
        let more = self.count.saturating_sub(self.examples.len() as u64);
        if !self.examples.is_empty() && more > 0 {
            let _ = writeln!(out, "      … and {more} more");
        }
    }
}

impl Example {
    /// `DistributorID D1, AgentID NULL, … at position 17: NULL AgentID`.
    fn line(&self) -> String {
        let row: Vec<String> = self
            .row
            .iter()
            .map(|(k, v)| format!("{k} {}", v.as_deref().unwrap_or("NULL")))
            .collect();
        let mut line = row.join(", ");
        if let Some(p) = self.source_position {
            let _ = write!(line, " at position {p}");
        }
        if let Some(d) = &self.detail {
            let _ = write!(line, ": {d}");
        }
        line
    }
}
