//! Names that SQL and Rust must agree on: the route key, the stage views and tables of `plans/`, and
//! the columns Rust reads from them or adds to them.
//!
//! The SQL of `plans/` spells these names in its own text; Rust code uses the constants here, so a
//! typo is a compile error and a rename is one edit. [`READ_FROM_VIEWS`] lists, view by view, every
//! column the Rust side expects, and a test registers the plan on the fixtures and checks each one
//! exists, so a view renamed or a column dropped in `plans/` fails that test, not a nightly run.
//! (The contract's own tables and their columns are in [`crate::schema`].)

/// Columns of the contract's plan table that name a route and a stop.
pub const DISTRIBUTOR_ID: &str = "DistributorID";
pub const AGENT_ID: &str = "AgentID";
pub const ROUTE_DATE: &str = "RouteDate";
pub const CUST_NO: &str = "CustNo";

/// The route key: a route is one agent's day at one distributor. Every table that has it is sorted
/// by it, and the sequencing operator's partitions hold whole routes of it.
pub const ROUTE_KEY: [&str; 3] = [DISTRIBUTOR_ID, AGENT_ID, ROUTE_DATE];
/// The columns that identify a plan row: route key and store.
pub const ROW_KEY: [&str; 4] = [DISTRIBUTOR_ID, AGENT_ID, ROUTE_DATE, CUST_NO];

/// The plan's stages ([`crate::plan::STAGES`]), as the run's phases and progress name them.
pub mod stage {
    pub const LOOKUP: &str = "lookup";
    pub const ENRICH: &str = "enrich";
    pub const ROUTES: &str = "routes";
    pub const CANDIDATES: &str = "candidates";
    pub const TOPUP: &str = "topup";
    pub const SEQUENCE: &str = "sequence";
    pub const ROUTE_SUMMARY: &str = "route_summary";
    pub const ROUTE_PLAN: &str = "route_plan";
}

/// Views and tables of the plan's stages (see [`crate::plan::STAGES`]).
pub mod view {
    /// Every distinct stop of every route (`plans/enrich.sql`).
    pub const PLAN_STOPS: &str = "plan_stops";
    /// One row per route: size, centroid, depot, need (`plans/routes.sql`).
    pub const ROUTES: &str = "routes";
    /// Prospects the top-up may add (`plans/prospects.sql`).
    pub const ELIGIBLE_PROSPECTS: &str = "eligible_prospects";
    /// Routes below the target, the top-up's first input (`plans/candidates.sql`).
    pub const TOPUP_ROUTES: &str = "topup_routes";
    /// Barangay codes of each short route (`plans/candidates.sql`).
    pub const ROUTE_BARANGAYS: &str = "route_barangays";
    /// The prospects added to short routes: a table computed in Rust ([`crate::plan::topup_exec`]).
    pub const TOPUP: &str = "topup";
    /// Every stop with its route's number and depot (`plans/sequence.sql`).
    pub const SEQUENCE_INPUT: &str = "sequence_input";
    /// Every stop with its StopNo: a table computed in Rust ([`crate::plan::sequence_exec`]).
    pub const ROUTE_STOPS: &str = "route_stops";
    /// One row per route with its path length (`plans/route_summary.sql`).
    pub const ROUTE_SUMMARY: &str = "route_summary";
    /// The result table as the plan computes it (`plans/route_plan.sql`); the sink writes it under the
    /// contract's name, [`crate::schema::ROUTE_PLAN`].
    pub const ROUTE_PLAN: &str = "route_plan";
    /// The one-row table of run options the SQL stages read ([`crate::plan::PlanOptions::to_batch`]).
    pub const RUN_OPTIONS: &str = "run_options";
}

/// Columns of the stage views that Rust reads, and those it appends.
pub mod column {
    /// A route's number in route key order: the top-up's tie order and the sequencing group.
    pub const ROUTE_IDX: &str = "route_idx";
    pub const CENTROID_LAT: &str = "centroid_lat";
    pub const CENTROID_LON: &str = "centroid_lon";
    /// Prospects a route needs to reach the target.
    pub const NEED: &str = "need";
    /// A short route's barangay code (`route_barangays`).
    pub const CODE: &str = "code";
    pub const TDLINX: &str = "tdlinx";
    pub const STORE_NAME_NIELSEN: &str = "store_name_nielsen";
    pub const LATITUDE: &str = "latitude";
    pub const LONGITUDE: &str = "longitude";
    /// A prospect's barangay code (`eligible_prospects`).
    pub const BARANGAY: &str = "barangay";
    pub const DEPOT_LAT: &str = "depot_lat";
    pub const DEPOT_LON: &str = "depot_lon";
    /// An added prospect's store name (`topup`).
    pub const NAME: &str = "Name";
    /// Which top-up stage added a prospect: `barangay` or `radius` (`topup`).
    pub const STAGE: &str = "stage";
    pub const DISTANCE_KM: &str = "distance_km";
    /// What sequencing appends to every stop (`route_stops`).
    pub const STOP_NO: &str = "stop_no";
    pub const ROUTE_KM: &str = "route_km";
    pub const NN_KM: &str = "nn_km";
}

use column::*;

/// Every column the Rust side reads from a view (or a later view reads from a table Rust computes),
/// by view. Checked against the registered plan by the test `every_name_rust_reads_is_in_the_views`.
pub const READ_FROM_VIEWS: &[(&str, &[&str])] = &[
    // The top-up operator's three inputs.
    (
        view::TOPUP_ROUTES,
        &[
            ROUTE_IDX,
            DISTRIBUTOR_ID,
            AGENT_ID,
            ROUTE_DATE,
            CENTROID_LAT,
            CENTROID_LON,
            NEED,
        ],
    ),
    (view::ROUTE_BARANGAYS, &[ROUTE_IDX, CODE]),
    (
        view::ELIGIBLE_PROSPECTS,
        &[TDLINX, STORE_NAME_NIELSEN, LATITUDE, LONGITUDE, BARANGAY],
    ),
    // The sequencing operator's input, partitioned by route key.
    (
        view::SEQUENCE_INPUT,
        &[
            ROUTE_IDX,
            CUST_NO,
            LATITUDE,
            LONGITUDE,
            DEPOT_LAT,
            DEPOT_LON,
            DISTRIBUTOR_ID,
            AGENT_ID,
            ROUTE_DATE,
        ],
    ),
    // What the two operators give the later views.
    (
        view::TOPUP,
        &[
            DISTRIBUTOR_ID,
            AGENT_ID,
            ROUTE_DATE,
            CUST_NO,
            NAME,
            LATITUDE,
            LONGITUDE,
            STAGE,
            DISTANCE_KM,
        ],
    ),
    (view::ROUTE_STOPS, &[ROUTE_IDX, STOP_NO, ROUTE_KM, NN_KM]),
    // The snapshot sorts these by route key; the sinks partition the result by distributor.
    (view::ROUTE_SUMMARY, &ROUTE_KEY),
    (view::ROUTE_PLAN, &ROW_KEY),
    (view::ROUTES, &ROUTE_KEY),
    (view::PLAN_STOPS, &ROW_KEY),
];
