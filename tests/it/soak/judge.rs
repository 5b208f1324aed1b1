//! Judging what a reader sees: after a stop, whole nights (files: the table with its own run's
//! summary; a table: the old or the new; in place: every distributor one night's), after a re-run
//! tonight's result exactly, and a SIGTERMed run's report agreeing with the target.

use std::collections::{BTreeMap, BTreeSet};

use super::rows::{Night, Observed, by_distributor, difference, whole};
use super::runs::Finished;
use super::trials::Kind;

/// The state a stop left, judged whole.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    Whole(Night),
    Distributors(BTreeMap<Option<String>, Night>),
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        let nights: Vec<Night> = match self {
            Verdict::Whole(n) => vec![*n],
            Verdict::Distributors(d) => d.values().copied().collect(),
        };
        match (nights.contains(&Night::Last), nights.contains(&Night::Tonight)) {
            (true, true) => "split",
            (false, true) => "tonight",
            _ => "last",
        }
    }
}

/// Whole nights after a stop: files, last night's table with its summary or tonight's with this
/// run's; a table, the old or the new; in place, every distributor one night's.
pub(crate) fn judge_interrupted(
    kind: Kind,
    seen: &Observed,
    last: &Observed,
    tonight: &Observed,
    run_id: Option<&str>,
) -> Result<Verdict, String> {
    match kind {
        Kind::InPlace => Ok(Verdict::Distributors(by_distributor(
            &seen.rows,
            &last.rows,
            &tonight.rows,
        )?)),
        Kind::Table => Ok(Verdict::Whole(whole(&seen.rows, &last.rows, &tonight.rows)?)),
        Kind::Files => {
            let night = whole(&seen.rows, &last.rows, &tonight.rows)?;
            let summary = seen.summary.as_ref().ok_or("no run_summary.json")?;
            let same_run = match night {
                Night::Last => Some(summary) == last.summary.as_ref(),
                _ => Some(summary.run_id.as_str()) == run_id && summary.status == "completed",
            };
            if !same_run {
                return Err(format!(
                    "the table is {} (last night's run {}, tonight's {}) but run_summary.json \
                     is run {}'s (status {})",
                    night.name(),
                    last.summary.as_ref().map_or("?", |s| s.run_id.as_str()),
                    run_id.unwrap_or("?"),
                    summary.run_id,
                    summary.status
                ));
            }
            Ok(Verdict::Whole(night))
        }
    }
}

/// After an uninterrupted run: tonight's rows exactly, and for files this run's summary.
pub(crate) fn judge_final(
    kind: Kind,
    seen: &Observed,
    tonight: &Observed,
    run_id: Option<&str>,
) -> Result<(), String> {
    if seen.rows != tonight.rows {
        return Err(format!(
            "not tonight's result: {}",
            difference(&seen.rows, &tonight.rows)
        ));
    }
    if kind == Kind::Files {
        let summary = seen.summary.as_ref().ok_or("no run_summary.json")?;
        if Some(summary.run_id.as_str()) != run_id || summary.status != "completed" {
            return Err(format!(
                "run_summary.json is run {}'s (status {}), not the run's that wrote the table ({})",
                summary.run_id,
                summary.status,
                run_id.unwrap_or("?")
            ));
        }
    }
    Ok(())
}

/// A SIGTERMed run exits 143 with a JSON report saying it was interrupted and which partitions it
/// wrote, and the target agrees with the report (or exits 0, having finished first, with tonight's
/// result).
pub(crate) fn judge_sigterm(kind: Kind, f: &Finished, verdict: &Verdict) -> Result<(), String> {
    match f.code() {
        Some(0) if verdict.label() == "tonight" => Ok(()),
        Some(0) => Err(format!(
            "exit 0 but the target is not tonight's result ({})",
            verdict.label()
        )),
        Some(143) => {
            let report = f
                .json()
                .ok_or("exit 143 without a JSON report on standard output")?;
            if report["status"] != "interrupted" {
                return Err(format!(
                    "exit 143 but the report's status is {}",
                    report["status"]
                ));
            }
            let parts = report["partitions"].as_array().cloned().unwrap_or_default();
            let written: BTreeSet<String> = parts
                .iter()
                .filter(|p| p["status"] == "written")
                .filter_map(|p| p["partition"].as_str().map(str::to_string))
                .collect();
            report_agrees(kind, &report, &written, parts.len(), verdict)
        }
        _ => Err(format!("SIGTERM ended the run with {}", f.exit())),
    }
}

/// Files not published leave last night's; in place, the distributors reported written are
/// tonight's and the others last night's; a new table means every partition was written.
fn report_agrees(
    kind: Kind,
    report: &serde_json::Value,
    written: &BTreeSet<String>,
    partitions: usize,
    verdict: &Verdict,
) -> Result<(), String> {
    match (kind, verdict) {
        (Kind::Files, Verdict::Whole(Night::Tonight)) if report["published"] == false => {
            Err("the report says the output was not published, but readers see tonight's table".into())
        }
        (Kind::Table, Verdict::Whole(Night::Tonight)) if partitions == 0 || written.len() != partitions => {
            Err(format!(
                "the new table is in place but the report has {} of {partitions} partitions written",
                written.len()
            ))
        }
        (Kind::InPlace, Verdict::Distributors(nights)) => {
            for (d, night) in nights {
                let Some(d) = d else { continue };
                let reported = written.contains(&format!("DistributorID={d}"));
                if (reported && *night == Night::Last) || (!reported && *night == Night::Tonight) {
                    return Err(format!(
                        "distributor {d} holds {} rows but the report {} it as written \
                         (written: {written:?})",
                        night.name(),
                        if reported { "lists" } else { "does not list" }
                    ));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
