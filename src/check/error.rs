//! What the checker found, as data: one enum per pass, each variant holding the facts
//! (names, spans, candidates) and no wording. `render.rs` is the one place that turns them
//! into [`RulesDiagnostic`](super::RulesDiagnostic)s.

use super::files::FileId;
use super::model::{
    ActionKind, FieldDef, FieldType, Literal, Situation, SourcePath, TransformKind,
};
use crate::scim::filter::CompareOp;
use crate::scim::schema::ResourceKind;
use crate::syntax::{Span, SyntaxError};

/// One finding at its primary location: an error, or (for an unreachable reaction) a
/// warning.
#[derive(Debug, Clone)]
pub(crate) struct CheckError {
    /// The file the finding points into.
    pub file: FileId,
    /// Where in that file.
    pub span: Span,
    /// What was found.
    pub kind: ErrorKind,
}

impl CheckError {
    /// A finding at `span` of `file`.
    pub(crate) fn new(file: FileId, span: Span, kind: impl Into<ErrorKind>) -> CheckError {
        CheckError {
            file,
            span,
            kind: kind.into(),
        }
    }
}

/// Declares [`ErrorKind`]: one variant per pass's error type, and `From` each of them.
macro_rules! error_kinds {
    ($($(#[$doc:meta])* $variant:ident($error:ty),)*) => {
        /// The findings of every pass.
        #[derive(Debug, Clone)]
        pub(crate) enum ErrorKind {
            $($(#[$doc])* $variant($error),)*
        }

        $(impl From<$error> for ErrorKind {
            fn from(error: $error) -> ErrorKind {
                ErrorKind::$variant(error)
            }
        })*
    };
}

error_kinds! {
    /// The file does not parse.
    Syntax(SyntaxError),
    /// Which rules file may hold which item.
    Layout(LayoutError),
    /// The header and the scope.
    Header(HeaderError),
    /// target.rules.
    Target(TargetError),
    /// Names that target.rules must declare.
    Name(NameError),
    /// Mapping statements.
    Mapping(MappingError),
    /// What a mapping's target field accepts.
    Field(FieldError),
    /// What an overlay may change.
    Overlay(OverlayError),
    /// SCIM paths.
    Path(PathError),
    /// Value filters, operators and literals.
    Value(ValueError),
    /// Policy blocks.
    Policy(PolicyError),
    /// The actions of reactions.
    Action(ActionError),
    /// Hook blocks and their scripts.
    Hook(HookError),
    /// Editions, roles and the password policy.
    Access(AccessError),
}

/// A field of the target schema and where target.rules declares it: the picture for
/// "declared here".
#[derive(Debug, Clone)]
pub(crate) struct DeclaredField {
    /// The field's declaration in target.rules.
    pub span: Span,
    /// The field.
    pub def: FieldDef,
}

/// Findings about which rules file holds which item.
#[derive(Debug, Clone)]
pub(crate) enum LayoutError {
    /// A `target` declaration in a rules file.
    TargetInRulesFile,
    /// An item an overlay may not hold.
    ItemInOverlay {
        /// The item's keyword.
        keyword: &'static str,
    },
    /// A second header or scope in a rules file.
    SecondDeclaration {
        /// The item's keyword.
        keyword: &'static str,
        /// The first one's keyword.
        first: Span,
    },
}

/// Findings about the `rules` header and the scope.
#[derive(Debug, Clone)]
pub(crate) enum HeaderError {
    /// A rules file without its header.
    NoHeader {
        /// The name target.rules declares.
        target: String,
    },
    /// The header names another target.
    UnknownTarget {
        /// The name written.
        name: String,
        /// The name target.rules declares.
        declared: String,
    },
    /// A header version that is no `u32`.
    InvalidVersion {
        /// The version as written.
        text: String,
    },
    /// A second `sync_group` in the scope.
    SecondSyncGroup {
        /// The first one.
        first: Span,
    },
}

/// Findings about target.rules.
#[derive(Debug, Clone)]
pub(crate) enum TargetError {
    /// target.rules without a `target`.
    NoTarget,
    /// A second `target` in target.rules.
    SecondTarget {
        /// The first one's name.
        first: Span,
    },
    /// An item other than `target` in target.rules.
    ItemInTargetFile {
        /// The item's keyword.
        keyword: &'static str,
    },
    /// An entity declared twice.
    DuplicateEntity {
        /// Its name.
        entity: String,
        /// The first declaration's name.
        first: Span,
    },
    /// A field declared twice in one entity.
    DuplicateField {
        /// The entity.
        entity: String,
        /// The field.
        field: String,
        /// The first declaration's name.
        first: Span,
    },
    /// A type name outside [`FieldTypeKind`](super::model::FieldTypeKind).
    UnknownType {
        /// The name written.
        name: String,
    },
    /// A type argument on a type that takes none.
    TypeTakesNoArgument {
        /// The type.
        name: String,
    },
    /// `Ref` without `<Entity>`.
    RefWithoutEntity,
}

/// Where an entity name was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntityUse {
    /// `Ref<Entity>` in target.rules.
    TypeArgument,
    /// `ref(Entity)` in a mapping.
    RefTransform,
}

/// Names that target.rules (or the SCIM schema's resource types) must declare.
#[derive(Debug, Clone)]
pub(crate) enum NameError {
    /// A name that is not an entity of the target.
    UnknownEntity {
        /// The name written.
        name: String,
        /// The target's entities.
        entities: Vec<String>,
        /// Where it was written.
        used_in: EntityUse,
    },
    /// A block naming a SCIM resource type that does not exist.
    UnknownResource {
        /// The name written.
        name: String,
    },
    /// A block for a resource type whose entity the target does not declare.
    NoEntityForResource {
        /// The target's name.
        target: String,
        /// The resource type (also the entity's name).
        kind: ResourceKind,
    },
    /// A field the entity does not declare.
    UnknownField {
        /// The entity.
        entity: String,
        /// The name written.
        field: String,
        /// The entity's fields.
        fields: Vec<String>,
    },
}

/// Findings about mapping statements and their transforms.
#[derive(Debug, Clone)]
pub(crate) enum MappingError {
    /// `remove` outside an overlay.
    RemoveOutsideOverlay,
    /// A field mapped twice in the profile.
    MappedTwice {
        /// The field.
        field: String,
        /// The first mapping's target.
        first: Span,
    },
    /// A transform outside [`TransformKind`].
    UnknownTransform {
        /// The name written.
        name: String,
    },
    /// A transform with wrong arguments.
    TransformArguments {
        /// The transform.
        transform: TransformKind,
    },
    /// A transform given a value that is not a String.
    TransformInput {
        /// The transform as written.
        transform: String,
        /// What it is given.
        received: FieldType,
    },
}

/// Findings about what a mapping's target field accepts; each points back at the field's
/// declaration.
#[derive(Debug, Clone)]
pub(crate) enum FieldError {
    /// A mapping onto a read-only field.
    ReadonlyTarget {
        /// The field.
        field: DeclaredField,
    },
    /// A `custom` mapping onto a field that is not a String.
    CustomNotString {
        /// The field.
        field: DeclaredField,
    },
    /// A transform chain whose result does not have the field's type.
    TransformOutput {
        /// What the chain produces.
        produced: FieldType,
        /// The field.
        field: DeclaredField,
    },
    /// A source without transforms whose type differs from the field's.
    SourceType {
        /// The source path.
        source: SourcePath,
        /// Its type.
        source_type: FieldType,
        /// The field.
        field: DeclaredField,
    },
}

/// How an overlay touches a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OverlayChange {
    /// `FIELD <- ...;`
    Remap,
    /// `remove FIELD;`
    Remove,
}

/// Findings about what an overlay changes.
#[derive(Debug, Clone)]
pub(crate) enum OverlayError {
    /// A field changed twice by the overlay.
    ChangedTwice {
        /// The field.
        field: String,
        /// The first change's target.
        first: Span,
    },
    /// An overlay touching a locked mapping.
    LockedMapping {
        /// The field.
        field: String,
        /// How the overlay touches it.
        change: OverlayChange,
        /// The `locked` modifier in the rules file.
        locked_at: Span,
    },
    /// `remove` of a field that is not mapped.
    NothingToRemove {
        /// The field.
        field: String,
    },
    /// `locked` in an overlay.
    Locks,
    /// A new mapping in an overlay that is not `custom`.
    AddsMapping {
        /// The field.
        field: String,
    },
}

/// Where a SCIM path or an operator was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathUse {
    /// The source of a mapping (operators: in one of its value filters).
    Mapping,
    /// A guard of a reaction (operators: the guard's own comparison).
    Guard,
}

/// An attribute found in another schema than the one the path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elsewhere {
    /// In the enterprise extension.
    Enterprise(&'static str),
    /// In the core schema.
    Core(&'static str),
}

/// Findings about SCIM paths.
#[derive(Debug, Clone)]
pub(crate) enum PathError {
    /// A URN that is not a schema of the resource type.
    UnknownSchema {
        /// The URN written.
        urn: String,
        /// The resource type.
        kind: ResourceKind,
        /// Its schemas' URNs.
        schemas: Vec<&'static str>,
    },
    /// `enterprise.` on a resource type without that extension.
    NoEnterpriseExtension {
        /// The resource type.
        kind: ResourceKind,
    },
    /// `enterprise` with no attribute after it.
    EnterpriseAlone {
        /// The extension's attributes.
        attributes: Vec<&'static str>,
    },
    /// A schema URN with no attribute after it.
    NoAttribute,
    /// An attribute the schema does not define.
    UnknownAttribute {
        /// The schema's name (`User`).
        schema: &'static str,
        /// The name written.
        name: String,
        /// The schema's attributes.
        attributes: Vec<&'static str>,
        /// The attribute, when another schema of the resource type has it.
        elsewhere: Option<Elsewhere>,
    },
    /// A segment after a simple attribute.
    NoSubAttributes {
        /// The simple attribute.
        attribute: &'static str,
        /// Its SCIM type.
        ty: &'static str,
    },
    /// A sub-attribute the attribute does not define.
    UnknownSubAttribute {
        /// The attribute.
        attribute: &'static str,
        /// The name written.
        name: String,
        /// Its sub-attributes.
        sub_attributes: Vec<&'static str>,
    },
    /// A path ending on a complex attribute.
    ComplexValue {
        /// The attribute.
        attribute: &'static str,
        /// Its sub-attributes.
        sub_attributes: Vec<&'static str>,
        /// Where the path was written.
        used_in: PathUse,
    },
}

/// Findings about value filters, operators and literals.
#[derive(Debug, Clone)]
pub(crate) enum ValueError {
    /// A value filter on an attribute that is not multi-valued.
    NotMultiValued {
        /// The attribute.
        attribute: &'static str,
    },
    /// A value-filter attribute that is not a sub-attribute.
    UnknownFilterAttribute {
        /// The filtered attribute.
        attribute: &'static str,
        /// The name written.
        name: String,
        /// Its sub-attributes.
        sub_attributes: Vec<&'static str>,
    },
    /// An operator that may not be used where it is written.
    UnsupportedOperator {
        /// The operator as written.
        written: String,
        /// Where.
        used_in: PathUse,
        /// The SCIM spelling of the same comparison (`eq` for `==` in a value filter).
        instead: Option<CompareOp>,
    },
    /// An integer literal that does not fit an `i64`.
    IntegerOutOfRange {
        /// The literal as written.
        text: String,
    },
    /// A guard comparing with a literal of the wrong type.
    GuardTypeMismatch {
        /// The path compared.
        path: SourcePath,
        /// Its type.
        ty: FieldType,
        /// The literal.
        literal: Literal,
    },
}

/// Findings about policy blocks and their situations.
#[derive(Debug, Clone)]
pub(crate) enum PolicyError {
    /// A second policy for one resource type.
    SecondPolicy {
        /// The resource type.
        kind: ResourceKind,
        /// The first policy's resource type name.
        first: Span,
    },
    /// A second `invite` or `match existing by` in one policy.
    SecondStatement {
        /// The statement (`invite`, `match existing by`).
        statement: &'static str,
        /// The first one.
        first: Span,
    },
    /// `match existing by` a field that is not a unique String.
    MatchFieldNotUnique {
        /// The field.
        field: DeclaredField,
        /// The entity.
        entity: String,
        /// The entity's unique String fields.
        candidates: Vec<String>,
    },
    /// A reaction after an unguarded one for its situation (a warning).
    UnreachableReaction {
        /// The situation.
        situation: Situation,
        /// The unguarded reaction.
        always: Span,
    },
    /// A situation whose reactions are all guarded.
    NotExhaustive {
        /// The situation.
        situation: Situation,
    },
    /// A situation outside [`Situation`].
    UnknownSituation {
        /// The name written.
        name: String,
    },
}

/// Findings about the action of a reaction.
#[derive(Debug, Clone)]
pub(crate) enum ActionError {
    /// An action outside [`ActionKind`].
    Unknown {
        /// The name written.
        name: String,
    },
    /// An argument on an action that takes none.
    TakesNoArgument {
        /// The action.
        action: ActionKind,
    },
    /// `skip` or `reject` without its argument.
    NeedsArgument {
        /// The action.
        action: ActionKind,
    },
    /// `reject X` where X is not a SCIM error type.
    UnknownScimType {
        /// The name written.
        name: String,
    },
    /// `skip F` where F is not a mapped Ref field.
    SkipNotRef {
        /// The name written.
        written: String,
        /// The field.
        field: String,
        /// Its type.
        ty: FieldType,
        /// Whether a mapping writes it.
        mapped: bool,
        /// The mapped Ref fields.
        refs: Vec<String>,
    },
}

/// Findings about hooks and their scripts.
#[derive(Debug, Clone)]
pub(crate) enum HookError {
    /// A hook on a field no mapping writes.
    UnmappedField {
        /// The field.
        field: String,
        /// The resource type.
        kind: ResourceKind,
        /// The overlay's `remove` of its mapping, when that is why.
        removed_at: Option<Span>,
    },
    /// A script that is not in the profile.
    ScriptMissing {
        /// The path as written.
        written: String,
        /// The path looked up.
        key: String,
        /// The profile's scripts.
        scripts: Vec<String>,
    },
    /// A script that does not compile (the finding points into the script).
    Compile {
        /// The script's path.
        key: String,
        /// rhai's message.
        message: String,
        /// The hook using it.
        used_at: (FileId, Span),
    },
    /// A hook function with another arity than three.
    Arity {
        /// The function.
        function: String,
        /// The script.
        key: String,
        /// Its number of parameters.
        arity: usize,
    },
    /// A function the script does not define.
    MissingFn {
        /// The function.
        function: String,
        /// The script.
        key: String,
        /// The script's functions.
        functions: Vec<String>,
    },
}

/// Which block of access rules a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LevelBlock {
    /// `editions { ... }`.
    Editions,
    /// `roles { ... }`.
    Roles,
}

/// Findings about editions, roles and the password policy.
#[derive(Debug, Clone)]
pub(crate) enum AccessError {
    /// A block that declares nothing.
    Empty {
        /// The block.
        block: LevelBlock,
    },
    /// An edition or role declared twice (names compare case-insensitively).
    Duplicate {
        /// The block.
        block: LevelBlock,
        /// The name written the second time.
        name: String,
        /// The first declaration's name.
        first: Span,
    },
    /// A flag written twice on one edition or role.
    RepeatedFlag {
        /// The flag.
        flag: &'static str,
        /// The first one.
        first: Span,
    },
    /// A second `default` in one block.
    SecondDefault {
        /// The block.
        block: LevelBlock,
        /// The first one.
        first: Span,
    },
    /// A block without a `default`.
    NoDefault {
        /// The block.
        block: LevelBlock,
        /// Its first name, for the help.
        first_name: String,
    },
    /// `roles` without `provisioning needs`.
    NoNeeds {
        /// The weakest role, for the help.
        example: String,
    },
    /// A second `provisioning needs`.
    SecondNeeds {
        /// The first one.
        first: Span,
    },
    /// `provisioning needs X` where X is not a declared role.
    UnknownRole {
        /// The name written.
        name: String,
        /// The declared roles.
        roles: Vec<String>,
    },
    /// `password` in the policy of a resource type without passwords.
    PasswordWithoutPasswords {
        /// The resource type.
        kind: ResourceKind,
    },
}
