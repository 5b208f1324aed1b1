//! Which tables a statement reads whole, from SQLite's own plan (`EXPLAIN QUERY PLAN`): a `SCAN` of
//! a table, or an automatic index SQLite builds over it (built by reading it whole). A test uses the
//! count to show that a write's cost does not grow with partitions × table size.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::ops::ControlFlow;

use rusqlite::Connection;
use sqlparser::ast::{Statement, TableFactor, Visit, Visitor};

use super::{Param, bind};

/// The statement being run (its aliases) and what the statements so far scanned.
#[derive(Default)]
pub struct ScanLog {
    inner: RefCell<Log>,
}

#[derive(Default)]
struct Log {
    /// Alias (and bare table name) → T-SQL table name, lowercase, of the current statement.
    names: HashMap<String, String>,
    /// Tables the current statement read whole.
    current: BTreeSet<String>,
    /// Finished statements' scans.
    done: Vec<String>,
}

impl ScanLog {
    /// Starts a statement: what the previous one scanned is kept, its aliases are forgotten.
    pub fn begin_statement(&self, stmt: &Statement) {
        let mut log = self.inner.borrow_mut();
        let finished = std::mem::take(&mut log.current);
        log.done.extend(finished);
        let mut names = Names::default();
        let _ = stmt.visit(&mut names);
        log.names = names.0;
    }

    /// Records the tables SQLite's plan for `sql` reads whole. Best effort: a statement SQLite
    /// cannot explain is about to fail anyway.
    pub fn explain(&self, conn: &Connection, sql: &str, params: &[Param]) {
        let Ok(mut stmt) = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")) else {
            return;
        };
        if bind(&mut stmt, params).is_err() {
            return;
        }
        let mut rows = stmt.raw_query();
        let mut log = self.inner.borrow_mut();
        while let Ok(Some(row)) = rows.next() {
            let Ok(detail) = row.get::<_, String>(3) else {
                continue;
            };
            if let Some(name) = whole_read(&detail) {
                let name = unquote(name);
                let table = log.names.get(&name).cloned().unwrap_or(name);
                log.current.insert(table);
            }
        }
    }

    /// Everything scanned since the last call.
    pub fn take(&self) -> Vec<String> {
        let mut log = self.inner.borrow_mut();
        let finished = std::mem::take(&mut log.current);
        log.done.extend(finished);
        std::mem::take(&mut log.done)
    }
}

/// The table (or alias) a plan line reads whole: `SCAN t`, `SCAN t USING [COVERING] INDEX i`, or
/// `SEARCH t USING AUTOMATIC [PARTIAL] [COVERING] INDEX (…)`.
fn whole_read(detail: &str) -> Option<&str> {
    if let Some(rest) = detail.strip_prefix("SCAN ") {
        // `SCAN CONSTANT ROW`, `SCAN (subquery-1)` and CTEs read no table.
        let name = rest.split(' ').next()?;
        return (name != "CONSTANT" && !name.starts_with('(')).then_some(name);
    }
    let rest = detail.strip_prefix("SEARCH ")?;
    let (name, how) = rest.split_once(' ')?;
    how.starts_with("USING AUTOMATIC").then_some(name)
}

fn unquote(name: &str) -> String {
    name.trim_matches(['"', '[', ']', '`']).to_ascii_lowercase()
}

/// Every `table [AS alias]` of a statement.
#[derive(Default)]
struct Names(HashMap<String, String>);

impl Visitor for Names {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, alias, .. } = factor {
            let table = name.0.last().map(|p| unquote(&p.to_string())).unwrap_or_default();
            if let Some(alias) = alias {
                self.0.insert(unquote(&alias.name.value), table.clone());
            }
            self.0.insert(table.clone(), table);
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::whole_read;

    #[test]
    fn plan_lines_that_read_a_table_whole() {
        assert_eq!(whole_read("SCAN t"), Some("t"));
        assert_eq!(whole_read("SCAN plan USING COVERING INDEX ix"), Some("plan"));
        assert_eq!(
            whole_read("SEARCH x USING AUTOMATIC PARTIAL COVERING INDEX (c=?)"),
            Some("x")
        );
        assert_eq!(whole_read("SEARCH t USING INDEX ix (d=?)"), None);
        assert_eq!(whole_read("SCAN CONSTANT ROW"), None);
        assert_eq!(whole_read("USE TEMP B-TREE FOR ORDER BY"), None);
    }
}
