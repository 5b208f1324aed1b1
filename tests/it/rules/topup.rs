//! Rule 4, the prospect top-up: stages, eligibility, centroid, blank barangays and the global order.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use routeflow::plan::PlanOptions;

use super::{depot, nn, run_nn};
use crate::support::{Tables, config, get, run_config, run_tables};

#[tokio::test]
async fn rule4_barangay_stage_comes_before_radius_stage() {
    // PR is nearer the centroid but only PB shares the customer's barangay (after trimming).
    let tables = Tables {
        plan: vec![Tables::stop("C1")],
        customer: vec!["C1,14.600,121.000, B1 ".into()],
        prospective: vec![
            "PB,14.620,121.000,B1,Barangay Store".into(),
            "PR,14.601,121.000,B2,Radius Store".into(),
        ],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_nn(&tables, 2).await;
    assert_eq!(out.cust("PB").len(), 1);
    assert!(out.cust("PR").is_empty());
    assert_eq!(out.summary.prospects_added.barangay, 1);
    assert_eq!(out.summary.prospects_added.radius, 0);

    let out = run_nn(&tables, 3).await;
    assert_eq!(
        out.cust("PR").len(),
        1,
        "the radius stage fills what the barangay stage left"
    );
    assert_eq!(out.summary.prospects_added.radius, 1);
}

#[tokio::test]
async fn rule4_radius_stage_respects_the_distance_limit() {
    let tables = Tables {
        plan: vec![Tables::stop("C1")],
        customer: vec!["C1,14.600,121.000,B1".into()],
        // ~4.4 km and ~5.6 km north of the centroid.
        prospective: vec![
            "NEAR,14.640,121.000,,Near".into(),
            "FAR,14.650,121.000,,Far".into(),
        ],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_tables(&tables, nn()).await;
    assert_eq!(out.cust("NEAR").len(), 1);
    assert!(out.cust("FAR").is_empty());
    assert_eq!(out.summary.routes.short_after_topup, 1);
}

#[tokio::test]
async fn rule4_contested_prospect_goes_to_the_nearer_route() {
    let tables = Tables {
        plan: vec![
            Tables::stop_on("D1", "A1", "2026-12-01", "C1"),
            Tables::stop_on("D1", "A2", "2026-12-01", "C2"),
        ],
        customer: vec!["C1,14.630,121.000,B1".into(), "C2,14.610,121.000,B2".into()],
        prospective: vec!["P,14.600,121.000,B9,Contested".into()],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_nn(&tables, 2).await;
    let p = out.cust("P");
    assert_eq!(p.len(), 1, "each prospect is added at most once");
    assert_eq!(get(p[0], "AgentID"), Some("A2"));
}

#[tokio::test]
async fn rule4_ineligible_prospects_are_never_added() {
    let tables = Tables {
        plan: vec![
            Tables::stop("C1"),
            Tables::stop_on("D1", "A2", "2026-12-01", "PPLANNED"),
        ],
        customer: vec!["C1,14.600,121.000,B1".into(), "PCUST,14.700,121.000,B1".into()],
        prospective: vec![
            "PVISITED,14.601,121.000,B1,Visited".into(),
            "PCUST,14.602,121.000,B1,Now a customer".into(),
            "PPLANNED,14.603,121.000,B1,Planned elsewhere".into(),
            "PBAD,0,121.000,B1,Bad coordinates".into(),
            "POK,14.604,121.000,B1,Eligible".into(),
        ],
        custvisit: vec!["PVISITED,A9,2026-10-01".into()],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_nn(&tables, 10).await;
    assert_eq!(out.cust("POK").len(), 1);
    assert!(out.cust("PVISITED").is_empty());
    assert!(out.cust("PBAD").is_empty());
    assert_eq!(
        out.cust("PCUST").len(),
        0,
        "a customer is not a prospect any more"
    );
    assert_eq!(out.cust("PPLANNED").len(), 1, "only its planned row");
}

#[tokio::test]
async fn rule4_blank_barangay_never_matches_and_routes_without_centroid_use_prospect_order() {
    // C1 has no valid coordinates, so the route has no centroid; stage 1 still applies by barangay,
    // in tdlinx order. Blank codes never match.
    let tables = Tables {
        plan: vec![Tables::stop("C1"), Tables::stop("C2")],
        customer: vec!["C1,,,B1".into(), "C2,,,   ".into()],
        prospective: vec![
            "PZ,14.600,121.000,B1,Z".into(),
            "PA,14.900,121.000,B1,A".into(),
            // Sorts first: if blank codes matched, C2's blank code would give it the one free place.
            "ABLANK,14.600,121.000,   ,Blank".into(),
        ],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_nn(&tables, 3).await;
    assert_eq!(out.cust("PA").len(), 1, "lowest tdlinx first");
    assert!(out.cust("PZ").is_empty());
    assert!(out.cust("ABLANK").is_empty(), "a blank code never matches");
    assert_eq!(out.summary.routes.without_centroid, 1);
}

#[tokio::test]
async fn rule4_full_routes_get_nothing() {
    let tables = Tables {
        plan: vec![Tables::stop("C1"), Tables::stop("C2")],
        customer: vec!["C1,14.600,121.000,B1".into(), "C2,14.601,121.000,B1".into()],
        prospective: vec!["P1,14.602,121.000,B1,P".into()],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_nn(&tables, 2).await;
    assert!(out.cust("P1").is_empty());
    assert_eq!(out.summary.rows.added, 0);
}

/// Writes `columns` as one Parquet file: the only way to give a source a true empty string (a CSV
/// reader reads an empty field as NULL).
fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn text(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

fn float(values: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(values.to_vec()))
}

#[tokio::test]
async fn rule4_empty_and_blank_barangay_codes_never_match_even_with_room_to_spare() {
    // The route has a customer of each kind of blank code (empty, spaces, NULL) and room for six
    // more stops; the blank prospects sort before the matching one and lie 22 km away, beyond the
    // radius, so only a barangay match could add them.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let tables = Tables {
        plan: ["C1", "C2", "C3", "C4"].iter().map(|c| Tables::stop(c)).collect(),
        distributors: vec![depot()],
        ..Default::default()
    };
    tables.write(&input);
    for table in ["customer", "prospective"] {
        std::fs::remove_file(input.join(format!("{table}.csv"))).unwrap();
    }
    write_parquet(
        &input.join("customer.parquet"),
        vec![
            ("CustNo", text(&[Some("C1"), Some("C2"), Some("C3"), Some("C4")])),
            (
                "latitude",
                float(&[Some(14.600), Some(14.601), Some(14.602), None]),
            ),
            ("longitude", float(&[Some(121.0), Some(121.0), Some(121.0), None])),
            ("address3", text(&[Some("B1"), Some(""), Some("   "), None])),
        ],
    );
    let far = Some(14.800);
    write_parquet(
        &input.join("prospective.parquet"),
        vec![
            (
                "tdlinx",
                text(&[Some("A_EMPTY"), Some("A_NULL"), Some("A_SPACES"), Some("B_MATCH")]),
            ),
            ("latitude", float(&[far, far, far, far])),
            ("longitude", float(&[Some(121.0); 4])),
            (
                "barangay_code",
                text(&[Some(""), None, Some("   "), Some(" B1 ")]),
            ),
            (
                "store_name_nielsen",
                text(&[Some("Empty"), Some("Null"), Some("Spaces"), Some("Match")]),
            ),
        ],
    );
    let plan = PlanOptions {
        target_stops: 10,
        ..nn()
    };
    let out = run_config(config(&input, &dir.path().join("out"), plan), dir).await;
    assert_eq!(out.cust("B_MATCH").len(), 1, "codes are compared trimmed");
    for blank in ["A_EMPTY", "A_SPACES", "A_NULL"] {
        assert!(
            out.cust(blank).is_empty(),
            "{blank} was added: a blank barangay code matched"
        );
    }
    assert_eq!(out.summary.prospects_added.barangay, 1);
    assert_eq!(out.summary.prospects_added.radius, 0);
    assert_eq!(out.summary.routes.short_after_topup, 1);
}

#[tokio::test]
async fn rule4_centroid_is_the_mean_of_the_distinct_customer_stops_with_valid_coordinates() {
    // Three customers whose mean is (14.62, 121.02); C1 is planned twice, CZERO has invalid
    // coordinates, and the prospect PPLAN already on the route lies 30 km east. Eight prospects
    // ring the mean at 4.6 km and eight at 5.4 km: the radius stage (5 km) must take exactly the
    // inner ring. Any other centroid (with PPLAN or CZERO, C1 weighted twice, one customer, the
    // median) is at least 0.77 km off and swaps some prospects between the rings.
    let directions = [
        ("N", 14.6614, 121.0200, 14.6686, 121.0200),
        ("NE", 14.6493, 121.0502, 14.6543, 121.0555),
        ("E", 14.6200, 121.0628, 14.6200, 121.0702),
        ("SE", 14.5907, 121.0502, 14.5857, 121.0555),
        ("S", 14.5786, 121.0200, 14.5714, 121.0200),
        ("SW", 14.5907, 120.9898, 14.5857, 120.9845),
        ("W", 14.6200, 120.9772, 14.6200, 120.9698),
        ("NW", 14.6493, 120.9898, 14.6543, 120.9845),
    ];
    let mut prospective = vec!["PPLAN,14.620,121.300,BX,Planned prospect".to_string()];
    for (d, in_lat, in_lon, out_lat, out_lon) in directions {
        prospective.push(format!("IN_{d},{in_lat},{in_lon},BX,Inner {d}"));
        prospective.push(format!("OUT_{d},{out_lat},{out_lon},BX,Outer {d}"));
    }
    let tables = Tables {
        plan: ["C1", "C2", "C1", "C3", "CZERO", "PPLAN"]
            .iter()
            .map(|c| Tables::stop(c))
            .collect(),
        customer: vec![
            "C1,14.600,121.000,B1".into(),
            "C2,14.600,121.060,B1".into(),
            "C3,14.660,121.000,B1".into(),
            "CZERO,0,121.000,B1".into(),
        ],
        prospective,
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_tables(&tables, nn()).await;
    let mut added: Vec<&str> = out
        .rows
        .iter()
        .filter_map(|r| get(r, "CustNo"))
        .filter(|c| c.starts_with("IN_") || c.starts_with("OUT_"))
        .collect();
    added.sort_unstable();
    let mut inner: Vec<String> = directions.iter().map(|d| format!("IN_{}", d.0)).collect();
    inner.sort_unstable();
    assert_eq!(added, inner, "prospects within 5 km of the centroid");
    assert_eq!(out.summary.prospects_added.radius, 8);
}

#[tokio::test]
async fn rule4_equal_distance_ties_go_by_route_key_then_tdlinx_in_both_stages() {
    // Three routes share one customer, so their centroids are the same point, and four prospects
    // share one point: every pair is at the same distance. Route keys in order: (D1, A9, 12-02),
    // (D1, A9, 12-03), (D2, A1, 12-01) — by AgentID alone the last would come first. Neither the
    // plan nor `prospective` lists them in that order.
    for (code, stage) in [("B1", "barangay"), ("BX", "radius")] {
        let tables = Tables {
            plan: vec![
                Tables::stop_on("D1", "A9", "2026-12-03", "C1"),
                Tables::stop_on("D2", "A1", "2026-12-01", "C1"),
                Tables::stop_on("D1", "A9", "2026-12-02", "C1"),
            ],
            customer: vec!["C1,14.600,121.000,B1".into()],
            prospective: ["PB", "PD", "PA", "PC"]
                .iter()
                .map(|p| format!("{p},14.610,121.000,{code},Store {p}"))
                .collect(),
            distributors: vec![depot(), "D2,14.590,121.000,Warehouse 2,x".into()],
            ..Default::default()
        };
        let out = run_nn(&tables, 2).await;
        for (prospect, dist, date) in [
            ("PA", "D1", "2026-12-02"),
            ("PB", "D1", "2026-12-03"),
            ("PC", "D2", "2026-12-01"),
        ] {
            let rows = out.cust(prospect);
            assert_eq!(rows.len(), 1, "{stage}: {prospect} added once");
            let route = (get(rows[0], "DistributorID"), get(rows[0], "RouteDate"));
            assert_eq!(route, (Some(dist), Some(date)), "{stage}: route of {prospect}");
        }
        assert!(out.cust("PD").is_empty(), "{stage}: every route is full");
        let by_stage = &out.summary.prospects_added;
        let n = if stage == "barangay" {
            by_stage.barangay
        } else {
            by_stage.radius
        };
        assert_eq!(n, 3, "{stage}");
    }
}

#[tokio::test]
async fn rule4_a_tdlinx_listed_twice_is_added_once_with_its_first_row() {
    // Two routes with one free place each and three rows of prospects at one point, PA twice: the
    // first route (A1) takes PA, the second PB. Were PA's second row a prospect of its own, the
    // second route would take it instead of PB.
    let tables = Tables {
        plan: vec![
            Tables::stop_on("D1", "A1", "2026-12-01", "C1"),
            Tables::stop_on("D1", "A2", "2026-12-01", "C1"),
        ],
        customer: vec!["C1,14.600,121.000,B1".into()],
        prospective: vec![
            "PA,14.610,121.000,BX,First row".into(),
            "PB,14.610,121.000,BX,Other store".into(),
            "PA,14.610,121.000,BX,Second row".into(),
        ],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_nn(&tables, 2).await;
    let pa = out.cust("PA");
    assert_eq!(pa.len(), 1, "PA added at most once: {pa:?}");
    assert_eq!(get(pa[0], "Name"), Some("First row"), "the first row wins");
    assert_eq!(get(pa[0], "AgentID"), Some("A1"));
    let pb = out.cust("PB");
    assert_eq!(pb.len(), 1);
    assert_eq!(get(pb[0], "AgentID"), Some("A2"));
    assert_eq!(out.summary.duplicates.prospective_tdlinx, 1);
}
