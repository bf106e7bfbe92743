//! The typed syntax tree of a rules file. Every node carries the byte [`Span`] it was
//! parsed from; names are kept as written (the checker resolves and canonicalises them).

use std::fmt;

/// A byte range `start..end` in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (`end` is clamped to be at least `start`).
    #[must_use]
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start,
            end: end.max(start),
        }
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(self) -> usize {
        self.end - self.start
    }

    /// Whether the span covers no byte.
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// A value with the span it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub node: T,
    /// Where it was written.
    pub span: Span,
}

/// An identifier as written.
pub type Ident = Spanned<String>;

impl fmt::Display for Spanned<String> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.node)
    }
}

/// One parsed rules file: its top-level items in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// Items in file order.
    pub items: Vec<Item>,
    /// The whole file.
    pub span: Span,
}

/// A top-level item. Which items a file may hold depends on its role (target, rules,
/// overlay); the checker enforces that.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `target NAME { entity ... }`
    Target(TargetDecl),
    /// `rules "NAME" target NAME version N;`
    Header(Header),
    /// `scope { sync_group "NAME"; }`
    Scope(ScopeBlock),
    /// `editions { NAME [provisioning] [default]; ... }`
    Editions(EditionsBlock),
    /// `roles { NAME [default]; ... provisioning needs NAME; }`
    Roles(RolesBlock),
    /// `mapping KIND { ... }`
    Mapping(MappingBlock),
    /// `policy KIND { ... }`
    Policy(PolicyBlock),
    /// `hooks KIND { ... }`
    Hooks(HooksBlock),
}

impl Item {
    /// The span of the whole item.
    #[must_use]
    pub fn span(&self) -> Span {
        match self {
            Item::Target(t) => t.span,
            Item::Header(h) => h.span,
            Item::Scope(s) => s.span,
            Item::Editions(e) => e.span,
            Item::Roles(r) => r.span,
            Item::Mapping(m) => m.span,
            Item::Policy(p) => p.span,
            Item::Hooks(h) => h.span,
        }
    }

    /// The span of the item's leading keyword.
    #[must_use]
    pub fn keyword_span(&self) -> Span {
        match self {
            Item::Target(t) => t.keyword,
            Item::Header(h) => h.keyword,
            Item::Scope(s) => s.keyword,
            Item::Editions(e) => e.keyword,
            Item::Roles(r) => r.keyword,
            Item::Mapping(m) => m.keyword,
            Item::Policy(p) => p.keyword,
            Item::Hooks(h) => h.keyword,
        }
    }

    /// The item's leading keyword.
    #[must_use]
    pub fn keyword(&self) -> &'static str {
        match self {
            Item::Target(_) => "target",
            Item::Header(_) => "rules",
            Item::Scope(_) => "scope",
            Item::Editions(_) => "editions",
            Item::Roles(_) => "roles",
            Item::Mapping(_) => "mapping",
            Item::Policy(_) => "policy",
            Item::Hooks(_) => "hooks",
        }
    }
}

/// `target NAME { entity ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct TargetDecl {
    /// The `target` keyword.
    pub keyword: Span,
    /// Target name.
    pub name: Ident,
    /// Entities in file order.
    pub entities: Vec<EntityDecl>,
    /// The whole declaration.
    pub span: Span,
}

/// `entity NAME { FIELD: TYPE [unique] [readonly]; ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct EntityDecl {
    /// Entity name.
    pub name: Ident,
    /// Fields in file order.
    pub fields: Vec<FieldDecl>,
    /// The whole declaration.
    pub span: Span,
}

/// `NAME: TYPE [unique] [readonly];`
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    /// Field name.
    pub name: Ident,
    /// Field type.
    pub ty: TypeExpr,
    /// Flags in file order.
    pub flags: Vec<Spanned<FieldFlag>>,
    /// The whole declaration.
    pub span: Span,
}

/// A type as written: `String`, `Ref<User>`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    /// Type name.
    pub name: Ident,
    /// Type argument (`User` in `Ref<User>`).
    pub argument: Option<Ident>,
    /// The whole type.
    pub span: Span,
}

/// Field flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldFlag {
    /// `unique`
    Unique,
    /// `readonly`
    Readonly,
}

