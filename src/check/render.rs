//! The wording of every finding: [`CheckError`] -> [`RulesDiagnostic`] (code, message,
//! labels, help, related diagnostics in other files). Nothing else in the checker writes a
//! message. The wording of editions, roles and the password policy is in `render/access.rs`.

mod access;

use super::diagnostic::{Code, RulesDiagnostic, Severity};
use super::error::{
    ActionError, CheckError, DeclaredField, Elsewhere, EntityUse, ErrorKind, FieldError,
    HeaderError, HookError, LayoutError, MappingError, NameError, OverlayChange, OverlayError,
    PathError, PathUse, PolicyError, TargetError, ValueError,
};
use super::files::{FileId, Files};
use super::model::{
    ActionKind, FieldType, FieldTypeKind, Literal, Situation, TransformKind, TransformParameter,
};
use super::passes::paths::SUPPORTED_OPERATORS;
use super::suggest::{help_for, join_or, suggestion};
use crate::scim::error::ScimType;
use crate::scim::filter::CompareOp;
use crate::scim::schema::ResourceKind;
use crate::syntax::{Expected, Punct, Span, SyntaxError};

/// The diagnostic for one finding.
pub(crate) fn render(error: &CheckError, files: &Files) -> RulesDiagnostic {
    let at = At {
        files,
        file: error.file,
        span: error.span,
    };
    match &error.kind {
        ErrorKind::Syntax(error) => syntax(&at, error),
        ErrorKind::Layout(error) => layout(&at, error),
        ErrorKind::Header(error) => header(&at, error),
        ErrorKind::Target(error) => target(&at, error),
        ErrorKind::Name(error) => name(&at, error),
        ErrorKind::Mapping(error) => mapping(&at, error),
        ErrorKind::Field(error) => field(&at, error),
        ErrorKind::Overlay(error) => overlay(&at, error),
        ErrorKind::Path(error) => path(&at, error),
        ErrorKind::Value(error) => value(&at, error),
        ErrorKind::Policy(error) => policy(&at, error),
        ErrorKind::Action(error) => action(&at, error),
        ErrorKind::Hook(error) => hook(&at, error),
        ErrorKind::Access(error) => access::render(&at, error),
    }
}

/// How a closed set of names is spoken of: "unknown NOUN `x`", labelled "not MEMBER",
/// with help "PLURAL: a, b, c" when no member is close.
struct ClosedSet {
    code: Code,
    noun: &'static str,
    member: &'static str,
    plural: &'static str,
}

const TYPES: ClosedSet = ClosedSet::new(Code::UnknownType, "type", "a field type", "field types");
const RESOURCE_TYPES: ClosedSet = ClosedSet::new(
    Code::UnknownResource,
    "SCIM resource type",
    "a SCIM resource type",
    "resource types",
);
const TRANSFORMS: ClosedSet = ClosedSet::new(
    Code::UnknownTransform,
    "transform",
    "a transform",
    "transforms",
);
const SITUATIONS: ClosedSet = ClosedSet::new(
    Code::UnknownSituation,
    "situation",
    "a situation",
    "situations",
);
const ACTIONS: ClosedSet = ClosedSet::new(Code::UnknownAction, "action", "an action", "actions");
const SCIM_TYPES: ClosedSet = ClosedSet::new(
    Code::UnknownScimType,
    "SCIM error type",
    "a scimType",
    "SCIM error types",
);

impl ClosedSet {
    const fn new(
        code: Code,
        noun: &'static str,
        member: &'static str,
        plural: &'static str,
    ) -> ClosedSet {
        ClosedSet {
            code,
            noun,
            member,
            plural,
        }
    }
}

/// Where a finding points, for building its diagnostic.
struct At<'a> {
    files: &'a Files,
    file: FileId,
    span: Span,
}

