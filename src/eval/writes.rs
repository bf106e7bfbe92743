//! The field writes an evaluation accumulates as it goes: mappings first, then hooks, which
//! may overwrite what a mapping wrote.

use std::collections::BTreeMap;

use crate::domain::{Entity, FieldName, FieldValue};
use crate::eval::plan::{EntityRef, FieldWrite, Provenance};

/// The operation's own entity's fields after the writes so far, and the writes.
#[derive(Debug, Clone)]
pub(crate) struct Writes {
    /// The entity written.
    pub own: EntityRef,
    /// Its fields before the operation.
    pub before: BTreeMap<FieldName, FieldValue>,
    /// Its fields after the writes so far.
    pub after: BTreeMap<FieldName, FieldValue>,
    /// Writes that change a field, own entity first, in order.
    pub list: Vec<FieldWrite>,
}

impl Writes {
    /// No writes yet to `current`.
    pub fn new(own: EntityRef, current: &Entity) -> Writes {
        Writes {
            own,
            before: current.fields.clone(),
            after: current.fields.clone(),
            list: Vec::new(),
        }
    }

    /// Sets a field of the own entity. A later write to the same field replaces an
    /// earlier one; a write that leaves the field as it was before is not listed.
    pub fn set(&mut self, field: &FieldName, value: Option<FieldValue>, source: Provenance) {
        if self.after.get(field) == value.as_ref() {
            return;
        }
        match &value {
            Some(v) => self.after.insert(field.clone(), v.clone()),
            None => self.after.remove(field),
        };
        let own = &self.own;
        self.list
            .retain(|w| !(w.entity == *own && w.field == *field));
        if self.before.get(field) == value.as_ref() {
            return;
        }
        self.list.push(FieldWrite {
            entity: self.own.clone(),
            field: field.clone(),
            before: self.before.get(field).cloned(),
            after: value,
            source,
        });
    }
}
