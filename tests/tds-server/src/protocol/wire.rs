//! Byte-level reading and writing shared by every message: a bounds-checked little-endian cursor
//! and the UTF-16 string shapes TDS uses (B_VARCHAR, US_VARCHAR).

use bytes::BufMut;

/// A client message that does not parse. The connection answers it with an error or closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed TDS message: {}", self.0)
    }
}

impl std::error::Error for Malformed {}

pub type Result<T> = std::result::Result<T, Malformed>;

pub fn malformed<T>(message: impl Into<String>) -> Result<T> {
    Err(Malformed(message.into()))
}

/// A cursor over a received message; every read checks the remaining length.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return malformed(format!(
                "needed {n} bytes at offset {}, {} left",
                self.pos,
                self.remaining()
            ));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.array()?))
    }

    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// `chars` UTF-16 code units.
    pub fn utf16(&mut self, chars: usize) -> Result<String> {
        utf16_to_string(self.bytes(chars * 2)?)
    }

    /// A string with a one-byte length in characters.
    pub fn b_varchar(&mut self) -> Result<String> {
        let chars = self.u8()? as usize;
        self.utf16(chars)
    }

    /// A string with a two-byte length in characters.
    pub fn us_varchar(&mut self) -> Result<String> {
        let chars = self.u16()? as usize;
        self.utf16(chars)
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }
}

pub fn utf16_to_string(bytes: &[u8]) -> Result<String> {
    if !bytes.len().is_multiple_of(2) {
        return malformed("UTF-16 text with an odd byte count");
    }
    let units = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<std::result::Result<String, _>>()
        .or_else(|_| malformed("invalid UTF-16 text"))
}

/// B_VARCHAR: names are cut at 255 UTF-16 units, the format's limit (SQL Server's own is 128).
pub fn put_b_varchar(dst: &mut impl BufMut, s: &str) {
    let units: Vec<u16> = s.encode_utf16().take(255).collect();
    dst.put_u8(units.len() as u8);
    units.iter().for_each(|u| dst.put_u16_le(*u));
}

/// US_VARCHAR: messages are cut at 65535 UTF-16 units.
pub fn put_us_varchar(dst: &mut impl BufMut, s: &str) {
    let units: Vec<u16> = s.encode_utf16().take(u16::MAX as usize).collect();
    dst.put_u16_le(units.len() as u16);
    units.iter().for_each(|u| dst.put_u16_le(*u));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounds_checked() {
        let mut r = Reader::new(&[1, 0, 2]);
        assert_eq!(r.u16().unwrap(), 1);
        assert!(r.u16().is_err());
        assert_eq!(r.u8().unwrap(), 2);
        assert!(r.is_empty());
    }

    #[test]
    fn varchar_round_trip() {
        let mut buf = Vec::new();
        put_b_varchar(&mut buf, "Ñandú 😀");
        put_us_varchar(&mut buf, "字");
        let mut r = Reader::new(&buf);
        assert_eq!(r.b_varchar().unwrap(), "Ñandú 😀");
        assert_eq!(r.us_varchar().unwrap(), "字");
    }
}