/// `rules "NAME" target TARGET version N;`
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The `rules` keyword.
    pub keyword: Span,
    /// Rules name.
    pub name: Spanned<String>,
    /// Target name.
    pub target: Ident,
    /// Version as written (the checker checks its range).
    pub version: Spanned<String>,
    /// The whole statement.
    pub span: Span,
}

/// `scope { sync_group "NAME"; }`
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeBlock {
    /// The `scope` keyword.
    pub keyword: Span,
    /// `sync_group` statements in file order.
    pub sync_groups: Vec<SyncGroup>,
    /// The whole block.
    pub span: Span,
}

/// `sync_group "NAME";`
#[derive(Debug, Clone, PartialEq)]
pub struct SyncGroup {
    /// Group display name.
    pub group: Spanned<String>,
    /// The whole statement.
    pub span: Span,
}

/// `editions { NAME [provisioning] [default]; ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct EditionsBlock {
    /// The `editions` keyword.
    pub keyword: Span,
    /// Editions in file order.
    pub editions: Vec<LevelDecl>,
    /// The whole block.
    pub span: Span,
}

/// `roles { NAME [default]; ... provisioning needs NAME; }`
#[derive(Debug, Clone, PartialEq)]
pub struct RolesBlock {
    /// The `roles` keyword.
    pub keyword: Span,
    /// Roles in file order (strongest first).
    pub roles: Vec<LevelDecl>,
    /// `provisioning needs NAME;` statements in file order.
    pub needs: Vec<NeedsStmt>,
    /// The whole block.
    pub span: Span,
}

/// One edition or role: `"Lite Admin" default;`.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelDecl {
    /// The name, as written (quotes and escapes removed).
    pub name: Spanned<String>,
    /// Flags in file order.
    pub flags: Vec<Spanned<LevelFlag>>,
    /// The whole statement.
    pub span: Span,
}

/// Flags of an edition or role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelFlag {
    /// `provisioning` (editions): this edition may use SCIM provisioning.
    Provisioning,
    /// `default`: new tenants (editions) or integration users (roles) get this one.
    Default,
}

/// `provisioning needs NAME;`
#[derive(Debug, Clone, PartialEq)]
pub struct NeedsStmt {
    /// The role named.
    pub role: Spanned<String>,
    /// The whole statement.
    pub span: Span,
}

/// `KEYWORD KIND { statements }`: a mapping, policy or hooks block for one SCIM resource
/// kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Block<S> {
    /// The leading keyword (`mapping`, `policy`, `hooks`).
    pub keyword: Span,
    /// SCIM resource kind (`User`, `Group`), also the target entity's name.
    pub kind: Ident,
    /// Statements in file order.
    pub statements: Vec<S>,
    /// The whole block.
    pub span: Span,
}

/// `mapping KIND { ... }`
pub type MappingBlock = Block<MappingStmt>;

/// A statement of a mapping block.
#[derive(Debug, Clone, PartialEq)]
pub enum MappingStmt {
    /// `[locked|custom] FIELD <- PATH | transform ...;`
    Map(MappingRule),
    /// `remove FIELD;` (overlays only)
    Remove(RemoveStmt),
}

/// `[locked|custom] FIELD <- PATH | transform ...;`
#[derive(Debug, Clone, PartialEq)]
pub struct MappingRule {
    /// `locked` or `custom`.
    pub modifier: Option<Spanned<Modifier>>,
    /// Target field.
    pub target: Ident,
    /// SCIM source path.
    pub source: PathExpr,
    /// Transforms, left to right.
    pub transforms: Vec<TransformCall>,
    /// The whole statement.
    pub span: Span,
}

/// Mapping modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// `locked`: no overlay may change it.
    Locked,
    /// `custom`: an administrator-added String mapping.
    Custom,
}

/// `remove FIELD;`
#[derive(Debug, Clone, PartialEq)]
pub struct RemoveStmt {
    /// The field whose mapping is removed.
    pub target: Ident,
    /// The whole statement.
    pub span: Span,
}

/// A SCIM attribute path as written.
#[derive(Debug, Clone, PartialEq)]
pub struct PathExpr {
    /// A leading schema URN (`urn:...:User`), when the path is URN-qualified.
    pub urn: Option<Spanned<String>>,
    /// Segments in order; the first may be the alias `enterprise`.
    pub segments: Vec<PathSegmentExpr>,
    /// The whole path.
    pub span: Span,
}

