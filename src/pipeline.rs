//! The write pipeline: one SCIM write operation from a parsed [`ScimOp`] to a durable
//! commit, as one library function the server, `/Bulk` and the admin surface share.
//!
//! ```text
//! write -> store.read (snapshot) -> Recorder -> preconditions -> eval::plan
//!       -> store.commit(PlannedWrite) -> writer: reads still hold? -> store::apply -> commit
//! ```
//!
//! The CPU work (PATCH application, rules, hooks) runs on the caller's thread against a
//! read snapshot that never blocks writers; the writer only checks that what the Plan read
//! is unchanged and writes. When it changed, the operation is planned again on a fresh
//! snapshot. Errors are typed ([`WriteError`]); the server turns them into SCIM errors.

use std::sync::Arc;

use crate::check::CheckedRules;
use crate::domain::{EntityType, FieldName, IdSource, Recorder, StateView, TenantId, UniqueFields};
use crate::eval::plan::{PasswordWrite, Rejection};
use crate::eval::{self, EvalError};
use crate::scim::error::ScimError;
use crate::scim::etag::evaluate_preconditions;
use crate::scim::op::ScimOp;
use crate::store::{Encoded, PlannedWrite, Store, StoreError, Written};

/// How many times a write is planned again after its state changed under it.
pub const MAX_ATTEMPTS: usize = 16;

/// The rules a tenant's operations are evaluated with, and what the store needs of them.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The checked rules (the profile with the tenant's overlay, if any).
    pub rules: Arc<CheckedRules>,
    /// The target schema's unique fields, for the store's indexes.
    pub unique: Arc<UniqueFields>,
}

impl Profile {
    /// The profile of checked rules.
    pub fn new(rules: Arc<CheckedRules>) -> Profile {
        let unique = UniqueFields::new(rules.target.entities.values().map(|def| {
            (
                EntityType::new(def.name.as_str()),
                def.fields
                    .iter()
                    .filter(|f| f.unique)
                    .map(|f| FieldName::new(f.name.as_str()))
                    .collect(),
            )
        }));
        Profile {
            rules,
            unique: Arc::new(unique),
        }
    }
}

/// One write request, parsed and authenticated.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// The tenant of the API key.
    pub tenant: TenantId,
    /// The integration user of the API key.
    pub actor: String,
    /// The operation.
    pub op: ScimOp,
    /// `If-Match`, if sent.
    pub if_match: Option<String>,
    /// The provisioning-log record of its success, written with it ([`Encoded::log`]).
    pub success_log: Encoded,
}

/// Why a write did not happen. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The request is wrong for the state (a precondition failed, an id is unknown...).
    #[error("{0}")]
    Request(ScimError),
    /// Evaluation failed (a hook, an invalid intent, a read).
    #[error("{0}")]
    Eval(EvalError),
    /// The rules refused it.
    #[error("refused by {}: {}", .0.rule, .0.detail)]
    Rejected(Rejection),
    /// Storing it failed (including a uniqueness claim lost to a concurrent write).
    #[error("{0}")]
    Store(StoreError),
    /// Its state kept changing under it: it was planned [`MAX_ATTEMPTS`] times.
    #[error("the resource kept changing while this write was prepared")]
    Busy,
    /// A password to keep could not be hashed.
    #[error("{0}")]
    Password(crate::password::PasswordError),
}

impl From<EvalError> for WriteError {
    fn from(err: EvalError) -> WriteError {
        match err {
            EvalError::Scim(err) => WriteError::Request(err),
            other => WriteError::Eval(other),
        }
    }
}

/// A write planned and applied.
#[derive(Debug, Clone)]
pub struct Applied {
    /// What the store wrote.
    pub written: Written,
}

/// Plans one write on a snapshot and commits it, planning again (at most
/// [`MAX_ATTEMPTS`] times) when what it read changed before it could be applied. The
/// calling thread waits for the commit: call it off the async reactor.
pub fn write(
    store: &Store,
    profile: &Profile,
    ids: &dyn IdSource,
    request: &WriteRequest,
) -> Result<Applied, WriteError> {
    on_thread(write_with(store, profile, ids, request, Wait::Thread)).unwrap_or(Err(
        WriteError::Store(StoreError::Corrupt {
            table: "pipeline",
            detail: "a write waiting on its thread was left pending".into(),
        }),
    ))
}

/// [`write`] for an async caller: the CPU work runs on the calling task, Argon2id hashing
/// on the blocking pool, and the wait for the commit holds no thread. Without a cluster
/// only ([`Store::commit_async`]); in a cluster, use [`write`] off the reactor.
pub async fn write_async(
    store: &Store,
    profile: &Profile,
    ids: &dyn IdSource,
    request: &WriteRequest,
) -> Result<Applied, WriteError> {
    write_with(store, profile, ids, request, Wait::Task).await
}

