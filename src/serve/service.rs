//! The Flight SQL service: each call checks its caller, then hands over to planning ([`super::query`]),
//! prepared statements ([`super::prepared`]) or the catalog's metadata ([`super::metadata`]). Every
//! write a client may try (updates, ingest, transactions) is refused: the endpoint is read-only.

use std::pin::Pin;
use std::sync::Arc;

use arrow::ipc::writer::IpcWriteOptions;
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::error::FlightError;
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, CommandGetCatalogs, CommandGetDbSchemas, CommandGetSqlInfo,
    CommandGetTableTypes, CommandGetTables, CommandPreparedStatementQuery, CommandPreparedStatementUpdate,
    CommandStatementIngest, CommandStatementQuery, CommandStatementUpdate, DoPutPreparedStatementResult,
    ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    Action, FlightData, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse,
    IpcMessage, SchemaAsIpc, Ticket,
};
use datafusion::prelude::SessionContext;
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use super::auth::Auth;
use super::metadata;
use super::prepared::PreparedStatements;
use super::query::{self, Limits, QueryLog};

/// What a `DoGet` returns.
pub type DoGetStream = Pin<Box<dyn Stream<Item = Result<FlightData, Status>> + Send + 'static>>;

type HandshakeStream = Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>;

/// The server's state: the analysts' catalog, who may use it, and the limits.
pub struct RouteflowFlightSql {
    ctx: SessionContext,
    auth: Arc<Auth>,
    limits: Limits,
    prepared: PreparedStatements,
}

impl RouteflowFlightSql {
    pub fn new(ctx: SessionContext, auth: Arc<Auth>, limits: Limits) -> Self {
        Self {
            ctx,
            auth,
            limits,
            prepared: PreparedStatements::default(),
        }
    }

    /// The caller's user name, from its bearer token (or basic credentials).
    async fn user<T>(&self, request: &Request<T>) -> Result<String, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        self.auth.user(header).await
    }

    /// A `FlightInfo` whose one endpoint's ticket is `ticket`, on this same server.
    fn info(
        schema: &arrow::datatypes::Schema,
        ticket: Vec<u8>,
        descriptor: FlightDescriptor,
    ) -> Result<FlightInfo, Status> {
        Ok(FlightInfo::new()
            .try_with_schema(schema)
            .map_err(|e| Status::internal(e.to_string()))?
            .with_endpoint(FlightEndpoint::new().with_ticket(Ticket::new(ticket)))
            .with_descriptor(descriptor))
    }

    /// The `FlightInfo` of a metadata command: its result schema, and a ticket that is the command.
    async fn metadata_info(
        &self,
        request: Request<FlightDescriptor>,
        schema: &arrow::datatypes::Schema,
        command: arrow_flight::sql::Any,
    ) -> Result<Response<FlightInfo>, Status> {
        self.user(&request).await?;
        Ok(Response::new(Self::info(
            schema,
            command.encode_to_vec(),
            request.into_inner(),
        )?))
    }

    /// The statement behind a prepared handle, planned with its bound parameters.
    async fn plan_prepared(
        &self,
        handle: &[u8],
        user: &str,
    ) -> Result<(datafusion::dataframe::DataFrame, String), Status> {
        let prepared = self.prepared.get(handle, user)?;
        let df = query::plan(&self.ctx, &prepared.sql, prepared.params.as_deref()).await?;
        Ok((df, prepared.sql))
    }
}

fn read_only(what: &str) -> Status {
    Status::permission_denied(format!("routeflow serve is read-only: {what} is not allowed"))
}

#[tonic::async_trait]
impl FlightSqlService for RouteflowFlightSql {
    type FlightService = RouteflowFlightSql;

