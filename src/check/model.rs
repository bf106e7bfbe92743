//! `CheckedRules`: the only form of rules that can be evaluated.
//!
//! Every type here is produced by the checker (`crate::check`) from a syntax tree that
//! passed every check. Fields are public for reading; `CheckedRules` itself has a private
//! field, so no code outside `check` can build one by hand.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::hooks::CompiledScript;
use crate::scim::error::ScimType;
use crate::scim::filter::CompareOp;
use crate::scim::schema::ResourceKind;

/// Declares a closed set of names: a fieldless enum whose variants are each written
/// `Variant = "spelling"`, with `ALL` (declaration order), `as_str` and `parse` (exact
/// spelling).
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $spelling:literal,)*
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[$variant_meta])* $variant,)*
        }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: [$name; [$($spelling),*].len()] = [$($name::$variant),*];

            /// The rules spelling.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $spelling,)*
                }
            }

            /// Parses the rules spelling (exactly as written).
            #[must_use]
            pub fn parse(name: &str) -> Option<$name> {
                $name::ALL.into_iter().find(|member| member.as_str() == name)
            }
        }
    };
}

pub use crate::domain::RuleOrigin;

/// Checked rules: target schema, mappings, policies, hooks and scope, all cross-checked.
///
/// Invariants (guaranteed by the checker):
/// - every mapping target is a field of the mapped entity, not `readonly`, mapped once;
/// - every `custom` mapping targets a `String` field;
/// - every source path names attributes of the built-in SCIM schema;
/// - transforms are applied to values of the type they accept, and the last transform's
///   output type equals the target field type;
/// - every situation of a policy that has reactions has an unguarded reaction last;
/// - every `skip F` names a mapped `Ref` field;
/// - every hook script compiled, has the named function with arity 3, and watches a mapped
///   field.
#[derive(Debug, Clone)]
pub struct CheckedRules {
    /// The `rules "NAME"` header.
    pub name: String,
    /// The `version N` of the header.
    pub version: u32,
    /// The target schema (`target.rules`).
    pub target: TargetSchema,
    /// Sync scope; `None` means every provisioned user is in scope.
    pub scope: Option<Scope>,
    /// The application's editions and which may provision; `None`: every tenant may.
    pub editions: Option<super::Editions>,
    /// The integration user's roles and the one provisioning needs; `None`: any user may.
    pub roles: Option<super::Roles>,
    /// Mappings per SCIM resource kind, in file order (overlay changes applied).
    pub mappings: BTreeMap<ResourceKind, MappingSet>,
    /// Policies per SCIM resource kind.
    pub policies: BTreeMap<ResourceKind, Policy>,
    /// Hooks per SCIM resource kind, in file order.
    pub hooks: BTreeMap<ResourceKind, Vec<Hook>>,
    pub(crate) _sealed: Sealed,
}

/// Marker that keeps `CheckedRules` constructible only inside the crate (by the checker).
#[derive(Debug, Clone, Default)]
pub struct Sealed(pub(crate) ());

impl CheckedRules {
    /// The mappings of one resource kind; empty when the rules map nothing for it.
    #[must_use]
    pub fn mappings(&self, kind: ResourceKind) -> &[Mapping] {
        self.mappings
            .get(&kind)
            .map_or(&[], |set| set.mappings.as_slice())
    }

    /// The entity a resource kind maps to (`User` for User, `Group` for Group), if mapped.
    #[must_use]
    pub fn entity_of(&self, kind: ResourceKind) -> Option<&EntityDef> {
        let set = self.mappings.get(&kind)?;
        self.target.entities.get(&set.entity)
    }

    /// The policy of one resource kind.
    #[must_use]
    pub fn policy(&self, kind: ResourceKind) -> Option<&Policy> {
        self.policies.get(&kind)
    }

    /// The hooks of one resource kind.
    #[must_use]
    pub fn hooks(&self, kind: ResourceKind) -> &[Hook] {
        self.hooks.get(&kind).map_or(&[], Vec::as_slice)
    }
}

/// The application's schema: `target NAME { entity ... }`.
#[derive(Debug, Clone, Serialize)]
pub struct TargetSchema {
    /// Target name (`clarizen`).
    pub name: String,
    /// Entities by name.
    pub entities: BTreeMap<String, EntityDef>,
}

