//! What a reader sees in a target, and how it compares with last night's and tonight's results:
//! whole tables, or (SQL Server in place) whole distributors.

use std::collections::BTreeMap;

use crate::support::Row;

/// The key of a plan row (route key and store): a key twice where the references have it once is
/// a doubled row.
const ROW_KEY: [&str; 4] = ["DistributorID", "AgentID", "RouteDate", "CustNo"];

/// A target as readers see it: the table's rows, sorted, every column as text; for files, the
/// `run_summary.json` beside it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observed {
    pub rows: Vec<Row>,
    pub summary: Option<Summary>,
}

impl Observed {
    pub fn table(mut rows: Vec<Row>) -> Self {
        rows.sort();
        Self { rows, summary: None }
    }
}

/// What identifies a `run_summary.json`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub run_id: String,
    pub status: String,
}

impl Summary {
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        Some(Self {
            run_id: v.get("run_id")?.as_str()?.to_string(),
            status: v.get("status")?.as_str()?.to_string(),
        })
    }
}

/// Which night a table, or a distributor's rows, belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Night {
    Last,
    Tonight,
    /// Both nights have the same rows there.
    Either,
}

impl Night {
    /// For messages: `last night's`, `tonight's`, `either night's`.
    pub fn name(self) -> &'static str {
        match self {
            Night::Last => "last night's",
            Night::Tonight => "tonight's",
            Night::Either => "either night's",
        }
    }
}

/// The night `seen` belongs to as a whole, or what is wrong with it.
pub(crate) fn whole(seen: &[Row], last: &[Row], tonight: &[Row]) -> Result<Night, String> {
    match (seen == last, seen == tonight) {
        (true, true) => Ok(Night::Either),
        (true, false) => Ok(Night::Last),
        (false, true) => Ok(Night::Tonight),
        (false, false) => Err(format!(
            "neither night's table: against last night's {}; against tonight's {}",
            difference(seen, last),
            difference(seen, tonight)
        )),
    }
}

/// The night each distributor's rows belong to (`None`: rows without one), or which distributors
/// mix the two nights.
pub(crate) fn by_distributor(
    seen: &[Row],
    last: &[Row],
    tonight: &[Row],
) -> Result<BTreeMap<Option<String>, Night>, String> {
    let (seen, last, tonight) = (groups(seen), groups(last), groups(tonight));
    let empty = Vec::new();
    let mut nights = BTreeMap::new();
    let mut mixed = Vec::new();
    let all: std::collections::BTreeSet<&Option<String>> =
        seen.keys().chain(last.keys()).chain(tonight.keys()).collect();
    for d in all {
        let get = |g: &BTreeMap<Option<String>, Vec<Row>>| g.get(d).cloned().unwrap_or_else(|| empty.clone());
        let (s, l, t) = (get(&seen), get(&last), get(&tonight));
        match whole(&s, &l, &t) {
            Ok(night) => {
                nights.insert(d.clone(), night);
            }
            Err(_) => mixed.push(format!(
                "{}: against last night's {}; against tonight's {}",
                d.as_deref().unwrap_or("(no distributor)"),
                difference(&s, &l),
                difference(&s, &t)
            )),
        }
    }
    if mixed.is_empty() {
        Ok(nights)
    } else {
        Err(format!("distributors mixing two nights: {}", mixed.join("; ")))
    }
}

/// `seen`'s rows by distributor, each group sorted.
fn groups(rows: &[Row]) -> BTreeMap<Option<String>, Vec<Row>> {
    let mut groups: BTreeMap<Option<String>, Vec<Row>> = BTreeMap::new();
    for row in rows {
        let d = row.get("DistributorID").cloned().flatten();
        groups.entry(d).or_default().push(row.clone());
    }
    for g in groups.values_mut() {
        g.sort();
    }
    groups
}

/// `2857 rows (expected 2372): 485 extra, 0 missing, 3 keys doubled`.
pub(crate) fn difference(seen: &[Row], expected: &[Row]) -> String {
    let (extra, missing) = multiset_difference(seen, expected);
    format!(
        "{} rows (expected {}): {extra} extra, {missing} missing, {} keys doubled",
        seen.len(),
        expected.len(),
        doubled_keys(seen, expected)
    )
}

/// Rows of `a` not in `b` and of `b` not in `a`, counting repeats.
fn multiset_difference(a: &[Row], b: &[Row]) -> (usize, usize) {
    let mut counts: BTreeMap<&Row, i64> = BTreeMap::new();
    for r in a {
        *counts.entry(r).or_default() += 1;
    }
    for r in b {
        *counts.entry(r).or_default() -= 1;
    }
    let extra = counts.values().filter(|&&c| c > 0).sum::<i64>();
    let missing = -counts.values().filter(|&&c| c < 0).sum::<i64>();
    (extra as usize, missing as usize)
}

/// Keys `seen` holds more often than `expected` does.
fn doubled_keys(seen: &[Row], expected: &[Row]) -> usize {
    let keys = |rows: &[Row]| {
        let mut counts: BTreeMap<Vec<Option<String>>, usize> = BTreeMap::new();
        for r in rows {
            let key = ROW_KEY.iter().map(|k| r.get(*k).cloned().flatten()).collect();
            *counts.entry(key).or_default() += 1;
        }
        counts
    };
    let (seen, expected) = (keys(seen), keys(expected));
    seen.iter()
        .filter(|(k, n)| **n > 1 && **n > expected.get(*k).copied().unwrap_or(0))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(dist: &str, cust: &str, stop: &str) -> Row {
        [
            ("DistributorID", dist),
            ("AgentID", "A1"),
            ("RouteDate", "2026-12-01"),
            ("CustNo", cust),
            ("StopNo", stop),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Some(v.to_string())))
        .collect()
    }

    #[test]
    fn a_mix_of_two_nights_is_neither_and_names_its_doubled_keys() {
        let last = vec![row("D1", "1", "1"), row("D2", "2", "1")];
        let tonight = vec![row("D1", "1", "2"), row("D2", "2", "2")];
        assert_eq!(whole(&last, &last, &tonight), Ok(Night::Last));
        assert_eq!(whole(&tonight, &last, &tonight), Ok(Night::Tonight));
        let mut mixed = vec![row("D1", "1", "1"), row("D1", "1", "2"), row("D2", "2", "2")];
        mixed.sort();
        let err = whole(&mixed, &last, &tonight).unwrap_err();
        assert!(err.contains("1 keys doubled"), "{err}");
        // By distributor, D2 is tonight's whole but D1 holds both nights.
        let err = by_distributor(&mixed, &last, &tonight).unwrap_err();
        assert!(err.contains("D1:") && !err.contains("D2:"), "{err}");
        let half = vec![row("D1", "1", "1"), row("D2", "2", "2")];
        let nights = by_distributor(&half, &last, &tonight).unwrap();
        assert_eq!(nights[&Some("D1".into())], Night::Last);
        assert_eq!(nights[&Some("D2".into())], Night::Tonight);
    }
}