impl At<'_> {
    fn error(&self, code: Code, message: impl Into<String>) -> RulesDiagnostic {
        self.diagnostic(code, Severity::Error, message)
    }

    /// An error for something written a second time: labelled "VERB again here", with the
    /// note "first VERB here" at `first`.
    fn repeated(
        &self,
        code: Code,
        message: impl Into<String>,
        verb: &str,
        first: Span,
    ) -> RulesDiagnostic {
        self.error(code, message)
            .label(format!("{verb} again here"))
            .note(first, format!("first {verb} here"))
    }

    fn diagnostic(
        &self,
        code: Code,
        severity: Severity,
        message: impl Into<String>,
    ) -> RulesDiagnostic {
        RulesDiagnostic::new(
            code,
            severity,
            self.files.get(self.file),
            self.span,
            message,
        )
    }

    /// Context in another file, as a related diagnostic.
    fn advice(&self, file: FileId, span: Span, message: impl Into<String>) -> RulesDiagnostic {
        RulesDiagnostic::new(
            Code::Note,
            Severity::Advice,
            self.files.get(file),
            span,
            message,
        )
    }

    /// "`Email` is declared `String unique` here", in target.rules.
    fn declared_here(&self, field: &DeclaredField) -> RulesDiagnostic {
        let mut description = field.def.ty.to_string();
        if field.def.unique {
            description.push_str(" unique");
        }
        if field.def.readonly {
            description.push_str(" readonly");
        }
        self.advice(
            FileId::Target,
            field.span,
            format!("`{}` is declared `{description}` here", field.def.name),
        )
        .label("declared here")
    }

    /// A name outside a closed set, with a suggestion among its members (or their list).
    fn unknown(&self, set: &ClosedSet, name: &str, members: &[&str]) -> RulesDiagnostic {
        self.error(set.code, format!("unknown {} `{name}`", set.noun))
            .label(format!("not {}", set.member))
            .help_opt(help_for(name, members.iter().copied(), set.plural))
    }

    /// "WHAT, but `FIELD` is a TYPE", with help to turn the value `given` into the field's
    /// type.
    fn mismatch(
        &self,
        code: Code,
        (what, given): (String, &FieldType),
        label: String,
        field: &DeclaredField,
    ) -> RulesDiagnostic {
        let (name, wanted) = (&field.def.name, &field.def.ty);
        self.error(code, format!("{what}, but `{name}` is a {wanted}"))
            .label(label)
            .help(conversion_help(wanted, given))
    }

    /// "declared again here", pointing back at the first declaration.
    fn again(&self, code: Code, message: String, first: Span) -> RulesDiagnostic {
        self.repeated(code, message, "declared", first)
    }
}

fn syntax(at: &At<'_>, error: &SyntaxError) -> RulesDiagnostic {
    let diagnostic = at.error(Code::Syntax, error.to_string());
    if error.at_end_of_file() {
        return diagnostic
            .label("the file ends after this")
            .help("the file may be cut short: check that every `{` has its `}`");
    }
    let diagnostic = diagnostic.label("unexpected here");
    if !error.expects(&Expected::Punct(Punct::Semi)) {
        return diagnostic;
    }
    let diagnostic = diagnostic.help("every statement ends with `;`");
    // A missing `;` is reported where the next token starts, often on the next line; then
    // also point at where it belongs.
    match error {
        SyntaxError::Unexpected {
            preceding: Some(before),
            span,
            ..
        } if at.files.line(at.file, before.start) != at.files.line(at.file, span.start) => {
            diagnostic.note(*before, "`;` missing after this?")
        }
        _ => diagnostic,
    }
}

fn layout(at: &At<'_>, error: &LayoutError) -> RulesDiagnostic {
    match error {
        LayoutError::TargetInRulesFile => at
            .error(Code::MisplacedStatement, "`target` belongs in target.rules")
            .label("not allowed here")
            .help("declare entities in the profile's target.rules"),
        LayoutError::ItemInOverlay { keyword } => at
            .error(
                Code::OverlayForbidden,
                format!("an overlay cannot declare `{keyword}`"),
            )
            .label("not allowed in an overlay")
            .help(
                "an overlay may only change mappings (`mapping KIND { ... }`), add hooks \
                 (`hooks KIND { ... }`) and choose the sync scope (`scope { ... }`)",
            ),
        LayoutError::SecondDeclaration { keyword, first } => at
            .again(
                Code::DuplicateStatement,
                format!("a second `{keyword}` declaration"),
                *first,
            )
            .help("a rules file has one header and at most one scope"),
    }
}