impl TargetSchema {
    /// Finds a field of an entity.
    #[must_use]
    pub fn field(&self, entity: &str, field: &str) -> Option<&FieldDef> {
        self.entities.get(entity)?.field(field)
    }
}

/// One entity of the target schema.
#[derive(Debug, Clone, Serialize)]
pub struct EntityDef {
    /// Entity name (`User`, `JobTitle`).
    pub name: String,
    /// Fields in declaration order.
    pub fields: Vec<FieldDef>,
    /// Where the entity was declared.
    pub origin: RuleOrigin,
}

impl EntityDef {
    /// Finds a field by exact name (field names are case-sensitive identifiers).
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The first `unique` String field: the natural key used to find entities by name
    /// (`UserName` for User, `Name` for `JobTitle`).
    #[must_use]
    pub fn natural_key(&self) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.unique && f.ty == FieldType::String)
    }
}

/// A field of a target entity.
#[derive(Debug, Clone, Serialize)]
pub struct FieldDef {
    /// Field name.
    pub name: String,
    /// Field type.
    pub ty: FieldType,
    /// Values are unique per tenant (case-insensitive for strings).
    pub unique: bool,
    /// Set only by workflows (hooks), never by a mapping.
    pub readonly: bool,
    /// Where it was declared.
    pub origin: RuleOrigin,
}

/// Target field types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FieldType {
    /// Text.
    String,
    /// true / false.
    Bool,
    /// 64-bit integer.
    Int,
    /// RFC 3339 timestamp.
    DateTime,
    /// Reference to an entity of the named type.
    Ref(String),
}

impl FieldType {
    /// The type's name without its argument.
    #[must_use]
    pub fn kind(&self) -> FieldTypeKind {
        match self {
            FieldType::String => FieldTypeKind::String,
            FieldType::Bool => FieldTypeKind::Bool,
            FieldType::Int => FieldTypeKind::Int,
            FieldType::DateTime => FieldTypeKind::DateTime,
            FieldType::Ref(_) => FieldTypeKind::Ref,
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind().as_str())?;
        match self {
            FieldType::Ref(entity) => write!(f, "<{entity}>"),
            _ => Ok(()),
        }
    }
}

closed_set! {
    /// The names of the field types: a [`FieldType`] without its argument.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
    pub enum FieldTypeKind {
        /// Text.
        String = "String",
        /// true / false.
        Bool = "Bool",
        /// 64-bit integer.
        Int = "Int",
        /// RFC 3339 timestamp.
        DateTime = "DateTime",
        /// `Ref<Entity>`, the one type that takes an argument.
        Ref = "Ref",
    }
}

/// `scope { sync_group "NAME"; }`: users are in scope while they are members of the
/// group with this displayName (case-insensitive).
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    /// The sync group's displayName.
    pub sync_group: String,
    /// Where it was declared.
    pub origin: RuleOrigin,
}

/// `mapping ENTITY { ... }` after overlays: which entity a resource kind feeds, and how.
#[derive(Debug, Clone, Serialize)]
pub struct MappingSet {
    /// Target entity name.
    pub entity: String,
    /// Mappings in evaluation order.
    pub mappings: Vec<Mapping>,
}

/// One mapping `TARGET <- SOURCE | transform | ...;`.
#[derive(Debug, Clone, Serialize)]
pub struct Mapping {
    /// Target field name.
    pub target: String,
    /// Target field type (copied from the schema for convenience).
    pub target_type: FieldType,
    /// SCIM source path.
    pub source: SourcePath,
    /// Transforms, applied left to right.
    pub transforms: Vec<Transform>,
    /// `locked`: no overlay may change or remove it.
    pub locked: bool,
    /// `custom`: an administrator-added String mapping.
    pub custom: bool,
    /// Where the (winning) mapping was written.
    pub origin: RuleOrigin,
}

/// A SCIM attribute path in a mapping or guard, resolved against the built-in schema.
///
/// `enterprise.manager.value` and the full URN form both resolve to
/// `schema = ENTERPRISE_USER_SCHEMA`, segments `manager`, `value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourcePath {
    /// The schema URN the first segment belongs to (core or extension).
    pub schema: String,
    /// Path segments, names spelt as in the RFC (canonical case).
    pub segments: Vec<PathSegment>,
    /// The same path resolved by the SCIM layer: what evaluation selects and compares
    /// with (the one path resolver and the one comparison).
    #[serde(skip)]
    pub value: Box<crate::scim::path::ValuePath>,
}

