//! Response tokens, written into a message buffer that the connection then splits into packets.

use bytes::BufMut;

use super::typeinfo::{COLLATION, encode_type_info};
use super::values::encode_value;
use super::wire::{put_b_varchar, put_us_varchar};
use crate::types::{Column, SqlError, Value};

const COLMETADATA: u8 = 0x81;
const ERROR: u8 = 0xaa;
const INFO: u8 = 0xab;
const LOGINACK: u8 = 0xad;
const ROW: u8 = 0xd1;
const ENVCHANGE: u8 = 0xe3;
const RETURNSTATUS: u8 = 0x79;

/// DONE status bits.
pub const DONE_FINAL: u16 = 0x00;
pub const DONE_MORE: u16 = 0x01;
pub const DONE_ERROR: u16 = 0x02;
pub const DONE_COUNT: u16 = 0x10;
pub const DONE_ATTN: u16 = 0x20;

/// The three DONE tokens: after a statement of a batch, inside a procedure, and at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoneKind {
    Done = 0xfd,
    Proc = 0xfe,
    InProc = 0xff,
}

/// Column flags: nullable, and updateable, which tiberius requires of bulk-load target columns.
const FLAG_NULLABLE: u16 = 0x0001;
const FLAG_UPDATEABLE: u16 = 0x0004;

/// The name the server reports in ERROR and INFO tokens.
pub const SERVER_NAME: &str = "tds-server";

pub fn done(dst: &mut Vec<u8>, kind: DoneKind, status: u16, rows: Option<u64>) {
    dst.put_u8(kind as u8);
    dst.put_u16_le(status | if rows.is_some() { DONE_COUNT } else { 0 });
    dst.put_u16_le(0);
    dst.put_u64_le(rows.unwrap_or(0));
}

pub fn error(dst: &mut Vec<u8>, error: &SqlError, procedure: &str) {
    message(dst, ERROR, error, procedure);
}

pub fn info(dst: &mut Vec<u8>, number: u32, text: &str) {
    let info = SqlError {
        number,
        state: 1,
        class: 0,
        message: text.to_string(),
    };
    message(dst, INFO, &info, "");
}

fn message(dst: &mut Vec<u8>, token: u8, error: &SqlError, procedure: &str) {
    let mut body = Vec::new();
    body.put_u32_le(error.number);
    body.put_u8(error.state);
    body.put_u8(error.class);
    put_us_varchar(&mut body, &error.message);
    put_b_varchar(&mut body, SERVER_NAME);
    put_b_varchar(&mut body, procedure);
    body.put_u32_le(1);
    with_length(dst, token, &body);
}

/// A token with a two-byte length.
fn with_length(dst: &mut Vec<u8>, token: u8, body: &[u8]) {
    dst.put_u8(token);
    dst.put_u16_le(body.len() as u16);
    dst.put_slice(body);
}

/// LOGINACK for TDS 7.4.
pub fn login_ack(dst: &mut Vec<u8>) {
    let mut body = vec![1];
    body.put_u32(0x7400_0004);
    put_b_varchar(&mut body, "Microsoft SQL Server");
    body.put_slice(&[16, 0, 0x0f, 0xa0]);
    with_length(dst, LOGINACK, &body);
}

/// The ENVCHANGE changes the server reports.
pub enum EnvChange<'a> {
    Database { new: &'a str, old: &'a str },
    PacketSize(u32),
    Collation,
    BeginTransaction([u8; 8]),
    CommitTransaction([u8; 8]),
    RollbackTransaction([u8; 8]),
}

pub fn env_change(dst: &mut Vec<u8>, change: EnvChange) {
    let mut body = Vec::new();
    // Transaction changes carry B_VARBYTE values; the others B_VARCHAR.
    let varbyte = |body: &mut Vec<u8>, bytes: &[u8]| {
        body.put_u8(bytes.len() as u8);
        body.put_slice(bytes);
    };
    match change {
        EnvChange::Database { new, old } => {
            body.put_u8(1);
            put_b_varchar(&mut body, new);
            put_b_varchar(&mut body, old);
        }
        EnvChange::PacketSize(size) => {
            body.put_u8(4);
            put_b_varchar(&mut body, &size.to_string());
            put_b_varchar(&mut body, "4096");
        }
        EnvChange::Collation => {
            body.put_u8(7);
            varbyte(&mut body, &COLLATION);
            varbyte(&mut body, &[]);
        }
        EnvChange::BeginTransaction(descriptor) => {
            body.put_u8(8);
            varbyte(&mut body, &descriptor);
            varbyte(&mut body, &[]);
        }
        EnvChange::CommitTransaction(descriptor) | EnvChange::RollbackTransaction(descriptor) => {
            body.put_u8(if matches!(change, EnvChange::CommitTransaction(_)) {
                9
            } else {
                10
            });
            varbyte(&mut body, &[]);
            varbyte(&mut body, &descriptor);
        }
    }
    with_length(dst, ENVCHANGE, &body);
}

pub fn return_status(dst: &mut Vec<u8>, status: i32) {
    dst.put_u8(RETURNSTATUS);
    dst.put_i32_le(status);
}

pub fn col_metadata(dst: &mut Vec<u8>, columns: &[Column]) {
    dst.put_u8(COLMETADATA);
    dst.put_u16_le(columns.len() as u16);
    for column in columns {
        dst.put_u32_le(0);
        dst.put_u16_le(FLAG_UPDATEABLE | if column.nullable { FLAG_NULLABLE } else { 0 });
        encode_type_info(dst, &column.ty);
        put_b_varchar(dst, &column.name);
    }
}

/// A ROW token; on a value that does not fit its column nothing is written and the reason returned.
pub fn row(dst: &mut Vec<u8>, columns: &[Column], values: &[Value]) -> Result<(), String> {
    if columns.len() != values.len() {
        return Err(format!(
            "a row of {} values for {} columns",
            values.len(),
            columns.len()
        ));
    }
    let start = dst.len();
    dst.put_u8(ROW);
    for (column, value) in columns.iter().zip(values) {
        if let Err(e) = encode_value(dst, &column.ty, value) {
            dst.truncate(start);
            return Err(format!("column {}: {e}", column.name));
        }
    }
    Ok(())
}