fn header(at: &At<'_>, error: &HeaderError) -> RulesDiagnostic {
    match error {
        HeaderError::NoHeader { target } => at
            .error(
                Code::MissingDeclaration,
                format!("{} has no `rules` header", at.files.name(at.file)),
            )
            .label("expected the header")
            .help(format!(
                "start the file with `rules \"NAME\" target {target} version 1;`"
            )),
        HeaderError::UnknownTarget { name, declared } => at
            .error(Code::UnknownTarget, format!("unknown target `{name}`"))
            .label("not declared in target.rules")
            .help(
                suggestion(name, [declared.as_str()])
                    .unwrap_or_else(|| format!("target.rules declares `{declared}`")),
            ),
        HeaderError::InvalidVersion { text } => at
            .error(
                Code::InvalidNumber,
                format!("`{text}` is not a valid version"),
            )
            .label("out of range")
            .help(format!(
                "a version is a whole number from 0 to {}",
                u32::MAX
            )),
        HeaderError::SecondSyncGroup { first } => at
            .again(
                Code::DuplicateStatement,
                "a second `sync_group`".to_string(),
                *first,
            )
            .help("the sync scope is one group"),
    }
}

fn target(at: &At<'_>, error: &TargetError) -> RulesDiagnostic {
    match error {
        TargetError::NoTarget => at
            .error(
                Code::MissingDeclaration,
                "target.rules declares no `target`",
            )
            .label("expected a target declaration")
            .help("declare the application's schema: `target NAME { entity User { ... } }`"),
        TargetError::SecondTarget { first } => at
            .again(
                Code::DuplicateStatement,
                "a second `target` declaration".to_string(),
                *first,
            )
            .help("a profile describes exactly one target"),
        TargetError::ItemInTargetFile { keyword } => at
            .error(
                Code::MisplacedStatement,
                format!("`{keyword}` does not belong in target.rules"),
            )
            .label("not allowed here")
            .help(
                "target.rules holds only the `target` declaration; the header, mappings, \
                 scope, policies and hooks go in default.rules",
            ),
        TargetError::DuplicateEntity { entity, first } => at
            .again(
                Code::DuplicateEntity,
                format!("entity `{entity}` is declared twice"),
                *first,
            )
            .help("merge the two declarations or rename one"),
        TargetError::DuplicateField {
            entity,
            field,
            first,
        } => at
            .again(
                Code::DuplicateField,
                format!("field `{field}` is declared twice in entity `{entity}`"),
                *first,
            )
            .help("remove one of the two declarations"),
        TargetError::UnknownType { name } => {
            at.unknown(&TYPES, name, &FieldTypeKind::ALL.map(FieldTypeKind::as_str))
        }
        TargetError::TypeTakesNoArgument { name } => at
            .error(
                Code::InvalidType,
                format!("`{name}` takes no type argument"),
            )
            .label("unexpected type argument")
            .help("only `Ref<Entity>` takes a type argument"),
        TargetError::RefWithoutEntity => at
            .error(Code::InvalidType, "`Ref` needs the entity it refers to")
            .label("missing `<Entity>`")
            .help("write `Ref<User>`, naming an entity of this target"),
    }
}

fn name(at: &At<'_>, error: &NameError) -> RulesDiagnostic {
    match error {
        NameError::UnknownEntity {
            name,
            entities,
            used_in,
        } => at
            .error(Code::UnknownEntity, format!("unknown entity `{name}`"))
            .label(match used_in {
                EntityUse::TypeArgument => "not an entity of this target",
                EntityUse::RefTransform => "not an entity of the target",
            })
            .help_opt(help_for(
                name,
                entities.iter().map(String::as_str),
                "entities",
            )),
        NameError::UnknownResource { name } => at.unknown(
            &RESOURCE_TYPES,
            name,
            &[ResourceKind::User, ResourceKind::Group].map(ResourceKind::as_str),
        ),
        NameError::NoEntityForResource { target, kind } => {
            let entity = kind.as_str();
            at.error(
                Code::UnknownEntity,
                format!("target `{target}` has no entity `{entity}` for SCIM {entity} resources"),
            )
            .label("no such entity")
            .help(format!(
                "declare `entity {entity} {{ ... }}` in target.rules"
            ))
        }
        NameError::UnknownField {
            entity,
            field,
            fields,
        } => at
            .error(
                Code::UnknownField,
                format!("entity `{entity}` has no field `{field}`"),
            )
            .label("unknown field")
            .help_opt(help_for(
                field,
                fields.iter().map(String::as_str),
                &format!("fields of `{entity}`"),
            )),
    }
}

