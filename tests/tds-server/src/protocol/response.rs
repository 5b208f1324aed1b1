//! What the engine produced, as response tokens: result sets, row counts, transaction changes and
//! errors, framed as a SQL batch answer (DONE per statement) or an RPC answer (DONEINPROC per
//! statement, then RETURNSTATUS and DONEPROC).

use super::tokens::{self, DONE_ERROR, DONE_FINAL, DONE_MORE, DoneKind, EnvChange};
use crate::engine::Outcome;
use crate::types::SqlError;

/// How a request's answer is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Batch,
    Rpc,
}

/// The connection's transaction descriptors: tiberius echoes the current one in every request's
/// ALL_HEADERS, and clears it on a commit or rollback ENVCHANGE.
#[derive(Debug)]
pub struct Transactions {
    current: [u8; 8],
    started: u64,
    /// Distinguishes connections' descriptors.
    prefix: u16,
}

impl Transactions {
    pub fn new(prefix: u16) -> Self {
        Self {
            current: [0; 8],
            started: 0,
            prefix,
        }
    }

    fn begin(&mut self) -> [u8; 8] {
        self.started += 1;
        self.current = ((self.prefix as u64) << 48 | self.started).to_le_bytes();
        self.current
    }

    fn end(&mut self) -> [u8; 8] {
        std::mem::take(&mut self.current)
    }
}

/// SQL Server's number for a conversion failure, used when a value does not fit its column.
const CONVERSION_FAILED: u32 = 245;

/// Appends the answer to `outcomes` (then `error`, if the batch stopped on one) to `dst`.
pub fn encode_outcomes(
    dst: &mut Vec<u8>,
    framing: Framing,
    outcomes: &[Outcome],
    error: Option<&SqlError>,
    transactions: &mut Transactions,
) {
    let (kind, procedure) = match framing {
        Framing::Batch => (DoneKind::Done, ""),
        Framing::Rpc => (DoneKind::InProc, "sp_executesql"),
    };
    let mut error = error.cloned();
    for (i, outcome) in outcomes.iter().enumerate() {
        let last = framing == Framing::Batch && error.is_none() && i + 1 == outcomes.len();
        let status = if last { DONE_FINAL } else { DONE_MORE };
        let rows = match outcome {
            Outcome::Rows { columns, rows } => {
                let start = dst.len();
                tokens::col_metadata(dst, columns);
                if let Some(e) = rows.iter().find_map(|row| tokens::row(dst, columns, row).err()) {
                    dst.truncate(start);
                    error = Some(SqlError::new(CONVERSION_FAILED, e));
                    break;
                }
                Some(rows.len() as u64)
            }
            Outcome::Done { rows } => *rows,
            Outcome::Began => {
                tokens::env_change(dst, EnvChange::BeginTransaction(transactions.begin()));
                None
            }
            Outcome::Committed => {
                tokens::env_change(dst, EnvChange::CommitTransaction(transactions.end()));
                None
            }
            Outcome::RolledBack => {
                tokens::env_change(dst, EnvChange::RollbackTransaction(transactions.end()));
                None
            }
        };
        tokens::done(dst, kind, status, rows);
    }
    if let Some(error) = &error {
        tokens::error(dst, error, procedure);
    }
    let failed = if error.is_some() { DONE_ERROR } else { DONE_FINAL };
    match framing {
        Framing::Batch if error.is_some() || outcomes.is_empty() => tokens::done(dst, kind, failed, None),
        Framing::Batch => {}
        Framing::Rpc => {
            tokens::return_status(dst, 0);
            tokens::done(dst, DoneKind::Proc, failed, None);
        }
    }
}
