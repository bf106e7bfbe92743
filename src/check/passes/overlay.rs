//! A tenant overlay's mapping blocks, applied to the profile's mappings: remap a mapping
//! in place, remove one, or add a `custom` one at the end. Locked mappings stay as they are.

use std::collections::HashMap;

use super::Ctx;
use super::mappings::{Draft, Drafts, KindDrafts, Removed, check_rule};
use super::target::Target;
use crate::check::error::{OverlayChange, OverlayError};
use crate::check::files::FileId;
use crate::scim::schema::ResourceKind;
use crate::syntax::{Span, ast};

const OVERLAY: FileId = FileId::Overlay;

/// Applies the overlay's mapping blocks to `drafts`; returns the mappings it removed.
pub(super) fn apply(
    cx: &mut Ctx<'_>,
    target: &Target,
    blocks: &[&ast::MappingBlock],
    drafts: &mut Drafts,
) -> Removed {
    let mut removed = Removed::new();
    let mut first: HashMap<(ResourceKind, String), Span> = HashMap::new();
    for block in blocks {
        let Some((kind, entity)) = target.resolve_block(cx, OVERLAY, &block.kind) else {
            continue;
        };
        let set = drafts.entry(kind, &entity);
        for statement in &block.statements {
            let (field, change) = match statement {
                ast::MappingStmt::Map(rule) => (&rule.target, OverlayChange::Remap),
                ast::MappingStmt::Remove(remove) => (&remove.target, OverlayChange::Remove),
            };
            let key = (kind, field.node.clone());
            if let Some(first) = first.get(&key) {
                let error = OverlayError::ChangedTwice {
                    field: field.node.clone(),
                    first: *first,
                };
                cx.report(OVERLAY, field.span, error);
                continue;
            }
            first.insert(key.clone(), field.span);
            let base = set
                .drafts
                .iter()
                .position(|d| d.mapping.target == field.node);
            if let Some(locked_at) = base.and_then(|i| set.drafts[i].locked_at) {
                let error = OverlayError::LockedMapping {
                    field: field.node.clone(),
                    change,
                    locked_at,
                };
                cx.report(OVERLAY, field.span, error);
                continue;
            }
            let edit = Edit {
                target,
                kind,
                entity: &entity,
                base,
            };
            match statement {
                ast::MappingStmt::Remove(remove) => {
                    if edit.remove(cx, set, field) {
                        removed.insert(key, remove.span);
                    }
                }
                ast::MappingStmt::Map(rule) => edit.remap(cx, set, rule),
            }
        }
    }
    removed
}

/// One overlay statement on the mappings of one kind; `base` is the profile's mapping of
/// the same field, which is not locked.
struct Edit<'a> {
    target: &'a Target,
    kind: ResourceKind,
    entity: &'a str,
    base: Option<usize>,
}

impl Edit<'_> {
    /// `remove FIELD;`: whether a mapping was removed.
    fn remove(&self, cx: &mut Ctx<'_>, set: &mut KindDrafts, field: &ast::Ident) -> bool {
        if let Some(index) = self.base {
            set.drafts.remove(index);
            return true;
        }
        let known = self
            .target
            .require_field(cx, OVERLAY, self.entity, field)
            .is_some();
        if known && !set.failed.contains(&field.node) {
            let error = OverlayError::NothingToRemove {
                field: field.node.clone(),
            };
            cx.report(OVERLAY, field.span, error);
        }
        false
    }

    /// `[custom] FIELD <- ...;`: replaces the profile's mapping in place, or adds a
    /// `custom` one at the end.
    fn remap(&self, cx: &mut Ctx<'_>, set: &mut KindDrafts, rule: &ast::MappingRule) {
        let modifier = rule.modifier.as_ref();
        if let Some(locked) = modifier.filter(|m| m.node == ast::Modifier::Locked) {
            cx.report(OVERLAY, locked.span, OverlayError::Locks);
        }
        let custom = modifier.is_some_and(|m| m.node == ast::Modifier::Custom);
        let field = &rule.target;
        if self.base.is_none() && !custom && self.target.field(self.entity, &field.node).is_some() {
            let error = OverlayError::AddsMapping {
                field: field.node.clone(),
            };
            cx.report(OVERLAY, field.span, error);
            return;
        }
        let Some(mapping) = check_rule(cx, OVERLAY, self.target, self.kind, self.entity, rule)
        else {
            set.failed.insert(field.node.clone());
            return;
        };
        let draft = Draft {
            mapping,
            locked_at: None,
        };
        match self.base {
            Some(index) => set.drafts[index] = draft,
            None => set.drafts.push(draft),
        }
    }
}
