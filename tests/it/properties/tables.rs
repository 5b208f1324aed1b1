//! The five input tables of a generated case, written as Parquet so that NULL, an empty string, NaN
//! and infinities arrive exactly as generated, and shown as short text lines when a case fails.

use std::fmt;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int32Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;

/// Route dates as text (as the output shows them) and as Date32 days.
pub const DATES: [(&str, i32); 2] = [("2026-12-01", 20_788), ("2026-12-02", 20_789)];
pub const DISTRIBUTORS: [&str; 3] = ["D1", "D2", "D3"];
pub const AGENTS: [&str; 2] = ["A1", "A2"];

/// A coordinate pair as stored: either may be NULL.
pub type Pair = (Option<f64>, Option<f64>);

/// The plan's options that change what it computes.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    pub target_stops: u32,
    pub radius_km: f64,
    pub no_coords_stop: i32,
}

#[derive(Debug, Clone)]
pub struct PlanRow {
    pub cust: Option<String>,
    pub date: Option<usize>,
    pub name: Option<String>,
    pub wd: Option<i32>,
    pub territory: Option<String>,
    pub agent: Option<String>,
    pub route_name: Option<String>,
    pub dist: Option<String>,
    pub route_code: Option<String>,
    pub office: Option<String>,
    pub stop_no: Option<i32>,
    pub custype: Option<String>,
}

/// `customer` (`area` = address3) or `prospective` (`area` = barangay_code) row.
#[derive(Debug, Clone)]
pub struct StoreRow {
    pub id: Option<String>,
    pub at: Pair,
    pub area: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct VisitRow {
    pub cust: Option<String>,
    pub agent: Option<String>,
    pub date: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct DistributorRow {
    pub id: Option<String>,
    pub at: Pair,
}

/// One generated input: the tables in source order and the options.
#[derive(Clone)]
pub struct Spec {
    pub plan: Vec<PlanRow>,
    pub customers: Vec<StoreRow>,
    pub prospects: Vec<StoreRow>,
    pub visits: Vec<VisitRow>,
    pub distributors: Vec<DistributorRow>,
    pub opts: Opts,
}

fn strings<'a>(values: impl Iterator<Item = &'a Option<String>>) -> ArrayRef {
    Arc::new(values.map(|v| v.as_deref()).collect::<StringArray>())
}

fn dates(values: impl Iterator<Item = Option<usize>>) -> ArrayRef {
    Arc::new(values.map(|d| d.map(|d| DATES[d].1)).collect::<Date32Array>())
}

fn floats(values: impl Iterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(values.collect::<Float64Array>())
}

fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut w = ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

impl Spec {
    /// Writes the five tables as `<dir>/<Table>.parquet`.
    pub fn write(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let p = &self.plan;
        let ints = |f: fn(&PlanRow) -> Option<i32>| -> ArrayRef {
            Arc::new(p.iter().map(f).collect::<Int32Array>())
        };
        write_parquet(
            &dir.join("MonthlyRoutePlan_temp.parquet"),
            vec![
                ("CustNo", strings(p.iter().map(|r| &r.cust))),
                ("RouteDate", dates(p.iter().map(|r| r.date))),
                ("Name", strings(p.iter().map(|r| &r.name))),
                ("WD", ints(|r| r.wd)),
                ("SalesManTerritory", strings(p.iter().map(|r| &r.territory))),
                ("AgentID", strings(p.iter().map(|r| &r.agent))),
                ("RouteName", strings(p.iter().map(|r| &r.route_name))),
                ("DistributorID", strings(p.iter().map(|r| &r.dist))),
                ("RouteCode", strings(p.iter().map(|r| &r.route_code))),
                ("SalesOfficeID", strings(p.iter().map(|r| &r.office))),
                ("StopNo", ints(|r| r.stop_no)),
                ("custype", strings(p.iter().map(|r| &r.custype))),
            ],
        );
        let c = &self.customers;
        write_parquet(
            &dir.join("customer.parquet"),
            vec![
                ("CustNo", strings(c.iter().map(|r| &r.id))),
                ("latitude", floats(c.iter().map(|r| r.at.0))),
                ("longitude", floats(c.iter().map(|r| r.at.1))),
                ("address3", strings(c.iter().map(|r| &r.area))),
            ],
        );
        let q = &self.prospects;
        write_parquet(
            &dir.join("prospective.parquet"),
            vec![
                ("tdlinx", strings(q.iter().map(|r| &r.id))),
                ("latitude", floats(q.iter().map(|r| r.at.0))),
                ("longitude", floats(q.iter().map(|r| r.at.1))),
                ("barangay_code", strings(q.iter().map(|r| &r.area))),
                ("store_name_nielsen", strings(q.iter().map(|r| &r.name))),
            ],
        );
        let v = &self.visits;
        write_parquet(
            &dir.join("custvisit.parquet"),
            vec![
                ("CustID", strings(v.iter().map(|r| &r.cust))),
                ("AgentID", strings(v.iter().map(|r| &r.agent))),
                ("TransDate", dates(v.iter().map(|r| r.date))),
            ],
        );
        let d = &self.distributors;
        let names: Vec<Option<String>> = d
            .iter()
            .map(|r| r.id.as_ref().map(|i| format!("Warehouse {i}")))
            .collect();
        write_parquet(
            &dir.join("distributors.parquet"),
            vec![
                ("DistributorID", strings(d.iter().map(|r| &r.id))),
                ("Latitude", floats(d.iter().map(|r| r.at.0))),
                ("Longitude", floats(d.iter().map(|r| r.at.1))),
                ("Name", strings(names.iter())),
                ("Address", strings(names.iter())),
            ],
        );
    }
}

/// The tables as short text lines, so that a shrunk counterexample can be read (and retyped).
impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".into());
        let n = |v: Option<f64>| v.map_or("NULL".into(), |v| v.to_string());
        let day = |d: Option<usize>| d.map_or("NULL", |d| DATES[d].0);
        writeln!(f, "{:?}", self.opts)?;
        writeln!(
            f,
            "plan (CustNo RouteDate Name WD Territory AgentID RouteName DistributorID RouteCode Office StopNo custype):"
        )?;
        for r in &self.plan {
            let wd = r.wd.map_or("NULL".into(), |v| v.to_string());
            let stop = r.stop_no.map_or("NULL".into(), |v| v.to_string());
            writeln!(
                f,
                "  {} {} {} {wd} {} {} {} {} {} {} {stop} {}",
                o(&r.cust),
                day(r.date),
                o(&r.name),
                o(&r.territory),
                o(&r.agent),
                o(&r.route_name),
                o(&r.dist),
                o(&r.route_code),
                o(&r.office),
                o(&r.custype)
            )?;
        }
        for (table, rows) in [("customer", &self.customers), ("prospective", &self.prospects)] {
            writeln!(f, "{table} (id lat lon area name):")?;
            for r in rows {
                writeln!(
                    f,
                    "  {} {} {} {:?} {}",
                    o(&r.id),
                    n(r.at.0),
                    n(r.at.1),
                    r.area,
                    o(&r.name)
                )?;
            }
        }
        writeln!(f, "custvisit:")?;
        for r in &self.visits {
            writeln!(f, "  {} {} {}", o(&r.cust), o(&r.agent), day(r.date))?;
        }
        writeln!(f, "distributors:")?;
        for r in &self.distributors {
            writeln!(f, "  {} {} {}", o(&r.id), n(r.at.0), n(r.at.1))?;
        }
        Ok(())
    }
}
