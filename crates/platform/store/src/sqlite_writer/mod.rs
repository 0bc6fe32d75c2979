//! SQLite's serialised writes, run synchronously on one dedicated thread.
//!
//! Through sqlx every SQLite statement is a hand-off to sqlx's worker thread and back
//! (two context switches), and a purchase is about ten statements under the store's write
//! lock, its audit record four more: the lock was held mostly for thread hand-offs. Here
//! the writer thread owns its own `rusqlite` connection to the same database file (WAL)
//! and runs a whole operation — every statement, with cached prepared statements — as one
//! closure: one hand-off per operation.
//!
//! **Group commit.** The thread takes every job already queued (at most
//! [`WRITER_BATCH_JOBS_MAX`]) and runs them in one SQL transaction, each inside its own
//! savepoint: a job that fails is rolled back to its savepoint and answered with its
//! error, without touching the others. Every caller is answered only after the batch's
//! `COMMIT` returned (or, if the commit fails, with that error — nothing of the batch was
//! written). So an acknowledged operation is as durable as before; only the number of
//! commits per operation drops under load.
//!
//! The thread holds the store's write lock (`audit_lock`, the same mutex the sqlx money
//! writers take) for each batch, so the one-writer rule is unchanged.

use crate::{StoreError, StoreResult};
use rusqlite::Connection;
use std::sync::Arc;
use std::sync::mpsc;

/// Most jobs committed together in one SQL transaction (group commit).
pub const WRITER_BATCH_JOBS_MAX: usize = 64;
/// Prepared statements the writer connection keeps compiled.
pub const WRITER_STATEMENT_CACHE_MAX: usize = 64;

/// What a job leaves for the thread loop: whether it succeeded (else its savepoint is
/// rolled back) and how to answer its caller once the batch's fate is known.
struct Done {
    ok: bool,
    answer: Answer,
}

/// Answers a job's caller, given the batch's error if the batch did not commit.
type Answer = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// A job runs against the connection, or — when its batch could not start — is told
/// why not.
type Job = Box<dyn FnOnce(Result<&Connection, &StoreError>) -> Done + Send>;

/// Handle to the writer thread. Dropping the last clone ends the thread once its queue
/// is drained.
#[derive(Clone)]
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for SqliteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteWriter")
    }
}

pub(crate) fn rq_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        {
            return StoreError::Conflict(msg.clone().unwrap_or_else(|| e.to_string()));
        }
    }
    StoreError::Backend(e.to_string())
}

/// The same error for every caller of a failed batch.
fn copy_err(e: &StoreError) -> StoreError {
    StoreError::Backend(format!("batch not committed: {e}"))
}

impl SqliteWriter {
    /// Opens the writer's connection to `path` (migrations already applied) and starts
    /// the thread. `lock` is the store's write lock.
    pub(crate) fn start(
        path: &std::path::Path,
        busy_timeout_ms: u64,
        lock: Arc<tokio::sync::Mutex<()>>,
    ) -> StoreResult<Self> {
        let conn = Connection::open(path).map_err(rq_err)?;
        conn.busy_timeout(std::time::Duration::from_millis(busy_timeout_ms))
            .map_err(rq_err)?;
        // WAL with synchronous=NORMAL, as the sqlx pool: a commit is durable against a
        // crash of the process (the WAL is in the OS's page cache), not against the loss
        // of power before the next checkpoint (docs/money.md, "Durability").
        // The per-job savepoints' statement journal stays in memory (temp_store) instead
        // of spilling into a temporary file that is written and deleted again.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA temp_store = MEMORY;",
        )
        .map_err(rq_err)?;
        conn.set_prepared_statement_cache_capacity(WRITER_STATEMENT_CACHE_MAX);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("suanli-sqlite-writer".into())
            .spawn(move || run(conn, queue, lock))
            .map_err(|e| StoreError::Backend(format!("writer thread: {e}")))?;
        Ok(Self { jobs })
    }

    /// Runs `f` on the writer thread inside the current batch's transaction and answers
    /// after that transaction committed.
    pub(crate) async fn call<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |conn| {
            let r = match conn {
                Ok(conn) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)))
                    .unwrap_or_else(|_| Err(StoreError::Backend("writer job panicked".into()))),
                Err(e) => Err(copy_err(e)),
            };
            Done {
                ok: r.is_ok(),
                answer: Box::new(move |batch_err| {
                    let r = match (batch_err, r) {
                        (Some(e), Ok(_)) => Err(copy_err(e)),
                        (_, r) => r,
                    };
                    let _ = tx.send(r);
                }),
            }
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Backend("the SQLite writer thread has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Backend("the SQLite writer thread has stopped".into()))?
    }
}

fn run(conn: Connection, queue: mpsc::Receiver<Job>, lock: Arc<tokio::sync::Mutex<()>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < WRITER_BATCH_JOBS_MAX {
            match queue.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let guard = lock.blocking_lock();
        let mut done = Vec::with_capacity(batch.len());
        let mut err = conn.execute_batch("BEGIN IMMEDIATE").map_err(rq_err).err();
        let began = err.is_none();
        for job in batch {
            if let Some(e) = &err {
                done.push(job(Err(e)));
                continue;
            }
            if let Err(e) = conn.execute_batch("SAVEPOINT job") {
                let e = rq_err(e);
                done.push(job(Err(&e)));
                err = Some(e);
                continue;
            }
            let d = job(Ok(&conn));
            let end = if d.ok {
                "RELEASE job"
            } else {
                "ROLLBACK TO job; RELEASE job"
            };
            done.push(d);
            err = conn.execute_batch(end).map_err(rq_err).err();
        }
        if err.is_none() {
            err = conn.execute_batch("COMMIT").map_err(rq_err).err();
        }
        if began && err.is_some() {
            // Whatever the failure, nothing of this batch stays.
            let _ = conn.execute_batch("ROLLBACK");
        }
        drop(guard);
        for d in done {
            (d.answer)(err.as_ref());
        }
    }
}

mod ops;
pub(crate) use ops::{append_audit, place_order};
