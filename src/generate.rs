//! Synthetic input data for `routeflow generate`.
//!
//! Produces the five input tables of the route-plan contract (`docs/route-plan.md`) for a made-up
//! consumer-goods distribution network in the Philippines, at three sizes: `small` (committed as
//! `fixtures/small`), `medium`, and `national` (the benchmark size, about 26,000 routes and 1.3
//! million plan rows).
//!
//! The data is shaped the way production data is, because the optimizer's tests and benchmarks
//! depend on it:
//! - stores cluster around twenty real cities, each agent working one territory with one sub-area
//!   per weekday, so a day's stops are a few kilometres apart and prospects lie nearby;
//! - barangay codes are 10-digit PSGC-style strings derived from a 1 km cell, so neighbours share a
//!   code (stage 1 of the top-up) and a city has several hundred codes;
//! - most routes are short of the 60-stop target, some are exactly at it, some are far over it
//!   (including more than 100 stops, beyond the no-coordinates `StopNo` of 100);
//! - a small share of rows is broken in each way the contract has a rule for: customers with NULL,
//!   zero, out-of-box or swapped coordinates, duplicate `CustNo`, plan rows naming unknown stores or
//!   prospects, duplicate stops within a route, NULL route keys, visited prospects, converted
//!   prospects (a `tdlinx` that is also a `CustNo`), and barangay codes that need trimming.
//!
//! Everything derives from the seed through an in-module SplitMix64 generator and plain arithmetic
//! (no `rand`, no platform `sin`/`cos`/`ln`), so the same options give identical tables on every
//! platform and with every dependency version. Each distributor draws from its own stream, so a
//! larger `factor` appends distributors without changing the earlier ones' rows (only ids shift).

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Builder, Float64Builder, Int32Builder, StringBuilder};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::schema::{self, canonical_schema};

/// Rows per generated Arrow batch: large enough to amortise per-batch overhead, small enough to
/// keep builders cache-friendly.
const BATCH_ROWS: usize = 64 * 1024;
/// Rows per Parquet row group: a few row groups per large table, so readers can parallelise.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// First day of the plan month, 2026-12-01 (a Tuesday), as days since the Unix epoch.
pub const PLAN_START: i32 = days_from_civil(2026, 12, 1);
/// Visits cover the three months before the plan month: 2026-09-01 up to the day before it.
const VISITS_FROM: i32 = days_from_civil(2026, 9, 1);

/// Working days per week (Monday to Saturday); each agent has one sub-area per working weekday.
const WEEKDAYS: usize = 6;
const WEEKDAY_NAMES: [&str; WEEKDAYS] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
/// Customers in an agent's pool for one weekday. A route of more stops borrows from the next
/// weekday's pool, as agents do when they merge routes.
const POOL_PER_WEEKDAY: usize = 75;

/// Share of customers with bad coordinates (NULL, zero, outside the box, swapped).
const CUSTOMER_BAD_COORDS: f64 = 0.02;
/// Share of prospects with bad coordinates.
const PROSPECT_BAD_COORDS: f64 = 0.02;
/// Share of customers whose `CustNo` appears a second time, later, with other coordinates.
const CUSTOMER_DUPLICATE: f64 = 0.005;
/// Share of prospects that became customers under their `tdlinx` (rule 4: no longer a prospect).
const PROSPECT_CONVERTED: f64 = 0.005;
/// Share of planned customers visited in the last three months.
const CUSTOMER_VISITED: f64 = 0.9;
/// Share of prospects visited in the last three months: never to be added by the optimizer.
const PROSPECT_VISITED: f64 = 0.10;
/// Share of plan rows that name a prospect (already in the plan, so not eligible for top-up).
const PLAN_PROSPECT: f64 = 0.004;
/// Share of plan rows that name a store in neither `customer` nor `prospective`.
const PLAN_UNKNOWN: f64 = 0.002;
/// Share of routes that plan one store twice on the same day.
const PLAN_DUPLICATE_STOP: f64 = 0.02;
/// Share of plan rows with one NULL route key or `CustNo` (not routable).
const PLAN_NULL_KEY: f64 = 0.0005;

/// The first routes of the data set carry one fixed feature each (see `Distributor::emit_plan`).
const FEATURED_ROUTES: u64 = 10;

/// Width of the plan's `Name` column in production (`nvarchar(15)`).
const PLAN_NAME_CHARS: usize = 15;

/// An option chosen by name on the command line.
trait Named: Sized + Copy + 'static {
    /// Every value.
    const ALL: &'static [Self];
    /// What the option is, and its names as a list, for the parse error.
    const WHAT: &'static str;
    const EXPECTED: &'static str;
    fn name(self) -> &'static str;
}

/// `Display` as the name and `FromStr` from it, ignoring case and surrounding blanks.
macro_rules! named_display_and_parse {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $t {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().to_ascii_lowercase();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.name() == wanted)
                    .ok_or_else(|| format!("unknown {} `{s}`: expected {}", Self::WHAT, Self::EXPECTED))
            }
        }
    };
}

/// How much data to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// 3 distributors × 3 agents × 5 working days (~45 routes): the committed fixture.
    Small,
    /// 10 distributors × 10 agents × 26 working days (2,600 routes).
    Medium,
    /// 100 distributors × 10 agents × 26 working days (~26,000 routes, ~1.3 million plan rows).
    National,
}

impl Scale {
    /// Distributors at `factor` 1.
    pub fn distributors(self) -> usize {
        match self {
            Scale::Small => 3,
            Scale::Medium => 10,
            Scale::National => 100,
        }
    }

    /// Field sales agents per distributor.
    pub fn agents_per_distributor(self) -> usize {
        match self {
            Scale::Small => 3,
            Scale::Medium | Scale::National => 10,
        }
    }

    /// Working days (Monday to Saturday) planned from [`PLAN_START`].
    pub fn working_days(self) -> usize {
        match self {
            Scale::Small => 5,
            Scale::Medium | Scale::National => 26,
        }
    }
}

impl Named for Scale {
    const ALL: &'static [Self] = &[Scale::Small, Scale::Medium, Scale::National];
    const WHAT: &'static str = "scale";
    const EXPECTED: &'static str = "small, medium or national";

    fn name(self) -> &'static str {
        match self {
            Scale::Small => "small",
            Scale::Medium => "medium",
            Scale::National => "national",
        }
    }
}

named_display_and_parse!(Scale);

/// How many prospects there are for the routes to take: the top-up's workload depends on it more
/// than on anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prospects {
    /// Half again as many prospects as customers around every agent's weekday area, in 1 km
    /// barangays: every short route is filled in the barangay stage and the radius stage adds
    /// nothing. Today's benchmark profile.
    #[default]
    Plentiful,
    /// Fewer prospects than the routes' combined need, in cities half as wide, so that each barangay
    /// is shared by many routes: routes compete for the same stores, a large share stays short
    /// after the top-up, and the radius stage does real work. The month a field force reaches once
    /// it has visited the easy stores.
    Scarce,
}

impl Prospects {
    /// Prospects placed around each agent's weekday area.
    fn per_area(self) -> usize {
        match self {
            Prospects::Plentiful => POOL_PER_WEEKDAY * 3 / 2,
            Prospects::Scarce => POOL_PER_WEEKDAY / 2,
        }
    }

    /// City-wide prospects (no agent's area) for `extra` city-wide customers.
    fn city_wide(self, extra: usize) -> usize {
        match self {
            Prospects::Plentiful => extra * 3 / 2,
            Prospects::Scarce => extra * 2,
        }
    }

    /// Spread (km, standard deviation) of an area's prospects around its centre: wider than its
    /// customers' (0.7), and in the scarce profile wide enough that many lie outside the barangays
    /// of the routes that can reach them, for the radius stage.
    fn area_spread_km(self) -> f64 {
        match self {
            Prospects::Plentiful => 0.9,
            Prospects::Scarce => 1.2,
        }
    }

    /// How far agents' territories and city-wide stores spread, as a share of the full city: the
    /// scarce profile packs a city's routes and prospects into half the distance (a quarter of the
    /// area), so that every route's 5 km radius reaches thousands of prospects that others took.
    fn city_spread(self) -> f64 {
        match self {
            Prospects::Plentiful => 1.0,
            Prospects::Scarce => 0.5,
        }
    }
}

