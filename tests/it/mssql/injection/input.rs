//! The hostile input: values, column names and the five tables that hold them, written as
//! Parquet, and what the server should hold of them (every value cut to its column's width).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int32Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;

use crate::support::Row;

pub(super) const ROUTE_PLAN: &str = "MonthlyRoutePlan_temp";

pub(super) const DROP_CUSTOMER: &str = "x'); DROP TABLE customer;--";
pub(super) const DROP_X: &str = "]]; DROP TABLE x;--";
pub(super) const O_BRIEN: &str = "O'Brien";
/// Right-to-left override and right-to-left mark: the text shows reversed.
pub(super) const RTL: &str = "\u{202E}exe.evil\u{200F}";
pub(super) const NUL: &str = "nul\0byte";
/// Extra plan columns (carried through unchanged, rule 8) with names that need quoting: a long
/// text and a short one.
pub(super) const EXTRA: [&str; 2] = ["Remarks]; --", "Note \"q\" ]x["];
/// The same without `]`: Babelfish cannot parse `]]` in a bracketed name (`[a]]b]` is a syntax
/// error there; SQL Server's documented escape).
pub(super) const EXTRA_BABELFISH: [&str; 2] = ["Remarks'); --", "Note \"q\" [x"];
/// A table the payloads name: it must survive every command.
pub(super) const SENTINEL: &str = "x";

/// A 4,000-character name (the longest `nvarchar(n)`), itself full of quotes and brackets.
pub(super) fn long_name() -> String {
    "Ñandú's ]] Sari-Sari; -- ".chars().cycle().take(4000).collect()
}

/// The values no statement text may contain (as sent, or with its quotes doubled as in a literal).
pub(super) fn hostile_values() -> Vec<String> {
    let long = long_name();
    [DROP_CUSTOMER, DROP_X, O_BRIEN, RTL, NUL, &long[..200]]
        .iter()
        .flat_map(|v| [v.to_string(), v.replace('\'', "''")])
        .collect()
}

