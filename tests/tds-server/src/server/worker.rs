//! One thread per connection owns its engine session: engine calls block (SQLite, a wait for an
//! application lock), and a session stays on the thread that opened it. When the connection goes,
//! the thread aborts the session, rolling back whatever transaction was left open, and ends it,
//! releasing its application locks.

use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::engine::instance::SessionInfo;
use crate::engine::{Engine, Session};
use crate::types::SqlError;

type Job = Box<dyn FnOnce(&mut Session) + Send>;

pub struct Worker {
    jobs: mpsc::Sender<Job>,
}

/// The session's thread is gone (the engine panicked); the connection closes.
#[derive(Debug)]
pub struct SessionLost;

impl Worker {
    /// Opens the session of client `spid` on a new thread.
    pub async fn start(
        engine: Engine,
        spid: u16,
        info: SessionInfo,
    ) -> std::io::Result<Result<Worker, SqlError>> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened, ready) = oneshot::channel();
        std::thread::Builder::new()
            .name("tds-session".into())
            .spawn(move || {
                let mut session = match engine.session_as(spid, info) {
                    Ok(session) => session,
                    Err(e) => {
                        let _ = opened.send(Err(e));
                        return;
                    }
                };
                let _ = opened.send(Ok(()));
                while let Ok(job) = queue.recv() {
                    job(&mut session);
                }
                // Roll back first, then end the session (releasing its application locks), as
                // SQL Server does when a client goes.
                session.abort();
                drop(session);
            })?;
        let opened = ready
            .await
            .map_err(|_| std::io::Error::other("the session thread panicked while opening"))?;
        Ok(opened.map(|()| Worker { jobs }))
    }

    /// Runs `job` on the session's thread.
    pub async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> R + Send + 'static,
    ) -> Result<R, SessionLost> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move |session| {
            let _ = done.send(job(session));
        });
        self.jobs.send(job).map_err(|_| SessionLost)?;
        result.await.map_err(|_| SessionLost)
    }
}
