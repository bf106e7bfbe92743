//! The profile's mapping blocks -> mappings per resource kind ([`Drafts`], which the
//! overlay pass then changes, and [`Drafts::finish`] turns into [`Mapped`]); and the check
//! of one mapping rule, which the overlay pass shares.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::Ctx;
use super::paths;
use super::target::Target;
use crate::check::error::{EntityUse, FieldError, MappingError, NameError, PathUse};
use crate::check::files::FileId;
use crate::check::model::{FieldType, Mapping, MappingSet, Transform, TransformKind};
use crate::scim::schema::ResourceKind;
use crate::syntax::ast::{ArgumentExpr, LiteralExpr};
use crate::syntax::{Span, Spanned, ast};

/// Fields whose mapping an overlay removed, with the `remove` statement.
pub(super) type Removed = HashMap<(ResourceKind, String), Span>;

/// The mappings so far, per resource kind.
#[derive(Default)]
pub(super) struct Drafts {
    kinds: BTreeMap<ResourceKind, KindDrafts>,
}

/// The mappings of one resource kind so far.
pub(super) struct KindDrafts {
    entity: String,
    /// Mappings that checked, in evaluation order.
    pub(super) drafts: Vec<Draft>,
    /// Fields whose mapping was written but did not check: already reported, so later
    /// passes treat them as mapped instead of reporting again.
    pub(super) failed: HashSet<String>,
}

/// A mapping that checked, and where it was locked (if it was).
pub(super) struct Draft {
    /// The mapping.
    pub(super) mapping: Mapping,
    /// The `locked` modifier.
    pub(super) locked_at: Option<Span>,
}

impl Drafts {
    /// The mappings of `kind`, created empty for `entity` on first use.
    pub(super) fn entry(&mut self, kind: ResourceKind, entity: &str) -> &mut KindDrafts {
        self.kinds.entry(kind).or_insert_with(|| KindDrafts {
            entity: entity.to_string(),
            drafts: Vec::new(),
            failed: HashSet::new(),
        })
    }

    /// The final mappings, once the overlay (if any) has changed them.
    pub(super) fn finish(self, removed: Removed) -> Mapped {
        let failed = self
            .kinds
            .iter()
            .map(|(kind, set)| (*kind, set.failed.clone()))
            .collect();
        let sets = self
            .kinds
            .into_iter()
            .map(|(kind, set)| {
                let mappings = set.drafts.into_iter().map(|d| d.mapping).collect();
                let set = MappingSet {
                    entity: set.entity,
                    mappings,
                };
                (kind, set)
            })
            .collect();
        Mapped {
            sets,
            failed,
            removed,
        }
    }
}

/// The checked mappings, for the passes after them.
pub(super) struct Mapped {
    /// Mappings per resource kind.
    pub(super) sets: BTreeMap<ResourceKind, MappingSet>,
    failed: HashMap<ResourceKind, HashSet<String>>,
    removed: Removed,
}

impl Mapped {
    /// The mappings of one kind.
    pub(super) fn of(&self, kind: ResourceKind) -> &[Mapping] {
        self.sets
            .get(&kind)
            .map_or(&[], |set| set.mappings.as_slice())
    }

    /// Whether `field`'s mapping was written but did not check (and was reported).
    pub(super) fn failed(&self, kind: ResourceKind, field: &str) -> bool {
        self.failed.get(&kind).is_some_and(|f| f.contains(field))
    }

    /// The overlay's `remove` of `field`'s mapping.
    pub(super) fn removed_at(&self, kind: ResourceKind, field: &str) -> Option<Span> {
        self.removed.get(&(kind, field.to_string())).copied()
    }
}

/// Checks the profile's mapping blocks: each field mapped once, no `remove`.
pub(super) fn base(cx: &mut Ctx<'_>, target: &Target, blocks: &[&ast::MappingBlock]) -> Drafts {
    let mut drafts = Drafts::default();
    let mut first: HashMap<(ResourceKind, String), Span> = HashMap::new();
    for block in blocks {
        let Some((kind, entity)) = target.resolve_block(cx, FileId::Rules, &block.kind) else {
            continue;
        };
        for statement in &block.statements {
            let rule = match statement {
                ast::MappingStmt::Map(rule) => rule,
                ast::MappingStmt::Remove(remove) => {
                    cx.report(
                        FileId::Rules,
                        remove.span,
                        MappingError::RemoveOutsideOverlay,
                    );
                    continue;
                }
            };
            let key = (kind, rule.target.node.clone());
            if let Some(first) = first.get(&key) {
                let error = MappingError::MappedTwice {
                    field: rule.target.node.clone(),
                    first: *first,
                };
                cx.report(FileId::Rules, rule.target.span, error);
                continue;
            }
            first.insert(key, rule.target.span);
            let checked = check_rule(cx, FileId::Rules, target, kind, &entity, rule);
            let set = drafts.entry(kind, &entity);
            match checked {
                Some(mapping) => set.drafts.push(Draft {
                    mapping,
                    locked_at: rule
                        .modifier
                        .as_ref()
                        .filter(|m| m.node == ast::Modifier::Locked)
                        .map(|m| m.span),
                }),
                None => {
                    set.failed.insert(rule.target.node.clone());
                }
            }
        }
    }
    drafts
}

