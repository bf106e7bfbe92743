//! SCIM paths (mapping sources and guards) resolved against the built-in schema of a
//! resource kind, with their value filters, operators and literals; and guards.

use super::Ctx;
use crate::check::error::{Elsewhere, PathError, PathUse, ValueError};
use crate::check::files::FileId;
use crate::check::model::{
    Comparison, FieldType, Guard, GuardTerm, Literal, PathSegment, SourcePath, ValueFilter,
};
use crate::scim::attr::AttrPath;
use crate::scim::filter::{CompareOp, Filter};
use crate::scim::path::ValuePath;
use crate::scim::schema::{
    AttrType, AttributeDef, COMMON_ATTRIBUTES, ENTERPRISE_USER_SCHEMA, ResourceKind, SchemaDef,
    schema_by_urn,
};
use crate::syntax::{Spanned, ast};

/// The SCIM operators value filters and guards may use; guards also take `==` and `!=`.
/// Ordering operators (`gt`, `ge`, `lt`, `le`) are refused: nothing in rules orders values.
pub(crate) const SUPPORTED_OPERATORS: [CompareOp; 5] = [
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Co,
    CompareOp::Sw,
    CompareOp::Ew,
];

/// Resolves a path against the built-in schema of `kind`: the schema URN, canonical
/// segment names, and the type of the value it yields.
pub(super) fn resolve(
    cx: &mut Ctx<'_>,
    file: FileId,
    kind: ResourceKind,
    path: &ast::PathExpr,
    used_in: PathUse,
) -> Option<(SourcePath, FieldType)> {
    let (schema, segments) = schema_of(cx, file, kind, path)?;
    let Some((first, rest)) = segments.split_first() else {
        cx.report(file, path.span, PathError::NoAttribute);
        return None;
    };
    let mut attribute = first_attribute(cx, file, kind, schema, first)?;
    let mut ok = true;
    let mut resolved = Vec::with_capacity(segments.len());
    resolved.push(segment(cx, file, attribute, first.filter.as_ref(), &mut ok));
    for written in rest {
        attribute = sub_attribute(cx, file, attribute, written)?;
        resolved.push(segment(
            cx,
            file,
            attribute,
            written.filter.as_ref(),
            &mut ok,
        ));
    }
    if !attribute.sub_attributes.is_empty() {
        let error = PathError::ComplexValue {
            attribute: attribute.name,
            sub_attributes: sub_attribute_names(attribute),
            used_in,
        };
        cx.report(file, path.span, error);
        return None;
    }
    if !ok {
        return None;
    }
    let ty = match attribute.ty {
        AttrType::Boolean => FieldType::Bool,
        AttrType::Integer => FieldType::Int,
        AttrType::DateTime => FieldType::DateTime,
        _ => FieldType::String,
    };
    // The SCIM layer accepts every path the checker accepts; were it not so, the path is
    // refused here rather than evaluated differently.
    let Some(value) = scim_path(kind, schema, &resolved) else {
        cx.report(file, path.span, PathError::NoAttribute);
        return None;
    };
    let path = SourcePath {
        schema: schema.id.to_string(),
        segments: resolved,
        value: Box::new(value),
    };
    Some((path, ty))
}

/// The SCIM layer's resolution of a path the checker has resolved: the attribute (in its
/// extension), its value filter, its sub-attribute. The checker's rules about paths are
/// stricter than the SCIM layer's, so this does not fail for a checked path.
fn scim_path(
    kind: ResourceKind,
    schema: &SchemaDef,
    segments: &[PathSegment],
) -> Option<ValuePath> {
    let first = segments.first()?;
    let filter = first.filter.as_ref().map(|filter| {
        Filter::And(
            filter
                .all
                .iter()
                .map(|c| Filter::Compare {
                    path: AttrPath::simple(&c.attribute),
                    op: c.op,
                    value: c.value.to_json(),
                })
                .collect(),
        )
    });
    let urn = (schema.id != kind.core_schema().id).then_some(schema.id);
    let sub = segments.get(1).map(|s| s.name.as_str());
    ValuePath::new(kind, urn, &first.name, filter, sub).ok()
}