impl fmt::Display for SourcePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.schema == crate::scim::schema::ENTERPRISE_USER_SCHEMA {
            f.write_str("enterprise.")?;
        }
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(&seg.name)?;
            if let Some(filter) = &seg.filter {
                write!(f, "[{filter}]")?;
            }
        }
        Ok(())
    }
}

/// One segment of a source path, with an optional value filter on a multi-valued
/// attribute: `phoneNumbers[type eq "work"]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathSegment {
    /// Attribute name, canonical case.
    pub name: String,
    /// Value filter; only on multi-valued attributes.
    pub filter: Option<ValueFilter>,
}

/// A value filter: comparisons joined by `and`; an element matches when all hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueFilter {
    /// The comparisons.
    pub all: Vec<Comparison>,
}

impl fmt::Display for ValueFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.all.iter().enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            write!(f, "{} {} {}", c.attribute, c.op.as_str(), c.value)?;
        }
        Ok(())
    }
}

/// `ATTR OP LITERAL` inside a value filter, with the sub-attribute name canonical.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Sub-attribute name (`type`, `primary`).
    pub attribute: String,
    /// Operator: `eq`, `ne`, `co`, `sw` or `ew`, never an ordering operator.
    pub op: CompareOp,
    /// Literal compared against. Strings compare case-insensitively; the strings
    /// `"True"`/`"False"` equal the booleans (Entra sends them).
    pub value: Literal,
}

impl Literal {
    /// The literal as the JSON value the SCIM comparison takes.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Literal::String(s) => serde_json::Value::String(s.clone()),
            Literal::Bool(b) => serde_json::Value::Bool(*b),
            Literal::Int(i) => serde_json::Value::from(*i),
            Literal::Null => serde_json::Value::Null,
        }
    }
}

/// A literal in a filter or guard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Literal {
    /// `"text"`
    String(String),
    /// `true` / `false`
    Bool(bool),
    /// An integer.
    Int(i64),
    /// `null`
    Null,
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(s) => write!(f, "{s:?}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

/// The closed set of transforms. Signatures (input -> output):
/// `trim`, `lower`, `upper`: String -> String; `truncate(N)`: String -> String;
/// `default("x")`: String (possibly absent) -> String; `ref(Entity)`: String -> Ref<Entity>.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Strip leading and trailing whitespace; an empty result counts as absent.
    Trim,
    /// Lower-case.
    Lower,
    /// Upper-case.
    Upper,
    /// Keep at most N characters.
    Truncate(usize),
    /// Use this value when the source is absent or empty.
    Default(String),
    /// Resolve a SCIM id or natural key (`UserName`) to an entity of this type.
    Ref(String),
}

impl Transform {
    /// The transform's name without its argument.
    #[must_use]
    pub fn kind(&self) -> TransformKind {
        match self {
            Transform::Trim => TransformKind::Trim,
            Transform::Lower => TransformKind::Lower,
            Transform::Upper => TransformKind::Upper,
            Transform::Truncate(_) => TransformKind::Truncate,
            Transform::Default(_) => TransformKind::Default,
            Transform::Ref(_) => TransformKind::Ref,
        }
    }

    /// The type of the value the transform produces (every transform takes a String).
    #[must_use]
    pub fn output(&self) -> FieldType {
        match self {
            Transform::Ref(entity) => FieldType::Ref(entity.clone()),
            _ => FieldType::String,
        }
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind().as_str())?;
        match self {
            Transform::Trim | Transform::Lower | Transform::Upper => Ok(()),
            Transform::Truncate(n) => write!(f, "({n})"),
            Transform::Default(s) => write!(f, "({s:?})"),
            Transform::Ref(e) => write!(f, "({e})"),
        }
    }
}

closed_set! {
    /// The names of the transforms: a [`Transform`] without its argument.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
    #[serde(rename_all = "snake_case")]
    pub enum TransformKind {
        /// Strip whitespace.
        Trim = "trim",
        /// Lower-case.
        Lower = "lower",
        /// Upper-case.
        Upper = "upper",
        /// Keep at most N characters.
        Truncate = "truncate",
        /// A value for an absent source.
        Default = "default",
        /// Resolve to an entity.
        Ref = "ref",
    }
}