fn mapping(at: &At<'_>, error: &MappingError) -> RulesDiagnostic {
    match error {
        MappingError::RemoveOutsideOverlay => at
            .error(
                Code::MisplacedStatement,
                "`remove` only applies in an overlay",
            )
            .label("not allowed here")
            .help("to stop mapping a field by default, delete this line's mapping"),
        MappingError::MappedTwice { field, first } => at
            .repeated(
                Code::DuplicateTarget,
                format!("`{field}` is mapped twice"),
                "mapped",
                *first,
            )
            .help("a field takes its value from one mapping; remove one of them"),
        MappingError::UnknownTransform { name } => at.unknown(
            &TRANSFORMS,
            name,
            &TransformKind::ALL.map(TransformKind::as_str),
        ),
        MappingError::TransformArguments { transform } => at
            .error(
                Code::TransformArguments,
                format!("wrong arguments for `{}`", transform.as_str()),
            )
            .label("here")
            .help(format!("write `{}`", transform_usage(*transform))),
        MappingError::TransformInput {
            transform,
            received,
        } => at
            .error(
                Code::TransformType,
                format!("`{transform}` takes a String, but receives a {received}"),
            )
            .label(format!("receives a {received}"))
            .help(match received {
                FieldType::Ref(_) => "`ref(...)` must be the last transform",
                _ => "transforms work on String values",
            }),
    }
}

/// How a transform is written, for "write `...`".
fn transform_usage(transform: TransformKind) -> String {
    let name = transform.as_str();
    match transform.parameter() {
        TransformParameter::None => name.to_string(),
        TransformParameter::PositiveInt => {
            format!("{name}(N)` with N a positive whole number, like `{name}(64)")
        }
        TransformParameter::Text => format!("{name}(\"text\")"),
        TransformParameter::Entity => format!("{name}(Entity)"),
    }
}

fn field(at: &At<'_>, error: &FieldError) -> RulesDiagnostic {
    let (diagnostic, field) = match error {
        FieldError::ReadonlyTarget { field } => (
            at.error(
                Code::ReadonlyTarget,
                format!("`{}` is read-only; no mapping may write it", field.def.name),
            )
            .label("read-only field")
            .help(
                "read-only fields are set by workflow hooks only; map a landing field and \
                 link it in a hook",
            ),
            field,
        ),
        FieldError::CustomNotString { field } => (
            at.error(
                Code::CustomNotString,
                format!(
                    "custom mappings target String fields only, but `{}` is a {}",
                    field.def.name, field.def.ty
                ),
            )
            .label(format!("a {} field", field.def.ty))
            .help("map a String field instead, or ask for a predefined mapping of this field"),
            field,
        ),
        FieldError::TransformOutput { produced, field } => (
            at.mismatch(
                Code::TransformType,
                (format!("the transforms produce a {produced}"), produced),
                format!("produces a {produced}"),
                field,
            ),
            field,
        ),
        FieldError::SourceType {
            source,
            source_type,
            field,
        } => (
            at.mismatch(
                Code::TypeMismatch,
                (format!("`{source}` is a {source_type}"), source_type),
                format!("a {source_type}"),
                field,
            ),
            field,
        ),
    };
    diagnostic.related(at.declared_here(field))
}

/// How to turn a value of type `given` into the field type `wanted`.
fn conversion_help(wanted: &FieldType, given: &FieldType) -> String {
    match (wanted, given) {
        (FieldType::Ref(entity), FieldType::String) => {
            format!("resolve the value to an entity with `| ref({entity})`")
        }
        _ => format!("map a SCIM attribute of type {wanted} instead"),
    }
}