    /// Basic credentials in, a bearer token out (in the payload and the `authorization` header, where
    /// ADBC and JDBC clients look for it).
    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<HandshakeStream>, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let (user, token) = self.auth.login(header).await?;
        tracing::info!(target: "routeflow::serve", user = %user, "login");
        let reply = HandshakeResponse {
            protocol_version: 0,
            payload: token.clone().into(),
        };
        let mut response: Response<HandshakeStream> =
            Response::new(Box::pin(futures::stream::iter([Ok(reply)])));
        if !token.is_empty() {
            let value = MetadataValue::try_from(format!("Bearer {token}"))
                .map_err(|e| Status::internal(e.to_string()))?;
            response.metadata_mut().insert("authorization", value);
        }
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.user(&request).await?;
        let df = query::plan(&self.ctx, &query.query, None).await?;
        // The ticket carries the query itself: any later DoGet re-plans it as its caller.
        let ticket = TicketStatementQuery {
            statement_handle: query.query.into_bytes().into(),
        };
        let info = Self::info(
            df.schema().as_arrow(),
            ticket.as_any().encode_to_vec(),
            request.into_inner(),
        )?;
        Ok(Response::new(info))
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let user = self.user(&request).await?;
        let sql = String::from_utf8(ticket.statement_handle.to_vec())
            .map_err(|_| Status::invalid_argument("the ticket is not a query"))?;
        let df = query::plan(&self.ctx, &sql, None).await?;
        let stream = query::execute(
            df,
            QueryLog {
                user,
                sql,
                prepared: false,
            },
            &self.limits,
        )?;
        Ok(Response::new(stream))
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let user = self.user(&request).await?;
        let df = query::plan(&self.ctx, &query.query, None).await?;
        let options = IpcWriteOptions::default();
        let ipc = |schema: &arrow::datatypes::Schema| -> Result<prost::bytes::Bytes, Status> {
            let IpcMessage(bytes) = SchemaAsIpc::new(schema, &options)
                .try_into()
                .map_err(|e: arrow::error::ArrowError| Status::internal(e.to_string()))?;
            Ok(bytes)
        };
        let parameters = query::parameter_schema(&df)?;
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: self.prepared.create(&user, &query.query)?.into(),
            dataset_schema: ipc(df.schema().as_arrow())?,
            parameter_schema: ipc(&parameters)?,
        })
    }

    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let user = self.user(&request).await?;
        let mut batches =
            FlightRecordBatchStream::new_from_flight_data(request.into_inner().map_err(FlightError::from));
        let mut params = vec![];
        while let Some(batch) = batches.next().await {
            let batch = batch.map_err(Status::from)?;
            if batch.num_rows() > 0 && params.is_empty() {
                params = query::row_values(&batch)?;
            }
        }
        let handle = query.prepared_statement_handle;
        self.prepared.bind(&handle, &user, params)?;
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(handle),
        })
    }

    async fn get_flight_info_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let user = self.user(&request).await?;
        let (df, _) = self.plan_prepared(&cmd.prepared_statement_handle, &user).await?;
        let info = Self::info(
            df.schema().as_arrow(),
            cmd.as_any().encode_to_vec(),
            request.into_inner(),
        )?;
        Ok(Response::new(info))
    }

    async fn do_get_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let user = self.user(&request).await?;
        let (df, sql) = self.plan_prepared(&cmd.prepared_statement_handle, &user).await?;
        let stream = query::execute(
            df,
            QueryLog {
                user,
                sql,
                prepared: true,
            },
            &self.limits,
        )?;
        Ok(Response::new(stream))
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        let user = self.user(&request).await?;
        self.prepared.close(&query.prepared_statement_handle, &user)
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.metadata_info(request, &query.into_builder().schema(), query.as_any())
            .await
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.user(&request).await?;
        Ok(Response::new(metadata::catalogs(&self.ctx, query)))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.metadata_info(request, &query.clone().into_builder().schema(), query.as_any())
            .await
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.user(&request).await?;
        Ok(Response::new(metadata::schemas(&self.ctx, query)))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.metadata_info(request, &query.clone().into_builder().schema(), query.as_any())
            .await
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.user(&request).await?;
        Ok(Response::new(metadata::tables(&self.ctx, query).await?))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.metadata_info(request, &metadata::table_types_schema(), query.as_any())
            .await
    }

    async fn do_get_table_types(
        &self,
        _query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.user(&request).await?;
        Ok(Response::new(metadata::table_types()?))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.metadata_info(
            request,
            &query.clone().into_builder(&metadata::SQL_INFO).schema(),
            query.as_any(),
        )
        .await
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.user(&request).await?;
        Ok(Response::new(metadata::sql_info(query)))
    }

    async fn do_put_statement_update(
        &self,
        _ticket: CommandStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        self.user(&request).await?;
        Err(read_only("an update statement"))
    }

    async fn do_put_statement_ingest(
        &self,
        _ticket: CommandStatementIngest,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        self.user(&request).await?;
        Err(read_only("bulk ingest"))
    }

    async fn do_put_prepared_statement_update(
        &self,
        _query: CommandPreparedStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        self.user(&request).await?;
        Err(read_only("an update statement"))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
