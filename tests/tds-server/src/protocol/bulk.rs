//! Bulk load: the `INSERT BULK` statement tiberius sends first (which the engine never sees), then
//! the BULK_LOAD message of COLMETADATA, ROW tokens and DONE.

use super::sqltext::{find_unquoted, split_top_level, take_identifier};
use super::typeinfo::{WireType, decode_type_info};
use super::values::decode_value;
use super::wire::{Reader, Result, malformed};
use crate::types::Value;

/// `INSERT BULK <table> (<column> <type>, …) [WITH (…)]`: the target and its column names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertBulk {
    /// As written, e.g. `[dbo].[orders]` or `#staging`.
    pub table: String,
    pub columns: Vec<String>,
}

/// Whether a batch is an `INSERT BULK` statement.
pub fn is_insert_bulk(text: &str) -> bool {
    let mut words = text.split_whitespace();
    matches!((words.next(), words.next()), (Some(a), Some(b)) if a.eq_ignore_ascii_case("insert") && b.eq_ignore_ascii_case("bulk"))
}

/// Parses an `INSERT BULK` statement; `None` when it is not well formed.
pub fn parse_insert_bulk(text: &str) -> Option<InsertBulk> {
    let text = text.trim_start();
    let rest = text[text.find(|c: char| c.is_whitespace())?..].trim_start();
    let rest = rest[rest.find(|c: char| c.is_whitespace())?..].trim_start();
    let open = find_unquoted(rest, |c| c == '(')?;
    let table = rest[..open].trim().to_string();
    let list = &rest[open + 1..];
    let close = matching_close(list)?;
    let columns = split_top_level(&list[..close])
        .into_iter()
        .map(|column| take_identifier(column).map(|(name, _)| name))
        .collect::<Option<Vec<_>>>()?;
    (!table.is_empty() && !columns.is_empty()).then_some(InsertBulk { table, columns })
}

/// The `)` closing a list whose `(` was just before `text`.
fn matching_close(text: &str) -> Option<usize> {
    let mut depth = 0;
    find_unquoted(text, |c| match c {
        '(' => {
            depth += 1;
            false
        }
        ')' if depth == 0 => true,
        ')' => {
            depth -= 1;
            false
        }
        _ => false,
    })
}

const COLMETADATA: u8 = 0x81;
const ROW: u8 = 0xd1;
const DONE: u8 = 0xfd;

/// Decodes a BULK_LOAD message into rows, each value read per the COLMETADATA the client sent.
pub fn decode_bulk_load(payload: &[u8]) -> Result<Vec<Vec<Value>>> {
    let mut src = Reader::new(payload);
    let mut columns: Option<Vec<WireType>> = None;
    let mut rows = Vec::new();
    loop {
        match src.u8()? {
            COLMETADATA => {
                let count = src.u16()?;
                let mut types = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let _user_type = src.u32()?;
                    let _flags = src.u16()?;
                    types.push(decode_type_info(&mut src)?);
                    src.b_varchar()?;
                }
                columns = Some(types);
            }
            ROW => {
                let Some(types) = &columns else {
                    return malformed("ROW before COLMETADATA");
                };
                rows.push(
                    types
                        .iter()
                        .map(|ty| decode_value(&mut src, *ty))
                        .collect::<Result<_>>()?,
                );
            }
            DONE => {
                src.bytes(12)?;
                return Ok(rows);
            }
            token => return malformed(format!("unexpected token {token:#04x} in a bulk load")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_insert_bulk_as_tiberius_writes_it() {
        let text = "INSERT BULK [dbo].[my (table)] ([id] int, [we]]ird, name] nvarchar(100), [amount] decimal(10,2)) WITH (TABLOCK)";
        assert!(is_insert_bulk(text));
        let parsed = parse_insert_bulk(text).unwrap();
        assert_eq!(parsed.table, "[dbo].[my (table)]");
        assert_eq!(parsed.columns, vec!["id", "we]ird, name", "amount"]);
        assert_eq!(
            parse_insert_bulk("insert  bulk #t ([a] int)").unwrap().table,
            "#t"
        );
        assert!(!is_insert_bulk("INSERT INTO t VALUES (1)"));
        assert!(parse_insert_bulk("INSERT BULK t").is_none());
    }

    #[test]
    fn decodes_a_bulk_load_message() {
        // COLMETADATA: one INTN(4) column "id"; two rows (7, NULL); DONE.
        let mut payload = vec![COLMETADATA, 1, 0, 0, 0, 0, 0, 9, 0, 0x26, 4, 2, b'i', 0, b'd', 0];
        payload.extend_from_slice(&[ROW, 4, 7, 0, 0, 0, ROW, 0, DONE]);
        payload.extend_from_slice(&[0; 12]);
        assert_eq!(
            decode_bulk_load(&payload).unwrap(),
            vec![vec![Value::Int(7)], vec![Value::Null]]
        );
    }
}
