//! One client connection: the handshake, then requests answered in order until the client leaves,
//! an injected fault closes the connection, or the client breaks the protocol.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::state::{RequestKind, Shared};
use super::worker::{SessionLost, Worker};
use super::{FaultAction, ServerConfig};
use crate::engine::instance::SessionInfo;
use crate::engine::{Engine, Outcome, Param};
use crate::protocol::bulk::{InsertBulk, decode_bulk_load, is_insert_bulk, parse_insert_bulk};
use crate::protocol::login::{self, ENCRYPT_NOT_SUP};
use crate::protocol::packet::{Message, PacketReader, PacketType, frame};
use crate::protocol::request::{decode_batch, decode_rpc, decode_transaction_request};
use crate::protocol::response::{Framing, Transactions, encode_outcomes};
use crate::protocol::tokens::{self, DONE_ATTN, DONE_ERROR, DONE_FINAL, DoneKind, EnvChange};
use crate::types::{Column, SqlError};

/// Accepts connections until the listener fails or the server stops.
pub async fn accept(listener: TcpListener, config: ServerConfig, shared: Arc<Shared>) {
    static SPIDS: AtomicU16 = AtomicU16::new(51);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        let spid = SPIDS.fetch_add(1, Ordering::Relaxed);
        let connection = Connection {
            reader: PacketReader::new(read),
            writer: write,
            shared: shared.clone(),
            config: config.clone(),
            spid,
            packet_size: 4096,
            transactions: Transactions::new(spid),
            pending_bulk: None,
        };
        tokio::spawn(async move {
            match connection.serve().await {
                Ok(()) => tracing::debug!("{peer}: closed"),
                Err(e) => tracing::debug!("{peer}: closed: {e}"),
            }
        });
    }
}

/// Why a connection ends early.
type Result<T> = std::result::Result<T, io::Error>;

