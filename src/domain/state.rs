//! What the evaluator may read of one tenant's state ([`StateView`]), and the record of
//! what one evaluation read ([`ReadSet`]), so a writer can check it still holds before it
//! applies the Plan made from it (optimistic concurrency).
//!
//! An in-memory fixture (`eval::memory`) and the store's read and write transactions
//! implement [`StateView`]. Every method is scoped to one tenant, fixed when the view is made.

use std::cell::RefCell;

use super::{
    Entity, EntityType, FieldName, PendingRef, ResourceId, ResourceKind, StoredResource, UserName,
};

/// A failure reading state (a storage error); evaluation stops with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reading state: {0}")]
pub struct StateError(pub String);

/// What a [`StateView`] read answers: the value, or the storage error that stopped it.
pub type Answer<T> = Result<T, StateError>;

/// Read access to one tenant's state, as the evaluator needs it.
pub trait StateView {
    /// A managed resource by kind and id, or `None`.
    fn resource(&self, kind: ResourceKind, id: &ResourceId) -> Answer<Option<StoredResource>>;

    /// What a [`Read::Resource`] compares of a managed resource: its version and its
    /// entity, or `None`. A view that can read these without the body should.
    fn resource_stamp(&self, kind: ResourceKind, id: &ResourceId) -> Answer<Option<(u64, Entity)>> {
        Ok(self.resource(kind, id)?.as_ref().map(stamp))
    }

    /// An entity by id (managed or not), or `None`.
    fn entity(&self, id: &ResourceId) -> Answer<Option<Entity>>;

    /// The entity of type `ty` whose unique String `field` equals `key`, compared
    /// case-insensitively, or `None`. Deleted entities are not found.
    fn find_entity(&self, ty: &EntityType, field: &FieldName, key: &str) -> Answer<Option<Entity>>;

    /// Whether another tenant holds this userName. Never says which.
    fn user_name_taken_elsewhere(&self, user_name: &UserName) -> Answer<bool>;

    /// Whether `user` is a member of `group`.
    fn is_member(&self, group: &ResourceId, user: &ResourceId) -> Answer<bool>;

    /// All member ids of a group, in id order. Used only for a replace of all members.
    fn members(&self, group: &ResourceId) -> Answer<Vec<ResourceId>>;

    /// Pending references waiting for an entity of type `entity` with one of these keys
    /// (SCIM id or natural key; compared case-insensitively), in a stable order.
    fn pending_refs(&self, entity: &EntityType, keys: &[&str]) -> Answer<Vec<PendingRef>>;
}

/// One read and what it returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// [`StateView::resource`]: what identifies the answer, its version and its entity
    /// (every change of the resource row bumps its version; its entity can change alone).
    Resource(ResourceKind, ResourceId, Option<(u64, Entity)>),
    /// [`StateView::entity`].
    Entity(ResourceId, Option<Entity>),
    /// [`StateView::find_entity`].
    Find(EntityType, FieldName, String, Option<Entity>),
    /// [`StateView::user_name_taken_elsewhere`].
    TakenElsewhere(UserName, bool),
    /// [`StateView::is_member`].
    IsMember(ResourceId, ResourceId, bool),
    /// [`StateView::members`].
    Members(ResourceId, Vec<ResourceId>),
    /// [`StateView::pending_refs`].
    Pending(EntityType, Vec<String>, Vec<PendingRef>),
}

impl Read {
    /// Whether the same read on `view` returns the same answer.
    pub fn holds(&self, view: &dyn StateView) -> Answer<bool> {
        Ok(match self {
            Read::Resource(kind, id, seen) => view.resource_stamp(*kind, id)? == *seen,
            Read::Entity(id, seen) => view.entity(id)? == *seen,
            Read::Find(ty, field, value, seen) => view.find_entity(ty, field, value)? == *seen,
            Read::TakenElsewhere(name, seen) => view.user_name_taken_elsewhere(name)? == *seen,
            Read::IsMember(group, user, seen) => view.is_member(group, user)? == *seen,
            Read::Members(group, seen) => view.members(group)? == *seen,
            Read::Pending(ty, keys, seen) => {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                view.pending_refs(ty, &keys)? == *seen
            }
        })
    }

    /// What was read, for a person (`User 2819c223`, `userName jane@example.com`).
    pub fn describe(&self) -> String {
        match self {
            Read::Resource(kind, id, _) => format!("{} {id}", kind.as_str()),
            Read::Entity(id, _) => format!("entity {id}"),
            Read::Find(ty, field, value, _) => format!("{ty} with {field} {value:?}"),
            Read::TakenElsewhere(name, _) => format!("userName {name:?}"),
            Read::IsMember(group, user, _) => format!("membership of {user} in {group}"),
            Read::Members(group, _) => format!("members of {group}"),
            Read::Pending(ty, keys, _) => format!("references waiting for {ty} {keys:?}"),
        }
    }

