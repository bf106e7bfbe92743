//! target.rules -> the target schema, and the name lookups every later pass makes in it.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::Ctx;
use crate::check::error::{DeclaredField, EntityUse, NameError, TargetError};
use crate::check::files::FileId;
use crate::check::model::{EntityDef, FieldDef, FieldType, FieldTypeKind, TargetSchema};
use crate::scim::schema::ResourceKind;
use crate::syntax::{Span, ast};

/// The checked target schema, plus where each field was declared.
pub(super) struct Target {
    /// The schema.
    pub(super) schema: TargetSchema,
    /// `(entity, field)` -> the field's declaration.
    field_spans: HashMap<(String, String), Span>,
    /// Fields left out of the schema because their declaration was reported (a bad
    /// type): uses of them are not reported again.
    poisoned: HashSet<(String, String)>,
}

impl Target {
    /// The entities' names, sorted.
    pub(super) fn entity_names(&self) -> Vec<String> {
        self.schema.entities.keys().cloned().collect()
    }

    /// A field of an entity.
    pub(super) fn field(&self, entity: &str, field: &str) -> Option<&FieldDef> {
        self.schema.field(entity, field)
    }

    /// The fields of `entity` that `keep` selects, by name, in declaration order.
    pub(super) fn field_names(
        &self,
        entity: &str,
        keep: impl Fn(&FieldDef) -> bool,
    ) -> Vec<String> {
        self.schema
            .entities
            .get(entity)
            .map(|e| {
                e.fields
                    .iter()
                    .filter(|f| keep(f))
                    .map(|f| f.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A field with its declaration, for "declared here".
    pub(super) fn declared(&self, entity: &str, field: &FieldDef) -> DeclaredField {
        let span = self
            .field_spans
            .get(&(entity.to_string(), field.name.clone()))
            .copied()
            .unwrap_or_default();
        DeclaredField {
            span,
            def: field.clone(),
        }
    }

    /// The field `name` of `entity`; when there is none, reports it (unless its
    /// declaration was already reported).
    pub(super) fn require_field(
        &self,
        cx: &mut Ctx<'_>,
        file: FileId,
        entity: &str,
        name: &ast::Ident,
    ) -> Option<&FieldDef> {
        let found = self.field(entity, &name.node);
        if found.is_none()
            && !self
                .poisoned
                .contains(&(entity.to_string(), name.node.clone()))
        {
            let error = NameError::UnknownField {
                entity: entity.to_string(),
                field: name.node.clone(),
                fields: self.field_names(entity, |_| true),
            };
            cx.report(file, name.span, error);
        }
        found
    }

    /// A block's `KIND`: the SCIM resource type and the target entity of that name.
    pub(super) fn resolve_block(
        &self,
        cx: &mut Ctx<'_>,
        file: FileId,
        kind: &ast::Ident,
    ) -> Option<(ResourceKind, String)> {
        let Some(resource) = ResourceKind::parse(&kind.node) else {
            let error = NameError::UnknownResource {
                name: kind.node.clone(),
            };
            cx.report(file, kind.span, error);
            return None;
        };
        let entity = resource.as_str();
        if !self.schema.entities.contains_key(entity) {
            let error = NameError::NoEntityForResource {
                target: self.schema.name.clone(),
                kind: resource,
            };
            cx.report(file, kind.span, error);
            return None;
        }
        Some((resource, entity.to_string()))
    }
}

/// Checks target.rules: one `target` declaration, unique entity and field names, known
/// types. `None` when there is no target to check the rules against.
pub(super) fn check(cx: &mut Ctx<'_>, ast: &ast::File) -> Option<Target> {
    let declaration = declaration(cx, ast)?;
    let entity_names = entity_names(cx, declaration);
    let mut target = Target {
        schema: TargetSchema {
            name: declaration.name.node.clone(),
            entities: BTreeMap::new(),
        },
        field_spans: HashMap::new(),
        poisoned: HashSet::new(),
    };
    for entity in &declaration.entities {
        if target.schema.entities.contains_key(&entity.name.node) {
            continue;
        }
        let fields = fields(cx, entity, &entity_names, &mut target);
        let def = EntityDef {
            name: entity.name.node.clone(),
            fields,
            origin: cx.origin(FileId::Target, entity.span),
        };
        target.schema.entities.insert(entity.name.node.clone(), def);
    }
    Some(target)
}

/// The one `target` declaration; every other item is reported.
fn declaration<'a>(cx: &mut Ctx<'_>, ast: &'a ast::File) -> Option<&'a ast::TargetDecl> {
    let mut declaration: Option<&ast::TargetDecl> = None;
    for item in &ast.items {
        match (item, declaration) {
            (ast::Item::Target(decl), None) => declaration = Some(decl),
            (ast::Item::Target(decl), Some(first)) => {
                let error = TargetError::SecondTarget {
                    first: first.name.span,
                };
                cx.report(FileId::Target, decl.keyword, error);
            }
            (other, _) => {
                let error = TargetError::ItemInTargetFile {
                    keyword: other.keyword(),
                };
                cx.report(FileId::Target, other.keyword_span(), error);
            }
        }
    }
    if declaration.is_none() {
        cx.report(FileId::Target, Span::new(0, 0), TargetError::NoTarget);
    }
    declaration
}

/// The declared entity names in order, each once; a second declaration is reported.
fn entity_names(cx: &mut Ctx<'_>, declaration: &ast::TargetDecl) -> Vec<String> {
    let mut first: HashMap<&str, Span> = HashMap::new();
    let mut names = Vec::new();
    for entity in &declaration.entities {
        if let Some(first) = first.get(entity.name.node.as_str()) {
            let error = TargetError::DuplicateEntity {
                entity: entity.name.node.clone(),
                first: *first,
            };
            cx.report(FileId::Target, entity.name.span, error);
        } else {
            first.insert(&entity.name.node, entity.name.span);
            names.push(entity.name.node.clone());
        }
    }
    names
}

/// An entity's fields with known types, each once. A field with a bad type is reported
/// and left out (poisoned, so its uses are not reported again).
fn fields(
    cx: &mut Ctx<'_>,
    entity: &ast::EntityDecl,
    entities: &[String],
    target: &mut Target,
) -> Vec<FieldDef> {
    let mut fields = Vec::new();
    let mut first: HashMap<&str, Span> = HashMap::new();
    for field in &entity.fields {
        if let Some(first) = first.get(field.name.node.as_str()) {
            let error = TargetError::DuplicateField {
                entity: entity.name.node.clone(),
                field: field.name.node.clone(),
                first: *first,
            };
            cx.report(FileId::Target, field.name.span, error);
            continue;
        }
        first.insert(&field.name.node, field.name.span);
        let key = (entity.name.node.clone(), field.name.node.clone());
        let Some(ty) = field_type(cx, &field.ty, entities) else {
            target.poisoned.insert(key);
            continue;
        };
        target.field_spans.insert(key, field.span);
        let has = |flag| field.flags.iter().any(|f| f.node == flag);
        fields.push(FieldDef {
            name: field.name.node.clone(),
            ty,
            unique: has(ast::FieldFlag::Unique),
            readonly: has(ast::FieldFlag::Readonly),
            origin: cx.origin(FileId::Target, field.span),
        });
    }
    fields
}

fn field_type(cx: &mut Ctx<'_>, ty: &ast::TypeExpr, entities: &[String]) -> Option<FieldType> {
    let Some(kind) = FieldTypeKind::parse(&ty.name.node) else {
        let error = TargetError::UnknownType {
            name: ty.name.node.clone(),
        };
        cx.report(FileId::Target, ty.name.span, error);
        return None;
    };
    let simple = match kind {
        FieldTypeKind::String => FieldType::String,
        FieldTypeKind::Bool => FieldType::Bool,
        FieldTypeKind::Int => FieldType::Int,
        FieldTypeKind::DateTime => FieldType::DateTime,
        FieldTypeKind::Ref => return ref_type(cx, ty, entities),
    };
    if let Some(argument) = &ty.argument {
        let error = TargetError::TypeTakesNoArgument {
            name: ty.name.node.clone(),
        };
        cx.report(FileId::Target, argument.span, error);
        return None;
    }
    Some(simple)
}

/// `Ref<Entity>`, naming a declared entity.
fn ref_type(cx: &mut Ctx<'_>, ty: &ast::TypeExpr, entities: &[String]) -> Option<FieldType> {
    let Some(argument) = &ty.argument else {
        cx.report(FileId::Target, ty.span, TargetError::RefWithoutEntity);
        return None;
    };
    if entities.contains(&argument.node) {
        return Some(FieldType::Ref(argument.node.clone()));
    }
    let error = NameError::UnknownEntity {
        name: argument.node.clone(),
        entities: entities.to_vec(),
        used_in: EntityUse::TypeArgument,
    };
    cx.report(FileId::Target, argument.span, error);
    None
}
