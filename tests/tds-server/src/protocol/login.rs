//! The handshake: PRELOGIN (we never encrypt) and LOGIN7 (SQL Server authentication).

use bytes::BufMut;

use super::wire::{Malformed, Reader, Result, malformed, utf16_to_string};

const OPTION_VERSION: u8 = 0;
const OPTION_ENCRYPTION: u8 = 1;
const OPTION_INSTOPT: u8 = 2;
const OPTION_THREADID: u8 = 3;
const OPTION_MARS: u8 = 4;
const OPTION_TERMINATOR: u8 = 0xff;

/// PRELOGIN encryption values.
const ENCRYPT_OFF: u8 = 0;
pub const ENCRYPT_NOT_SUP: u8 = 2;

/// The encryption byte of a client's PRELOGIN (`ENCRYPT_OFF` when absent).
pub fn prelogin_encryption(payload: &[u8]) -> Result<u8> {
    let mut options = Reader::new(payload);
    loop {
        let token = options.u8()?;
        if token == OPTION_TERMINATOR {
            return Ok(ENCRYPT_OFF);
        }
        let offset = u16::from_be_bytes([options.u8()?, options.u8()?]) as usize;
        let length = u16::from_be_bytes([options.u8()?, options.u8()?]) as usize;
        if token == OPTION_ENCRYPTION {
            return match payload.get(offset..offset + length) {
                Some([value, ..]) => Ok(*value),
                _ => malformed("PRELOGIN encryption option out of bounds"),
            };
        }
    }
}

/// The PRELOGIN answer: a SQL Server 2022 version, no encryption, no MARS.
pub fn prelogin_response() -> Vec<u8> {
    let version: &[u8] = &[16, 0, 0x0f, 0xa0, 0, 0];
    let options: [(u8, &[u8]); 5] = [
        (OPTION_VERSION, version),
        (OPTION_ENCRYPTION, &[ENCRYPT_NOT_SUP]),
        (OPTION_INSTOPT, &[0]),
        (OPTION_THREADID, &[]),
        (OPTION_MARS, &[0]),
    ];
    let mut offset = options.len() * 5 + 1;
    let mut out = Vec::new();
    for (token, data) in options {
        out.put_u8(token);
        out.put_u16(offset as u16);
        out.put_u16(data.len() as u16);
        offset += data.len();
    }
    out.put_u8(OPTION_TERMINATOR);
    for (_, data) in options {
        out.extend_from_slice(data);
    }
    out
}

/// What the server needs from a LOGIN7 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub tds_version: u32,
    pub packet_size: u32,
    pub user: String,
    pub password: String,
    pub app_name: String,
    /// The client's workstation name (`HOST_NAME()`).
    pub host_name: String,
    pub database: String,
}

/// Decodes LOGIN7: a fixed part, then (offset, length in characters) pairs into UTF-16 data.
pub fn decode_login(payload: &[u8]) -> Result<Login> {
    let mut fixed = Reader::new(payload);
    let _length = fixed.u32()?;
    let tds_version = fixed.u32()?;
    let packet_size = fixed.u32()?;
    fixed.bytes(36 - fixed.position())?;
    let field = |index: usize| -> Result<&[u8]> {
        let at = 36 + index * 4;
        let mut pair = Reader::new(
            payload
                .get(at..at + 4)
                .ok_or_else(|| Malformed("LOGIN7 too short".into()))?,
        );
        let (offset, chars) = (pair.u16()? as usize, pair.u16()? as usize);
        payload
            .get(offset..offset + chars * 2)
            .ok_or_else(|| Malformed(format!("LOGIN7 field {index} out of bounds")))
    };
    let text = |index: usize| -> Result<String> { utf16_to_string(field(index)?) };
    let password: Vec<u8> = field(2)?.iter().map(|b| (b ^ 0xa5).rotate_left(4)).collect();
    Ok(Login {
        tds_version,
        packet_size,
        user: text(1)?,
        password: utf16_to_string(&password)?,
        app_name: text(3)?,
        host_name: text(0)?,
        database: text(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a LOGIN7 the way tiberius does: fixed part, offsets, obfuscated password.
    fn login7(user: &str, password: &str, database: &str) -> Vec<u8> {
        let fields = ["host", user, password, "tiberius", "server", "", "", "", database];
        let mut out = vec![0u8; 94];
        out[4..8].copy_from_slice(&0x7400_0004u32.to_le_bytes());
        out[8..12].copy_from_slice(&4096u32.to_le_bytes());
        for (i, value) in fields.iter().enumerate() {
            let offset = out.len();
            let mut data: Vec<u8> = value.encode_utf16().flat_map(u16::to_le_bytes).collect();
            if i == 2 {
                data.iter_mut().for_each(|b| *b = b.rotate_left(4) ^ 0xa5);
            }
            out.extend_from_slice(&data);
            let at = 36 + i * 4;
            out[at..at + 2].copy_from_slice(&(offset as u16).to_le_bytes());
            out[at + 2..at + 4].copy_from_slice(&(value.encode_utf16().count() as u16).to_le_bytes());
        }
        let len = out.len() as u32;
        out[..4].copy_from_slice(&len.to_le_bytes());
        out
    }

    #[test]
    fn decodes_login7_and_password_obfuscation() {
        let login = decode_login(&login7("sa", "P@ss;wörd", "routes")).unwrap();
        assert_eq!(login.user, "sa");
        assert_eq!(login.password, "P@ss;wörd");
        assert_eq!(login.database, "routes");
        assert_eq!(login.packet_size, 4096);
        assert_eq!(login.tds_version, 0x7400_0004);
    }

    #[test]
    fn prelogin_answer_says_not_supported() {
        let response = prelogin_response();
        assert_eq!(prelogin_encryption(&response).unwrap(), ENCRYPT_NOT_SUP);
    }
}
