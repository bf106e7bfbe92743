//! The writer thread: every SCIM write, and every provisioning-log record of a failure,
//! is applied here. Concurrent writes run one after another inside ONE write transaction,
//! committed with one durable commit, so they share its page writes and its fsync.
//!
//! A write arrives planned (a [`Plan`] made on a read snapshot, with the [`ReadSet`] it was
//! made from). The writer first checks that everything the Plan read still holds in its
//! transaction (which sees the batch's earlier writes); if not, the write is refused with
//! [`StoreError::Conflict`] and writes nothing, and the caller plans again. Each write stays
//! all-or-nothing: one that fails after writing part of its work spoils the batch, which is
//! then aborted whole and each job re-run alone, in its own transaction. A caller learns its
//! outcome only after the commit that holds its writes is durable.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::db::Db;

use serde_json::value::RawValue;

use super::tables::LOG;
use super::{Encoded, StoreError, TenantWrite, apply, encode_body};
use crate::domain::{Clock, Meta, ReadSet, ResourceId, TenantId, Timestamp, UniqueFields};
use crate::eval::Plan;
use crate::eval::plan::ResourceWrite;

/// The most jobs one transaction takes.
pub const MAX_BATCH: usize = 64;

/// A write planned on a snapshot, ready to apply: the Plan, what it was made from, and
/// the rows it writes that can be encoded before the writer thread sees them (the body,
/// the history, the provisioning-log record; see [`Encoded`]).
#[derive(Debug, Clone)]
pub struct PlannedWrite {
    /// The tenant written.
    pub tenant: TenantId,
    /// The Plan (not a rejection).
    pub plan: Plan,
    /// The unique fields of the target schema the Plan was made with.
    pub unique: Arc<UniqueFields>,
    /// What the Plan was made from; it must still hold when it is applied.
    pub reads: ReadSet,
    /// The resource body the Plan puts, as the JSON text of its row.
    pub(crate) body: Option<Box<RawValue>>,
    /// The Plan's change history as one row, naming the integration user, and how many
    /// changes it holds; `None` when it changes nothing.
    pub(crate) history: Option<(Encoded, usize)>,
    /// The provisioning-log record of its success, written in the same transaction.
    pub(crate) log: Option<Encoded>,
}

impl PlannedWrite {
    /// Prepares a Plan made on a snapshot for the writer: `actor` is the integration user
    /// its history names, `log` the provisioning-log record of its success (encoded with
    /// [`Encoded::log`]). Fails when a row it writes could not be read back.
    pub fn new(
        tenant: TenantId,
        plan: Plan,
        unique: Arc<UniqueFields>,
        actor: &str,
        reads: ReadSet,
        log: Option<Encoded>,
    ) -> Result<PlannedWrite, StoreError> {
        let body = match &plan.resource {
            ResourceWrite::Put { body } => Some(encode_body(body)?),
            ResourceWrite::Delete | ResourceWrite::Keep => None,
        };
        let history = match plan.history.len() {
            0 => None,
            count => Some((Encoded::plan_history(actor, &plan.history)?, count)),
        };
        Ok(PlannedWrite {
            tenant,
            plan,
            unique,
            reads,
            body,
            history,
            log,
        })
    }
}

/// A write applied and durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The resource id.
    pub id: ResourceId,
    /// Its `meta` after the write; `None` when it was deleted.
    pub meta: Option<Meta>,
}

/// A write's answer, with the write handed back so that its caller frees it, not the
/// writer thread.
type Answer = (Result<Written, StoreError>, Box<PlannedWrite>);

/// Where a job's answer goes: to a thread that waits for it, or to an async task (which
/// holds no thread while it waits).
enum Reply<T> {
    Thread(Sender<T>),
    Task(tokio::sync::oneshot::Sender<T>),
}

impl<T> Reply<T> {
    fn send(self, answer: T) {
        // A caller that has gone away no longer needs its answer.
        match self {
            Reply::Thread(sender) => {
                let _ = sender.send(answer);
            }
            Reply::Task(sender) => {
                let _ = sender.send(answer);
            }
        }
    }
}

enum Job {
    Write(Box<PlannedWrite>, Reply<Answer>),
    Log(TenantId, Encoded, Reply<Result<u64, StoreError>>),
}

enum Done {
    Written(Written),
    Logged(u64),
}