/// What a transform takes between its parentheses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransformParameter {
    /// Nothing: written bare (`trim`) or with empty parentheses.
    None,
    /// A whole number above zero: `truncate(64)`.
    PositiveInt,
    /// A string: `default("n/a")`.
    Text,
    /// An entity of the target: `ref(User)`.
    Entity,
}

impl TransformKind {
    /// The transform's parameter.
    #[must_use]
    pub fn parameter(self) -> TransformParameter {
        match self {
            TransformKind::Trim | TransformKind::Lower | TransformKind::Upper => {
                TransformParameter::None
            }
            TransformKind::Truncate => TransformParameter::PositiveInt,
            TransformKind::Default => TransformParameter::Text,
            TransformKind::Ref => TransformParameter::Entity,
        }
    }
}

/// `policy KIND { ... }`.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    /// `invite never|always`.
    pub invite: Option<Invite>,
    /// `match existing by FIELD`.
    pub match_existing: Option<MatchExisting>,
    /// `password discard|hash` (Users only); `None`: a received password is discarded.
    pub password: Option<super::PasswordRule>,
    /// Reactions in file order; for each situation the first true guard wins.
    pub reactions: Vec<Reaction>,
}

impl Policy {
    /// The reactions for one situation, in order.
    pub fn reactions_for(&self, situation: Situation) -> impl Iterator<Item = &Reaction> {
        self.reactions
            .iter()
            .filter(move |r| r.situation == situation)
    }
}

/// `invite never;` / `invite always;`.
#[derive(Debug, Clone, Serialize)]
pub struct Invite {
    /// Whether invitation emails are sent on create.
    pub send: bool,
    /// Where it was declared.
    pub origin: RuleOrigin,
}

/// `match existing by FIELD;`: pick up an unmanaged entity whose FIELD equals the incoming
/// value (case-insensitive).
#[derive(Debug, Clone, Serialize)]
pub struct MatchExisting {
    /// Target field (a `unique` String field).
    pub field: String,
    /// Where it was declared.
    pub origin: RuleOrigin,
}

/// `on SITUATION [when GUARD] => ACTION;`
#[derive(Debug, Clone, Serialize)]
pub struct Reaction {
    /// Situation.
    pub situation: Situation,
    /// Optional guard.
    pub guard: Option<Guard>,
    /// Action.
    pub action: Action,
    /// Where it was written.
    pub origin: RuleOrigin,
}

/// A guard: comparisons on the SCIM resource after the operation, joined by `and`.
/// `when active == false`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Guard {
    /// All must hold.
    pub all: Vec<GuardTerm>,
}

/// `PATH OP LITERAL` in a guard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardTerm {
    /// SCIM path of the value compared.
    pub path: SourcePath,
    /// `==`/`!=` (Eq/Ne) and the string operators; never an ordering operator.
    pub op: CompareOp,
    /// Literal.
    pub value: Literal,
}

closed_set! {
    /// Situations, classified in Rust by the evaluator, never in rules.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Situation {
        /// A new resource (POST), including a picked-up unmanaged entity.
        Created = "created",
        /// A change that is not a lifecycle change.
        Updated = "updated",
        /// `active` went from true to false.
        Deactivated = "deactivated",
        /// `active` went from false to true.
        Reactivated = "reactivated",
        /// The user left the sync group.
        LeftScope = "left_scope",
        /// DELETE.
        Deleted = "deleted",
        /// The user's manager is not provisioned (or out of scope).
        ManagerOutOfScope = "manager_out_of_scope",
        /// The userName is taken in another tenant.
        UsernameTaken = "username_taken",
    }
}

/// Actions a reaction may choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create the entity (or take over the matched unmanaged one).
    Create,
    /// Write mapped fields.
    Update,
    /// Lifecycle -> Suspended (fields still written).
    Suspend,
    /// Lifecycle -> Active.
    Activate,
    /// Lifecycle -> Deleted; the SCIM resource is removed.
    Delete,
    /// Store the SCIM resource, change nothing in the application.
    Ignore,
    /// Do not write this (Ref) field; used with `manager_out_of_scope`.
    Skip(String),
    /// Refuse the operation with this SCIM error type.
    Reject(ScimType),
}