fn overlay(at: &At<'_>, error: &OverlayError) -> RulesDiagnostic {
    match error {
        OverlayError::ChangedTwice { field, first } => at
            .repeated(
                Code::DuplicateTarget,
                format!("the overlay changes `{field}` twice"),
                "changed",
                *first,
            )
            .help("keep one mapping (or one `remove`) per field"),
        OverlayError::LockedMapping {
            field,
            change,
            locked_at,
        } => {
            let verb = match change {
                OverlayChange::Remap => "remap",
                OverlayChange::Remove => "remove",
            };
            let related = at
                .advice(
                    FileId::Rules,
                    *locked_at,
                    format!("`{field}` is locked in {}", at.files.name(FileId::Rules)),
                )
                .label("locked here");
            at.error(
                Code::LockedInOverlay,
                format!("an overlay cannot {verb} the locked mapping of `{field}`"),
            )
            .label("locked mapping")
            .help(format!(
                "`{field}` is locked by the profile; only the profile itself can change it"
            ))
            .related(related)
        }
        OverlayError::NothingToRemove { field } => at
            .error(
                Code::NothingToRemove,
                format!("`{field}` is not mapped, so there is nothing to remove"),
            )
            .label("not mapped")
            .help("delete this `remove`"),
        OverlayError::Locks => at
            .error(Code::OverlayForbidden, "an overlay cannot lock a mapping")
            .label("not allowed in an overlay")
            .help("remove `locked`; only the profile locks mappings"),
        OverlayError::AddsMapping { field } => at
            .error(
                Code::OverlayForbidden,
                format!(
                    "`{field}` is not mapped by the profile; an overlay may only add `custom` mappings"
                ),
            )
            .label("new mapping")
            .help(format!("write `custom {field} <- ...;` (String fields only)")),
    }
}

fn path(at: &At<'_>, error: &PathError) -> RulesDiagnostic {
    match error {
        PathError::UnknownSchema { urn, kind, schemas } => at
            .error(
                Code::UnknownScimPath,
                format!(
                    "`{urn}` is not a schema of SCIM {} resources",
                    kind.as_str()
                ),
            )
            .label("unknown schema")
            .help_opt(help_for(urn, schemas.iter().copied(), "schemas")),
        PathError::NoEnterpriseExtension { kind } => at
            .error(
                Code::UnknownScimPath,
                format!(
                    "SCIM {} resources have no enterprise extension",
                    kind.as_str()
                ),
            )
            .label("no such schema")
            .help("`enterprise.` applies to User resources only"),
        PathError::EnterpriseAlone { attributes } => at
            .error(
                Code::IncompletePath,
                "`enterprise` names the enterprise extension, not an attribute",
            )
            .label("incomplete path")
            .help(format!(
                "name one of its attributes: {}",
                attributes.join(", ")
            )),
        PathError::NoAttribute => at
            .error(Code::IncompletePath, "the path names no attribute")
            .label("incomplete path")
            .help("add an attribute after the schema URN: `urn:...:User:department`"),
        PathError::UnknownAttribute {
            schema,
            name,
            attributes,
            elsewhere,
        } => at
            .error(
                Code::UnknownScimPath,
                format!("the SCIM {schema} schema has no attribute `{name}`"),
            )
            .label("unknown attribute")
            .help_opt(match elsewhere {
                Some(elsewhere) => Some(written_elsewhere(*elsewhere)),
                None => help_for(
                    name,
                    attributes.iter().copied(),
                    &format!("attributes of {schema}"),
                ),
            }),
        PathError::NoSubAttributes { attribute, ty } => at
            .error(
                Code::UnknownScimPath,
                format!("`{attribute}` has no sub-attributes"),
            )
            .label("unknown attribute")
            .help(format!(
                "`{attribute}` is a simple {ty} value; end the path there"
            )),
        PathError::UnknownSubAttribute {
            attribute,
            name,
            sub_attributes,
        } => at
            .error(
                Code::UnknownScimPath,
                format!("`{attribute}` has no sub-attribute `{name}`"),
            )
            .label("unknown sub-attribute")
            .help_opt(help_for(
                name,
                sub_attributes.iter().copied(),
                &format!("sub-attributes of `{attribute}`"),
            )),
        PathError::ComplexValue {
            attribute,
            sub_attributes,
            used_in,
        } => {
            let what = match used_in {
                PathUse::Guard => "a guard",
                PathUse::Mapping => "a mapping",
            };
            at.error(
                Code::IncompletePath,
                format!("`{attribute}` is a complex attribute; {what} needs a simple value"),
            )
            .label("complex attribute")
            .help(format!(
                "name one of its sub-attributes: {}",
                sub_attributes.join(", ")
            ))
        }
    }
}

/// How to write an attribute that another schema of the resource type has.
fn written_elsewhere(elsewhere: Elsewhere) -> String {
    match elsewhere {
        Elsewhere::Enterprise(a) => {
            format!("`{a}` belongs to the enterprise extension: write `enterprise.{a}`")
        }
        Elsewhere::Core(a) => format!("`{a}` belongs to the core schema: write `{a}`"),
    }
}

