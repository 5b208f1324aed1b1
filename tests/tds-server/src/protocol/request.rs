//! Client requests: SQL batches, RPC calls (`sp_executesql`, which tiberius uses for every
//! `query`/`execute`) and transaction manager requests (`Client::begin_transaction` and friends).

use std::collections::HashMap;

use super::sqltext::{parse_type, split_top_level};
use super::typeinfo::decode_type_info;
use super::values::decode_value;
use super::wire::{Reader, Result, malformed, utf16_to_string};
use crate::engine::Param;
use crate::types::{SqlError, Value};

/// `sp_executesql`'s well-known procedure id.
const SP_EXECUTESQL: u16 = 10;

/// Skips ALL_HEADERS (transaction descriptor and friends), whose first field is its total length.
fn skip_all_headers<'a>(payload: &'a [u8]) -> Result<Reader<'a>> {
    let mut src = Reader::new(payload);
    let total = src.u32()? as usize;
    if total < 4 || total > payload.len() {
        return malformed(format!("ALL_HEADERS length {total}"));
    }
    src.bytes(total - 4)?;
    Ok(src)
}

/// The text of a SQL batch.
pub fn decode_batch(payload: &[u8]) -> Result<String> {
    let mut src = skip_all_headers(payload)?;
    utf16_to_string(src.rest())
}

/// An `sp_executesql` call: the statement and its typed parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecuteSql {
    pub statement: String,
    pub params: Vec<Param>,
}

/// Decodes an RPC request. Only `sp_executesql` exists here; calling anything else is the SQL
/// Server error a missing procedure gives.
pub fn decode_rpc(payload: &[u8]) -> Result<std::result::Result<ExecuteSql, SqlError>> {
    let mut src = skip_all_headers(payload)?;
    let name_len = src.u16()?;
    let procedure = if name_len == 0xffff {
        match src.u16()? {
            SP_EXECUTESQL => None,
            id => Some(format!("procedure #{id}")),
        }
    } else {
        let name = src.utf16(name_len as usize)?;
        let bare = name
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .trim_matches(['[', ']']);
        (!bare.eq_ignore_ascii_case("sp_executesql")).then_some(name)
    };
    if let Some(name) = procedure {
        return Ok(Err(SqlError::new(
            2812,
            format!("Could not find stored procedure '{name}'."),
        )));
    }
    let _options = src.u16()?;
    let mut values = Vec::new();
    while !src.is_empty() {
        let name = src.b_varchar()?;
        let _status = src.u8()?;
        let wire = decode_type_info(&mut src)?;
        values.push((name, wire, decode_value(&mut src, wire)?));
    }
    let mut values = values.into_iter();
    let Some((_, _, Value::Text(statement))) = values.next() else {
        return Ok(Err(SqlError::new(
            214,
            "Procedure expects parameter '@statement' of type 'ntext/nchar/nvarchar'.",
        )));
    };
    let declared = match values.next() {
        Some((_, _, Value::Text(declaration))) => declarations(&declaration),
        Some(_) => {
            return Ok(Err(SqlError::new(
                214,
                "Procedure expects parameter '@params' of type 'ntext/nchar/nvarchar'.",
            )));
        }
        None => Vec::new(),
    };
    let by_name: HashMap<String, usize> = declared
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.to_ascii_lowercase(), i))
        .collect();
    let params = values
        .enumerate()
        .map(|(i, (name, wire, value))| {
            let index = by_name.get(&name.to_ascii_lowercase()).copied().unwrap_or(i);
            let (declared_name, declared_type) = declared.get(index).cloned().unzip();
            Param {
                name: if name.is_empty() {
                    declared_name.unwrap_or_default()
                } else {
                    name
                },
                ty: declared_type.flatten().unwrap_or_else(|| wire.sql_type()),
                value,
            }
        })
        .collect();
    Ok(Ok(ExecuteSql { statement, params }))
}