/// A table's columns: name and values.
pub(super) type Columns = Vec<(&'static str, Vec<Option<String>>)>;

/// The five input tables, as column name → values (strings; the few numeric and date columns are
/// typed when written).
pub(super) struct Input {
    /// The names of the plan's two extra columns.
    pub(super) extra: [&'static str; 2],
    pub(super) tables: Vec<(&'static str, Columns)>,
}

/// The text columns compared per table (every other column is numbers or dates).
pub(super) fn text_columns(table: &str, extra: [&'static str; 2]) -> Vec<&'static str> {
    match table {
        ROUTE_PLAN => vec![
            "CustNo",
            "Name",
            "SalesManTerritory",
            "AgentID",
            "RouteName",
            "DistributorID",
            "RouteCode",
            "SalesOfficeID",
            extra[0],
            extra[1],
        ],
        "customer" => vec!["CustNo", "address3"],
        "prospective" => vec!["tdlinx", "barangay_code", "store_name_nielsen"],
        "custvisit" => vec!["CustID", "AgentID"],
        "distributors" => vec!["DistributorID", "Name", "Address"],
        _ => vec![],
    }
}

pub(super) fn some(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|v| Some(v.to_string())).collect()
}

impl Input {
    /// The hostile plan: two routes keyed by hostile IDs, their customers and the prospects that
    /// top them up. `with_nul` adds the rows holding a NUL character.
    pub(super) fn new(with_nul: bool, extra: [&'static str; 2]) -> Self {
        let long = long_name();
        // (CustNo, DistributorID, AgentID, Name, Note)
        let mut plan = vec![
            (DROP_X, DROP_CUSTOMER, O_BRIEN, long.as_str(), RTL),
            (O_BRIEN, DROP_CUSTOMER, O_BRIEN, RTL, DROP_X),
            ("plain-1", DROP_CUSTOMER, O_BRIEN, DROP_CUSTOMER, O_BRIEN),
            (DROP_CUSTOMER, DROP_X, RTL, O_BRIEN, DROP_CUSTOMER),
            (RTL, DROP_X, RTL, DROP_X, O_BRIEN),
        ];
        // (CustNo, latitude, longitude, address3)
        let mut customers = vec![
            (DROP_X, 14.60, 121.00, RTL),
            (O_BRIEN, 14.601, 121.001, DROP_CUSTOMER),
            ("plain-1", 14.602, 121.002, "b1"),
            (DROP_CUSTOMER, 14.61, 121.01, O_BRIEN),
            (RTL, 14.611, 121.011, DROP_X),
        ];
        let p_visited = "pO'Brien";
        // (tdlinx, latitude, longitude, barangay_code, store_name_nielsen)
        let mut prospects = vec![
            (
                "p'); DROP TABLE prospective;--",
                14.603,
                121.003,
                RTL,
                long.as_str(),
            ),
            ("p]]; DROP TABLE x;--", 14.613, 121.013, O_BRIEN, DROP_CUSTOMER),
            (p_visited, 14.604, 121.004, DROP_CUSTOMER, O_BRIEN),
            (
                "p\u{202E}rtl",
                14.612,
                121.012,
                DROP_X,
                "\u{202E}Ñandú\u{200F} store",
            ),
        ];
        // (CustID, AgentID)
        let visits = [(p_visited, O_BRIEN), (DROP_X, RTL)];
        // (DistributorID, Latitude, Longitude, Name, Address)
        let mut distributors = vec![
            (DROP_CUSTOMER, 14.59, 120.98, long.as_str(), O_BRIEN),
            (DROP_X, 14.58, 120.97, RTL, DROP_CUSTOMER),
        ];
        if with_nul {
            plan.push((NUL, DROP_X, RTL, NUL, NUL));
            customers.push((NUL, 14.614, 121.014, NUL));
            prospects.push(("p\0nul", 14.615, 121.015, NUL, NUL));
            distributors.push((NUL, 14.57, 120.96, NUL, NUL));
        }
        let n = plan.len();
        let col = |f: &dyn Fn(usize) -> String| (0..n).map(|i| Some(f(i))).collect::<Vec<_>>();
        let plan_table = vec![
            ("CustNo", col(&|i| plan[i].0.to_string())),
            ("RouteDate", col(&|_| "2026-12-01".into())),
            ("Name", col(&|i| plan[i].3.to_string())),
            ("WD", col(&|_| "1".into())),
            ("SalesManTerritory", col(&|_| O_BRIEN.into())),
            ("AgentID", col(&|i| plan[i].2.to_string())),
            ("RouteName", col(&|_| RTL.into())),
            ("DistributorID", col(&|i| plan[i].1.to_string())),
            ("RouteCode", col(&|_| DROP_X.into())),
            ("SalesOfficeID", col(&|_| DROP_CUSTOMER.into())),
            ("StopNo", vec![None; n]),
            ("custype", vec![None; n]),
            (extra[0], col(&|_| long.clone())),
            (extra[1], col(&|i| plan[i].4.to_string())),
        ];
        let c = &customers;
        let customer = vec![
            ("CustNo", some(&c.iter().map(|r| r.0).collect::<Vec<_>>())),
            ("latitude", c.iter().map(|r| Some(r.1.to_string())).collect()),
            ("longitude", c.iter().map(|r| Some(r.2.to_string())).collect()),
            ("address3", some(&c.iter().map(|r| r.3).collect::<Vec<_>>())),
        ];
        let p = &prospects;
        let prospective = vec![
            ("tdlinx", some(&p.iter().map(|r| r.0).collect::<Vec<_>>())),
            ("latitude", p.iter().map(|r| Some(r.1.to_string())).collect()),
            ("longitude", p.iter().map(|r| Some(r.2.to_string())).collect()),
            ("barangay_code", some(&p.iter().map(|r| r.3).collect::<Vec<_>>())),
            (
                "store_name_nielsen",
                some(&p.iter().map(|r| r.4).collect::<Vec<_>>()),
            ),
        ];
        let custvisit = vec![
            ("CustID", some(&visits.iter().map(|r| r.0).collect::<Vec<_>>())),
            ("AgentID", some(&visits.iter().map(|r| r.1).collect::<Vec<_>>())),
            ("TransDate", vec![Some("2026-11-15".to_string()); visits.len()]),
        ];
        let d = &distributors;
        let distributors = vec![
            ("DistributorID", some(&d.iter().map(|r| r.0).collect::<Vec<_>>())),
            ("Latitude", d.iter().map(|r| Some(r.1.to_string())).collect()),
            ("Longitude", d.iter().map(|r| Some(r.2.to_string())).collect()),
            ("Name", some(&d.iter().map(|r| r.3).collect::<Vec<_>>())),
            ("Address", some(&d.iter().map(|r| r.4).collect::<Vec<_>>())),
        ];
        Self {
            extra,
            tables: vec![
                (ROUTE_PLAN, plan_table),
                ("customer", customer),
                ("prospective", prospective),
                ("custvisit", custvisit),
                ("distributors", distributors),
            ],
        }
    }

    /// Writes `<dir>/<Table>.parquet` for each table.
    pub(super) fn write(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for (table, columns) in &self.tables {
            let arrays: Vec<(&str, ArrayRef)> = columns
                .iter()
                .map(|(name, values)| (*name, typed(name, values)))
                .collect();
            let batch = RecordBatch::try_from_iter(arrays).unwrap();
            let file = std::fs::File::create(dir.join(format!("{table}.parquet"))).unwrap();
            let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
            writer.write(&batch).unwrap();
            writer.close().unwrap();
        }
    }

    /// The text columns of `table` as rows, each value cut to its column's width in `widths`.
    pub(super) fn rows(&self, table: &str, widths: &BTreeMap<String, usize>) -> Vec<Vec<Option<String>>> {
        let (_, columns) = self.tables.iter().find(|(t, _)| *t == table).unwrap();
        let names = text_columns(table, self.extra);
        let wanted: Vec<&Vec<Option<String>>> = names
            .iter()
            .map(|c| &columns.iter().find(|(n, _)| n == c).unwrap().1)
            .collect();
        let n = wanted[0].len();
        let mut rows: Vec<Vec<Option<String>>> = (0..n)
            .map(|i| {
                names
                    .iter()
                    .zip(&wanted)
                    .map(|(c, values)| values[i].as_deref().map(|v| cut(v, widths.get(*c))))
                    .collect()
            })
            .collect();
        rows.sort();
        rows
    }

    /// How many values are longer than their column (what `copy` must report).
    pub(super) fn too_long(&self, widths: &BTreeMap<&str, BTreeMap<String, usize>>) -> usize {
        self.tables
            .iter()
            .flat_map(|(table, columns)| {
                columns.iter().flat_map(move |(c, values)| {
                    let width = widths[table].get(*c).copied();
                    values
                        .iter()
                        .flatten()
                        .filter(move |v| width.is_some_and(|w| v.encode_utf16().count() > w))
                })
            })
            .count()
    }
}

/// A column's values as the Arrow type the contract gives it.
pub(super) fn typed(name: &str, values: &[Option<String>]) -> ArrayRef {
    let text: ArrayRef = Arc::new(StringArray::from(values.to_vec()));
    match name {
        "latitude" | "longitude" | "Latitude" | "Longitude" => Arc::new(Float64Array::from(
            values
                .iter()
                .map(|v| v.as_ref().map(|v| v.parse::<f64>().unwrap()))
                .collect::<Vec<_>>(),
        )),
        "WD" | "StopNo" => Arc::new(Int32Array::from(
            values
                .iter()
                .map(|v| v.as_ref().map(|v| v.parse::<i32>().unwrap()))
                .collect::<Vec<_>>(),
        )),
        "RouteDate" | "TransDate" => cast(&text, &DataType::Date32).unwrap(),
        _ => text,
    }
}

/// `value` cut to `width` UTF-16 units (every hostile character here is one unit).
pub(super) fn cut(value: &str, width: Option<&usize>) -> String {
    match width {
        Some(&w) => value.chars().take(w).collect(),
        None => value.to_string(),
    }
}

/// The text columns of `rows` (as [`TestDb::read`] or [`read_table`] give them), sorted.
pub(super) fn project(table: &str, extra: [&'static str; 2], rows: &[Row]) -> Vec<Vec<Option<String>>> {
    let names = text_columns(table, extra);
    let mut out: Vec<Vec<Option<String>>> = rows
        .iter()
        .map(|r| {
            names
                .iter()
                .map(|c| {
                    r.get(*c)
                        .unwrap_or_else(|| panic!("{table} has no column {c:?}: {r:?}"))
                        .clone()
                })
                .collect()
        })
        .collect();
    out.sort();
    out
}
