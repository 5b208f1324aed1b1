//! The canonical tables of the route-plan contract: names, columns and Arrow types.
//!
//! Sources cast whatever the storage holds (CSV text, Decimal, Float32, Timestamp, LargeUtf8, …) to
//! these types, so every later stage can rely on one schema.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// The monthly plan: read, routed and written back.
pub const ROUTE_PLAN: &str = "MonthlyRoutePlan_temp";
/// Existing customers with coordinates and barangay code (`address3`).
pub const CUSTOMER: &str = "customer";
/// Prospect stores (`tdlinx`) that may be added to short routes.
pub const PROSPECTIVE: &str = "prospective";
/// Past visits: a prospect that was visited is not offered again.
pub const CUSTVISIT: &str = "custvisit";
/// Distributors and their warehouse location (the route depot).
pub const DISTRIBUTORS: &str = "distributors";

/// All input tables, in the order they are read and reported.
pub const INPUT_TABLES: [&str; 5] = [ROUTE_PLAN, CUSTOMER, PROSPECTIVE, CUSTVISIT, DISTRIBUTORS];

/// Column added by every source: the row's position in source order (0-based), so that "the first row"
/// rules and output ordering are deterministic whatever the parallelism.
pub const SOURCE_ORDINAL: &str = "_src_ord";

/// Columns of the plan that routeflow rewrites; every other column is carried through unchanged.
pub const STOP_NO: &str = "StopNo";
pub const CUSTYPE: &str = "custype";

/// One canonical column: name, type, and whether the table may lack it (only `custype`).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub data_type: CanonicalType,
    pub optional: bool,
}

/// The handful of types the contract uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanonicalType {
    Utf8,
    Float64,
    Int32,
    Date32,
}

impl CanonicalType {
    pub fn arrow(self) -> DataType {
        match self {
            CanonicalType::Utf8 => DataType::Utf8,
            CanonicalType::Float64 => DataType::Float64,
            CanonicalType::Int32 => DataType::Int32,
            CanonicalType::Date32 => DataType::Date32,
        }
    }
}

const fn col(name: &'static str, data_type: CanonicalType) -> Column {
    Column {
        name,
        data_type,
        optional: false,
    }
}

use CanonicalType::*;

const ROUTE_PLAN_COLUMNS: &[Column] = &[
    col("CustNo", Utf8),
    col("RouteDate", Date32),
    col("Name", Utf8),
    col("WD", Int32),
    col("SalesManTerritory", Utf8),
    col("AgentID", Utf8),
    col("RouteName", Utf8),
    col("DistributorID", Utf8),
    col("RouteCode", Utf8),
    col("SalesOfficeID", Utf8),
    col("StopNo", Int32),
    Column {
        name: "custype",
        data_type: Utf8,
        optional: true,
    },
];

const CUSTOMER_COLUMNS: &[Column] = &[
    col("CustNo", Utf8),
    col("latitude", Float64),
    col("longitude", Float64),
    col("address3", Utf8),
];

const PROSPECTIVE_COLUMNS: &[Column] = &[
    col("tdlinx", Utf8),
    col("latitude", Float64),
    col("longitude", Float64),
    col("barangay_code", Utf8),
    col("store_name_nielsen", Utf8),
];

const CUSTVISIT_COLUMNS: &[Column] = &[
    col("CustID", Utf8),
    col("AgentID", Utf8),
    col("TransDate", Date32),
];

const DISTRIBUTORS_COLUMNS: &[Column] = &[
    col("DistributorID", Utf8),
    col("Latitude", Float64),
    col("Longitude", Float64),
    col("Name", Utf8),
    col("Address", Utf8),
];

/// The canonical columns of `table`, or `None` for a table the contract does not know.
pub fn columns(table: &str) -> Option<&'static [Column]> {
    match table {
        ROUTE_PLAN => Some(ROUTE_PLAN_COLUMNS),
        CUSTOMER => Some(CUSTOMER_COLUMNS),
        PROSPECTIVE => Some(PROSPECTIVE_COLUMNS),
        CUSTVISIT => Some(CUSTVISIT_COLUMNS),
        DISTRIBUTORS => Some(DISTRIBUTORS_COLUMNS),
        _ => None,
    }
}

/// The canonical Arrow schema of `table` (all columns nullable, `custype` included), without the
/// source ordinal. Panics for an unknown table: callers pass the constants above.
pub fn canonical_schema(table: &str) -> SchemaRef {
    let cols = columns(table).unwrap_or_else(|| panic!("unknown table {table}"));
    Arc::new(Schema::new(
        cols.iter()
            .map(|c| Field::new(c.name, c.data_type.arrow(), true))
            .collect::<Vec<_>>(),
    ))
}
