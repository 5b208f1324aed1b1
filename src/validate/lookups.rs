//! Checks of the lookup tables: repeated keys (the first row in source order wins, rule 2 and 6),
//! prospects the top-up cannot use or place, stores listed twice, and visits of unknown stores.
//! The duplicate counts are the run summary's `duplicates`.

use super::check::{Check, Param, Per};
use crate::schema::{CUSTVISIT, PROSPECTIVE};

/// A duplicate-key check of `table` on `column` (keys, not rows, are counted: as in the summary).
macro_rules! duplicate_check {
    ($key:literal, $table:literal, $column:literal, $description:literal) => {
        Check {
            key: $key,
            table: $table,
            description: $description,
            per: Per::None,
            param: Param::None,
            count: concat!(
                "SELECT COUNT(*) AS n FROM (SELECT ", $column, " FROM ", $table, " WHERE ", $column,
                " IS NOT NULL GROUP BY ", $column, " HAVING COUNT(*) > 1) AS d"
            ),
            breakdown: None,
            examples: Some(concat!(
                "SELECT ", $column, ", MIN(_src_ord) AS source_position,
                        concat(CAST(COUNT(*) AS VARCHAR), ' rows; the first, at this position, is used') AS detail
                 FROM ", $table, " WHERE ", $column, " IS NOT NULL GROUP BY ", $column,
                " HAVING COUNT(*) > 1 ORDER BY source_position"
            )),
        }
    };
}

const DUPLICATE_CUSTNO: Check = duplicate_check!(
    "duplicate_custno",
    "customer",
    "CustNo",
    "CustNo values on more than one customer row: the first row in source order is used"
);

const DUPLICATE_TDLINX: Check = duplicate_check!(
    "duplicate_tdlinx",
    "prospective",
    "tdlinx",
    "tdlinx values on more than one prospective row: the first row in source order is used"
);

const DUPLICATE_DISTRIBUTOR_ID: Check = duplicate_check!(
    "duplicate_distributor_id",
    "distributors",
    "DistributorID",
    "DistributorID values on more than one distributors row: the first row in source order is the depot"
);

/// Prospects (their first row) without usable coordinates: never added by the top-up.
const PROSPECTS_WITHOUT_COORDINATES: Check = Check {
    key: "prospects_without_coordinates",
    table: PROSPECTIVE,
    description: "prospects without usable coordinates, by reason: the top-up never adds them",
    per: Per::None,
    param: Param::None,
    count: "SELECT COUNT(*) AS n FROM validate_prospects WHERE coord_issue(latitude, longitude) IS NOT NULL",
    breakdown: Some(
        "SELECT coord_issue(latitude, longitude) AS label, COUNT(*) AS n FROM validate_prospects
         WHERE coord_issue(latitude, longitude) IS NOT NULL GROUP BY 1",
    ),
    examples: Some(
        "SELECT tdlinx, _src_ord AS source_position,
                concat(coord_issue(latitude, longitude), ': latitude ', COALESCE(CAST(latitude AS VARCHAR), 'NULL'),
                       ', longitude ', COALESCE(CAST(longitude AS VARCHAR), 'NULL')) AS detail
         FROM validate_prospects WHERE coord_issue(latitude, longitude) IS NOT NULL ORDER BY _src_ord",
    ),
};

/// Prospects without a barangay code: only the radius stage can add them (rule 4).
const PROSPECTS_WITHOUT_BARANGAY: Check = Check {
    key: "prospects_without_barangay",
    table: PROSPECTIVE,
    description: "prospects with a NULL or blank barangay_code: only the radius stage can add them",
    per: Per::None,
    param: Param::None,
    count: "SELECT COUNT(*) AS n FROM validate_prospects WHERE COALESCE(trim(barangay_code), '') = ''",
    breakdown: None,
    examples: Some(
        "SELECT tdlinx, _src_ord AS source_position,
                CASE WHEN barangay_code IS NULL THEN 'barangay_code NULL' ELSE 'barangay_code blank' END AS detail
         FROM validate_prospects WHERE COALESCE(trim(barangay_code), '') = '' ORDER BY _src_ord",
    ),
};

/// Stores that are both: a stop takes the customer's coordinates, and the top-up never adds them.
const PROSPECTS_ALSO_CUSTOMERS: Check = Check {
    key: "prospects_also_customers",
    table: PROSPECTIVE,
    description: "tdlinx values that are also a customer CustNo: treated as customers, never added as prospects",
    per: Per::None,
    param: Param::None,
    count: "SELECT COUNT(*) AS n FROM validate_prospects AS p JOIN customer_first AS c ON p.tdlinx = c.CustNo",
    breakdown: None,
    examples: Some(
        "SELECT p.tdlinx, p._src_ord AS source_position, 'also in customer' AS detail
         FROM validate_prospects AS p JOIN customer_first AS c ON p.tdlinx = c.CustNo ORDER BY p._src_ord",
    ),
};

/// Visits of a store that is neither a customer nor a prospect: they exclude nothing.
const CUSTVISIT_UNKNOWN_STORES: Check = Check {
    key: "custvisit_unknown_stores",
    table: CUSTVISIT,
    description: "custvisit rows whose CustID is neither a customer CustNo nor a prospective tdlinx",
    per: Per::None,
    param: Param::None,
    count: "SELECT COUNT(*) AS n FROM custvisit AS v
            WHERE v.CustID IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM customer_first AS c WHERE c.CustNo = v.CustID)
              AND NOT EXISTS (SELECT 1 FROM prospect_first AS p WHERE p.tdlinx = v.CustID)",
    breakdown: None,
    examples: Some(
        "SELECT v.CustID, v.AgentID, v.TransDate, v._src_ord AS source_position, 'unknown store' AS detail
         FROM custvisit AS v
         WHERE v.CustID IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM customer_first AS c WHERE c.CustNo = v.CustID)
           AND NOT EXISTS (SELECT 1 FROM prospect_first AS p WHERE p.tdlinx = v.CustID)
         ORDER BY v._src_ord",
    ),
};

/// The lookup tables' checks, in report order.
pub static CHECKS: &[Check] = &[
    DUPLICATE_CUSTNO,
    DUPLICATE_TDLINX,
    PROSPECTS_WITHOUT_COORDINATES,
    PROSPECTS_WITHOUT_BARANGAY,
    PROSPECTS_ALSO_CUSTOMERS,
    CUSTVISIT_UNKNOWN_STORES,
    DUPLICATE_DISTRIBUTOR_ID,
];