/// A guard: every comparison resolves, and its literal can match the path's type.
pub(super) fn guard(cx: &mut Ctx<'_>, kind: ResourceKind, guard: &ast::GuardExpr) -> Option<Guard> {
    let mut all = Vec::new();
    let mut ok = true;
    for term in &guard.terms {
        let path = resolve(cx, FileId::Rules, kind, &term.subject, PathUse::Guard);
        let op = operator(cx, FileId::Rules, &term.op, PathUse::Guard);
        let value = literal(cx, FileId::Rules, &term.value);
        let (Some((path, ty)), Some(op), Some(value)) = (path, op, value) else {
            ok = false;
            continue;
        };
        if literal_fits(&ty, op, &value) {
            all.push(GuardTerm { path, op, value });
        } else {
            let error = ValueError::GuardTypeMismatch {
                path,
                ty,
                literal: value,
            };
            cx.report(FileId::Rules, term.value.span, error);
            ok = false;
        }
    }
    ok.then_some(Guard { all })
}

/// The schema a path starts in, and the segments after a leading URN or `enterprise`.
fn schema_of<'p>(
    cx: &mut Ctx<'_>,
    file: FileId,
    kind: ResourceKind,
    path: &'p ast::PathExpr,
) -> Option<(&'static SchemaDef, &'p [ast::PathSegmentExpr])> {
    let core = kind.core_schema();
    let schemas = || std::iter::once(core).chain(kind.extensions().iter().copied());
    if let Some(urn) = &path.urn {
        let found = schema_by_urn(&urn.node).filter(|s| schemas().any(|a| a.id == s.id));
        if found.is_none() {
            let error = PathError::UnknownSchema {
                urn: urn.node.clone(),
                kind,
                schemas: schemas().map(|s| s.id).collect(),
            };
            cx.report(file, urn.span, error);
        }
        return found.map(|schema| (schema, path.segments.as_slice()));
    }
    match path.segments.split_first() {
        Some((first, rest))
            if first.name.node.eq_ignore_ascii_case("enterprise")
                && first.filter.is_none()
                && core.attribute(&first.name.node).is_none() =>
        {
            let Some(enterprise) = schemas().find(|s| s.id == ENTERPRISE_USER_SCHEMA) else {
                cx.report(
                    file,
                    first.name.span,
                    PathError::NoEnterpriseExtension { kind },
                );
                return None;
            };
            if rest.is_empty() {
                let error = PathError::EnterpriseAlone {
                    attributes: enterprise.attribute_names().collect(),
                };
                cx.report(file, path.span, error);
                return None;
            }
            Some((enterprise, rest))
        }
        _ => Some((core, path.segments.as_slice())),
    }
}

/// The path's first attribute in `schema` (the core schema also has the common
/// attributes `id`, `externalId`, `meta`).
fn first_attribute(
    cx: &mut Ctx<'_>,
    file: FileId,
    kind: ResourceKind,
    schema: &'static SchemaDef,
    first: &ast::PathSegmentExpr,
) -> Option<&'static AttributeDef> {
    let name = &first.name.node;
    let is_core = std::ptr::eq(schema, kind.core_schema());
    let common = || COMMON_ATTRIBUTES.iter().filter(move |_| is_core);
    if let Some(found) = schema
        .attribute(name)
        .or_else(|| common().find(|a| a.name.eq_ignore_ascii_case(name)))
    {
        return Some(found);
    }
    let elsewhere = std::iter::once(kind.core_schema())
        .chain(kind.extensions().iter().copied())
        .filter(|s| !std::ptr::eq(*s, schema))
        .find_map(|s| {
            let attribute = s.attribute(name)?.name;
            Some(if s.id == ENTERPRISE_USER_SCHEMA {
                Elsewhere::Enterprise(attribute)
            } else {
                Elsewhere::Core(attribute)
            })
        });
    let error = PathError::UnknownAttribute {
        schema: schema.name,
        name: name.clone(),
        attributes: schema
            .attribute_names()
            .chain(common().map(|a| a.name))
            .collect(),
        elsewhere,
    };
    cx.report(file, first.name.span, error);
    None
}

/// The sub-attribute a segment after `attribute` names.
fn sub_attribute(
    cx: &mut Ctx<'_>,
    file: FileId,
    attribute: &'static AttributeDef,
    written: &ast::PathSegmentExpr,
) -> Option<&'static AttributeDef> {
    if attribute.sub_attributes.is_empty() {
        let error = PathError::NoSubAttributes {
            attribute: attribute.name,
            ty: attribute.ty.as_str(),
        };
        cx.report(file, written.name.span, error);
        return None;
    }
    let found = attribute.sub_attribute(&written.name.node);
    if found.is_none() {
        let error = PathError::UnknownSubAttribute {
            attribute: attribute.name,
            name: written.name.node.clone(),
            sub_attributes: sub_attribute_names(attribute),
        };
        cx.report(file, written.name.span, error);
    }
    found
}