fn protocol_error(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

impl From<SessionLost> for io::Error {
    fn from(_: SessionLost) -> Self {
        io::Error::other("the engine session panicked")
    }
}

/// An `INSERT BULK` answered, waiting for its BULK_LOAD data.
struct PendingBulk {
    table: String,
    columns: Vec<Column>,
    /// An `Error` or `Delay` fault armed by the `INSERT BULK`, applied to the final answer.
    fault: Option<FaultAction>,
}

struct Connection {
    reader: PacketReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    shared: Arc<Shared>,
    config: ServerConfig,
    spid: u16,
    packet_size: usize,
    transactions: Transactions,
    pending_bulk: Option<PendingBulk>,
}

impl Connection {
    async fn serve(mut self) -> Result<()> {
        let Some(worker) = self.handshake().await? else {
            return Ok(());
        };
        while let Some(message) = self.reader.read_message().await? {
            let pending_bulk = self.pending_bulk.take();
            match message.kind {
                PacketType::SqlBatch => {
                    let text = decode_batch(&message.payload).map_err(|e| protocol_error(e.0))?;
                    if is_insert_bulk(&text) {
                        self.insert_bulk(&worker, &text).await?;
                    } else {
                        self.statement(&worker, RequestKind::Batch, text, Vec::new())
                            .await?;
                    }
                }
                PacketType::TransactionManager => {
                    let text =
                        decode_transaction_request(&message.payload).map_err(|e| protocol_error(e.0))?;
                    self.statement(&worker, RequestKind::Batch, text, Vec::new())
                        .await?;
                }
                PacketType::Rpc => match decode_rpc(&message.payload).map_err(|e| protocol_error(e.0))? {
                    Ok(call) => {
                        self.statement(&worker, RequestKind::Rpc, call.statement, call.params)
                            .await?
                    }
                    Err(e) => {
                        let mut out = Vec::new();
                        encode_outcomes(&mut out, Framing::Rpc, &[], Some(&e), &mut self.transactions);
                        self.send(&out).await?;
                    }
                },
                PacketType::BulkLoad => self.bulk_load(&worker, pending_bulk, &message).await?,
                PacketType::Attention => {
                    let mut out = Vec::new();
                    tokens::done(&mut out, DoneKind::Done, DONE_ATTN, None);
                    self.send(&out).await?;
                }
                other => return Err(protocol_error(format!("unexpected {other:?} message"))),
            }
        }
        Ok(())
    }

    /// PRELOGIN and LOGIN7; the session worker once the client is in.
    async fn handshake(&mut self) -> Result<Option<Worker>> {
        let Some(prelogin) = self.reader.read_message().await? else {
            return Ok(None);
        };
        if prelogin.kind != PacketType::PreLogin {
            return Err(protocol_error(format!(
                "expected PRELOGIN, got {:?}",
                prelogin.kind
            )));
        }
        let encryption = login::prelogin_encryption(&prelogin.payload).map_err(|e| protocol_error(e.0))?;
        self.send(&login::prelogin_response()).await?;
        let Some(login) = self.reader.read_message().await? else {
            return Ok(None);
        };
        if login.kind == PacketType::PreLogin {
            // tiberius starts TLS when the server's NOT_SUP does not match its own setting.
            tracing::warn!(
                "the client wants TLS (encryption {encryption:#04x}, server {ENCRYPT_NOT_SUP:#04x}); \
                 connect with Encrypt=DANGER_PLAINTEXT"
            );
            return Ok(None);
        }
        if login.kind != PacketType::Login7 {
            return Err(protocol_error(format!("expected LOGIN7, got {:?}", login.kind)));
        }
        let login = login::decode_login(&login.payload).map_err(|e| protocol_error(e.0))?;
        if login.user != self.config.user || login.password != self.config.password {
            let error = SqlError {
                number: 18456,
                state: 1,
                class: 14,
                message: format!("Login failed for user '{}'.", login.user),
            };
            self.fail(&error).await?;
            return Ok(None);
        }
        let engine = Engine::shared(self.config.database_file.clone(), self.shared.instance.clone());
        let info = SessionInfo::now(&login.app_name, &login.host_name, &login.user);
        let worker = match Worker::start(engine, self.spid, info).await? {
            Ok(worker) => worker,
            Err(e) => {
                self.fail(&e).await?;
                return Ok(None);
            }
        };
        self.packet_size = match login.packet_size {
            0 => 4096,
            size => size.clamp(512, 32767) as usize,
        };
        let database = if login.database.is_empty() {
            "master"
        } else {
            &login.database
        };
        let mut out = Vec::new();
        tokens::env_change(
            &mut out,
            EnvChange::Database {
                new: database,
                old: "master",
            },
        );
        tokens::info(
            &mut out,
            5701,
            &format!("Changed database context to '{database}'."),
        );
        tokens::env_change(&mut out, EnvChange::Collation);
        tokens::login_ack(&mut out);
        tokens::env_change(&mut out, EnvChange::PacketSize(self.packet_size as u32));
        tokens::done(&mut out, DoneKind::Done, DONE_FINAL, None);
        self.send(&out).await?;
        self.shared.update(|stats| stats.connections += 1);
        tracing::debug!("login of {} by {} to {database}", login.user, login.app_name);
        Ok(Some(worker))
    }

    /// A SQL batch, transaction manager request or `sp_executesql` call.
    async fn statement(
        &mut self,
        worker: &Worker,
        kind: RequestKind,
        text: String,
        params: Vec<Param>,
    ) -> Result<()> {
        let framing = if kind == RequestKind::Rpc {
            Framing::Rpc
        } else {
            Framing::Batch
        };
        let fault = self.shared.request(kind, &text);
        let (outcomes, error) = match fault {
            Some(FaultAction::Drop) => return Err(io::Error::other("dropped by an injected fault")),
            Some(FaultAction::Error { number, message }) => self.fault_error(worker, number, message).await?,
            other => {
                self.arm(other).await;
                let shuffle = self.shared.shuffle();
                let (outcomes, error, scans) = worker
                    .run(move |session| {
                        session.shuffle = shuffle;
                        let (outcomes, error) = session.execute(&text, &params);
                        (outcomes, error, session.take_full_scans())
                    })
                    .await?;
                let executed = outcomes.len() as u64 + error.is_some() as u64;
                self.shared.update(|stats| {
                    stats.statements += executed;
                    for table in scans {
                        *stats.full_scans.entry(table).or_default() += 1;
                    }
                });
                (outcomes, error)
            }
        };
        let mut out = Vec::new();
        encode_outcomes(
            &mut out,
            framing,
            &outcomes,
            error.as_ref(),
            &mut self.transactions,
        );
        self.send(&out).await
    }

    /// Applies a `Delay` or `DropAfterBytes` fault before a request runs.
    async fn arm(&mut self, fault: Option<FaultAction>) {
        match fault {
            Some(FaultAction::Delay(delay)) => tokio::time::sleep(delay).await,
            Some(FaultAction::DropAfterBytes(bytes)) => self.reader.drop_after(bytes),
            _ => {}
        }
    }

    /// An injected error: the request does not run and an open transaction is rolled back, as for
    /// a deadlock victim.
    async fn fault_error(
        &mut self,
        worker: &Worker,
        number: u32,
        message: String,
    ) -> Result<(Vec<Outcome>, Option<SqlError>)> {
        let (outcomes, error) = worker
            .run(|session| {
                if session.in_transaction() {
                    session.execute("ROLLBACK", &[])
                } else {
                    (Vec::new(), None)
                }
            })
            .await?;
        if let Some(e) = error {
            tracing::warn!("rolling back for an injected error failed: {e}");
        }
        Ok((outcomes, Some(SqlError::new(number, message))))
    }

    /// `INSERT BULK`: checks the target and its columns, then waits for the data.
    async fn insert_bulk(&mut self, worker: &Worker, text: &str) -> Result<()> {
        let fault = self.shared.request(RequestKind::BulkLoad, text);
        let fault = match fault {
            Some(FaultAction::Drop) => return Err(io::Error::other("dropped by an injected fault")),
            Some(FaultAction::DropAfterBytes(bytes)) => {
                self.reader.drop_after(bytes);
                None
            }
            other => other,
        };
        let Some(InsertBulk {
            table,
            columns: names,
        }) = parse_insert_bulk(text)
        else {
            return self
                .fail(&SqlError::new(102, "Incorrect syntax near 'BULK'."))
                .await;
        };
        let lookup = table.clone();
        let columns = match worker.run(move |session| session.columns(&lookup)).await? {
            Ok(columns) => columns,
            Err(e) => return self.fail(&e).await,
        };
        let mut targets = Vec::with_capacity(names.len());
        for name in &names {
            match columns.iter().find(|c| c.name.eq_ignore_ascii_case(name)) {
                Some(column) => targets.push(column.clone()),
                None => {
                    return self
                        .fail(&SqlError::new(207, format!("Invalid column name '{name}'.")))
                        .await;
                }
            }
        }
        self.pending_bulk = Some(PendingBulk {
            table,
            columns: targets,
            fault,
        });
        let mut out = Vec::new();
        tokens::done(&mut out, DoneKind::Done, DONE_FINAL, None);
        self.send(&out).await
    }

    /// The BULK_LOAD data of the `INSERT BULK` just answered.
    async fn bulk_load(
        &mut self,
        worker: &Worker,
        pending: Option<PendingBulk>,
        message: &Message,
    ) -> Result<()> {
        let Some(PendingBulk {
            table,
            columns,
            fault,
        }) = pending
        else {
            return self
                .fail(&SqlError::new(
                    4804,
                    "A bulk load arrived without an INSERT BULK statement.",
                ))
                .await;
        };
        let rows = match decode_bulk_load(&message.payload) {
            Ok(rows) => rows,
            Err(e) => {
                return self
                    .fail(&SqlError::new(
                        4815,
                        format!("Received invalid bulk data: {}", e.0),
                    ))
                    .await;
            }
        };
        if let Some(row) = rows.iter().find(|row| row.len() != columns.len()) {
            let error = SqlError::new(
                4815,
                format!(
                    "A bulk row of {} values for {} columns.",
                    row.len(),
                    columns.len()
                ),
            );
            return self.fail(&error).await;
        }
        if let Some(FaultAction::Error { number, message }) = fault {
            let (outcomes, error) = self.fault_error(worker, number, message).await?;
            let mut out = Vec::new();
            encode_outcomes(
                &mut out,
                Framing::Batch,
                &outcomes,
                error.as_ref(),
                &mut self.transactions,
            );
            return self.send(&out).await;
        }
        self.arm(fault).await;
        match worker
            .run(move |session| session.bulk_insert(&table, &columns, rows))
            .await?
        {
            Ok(count) => {
                self.shared.update(|stats| {
                    stats.bulk_rows += count;
                    stats.statements += 1;
                });
                let mut out = Vec::new();
                tokens::done(&mut out, DoneKind::Done, DONE_FINAL, Some(count));
                self.send(&out).await
            }
            Err(e) => {
                self.shared.update(|stats| stats.statements += 1);
                self.fail(&e).await
            }
        }
    }

    /// Answers with an error and the DONE that ends the request.
    async fn fail(&mut self, error: &SqlError) -> Result<()> {
        let mut out = Vec::new();
        tokens::error(&mut out, error, "");
        tokens::done(&mut out, DoneKind::Done, DONE_ERROR, None);
        self.send(&out).await
    }

    async fn send(&mut self, payload: &[u8]) -> Result<()> {
        let wire = frame(PacketType::TabularResult, payload, self.packet_size, self.spid);
        self.writer.write_all(&wire).await?;
        self.writer.flush().await
    }
}
