//! TDS 7.4 as tiberius 0.13 speaks it, server side: packets, the handshake, requests (SQL batch,
//! RPC, transaction manager, bulk load) and response tokens. Plain codecs; the connection loop in
//! [`crate::server`] drives them.

pub mod bulk;
mod charset;
pub mod login;
pub mod packet;
pub mod request;
pub mod response;
mod sqltext;
mod temporal;
pub mod tokens;
mod typeinfo;
mod values;
pub mod wire;
