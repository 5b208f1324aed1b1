//! The SQL Server target: the stand-in (fresh per test, with fault injection) or the real server of
//! `ROUTEFLOW_TEST_MSSQL`, loaded with the fixtures once. Last night's state is put back before
//! every trial from copies kept in the database: the plan table as loaded (what an in-place run
//! updates) and `RoutePlanResult` as a `--target-stops 40` run wrote it (what `--write table`
//! replaces). Readers see the tables themselves.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use routeflow::mssql::catalog;
use tds_server::{Fault, FaultAction, FaultMatch, ServerHandle};

use super::Rng;
use super::rows::Observed;
use super::trials::{Kind, Target};
use crate::mssql::{RUN_MSSQL, Target as Server, TestDb};

const PLAN: &str = "MonthlyRoutePlan_temp";
const RESULT: &str = "RoutePlanResult";
/// The plan table as loaded: in-place's last night.
const PLAN_COPY: &str = "rf_soak_plan";
/// `RoutePlanResult` of last night's run (`--target-stops 40`): `--write table`'s last night.
const RESULT_COPY: &str = "rf_soak_result";
/// How long the stand-in holds each bulk load's answer and, in place, each unit's INSERT (inside
/// its transaction, after the UPDATE), or the table swap: a wider window for the kills to land in.
/// A held request still runs once its time is up, even if the run was killed meanwhile, as SQL
/// Server runs a batch it has received.
const WIDEN: Duration = Duration::from_millis(30);

pub(crate) struct SqlTarget {
    rt: tokio::runtime::Runtime,
    db: TestDb,
}

impl SqlTarget {
    /// A fresh stand-in, loaded.
    pub fn stand_in() -> Self {
        Self::loaded(runtime(), TestDb::test_server())
    }

    /// The real server, once it is this test's turn, loaded (its tables are reset).
    pub fn real(conn: &str) -> Self {
        let rt = runtime();
        let db = rt.block_on(TestDb::open(&Server::Real(conn.to_string())));
        Self::loaded(rt, db)
    }

    /// The contract's tables with the fixtures, an index for the in-place write (the stand-in reads
    /// a heap once per added row otherwise: seconds a run; the rows are the same), and the copies
    /// of last night's tables.
    fn loaded(rt: tokio::runtime::Runtime, db: TestDb) -> Self {
        let target = Self { rt, db };
        target.drop_soak_tables();
        target.rt.block_on(async {
            target.db.create_schema(true).await;
            target.db.load_fixtures().await;
            target
                .db
                .exec(&format!(
                    "CREATE INDEX ix_rf_soak_plan ON {PLAN} (CustNo); SELECT * INTO {PLAN_COPY} FROM {PLAN}"
                ))
                .await;
        });
        target
            .db
            .ok(&[RUN_MSSQL, &["--write", "table", RESULT, "--target-stops", "40"]].concat());
        target.exec(&format!("SELECT * INTO {RESULT_COPY} FROM {RESULT}"));
        target
    }

    fn exec(&self, sql: &str) {
        self.rt.block_on(self.db.exec(sql));
    }

    /// The real server keeps no soak tables behind.
    pub fn drop_soak_tables(&self) {
        self.exec(&format!(
            "DROP TABLE IF EXISTS {PLAN_COPY}; DROP TABLE IF EXISTS {RESULT_COPY}"
        ));
    }

    /// The stand-in, for fault injection; `None` on a real server.
    pub fn server(&self) -> Option<&ServerHandle> {
        self.db.server.as_ref()
    }

    pub fn inject(&self, faults: Vec<Fault>) {
        if let Some(server) = self.server() {
            for fault in faults {
                server.inject(fault);
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn table_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Table => RESULT,
        _ => PLAN,
    }
}

/// `times` requests holding `needle`, held back `delay`.
pub(crate) fn delay(needle: &str, delay: Duration, times: usize) -> Fault {
    Fault {
        when: FaultMatch::Contains(needle.into()),
        action: FaultAction::Delay(delay),
        times,
    }
}

impl Target for SqlTarget {
    fn reset(&mut self, kind: Kind) -> Result<Observed, String> {
        self.exec(&format!(
            "DELETE FROM {PLAN}; INSERT INTO {PLAN} SELECT * FROM {PLAN_COPY}; \
             DROP TABLE IF EXISTS {RESULT}; SELECT * INTO {RESULT} FROM {RESULT_COPY}"
        ));
        self.observe(kind)
    }

    fn observe(&self, kind: Kind) -> Result<Observed, String> {
        let table = table_of(kind);
        self.rt.block_on(async {
            match catalog::columns(&self.db.pool(), table).await {
                Ok(Some(_)) => Ok(Observed::table(self.db.read(table).await)),
                Ok(None) => Err(format!("table {table} does not exist")),
                Err(e) => Err(format!("{table}: {e}")),
            }
        })
    }

    fn command(&self) -> Command {
        self.db.routeflow()
    }

    fn run_args(&self, kind: Kind) -> Vec<String> {
        // Not quiet: the soak aims its kills by the log.
        let mut args = RUN_MSSQL[1..].to_vec();
        args.extend(["--json", "--retry-backoff-ms", "20"]);
        if kind == Kind::Table {
            args.extend(["--write", "table", RESULT]);
        }
        args.into_iter().map(String::from).collect()
    }

    fn widen(&self, kind: Kind) {
        let faults = match kind {
            Kind::InPlace => vec![delay("INSERT BULK", WIDEN, 2), delay("NOT EXISTS", WIDEN, 2)],
            // The swap: whatever request names the table itself (not its staging table).
            Kind::Table => vec![
                delay("INSERT BULK", WIDEN, 2),
                delay("[RoutePlanResult]", WIDEN, 2),
            ],
            Kind::Files => vec![],
        };
        self.inject(faults);
    }

    /// A request the dead run had sent still runs on the server (after its delay): readers see
    /// what it leaves.
    fn settle(&self) {
        if self.server().is_some() {
            std::thread::sleep(WIDEN * 3);
        }
    }

    fn disarm(&self) {
        if let Some(server) = self.server() {
            server.clear_faults();
        }
    }

    fn scratch(&self) -> PathBuf {
        self.db.dir.path().to_path_buf()
    }
}

/// A drop at a random place: the kth bulk load (of the two units) cut after a random number of
/// bytes, or, in place, the connection cut inside a unit's transaction (after its UPDATE or its
/// INSERT has been answered). A cut past the end of a load's data falls on what the connection
/// carries next (its COMMIT, the next unit's statements), or on nothing when it stays idle: such a
/// drop does not fire, and the scenario runs until enough have.
pub(crate) fn random_drop(kind: Kind, rng: &mut Rng) -> (String, Vec<Fault>) {
    let nth = 1 + rng.below(2) as usize;
    let (needle, bytes) = if kind == Kind::InPlace && rng.below(3) == 0 {
        if rng.below(2) == 0 {
            ("UPDATE t SET", rng.below(1000) as usize)
        } else {
            ("NOT EXISTS", rng.below(60) as usize)
        }
    } else {
        ("INSERT BULK", rng.below(120_000) as usize)
    };
    let skip = delay(needle, Duration::ZERO, nth - 1);
    let cut = Fault {
        when: FaultMatch::Contains(needle.into()),
        action: FaultAction::DropAfterBytes(bytes),
        times: 1,
    };
    (
        format!("request {nth} holding {needle:?} cut {bytes} bytes after it"),
        vec![skip, cut],
    )
}