impl Named for Prospects {
    const ALL: &'static [Self] = &[Prospects::Plentiful, Prospects::Scarce];
    const WHAT: &'static str = "prospect profile";
    const EXPECTED: &'static str = "plentiful or scarce";

    fn name(self) -> &'static str {
        match self {
            Prospects::Plentiful => "plentiful",
            Prospects::Scarce => "scarce",
        }
    }
}

named_display_and_parse!(Prospects);

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub scale: Scale,
    /// Everything is derived from it: the same options give the same tables.
    pub seed: u64,
    /// Multiplies the number of distributors (scaling benchmarks: 4 = 4x the data). 0 counts as 1.
    pub factor: u32,
    /// How scarce prospects are.
    pub prospects: Prospects,
}

/// Generated tables: (table name, batches) for the five tables, in [`schema::INPUT_TABLES`] order.
/// Every batch has exactly the table's canonical schema.
pub fn generate(opts: &GenerateOptions) -> Vec<(&'static str, Vec<RecordBatch>)> {
    let distributors = opts.scale.distributors() * opts.factor.max(1) as usize;
    let days = working_days(opts.scale.working_days());
    let mut tables = Tables::new();
    let mut ids = Ids::default();
    for d in 0..distributors {
        let mut rng = Rng::stream(opts.seed, d as u64);
        let dist = Distributor::new(d, opts.scale, opts.prospects, &mut rng, &mut ids);
        dist.emit_distributor(&mut rng, &mut tables.distributors);
        let converted = dist.emit_prospects(&mut rng, &mut tables.prospective);
        dist.emit_customers(&mut rng, &converted, &mut tables.customer);
        dist.emit_visits(&mut rng, &mut tables.custvisit);
        dist.emit_plan(&mut rng, &days, &mut ids, &mut tables.plan);
    }
    tables.finish()
}

