//! The empty-table rule. A table without rows is almost always a failed export, not a quiet month:
//! without plan rows there is nothing to route, without `customer` every stop would lose its
//! coordinates, without `distributors` every route its depot; the run stops (exit 3) instead of
//! publishing a result that looks fine. `prospective` and `custvisit` may be empty in a real month
//! (no prospects left, no visits yet): a warning.

use datafusion::error::Result;
use tracing::warn;

use crate::error::bad_input;
use crate::schema::{CUSTOMER, CUSTVISIT, DISTRIBUTORS, PROSPECTIVE, ROUTE_PLAN};

/// Applies the rule to `table`, read from `origin`, when it `is_empty`.
pub fn check(table: &str, origin: &str, is_empty: bool) -> Result<()> {
    if !is_empty {
        return Ok(());
    }
    let consequence = match table {
        ROUTE_PLAN => "nothing to route",
        CUSTOMER => "every stop would lose its coordinates",
        DISTRIBUTORS => "every route would lose its depot",
        PROSPECTIVE => {
            warn!(table, origin, "the table has no rows: no prospect can be added");
            return Ok(());
        }
        CUSTVISIT => {
            warn!(
                table,
                origin, "the table has no rows: no prospect counts as visited"
            );
            return Ok(());
        }
        _ => return Ok(()),
    };
    Err(bad_input(format!(
        "{origin} has no rows (table {table}): {consequence}; most likely a failed export"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Kind, kind_of};

    #[test]
    fn plan_customer_and_distributors_must_have_rows() {
        for table in [ROUTE_PLAN, CUSTOMER, DISTRIBUTORS] {
            let err = check(table, "in/x.csv", true).unwrap_err();
            assert_eq!(kind_of(&err), Kind::BadInput);
            assert!(err.to_string().contains("in/x.csv has no rows"), "{err}");
            check(table, "in/x.csv", false).unwrap();
        }
    }

    #[test]
    fn prospects_and_visits_may_be_empty() {
        check(PROSPECTIVE, "in/p.csv", true).unwrap();
        check(CUSTVISIT, "in/v.csv", true).unwrap();
    }
}