/// A resolved segment with its checked value filter; a filter that does not check clears
/// `ok` (and is reported).
fn segment(
    cx: &mut Ctx<'_>,
    file: FileId,
    attribute: &'static AttributeDef,
    filter: Option<&ast::FilterExpr>,
    ok: &mut bool,
) -> PathSegment {
    let filter = filter.and_then(|filter| {
        let checked = value_filter(cx, file, attribute, filter);
        *ok &= checked.is_some();
        checked
    });
    PathSegment {
        name: attribute.name.to_string(),
        filter,
    }
}

fn sub_attribute_names(attribute: &AttributeDef) -> Vec<&'static str> {
    attribute.sub_attributes.iter().map(|a| a.name).collect()
}

/// `[ATTR OP LITERAL and ...]` on a multi-valued complex attribute.
fn value_filter(
    cx: &mut Ctx<'_>,
    file: FileId,
    attribute: &'static AttributeDef,
    filter: &ast::FilterExpr,
) -> Option<ValueFilter> {
    if !attribute.multi_valued || attribute.sub_attributes.is_empty() {
        let error = ValueError::NotMultiValued {
            attribute: attribute.name,
        };
        cx.report(file, filter.span, error);
        return None;
    }
    let mut all = Vec::new();
    let mut ok = true;
    for term in &filter.terms {
        let sub = attribute.sub_attribute(&term.subject.node);
        if sub.is_none() {
            let error = ValueError::UnknownFilterAttribute {
                attribute: attribute.name,
                name: term.subject.node.clone(),
                sub_attributes: sub_attribute_names(attribute),
            };
            cx.report(file, term.subject.span, error);
        }
        let op = operator(cx, file, &term.op, PathUse::Mapping);
        let value = literal(cx, file, &term.value);
        match (sub, op, value) {
            (Some(sub), Some(op), Some(value)) => all.push(Comparison {
                attribute: sub.name.to_string(),
                op,
                value,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(ValueFilter { all })
}

/// An operator: one of [`SUPPORTED_OPERATORS`] (any case), or in a guard `==` / `!=`.
fn operator(
    cx: &mut Ctx<'_>,
    file: FileId,
    op: &Spanned<String>,
    used_in: PathUse,
) -> Option<CompareOp> {
    let symbol = match op.node.as_str() {
        "==" => Some(CompareOp::Eq),
        "!=" => Some(CompareOp::Ne),
        _ => None,
    };
    let parsed = match (symbol, used_in) {
        (Some(symbol), PathUse::Guard) => Some(symbol),
        (Some(_), PathUse::Mapping) => None,
        (None, _) => CompareOp::parse(&op.node).filter(|op| SUPPORTED_OPERATORS.contains(op)),
    };
    if parsed.is_none() {
        let error = ValueError::UnsupportedOperator {
            written: op.node.clone(),
            used_in,
            instead: symbol,
        };
        cx.report(file, op.span, error);
    }
    parsed
}

fn literal(cx: &mut Ctx<'_>, file: FileId, literal: &Spanned<ast::LiteralExpr>) -> Option<Literal> {
    Some(match &literal.node {
        ast::LiteralExpr::String(s) => Literal::String(s.clone()),
        ast::LiteralExpr::Bool(b) => Literal::Bool(*b),
        ast::LiteralExpr::Null => Literal::Null,
        ast::LiteralExpr::Int(text) => {
            let Ok(value) = text.parse::<i64>() else {
                let error = ValueError::IntegerOutOfRange { text: text.clone() };
                cx.report(file, literal.span, error);
                return None;
            };
            Literal::Int(value)
        }
    })
}

/// Whether a guard can ever match: the literal's type fits the attribute's, and the string
/// operators (`co`, `sw`, `ew`) compare strings. `null` fits anything (absent).
fn literal_fits(ty: &FieldType, op: CompareOp, literal: &Literal) -> bool {
    let equality = matches!(op, CompareOp::Eq | CompareOp::Ne);
    let textual = matches!(
        ty,
        FieldType::String | FieldType::DateTime | FieldType::Ref(_)
    );
    match literal {
        Literal::Null => equality,
        Literal::Bool(_) => *ty == FieldType::Bool && equality,
        Literal::Int(_) => *ty == FieldType::Int && equality,
        // `"true"`/`"false"` compare equal to booleans, as Entra sends them.
        Literal::String(text) => {
            textual
                || (*ty == FieldType::Bool
                    && equality
                    && (text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false")))
        }
    }
}