/// `@P1 int, @P2 nvarchar(4000) OUTPUT` → names and types (`None` for a type not known here).
fn declarations(text: &str) -> Vec<(String, Option<crate::types::SqlType>)> {
    split_top_level(text)
        .into_iter()
        .map(|decl| {
            let (name, ty) = decl.split_once(char::is_whitespace).unwrap_or((decl, ""));
            let ty = ty.trim();
            let lower = ty.to_ascii_lowercase();
            let ty = [" output", " out"]
                .iter()
                .find_map(|suffix| lower.strip_suffix(suffix).map(|rest| &ty[..rest.len()]))
                .unwrap_or(ty);
            (name.to_string(), parse_type(ty))
        })
        .collect()
}

/// A transaction manager request, as the T-SQL statement that does the same.
pub fn decode_transaction_request(payload: &[u8]) -> Result<String> {
    let mut src = skip_all_headers(payload)?;
    Ok(match src.u16()? {
        5 => "BEGIN TRANSACTION".to_string(),
        7 => "COMMIT TRANSACTION".to_string(),
        8 => "ROLLBACK TRANSACTION".to_string(),
        9 => format!("SAVE TRANSACTION [{}]", src.b_varchar()?.replace(']', "]]")),
        other => return malformed(format!("transaction manager request {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SqlType;

    fn all_headers() -> Vec<u8> {
        let mut out = vec![22, 0, 0, 0, 18, 0, 0, 0, 2, 0];
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&1u32.to_le_bytes());
        out
    }

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    /// An NVARCHAR(4000) parameter as tiberius writes one.
    fn nvarchar_param(out: &mut Vec<u8>, name: &str, text: &str) {
        out.push(name.len() as u8);
        out.extend(utf16(name));
        out.extend_from_slice(&[0, 0xe7, 0x40, 0x1f, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&((text.len() * 2) as u16).to_le_bytes());
        out.extend(utf16(text));
    }

    #[test]
    fn decodes_a_batch() {
        let mut payload = all_headers();
        payload.extend(utf16("SELECT 1"));
        assert_eq!(decode_batch(&payload).unwrap(), "SELECT 1");
    }

    #[test]
    fn decodes_sp_executesql_with_declared_types() {
        let mut payload = all_headers();
        payload.extend_from_slice(&[0xff, 0xff, 10, 0, 0, 0]);
        nvarchar_param(&mut payload, "stmt", "SELECT @P1, @P2");
        nvarchar_param(&mut payload, "params", "@P1 decimal(10,2),@P2 nvarchar(4000)");
        // @P1: NUMERICN(5, 10, 2) = 12.34; @P2: typeless NULL.
        payload.extend_from_slice(&[3]);
        payload.extend(utf16("@P1"));
        payload.extend_from_slice(&[0, 0x6c, 5, 10, 2, 5, 1]);
        payload.extend_from_slice(&1234u32.to_le_bytes());
        payload.extend_from_slice(&[3]);
        payload.extend(utf16("@P2"));
        payload.extend_from_slice(&[0, 0x1f]);
        let call = decode_rpc(&payload).unwrap().unwrap();
        assert_eq!(call.statement, "SELECT @P1, @P2");
        assert_eq!(
            call.params,
            vec![
                Param {
                    name: "@P1".into(),
                    ty: SqlType::Decimal {
                        precision: 10,
                        scale: 2
                    },
                    value: Value::Decimal {
                        value: 1234,
                        scale: 2
                    }
                },
                Param {
                    name: "@P2".into(),
                    ty: SqlType::NVarChar(Some(4000)),
                    value: Value::Null
                },
            ]
        );
    }

    #[test]
    fn other_procedures_do_not_exist() {
        let mut payload = all_headers();
        payload.extend_from_slice(&[6, 0]);
        payload.extend(utf16("sp_who"));
        payload.extend_from_slice(&[0, 0]);
        assert_eq!(decode_rpc(&payload).unwrap().unwrap_err().number, 2812);
    }

    #[test]
    fn decodes_transaction_requests() {
        let mut payload = all_headers();
        payload.extend_from_slice(&[5, 0, 0, 0]);
        assert_eq!(decode_transaction_request(&payload).unwrap(), "BEGIN TRANSACTION");
    }
}
