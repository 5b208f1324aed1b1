//! Every snapshot run on tap, without registering any up front: the schema
//! `"snapshot_output@<RUN_ID>"` (and `"snapshot_input@<RUN_ID>"`) resolves when a query names it, and
//! `routeflow.snapshots` lists the runs with the schema names to use. A long-lived catalog (the Flight
//! SQL server) thus sees the runs written after it started, and opens a run's files only when asked.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, MemorySchemaProvider, SchemaProvider, Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::Result;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

use crate::run;
use crate::schema::{INPUT_TABLES, ROUTE_PLAN};
use crate::snapshot::{Role, SnapshotDir};

/// The schema holding `snapshots`.
pub const ROUTEFLOW_SCHEMA: &str = "routeflow";
/// The table listing the runs.
pub const SNAPSHOTS_TABLE: &str = "snapshots";

/// The schema name under which one run's tables of `role` resolve: `snapshot_output@<RUN_ID>`.
pub fn run_schema_name(role: Role, run_id: &str) -> String {
    format!("{}{}@{run_id}", super::SNAPSHOT_SCHEMA_PREFIX, role.dir())
}

/// Wraps the session's default catalog so it also resolves run schemas, and adds `routeflow.snapshots`.
pub fn register(ctx: &SessionContext, dir: SnapshotDir) -> Result<()> {
    let name = ctx.state().config().options().catalog.default_catalog.clone();
    let inner = ctx
        .catalog(&name)
        .ok_or_else(|| datafusion::error::DataFusionError::Internal("no default catalog".into()))?;
    let routeflow = Arc::new(MemorySchemaProvider::new());
    routeflow.register_table(
        SNAPSHOTS_TABLE.into(),
        Arc::new(SnapshotsTable { dir: dir.clone() }),
    )?;
    inner.register_schema(ROUTEFLOW_SCHEMA, routeflow)?;
    ctx.register_catalog(name, Arc::new(RunsCatalog { inner, dir }));
    Ok(())
}

/// The default catalog, plus a schema for any run named in a query.
#[derive(Debug)]
struct RunsCatalog {
    inner: Arc<dyn CatalogProvider>,
    dir: SnapshotDir,
}

impl CatalogProvider for RunsCatalog {
    /// Only the registered schemas: runs are listed by `routeflow.snapshots`, not here, so an object
    /// browser is not flooded with a schema per night.
    fn schema_names(&self) -> Vec<String> {
        self.inner.schema_names()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        self.inner.schema(name).or_else(|| {
            let (role, run_id) = parse_run_schema(name)?;
            Some(Arc::new(RunSchema {
                dir: self.dir.clone(),
                run_id: run_id.to_string(),
                role,
            }) as Arc<dyn SchemaProvider>)
        })
    }

    fn register_schema(
        &self,
        name: &str,
        schema: Arc<dyn SchemaProvider>,
    ) -> Result<Option<Arc<dyn SchemaProvider>>> {
        self.inner.register_schema(name, schema)
    }
}

/// `snapshot_input@<id>` / `snapshot_output@<id>` with a well-formed run id (so no name can reach
/// outside the snapshot directory).
fn parse_run_schema(name: &str) -> Option<(Role, &str)> {
    let rest = name.strip_prefix(super::SNAPSHOT_SCHEMA_PREFIX)?;
    let (role, run_id) = rest.split_once('@')?;
    let role = [Role::Input, Role::Output]
        .into_iter()
        .find(|r| r.dir() == role)?;
    crate::snapshot::validate_run_id(run_id).ok()?;
    Some((role, run_id))
}

/// The tables one run wrote for one role, opened when a query names them.
#[derive(Debug)]
struct RunSchema {
    dir: SnapshotDir,
    run_id: String,
    role: Role,
}

#[async_trait]
impl SchemaProvider for RunSchema {
    fn table_names(&self) -> Vec<String> {
        let names: &[&str] = match self.role {
            Role::Input => &INPUT_TABLES,
            Role::Output => &[ROUTE_PLAN],
        };
        names.iter().map(|s| s.to_string()).collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        // A session of its own lends object stores; the provider it returns stands alone.
        let ctx = run::session(1);
        self.dir.table(&ctx, &self.run_id, self.role, name).await
    }

    fn table_exist(&self, name: &str) -> bool {
        self.table_names().iter().any(|t| t == name)
    }
}

/// `routeflow.snapshots`: one row per run in the directory, read when queried.
#[derive(Debug)]
struct SnapshotsTable {
    dir: SnapshotDir,
}

fn snapshots_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("complete", DataType::Boolean, false),
        Field::new("started_at", DataType::Utf8, true),
        Field::new("finished_at", DataType::Utf8, true),
        Field::new("input_rows", DataType::UInt64, true),
        Field::new("output_rows", DataType::UInt64, true),
        Field::new("input_schema", DataType::Utf8, false),
        Field::new("output_schema", DataType::Utf8, false),
    ]))
}

impl SnapshotsTable {
    async fn batch(&self) -> Result<RecordBatch> {
        let runs = self.dir.list().await?;
        let rows = |role: Role| -> Vec<Option<u64>> {
            runs.iter()
                .map(|r| {
                    let m = r.manifest.as_ref()?;
                    Some(
                        m.tables
                            .iter()
                            .filter(|t| t.role == role && t.name == ROUTE_PLAN)
                            .map(|t| t.rows)
                            .sum(),
                    )
                })
                .collect()
        };
        let text = |f: &dyn Fn(&crate::snapshot::Manifest) -> String| -> StringArray {
            runs.iter().map(|r| r.manifest.as_ref().map(f)).collect()
        };
        let schemas = |role: Role| -> StringArray {
            runs.iter()
                .map(|r| Some(run_schema_name(role, &r.run_id)))
                .collect()
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(
                runs.iter()
                    .map(|r| Some(r.run_id.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                runs.iter()
                    .map(|r| Some(r.manifest.is_some()))
                    .collect::<BooleanArray>(),
            ),
            Arc::new(text(&|m| m.started_at.clone())),
            Arc::new(text(&|m| m.finished_at.clone())),
            Arc::new(UInt64Array::from(rows(Role::Input))),
            Arc::new(UInt64Array::from(rows(Role::Output))),
            Arc::new(schemas(Role::Input)),
            Arc::new(schemas(Role::Output)),
        ];
        Ok(RecordBatch::try_new(snapshots_schema(), columns)?)
    }
}

#[async_trait]
impl TableProvider for SnapshotsTable {
    fn schema(&self) -> SchemaRef {
        snapshots_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batch = self.batch().await?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            self.schema(),
            projection.cloned(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_schema_names_round_trip_and_refuse_anything_but_a_run_id() {
        let id = "20261130T020000.000Z-3fa2c1";
        let name = run_schema_name(Role::Output, id);
        assert_eq!(name, "snapshot_output@20261130T020000.000Z-3fa2c1");
        assert_eq!(parse_run_schema(&name), Some((Role::Output, id)));
        assert_eq!(
            parse_run_schema(&run_schema_name(Role::Input, id)),
            Some((Role::Input, id))
        );
        for bad in [
            "snapshot_output@../../etc",
            "snapshot_output@20261130T020000.000Z-3fa2c1/..",
            "snapshot_other@20261130T020000.000Z-3fa2c1",
            "snapshot_output",
            "public",
        ] {
            assert_eq!(parse_run_schema(bad), None, "{bad}");
        }
    }
}