/// How a caller waits for the slow parts of a write (hashing a password, the commit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Its thread blocks: nothing it awaits is ever pending (see [`on_thread`]).
    Thread,
    /// Its async task waits, holding no thread.
    Task,
}

/// Runs a future written for both [`Wait`]s, in [`Wait::Thread`] mode, to its end: every
/// step blocks the thread instead of waiting, so one poll finishes it. `None` if it was
/// left pending (a step that does not block in that mode: a bug).
pub fn on_thread<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// [`write`] or [`write_async`], as `wait` says.
pub async fn write_with(
    store: &Store,
    profile: &Profile,
    ids: &dyn IdSource,
    request: &WriteRequest,
    wait: Wait,
) -> Result<Applied, WriteError> {
    let mut attempt = Attempt::new();
    for _ in 1..=MAX_ATTEMPTS {
        let planned = match attempt.plan(store, profile, ids, request)? {
            Planned::Ready(planned) => planned,
            Planned::Hash(secret) => {
                let hashed = match wait {
                    Wait::Thread => hash(&secret),
                    Wait::Task => tokio::task::spawn_blocking(move || hash(&secret))
                        .await
                        .map_err(|e| {
                            WriteError::Password(crate::password::PasswordError(e.to_string()))
                        })?,
                };
                attempt.hashed = Some(hashed?);
                continue;
            }
        };
        let committed = match wait {
            Wait::Thread => store.commit(*planned),
            Wait::Task => store.commit_async(*planned).await,
        };
        if let Some(applied) = attempt.settle(committed)? {
            return Ok(applied);
        }
    }
    Err(WriteError::Busy)
}

/// What a write carries from one attempt to the next.
struct Attempt {
    /// The password, hashed once (Argon2id is slow on purpose), outside any transaction.
    hashed: Option<crate::password::PasswordHash>,
    /// How many plans were made.
    count: usize,
}

/// One attempt's plan, or the password it needs hashed first.
enum Planned {
    Ready(Box<PlannedWrite>),
    Hash(crate::password::Secret),
}

fn hash(secret: &crate::password::Secret) -> Result<crate::password::PasswordHash, WriteError> {
    crate::password::hash(secret).map_err(WriteError::Password)
}

impl Attempt {
    fn new() -> Attempt {
        Attempt {
            hashed: None,
            count: 0,
        }
    }

    /// Plans the write on a fresh snapshot.
    fn plan(
        &mut self,
        store: &Store,
        profile: &Profile,
        ids: &dyn IdSource,
        request: &WriteRequest,
    ) -> Result<Planned, WriteError> {
        self.count += 1;
        let span = tracing::debug_span!("write", attempt = self.count, tenant = %request.tenant);
        let _entered = span.enter();
        let snapshot = store.read(&request.tenant).map_err(WriteError::Store)?;
        let recorder = Recorder::new(&snapshot);
        preconditions(&recorder, request)?;
        let mut plan = eval::plan(&profile.rules, &request.op, &recorder, ids)?;
        if let Some(rejection) = plan.rejection.clone() {
            return Err(WriteError::Rejected(rejection));
        }
        if let Some(PasswordWrite::Received(secret)) = &plan.password {
            match &self.hashed {
                Some(hash) => plan.password = Some(PasswordWrite::Hashed(hash.clone())),
                None => return Ok(Planned::Hash(secret.clone())),
            }
        }
        let planned = PlannedWrite::new(
            request.tenant.clone(),
            plan,
            Arc::clone(&profile.unique),
            &request.actor,
            recorder.into_reads(),
            Some(request.success_log.clone()),
        )
        .map_err(WriteError::Store)?;
        Ok(Planned::Ready(Box::new(planned)))
    }

    /// The outcome of a commit: applied, or `None` to plan again.
    fn settle(&self, result: Result<Written, StoreError>) -> Result<Option<Applied>, WriteError> {
        match result {
            Ok(written) => Ok(Some(Applied { written })),
            Err(StoreError::Conflict(what)) => {
                tracing::debug!(%what, attempt = self.count, "changed under the plan; planning again");
                Ok(None)
            }
            Err(err) => Err(WriteError::Store(err)),
        }
    }
}

/// `If-Match` against the resource as the snapshot has it (and as the writer will check).
fn preconditions(state: &dyn StateView, request: &WriteRequest) -> Result<(), WriteError> {
    let (Some(if_match), Some(id)) = (&request.if_match, request.op.id()) else {
        return Ok(());
    };
    let version = state
        .resource(request.op.kind(), id)
        .map_err(|e| WriteError::Eval(EvalError::State(e)))?
        .map(|r| r.meta.version.to_string());
    evaluate_preconditions(version.as_deref(), Some(if_match), None, false)
        .map(|_| ())
        .map_err(WriteError::Request)
}