/// How a job's run went.
enum Step {
    Done(Done),
    /// Failed before writing anything; the batch is unaffected.
    Clean(StoreError),
    /// Failed after writing part of its work: the transaction must not commit.
    Dirty(StoreError),
}

impl Job {
    fn tenant(&self) -> &TenantId {
        match self {
            Job::Write(write, _) => &write.tenant,
            Job::Log(tenant, ..) => tenant,
        }
    }

    fn run(&self, txn: &mut TenantWrite) -> Step {
        if let Err(err) = txn.scope(self.tenant()) {
            return Step::Clean(err);
        }
        match self {
            Job::Write(write, _) => run_write(txn, write),
            Job::Log(_, record, _) => {
                match txn.append_encoded(LOG, "log", std::slice::from_ref(record)) {
                    Ok(seq) => Step::Done(Done::Logged(seq)),
                    Err(err) => Step::Dirty(err),
                }
            }
        }
    }

    fn finish(self, result: Result<Done, StoreError>) {
        match self {
            Job::Write(write, reply) => {
                let result = result.and_then(|done| match done {
                    Done::Written(written) => Ok(written),
                    Done::Logged(_) => Err(unexpected()),
                });
                reply.send((result, write));
            }
            Job::Log(_, _, reply) => reply.send(result.and_then(|done| match done {
                Done::Logged(seq) => Ok(seq),
                Done::Written(_) => Err(unexpected()),
            })),
        }
    }
}

fn unexpected() -> StoreError {
    StoreError::Corrupt {
        table: "writer",
        detail: "a job finished with another job's result".into(),
    }
}

fn run_write(txn: &mut TenantWrite, write: &PlannedWrite) -> Step {
    if write.plan.is_rejected() {
        return Step::Clean(StoreError::Corrupt {
            table: "plan",
            detail: "a rejected Plan is not a write".into(),
        });
    }
    match write.reads.first_changed(&*txn) {
        Ok(None) => {}
        Ok(Some(read)) => return Step::Clean(StoreError::Conflict(read.describe())),
        Err(err) => {
            return Step::Clean(StoreError::Corrupt {
                table: "state",
                detail: err.0,
            });
        }
    }
    let meta = match apply(txn, write) {
        Ok(meta) => meta,
        Err(err) => return Step::Dirty(err),
    };
    let id = write.plan.entity.id.clone();
    if let Some(record) = &write.log
        && let Err(err) = txn.append_encoded(LOG, "log", std::slice::from_ref(record))
    {
        return Step::Dirty(err);
    }
    Step::Done(Done::Written(Written { id, meta }))
}

/// The writer thread and the channel to it. Dropping it stops the thread and waits for it,
/// so the database file is released when the last `Store` goes.
#[derive(Debug)]
pub(crate) struct Writer {
    sender: Mutex<Option<Sender<Vec<Job>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Write(..) => "Job::Write",
            Job::Log(..) => "Job::Log",
        })
    }
}