fn value(at: &At<'_>, error: &ValueError) -> RulesDiagnostic {
    match error {
        ValueError::NotMultiValued { attribute } => at
            .error(
                Code::InvalidFilter,
                format!("`{attribute}` is not multi-valued, so it cannot be filtered"),
            )
            .label("value filter")
            .help(
                "value filters select elements of multi-valued attributes, like \
                 `emails[primary eq true]`",
            ),
        ValueError::UnknownFilterAttribute {
            attribute,
            name,
            sub_attributes,
        } => at
            .error(
                Code::UnknownFilterAttribute,
                format!("`{attribute}` has no sub-attribute `{name}` to filter on"),
            )
            .label("unknown filter attribute")
            .help_opt(help_for(
                name,
                sub_attributes.iter().copied(),
                &format!("sub-attributes of `{attribute}`"),
            )),
        ValueError::UnsupportedOperator {
            written,
            used_in,
            instead,
        } => at
            .error(
                Code::UnknownOperator,
                format!("unsupported operator `{written}`"),
            )
            .label("unsupported operator")
            .help(operator_help(*used_in, *instead)),
        ValueError::IntegerOutOfRange { text } => at
            .error(
                Code::InvalidNumber,
                format!("`{text}` does not fit a 64-bit integer"),
            )
            .label("out of range")
            .help(format!("integers range from {} to {}", i64::MIN, i64::MAX)),
        ValueError::GuardTypeMismatch { path, ty, literal } => {
            let kind = literal_kind(literal);
            at.error(
                Code::TypeMismatch,
                format!("`{path}` is a {ty}, so this comparison with {kind} never matches"),
            )
            .label(format!("{kind} here"))
            .help(match ty {
                FieldType::Bool => "compare with `true` or `false`",
                FieldType::Int => "compare with a number",
                _ => "compare with a \"string\" (co, sw and ew need one)",
            })
        }
    }
}

/// Which operators may be used where an unsupported one was written.
fn operator_help(used_in: PathUse, instead: Option<CompareOp>) -> String {
    if let Some(op) = instead {
        return format!("value filters use SCIM operators: write `{}`", op.as_str());
    }
    let scim = SUPPORTED_OPERATORS.map(CompareOp::as_str);
    match used_in {
        PathUse::Guard => {
            let all: Vec<&str> = ["==", "!="].into_iter().chain(scim).collect();
            format!("guards compare with {}", join_or(&all))
        }
        PathUse::Mapping => format!("value filters compare with {}", join_or(&scim)),
    }
}

fn literal_kind(literal: &Literal) -> &'static str {
    match literal {
        Literal::Null => "null",
        Literal::Bool(_) => "a boolean",
        Literal::Int(_) => "a number",
        Literal::String(_) => "a string",
    }
}

fn policy(at: &At<'_>, error: &PolicyError) -> RulesDiagnostic {
    match error {
        PolicyError::SecondPolicy { kind, first } => at
            .again(
                Code::DuplicateStatement,
                format!("a second `policy {}`", kind.as_str()),
                *first,
            )
            .help("write one policy per resource type"),
        PolicyError::SecondStatement { statement, first } => at
            .again(
                Code::DuplicateStatement,
                format!("a second `{statement}` in one policy"),
                *first,
            )
            .help("keep one of them"),
        PolicyError::MatchFieldNotUnique {
            field,
            entity,
            candidates,
        } => at
            .error(
                Code::MatchFieldNotUnique,
                format!(
                    "`{}` is not a unique String field, so it cannot identify an existing entity",
                    field.def.name
                ),
            )
            .label("not a unique String")
            .help(if candidates.is_empty() {
                format!("declare a `unique` String field on `{entity}` to match by")
            } else {
                format!("match by a unique String field: {}", candidates.join(", "))
            })
            .related(at.declared_here(field)),
        PolicyError::UnreachableReaction { situation, always } => at
            .diagnostic(
                Code::UnreachableReaction,
                Severity::Warning,
                format!("this reaction to `{}` is never used", situation.as_str()),
            )
            .label("unreachable")
            .note(*always, "this unguarded reaction always applies first")
            .help("move it before the unguarded reaction, or delete it"),
        PolicyError::NotExhaustive { situation } => at
            .error(
                Code::NotExhaustive,
                format!(
                    "every reaction to `{}` is guarded; when no guard holds nothing is decided",
                    situation.as_str()
                ),
            )
            .label("last reaction, guarded")
            .help(format!(
                "end with an unguarded reaction, e.g. `on {} => ignore;`",
                situation.as_str()
            )),
        PolicyError::UnknownSituation { name } => {
            at.unknown(&SITUATIONS, name, &Situation::ALL.map(Situation::as_str))
        }
    }
}

