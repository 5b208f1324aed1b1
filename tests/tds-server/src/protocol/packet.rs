//! TDS packets: an 8-byte header (type, status, big-endian length, spid, id, window) and a payload.
//! A message is the payloads of consecutive packets up to the one with the end-of-message status.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

pub const HEADER_LEN: usize = 8;
const STATUS_END_OF_MESSAGE: u8 = 0x01;

/// Packet types this server reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    SqlBatch = 1,
    Rpc = 3,
    TabularResult = 4,
    Attention = 6,
    BulkLoad = 7,
    TransactionManager = 14,
    Login7 = 16,
    Sspi = 17,
    PreLogin = 18,
}

impl PacketType {
    fn from_u8(byte: u8) -> Option<Self> {
        use PacketType::*;
        [
            SqlBatch,
            Rpc,
            TabularResult,
            Attention,
            BulkLoad,
            TransactionManager,
            Login7,
            Sspi,
            PreLogin,
        ]
        .into_iter()
        .find(|t| *t as u8 == byte)
    }
}

/// One client message, reassembled.
#[derive(Debug)]
pub struct Message {
    pub kind: PacketType,
    pub payload: Vec<u8>,
}

/// Reads whole messages. A byte budget, when set, closes the connection after that many more
/// bytes: the `DropAfterBytes` fault, which must cut a bulk load in the middle of its data.
pub struct PacketReader<R> {
    inner: R,
    budget: Option<usize>,
}

impl<R: AsyncRead + Unpin> PacketReader<R> {
    pub fn new(inner: R) -> Self {
        Self { inner, budget: None }
    }

    /// Reads `bytes` more bytes at most, then fails as if the connection dropped.
    pub fn drop_after(&mut self, bytes: usize) {
        self.budget = Some(bytes);
    }

    async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        if let Some(budget) = self.budget {
            if buf.len() > budget {
                self.inner.read_exact(&mut buf[..budget]).await?;
                self.budget = Some(0);
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "dropped by an injected fault",
                ));
            }
            self.budget = Some(budget - buf.len());
        }
        self.inner.read_exact(buf).await.map(|_| ())
    }

    /// The next message, or `None` when the client closed the connection between messages.
    pub async fn read_message(&mut self) -> io::Result<Option<Message>> {
        let mut kind = None;
        let mut payload = Vec::new();
        loop {
            let mut header = [0u8; HEADER_LEN];
            if kind.is_none() && self.budget != Some(0) {
                // A clean close shows up as EOF before the first header byte.
                if self.inner.read(&mut header[..1]).await? == 0 {
                    return Ok(None);
                }
                if let Some(budget) = self.budget.as_mut() {
                    *budget -= 1;
                }
                self.read_exact(&mut header[1..]).await?;
            } else {
                self.read_exact(&mut header).await?;
            }
            let packet_kind = PacketType::from_u8(header[0]).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unknown packet type {:#04x}", header[0]),
                )
            })?;
            let length = u16::from_be_bytes([header[2], header[3]]) as usize;
            if length < HEADER_LEN {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "packet shorter than its header",
                ));
            }
            let start = payload.len();
            payload.resize(start + length - HEADER_LEN, 0);
            self.read_exact(&mut payload[start..]).await?;
            if *kind.get_or_insert(packet_kind) != packet_kind {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "packet type changed inside a message",
                ));
            }
            if header[1] & STATUS_END_OF_MESSAGE != 0 {
                return Ok(kind.map(|kind| Message { kind, payload }));
            }
        }
    }
}

/// Splits `payload` into packets of at most `packet_size` bytes (header included).
pub fn frame(kind: PacketType, payload: &[u8], packet_size: usize, spid: u16) -> Vec<u8> {
    let room = packet_size.max(HEADER_LEN + 1) - HEADER_LEN;
    let chunks: Vec<&[u8]> = if payload.is_empty() {
        vec![&[]]
    } else {
        payload.chunks(room).collect()
    };
    let mut out = Vec::with_capacity(payload.len() + chunks.len() * HEADER_LEN);
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.into_iter().enumerate() {
        out.push(kind as u8);
        out.push(if i == last { STATUS_END_OF_MESSAGE } else { 0 });
        out.extend_from_slice(&((chunk.len() + HEADER_LEN) as u16).to_be_bytes());
        out.extend_from_slice(&spid.to_be_bytes());
        out.push((i + 1) as u8);
        out.push(0);
        out.extend_from_slice(chunk);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_and_reassembles_multi_packet_messages() {
        let payload: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let wire = frame(PacketType::SqlBatch, &payload, 4096, 51);
        assert_eq!(wire.len(), payload.len() + 3 * HEADER_LEN);
        assert_eq!(&wire[..2], &[1, 0]);
        let mut reader = PacketReader::new(&wire[..]);
        let message = reader.read_message().await.unwrap().unwrap();
        assert_eq!(message.kind, PacketType::SqlBatch);
        assert_eq!(message.payload, payload);
        assert!(reader.read_message().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn budget_cuts_a_message_short() {
        let wire = frame(PacketType::BulkLoad, &[7; 100], 4096, 0);
        let mut reader = PacketReader::new(&wire[..]);
        reader.drop_after(50);
        let err = reader.read_message().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionAborted);
    }
}