impl Action {
    /// The action's keyword without its argument.
    #[must_use]
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Create => ActionKind::Create,
            Action::Update => ActionKind::Update,
            Action::Suspend => ActionKind::Suspend,
            Action::Activate => ActionKind::Activate,
            Action::Delete => ActionKind::Delete,
            Action::Ignore => ActionKind::Ignore,
            Action::Skip(_) => ActionKind::Skip,
            Action::Reject(_) => ActionKind::Reject,
        }
    }

    /// The rules keyword (`self.kind().as_str()`).
    #[must_use]
    pub fn keyword(&self) -> &'static str {
        self.kind().as_str()
    }
}

closed_set! {
    /// The action keywords: an [`Action`] without its argument.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
    #[serde(rename_all = "snake_case")]
    pub enum ActionKind {
        /// Create the entity.
        Create = "create",
        /// Write mapped fields.
        Update = "update",
        /// Lifecycle -> Suspended.
        Suspend = "suspend",
        /// Lifecycle -> Active.
        Activate = "activate",
        /// Lifecycle -> Deleted.
        Delete = "delete",
        /// Change nothing in the application.
        Ignore = "ignore",
        /// `skip FIELD`: do not write a Ref field.
        Skip = "skip",
        /// `reject SCIMTYPE`: refuse the operation.
        Reject = "reject",
    }
}

impl ActionKind {
    /// The action without an argument, for the actions that take none.
    #[must_use]
    pub fn without_argument(self) -> Option<Action> {
        match self {
            ActionKind::Create => Some(Action::Create),
            ActionKind::Update => Some(Action::Update),
            ActionKind::Suspend => Some(Action::Suspend),
            ActionKind::Activate => Some(Action::Activate),
            ActionKind::Delete => Some(Action::Delete),
            ActionKind::Ignore => Some(Action::Ignore),
            ActionKind::Skip | ActionKind::Reject => None,
        }
    }
}

/// `hooks KIND { on change FIELD => run "SCRIPT" fn NAME; }`
#[derive(Debug, Clone, Serialize)]
pub struct Hook {
    /// The watched target field.
    pub field: String,
    /// Script path relative to the profile folder (`workflows/job_title.rhai`).
    pub script_path: String,
    /// Function called with `(user, before, after)`.
    pub function: String,
    /// The compiled script.
    #[serde(skip)]
    pub script: Arc<CompiledScript>,
    /// Where the hook was declared.
    pub origin: RuleOrigin,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every member of a closed set parses back from its spelling, and nothing else does.
    fn round_trips<T: Copy + PartialEq + fmt::Debug>(
        all: &[T],
        as_str: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
    ) {
        for member in all {
            assert_eq!(parse(as_str(*member)), Some(*member));
            assert_eq!(parse(&as_str(*member).to_uppercase()), None, "{member:?}");
        }
        assert_eq!(parse(""), None);
    }

    #[test]
    fn closed_sets_parse_their_own_spelling_exactly() {
        round_trips(&Situation::ALL, Situation::as_str, Situation::parse);
        round_trips(&ActionKind::ALL, ActionKind::as_str, ActionKind::parse);
        round_trips(
            &TransformKind::ALL,
            TransformKind::as_str,
            TransformKind::parse,
        );
        round_trips(
            &FieldTypeKind::ALL,
            FieldTypeKind::as_str,
            FieldTypeKind::parse,
        );
        assert_eq!(Situation::ALL.len(), 8);
        assert_eq!(Situation::LeftScope.as_str(), "left_scope");
    }

    #[test]
    fn values_name_their_kind() {
        let skip = Action::Skip("DirectManager".into());
        assert_eq!((skip.kind(), skip.keyword()), (ActionKind::Skip, "skip"));
        assert_eq!(ActionKind::Skip.without_argument(), None);
        assert_eq!(ActionKind::Ignore.without_argument(), Some(Action::Ignore));
        assert_eq!(Transform::Truncate(3).to_string(), "truncate(3)");
        assert_eq!(
            Transform::Ref("User".into()).output(),
            FieldType::Ref("User".into())
        );
        assert_eq!(Transform::Trim.output(), FieldType::String);
        assert_eq!(FieldType::Ref("User".into()).to_string(), "Ref<User>");
        assert_eq!(FieldType::DateTime.kind(), FieldTypeKind::DateTime);
    }
}
