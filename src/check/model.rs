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
use crate::scim::schema::ResourceKind;

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
    pub fn mappings(&self, kind: ResourceKind) -> &[Mapping] {
        self.mappings
            .get(&kind)
            .map(|set| set.mappings.as_slice())
            .unwrap_or(&[])
    }

    /// The entity a resource kind maps to (`User` for User, `Group` for Group), if mapped.
    pub fn entity_of(&self, kind: ResourceKind) -> Option<&EntityDef> {
        let set = self.mappings.get(&kind)?;
        self.target.entities.get(&set.entity)
    }

    /// The policy of one resource kind.
    pub fn policy(&self, kind: ResourceKind) -> Option<&Policy> {
        self.policies.get(&kind)
    }

    /// The hooks of one resource kind.
    pub fn hooks(&self, kind: ResourceKind) -> &[Hook] {
        self.hooks.get(&kind).map(Vec::as_slice).unwrap_or(&[])
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
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The first `unique` String field: the natural key used to find entities by name
    /// (`UserName` for User, `Name` for JobTitle).
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

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldType::String => f.write_str("String"),
            FieldType::Bool => f.write_str("Bool"),
            FieldType::Int => f.write_str("Int"),
            FieldType::DateTime => f.write_str("DateTime"),
            FieldType::Ref(entity) => write!(f, "Ref<{entity}>"),
        }
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
    /// Operator.
    pub op: CompareOp,
    /// Literal compared against. Strings compare case-insensitively; the strings
    /// `"True"`/`"False"` equal the booleans (Entra sends them).
    pub value: Literal,
}

/// Comparison operators of value filters and guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CompareOp {
    /// `eq` / `==`
    Eq,
    /// `ne` / `!=`
    Ne,
    /// `co`
    Co,
    /// `sw`
    Sw,
    /// `ew`
    Ew,
}

impl CompareOp {
    /// The filter spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
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
    /// Resolve a SCIM id or natural key (UserName) to an entity of this type.
    Ref(String),
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transform::Trim => f.write_str("trim"),
            Transform::Lower => f.write_str("lower"),
            Transform::Upper => f.write_str("upper"),
            Transform::Truncate(n) => write!(f, "truncate({n})"),
            Transform::Default(s) => write!(f, "default({s:?})"),
            Transform::Ref(e) => write!(f, "ref({e})"),
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
    /// `==`/`!=` (Eq/Ne) and the string operators.
    pub op: CompareOp,
    /// Literal.
    pub value: Literal,
}

/// Situations, classified in Rust by the evaluator, never in rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Situation {
    /// A new resource (POST), including a picked-up unmanaged entity.
    Created,
    /// A change that is not a lifecycle change.
    Updated,
    /// `active` went from true to false.
    Deactivated,
    /// `active` went from false to true.
    Reactivated,
    /// The user left the sync group.
    LeftScope,
    /// DELETE.
    Deleted,
    /// The user's manager is not provisioned (or out of scope).
    ManagerOutOfScope,
    /// The userName is taken in another tenant.
    UsernameTaken,
}

impl Situation {
    /// Every situation, in declaration order.
    pub const ALL: [Situation; 8] = [
        Situation::Created,
        Situation::Updated,
        Situation::Deactivated,
        Situation::Reactivated,
        Situation::LeftScope,
        Situation::Deleted,
        Situation::ManagerOutOfScope,
        Situation::UsernameTaken,
    ];

    /// The rules spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Situation::Created => "created",
            Situation::Updated => "updated",
            Situation::Deactivated => "deactivated",
            Situation::Reactivated => "reactivated",
            Situation::LeftScope => "left_scope",
            Situation::Deleted => "deleted",
            Situation::ManagerOutOfScope => "manager_out_of_scope",
            Situation::UsernameTaken => "username_taken",
        }
    }

    /// Parses the rules spelling.
    pub fn parse(name: &str) -> Option<Situation> {
        Situation::ALL.into_iter().find(|s| s.as_str() == name)
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
    /// The rules keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Suspend => "suspend",
            Action::Activate => "activate",
            Action::Delete => "delete",
            Action::Ignore => "ignore",
            Action::Skip(_) => "skip",
            Action::Reject(_) => "reject",
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
