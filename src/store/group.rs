//! Group commit: many write transactions made durable by one fsync.
//!
//! A writer commits without waiting for the disk, takes a ticket, and waits until a sync
//! that began after its commit has finished. One waiter at a time leads: it runs a durable
//! empty commit, which makes every earlier commit durable (redb's guarantee), then wakes
//! everyone whose ticket it covered. Concurrent writers thus share fsyncs, and each still
//! returns only once its own commit is durable.

use std::sync::{Condvar, Mutex, MutexGuard};

use redb::{Database, Durability};

use super::StoreError;

/// Shared group-commit state of one database.
#[derive(Debug, Default)]
pub(crate) struct GroupSync {
    state: Mutex<SyncState>,
    synced: Condvar,
}

#[derive(Debug, Default)]
struct SyncState {
    /// Tickets handed out: one per commit, in commit order.
    committed: u64,
    /// Every ticket up to this one is durable.
    synced: u64,
    /// A leader is syncing now.
    syncing: bool,
}

impl GroupSync {
    fn lock(&self) -> MutexGuard<'_, SyncState> {
        // The state stays consistent even if a holder panicked: every update is one store.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a commit that has just returned; its ticket.
    pub(crate) fn ticket(&self) -> u64 {
        let mut state = self.lock();
        state.committed += 1;
        state.committed
    }

    /// Returns once `ticket`'s commit is durable, leading a sync when none is running.
    pub(crate) fn wait_durable(&self, ticket: u64, db: &Database) -> Result<(), StoreError> {
        let mut state = self.lock();
        loop {
            if state.synced >= ticket {
                return Ok(());
            }
            if state.syncing {
                state = self
                    .synced
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            // Every commit with a ticket up to `target` happened before this sync begins.
            let target = state.committed;
            state.syncing = true;
            drop(state);
            let result = durable_empty_commit(db);
            state = self.lock();
            state.syncing = false;
            if result.is_ok() {
                state.synced = state.synced.max(target);
            }
            self.synced.notify_all();
            result?;
        }
    }
}

fn durable_empty_commit(db: &Database) -> Result<(), StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    txn.commit()?;
    Ok(())
}