impl Writer {
    pub(crate) fn start(db: Arc<Db>, clock: Arc<dyn Clock>) -> Result<Writer, StoreError> {
        let (sender, receiver) = channel::<Vec<Job>>();
        let thread = std::thread::Builder::new()
            .name("provisio-writer".into())
            .spawn(move || run(&db, clock.as_ref(), &receiver))
            .map_err(|e| StoreError::Corrupt {
                table: "writer",
                detail: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Writer {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues jobs as one message: the writer takes them into one batch.
    fn submit(&self, jobs: Vec<Job>) {
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let rejected = match sender {
            Some(sender) => sender.send(jobs).err().map(|e| e.0),
            None => Some(jobs),
        };
        for job in rejected.into_iter().flatten() {
            job.finish(Err(StoreError::WriterStopped));
        }
    }

    /// Applies planned writes queued together; returns once each is durable or failed.
    pub(crate) fn commit_all(&self, writes: Vec<PlannedWrite>) -> Vec<Result<Written, StoreError>> {
        let (jobs, answers): (Vec<Job>, Vec<_>) = writes
            .into_iter()
            .map(|write| {
                let (reply, answer) = channel();
                (Job::Write(Box::new(write), Reply::Thread(reply)), answer)
            })
            .unzip();
        self.submit(jobs);
        answers
            .into_iter()
            .map(|answer| match answer.recv() {
                Ok((result, _write)) => result,
                Err(_) => Err(StoreError::WriterStopped),
            })
            .collect()
    }

    /// [`commit_all`](Self::commit_all) of one write, for an async caller: the answer
    /// arrives without a thread waiting for it.
    pub(crate) async fn commit_async(&self, write: PlannedWrite) -> Result<Written, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(vec![Job::Write(Box::new(write), Reply::Task(reply))]);
        match answer.await {
            Ok((result, _write)) => result,
            Err(_) => Err(StoreError::WriterStopped),
        }
    }

    /// Appends a log record in a transaction of its writer's; returns once durable.
    pub(crate) fn log(&self, tenant: TenantId, record: Encoded) -> Result<u64, StoreError> {
        let (reply, answer) = channel();
        self.submit(vec![Job::Log(tenant, record, Reply::Thread(reply))]);
        answer.recv().unwrap_or(Err(StoreError::WriterStopped))
    }

    /// [`log`](Self::log) for an async caller.
    pub(crate) async fn log_async(
        &self,
        tenant: TenantId,
        record: Encoded,
    ) -> Result<u64, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(vec![Job::Log(tenant, record, Reply::Task(reply))]);
        answer.await.unwrap_or(Err(StoreError::WriterStopped))
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

fn run(db: &Arc<Db>, clock: &dyn Clock, receiver: &Receiver<Vec<Job>>) {
    while let Ok(mut batch) = receiver.recv() {
        // Whatever else is queued joins the batch (a message is never split).
        take_queued(receiver, &mut batch);
        let now = clock.now();
        let started = std::time::Instant::now();
        // A job that spoils the transaction (or a failed commit) sends each job alone.
        match run_together(db, now, batch, receiver) {
            Ok(done) => {
                tracing::debug!(
                    jobs = done.len(),
                    micros = started.elapsed().as_micros(),
                    "batch committed"
                );
                for (job, result) in done {
                    job.finish(result);
                }
                continue;
            }
            Err(jobs) => batch = jobs,
        }
        for job in batch {
            let result = run_alone(db, now, &job);
            job.finish(result);
        }
    }
}

/// Moves queued jobs into `batch` while it has room.
fn take_queued(receiver: &Receiver<Vec<Job>>, batch: &mut Vec<Job>) {
    while batch.len() < MAX_BATCH {
        match receiver.try_recv() {
            Ok(jobs) => batch.extend(jobs),
            Err(_) => break,
        }
    }
}

/// Jobs run, each with its outcome.
type Finished = Vec<(Job, Result<Done, StoreError>)>;

/// Runs every job in one transaction, taking in the jobs queued while it runs (up to
/// [`MAX_BATCH`]: they would otherwise wait for the next commit), and commits it. Each job
/// with its outcome, or every job back when the batch must be re-run job by job.
fn run_together(
    db: &Arc<Db>,
    now: Timestamp,
    mut batch: Vec<Job>,
    receiver: &Receiver<Vec<Job>>,
) -> Result<Finished, Vec<Job>> {
    let Some(first) = batch.first().map(|job| job.tenant().clone()) else {
        return Ok(Vec::new());
    };
    let Ok(mut txn) = TenantWrite::begin(db, &first, now) else {
        return Err(batch);
    };
    let mut results = Vec::with_capacity(batch.len());
    let mut ran = 0;
    loop {
        for job in &batch[ran..] {
            match job.run(&mut txn) {
                Step::Done(done) => results.push(Ok(done)),
                Step::Clean(err) => results.push(Err(err)),
                Step::Dirty(_) => return Err(batch),
            }
        }
        ran = batch.len();
        take_queued(receiver, &mut batch);
        if batch.len() == ran {
            break;
        }
    }
    if txn.commit().is_err() {
        return Err(batch);
    }
    Ok(batch.into_iter().zip(results).collect())
}

/// Runs one job in a transaction of its own.
fn run_alone(db: &Arc<Db>, now: Timestamp, job: &Job) -> Result<Done, StoreError> {
    let mut txn = TenantWrite::begin(db, job.tenant(), now)?;
    match job.run(&mut txn) {
        Step::Done(done) => {
            txn.commit()?;
            Ok(done)
        }
        Step::Clean(err) | Step::Dirty(err) => Err(err),
    }
}