/// Writes the tables as `DIR/<Table>.parquet` (zstd, row groups of up to 128k rows), creating
/// `DIR`. Each file is written under a temporary name and renamed, so an interrupted run never
/// leaves a truncated file that looks complete.
pub fn write_parquet_dir(dir: &Path, tables: &[(&'static str, Vec<RecordBatch>)]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    for (table, batches) in tables {
        let path = dir.join(format!("{table}.parquet"));
        let tmp = dir.join(format!("{table}.parquet.tmp"));
        let schema = batches
            .first()
            .map(|b| b.schema())
            .unwrap_or_else(|| canonical_schema(table));
        let mut writer = ArrowWriter::try_new(File::create(&tmp)?, schema, Some(props.clone()))?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.close()?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(())
}

/// Per-table row counts, for logging.
pub fn row_counts(tables: &[(&'static str, Vec<RecordBatch>)]) -> Vec<(&'static str, usize)> {
    tables
        .iter()
        .map(|(name, batches)| (*name, batches.iter().map(|b| b.num_rows()).sum()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Randomness

/// SplitMix64: tiny, fast and fully specified, so the data never changes with a dependency upgrade.
#[derive(Debug, Clone)]
struct Rng(u64);

/// The SplitMix64 output function, also used to hash seeds into independent streams.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// An independent stream per distributor, so adding distributors leaves the others unchanged.
    fn stream(seed: u64, stream: u64) -> Self {
        Rng(mix(seed ^ mix(stream.wrapping_add(0x5EED))))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in 0..n (multiply-high; the bias is far below anything observable here).
    fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Uniform in lo..=hi.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Approximately standard normal (Irwin-Hall sum of four uniforms, rescaled): bounded at
    /// ±3.5 sd, which keeps clusters compact, and free of platform-dependent `ln`/`cos`.
    fn normal(&mut self) -> f64 {
        let sum = self.unit() + self.unit() + self.unit() + self.unit();
        (sum - 2.0) * 3f64.sqrt()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Moves a uniform sample of `take` items to the front of `items` (partial Fisher-Yates).
    fn sample_front<T>(&mut self, items: &mut [T], take: usize) {
        for i in 0..take.min(items.len()) {
            let j = i + self.below(items.len() - i);
            items.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Dates

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
const fn days_from_civil(y: i32, m: i32, d: i32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Day of week with Monday = 0 and Sunday = 6 (1970-01-01 was a Thursday).
fn weekday(day: i32) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// The first `n` working days (Monday to Saturday) from [`PLAN_START`].
fn working_days(n: usize) -> Vec<i32> {
    (PLAN_START..).filter(|&d| weekday(d) != 6).take(n).collect()
}

// ---------------------------------------------------------------------------------------------
// Geography

/// A city with its PSGC prefix (region 2 + province 3 + city 2 digits) and a short code for ids.
#[derive(Debug, Clone, Copy)]
struct City {
    name: &'static str,
    code: &'static str,
    /// Seven digits, leading zeros included.
    psgc: &'static str,
    /// Which copy of the country (`--factor`) this is: 0 for the real city.
    copy: u32,
    lat: f64,
    lon: f64,
}

impl City {
    /// The barangay-code prefix: the city's PSGC, plus the copy number for a copy.
    fn code_prefix(&self) -> String {
        let psgc: u32 = self.psgc.parse().expect("seven digits");
        format!("{:07}", psgc + self.copy)
    }
}

/// Where distributor `index` works. Cities repeat every 20 distributors; each further `--factor`
/// copy of the country (every `base` distributors) moves its cities to new ground, 0.3° of
/// latitude (33 km, more than a city's 30 km span) per copy towards the middle of the islands,
/// with their own barangay codes. So 4x the data is 4x the territory, as a larger country would
/// be, not 4x as many distributors packed into the same streets.
fn site(index: usize, base: usize) -> City {
    let city = CITIES[index % CITIES.len()];
    let copy = (index / base.max(1)) as u32;
    let towards_middle = if city.lat < 12.0 { 0.3 } else { -0.3 };
    City {
        copy,
        lat: city.lat + towards_middle * f64::from(copy),
        ..city
    }
}

const fn city(name: &'static str, code: &'static str, psgc: &'static str, lat: f64, lon: f64) -> City {
    City {
        name,
        code,
        psgc,
        copy: 0,
        lat,
        lon,
    }
}

/// Twenty real cities; distributor `d` sits in city `d % 20`.
const CITIES: [City; 20] = [
    city("Manila", "MNL", "1380600", 14.5995, 120.9842),
    city("Quezon City", "QZN", "1381300", 14.6760, 121.0437),
    city("Cebu City", "CEB", "0730600", 10.3157, 123.8854),
    city("Davao City", "DVO", "1130700", 7.1907, 125.4553),
    city("Iloilo City", "ILO", "0631000", 10.7202, 122.5621),
    city("Bacolod", "BCD", "0630200", 10.6765, 122.9509),
    city("Cagayan de Oro", "CGY", "1030500", 8.4542, 124.6319),
    city("Zamboanga City", "ZAM", "0931700", 6.9214, 122.0790),
    city("Baguio", "BAG", "1430300", 16.4023, 120.5960),
    city("General Santos", "GES", "1226300", 6.1164, 125.1716),
    city("Tacloban", "TAC", "0837800", 11.2443, 125.0039),
    city("Legazpi", "LGP", "0500500", 13.1391, 123.7438),
    city("Batangas City", "BTG", "0401000", 13.7565, 121.0583),
    city("Angeles", "ANG", "0330100", 15.1450, 120.5887),
    city("Dagupan", "DAG", "0155200", 16.0433, 120.3333),
    city("Puerto Princesa", "PPS", "1705300", 9.7392, 118.7353),
    city("Tuguegarao", "TUG", "0221500", 17.6132, 121.7270),
    city("Naga", "WNP", "0501700", 13.6218, 123.1948),
    city("Butuan", "BXU", "1600200", 8.9475, 125.5406),
    city("Lucena", "LCN", "0405600", 13.9414, 121.6234),
];

const KM_PER_DEG_LAT: f64 = 111.32;
/// No store lies farther than this from its city centre.
const CITY_RADIUS_KM: f64 = 15.0;
/// Barangay cells: 31 × 31 cells of 1 km cover the city radius and give at most 961 codes,
/// which fit the 3 barangay digits of a PSGC code.
const CELL_KM: f64 = 1.0;
const CELLS: i64 = 31;

/// A point in km east (`x`) and north (`y`) of a city centre: placement, distance limits and
/// barangay cells are simplest in this local flat frame (the error over 15 km is negligible).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Km {
    x: f64,
    y: f64,
}

impl Km {
    const ORIGIN: Km = Km { x: 0.0, y: 0.0 };

    fn norm(self) -> f64 {
        (self.x * self.x + self.y * self.y).sqrt()
    }

    /// Pulls the point back onto the circle of radius `r` when it lies outside it.
    fn clamped(self, r: f64) -> Km {
        let d = self.norm();
        if d > r {
            Km {
                x: self.x * r / d,
                y: self.y * r / d,
            }
        } else {
            self
        }
    }

    /// A point scattered around `self` with standard deviation `sd` km on each axis.
    fn scatter(self, rng: &mut Rng, sd: f64) -> Km {
        Km {
            x: self.x + rng.normal() * sd,
            y: self.y + rng.normal() * sd,
        }
    }
}

/// A uniform point of the ring between `r_min` and `r_max` km from the centre.
fn ring_point(rng: &mut Rng, r_min: f64, r_max: f64) -> Km {
    loop {
        let p = Km {
            x: (2.0 * rng.unit() - 1.0) * r_max,
            y: (2.0 * rng.unit() - 1.0) * r_max,
        };
        let d = p.norm();
        if d >= r_min && d <= r_max {
            return p;
        }
    }
}

/// cos of an angle in degrees by its Taylor series: exact to double precision for the latitudes
/// used here, and identical on every platform (unlike libm).
fn cos_deg(deg: f64) -> f64 {
    let x = deg.to_radians();
    let x2 = x * x;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..12 {
        term *= -x2 / ((2 * k - 1) as f64 * (2 * k) as f64);
        sum += term;
    }
    sum
}

/// Rounds to `decimals` places; the power of ten is built by exact multiplications so the result
/// does not depend on how a platform implements `powi`.
fn round_to(v: f64, decimals: i32) -> f64 {
    let scale = (0..decimals).fold(1.0, |s, _| s * 10.0);
    (v * scale).round() / scale
}

/// Converts km offsets around one city to degrees.
struct Frame {
    lat0: f64,
    lon0: f64,
    km_per_deg_lon: f64,
}

impl Frame {
    fn new(city: &City) -> Self {
        Frame {
            lat0: city.lat,
            lon0: city.lon,
            km_per_deg_lon: KM_PER_DEG_LAT * cos_deg(city.lat),
        }
    }

    /// (latitude, longitude) rounded to `decimals` places, as the source columns store them.
    fn lat_lon(&self, p: Km, decimals: i32) -> (f64, f64) {
        (
            round_to(self.lat0 + p.y / KM_PER_DEG_LAT, decimals),
            round_to(self.lon0 + p.x / self.km_per_deg_lon, decimals),
        )
    }
}

/// The PSGC-style barangay code of the 1 km cell holding `p`: nearby stores share a code.
fn barangay_code(city: &City, p: Km) -> String {
    let half = CELLS / 2;
    let ix = ((p.x / CELL_KM).floor() as i64 + half).clamp(0, CELLS - 1);
    let iy = ((p.y / CELL_KM).floor() as i64 + half).clamp(0, CELLS - 1);
    format!("{}{:03}", city.code_prefix(), iy * CELLS + ix + 1)
}

/// A barangay code as a source might hold it: mostly clean, sometimes padded with spaces, empty,
/// blank or NULL (the optimizer trims codes and never matches an empty one).
fn messy_code<'a>(rng: &mut Rng, code: &'a str) -> Option<Cow<'a, str>> {
    let u = rng.unit();
    if u < 0.985 {
        Some(Cow::Borrowed(code))
    } else if u < 0.995 {
        Some(Cow::Owned(match rng.below(3) {
            0 => format!(" {code}"),
            1 => format!("{code}  "),
            _ => format!(" {code} "),
        }))
    } else if u < 0.997 {
        Some(Cow::Borrowed(""))
    } else if u < 0.999 {
        Some(Cow::Borrowed("   "))
    } else {
        None
    }
}

/// The kinds of bad coordinates found in real store masters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadCoords {
    Good,
    Null,
    Zero,
    Outside,
    Swapped,
}

impl BadCoords {
    fn draw(rng: &mut Rng, rate: f64) -> Self {
        if !rng.chance(rate) {
            return BadCoords::Good;
        }
        match rng.below(4) {
            0 => BadCoords::Null,
            1 => BadCoords::Zero,
            2 => BadCoords::Outside,
            _ => BadCoords::Swapped,
        }
    }

    /// Applies the defect to a good pair. Out-of-box variants are chosen so that swapping them
    /// back would not land in the box either: only `Swapped` should be reported as swapped.
    fn apply(self, rng: &mut Rng, lat: f64, lon: f64) -> (Option<f64>, Option<f64>) {
        match self {
            BadCoords::Good => (Some(lat), Some(lon)),
            BadCoords::Null => match rng.below(3) {
                0 => (None, Some(lon)),
                1 => (Some(lat), None),
                _ => (None, None),
            },
            BadCoords::Zero => match rng.below(4) {
                0 => (Some(0.0), Some(lon)),
                1 => (Some(lat), Some(0.0)),
                _ => (Some(0.0), Some(0.0)),
            },
            BadCoords::Outside => match rng.below(3) {
                // Lost sign: southern hemisphere.
                0 => (Some(-lat), Some(lon)),
                // Lost digit in the longitude or latitude.
                1 => (Some(lat), Some(round_to(lon / 10.0, 7))),
                _ => (Some(round_to(lat / 10.0, 7)), Some(lon)),
            },
            BadCoords::Swapped => (Some(lon), Some(lat)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Names

#[rustfmt::skip]
const OWNERS: &[&str] = &[
    "Aling Nena", "Mang Tonyo", "Aling Rosa", "Mang Berto", "Ate Joy", "Kuya Ben", "Aling Cora",
    "Mang Pido", "Ate Lyn", "Kuya Jun", "Aling Baby", "Mang Kanor", "Tita Lorna", "Lola Iding",
    "Aling Peña", "Mang Nonoy", "Ate Weng", "Kuya Dodong", "Aling Marites", "Mang Ramon",
    "Tatay Boy", "Nanay Luz", "Santo Niño", "JM", "R&J", "3 Sisters", "D' Original", "Bebeng",
    "Dalisay", "Villanueva", "Dela Cruz", "Bautista", "Reyes", "Santos", "Garcia", "Mendoza",
    "Ocampo", "Mercado", "Tan", "Lim",
];

#[rustfmt::skip]
const STORE_KINDS: &[&str] = &[
    "Sari-Sari Store", "Sari-Sari Store", "Sari-Sari Store", "Store", "Mini Mart", "Grocery",
    "General Merchandise", "Variety Store", "Eatery", "Bakery", "Minimart & General Merchandise",
    "Trading", "Convenience Store", "Rice Dealer & Grocery", "Carinderia",
    "Loading Station & Sari-Sari Store", "Drugstore", "Wholesale & Retail",
];

/// A plausible store name; many are longer than the plan's 15-character `Name` column on purpose.
fn store_name(rng: &mut Rng) -> String {
    let owner = rng.pick(OWNERS);
    let kind = rng.pick(STORE_KINDS);
    match rng.below(12) {
        0 => format!("{owner}'s {kind}"),
        1 => format!("{owner} {kind} {}", rng.range(2, 5)),
        2 => format!("Tindahan ni {owner}"),
        _ => format!("{owner} {kind}"),
    }
}

/// The first 15 characters (not bytes: names may hold `ñ`), as the plan's `Name` column holds.
fn plan_name(name: &str) -> &str {
    name.char_indices()
        .nth(PLAN_NAME_CHARS)
        .map_or(name, |(i, _)| &name[..i])
}

#[rustfmt::skip]
const COMPANY_PREFIXES: &[&str] = &[
    "Golden Harvest", "Mabuhay", "Bayanihan", "Pacific Crest", "Tri-Star", "Southern Cross",
    "Island Fresh", "Luzviminda", "Sampaguita", "Perlas",
];
#[rustfmt::skip]
const COMPANY_SUFFIXES: &[&str] = &[
    "Trading Corp.", "Distributors Inc.", "Marketing Corp.", "Sales & Distribution Inc.",
    "Enterprises",
];
#[rustfmt::skip]
const STREETS: &[&str] = &[
    "Rizal Ave.", "Mabini St.", "Bonifacio St.", "Quezon Blvd.", "Del Pilar St.", "Luna St.",
    "National Highway", "Magsaysay Ave.", "Burgos St.", "Osmeña Blvd.",
];
#[rustfmt::skip]
const BARANGAY_NAMES: &[&str] = &[
    "San Roque", "Poblacion", "San Isidro", "Santo Niño", "San Jose", "Bagong Silang", "Maligaya",
    "Mabini", "San Antonio", "Santa Cruz",
];

// ---------------------------------------------------------------------------------------------
// Tables

/// One column builder of a table under construction.
enum ColumnBuilder {
    Utf8(StringBuilder),
    Float64(Float64Builder),
    Int32(Int32Builder),
    Date32(Date32Builder),
}

/// A table built row by row in canonical column order, cut into batches of [`BATCH_ROWS`].
/// Builders are created from the canonical schema, so batches always match it.
struct Table {
    name: &'static str,
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    cursor: usize,
    rows: usize,
    batches: Vec<RecordBatch>,
}

impl Table {
    fn new(name: &'static str) -> Self {
        let schema = canonical_schema(name);
        let columns = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 => ColumnBuilder::Utf8(StringBuilder::new()),
                DataType::Float64 => ColumnBuilder::Float64(Float64Builder::new()),
                DataType::Int32 => ColumnBuilder::Int32(Int32Builder::new()),
                DataType::Date32 => ColumnBuilder::Date32(Date32Builder::new()),
                other => unreachable!("canonical schemas use no {other}"),
            })
            .collect();
        Table {
            name,
            schema,
            columns,
            cursor: 0,
            rows: 0,
            batches: Vec::new(),
        }
    }

    fn next_column(&mut self) -> &mut ColumnBuilder {
        let i = self.cursor;
        self.cursor += 1;
        &mut self.columns[i]
    }

    fn str(&mut self, v: Option<&str>) -> &mut Self {
        match self.next_column() {
            ColumnBuilder::Utf8(b) => b.append_option(v),
            _ => panic!("{}: column {} is not Utf8", self.name, self.cursor - 1),
        }
        self
    }

    fn f64(&mut self, v: Option<f64>) -> &mut Self {
        match self.next_column() {
            ColumnBuilder::Float64(b) => b.append_option(v),
            _ => panic!("{}: column {} is not Float64", self.name, self.cursor - 1),
        }
        self
    }

    fn i32(&mut self, v: Option<i32>) -> &mut Self {
        match self.next_column() {
            ColumnBuilder::Int32(b) => b.append_option(v),
            _ => panic!("{}: column {} is not Int32", self.name, self.cursor - 1),
        }
        self
    }

    fn date(&mut self, v: Option<i32>) -> &mut Self {
        match self.next_column() {
            ColumnBuilder::Date32(b) => b.append_option(v),
            _ => panic!("{}: column {} is not Date32", self.name, self.cursor - 1),
        }
        self
    }

    fn end_row(&mut self) {
        assert_eq!(
            self.cursor,
            self.columns.len(),
            "{}: row with the wrong number of columns",
            self.name
        );
        self.cursor = 0;
        self.rows += 1;
        if self.rows == BATCH_ROWS {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.rows == 0 {
            return;
        }
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| match c {
                ColumnBuilder::Utf8(b) => Arc::new(b.finish()) as ArrayRef,
                ColumnBuilder::Float64(b) => Arc::new(b.finish()) as ArrayRef,
                ColumnBuilder::Int32(b) => Arc::new(b.finish()) as ArrayRef,
                ColumnBuilder::Date32(b) => Arc::new(b.finish()) as ArrayRef,
            })
            .collect();
        let batch =
            RecordBatch::try_new(self.schema.clone(), arrays).expect("builders follow the canonical schema");
        self.batches.push(batch);
        self.rows = 0;
    }

    fn finish(mut self) -> (&'static str, Vec<RecordBatch>) {
        self.flush();
        (self.name, self.batches)
    }
}

struct Tables {
    plan: Table,
    customer: Table,
    prospective: Table,
    custvisit: Table,
    distributors: Table,
}

impl Tables {
    fn new() -> Self {
        Tables {
            plan: Table::new(schema::ROUTE_PLAN),
            customer: Table::new(schema::CUSTOMER),
            prospective: Table::new(schema::PROSPECTIVE),
            custvisit: Table::new(schema::CUSTVISIT),
            distributors: Table::new(schema::DISTRIBUTORS),
        }
    }

    /// The tables in `schema::INPUT_TABLES` order.
    fn finish(self) -> Vec<(&'static str, Vec<RecordBatch>)> {
        vec![
            self.plan.finish(),
            self.customer.finish(),
            self.prospective.finish(),
            self.custvisit.finish(),
            self.distributors.finish(),
        ]
    }
}

/// Counters shared by all distributors, so store ids are unique across the whole data set.
#[derive(Debug, Default)]
struct Ids {
    customer: u64,
    prospect: u64,
    unknown: u64,
    /// Routes generated so far: the first few routes are given one feature each (see
    /// [`Distributor::emit_plan`]), so even `small` is guaranteed to contain every case.
    route: u64,
}

impl Ids {
    fn customer(&mut self) -> String {
        self.customer += 1;
        format!("C{:07}", self.customer)
    }

    fn prospect(&mut self) -> String {
        self.prospect += 1;
        format!("TDL{:06}", self.prospect)
    }

    /// Unknown stores have 8 digits where customers have 7, so they never collide with one.
    fn unknown(&mut self) -> u64 {
        self.unknown += 1;
        90_000_000 + self.unknown
    }
}

// ---------------------------------------------------------------------------------------------
// Distributors, agents, stores

/// A customer or prospect at its true location.
struct Store {
    id: String,
    name: String,
    pos: Km,
    barangay: String,
}

impl Store {
    fn new(rng: &mut Rng, id: String, city: &City, pos: Km) -> Self {
        Store {
            id,
            name: store_name(rng),
            pos,
            barangay: barangay_code(city, pos),
        }
    }
}

struct Agent {
    id: String,
    territory: String,
    /// Customers (indices into `Distributor::customers`) visited on each weekday: one sub-area
    /// per weekday, visited again every week, as real beat plans are.
    pools: [Vec<usize>; WEEKDAYS],
    /// Prospects (indices into `Distributor::prospects`) in the same sub-areas.
    prospects: [Vec<usize>; WEEKDAYS],
}

struct Distributor {
    index: usize,
    city: City,
    frame: Frame,
    id: String,
    office: String,
    agents: Vec<Agent>,
    customers: Vec<Store>,
    /// Customers before this index belong to an agent's pool; the rest are city-wide.
    pooled_customers: usize,
    prospects: Vec<Store>,
    pooled_prospects: usize,
}

/// A planned stop.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Customer(usize),
    Prospect(usize),
    Unknown(u64),
}

impl Distributor {
    /// Places the distributor's agents and stores: each agent's territory 3-10 km from the city
    /// centre, one sub-area per weekday around it, stores clustered in each sub-area, plus
    /// city-wide stores that no agent plans.
    fn new(index: usize, scale: Scale, profile: Prospects, rng: &mut Rng, ids: &mut Ids) -> Self {
        let city = site(index, scale.distributors());
        let spread = profile.city_spread();
        let city_km = CITY_RADIUS_KM * spread;
        let id = format!("D{:03}", index + 1);
        let mut customers = Vec::new();
        let mut prospects = Vec::new();
        let mut agents = Vec::new();
        for a in 0..scale.agents_per_distributor() {
            let centre = ring_point(rng, 3.0 * spread, 10.0 * spread);
            let mut agent = Agent {
                id: format!("{id}-A{:02}", a + 1),
                territory: format!("{}-{:03}-T{:02}", city.code, index + 1, a + 1),
                pools: std::array::from_fn(|_| Vec::new()),
                prospects: std::array::from_fn(|_| Vec::new()),
            };
            for w in 0..WEEKDAYS {
                let area = centre.scatter(rng, 1.5 * spread).clamped(city_km - 2.0 * spread);
                for _ in 0..POOL_PER_WEEKDAY {
                    let pos = area.scatter(rng, 0.7).clamped(city_km);
                    agent.pools[w].push(customers.len());
                    customers.push(Store::new(rng, ids.customer(), &city, pos));
                }
                for _ in 0..profile.per_area() {
                    let pos = area.scatter(rng, profile.area_spread_km()).clamped(city_km);
                    agent.prospects[w].push(prospects.len());
                    prospects.push(Store::new(rng, ids.prospect(), &city, pos));
                }
            }
            agents.push(agent);
        }
        let pooled_customers = customers.len();
        let pooled_prospects = prospects.len();
        let extra = pooled_customers / 12;
        for _ in 0..extra {
            let pos = Km::ORIGIN.scatter(rng, 5.0 * spread).clamped(city_km);
            customers.push(Store::new(rng, ids.customer(), &city, pos));
        }
        for _ in 0..profile.city_wide(extra) {
            let pos = Km::ORIGIN.scatter(rng, 5.0 * spread).clamped(city_km);
            prospects.push(Store::new(rng, ids.prospect(), &city, pos));
        }
        Distributor {
            index,
            city,
            frame: Frame::new(&city),
            office: format!("SO-{}-{:03}", city.code, index + 1),
            id,
            agents,
            customers,
            pooled_customers,
            prospects,
            pooled_prospects,
        }
    }

    /// The `distributors` row: the warehouse within 5 km of the city centre.
    fn emit_distributor(&self, rng: &mut Rng, t: &mut Table) {
        let (lat, lon) = self.frame.lat_lon(ring_point(rng, 0.0, 5.0), 6);
        let prefix = COMPANY_PREFIXES[(self.index / CITIES.len()) % COMPANY_PREFIXES.len()];
        let name = format!("{prefix} {} {}", self.city.name, rng.pick(COMPANY_SUFFIXES));
        let address = format!(
            "{} {}, Brgy. {}, {}, Philippines",
            rng.range(1, 2500),
            rng.pick(STREETS),
            rng.pick(BARANGAY_NAMES),
            self.city.name
        );
        t.str(Some(&self.id))
            .f64(Some(lat))
            .f64(Some(lon))
            .str(Some(&name))
            .str(Some(&address))
            .end_row();
    }

    /// The `prospective` rows. Returns the prospects that have since become customers under
    /// their `tdlinx`, for [`Self::emit_customers`].
    fn emit_prospects(&self, rng: &mut Rng, t: &mut Table) -> Vec<usize> {
        let mut converted = Vec::new();
        for (i, p) in self.prospects.iter().enumerate() {
            let (lat, lon) = self.frame.lat_lon(p.pos, 6);
            let (lat, lon) = BadCoords::draw(rng, PROSPECT_BAD_COORDS).apply(rng, lat, lon);
            let code = messy_code(rng, &p.barangay);
            t.str(Some(&p.id))
                .f64(lat)
                .f64(lon)
                .str(code.as_deref())
                .str(Some(&p.name))
                .end_row();
            if rng.chance(PROSPECT_CONVERTED) {
                converted.push(i);
            }
        }
        converted
    }

    /// The `customer` rows: every store of the distributor, then the duplicates (second rows of
    /// an existing `CustNo`, with other coordinates), then the converted prospects.
    fn emit_customers(&self, rng: &mut Rng, converted: &[usize], t: &mut Table) {
        let mut duplicates = Vec::new();
        for (i, c) in self.customers.iter().enumerate() {
            let (lat, lon) = self.frame.lat_lon(c.pos, 7);
            let (lat, lon) = BadCoords::draw(rng, CUSTOMER_BAD_COORDS).apply(rng, lat, lon);
            let code = messy_code(rng, &c.barangay);
            t.str(Some(&c.id))
                .f64(lat)
                .f64(lon)
                .str(code.as_deref())
                .end_row();
            if rng.chance(CUSTOMER_DUPLICATE) {
                duplicates.push(i);
            }
        }
        for i in duplicates {
            let c = &self.customers[i];
            let (lat0, lon0) = self.frame.lat_lon(c.pos, 7);
            let moved = c.pos.scatter(rng, 1.0).clamped(CITY_RADIUS_KM);
            let (mut lat, lon) = self.frame.lat_lon(moved, 7);
            if (lat, lon) == (lat0, lon0) {
                lat = round_to(lat + 0.001, 7);
            }
            t.str(Some(&c.id))
                .f64(Some(lat))
                .f64(Some(lon))
                .str(Some(&c.barangay))
                .end_row();
        }
        for &i in converted {
            let p = &self.prospects[i];
            let (lat, lon) = self.frame.lat_lon(p.pos, 7);
            t.str(Some(&p.id))
                .f64(Some(lat))
                .f64(Some(lon))
                .str(Some(&p.barangay))
                .end_row();
        }
    }

    /// The `custvisit` rows of the three months before the plan: most planned customers by
    /// their agent, half the city-wide customers, and a tenth of the prospects.
    fn emit_visits(&self, rng: &mut Rng, t: &mut Table) {
        let span = (PLAN_START - VISITS_FROM) as usize;
        let mut visit = |rng: &mut Rng, store: &Store, agent: &Agent, max: usize| {
            for _ in 0..rng.range(1, max) {
                let date = VISITS_FROM + rng.below(span) as i32;
                t.str(Some(&store.id))
                    .str(Some(&agent.id))
                    .date(Some(date))
                    .end_row();
            }
        };
        for agent in &self.agents {
            for w in 0..WEEKDAYS {
                for &c in &agent.pools[w] {
                    if rng.chance(CUSTOMER_VISITED) {
                        visit(rng, &self.customers[c], agent, 4);
                    }
                }
                for &p in &agent.prospects[w] {
                    if rng.chance(PROSPECT_VISITED) {
                        visit(rng, &self.prospects[p], agent, 2);
                    }
                }
            }
        }
        for c in &self.customers[self.pooled_customers..] {
            if rng.chance(0.5) {
                let agent = rng.pick(&self.agents);
                visit(rng, c, agent, 2);
            }
        }
        for p in &self.prospects[self.pooled_prospects..] {
            if rng.chance(PROSPECT_VISITED) {
                let agent = rng.pick(&self.agents);
                visit(rng, p, agent, 2);
            }
        }
    }

    /// The `MonthlyRoutePlan_temp` rows: one route per agent and working day, drawn from the
    /// agent's pool for that weekday (spilling into the next weekday's pool for long routes).
    ///
    /// The first routes of the whole data set each carry one feature, so that every scale has
    /// them whatever the seed: route 0 has 101-130 stops, route 1 exactly 60, route 2 61-100,
    /// route 3 a duplicate stop, routes 4-7 one row with NULL `DistributorID`, `AgentID`,
    /// `CustNo` and `RouteDate` respectively, route 8 a prospect and route 9 an unknown store.
    /// These routes get no random defects, so each keeps exactly its feature.
    fn emit_plan(&self, rng: &mut Rng, days: &[i32], ids: &mut Ids, t: &mut Table) {
        let mut stops: Vec<Stop> = Vec::new();
        let mut scratch: Vec<usize> = Vec::new();
        for (a, agent) in self.agents.iter().enumerate() {
            for (wd, &day) in days.iter().enumerate() {
                let route = RouteDay {
                    agent,
                    agent_no: a + 1,
                    day,
                    wd: wd + 1,
                    weekday: weekday(day),
                    number: ids.route,
                };
                ids.route += 1;
                let size = match route.number {
                    0 => rng.range(101, 130),
                    1 => 60,
                    2 => rng.range(61, 100),
                    _ => route_size(rng),
                };
                route.draw_customers(rng, size, &mut stops, &mut scratch);
                route.add_defects(rng, ids, &mut stops);
                self.emit_route(rng, &route, &stops, t);
            }
        }
    }

    /// The plan rows of one route's `stops`. Routes 4-7 have one NULL key each (see
    /// [`Self::emit_plan`]), other routes rarely one at random.
    fn emit_route(&self, rng: &mut Rng, route: &RouteDay, stops: &[Stop], t: &mut Table) {
        let (agent, w) = (route.agent, route.weekday);
        let route_name = format!(
            "{} {} Route {:02}",
            self.city.name, WEEKDAY_NAMES[w], route.agent_no
        );
        let route_code = format!("RC{:03}{:02}{}", self.index + 1, route.agent_no, w + 1);
        for (i, stop) in stops.iter().enumerate() {
            let (cust_no, name) = self.cust_no_and_name(*stop);
            // Which key is NULL: 0 DistributorID, 1 AgentID, 2 CustNo, 3 RouteDate.
            let null_key = if (4..8).contains(&route.number) && i == 1 {
                Some(route.number - 4)
            } else if route.random() && rng.chance(PLAN_NULL_KEY) {
                Some(rng.below(4) as u64)
            } else {
                None
            };
            t.str((null_key != Some(2)).then_some(&*cust_no))
                .date((null_key != Some(3)).then_some(route.day))
                .str(Some(plan_name(&name)))
                .i32(Some(route.wd as i32))
                .str(Some(&agent.territory))
                .str((null_key != Some(1)).then_some(&*agent.id))
                .str(Some(&route_name))
                .str((null_key != Some(0)).then_some(&*self.id))
                .str(Some(&route_code))
                .str(Some(&self.office))
                .i32(None)
                .str(None)
                .end_row();
        }
    }

    /// The `CustNo` and name a plan row gives for `stop`; an unknown store's name is drawn from its
    /// number, so it does not depend on where it appears.
    fn cust_no_and_name(&self, stop: Stop) -> (Cow<'_, str>, Cow<'_, str>) {
        match stop {
            Stop::Customer(c) => {
                let c = &self.customers[c];
                (Cow::Borrowed(&c.id), Cow::Borrowed(&c.name))
            }
            Stop::Prospect(p) => {
                let p = &self.prospects[p];
                (Cow::Borrowed(&p.id), Cow::Borrowed(&p.name))
            }
            Stop::Unknown(n) => (
                Cow::Owned(format!("C{n:08}")),
                Cow::Owned(store_name(&mut Rng::new(mix(n)))),
            ),
        }
    }
}

/// One route of the plan being generated: an agent's working day.
struct RouteDay<'a> {
    agent: &'a Agent,
    /// 1-based, as route names and codes show it.
    agent_no: usize,
    day: i32,
    /// The working day of the month, 1-based: the plan's `WD`.
    wd: usize,
    /// Monday = 0: which of the agent's pools the route draws from.
    weekday: usize,
    /// Routes generated before this one; the first [`FEATURED_ROUTES`] carry fixed features.
    number: u64,
}

impl RouteDay<'_> {
    /// Whether the route gets random defects (the featured routes keep exactly their feature).
    fn random(&self) -> bool {
        self.number >= FEATURED_ROUTES
    }

    /// Fills `stops` with `size` customers sampled from the weekday's pool, continuing into the next
    /// weekdays' pools when it runs out.
    fn draw_customers(&self, rng: &mut Rng, size: usize, stops: &mut Vec<Stop>, scratch: &mut Vec<usize>) {
        stops.clear();
        for offset in 0..WEEKDAYS {
            let need = size - stops.len();
            if need == 0 {
                break;
            }
            scratch.clear();
            scratch.extend_from_slice(&self.agent.pools[(self.weekday + offset) % WEEKDAYS]);
            let take = need.min(scratch.len());
            rng.sample_front(scratch, take);
            stops.extend(scratch[..take].iter().map(|&c| Stop::Customer(c)));
        }
    }

    /// Turns stops into prospects or unknown stores, and plans one store twice: route 8's first stop
    /// is a prospect, route 9's an unknown store and route 3 has a duplicate; other routes rarely, at
    /// random.
    fn add_defects(&self, rng: &mut Rng, ids: &mut Ids, stops: &mut Vec<Stop>) {
        let (route, random) = (self.number, self.random());
        for (i, stop) in stops.iter_mut().enumerate() {
            if (route == 8 && i == 0) || (random && rng.chance(PLAN_PROSPECT)) {
                *stop = Stop::Prospect(*rng.pick(&self.agent.prospects[self.weekday]));
            } else if (route == 9 && i == 0) || (random && rng.chance(PLAN_UNKNOWN)) {
                *stop = Stop::Unknown(ids.unknown());
            }
        }
        if route == 3 || (random && rng.chance(PLAN_DUPLICATE_STOP)) {
            let again = stops[rng.below(stops.len())];
            let at = rng.below(stops.len() + 1);
            stops.insert(at, again);
        }
    }
}

/// Planned stops of one route: mostly 30-58 (the optimizer tops them up to 60), some exactly 60,
/// some 61-100 and a few 101-130; about 51 on average.
fn route_size(rng: &mut Rng) -> usize {
    let u = rng.unit();
    if u < 0.80 {
        rng.range(30, 58)
    } else if u < 0.87 {
        60
    } else if u < 0.97 {
        rng.range(61, 100)
    } else {
        rng.range(101, 130)
    }
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Date32Type, Float64Type, Int32Type};

    use super::*;

    type Generated = [(&'static str, Vec<RecordBatch>)];

    /// The service box of the contract (rule 2).
    const LAT_MIN: f64 = 4.0;
    const LAT_MAX: f64 = 21.5;
    const LON_MIN: f64 = 116.0;
    const LON_MAX: f64 = 127.0;

    fn options(scale: Scale, seed: u64) -> GenerateOptions {
        GenerateOptions {
            scale,
            seed,
            factor: 1,
            prospects: Prospects::Plentiful,
        }
    }

    fn small(seed: u64) -> Vec<(&'static str, Vec<RecordBatch>)> {
        generate(&options(Scale::Small, seed))
    }

    fn batches<'a>(tables: &'a [(&'static str, Vec<RecordBatch>)], table: &str) -> &'a [RecordBatch] {
        &tables.iter().find(|(n, _)| *n == table).expect("table").1
    }

    fn strs(tables: &Generated, table: &str, col: &str) -> Vec<Option<String>> {
        batches(tables, table)
            .iter()
            .flat_map(|b| {
                let a = b.column_by_name(col).expect("column").as_string::<i32>();
                (0..a.len())
                    .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// One primitive column of a generated table, all batches.
    fn values<T: arrow::datatypes::ArrowPrimitiveType>(
        tables: &Generated,
        table: &str,
        col: &str,
    ) -> Vec<Option<T::Native>> {
        batches(tables, table)
            .iter()
            .flat_map(|b| {
                let a = b.column_by_name(col).expect("column").as_primitive::<T>();
                a.iter().collect::<Vec<_>>()
            })
            .collect()
    }

    fn f64s(tables: &Generated, table: &str, col: &str) -> Vec<Option<f64>> {
        values::<Float64Type>(tables, table, col)
    }

    fn dates(tables: &Generated, table: &str, col: &str) -> Vec<Option<i32>> {
        values::<Date32Type>(tables, table, col)
    }

    fn ints(tables: &Generated, table: &str, col: &str) -> Vec<Option<i32>> {
        values::<Int32Type>(tables, table, col)
    }

    fn in_box(lat: f64, lon: f64) -> bool {
        (LAT_MIN..=LAT_MAX).contains(&lat) && (LON_MIN..=LON_MAX).contains(&lon)
    }

    /// The contract's classification of a coordinate pair (rule 2).
    fn classify(lat: Option<f64>, lon: Option<f64>) -> &'static str {
        match (lat, lon) {
            (Some(lat), Some(lon)) if lat == 0.0 || lon == 0.0 => "zero",
            (Some(lat), Some(lon)) if in_box(lat, lon) => "valid",
            (Some(lat), Some(lon)) if in_box(lon, lat) => "swapped",
            (Some(_), Some(_)) => "outside",
            _ => "null",
        }
    }

    fn kinds(tables: &Generated, table: &str) -> HashMap<&'static str, usize> {
        let lat = f64s(tables, table, "latitude");
        let lon = f64s(tables, table, "longitude");
        let mut counts = HashMap::new();
        for (a, b) in lat.into_iter().zip(lon) {
            *counts.entry(classify(a, b)).or_default() += 1;
        }
        counts
    }

    /// (DistributorID, AgentID, RouteDate) → distinct CustNo, for rows with all keys present.
    fn routes(tables: &Generated) -> HashMap<(String, String, i32), HashSet<String>> {
        let t = schema::ROUTE_PLAN;
        let dist = strs(tables, t, "DistributorID");
        let agent = strs(tables, t, "AgentID");
        let date = dates(tables, t, "RouteDate");
        let cust = strs(tables, t, "CustNo");
        let mut routes: HashMap<_, HashSet<String>> = HashMap::new();
        for i in 0..cust.len() {
            if let (Some(d), Some(a), Some(r), Some(c)) = (&dist[i], &agent[i], date[i], &cust[i]) {
                routes
                    .entry((d.clone(), a.clone(), r))
                    .or_default()
                    .insert(c.clone());
            }
        }
        routes
    }

    #[test]
    fn scale_parses() {
        assert_eq!("small".parse::<Scale>(), Ok(Scale::Small));
        assert_eq!("Medium".parse::<Scale>(), Ok(Scale::Medium));
        assert_eq!("national".parse::<Scale>(), Ok(Scale::National));
        assert!("huge".parse::<Scale>().is_err());
        assert_eq!(Scale::National.to_string(), "national");
    }

    #[test]
    fn calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(PLAN_START, 20_788);
        assert_eq!(weekday(PLAN_START), 1, "2026-12-01 is a Tuesday");
        let days = working_days(26);
        assert_eq!(days.len(), 26);
        assert!(days.iter().all(|&d| weekday(d) < 6));
        assert_eq!(*days.last().unwrap(), days_from_civil(2026, 12, 30));
        assert!((cos_deg(60.0) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn deterministic_from_seed() {
        let a = small(42);
        let b = small(42);
        let c = small(43);
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Every table depends on the seed.
        for (x, y) in a.iter().zip(&c) {
            assert_ne!(x.1, y.1, "{} ignores the seed", x.0);
        }
    }

    #[test]
    fn schemas_are_canonical() {
        let tables = small(1);
        let names: Vec<&str> = tables.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, schema::INPUT_TABLES);
        for (name, batches) in &tables {
            assert!(!batches.is_empty(), "{name} is empty");
            for b in batches {
                assert_eq!(b.schema(), canonical_schema(name), "{name}");
                assert!(b.num_rows() <= BATCH_ROWS);
            }
        }
    }

    #[test]
    fn small_has_the_specified_shape() {
        let tables = small(7);
        let counts: HashMap<_, _> = row_counts(&tables).into_iter().collect();
        assert_eq!(counts[schema::DISTRIBUTORS], 3);
        let routes = routes(&tables);
        assert_eq!(routes.len(), 45);
        let plan_rows = counts[schema::ROUTE_PLAN];
        assert!((45 * 35..45 * 70).contains(&plan_rows), "{plan_rows} plan rows");
        let sizes: Vec<usize> = routes.values().map(HashSet::len).collect();
        assert!(sizes.iter().any(|&s| s > 100), "no route over 100 stops");
        assert!(
            sizes.iter().any(|&s| s > 60 && s <= 100),
            "no route of 61-100 stops"
        );
        assert!(sizes.contains(&60), "no route of exactly 60 stops");
        assert!(
            sizes.iter().filter(|&&s| s < 60).count() > 25,
            "most routes are short"
        );

        let customers = counts[schema::CUSTOMER];
        let prospects = counts[schema::PROSPECTIVE];
        assert!(customers > 3000, "{customers} customers");
        let ratio = prospects as f64 / customers as f64;
        assert!((1.3..1.7).contains(&ratio), "{ratio} prospects per customer");
    }

    #[test]
    fn plan_rows_follow_the_contract() {
        let tables = small(11);
        let t = schema::ROUTE_PLAN;
        let n = strs(&tables, t, "CustNo").len();
        assert!(ints(&tables, t, "StopNo").iter().all(Option::is_none));
        assert!(strs(&tables, t, "custype").iter().all(Option::is_none));
        for name in strs(&tables, t, "Name").into_iter().flatten() {
            assert!(name.chars().count() <= PLAN_NAME_CHARS, "{name}");
        }
        let wd = ints(&tables, t, "WD");
        assert!(wd.iter().all(|w| matches!(w, Some(1..=5))));
        for d in dates(&tables, t, "RouteDate").into_iter().flatten() {
            assert!(weekday(d) < 6, "a Sunday was planned");
            assert!((PLAN_START..PLAN_START + 6).contains(&d));
        }
        for col in ["SalesManTerritory", "RouteName", "RouteCode", "SalesOfficeID"] {
            assert!(strs(&tables, t, col).iter().all(Option::is_some), "{col}");
        }
        let agents = strs(&tables, t, "AgentID");
        assert!(
            agents
                .iter()
                .flatten()
                .all(|a| a.len() == 8 && a.starts_with('D') && a[4..].starts_with("-A"))
        );

        // Rows that cannot be routed: every key column NULL at least once.
        let nulls = [
            strs(&tables, t, "DistributorID")
                .iter()
                .filter(|v| v.is_none())
                .count(),
            agents.iter().filter(|v| v.is_none()).count(),
            strs(&tables, t, "CustNo").iter().filter(|v| v.is_none()).count(),
            dates(&tables, t, "RouteDate")
                .iter()
                .filter(|v| v.is_none())
                .count(),
        ];
        assert!(nulls.iter().all(|&c| c >= 1), "{nulls:?}");
        assert!(nulls.iter().sum::<usize>() < n / 100);

        // Prospects and unknown stores in the plan, and a store planned twice on one day.
        let customers: HashSet<String> = strs(&tables, schema::CUSTOMER, "CustNo")
            .into_iter()
            .flatten()
            .collect();
        let prospects: HashSet<String> = strs(&tables, schema::PROSPECTIVE, "tdlinx")
            .into_iter()
            .flatten()
            .collect();
        let planned: Vec<String> = strs(&tables, t, "CustNo").into_iter().flatten().collect();
        assert!(
            planned
                .iter()
                .any(|c| prospects.contains(c) && !customers.contains(c))
        );
        assert!(
            planned
                .iter()
                .any(|c| !prospects.contains(c) && !customers.contains(c))
        );
        let known = planned.iter().filter(|c| customers.contains(*c)).count();
        assert!(known as f64 > 0.98 * planned.len() as f64);
        let rows_with_keys = {
            let dist = strs(&tables, t, "DistributorID");
            let date = dates(&tables, t, "RouteDate");
            let cust = strs(&tables, t, "CustNo");
            (0..n)
                .filter(|&i| {
                    dist[i].is_some() && agents[i].is_some() && date[i].is_some() && cust[i].is_some()
                })
                .count()
        };
        let distinct: usize = routes(&tables).values().map(HashSet::len).sum();
        assert!(rows_with_keys > distinct, "no duplicate stop");
    }

    #[test]
    fn stores_have_every_defect() {
        let tables = small(3);
        let customer = kinds(&tables, schema::CUSTOMER);
        for kind in ["null", "zero", "outside", "swapped"] {
            assert!(
                customer.get(kind).copied().unwrap_or(0) > 0,
                "no {kind} customer coordinates"
            );
        }
        let total: usize = customer.values().sum();
        let bad = total - customer["valid"];
        assert!(
            (0.01..0.035).contains(&(bad as f64 / total as f64)),
            "{bad} of {total} bad"
        );
        let prospect = kinds(&tables, schema::PROSPECTIVE);
        assert!(prospect.len() > 1, "no invalid prospect coordinates");

        // Duplicate customers with other coordinates.
        let ids = strs(&tables, schema::CUSTOMER, "CustNo");
        let lat = f64s(&tables, schema::CUSTOMER, "latitude");
        let mut first: HashMap<&str, Option<f64>> = HashMap::new();
        let mut duplicates = 0;
        for (id, lat) in ids.iter().zip(&lat) {
            let id = id.as_deref().unwrap();
            if let Some(prev) = first.insert(id, *lat) {
                if !id.starts_with("TDL") {
                    assert_ne!(prev, *lat, "duplicate {id} has the same coordinates");
                }
                duplicates += 1;
            }
        }
        assert!(duplicates > 0, "no duplicate CustNo");

        // Barangay codes: PSGC form once trimmed; some padded, some blank.
        let codes: Vec<String> = strs(&tables, schema::CUSTOMER, "address3")
            .into_iter()
            .flatten()
            .collect();
        assert!(
            codes.iter().any(|c| c.trim().len() == 10 && c.len() > 10),
            "no padded code"
        );
        assert!(codes.iter().any(|c| c.trim().is_empty()), "no blank code");
        for c in codes.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
            assert!(c.len() == 10 && c.bytes().all(|b| b.is_ascii_digit()), "{c:?}");
        }
        let distinct: HashSet<&str> = codes.iter().map(|c| c.trim()).collect();
        assert!(distinct.len() > 150, "{} barangays", distinct.len());
    }

    #[test]
    fn visited_prospects() {
        let tables = small(5);
        let visited: HashSet<String> = strs(&tables, schema::CUSTVISIT, "CustID")
            .into_iter()
            .flatten()
            .collect();
        let prospects: Vec<String> = strs(&tables, schema::PROSPECTIVE, "tdlinx")
            .into_iter()
            .flatten()
            .collect();
        let share = prospects.iter().filter(|p| visited.contains(*p)).count() as f64 / prospects.len() as f64;
        assert!((0.06..0.14).contains(&share), "{share} of prospects visited");
        let customers: HashSet<String> = strs(&tables, schema::CUSTOMER, "CustNo")
            .into_iter()
            .flatten()
            .collect();
        let share = customers.iter().filter(|c| visited.contains(*c)).count() as f64 / customers.len() as f64;
        assert!(share > 0.75, "{share} of customers visited");
        for d in dates(&tables, schema::CUSTVISIT, "TransDate") {
            assert!((VISITS_FROM..PLAN_START).contains(&d.unwrap()));
        }
    }

    #[test]
    fn valid_coordinates_lie_near_a_city() {
        let tables = small(9);
        let near_city = |lat: f64, lon: f64| {
            CITIES.iter().any(|c| {
                let dy = (lat - c.lat) * KM_PER_DEG_LAT;
                let dx = (lon - c.lon) * KM_PER_DEG_LAT * cos_deg(c.lat);
                (dx * dx + dy * dy).sqrt() <= CITY_RADIUS_KM + 0.1
            })
        };
        for (table, lat, lon) in [
            (schema::CUSTOMER, "latitude", "longitude"),
            (schema::PROSPECTIVE, "latitude", "longitude"),
            (schema::DISTRIBUTORS, "Latitude", "Longitude"),
        ] {
            let lats = f64s(&tables, table, lat);
            let lons = f64s(&tables, table, lon);
            for (a, b) in lats.into_iter().zip(lons) {
                if classify(a, b) == "valid" {
                    let (a, b) = (a.unwrap(), b.unwrap());
                    assert!(in_box(a, b) && near_city(a, b), "{table}: ({a}, {b})");
                }
            }
        }
        let lats = f64s(&tables, schema::DISTRIBUTORS, "Latitude");
        let lons = f64s(&tables, schema::DISTRIBUTORS, "Longitude");
        assert!(lats.into_iter().zip(lons).all(|(a, b)| classify(a, b) == "valid"));
    }

    #[test]
    fn placement_stays_in_the_box() {
        let mut rng = Rng::new(1);
        for city in &CITIES {
            let frame = Frame::new(city);
            for _ in 0..2000 {
                let centre = ring_point(&mut rng, 3.0, 10.0);
                let p = centre.scatter(&mut rng, 4.0).clamped(CITY_RADIUS_KM);
                let (lat, lon) = frame.lat_lon(p, 7);
                assert!(in_box(lat, lon), "{}: ({lat}, {lon})", city.name);
                assert!(!in_box(lon, lat));
            }
        }
    }

    #[test]
    fn defects_classify_as_intended() {
        let mut rng = Rng::new(2);
        for city in &CITIES {
            for kind in [
                BadCoords::Null,
                BadCoords::Zero,
                BadCoords::Outside,
                BadCoords::Swapped,
            ] {
                for _ in 0..20 {
                    let (lat, lon) = kind.apply(&mut rng, city.lat, city.lon);
                    let expected = match kind {
                        BadCoords::Null => "null",
                        BadCoords::Zero => "zero",
                        BadCoords::Outside => "outside",
                        _ => "swapped",
                    };
                    assert_eq!(classify(lat, lon), expected, "{}: {kind:?}", city.name);
                }
            }
        }
    }

    #[test]
    fn factor_multiplies_distributors_and_keeps_the_first() {
        let one = generate(&options(Scale::Small, 4));
        let two = generate(&GenerateOptions {
            factor: 2,
            ..options(Scale::Small, 4)
        });
        let dist = |t: &Generated| strs(t, schema::DISTRIBUTORS, "DistributorID");
        assert_eq!(dist(&one).len(), 3);
        assert_eq!(dist(&two).len(), 6);
        assert_eq!(routes(&two).len(), 90);
        let names = |t: &Generated| strs(t, schema::DISTRIBUTORS, "Name");
        assert_eq!(names(&one)[..], names(&two)[..3]);
    }

    /// A factor copy is new territory: its cities move away from the originals (still inside the
    /// service box) and its barangay codes are its own, so the top-up's candidates grow with the
    /// data rather than with its square.
    #[test]
    fn factor_copies_are_new_territory() {
        for index in 0..CITIES.len() * 4 {
            let (real, copy) = (site(index % 20, 20), site(index, 20));
            assert!(in_box(copy.lat, copy.lon), "{index}: {copy:?}");
            if index >= 20 {
                let km = (copy.lat - real.lat).abs() * KM_PER_DEG_LAT;
                assert!(km > 2.0 * CITY_RADIUS_KM, "{index}: {km} km from the real city");
                assert_ne!(copy.code_prefix(), real.code_prefix());
            }
        }
        let two = generate(&GenerateOptions {
            factor: 2,
            ..options(Scale::Small, 4)
        });
        let codes = strs(&two, schema::PROSPECTIVE, "barangay_code");
        let prefixes: std::collections::BTreeSet<_> =
            codes.iter().flatten().filter_map(|c| c.trim().get(..7)).collect();
        assert!(prefixes.len() >= 6, "3 cities twice: {prefixes:?}");
    }

    #[test]
    fn prospect_profile_parses() {
        assert_eq!("scarce".parse::<Prospects>(), Ok(Prospects::Scarce));
        assert_eq!("Plentiful".parse::<Prospects>(), Ok(Prospects::Plentiful));
        assert!("none".parse::<Prospects>().is_err());
        assert_eq!(Prospects::Scarce.to_string(), "scarce");
    }

    /// The scarce profile has the same plan and customers' layout but fewer prospects than
    /// customers (the plentiful one has more), packed into fewer barangays per prospect.
    #[test]
    fn scarce_profile_has_fewer_prospects_in_shared_barangays() {
        let plentiful = generate(&options(Scale::Medium, 5));
        let scarce = generate(&GenerateOptions {
            prospects: Prospects::Scarce,
            ..options(Scale::Medium, 5)
        });
        let rows =
            |t: &Generated, table: &str| row_counts(t).into_iter().find(|(n, _)| *n == table).unwrap().1;
        assert_eq!(routes(&plentiful).len(), routes(&scarce).len());
        assert!(rows(&plentiful, schema::PROSPECTIVE) > rows(&plentiful, schema::CUSTOMER));
        assert!(rows(&scarce, schema::PROSPECTIVE) < rows(&scarce, schema::CUSTOMER));
        let per_code = |t: &Generated| {
            let codes = strs(t, schema::PROSPECTIVE, "barangay_code");
            let distinct: HashSet<_> = codes.iter().flatten().map(|c| c.trim().to_string()).collect();
            codes.len() as f64 / distinct.len() as f64
        };
        // Cities half as wide: a barangay holds more of the (fewer) prospects.
        assert!(
            per_code(&scarce) > per_code(&plentiful),
            "{} vs {}",
            per_code(&scarce),
            per_code(&plentiful)
        );
    }

    #[test]
    fn medium_counts() {
        let tables = generate(&options(Scale::Medium, 1));
        assert_eq!(routes(&tables).len(), 2600);
        let rows: usize = row_counts(&tables)[0].1;
        assert!((2600 * 45..2600 * 57).contains(&rows), "{rows} plan rows");
        assert!(batches(&tables, schema::ROUTE_PLAN).len() >= 2);
    }

    #[test]
    fn parquet_round_trip_is_byte_identical() {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

        let base = std::env::temp_dir().join(format!("routeflow-generate-{}", std::process::id()));
        let tables = small(21);
        let (a, b) = (base.join("a"), base.join("b"));
        write_parquet_dir(&a, &tables).unwrap();
        write_parquet_dir(&b, &small(21)).unwrap();
        for (name, batches) in &tables {
            let file = format!("{name}.parquet");
            let bytes = std::fs::read(a.join(&file)).unwrap();
            assert_eq!(bytes, std::fs::read(b.join(&file)).unwrap(), "{file} differs");
            let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(a.join(&file)).unwrap())
                .unwrap()
                .build()
                .unwrap();
            let read: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
            let rows: usize = read.iter().map(RecordBatch::num_rows).sum();
            assert_eq!(rows, batches.iter().map(RecordBatch::num_rows).sum::<usize>());
            assert_eq!(read[0].schema().fields(), canonical_schema(name).fields());
        }
        std::fs::remove_dir_all(&base).unwrap();
    }
}
