//! What a tool's object browser asks first: catalogs, schemas, tables with their columns, table
//! types and the server's SQL capabilities, all read from the same session the queries run in.

use std::sync::{Arc, LazyLock};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::{
    CommandGetCatalogs, CommandGetDbSchemas, CommandGetTables, SqlInfo, SqlSupportedCaseSensitivity,
};
use datafusion::datasource::TableType;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use tonic::Status;

use super::service::DoGetStream;

/// The table types a table can have here.
pub const TABLE_TYPES: [&str; 3] = ["TABLE", "VIEW", "LOCAL TEMPORARY"];

fn table_type_name(t: TableType) -> &'static str {
    match t {
        TableType::Base => TABLE_TYPES[0],
        TableType::View => TABLE_TYPES[1],
        TableType::Temporary => TABLE_TYPES[2],
    }
}

/// The server's answers to `GetSqlInfo`: what it is, that it is read-only, and how to quote names.
pub static SQL_INFO: LazyLock<SqlInfoData> = LazyLock::new(|| {
    let mut b = SqlInfoDataBuilder::new();
    b.append(SqlInfo::FlightSqlServerName, "routeflow");
    b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    b.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
    b.append(SqlInfo::FlightSqlServerReadOnly, true);
    b.append(SqlInfo::FlightSqlServerSql, true);
    b.append(SqlInfo::FlightSqlServerSubstrait, false);
    b.append(SqlInfo::FlightSqlServerTransaction, 0i32);
    b.append(SqlInfo::FlightSqlServerCancel, false);
    b.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    // Identifiers are kept as written (CustNo), so names are case sensitive.
    b.append(
        SqlInfo::SqlIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityCaseInsensitive as i32,
    );
    b.append(
        SqlInfo::SqlQuotedIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityCaseInsensitive as i32,
    );
    b.append(SqlInfo::SqlDdlCatalog, false);
    b.append(SqlInfo::SqlDdlSchema, false);
    b.append(SqlInfo::SqlDdlTable, false);
    b.build().expect("static SQL info")
});

/// One batch as a Flight stream.
fn one_batch(schema: SchemaRef, batch: Result<RecordBatch, FlightError>) -> DoGetStream {
    let stream = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(futures::stream::once(async move { batch }))
        .map_err(Status::from);
    Box::pin(stream)
}

pub fn catalogs(ctx: &SessionContext, query: CommandGetCatalogs) -> DoGetStream {
    let mut builder = query.into_builder();
    let mut names = ctx.catalog_names();
    names.sort();
    for name in names {
        builder.append(name);
    }
    one_batch(builder.schema(), builder.build())
}

pub fn schemas(ctx: &SessionContext, query: CommandGetDbSchemas) -> DoGetStream {
    let mut builder = query.into_builder();
    for (catalog, schema) in schema_names(ctx) {
        builder.append(catalog, schema);
    }
    one_batch(builder.schema(), builder.build())
}

/// Every (catalog, schema) pair, sorted.
fn schema_names(ctx: &SessionContext) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = ctx
        .catalog_names()
        .into_iter()
        .filter_map(|c| Some((ctx.catalog(&c)?, c)))
        .flat_map(|(catalog, c)| catalog.schema_names().into_iter().map(move |s| (c.clone(), s)))
        .collect();
    pairs.sort();
    pairs
}

/// Tables with their type and, when asked, their Arrow schema (the columns a browser shows).
pub async fn tables(ctx: &SessionContext, query: CommandGetTables) -> Result<DoGetStream, Status> {
    let mut builder = query.into_builder();
    for (catalog, schema) in schema_names(ctx) {
        let Some(provider) = ctx.catalog(&catalog).and_then(|c| c.schema(&schema)) else {
            continue;
        };
        let mut names = provider.table_names();
        names.sort();
        for name in names {
            let Some(table) = provider
                .table(&name)
                .await
                .map_err(|e| Status::internal(e.to_string()))?
            else {
                continue;
            };
            // The builder applies the command's filters (names and table types) when it builds.
            let kind = table_type_name(table.table_type());
            builder
                .append(&catalog, &schema, &name, kind, table.schema().as_ref())
                .map_err(|e| Status::internal(e.to_string()))?;
        }
    }
    Ok(one_batch(builder.schema(), builder.build()))
}

/// The schema of `GetTableTypes`: one `table_type` column.
pub fn table_types_schema() -> SchemaRef {
    Arc::new(arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new(
        "table_type",
        arrow::datatypes::DataType::Utf8,
        false,
    )]))
}

pub fn table_types() -> Result<DoGetStream, Status> {
    let schema = table_types_schema();
    let column: arrow::array::ArrayRef = Arc::new(arrow::array::StringArray::from(TABLE_TYPES.to_vec()));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![column]).map_err(FlightError::from);
    Ok(one_batch(schema, batch))
}

pub fn sql_info(query: arrow_flight::sql::CommandGetSqlInfo) -> DoGetStream {
    let builder = query.into_builder(&SQL_INFO);
    one_batch(builder.schema(), builder.build())
}
