//! Prepared statements: the query text and its bound parameters, kept under a random handle that only
//! the user who created it can use.

use std::collections::HashMap;
use std::sync::Mutex;

use datafusion::common::ScalarValue;
use ring::rand::{SecureRandom, SystemRandom};
use tonic::Status;

/// Open statements the server keeps at most; a client that never closes its own cannot grow memory
/// without bound.
pub const MAX_PREPARED: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Prepared {
    pub sql: String,
    pub user: String,
    /// `None` until the client binds parameters.
    pub params: Option<Vec<ScalarValue>>,
}

#[derive(Debug, Default)]
pub struct PreparedStatements(Mutex<HashMap<Vec<u8>, Prepared>>);

impl PreparedStatements {
    /// Keeps `sql` for `user`; returns its handle.
    pub fn create(&self, user: &str, sql: &str) -> Result<Vec<u8>, Status> {
        let mut bytes = [0u8; 16];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Status::internal("the system random number generator failed"))?;
        let handle = crate::snapshot::manifest::hex(&bytes).into_bytes();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_PREPARED {
            return Err(Status::resource_exhausted(format!(
                "{MAX_PREPARED} prepared statements are open; close some first"
            )));
        }
        let prepared = Prepared {
            sql: sql.to_string(),
            user: user.to_string(),
            params: None,
        };
        map.insert(handle.clone(), prepared);
        Ok(handle)
    }

    /// The statement behind `handle`, if `user` owns it.
    pub fn get(&self, handle: &[u8], user: &str) -> Result<Prepared, Status> {
        self.with_owned(handle, user, |map| Ok(map[handle].clone()))
    }

    pub fn bind(&self, handle: &[u8], user: &str, params: Vec<ScalarValue>) -> Result<(), Status> {
        self.with_owned(handle, user, |map| {
            map.entry(handle.to_vec()).and_modify(|p| p.params = Some(params));
            Ok(())
        })
    }

    pub fn close(&self, handle: &[u8], user: &str) -> Result<(), Status> {
        self.with_owned(handle, user, |map| {
            map.remove(handle);
            Ok(())
        })
    }

    /// Runs `f` on the map, under one lock, once `handle` is known to be `user`'s.
    fn with_owned<T>(
        &self,
        handle: &[u8],
        user: &str,
        f: impl FnOnce(&mut HashMap<Vec<u8>, Prepared>) -> Result<T, Status>,
    ) -> Result<T, Status> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(handle) {
            Some(p) if p.user == user => f(&mut map),
            _ => Err(Status::not_found(
                "no such prepared statement (closed, or another user's)",
            )),
        }
    }
}