/// Checks one mapping rule of `file`: its target field, source path and transforms, and
/// that the types line up.
pub(super) fn check_rule(
    cx: &mut Ctx<'_>,
    file: FileId,
    target: &Target,
    kind: ResourceKind,
    entity: &str,
    rule: &ast::MappingRule,
) -> Option<Mapping> {
    let field = target.require_field(cx, file, entity, &rule.target)?;
    let has = |modifier| rule.modifier.as_ref().is_some_and(|m| m.node == modifier);
    let (custom, locked) = (has(ast::Modifier::Custom), has(ast::Modifier::Locked));
    let mut ok = true;
    if field.readonly {
        let field = target.declared(entity, field);
        cx.report(file, rule.target.span, FieldError::ReadonlyTarget { field });
        ok = false;
    }
    if custom && field.ty != FieldType::String {
        let field = target.declared(entity, field);
        cx.report(
            file,
            rule.target.span,
            FieldError::CustomNotString { field },
        );
        ok = false;
    }
    let source = paths::resolve(cx, file, kind, &rule.source, PathUse::Mapping);
    let mut transforms = Vec::new();
    for call in &rule.transforms {
        match transform(cx, file, target, call) {
            Some(transform) => transforms.push(transform),
            None => ok = false,
        }
    }
    let (source, source_type) = source?;
    if !ok {
        return None;
    }
    let produced = chain_type(cx, file, source_type.clone(), rule, &transforms)?;
    if produced != field.ty {
        let declared = target.declared(entity, field);
        let (span, error) = match rule.transforms.last() {
            Some(last) => (
                last.span,
                FieldError::TransformOutput {
                    produced,
                    field: declared,
                },
            ),
            None => (
                rule.source.span,
                FieldError::SourceType {
                    source,
                    source_type,
                    field: declared,
                },
            ),
        };
        cx.report(file, span, error);
        return None;
    }
    Some(Mapping {
        target: field.name.clone(),
        target_type: field.ty.clone(),
        source,
        transforms,
        locked,
        custom,
        origin: cx.origin(file, rule.span),
    })
}

/// The type the transforms produce from a source of type `ty`; `None` (reported) when one
/// of them is given something other than a String.
fn chain_type(
    cx: &mut Ctx<'_>,
    file: FileId,
    mut ty: FieldType,
    rule: &ast::MappingRule,
    transforms: &[Transform],
) -> Option<FieldType> {
    for (call, transform) in rule.transforms.iter().zip(transforms) {
        if ty != FieldType::String {
            let error = MappingError::TransformInput {
                transform: call.name.node.clone(),
                received: ty,
            };
            cx.report(file, call.span, error);
            return None;
        }
        ty = transform.output();
    }
    Some(ty)
}

/// One transform call: a known transform with the arguments it takes.
fn transform(
    cx: &mut Ctx<'_>,
    file: FileId,
    target: &Target,
    call: &ast::TransformCall,
) -> Option<Transform> {
    let Some(kind) = TransformKind::parse(&call.name.node) else {
        let error = MappingError::UnknownTransform {
            name: call.name.node.clone(),
        };
        cx.report(file, call.name.span, error);
        return None;
    };
    let arguments = call.arguments.as_deref().unwrap_or(&[]);
    let argument = match arguments {
        [] => None,
        [one] => Some(one),
        _ => {
            cx.report(
                file,
                call.span,
                MappingError::TransformArguments { transform: kind },
            );
            return None;
        }
    };
    let transform = match (kind, argument) {
        (TransformKind::Trim, None) => Some(Transform::Trim),
        (TransformKind::Lower, None) => Some(Transform::Lower),
        (TransformKind::Upper, None) => Some(Transform::Upper),
        (
            TransformKind::Truncate,
            Some(Spanned {
                node: ArgumentExpr::Literal(LiteralExpr::Int(n)),
                ..
            }),
        ) => n
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .map(Transform::Truncate),
        (
            TransformKind::Default,
            Some(Spanned {
                node: ArgumentExpr::Literal(LiteralExpr::String(text)),
                ..
            }),
        ) => Some(Transform::Default(text.clone())),
        (
            TransformKind::Ref,
            Some(Spanned {
                node: ArgumentExpr::Name(entity),
                span,
            }),
        ) => {
            return ref_transform(cx, file, target, entity, *span);
        }
        _ => None,
    };
    if transform.is_none() {
        cx.report(
            file,
            call.span,
            MappingError::TransformArguments { transform: kind },
        );
    }
    transform
}

/// `ref(Entity)`, naming an entity of the target.
fn ref_transform(
    cx: &mut Ctx<'_>,
    file: FileId,
    target: &Target,
    entity: &str,
    span: Span,
) -> Option<Transform> {
    if target.schema.entities.contains_key(entity) {
        return Some(Transform::Ref(entity.to_string()));
    }
    let error = NameError::UnknownEntity {
        name: entity.to_string(),
        entities: target.entity_names(),
        used_in: EntityUse::RefTransform,
    };
    cx.report(file, span, error);
    None
}
