//! The domain vocabulary every layer shares: identifiers as newtypes, the case-insensitive
//! and Unicode-normalised [`UserName`], timestamps and the one [`Clock`], the one
//! [`IdSource`], the application's entities and stored resources, and the one
//! "did you mean" function.
//!
//! This module depends on nothing else of ours: `scim`, `eval`, `store` and `server` all
//! build on it, and a type defined here means the same thing in each of them.

mod entity;
mod ids;
mod names;
mod nesting;
mod origin;
mod state;
pub mod suggest;
mod time;
mod user_name;

pub use entity::{
    Entity, FieldValue, Lifecycle, Meta, PendingRef, ResourceBody, ResourceKind, StoredResource,
    UniqueFields,
};
pub use ids::{IdSource, SequentialIds, UuidIds};
pub use names::{EntityType, FieldName, ResourceId, TenantId};
pub use nesting::nests_deeper;
pub use origin::{Origin, RuleOrigin};
pub use state::{Answer, Read, ReadSet, Recorder, StateError, StateView};
pub use time::{Clock, FixedClock, SystemClock, Timestamp};
pub use user_name::{
    MAX_USER_NAME_BYTES, UserName, UserNameError, fold, key_of as user_name_key, same_name,
};