/// One segment: `emails[primary eq true]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PathSegmentExpr {
    /// Attribute name as written.
    pub name: Ident,
    /// Value filter.
    pub filter: Option<FilterExpr>,
    /// Name and filter.
    pub span: Span,
}

/// Comparisons joined by `and`, all of which must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct AllOf<S> {
    /// The comparisons.
    pub terms: Vec<CompareExpr<S>>,
    /// A value filter's brackets included; a guard's from `when`.
    pub span: Span,
}

/// `SUBJECT OP LITERAL`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareExpr<S> {
    /// What is compared: a sub-attribute name in a value filter, a SCIM path in a guard.
    pub subject: S,
    /// Operator as written (`eq`, `==`, ...).
    pub op: Spanned<String>,
    /// Literal.
    pub value: Spanned<LiteralExpr>,
    /// The whole comparison.
    pub span: Span,
}

/// `[ATTR OP LITERAL and ...]`
pub type FilterExpr = AllOf<Ident>;

/// `ATTR OP LITERAL` in a value filter.
pub type FilterTerm = CompareExpr<Ident>;

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub enum LiteralExpr {
    /// `"text"` (escapes resolved).
    String(String),
    /// An integer as written (the checker checks its range).
    Int(String),
    /// `true` / `false`
    Bool(bool),
    /// `null`
    Null,
}

/// `name` or `name(arg, ...)` after a `|`.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformCall {
    /// Transform name.
    pub name: Ident,
    /// Arguments; `None` when written without parentheses.
    pub arguments: Option<Vec<Spanned<ArgumentExpr>>>,
    /// The whole call.
    pub span: Span,
}

/// A transform argument.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgumentExpr {
    /// A literal.
    Literal(LiteralExpr),
    /// A bare name (`User` in `ref(User)`).
    Name(String),
}

/// `policy KIND { ... }`
pub type PolicyBlock = Block<PolicyStmt>;

/// A statement of a policy block.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyStmt {
    /// `invite never;` / `invite always;`
    Invite(InviteStmt),
    /// `match existing by FIELD;`
    Match(MatchStmt),
    /// `password discard;` / `password hash;`
    Password(PasswordStmt),
    /// `on SITUATION [when GUARD] => ACTION;`
    Reaction(ReactionStmt),
}

/// `invite never;` / `invite always;`
#[derive(Debug, Clone, PartialEq)]
pub struct InviteStmt {
    /// `always` (true) or `never` (false).
    pub send: bool,
    /// The whole statement.
    pub span: Span,
}

/// `password discard;` / `password hash;`
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordStmt {
    /// What a received password does.
    pub mode: PasswordMode,
    /// The whole statement.
    pub span: Span,
}

/// What a received password does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordMode {
    /// `discard`: never stored.
    Discard,
    /// `hash`: stored as an Argon2id hash, write-only.
    Hash,
}

/// `match existing by FIELD;`
#[derive(Debug, Clone, PartialEq)]
pub struct MatchStmt {
    /// Target field.
    pub field: Ident,
    /// The whole statement.
    pub span: Span,
}

/// `on SITUATION [when GUARD] => ACTION;`
#[derive(Debug, Clone, PartialEq)]
pub struct ReactionStmt {
    /// Situation name as written.
    pub situation: Ident,
    /// Guard.
    pub guard: Option<GuardExpr>,
    /// Action.
    pub action: ActionExpr,
    /// The whole statement.
    pub span: Span,
}

/// `when PATH OP LITERAL and ...`
pub type GuardExpr = AllOf<PathExpr>;

/// `PATH OP LITERAL` in a guard.
pub type GuardTermExpr = CompareExpr<PathExpr>;

/// `NAME [ARG]`: `create`, `skip DirectManager`, `reject uniqueness`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionExpr {
    /// Action name.
    pub name: Ident,
    /// Argument.
    pub argument: Option<Ident>,
    /// The whole action.
    pub span: Span,
}

/// `hooks KIND { on change FIELD => run "SCRIPT" fn NAME; }`
pub type HooksBlock = Block<HookStmt>;

/// `on change FIELD => run "SCRIPT" fn NAME;`
#[derive(Debug, Clone, PartialEq)]
pub struct HookStmt {
    /// Watched target field.
    pub field: Ident,
    /// Script path as written.
    pub script: Spanned<String>,
    /// Function name.
    pub function: Ident,
    /// The whole statement.
    pub span: Span,
}
