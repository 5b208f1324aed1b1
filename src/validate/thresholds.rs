//! `--fail-on KEY=N`: validate exits 1 when a problem's count (or, for `<key>_pct`, its percentage
//! of plan rows, stops or routes) is above N. Keys are checked before any data is read: an
//! unknown key is a usage error (exit 3) that lists the valid ones.

use datafusion::error::Result;

use super::check::Per;
use super::{TableProblems, ThresholdResult, sql_checks, widths};

/// Suffix of the percentage keys.
const PCT: &str = "_pct";

/// One `--fail-on KEY=N`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub key: String,
    pub limit: f64,
}

/// Every valid key: each check's key, and `<key>_pct` for the checks with a percentage.
pub fn valid_keys() -> Vec<String> {
    let mut keys = Vec::new();
    for check in sql_checks() {
        keys.push(check.key.to_string());
        if check.per != Per::None {
            keys.push(format!("{}{PCT}", check.key));
        }
    }
    keys.extend(widths::KEYS.iter().map(|k| k.to_string()));
    keys
}

/// Parses `KEY=N` (N a non-negative number); the key is checked by [`check_keys`].
pub fn parse(text: &str) -> Result<Threshold> {
    let bad = |why: &str| crate::error::bad_input(format!("--fail-on {text}: {why}"));
    let (key, limit) = text.split_once('=').ok_or_else(|| bad("expected KEY=N"))?;
    let limit: f64 = limit.trim().parse().map_err(|_| bad("N must be a number"))?;
    if !limit.is_finite() || limit < 0.0 {
        return Err(bad("N must be a number of at least 0"));
    }
    Ok(Threshold {
        key: key.trim().to_string(),
        limit,
    })
}

/// Fails (exit 3) on a key no check has, naming the valid keys, or on a width key without a SQL
/// Server target to measure against.
pub fn check_keys(thresholds: &[Threshold], widths_checked: bool) -> Result<()> {
    let valid = valid_keys();
    for t in thresholds {
        if !valid.contains(&t.key) {
            return Err(crate::error::bad_input(format!(
                "--fail-on: unknown key {:?}; valid keys: {}",
                t.key,
                valid.join(", ")
            )));
        }
        if !widths_checked && widths::KEYS.contains(&t.key.as_str()) {
            return Err(crate::error::bad_input(format!(
                "--fail-on {}: widths are only checked against a SQL Server target (--output mssql)",
                t.key
            )));
        }
    }
    Ok(())
}

/// Each threshold with the value it is compared with; exceeded when the value is above the limit.
pub fn compare(thresholds: &[Threshold], tables: &[TableProblems]) -> Vec<ThresholdResult> {
    let problems: Vec<_> = tables.iter().flat_map(|t| &t.problems).collect();
    thresholds
        .iter()
        .map(|t| {
            let (key, pct) = match t.key.strip_suffix(PCT) {
                Some(key) if problems.iter().any(|p| p.key == key) => (key, true),
                _ => (t.key.as_str(), false),
            };
            let value = problems
                .iter()
                .find(|p| p.key == key)
                .map(|p| match pct {
                    true => p.pct.unwrap_or(0.0),
                    false => p.count as f64,
                })
                .unwrap_or(0.0);
            ThresholdResult {
                key: t.key.clone(),
                limit: t.limit,
                value,
                exceeded: value > t.limit,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_and_limit() {
        assert_eq!(
            parse("null_keys=0").unwrap(),
            Threshold {
                key: "null_keys".into(),
                limit: 0.0
            }
        );
        assert_eq!(parse("stops_without_coordinates_pct = 2.5").unwrap().limit, 2.5);
        for bad in [
            "null_keys",
            "null_keys=",
            "null_keys=x",
            "null_keys=-1",
            "null_keys=inf",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(crate::error::kind_of(&e), crate::error::Kind::BadInput, "{bad}");
        }
    }

    #[test]
    fn every_key_is_unique_and_percentages_only_where_there_is_a_total() {
        let keys = valid_keys();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), keys.len(), "{keys:?}");
        assert!(keys.contains(&"stops_without_coordinates_pct".to_string()));
        assert!(keys.contains(&"null_keys_pct".to_string()));
        assert!(!keys.contains(&"duplicate_custno_pct".to_string()));
    }

    #[test]
    fn an_unknown_key_is_bad_input_listing_the_valid_ones() {
        let e = check_keys(&[parse("nul_keys=0").unwrap()], false).unwrap_err();
        assert_eq!(crate::error::kind_of(&e), crate::error::Kind::BadInput);
        assert!(e.to_string().contains("null_keys, "), "{e}");
        assert!(check_keys(&[parse("values_too_wide=0").unwrap()], false).is_err());
        assert!(check_keys(&[parse("values_too_wide=0").unwrap()], true).is_ok());
    }
}