    /// Whether `self` and `other` are the same question (their answers may differ).
    fn same_question(&self, other: &Read) -> bool {
        match (self, other) {
            (Read::Resource(k, i, _), Read::Resource(k2, i2, _)) => k == k2 && i == i2,
            (Read::Entity(i, _), Read::Entity(i2, _)) => i == i2,
            (Read::Find(t, f, v, _), Read::Find(t2, f2, v2, _)) => t == t2 && f == f2 && v == v2,
            (Read::TakenElsewhere(n, _), Read::TakenElsewhere(n2, _)) => n == n2,
            (Read::IsMember(g, u, _), Read::IsMember(g2, u2, _)) => g == g2 && u == u2,
            (Read::Members(g, _), Read::Members(g2, _)) => g == g2,
            (Read::Pending(t, k, _), Read::Pending(t2, k2, _)) => t == t2 && k == k2,
            _ => false,
        }
    }
}

/// What a [`Read::Resource`] keeps of a resource: its version and entity.
fn stamp(resource: &StoredResource) -> (u64, Entity) {
    (resource.meta.version, resource.entity.clone())
}

/// Everything one evaluation read, each question once, in the order first asked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadSet(Vec<Read>);

impl ReadSet {
    /// The reads.
    pub fn reads(&self) -> &[Read] {
        &self.0
    }

    /// The first read whose answer on `view` differs from the recorded one, if any.
    pub fn first_changed(&self, view: &dyn StateView) -> Answer<Option<&Read>> {
        for read in &self.0 {
            if !read.holds(view)? {
                return Ok(Some(read));
            }
        }
        Ok(None)
    }
}

/// A [`StateView`] that records every read it answers into a [`ReadSet`].
pub struct Recorder<'v> {
    view: &'v dyn StateView,
    reads: RefCell<Vec<Read>>,
}

impl<'v> Recorder<'v> {
    /// Records reads made through `view`.
    pub fn new(view: &'v dyn StateView) -> Recorder<'v> {
        Recorder {
            view,
            reads: RefCell::new(Vec::new()),
        }
    }

    /// What was read.
    pub fn into_reads(self) -> ReadSet {
        ReadSet(self.reads.into_inner())
    }

    fn record(&self, read: Read) {
        let mut reads = self.reads.borrow_mut();
        if !reads.iter().any(|r| r.same_question(&read)) {
            reads.push(read);
        }
    }

    /// Records the read `read` makes of a successful `answer`, and passes the answer on.
    fn recorded<T>(&self, answer: Answer<T>, read: impl FnOnce(&T) -> Read) -> Answer<T> {
        let answer = answer?;
        self.record(read(&answer));
        Ok(answer)
    }
}

impl StateView for Recorder<'_> {
    fn resource(&self, kind: ResourceKind, id: &ResourceId) -> Answer<Option<StoredResource>> {
        self.recorded(self.view.resource(kind, id), |a| {
            Read::Resource(kind, id.clone(), a.as_ref().map(stamp))
        })
    }

    fn entity(&self, id: &ResourceId) -> Answer<Option<Entity>> {
        self.recorded(self.view.entity(id), |a| {
            Read::Entity(id.clone(), a.clone())
        })
    }

    fn find_entity(&self, ty: &EntityType, field: &FieldName, key: &str) -> Answer<Option<Entity>> {
        self.recorded(self.view.find_entity(ty, field, key), |a| {
            Read::Find(ty.clone(), field.clone(), key.to_owned(), a.clone())
        })
    }

    fn user_name_taken_elsewhere(&self, user_name: &UserName) -> Answer<bool> {
        self.recorded(self.view.user_name_taken_elsewhere(user_name), |a| {
            Read::TakenElsewhere(user_name.clone(), *a)
        })
    }

    fn is_member(&self, group: &ResourceId, user: &ResourceId) -> Answer<bool> {
        self.recorded(self.view.is_member(group, user), |a| {
            Read::IsMember(group.clone(), user.clone(), *a)
        })
    }

    fn members(&self, group: &ResourceId) -> Answer<Vec<ResourceId>> {
        self.recorded(self.view.members(group), |a| {
            Read::Members(group.clone(), a.clone())
        })
    }

    fn pending_refs(&self, ty: &EntityType, keys: &[&str]) -> Answer<Vec<PendingRef>> {
        let owned = || keys.iter().map(|k| (*k).to_owned()).collect();
        self.recorded(self.view.pending_refs(ty, keys), |a| {
            Read::Pending(ty.clone(), owned(), a.clone())
        })
    }
}