fn action(at: &At<'_>, error: &ActionError) -> RulesDiagnostic {
    match error {
        ActionError::Unknown { name } => {
            at.unknown(&ACTIONS, name, &ActionKind::ALL.map(ActionKind::as_str))
        }
        ActionError::TakesNoArgument { action } => at
            .error(
                Code::ActionArgument,
                format!("`{}` takes no argument", action.as_str()),
            )
            .label("unexpected argument")
            .help(format!("write `{};`", action.as_str())),
        ActionError::NeedsArgument { action } => at
            .error(
                Code::ActionArgument,
                format!("`{}` needs an argument", action.as_str()),
            )
            .label("missing argument")
            .help(match action {
                ActionKind::Skip => {
                    "write `skip FIELD` naming a mapped Ref field, like `skip DirectManager`"
                }
                _ => "write `reject SCIMTYPE`, like `reject uniqueness`",
            }),
        ActionError::UnknownScimType { name } => {
            at.unknown(&SCIM_TYPES, name, &ScimType::ALL.map(ScimType::as_str))
        }
        ActionError::SkipNotRef {
            written,
            field,
            ty,
            mapped,
            refs,
        } => {
            let message = if *mapped {
                format!("`skip` applies to reference fields, but `{field}` is a {ty}")
            } else {
                format!("`{field}` is not mapped, so there is nothing to skip")
            };
            let help = suggestion(written, refs.iter().map(String::as_str)).unwrap_or_else(|| {
                if refs.is_empty() {
                    "no Ref field is mapped for this resource".to_string()
                } else {
                    format!("mapped Ref fields: {}", refs.join(", "))
                }
            });
            at.error(Code::SkipNotRef, message)
                .label("not a mapped Ref field")
                .help(help)
        }
    }
}

fn hook(at: &At<'_>, error: &HookError) -> RulesDiagnostic {
    match error {
        HookError::UnmappedField {
            field,
            kind,
            removed_at,
        } => at
            .error(
                Code::HookUnmappedField,
                format!("no mapping writes `{field}`, so this hook never runs"),
            )
            .label("unmapped field")
            .help(match removed_at {
                Some(span) => format!(
                    "the overlay removes its mapping at {}:{}",
                    at.files.name(FileId::Overlay),
                    at.files.line(FileId::Overlay, span.start)
                ),
                None => format!(
                    "a hook runs when a mapping changes its field; map `{field}` in `mapping {}`",
                    kind.as_str()
                ),
            }),
        HookError::ScriptMissing {
            written,
            key,
            scripts,
        } => at
            .error(
                Code::HookScriptMissing,
                format!("no script `{written}` in the profile"),
            )
            .label("missing script")
            .help_opt(help_for(
                key,
                scripts.iter().map(String::as_str),
                "scripts in the profile",
            )),
        HookError::Compile {
            key,
            message,
            used_at: (file, span),
        } => at
            .error(
                Code::HookCompile,
                format!("`{key}` does not compile: {message}"),
            )
            .label(message.clone())
            .help("fix the script; hooks are compiled once when the rules are loaded")
            .related(
                at.advice(*file, *span, format!("`{key}` is used by this hook"))
                    .label("used here"),
            ),
        HookError::Arity {
            function,
            key,
            arity,
        } => at
            .error(
                Code::HookArity,
                format!(
                    "`{function}` in `{key}` takes {arity} parameter{}, but hooks pass three",
                    if *arity == 1 { "" } else { "s" }
                ),
            )
            .label("wrong arity")
            .help(format!(
                "declare it as `fn {function}(user, before, after)`"
            )),
        HookError::MissingFn {
            function,
            key,
            functions,
        } => at
            .error(
                Code::HookMissingFn,
                format!("`{key}` defines no function `{function}`"),
            )
            .label("no such function")
            .help_opt(help_for(
                function,
                functions.iter().map(String::as_str),
                &format!("functions in `{key}`"),
            )),
    }
}