/// Every tenant's rules, changeable while serving: the profile, and each tenant's checked
/// overlay. A saved overlay is used from the tenant's next operation; an operation already
/// running keeps the rules it started with.
#[derive(Debug)]
pub struct Profiles {
    /// The profile's sources (an overlay is checked on top of them).
    sources: crate::check::ProfileSources,
    /// The profile itself, for tenants without an overlay.
    base: Profile,
    /// Tenants with a non-empty overlay: its version and its rules.
    overlays: std::sync::RwLock<std::collections::BTreeMap<TenantId, (u64, Profile)>>,
}

/// An overlay that does not check: nothing was saved or applied.
#[derive(Debug)]
pub struct OverlayRefused {
    /// Every diagnostic (warnings too).
    pub diagnostics: Vec<crate::check::RulesDiagnostic>,
}

impl Profiles {
    /// The profile `sources` (checked into `base`) with no tenant overlay yet.
    pub fn new(sources: crate::check::ProfileSources, base: Arc<CheckedRules>) -> Profiles {
        Profiles {
            sources,
            base: Profile::new(base),
            overlays: std::sync::RwLock::default(),
        }
    }

    /// Checks the profile `sources` (without overlay); every diagnostic when it does not.
    pub fn check(sources: crate::check::ProfileSources) -> Result<Profiles, OverlayRefused> {
        let mut sources = sources;
        sources.overlay = None;
        let report = crate::check::check(&sources);
        match report.rules {
            Some(rules) => Ok(Profiles::new(sources, Arc::new(rules))),
            None => Err(OverlayRefused {
                diagnostics: report.diagnostics,
            }),
        }
    }

    /// The profile's sources.
    pub fn sources(&self) -> &crate::check::ProfileSources {
        &self.sources
    }

    /// The profile's rules.
    pub fn base(&self) -> &Profile {
        &self.base
    }

    /// The rules a tenant's next operation is evaluated with.
    pub fn for_tenant(&self, tenant: &TenantId) -> Profile {
        let overlays = self
            .overlays
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        overlays
            .get(tenant)
            .map_or_else(|| self.base.clone(), |(_, profile)| profile.clone())
    }

    /// The version of a tenant's overlay in use, if it has one.
    pub fn overlay_version(&self, tenant: &TenantId) -> Option<u64> {
        self.overlays
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(tenant)
            .map(|(version, _)| *version)
    }

    /// Checks overlay `text` (named `name` in diagnostics) on top of the profile.
    pub fn check_overlay(&self, name: &str, text: &str) -> crate::check::CheckReport {
        let mut sources = self.sources.clone();
        sources.overlay =
            (!text.trim().is_empty()).then(|| crate::check::SourceFile::new(name, text));
        crate::check::check(&sources)
    }

    /// Applies saved overlay `version` of `tenant` (empty text: the defaults again).
    /// Refused, changing nothing, when it does not check.
    pub fn apply_overlay(
        &self,
        tenant: &TenantId,
        version: u64,
        text: &str,
    ) -> Result<(), OverlayRefused> {
        let mut overlays = self
            .overlays
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if text.trim().is_empty() {
            overlays.remove(tenant);
            return Ok(());
        }
        let report = self.check_overlay(&overlay_file_name(version), text);
        match report.rules {
            Some(rules) => {
                overlays.insert(tenant.clone(), (version, Profile::new(Arc::new(rules))));
                Ok(())
            }
            None => Err(OverlayRefused {
                diagnostics: report.diagnostics,
            }),
        }
    }

    /// Loads every tenant's current overlay from the store. An overlay that no longer
    /// checks against the profile is refused, naming the tenant.
    pub fn load_overlays(&self, store: &Store) -> Result<Vec<(TenantId, u64)>, String> {
        let mut loaded = Vec::new();
        for tenant in store.list_tenants().map_err(|e| e.to_string())? {
            let Some((version, text)) = store.overlay(&tenant.name).map_err(|e| e.to_string())?
            else {
                continue;
            };
            if text.trim().is_empty() {
                continue;
            }
            self.apply_overlay(&tenant.name, version, &text).map_err(|refused| {
                let first = refused
                    .diagnostics
                    .first()
                    .map(|d| format!(": {}", d.message))
                    .unwrap_or_default();
                format!(
                    "the overlay v{version} of tenant `{}` no longer checks against the profile{first}\n(fix it with `provisio overlay set`, or `provisio overlay reset --tenant {}`)",
                    tenant.name, tenant.name
                )
            })?;
            loaded.push((tenant.name, version));
        }
        Ok(loaded)
    }
}

/// The name an overlay version has in diagnostics and rule origins (`overlay-v3.rules`).
pub fn overlay_file_name(version: u64) -> String {
    format!("overlay-v{version}.rules")
}

#[cfg(test)]
mod tests {
    use super::on_thread;

    #[test]
    fn a_future_that_never_waits_runs_to_its_end_in_one_poll() {
        let ready = async {
            let one = async { 1 }.await;
            one + 1
        };
        assert_eq!(on_thread(ready), Some(2));
        assert_eq!(on_thread(std::future::pending::<u8>()), None);
    }
}
