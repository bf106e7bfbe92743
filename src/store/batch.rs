//! Batched writes: concurrent operations run one after another inside ONE write transaction,
//! committed with one durable commit, so they share its page writes and its fsync.
//!
//! Each operation stays all-or-nothing: a job that fails before writing anything simply
//! contributes nothing; a job that fails after writing part of its work spoils the batch,
//! which is then aborted whole and every job of it re-run alone, in its own transaction.
//! A job learns its outcome only after the commit that holds its writes is durable.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use redb::Database;

use super::clock::{Clock, IdSource};
use super::group::GroupSync;
use super::{StoreError, TenantWrite};

/// The most jobs one transaction takes.
pub const MAX_BATCH: usize = 64;

/// How a job's run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Its writes are in the transaction.
    Done,
    /// It failed before writing anything; the others are unaffected.
    FailedClean,
    /// It failed after writing part of its work: the transaction must not commit.
    FailedDirty,
}

/// One operation submitted to the writer.
pub trait WriteJob: Send {
    /// The tenant it writes to.
    fn tenant(&self) -> &str;
    /// Runs inside the batch's transaction (scoped to [`tenant`](Self::tenant)). May run a
    /// second time, alone, if another job spoiled the batch.
    fn run(&mut self, txn: &mut TenantWrite) -> JobStatus;
    /// Called once, when the commit holding the job's writes is durable (`Ok`) or failed.
    fn finish(self: Box<Self>, committed: Result<(), StoreError>);
}

/// The writer thread and the channel to it. Dropping it stops the thread and waits for it,
/// so the database file is released when the last `Store` goes.
#[derive(Debug)]
pub(crate) struct Writer {
    sender: Mutex<Option<Sender<Box<dyn WriteJob>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub(crate) fn start(
        db: Arc<Database>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdSource>,
        group: Arc<GroupSync>,
    ) -> Result<Writer, StoreError> {
        let (sender, receiver) = channel::<Box<dyn WriteJob>>();
        let thread = std::thread::Builder::new()
            .name("provisio-writer".into())
            .spawn(move || run(&db, &clock, &ids, &group, &receiver))
            .map_err(|e| StoreError::Corrupt {
                table: "writer",
                detail: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Writer {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues a job; when the writer is gone, the job is finished with an error at once.
    pub(crate) fn submit(&self, job: Box<dyn WriteJob>) {
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let rejected = match sender {
            Some(sender) => sender.send(job).err().map(|e| e.0),
            None => Some(job),
        };
        if let Some(job) = rejected {
            job.finish(Err(StoreError::Corrupt {
                table: "writer",
                detail: "the writer has stopped".into(),
            }));
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

fn run(
    db: &Arc<Database>,
    clock: &Arc<dyn Clock>,
    ids: &Arc<dyn IdSource>,
    group: &Arc<GroupSync>,
    receiver: &Receiver<Box<dyn WriteJob>>,
) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let begin = || TenantWrite::begin(db, clock.now(), ids, group);
        if batch.len() == 1 {
            run_alone(begin, batch);
            continue;
        }
        match run_together(begin(), &mut batch) {
            Ok(true) => batch.into_iter().for_each(|job| job.finish(Ok(()))),
            // A job spoiled the transaction (or the commit failed): each alone.
            Ok(false) | Err(_) => run_alone(begin, batch),
        }
    }
}

/// Runs every job in one transaction; `Ok(true)` when it committed.
fn run_together(
    txn: Result<TenantWrite, StoreError>,
    batch: &mut [Box<dyn WriteJob>],
) -> Result<bool, StoreError> {
    let mut txn = txn?;
    for job in batch.iter_mut() {
        if txn.scope(job.tenant()).is_err() {
            // An unknown tenant: the job runs alone and reports it.
            return Ok(false);
        }
        if job.run(&mut txn) == JobStatus::FailedDirty {
            return Ok(false);
        }
    }
    txn.commit_durable()?;
    Ok(true)
}

/// Runs each job in a transaction of its own.
fn run_alone(begin: impl Fn() -> Result<TenantWrite, StoreError>, batch: Vec<Box<dyn WriteJob>>) {
    for mut job in batch {
        let outcome = begin().and_then(|mut txn| {
            txn.scope(job.tenant())?;
            match job.run(&mut txn) {
                JobStatus::Done => txn.commit_durable(),
                JobStatus::FailedClean | JobStatus::FailedDirty => Ok(()),
            }
        });
        job.finish(outcome);
    }
}
