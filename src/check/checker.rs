//! The checking passes. Each pass reports into one list and keeps going; `CheckedRules` is
//! built only when no error was reported.
//!
//! Order: parse every file -> target schema -> base mappings -> overlay -> policies ->
//! hooks -> assemble.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use super::diagnostic::{Code, FileInfo, RulesDiagnostic, Severity};
use super::model::*;
use super::suggest::{did_you_mean, help_for};
use super::{CheckReport, ProfileSources};
use crate::hooks::{self, CompiledScript};
use crate::scim::error::ScimType;
use crate::scim::schema::{
    AttrType, AttributeDef, COMMON_ATTRIBUTES, ENTERPRISE_USER_SCHEMA, ResourceKind, SchemaDef,
    schema_by_urn,
};
use crate::syntax::{self, Span, ast};

const TARGET: usize = 0;
const RULES: usize = 1;
const OVERLAY: usize = 2;

/// Number of parameters every hook function takes: `(user, before, after)`.
const HOOK_ARITY: usize = 3;

const TRANSFORMS: [&str; 6] = ["trim", "lower", "upper", "truncate", "default", "ref"];
const ACTIONS: [&str; 8] = [
    "create", "update", "suspend", "activate", "delete", "ignore", "skip", "reject",
];
const TYPES: [&str; 5] = ["String", "Bool", "Int", "DateTime", "Ref"];

pub(super) fn check(sources: &ProfileSources) -> CheckReport {
    let mut checker = Checker::new(sources);
    let rules = checker.run();
    let Checker {
        mut diagnostics, ..
    } = checker;
    diagnostics.sort_by_key(|d| (d.file_index, d.diagnostic.location.span.offset));
    let diagnostics: Vec<RulesDiagnostic> = diagnostics.into_iter().map(|d| d.diagnostic).collect();
    let failed = diagnostics.iter().any(RulesDiagnostic::is_error);
    CheckReport {
        rules: if failed { None } else { rules },
        diagnostics,
    }
}

struct Ordered {
    file_index: usize,
    diagnostic: RulesDiagnostic,
}

struct Checker<'s> {
    sources: &'s ProfileSources,
    /// 0 target, 1 rules, 2 overlay (empty when absent), then scripts as they are used.
    files: Vec<Arc<FileInfo>>,
    diagnostics: Vec<Ordered>,
    /// Compiled scripts by key; `None` when the script did not compile.
    scripts: HashMap<String, Option<Arc<CompiledScript>>>,
    /// Per resource kind, fields whose mapping was written but did not check.
    failed: HashMap<ResourceKind, HashSet<String>>,
}

/// The checked target schema plus where each field was declared (for related labels).
struct Target {
    schema: TargetSchema,
    field_spans: HashMap<(String, String), Span>,
    /// Fields left out of the schema because their declaration was reported (bad type):
    /// uses of them are not reported again.
    poisoned: HashSet<(String, String)>,
}

impl Target {
    fn entity_names(&self) -> impl Iterator<Item = &str> {
        self.schema.entities.keys().map(String::as_str)
    }
}

/// A mapping that passed its own checks, and where it was locked (if it was).
struct Draft {
    mapping: Mapping,
    locked_at: Option<Span>,
}

struct KindMappings {
    entity: String,
    drafts: Vec<Draft>,
    /// Fields whose mapping was written but did not check: already reported, so later
    /// passes treat them as mapped instead of reporting again.
    failed: HashSet<String>,
}

/// The items of one rules file, sorted by kind, after role checks.
#[derive(Default)]
struct Items<'a> {
    header: Option<&'a ast::Header>,
    scope: Option<&'a ast::ScopeBlock>,
    mappings: Vec<&'a ast::MappingBlock>,
    policies: Vec<&'a ast::PolicyBlock>,
    hooks: Vec<&'a ast::HooksBlock>,
}

impl<'s> Checker<'s> {
    fn new(sources: &'s ProfileSources) -> Checker<'s> {
        let overlay = sources.overlay.as_ref().map_or_else(
            || FileInfo::new("overlay", ""),
            |o| FileInfo::new(&o.name, &o.text),
        );
        Checker {
            sources,
            files: vec![
                FileInfo::new(&sources.target.name, &sources.target.text),
                FileInfo::new(&sources.rules.name, &sources.rules.text),
                overlay,
            ],
            diagnostics: Vec::new(),
            scripts: HashMap::new(),
            failed: HashMap::new(),
        }
    }

    // ---- reporting ----------------------------------------------------------------------

    fn error(
        &self,
        code: Code,
        file: usize,
        span: Span,
        message: impl Into<String>,
    ) -> RulesDiagnostic {
        RulesDiagnostic::new(code, Severity::Error, &self.files[file], span, message)
    }

    fn advice(&self, file: usize, span: Span, message: impl Into<String>) -> RulesDiagnostic {
        RulesDiagnostic::new(
            Code::Note,
            Severity::Advice,
            &self.files[file],
            span,
            message,
        )
    }

    fn emit(&mut self, file: usize, diagnostic: RulesDiagnostic) {
        self.diagnostics.push(Ordered {
            file_index: file,
            diagnostic,
        });
    }

    fn origin(&self, file: usize, span: Span) -> RuleOrigin {
        let info = &self.files[file];
        RuleOrigin {
            file: info.name.clone(),
            line: info.line(span.start),
        }
    }

    /// Related label pointing at a field's declaration in target.rules.
    fn declared_here(&self, target: &Target, entity: &str, field: &FieldDef) -> RulesDiagnostic {
        let span = target
            .field_spans
            .get(&(entity.to_string(), field.name.clone()))
            .copied()
            .unwrap_or_default();
        self.advice(
            TARGET,
            span,
            format!(
                "`{}` is declared `{}` here",
                field.name,
                describe_field(field)
            ),
        )
        .label("declared here")
    }

    // ---- passes ---------------------------------------------------------------------------

    fn run(&mut self) -> Option<CheckedRules> {
        let target_ast = self.parse(TARGET);
        let rules_ast = self.parse(RULES);
        let overlay_ast = if self.sources.overlay.is_some() {
            self.parse(OVERLAY)
        } else {
            None
        };

        let target = self.check_target(target_ast.as_ref()?)?;
        let rules_ast = rules_ast?;
        let items = self.sort_items(RULES, &rules_ast);
        let overlay_items = overlay_ast
            .as_ref()
            .map(|ast| self.sort_items(OVERLAY, ast));

        let header = self.check_header(&target, items.header);
        let scope = items.scope.and_then(|block| self.check_scope(block));

        let mut mappings: BTreeMap<ResourceKind, KindMappings> = BTreeMap::new();
        self.base_mappings(&target, &items.mappings, &mut mappings);
        let mut removed: HashMap<(ResourceKind, String), Span> = HashMap::new();
        if let Some(overlay) = &overlay_items {
            self.overlay_mappings(&target, &overlay.mappings, &mut mappings, &mut removed);
        }
        self.failed = mappings
            .iter()
            .map(|(kind, set)| (*kind, set.failed.clone()))
            .collect();
        let mappings: BTreeMap<ResourceKind, MappingSet> = mappings
            .into_iter()
            .map(|(kind, set)| {
                let mappings = set.drafts.into_iter().map(|d| d.mapping).collect();
                (
                    kind,
                    MappingSet {
                        entity: set.entity,
                        mappings,
                    },
                )
            })
            .collect();

        let policies = self.check_policies(&target, &items.policies, &mappings);

        let mut hooks: BTreeMap<ResourceKind, Vec<Hook>> = BTreeMap::new();
        let overlay_hooks = overlay_items.as_ref().map(|o| o.hooks.as_slice());
        for (file, blocks) in [
            (RULES, items.hooks.as_slice()),
            (OVERLAY, overlay_hooks.unwrap_or(&[])),
        ] {
            for block in blocks {
                self.check_hooks_block(file, &target, block, &mappings, &removed, &mut hooks);
            }
        }

        let (name, version) = header?;
        Some(CheckedRules {
            name,
            version,
            target: target.schema,
            scope,
            mappings,
            policies,
            hooks,
            _sealed: Sealed(()),
        })
    }

    fn parse(&mut self, file: usize) -> Option<ast::File> {
        let text = Arc::clone(&self.files[file].text);
        match syntax::parse(&text) {
            Ok(ast) => Some(ast),
            Err(err) => {
                let at_end = err.message.ends_with("found end of file");
                let label = if at_end {
                    "the file ends after this".to_string()
                } else {
                    "unexpected here".to_string()
                };
                let help = if at_end {
                    Some("the file may be cut short: check that every `{` has its `}`".to_string())
                } else if err.expected.iter().any(|e| e == "`;`") {
                    Some("every statement ends with `;`".to_string())
                } else {
                    None
                };
                let mut diagnostic = self
                    .error(Code::Syntax, file, err.span, err.message)
                    .label(label)
                    .help_opt(help);
                if !at_end && err.expected.iter().any(|e| e == "`;`") {
                    // A missing `;` is reported where the next token starts, often on the
                    // next line; also point at where it belongs.
                    let before = text[..err.span.start.min(text.len())].trim_end();
                    if let Some(last) = before.chars().next_back() {
                        let start = before.len() - last.len_utf8();
                        let info = &self.files[file];
                        if info.line(start) != info.line(err.span.start) {
                            diagnostic = diagnostic
                                .note(Span::new(start, before.len()), "`;` missing after this?");
                        }
                    }
                }
                self.emit(file, diagnostic);
                None
            }
        }
    }

    /// Sorts a rules or overlay file's items, reporting those its role does not allow.
    fn sort_items<'a>(&mut self, file: usize, ast: &'a ast::File) -> Items<'a> {
        let mut items = Items::default();
        for item in &ast.items {
            let forbidden = match (file, item) {
                (_, ast::Item::Mapping(block)) => {
                    items.mappings.push(block);
                    continue;
                }
                (_, ast::Item::Hooks(block)) => {
                    items.hooks.push(block);
                    continue;
                }
                (OVERLAY, _) => true,
                (_, ast::Item::Target(_)) => {
                    let diagnostic = self
                        .error(
                            Code::MisplacedStatement,
                            file,
                            item.keyword_span(),
                            "`target` belongs in target.rules",
                        )
                        .label("not allowed here")
                        .help("declare entities in the profile's target.rules");
                    self.emit(file, diagnostic);
                    continue;
                }
                _ => false,
            };
            if forbidden {
                let diagnostic = self
                    .error(
                        Code::OverlayForbidden,
                        file,
                        item.keyword_span(),
                        format!("an overlay cannot declare `{}`", item.keyword()),
                    )
                    .label("not allowed in an overlay")
                    .help(
                        "an overlay may only change mappings (`mapping KIND { ... }`) and add \
                         hooks (`hooks KIND { ... }`)",
                    );
                self.emit(file, diagnostic);
                continue;
            }
            let (slot_taken, first) = match item {
                ast::Item::Header(header) => {
                    let first = items.header.map(|h| h.keyword);
                    items.header.get_or_insert(header);
                    (first.is_some(), first)
                }
                ast::Item::Scope(scope) => {
                    let first = items.scope.map(|s| s.keyword);
                    items.scope.get_or_insert(scope);
                    (first.is_some(), first)
                }
                ast::Item::Policy(policy) => {
                    items.policies.push(policy);
                    (false, None)
                }
                _ => (false, None),
            };
            if slot_taken {
                let mut diagnostic = self
                    .error(
                        Code::DuplicateStatement,
                        file,
                        item.keyword_span(),
                        format!("a second `{}` declaration", item.keyword()),
                    )
                    .label("declared again here")
                    .help("a rules file has one header and at most one scope");
                if let Some(first) = first {
                    diagnostic = diagnostic.note(first, "first declared here");
                }
                self.emit(file, diagnostic);
            }
        }
        items
    }

    // ---- target.rules ---------------------------------------------------------------------

    fn check_target(&mut self, ast: &ast::File) -> Option<Target> {
        let mut declaration: Option<&ast::TargetDecl> = None;
        for item in &ast.items {
            match item {
                ast::Item::Target(decl) if declaration.is_none() => declaration = Some(decl),
                ast::Item::Target(decl) => {
                    let first = declaration.map(|d| d.name.span).unwrap_or_default();
                    let diagnostic = self
                        .error(
                            Code::DuplicateStatement,
                            TARGET,
                            decl.keyword,
                            "a second `target` declaration",
                        )
                        .label("declared again here")
                        .note(first, "first declared here")
                        .help("a profile describes exactly one target");
                    self.emit(TARGET, diagnostic);
                }
                other => {
                    let diagnostic = self
                        .error(
                            Code::MisplacedStatement,
                            TARGET,
                            other.keyword_span(),
                            format!("`{}` does not belong in target.rules", other.keyword()),
                        )
                        .label("not allowed here")
                        .help(
                            "target.rules holds only the `target` declaration; the header, \
                             mappings, scope, policies and hooks go in default.rules",
                        );
                    self.emit(TARGET, diagnostic);
                }
            }
        }
        let Some(declaration) = declaration else {
            let diagnostic = self
                .error(
                    Code::MissingDeclaration,
                    TARGET,
                    Span::new(0, 0),
                    "target.rules declares no `target`",
                )
                .label("expected a target declaration")
                .help("declare the application's schema: `target NAME { entity User { ... } }`");
            self.emit(TARGET, diagnostic);
            return None;
        };

        let mut entity_spans: HashMap<&str, Span> = HashMap::new();
        for entity in &declaration.entities {
            if let Some(first) = entity_spans.get(entity.name.node.as_str()) {
                let diagnostic = self
                    .error(
                        Code::DuplicateEntity,
                        TARGET,
                        entity.name.span,
                        format!("entity `{}` is declared twice", entity.name),
                    )
                    .label("declared again here")
                    .note(*first, "first declared here")
                    .help("merge the two declarations or rename one");
                self.emit(TARGET, diagnostic);
            } else {
                entity_spans.insert(&entity.name.node, entity.name.span);
            }
        }
        let entity_names: Vec<&str> = entity_spans.keys().copied().collect();

        let mut schema = TargetSchema {
            name: declaration.name.node.clone(),
            entities: BTreeMap::new(),
        };
        let mut field_spans = HashMap::new();
        let mut poisoned = HashSet::new();
        for entity in &declaration.entities {
            if schema.entities.contains_key(&entity.name.node) {
                continue;
            }
            let mut fields: Vec<FieldDef> = Vec::new();
            let mut seen: HashMap<&str, Span> = HashMap::new();
            for field in &entity.fields {
                if let Some(first) = seen.get(field.name.node.as_str()) {
                    let diagnostic = self
                        .error(
                            Code::DuplicateField,
                            TARGET,
                            field.name.span,
                            format!(
                                "field `{}` is declared twice in entity `{}`",
                                field.name, entity.name
                            ),
                        )
                        .label("declared again here")
                        .note(*first, "first declared here")
                        .help("remove one of the two declarations");
                    self.emit(TARGET, diagnostic);
                    continue;
                }
                seen.insert(&field.name.node, field.name.span);
                let Some(ty) = self.check_type(&field.ty, &entity_names) else {
                    poisoned.insert((entity.name.node.clone(), field.name.node.clone()));
                    continue;
                };
                field_spans.insert(
                    (entity.name.node.clone(), field.name.node.clone()),
                    field.span,
                );
                fields.push(FieldDef {
                    name: field.name.node.clone(),
                    ty,
                    unique: field.flags.iter().any(|f| f.node == ast::FieldFlag::Unique),
                    readonly: field
                        .flags
                        .iter()
                        .any(|f| f.node == ast::FieldFlag::Readonly),
                    origin: self.origin(TARGET, field.span),
                });
            }
            schema.entities.insert(
                entity.name.node.clone(),
                EntityDef {
                    name: entity.name.node.clone(),
                    fields,
                    origin: self.origin(TARGET, entity.span),
                },
            );
        }
        Some(Target {
            schema,
            field_spans,
            poisoned,
        })
    }

    fn check_type(&mut self, ty: &ast::TypeExpr, entities: &[&str]) -> Option<FieldType> {
        let name = ty.name.node.as_str();
        let simple = match name {
            "String" => Some(FieldType::String),
            "Bool" => Some(FieldType::Bool),
            "Int" => Some(FieldType::Int),
            "DateTime" => Some(FieldType::DateTime),
            "Ref" => None,
            _ => {
                let diagnostic = self
                    .error(
                        Code::UnknownType,
                        TARGET,
                        ty.name.span,
                        format!("unknown type `{name}`"),
                    )
                    .label("not a field type")
                    .help_opt(help_for(name, TYPES, "field types"));
                self.emit(TARGET, diagnostic);
                return None;
            }
        };
        match (simple, &ty.argument) {
            (Some(simple), None) => Some(simple),
            (Some(_), Some(argument)) => {
                let diagnostic = self
                    .error(
                        Code::InvalidType,
                        TARGET,
                        argument.span,
                        format!("`{name}` takes no type argument"),
                    )
                    .label("unexpected type argument")
                    .help("only `Ref<Entity>` takes a type argument");
                self.emit(TARGET, diagnostic);
                None
            }
            (None, None) => {
                let diagnostic = self
                    .error(
                        Code::InvalidType,
                        TARGET,
                        ty.span,
                        "`Ref` needs the entity it refers to",
                    )
                    .label("missing `<Entity>`")
                    .help("write `Ref<User>`, naming an entity of this target");
                self.emit(TARGET, diagnostic);
                None
            }
            (None, Some(argument)) => {
                if entities.contains(&argument.node.as_str()) {
                    Some(FieldType::Ref(argument.node.clone()))
                } else {
                    let diagnostic = self
                        .error(
                            Code::UnknownEntity,
                            TARGET,
                            argument.span,
                            format!("unknown entity `{argument}`"),
                        )
                        .label("not an entity of this target")
                        .help_opt(help_for(
                            &argument.node,
                            entities.iter().copied(),
                            "entities",
                        ));
                    self.emit(TARGET, diagnostic);
                    None
                }
            }
        }
    }

    // ---- header and scope -----------------------------------------------------------------

    fn check_header(
        &mut self,
        target: &Target,
        header: Option<&ast::Header>,
    ) -> Option<(String, u32)> {
        let Some(header) = header else {
            let diagnostic = self
                .error(
                    Code::MissingDeclaration,
                    RULES,
                    Span::new(0, 0),
                    format!("{} has no `rules` header", self.files[RULES].name),
                )
                .label("expected the header")
                .help(format!(
                    "start the file with `rules \"NAME\" target {} version 1;`",
                    target.schema.name
                ));
            self.emit(RULES, diagnostic);
            return None;
        };
        let mut ok = true;
        if header.target.node != target.schema.name {
            let diagnostic = self
                .error(
                    Code::UnknownTarget,
                    RULES,
                    header.target.span,
                    format!("unknown target `{}`", header.target),
                )
                .label("not declared in target.rules")
                .help(
                    match did_you_mean(&header.target.node, [target.schema.name.as_str()]) {
                        Some(name) => format!("did you mean `{name}`?"),
                        None => format!("target.rules declares `{}`", target.schema.name),
                    },
                );
            self.emit(RULES, diagnostic);
            ok = false;
        }
        let version = match header.version.node.parse::<u32>() {
            Ok(version) => Some(version),
            Err(_) => {
                let diagnostic = self
                    .error(
                        Code::InvalidNumber,
                        RULES,
                        header.version.span,
                        format!("`{}` is not a valid version", header.version.node),
                    )
                    .label("out of range")
                    .help(format!(
                        "a version is a whole number from 0 to {}",
                        u32::MAX
                    ));
                self.emit(RULES, diagnostic);
                None
            }
        };
        let version = version?;
        ok.then(|| (header.name.node.clone(), version))
    }

    fn check_scope(&mut self, block: &ast::ScopeBlock) -> Option<Scope> {
        let mut groups = block.sync_groups.iter();
        let first = groups.next()?;
        for extra in groups {
            let diagnostic = self
                .error(
                    Code::DuplicateStatement,
                    RULES,
                    extra.span,
                    "a second `sync_group`",
                )
                .label("declared again here")
                .note(first.span, "first declared here")
                .help("the sync scope is one group");
            self.emit(RULES, diagnostic);
        }
        Some(Scope {
            sync_group: first.group.node.clone(),
            origin: self.origin(RULES, first.span),
        })
    }

    // ---- mappings -------------------------------------------------------------------------

    /// Resolves a block's `KIND` to a resource kind and the target entity of that name.
    fn resolve_block(
        &mut self,
        file: usize,
        target: &Target,
        kind: &ast::Ident,
    ) -> Option<(ResourceKind, String)> {
        let Some(resource) = ResourceKind::parse(&kind.node) else {
            let diagnostic = self
                .error(
                    Code::UnknownResource,
                    file,
                    kind.span,
                    format!("unknown SCIM resource type `{kind}`"),
                )
                .label("not a SCIM resource type")
                .help_opt(help_for(&kind.node, ["User", "Group"], "resource types"));
            self.emit(file, diagnostic);
            return None;
        };
        let entity = resource.as_str();
        if !target.schema.entities.contains_key(entity) {
            let diagnostic = self
                .error(
                    Code::UnknownEntity,
                    file,
                    kind.span,
                    format!(
                        "target `{}` has no entity `{entity}` for SCIM {} resources",
                        target.schema.name, entity
                    ),
                )
                .label("no such entity")
                .help(format!(
                    "declare `entity {entity} {{ ... }}` in target.rules"
                ));
            self.emit(file, diagnostic);
            return None;
        }
        Some((resource, entity.to_string()))
    }

    fn base_mappings(
        &mut self,
        target: &Target,
        blocks: &[&ast::MappingBlock],
        mappings: &mut BTreeMap<ResourceKind, KindMappings>,
    ) {
        let mut seen: HashMap<(ResourceKind, String), Span> = HashMap::new();
        for block in blocks {
            let Some((kind, entity)) = self.resolve_block(RULES, target, &block.kind) else {
                continue;
            };
            for statement in &block.statements {
                let rule = match statement {
                    ast::MappingStmt::Map(rule) => rule,
                    ast::MappingStmt::Remove(remove) => {
                        let diagnostic = self
                            .error(
                                Code::MisplacedStatement,
                                RULES,
                                remove.span,
                                "`remove` only applies in an overlay",
                            )
                            .label("not allowed here")
                            .help("to stop mapping a field by default, delete this line's mapping");
                        self.emit(RULES, diagnostic);
                        continue;
                    }
                };
                let key = (kind, rule.target.node.clone());
                if let Some(first) = seen.get(&key) {
                    let diagnostic = self
                        .error(
                            Code::DuplicateTarget,
                            RULES,
                            rule.target.span,
                            format!("`{}` is mapped twice", rule.target),
                        )
                        .label("mapped again here")
                        .note(*first, "first mapped here")
                        .help("a field takes its value from one mapping; remove one of them");
                    self.emit(RULES, diagnostic);
                    continue;
                }
                seen.insert(key, rule.target.span);
                let set = mappings.entry(kind).or_insert_with(|| KindMappings {
                    entity: entity.clone(),
                    drafts: Vec::new(),
                    failed: HashSet::new(),
                });
                match self.check_mapping_rule(RULES, target, kind, &entity, rule) {
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
    }

    fn overlay_mappings(
        &mut self,
        target: &Target,
        blocks: &[&ast::MappingBlock],
        mappings: &mut BTreeMap<ResourceKind, KindMappings>,
        removed: &mut HashMap<(ResourceKind, String), Span>,
    ) {
        let mut touched: HashMap<(ResourceKind, String), Span> = HashMap::new();
        for block in blocks {
            let Some((kind, entity)) = self.resolve_block(OVERLAY, target, &block.kind) else {
                continue;
            };
            let set = mappings.entry(kind).or_insert_with(|| KindMappings {
                entity: entity.clone(),
                drafts: Vec::new(),
                failed: HashSet::new(),
            });
            for statement in &block.statements {
                let field = match statement {
                    ast::MappingStmt::Map(rule) => &rule.target,
                    ast::MappingStmt::Remove(remove) => &remove.target,
                };
                let key = (kind, field.node.clone());
                if let Some(first) = touched.get(&key) {
                    let diagnostic = self
                        .error(
                            Code::DuplicateTarget,
                            OVERLAY,
                            field.span,
                            format!("the overlay changes `{field}` twice"),
                        )
                        .label("changed again here")
                        .note(*first, "first changed here")
                        .help("keep one mapping (or one `remove`) per field");
                    self.emit(OVERLAY, diagnostic);
                    continue;
                }
                touched.insert(key.clone(), field.span);
                let base = set
                    .drafts
                    .iter()
                    .position(|d| d.mapping.target == field.node);
                if let Some(locked_at) = base.and_then(|i| set.drafts[i].locked_at) {
                    let verb = match statement {
                        ast::MappingStmt::Map(_) => "remap",
                        ast::MappingStmt::Remove(_) => "remove",
                    };
                    let related = self
                        .advice(
                            RULES,
                            locked_at,
                            format!("`{field}` is locked in {}", self.files[RULES].name),
                        )
                        .label("locked here");
                    let diagnostic = self
                        .error(
                            Code::LockedInOverlay,
                            OVERLAY,
                            field.span,
                            format!("an overlay cannot {verb} the locked mapping of `{field}`"),
                        )
                        .label("locked mapping")
                        .help(format!(
                            "`{field}` is locked by the profile; only the profile itself can change it"
                        ))
                        .related(related);
                    self.emit(OVERLAY, diagnostic);
                    continue;
                }
                match statement {
                    ast::MappingStmt::Remove(remove) => {
                        let Some(index) = base else {
                            if target.schema.field(&entity, &field.node).is_none() {
                                self.report_unknown_field(OVERLAY, target, &entity, field);
                            } else if !set.failed.contains(&field.node) {
                                let diagnostic = self
                                    .error(
                                        Code::NothingToRemove,
                                        OVERLAY,
                                        field.span,
                                        format!(
                                            "`{field}` is not mapped, so there is nothing to remove"
                                        ),
                                    )
                                    .label("not mapped")
                                    .help("delete this `remove`");
                                self.emit(OVERLAY, diagnostic);
                            }
                            continue;
                        };
                        set.drafts.remove(index);
                        removed.insert(key, remove.span);
                    }
                    ast::MappingStmt::Map(rule) => {
                        if let Some(modifier) = rule
                            .modifier
                            .as_ref()
                            .filter(|m| m.node == ast::Modifier::Locked)
                        {
                            let diagnostic = self
                                .error(
                                    Code::OverlayForbidden,
                                    OVERLAY,
                                    modifier.span,
                                    "an overlay cannot lock a mapping",
                                )
                                .label("not allowed in an overlay")
                                .help("remove `locked`; only the profile locks mappings");
                            self.emit(OVERLAY, diagnostic);
                        }
                        let is_custom = rule
                            .modifier
                            .as_ref()
                            .is_some_and(|m| m.node == ast::Modifier::Custom);
                        if base.is_none()
                            && !is_custom
                            && target.schema.field(&entity, &field.node).is_some()
                        {
                            let diagnostic = self
                                .error(
                                    Code::OverlayForbidden,
                                    OVERLAY,
                                    field.span,
                                    format!(
                                        "`{field}` is not mapped by the profile; an overlay may only add `custom` mappings"
                                    ),
                                )
                                .label("new mapping")
                                .help(format!("write `custom {field} <- ...;` (String fields only)"));
                            self.emit(OVERLAY, diagnostic);
                            continue;
                        }
                        let Some(mapping) =
                            self.check_mapping_rule(OVERLAY, target, kind, &entity, rule)
                        else {
                            set.failed.insert(field.node.clone());
                            continue;
                        };
                        let draft = Draft {
                            mapping,
                            locked_at: None,
                        };
                        match base {
                            Some(index) => set.drafts[index] = draft,
                            None => set.drafts.push(draft),
                        }
                    }
                }
            }
        }
    }

    /// Reports a field the entity does not declare, unless its declaration was already
    /// reported (a field with an invalid type).
    fn report_unknown_field(
        &mut self,
        file: usize,
        target: &Target,
        entity: &str,
        field: &ast::Ident,
    ) {
        if target
            .poisoned
            .contains(&(entity.to_string(), field.node.clone()))
        {
            return;
        }
        let names: Vec<&str> = target
            .schema
            .entities
            .get(entity)
            .map(|e| e.fields.iter().map(|f| f.name.as_str()).collect())
            .unwrap_or_default();
        let diagnostic = self
            .error(
                Code::UnknownField,
                file,
                field.span,
                format!("entity `{entity}` has no field `{field}`"),
            )
            .label("unknown field")
            .help_opt(help_for(
                &field.node,
                names,
                &format!("fields of `{entity}`"),
            ));
        self.emit(file, diagnostic);
    }

    fn check_mapping_rule(
        &mut self,
        file: usize,
        target: &Target,
        kind: ResourceKind,
        entity: &str,
        rule: &ast::MappingRule,
    ) -> Option<Mapping> {
        let Some(field) = target.schema.field(entity, &rule.target.node) else {
            self.report_unknown_field(file, target, entity, &rule.target);
            return None;
        };
        let mut ok = true;
        if field.readonly {
            let related = self.declared_here(target, entity, field);
            let diagnostic = self
                .error(
                    Code::ReadonlyTarget,
                    file,
                    rule.target.span,
                    format!("`{}` is read-only; no mapping may write it", field.name),
                )
                .label("read-only field")
                .help("read-only fields are set by workflow hooks only; map a landing field and link it in a hook")
                .related(related);
            self.emit(file, diagnostic);
            ok = false;
        }
        let custom = rule
            .modifier
            .as_ref()
            .is_some_and(|m| m.node == ast::Modifier::Custom);
        let locked = rule
            .modifier
            .as_ref()
            .is_some_and(|m| m.node == ast::Modifier::Locked);
        if custom && field.ty != FieldType::String {
            let related = self.declared_here(target, entity, field);
            let diagnostic = self
                .error(
                    Code::CustomNotString,
                    file,
                    rule.target.span,
                    format!(
                        "custom mappings target String fields only, but `{}` is a {}",
                        field.name, field.ty
                    ),
                )
                .label(format!("a {} field", field.ty))
                .help("map a String field instead, or ask for a predefined mapping of this field")
                .related(related);
            self.emit(file, diagnostic);
            ok = false;
        }
        let source = self.resolve_path(file, kind, &rule.source, false);
        let mut transforms = Vec::new();
        for call in &rule.transforms {
            match self.check_transform(file, target, call) {
                Some(transform) => transforms.push(transform),
                None => ok = false,
            }
        }
        let (source, source_type) = source?;
        if !ok {
            return None;
        }
        let mut ty = source_type.clone();
        for (call, transform) in rule.transforms.iter().zip(&transforms) {
            if ty != FieldType::String {
                let diagnostic = self
                    .error(
                        Code::TransformType,
                        file,
                        call.span,
                        format!("`{}` takes a String, but receives a {ty}", call.name),
                    )
                    .label(format!("receives a {ty}"))
                    .help(match &ty {
                        FieldType::Ref(_) => "`ref(...)` must be the last transform".to_string(),
                        _ => "transforms work on String values".to_string(),
                    });
                self.emit(file, diagnostic);
                return None;
            }
            ty = match transform {
                Transform::Ref(entity) => FieldType::Ref(entity.clone()),
                _ => FieldType::String,
            };
        }
        if ty != field.ty {
            let related = self.declared_here(target, entity, field);
            let help = match (&field.ty, &ty) {
                (FieldType::Ref(wanted), FieldType::String) => {
                    format!("resolve the value to an entity with `| ref({wanted})`")
                }
                _ => format!("map a SCIM attribute of type {} instead", field.ty),
            };
            let diagnostic = match rule.transforms.last() {
                Some(last) => self
                    .error(
                        Code::TransformType,
                        file,
                        last.span,
                        format!(
                            "the transforms produce a {ty}, but `{}` is a {}",
                            field.name, field.ty
                        ),
                    )
                    .label(format!("produces a {ty}")),
                None => self
                    .error(
                        Code::TypeMismatch,
                        file,
                        rule.source.span,
                        format!(
                            "`{source}` is a {ty}, but `{}` is a {}",
                            field.name, field.ty
                        ),
                    )
                    .label(format!("a {ty}")),
            };
            self.emit(file, diagnostic.help(help).related(related));
            return None;
        }
        Some(Mapping {
            target: field.name.clone(),
            target_type: field.ty.clone(),
            source,
            transforms,
            locked,
            custom,
            origin: self.origin(file, rule.span),
        })
    }

    fn check_transform(
        &mut self,
        file: usize,
        target: &Target,
        call: &ast::TransformCall,
    ) -> Option<Transform> {
        let name = call.name.node.as_str();
        let arguments = call.arguments.as_deref().unwrap_or(&[]);
        let wrong_arguments = |checker: &mut Checker<'_>, usage: &str| {
            let diagnostic = checker
                .error(
                    Code::TransformArguments,
                    file,
                    call.span,
                    format!("wrong arguments for `{name}`"),
                )
                .label("here")
                .help(format!("write `{usage}`"));
            checker.emit(file, diagnostic);
            None
        };
        match name {
            "trim" | "lower" | "upper" => {
                if !arguments.is_empty() {
                    return wrong_arguments(self, name);
                }
                Some(match name {
                    "trim" => Transform::Trim,
                    "lower" => Transform::Lower,
                    _ => Transform::Upper,
                })
            }
            "truncate" => match arguments {
                [
                    ast::Spanned {
                        node: ast::ArgumentExpr::Literal(ast::LiteralExpr::Int(n)),
                        ..
                    },
                ] => match n.parse::<usize>() {
                    Ok(n) if n > 0 => Some(Transform::Truncate(n)),
                    _ => wrong_arguments(
                        self,
                        "truncate(N)` with N a positive whole number, like `truncate(64)",
                    ),
                },
                _ => wrong_arguments(
                    self,
                    "truncate(N)` with N a positive whole number, like `truncate(64)",
                ),
            },
            "default" => match arguments {
                [
                    ast::Spanned {
                        node: ast::ArgumentExpr::Literal(ast::LiteralExpr::String(text)),
                        ..
                    },
                ] => Some(Transform::Default(text.clone())),
                _ => wrong_arguments(self, "default(\"text\")"),
            },
            "ref" => match arguments {
                [
                    ast::Spanned {
                        node: ast::ArgumentExpr::Name(entity),
                        span,
                    },
                ] => {
                    if target.schema.entities.contains_key(entity) {
                        Some(Transform::Ref(entity.clone()))
                    } else {
                        let diagnostic = self
                            .error(
                                Code::UnknownEntity,
                                file,
                                *span,
                                format!("unknown entity `{entity}`"),
                            )
                            .label("not an entity of the target")
                            .help_opt(help_for(entity, target.entity_names(), "entities"));
                        self.emit(file, diagnostic);
                        None
                    }
                }
                _ => wrong_arguments(self, "ref(Entity)"),
            },
            _ => {
                let diagnostic = self
                    .error(
                        Code::UnknownTransform,
                        file,
                        call.name.span,
                        format!("unknown transform `{name}`"),
                    )
                    .label("not a transform")
                    .help_opt(help_for(name, TRANSFORMS, "transforms"));
                self.emit(file, diagnostic);
                None
            }
        }
    }

    // ---- SCIM paths -----------------------------------------------------------------------

    /// Resolves a path against the built-in schema of `kind`: the schema URN, canonical
    /// segment names, and the type of the value it yields.
    fn resolve_path(
        &mut self,
        file: usize,
        kind: ResourceKind,
        path: &ast::PathExpr,
        guard: bool,
    ) -> Option<(SourcePath, FieldType)> {
        let core = kind.core_schema();
        let schemas: Vec<&'static SchemaDef> = std::iter::once(core)
            .chain(kind.extensions().iter().copied())
            .collect();
        let (schema, segments): (&'static SchemaDef, &[ast::PathSegmentExpr]) = if let Some(urn) =
            &path.urn
        {
            match schema_by_urn(&urn.node).filter(|s| schemas.iter().any(|a| a.id == s.id)) {
                Some(schema) => (schema, &path.segments),
                None => {
                    let diagnostic = self
                        .error(
                            Code::UnknownScimPath,
                            file,
                            urn.span,
                            format!(
                                "`{}` is not a schema of SCIM {} resources",
                                urn.node,
                                kind.as_str()
                            ),
                        )
                        .label("unknown schema")
                        .help_opt(help_for(&urn.node, schemas.iter().map(|s| s.id), "schemas"));
                    self.emit(file, diagnostic);
                    return None;
                }
            }
        } else {
            match path.segments.split_first() {
                Some((first, rest))
                    if first.name.node.eq_ignore_ascii_case("enterprise")
                        && first.filter.is_none()
                        && core.attribute(&first.name.node).is_none() =>
                {
                    let Some(enterprise) = schemas.iter().find(|s| s.id == ENTERPRISE_USER_SCHEMA)
                    else {
                        let diagnostic = self
                            .error(
                                Code::UnknownScimPath,
                                file,
                                first.name.span,
                                format!(
                                    "SCIM {} resources have no enterprise extension",
                                    kind.as_str()
                                ),
                            )
                            .label("no such schema")
                            .help("`enterprise.` applies to User resources only");
                        self.emit(file, diagnostic);
                        return None;
                    };
                    if rest.is_empty() {
                        let names: Vec<&str> = enterprise.attribute_names().collect();
                        let diagnostic = self
                            .error(
                                Code::IncompletePath,
                                file,
                                path.span,
                                "`enterprise` names the enterprise extension, not an attribute",
                            )
                            .label("incomplete path")
                            .help(format!("name one of its attributes: {}", names.join(", ")));
                        self.emit(file, diagnostic);
                        return None;
                    }
                    (enterprise, rest)
                }
                _ => (core, &path.segments),
            }
        };

        let Some((first, rest)) = segments.split_first() else {
            let diagnostic = self
                .error(
                    Code::IncompletePath,
                    file,
                    path.span,
                    "the path names no attribute",
                )
                .label("incomplete path")
                .help("add an attribute after the schema URN: `urn:...:User:department`");
            self.emit(file, diagnostic);
            return None;
        };
        let is_core = std::ptr::eq(schema, core);
        let found = schema.attribute(&first.name.node).or_else(|| {
            if is_core {
                COMMON_ATTRIBUTES
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(&first.name.node))
            } else {
                None
            }
        });
        let Some(mut attribute) = found else {
            let mut names: Vec<&str> = schema.attribute_names().collect();
            if is_core {
                names.extend(COMMON_ATTRIBUTES.iter().map(|a| a.name));
            }
            let elsewhere = schemas
                .iter()
                .filter(|s| !std::ptr::eq(**s, schema))
                .find_map(|s| s.attribute(&first.name.node).map(|a| (s, a)));
            let help = match elsewhere {
                Some((s, a)) if s.id == ENTERPRISE_USER_SCHEMA => Some(format!(
                    "`{}` belongs to the enterprise extension: write `enterprise.{}`",
                    a.name, a.name
                )),
                Some((_, a)) => Some(format!(
                    "`{}` belongs to the core schema: write `{}`",
                    a.name, a.name
                )),
                None => help_for(
                    &first.name.node,
                    names,
                    &format!("attributes of {}", schema.name),
                ),
            };
            let diagnostic = self
                .error(
                    Code::UnknownScimPath,
                    file,
                    first.name.span,
                    format!(
                        "the SCIM {} schema has no attribute `{}`",
                        schema.name, first.name
                    ),
                )
                .label("unknown attribute")
                .help_opt(help);
            self.emit(file, diagnostic);
            return None;
        };

        let mut ok = true;
        let mut resolved = Vec::with_capacity(segments.len());
        let filter = first.filter.as_ref().and_then(|f| {
            self.check_filter(file, attribute, f).or_else(|| {
                ok = false;
                None
            })
        });
        resolved.push(PathSegment {
            name: attribute.name.to_string(),
            filter,
        });
        for segment in rest {
            if attribute.sub_attributes.is_empty() {
                let diagnostic = self
                    .error(
                        Code::UnknownScimPath,
                        file,
                        segment.name.span,
                        format!("`{}` has no sub-attributes", attribute.name),
                    )
                    .label("unknown attribute")
                    .help(format!(
                        "`{}` is a simple {} value; end the path there",
                        attribute.name,
                        attribute.ty.as_str()
                    ));
                self.emit(file, diagnostic);
                return None;
            }
            let Some(sub) = attribute.sub_attribute(&segment.name.node) else {
                let names: Vec<&str> = attribute.sub_attributes.iter().map(|a| a.name).collect();
                let diagnostic = self
                    .error(
                        Code::UnknownScimPath,
                        file,
                        segment.name.span,
                        format!(
                            "`{}` has no sub-attribute `{}`",
                            attribute.name, segment.name
                        ),
                    )
                    .label("unknown sub-attribute")
                    .help_opt(help_for(
                        &segment.name.node,
                        names,
                        &format!("sub-attributes of `{}`", attribute.name),
                    ));
                self.emit(file, diagnostic);
                return None;
            };
            attribute = sub;
            let filter = segment.filter.as_ref().and_then(|f| {
                self.check_filter(file, attribute, f).or_else(|| {
                    ok = false;
                    None
                })
            });
            resolved.push(PathSegment {
                name: attribute.name.to_string(),
                filter,
            });
        }
        if !attribute.sub_attributes.is_empty() {
            let names: Vec<&str> = attribute.sub_attributes.iter().map(|a| a.name).collect();
            let what = if guard { "a guard" } else { "a mapping" };
            let diagnostic = self
                .error(
                    Code::IncompletePath,
                    file,
                    path.span,
                    format!(
                        "`{}` is a complex attribute; {what} needs a simple value",
                        attribute.name
                    ),
                )
                .label("complex attribute")
                .help(format!(
                    "name one of its sub-attributes: {}",
                    names.join(", ")
                ));
            self.emit(file, diagnostic);
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
        Some((
            SourcePath {
                schema: schema.id.to_string(),
                segments: resolved,
            },
            ty,
        ))
    }

    fn check_filter(
        &mut self,
        file: usize,
        attribute: &'static AttributeDef,
        filter: &ast::FilterExpr,
    ) -> Option<ValueFilter> {
        if !attribute.multi_valued || attribute.sub_attributes.is_empty() {
            let diagnostic = self
                .error(
                    Code::InvalidFilter,
                    file,
                    filter.span,
                    format!("`{}` is not multi-valued, so it cannot be filtered", attribute.name),
                )
                .label("value filter")
                .help("value filters select elements of multi-valued attributes, like `emails[primary eq true]`");
            self.emit(file, diagnostic);
            return None;
        }
        let mut all = Vec::new();
        let mut ok = true;
        for term in &filter.terms {
            let sub = attribute.sub_attribute(&term.attribute.node);
            if sub.is_none() {
                let names: Vec<&str> = attribute.sub_attributes.iter().map(|a| a.name).collect();
                let diagnostic = self
                    .error(
                        Code::UnknownFilterAttribute,
                        file,
                        term.attribute.span,
                        format!(
                            "`{}` has no sub-attribute `{}` to filter on",
                            attribute.name, term.attribute
                        ),
                    )
                    .label("unknown filter attribute")
                    .help_opt(help_for(
                        &term.attribute.node,
                        names,
                        &format!("sub-attributes of `{}`", attribute.name),
                    ));
                self.emit(file, diagnostic);
            }
            let op = self.check_operator(file, &term.op, false);
            let value = self.check_literal(file, &term.value);
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

    fn check_operator(
        &mut self,
        file: usize,
        op: &ast::Spanned<String>,
        guard: bool,
    ) -> Option<CompareOp> {
        let parsed = match op.node.to_ascii_lowercase().as_str() {
            "==" if guard => Some(CompareOp::Eq),
            "!=" if guard => Some(CompareOp::Ne),
            "eq" => Some(CompareOp::Eq),
            "ne" => Some(CompareOp::Ne),
            "co" => Some(CompareOp::Co),
            "sw" => Some(CompareOp::Sw),
            "ew" => Some(CompareOp::Ew),
            _ => None,
        };
        if parsed.is_none() {
            let help = match op.node.as_str() {
                "==" => "value filters use SCIM operators: write `eq`".to_string(),
                "!=" => "value filters use SCIM operators: write `ne`".to_string(),
                _ if guard => "guards compare with ==, !=, eq, ne, co, sw or ew".to_string(),
                _ => "value filters compare with eq, ne, co, sw or ew".to_string(),
            };
            let diagnostic = self
                .error(
                    Code::UnknownOperator,
                    file,
                    op.span,
                    format!("unsupported operator `{}`", op.node),
                )
                .label("unsupported operator")
                .help(help);
            self.emit(file, diagnostic);
        }
        parsed
    }

    fn check_literal(
        &mut self,
        file: usize,
        literal: &ast::Spanned<ast::LiteralExpr>,
    ) -> Option<Literal> {
        Some(match &literal.node {
            ast::LiteralExpr::String(s) => Literal::String(s.clone()),
            ast::LiteralExpr::Bool(b) => Literal::Bool(*b),
            ast::LiteralExpr::Null => Literal::Null,
            ast::LiteralExpr::Int(text) => match text.parse::<i64>() {
                Ok(i) => Literal::Int(i),
                Err(_) => {
                    let diagnostic = self
                        .error(
                            Code::InvalidNumber,
                            file,
                            literal.span,
                            format!("`{text}` does not fit a 64-bit integer"),
                        )
                        .label("out of range")
                        .help("integers range from -9223372036854775808 to 9223372036854775807");
                    self.emit(file, diagnostic);
                    return None;
                }
            },
        })
    }

    // ---- policies -------------------------------------------------------------------------

    fn check_policies(
        &mut self,
        target: &Target,
        blocks: &[&ast::PolicyBlock],
        mappings: &BTreeMap<ResourceKind, MappingSet>,
    ) -> BTreeMap<ResourceKind, Policy> {
        let mut policies = BTreeMap::new();
        let mut first_block: HashMap<ResourceKind, Span> = HashMap::new();
        for block in blocks {
            let Some((kind, entity)) = self.resolve_block(RULES, target, &block.kind) else {
                continue;
            };
            if let Some(first) = first_block.get(&kind) {
                let diagnostic = self
                    .error(
                        Code::DuplicateStatement,
                        RULES,
                        block.kind.span,
                        format!("a second `policy {}`", kind.as_str()),
                    )
                    .label("declared again here")
                    .note(*first, "first declared here")
                    .help("write one policy per resource type");
                self.emit(RULES, diagnostic);
                continue;
            }
            first_block.insert(kind, block.kind.span);
            let mapped = mappings
                .get(&kind)
                .map(|s| s.mappings.as_slice())
                .unwrap_or(&[]);
            let policy = self.check_policy(target, kind, &entity, mapped, block);
            policies.insert(kind, policy);
        }
        policies
    }

    fn check_policy(
        &mut self,
        target: &Target,
        kind: ResourceKind,
        entity: &str,
        mapped: &[Mapping],
        block: &ast::PolicyBlock,
    ) -> Policy {
        let mut invite: Option<(Invite, Span)> = None;
        let mut match_existing: Option<(MatchExisting, Span)> = None;
        let mut reactions: Vec<(Option<Reaction>, &ast::ReactionStmt)> = Vec::new();
        for statement in &block.statements {
            match statement {
                ast::PolicyStmt::Invite(stmt) => {
                    if let Some((_, first)) = &invite {
                        let first = *first;
                        self.duplicate_statement(stmt.span, first, "invite");
                        continue;
                    }
                    invite = Some((
                        Invite {
                            send: stmt.send,
                            origin: self.origin(RULES, stmt.span),
                        },
                        stmt.span,
                    ));
                }
                ast::PolicyStmt::Match(stmt) => {
                    if let Some((_, first)) = &match_existing {
                        let first = *first;
                        self.duplicate_statement(stmt.span, first, "match existing by");
                        continue;
                    }
                    let Some(field) = target.schema.field(entity, &stmt.field.node) else {
                        self.report_unknown_field(RULES, target, entity, &stmt.field);
                        continue;
                    };
                    if !field.unique || field.ty != FieldType::String {
                        let candidates: Vec<&str> = target
                            .schema
                            .entities
                            .get(entity)
                            .map(|e| {
                                e.fields
                                    .iter()
                                    .filter(|f| f.unique && f.ty == FieldType::String)
                                    .map(|f| f.name.as_str())
                                    .collect()
                            })
                            .unwrap_or_default();
                        let help = if candidates.is_empty() {
                            format!("declare a `unique` String field on `{entity}` to match by")
                        } else {
                            format!("match by a unique String field: {}", candidates.join(", "))
                        };
                        let related = self.declared_here(target, entity, field);
                        let diagnostic = self
                            .error(
                                Code::MatchFieldNotUnique,
                                RULES,
                                stmt.field.span,
                                format!(
                                    "`{}` is not a unique String field, so it cannot identify an existing entity",
                                    field.name
                                ),
                            )
                            .label("not a unique String")
                            .help(help)
                            .related(related);
                        self.emit(RULES, diagnostic);
                        continue;
                    }
                    match_existing = Some((
                        MatchExisting {
                            field: field.name.clone(),
                            origin: self.origin(RULES, stmt.span),
                        },
                        stmt.span,
                    ));
                }
                ast::PolicyStmt::Reaction(stmt) => {
                    let reaction = self.check_reaction(target, kind, entity, mapped, stmt);
                    reactions.push((reaction, stmt));
                }
            }
        }

        // Exhaustiveness and reachability, per situation, from the syntax alone.
        let mut unguarded: HashMap<Situation, Span> = HashMap::new();
        let mut last: BTreeMap<Situation, Span> = BTreeMap::new();
        let mut kept = Vec::new();
        for (reaction, stmt) in reactions {
            let Some(situation) = Situation::parse(&stmt.situation.node) else {
                continue;
            };
            if let Some(always) = unguarded.get(&situation) {
                let diagnostic = RulesDiagnostic::new(
                    Code::UnreachableReaction,
                    Severity::Warning,
                    &self.files[RULES],
                    stmt.span,
                    format!("this reaction to `{}` is never used", situation.as_str()),
                )
                .label("unreachable")
                .note(*always, "this unguarded reaction always applies first")
                .help("move it before the unguarded reaction, or delete it");
                self.emit(RULES, diagnostic);
                continue;
            }
            last.insert(situation, stmt.span);
            if stmt.guard.is_none() {
                unguarded.insert(situation, stmt.span);
            }
            if let Some(reaction) = reaction {
                kept.push(reaction);
            }
        }
        for (situation, span) in last {
            if unguarded.contains_key(&situation) {
                continue;
            }
            let diagnostic = self
                .error(
                    Code::NotExhaustive,
                    RULES,
                    span,
                    format!(
                        "every reaction to `{}` is guarded; when no guard holds nothing is decided",
                        situation.as_str()
                    ),
                )
                .label("last reaction, guarded")
                .help(format!(
                    "end with an unguarded reaction, e.g. `on {} => ignore;`",
                    situation.as_str()
                ));
            self.emit(RULES, diagnostic);
        }
        Policy {
            invite: invite.map(|(i, _)| i),
            match_existing: match_existing.map(|(m, _)| m),
            reactions: kept,
        }
    }

    fn duplicate_statement(&mut self, span: Span, first: Span, what: &str) {
        let diagnostic = self
            .error(
                Code::DuplicateStatement,
                RULES,
                span,
                format!("a second `{what}` in one policy"),
            )
            .label("declared again here")
            .note(first, "first declared here")
            .help("keep one of them");
        self.emit(RULES, diagnostic);
    }

    fn check_reaction(
        &mut self,
        target: &Target,
        kind: ResourceKind,
        entity: &str,
        mapped: &[Mapping],
        stmt: &ast::ReactionStmt,
    ) -> Option<Reaction> {
        let situation = Situation::parse(&stmt.situation.node);
        if situation.is_none() {
            let diagnostic = self
                .error(
                    Code::UnknownSituation,
                    RULES,
                    stmt.situation.span,
                    format!("unknown situation `{}`", stmt.situation),
                )
                .label("not a situation")
                .help_opt(help_for(
                    &stmt.situation.node,
                    Situation::ALL.map(Situation::as_str),
                    "situations",
                ));
            self.emit(RULES, diagnostic);
        }
        let mut guard_ok = true;
        let guard = stmt.guard.as_ref().map(|guard| {
            let mut all = Vec::new();
            for term in &guard.terms {
                let path = self.resolve_path(RULES, kind, &term.path, true);
                let op = self.check_operator(RULES, &term.op, true);
                let value = self.check_literal(RULES, &term.value);
                match (path, op, value) {
                    (Some((path, ty)), Some(op), Some(value)) => {
                        if literal_fits(&ty, op, &value) {
                            all.push(GuardTerm { path, op, value });
                        } else {
                            let diagnostic = self
                                .error(
                                    Code::TypeMismatch,
                                    RULES,
                                    term.value.span,
                                    format!(
                                        "`{path}` is a {ty}, so this comparison with {} never matches",
                                        literal_kind(&value)
                                    ),
                                )
                                .label(format!("{} here", literal_kind(&value)))
                                .help(match ty {
                                    FieldType::Bool => "compare with `true` or `false`",
                                    FieldType::Int => "compare with a number",
                                    _ => "compare with a \"string\" (co, sw and ew need one)",
                                });
                            self.emit(RULES, diagnostic);
                            guard_ok = false;
                        }
                    }
                    _ => guard_ok = false,
                }
            }
            Guard { all }
        });
        let action = self.check_action(target, kind, entity, mapped, &stmt.action);
        let (situation, action) = (situation?, action?);
        if !guard_ok {
            return None;
        }
        Some(Reaction {
            situation,
            guard,
            action,
            origin: self.origin(RULES, stmt.span),
        })
    }

    fn check_action(
        &mut self,
        target: &Target,
        kind: ResourceKind,
        entity: &str,
        mapped: &[Mapping],
        action: &ast::ActionExpr,
    ) -> Option<Action> {
        let name = action.name.node.as_str();
        let simple = match name {
            "create" => Some(Action::Create),
            "update" => Some(Action::Update),
            "suspend" => Some(Action::Suspend),
            "activate" => Some(Action::Activate),
            "delete" => Some(Action::Delete),
            "ignore" => Some(Action::Ignore),
            "skip" | "reject" => None,
            _ => {
                let diagnostic = self
                    .error(
                        Code::UnknownAction,
                        RULES,
                        action.name.span,
                        format!("unknown action `{name}`"),
                    )
                    .label("not an action")
                    .help_opt(help_for(name, ACTIONS, "actions"));
                self.emit(RULES, diagnostic);
                return None;
            }
        };
        if let Some(simple) = simple {
            if let Some(argument) = &action.argument {
                let diagnostic = self
                    .error(
                        Code::ActionArgument,
                        RULES,
                        argument.span,
                        format!("`{name}` takes no argument"),
                    )
                    .label("unexpected argument")
                    .help(format!("write `{name};`"));
                self.emit(RULES, diagnostic);
                return None;
            }
            return Some(simple);
        }
        let Some(argument) = &action.argument else {
            let usage = if name == "skip" {
                "skip FIELD` naming a mapped Ref field, like `skip DirectManager"
            } else {
                "reject SCIMTYPE`, like `reject uniqueness"
            };
            let diagnostic = self
                .error(
                    Code::ActionArgument,
                    RULES,
                    action.span,
                    format!("`{name}` needs an argument"),
                )
                .label("missing argument")
                .help(format!("write `{usage}`"));
            self.emit(RULES, diagnostic);
            return None;
        };
        if name == "reject" {
            return match ScimType::parse(&argument.node) {
                Some(scim_type) => Some(Action::Reject(scim_type)),
                None => {
                    let diagnostic = self
                        .error(
                            Code::UnknownScimType,
                            RULES,
                            argument.span,
                            format!("unknown SCIM error type `{argument}`"),
                        )
                        .label("not a scimType")
                        .help_opt(help_for(
                            &argument.node,
                            ScimType::ALL.map(ScimType::as_str),
                            "SCIM error types",
                        ));
                    self.emit(RULES, diagnostic);
                    None
                }
            };
        }
        let Some(field) = target.schema.field(entity, &argument.node) else {
            self.report_unknown_field(RULES, target, entity, argument);
            return None;
        };
        if self.failed_mapping(kind, &field.name) {
            return None;
        }
        let is_mapped = mapped.iter().any(|m| m.target == field.name);
        if !matches!(field.ty, FieldType::Ref(_)) || !is_mapped {
            let refs: Vec<&str> = mapped
                .iter()
                .filter(|m| matches!(m.target_type, FieldType::Ref(_)))
                .map(|m| m.target.as_str())
                .collect();
            let message = if is_mapped {
                format!(
                    "`skip` applies to reference fields, but `{}` is a {}",
                    field.name, field.ty
                )
            } else {
                format!(
                    "`{}` is not mapped, so there is nothing to skip",
                    field.name
                )
            };
            let help = match did_you_mean(&argument.node, refs.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None if refs.is_empty() => "no Ref field is mapped for this resource".to_string(),
                None => format!("mapped Ref fields: {}", refs.join(", ")),
            };
            let diagnostic = self
                .error(Code::SkipNotRef, RULES, argument.span, message)
                .label("not a mapped Ref field")
                .help(help);
            self.emit(RULES, diagnostic);
            return None;
        }
        Some(Action::Skip(field.name.clone()))
    }

    fn failed_mapping(&self, kind: ResourceKind, field: &str) -> bool {
        self.failed.get(&kind).is_some_and(|f| f.contains(field))
    }

    // ---- hooks ----------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn check_hooks_block(
        &mut self,
        file: usize,
        target: &Target,
        block: &ast::HooksBlock,
        mappings: &BTreeMap<ResourceKind, MappingSet>,
        removed: &HashMap<(ResourceKind, String), Span>,
        hooks: &mut BTreeMap<ResourceKind, Vec<Hook>>,
    ) {
        let Some((kind, entity)) = self.resolve_block(file, target, &block.kind) else {
            return;
        };
        let mapped = mappings
            .get(&kind)
            .map(|s| s.mappings.as_slice())
            .unwrap_or(&[]);
        for stmt in &block.hooks {
            if let Some(hook) = self.check_hook(file, target, kind, &entity, mapped, removed, stmt)
            {
                hooks.entry(kind).or_default().push(hook);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_hook(
        &mut self,
        file: usize,
        target: &Target,
        kind: ResourceKind,
        entity: &str,
        mapped: &[Mapping],
        removed: &HashMap<(ResourceKind, String), Span>,
        stmt: &ast::HookStmt,
    ) -> Option<Hook> {
        let mut ok = true;
        match target.schema.field(entity, &stmt.field.node) {
            None => {
                self.report_unknown_field(file, target, entity, &stmt.field);
                ok = false;
            }
            Some(field) if self.failed_mapping(kind, &field.name) => ok = false,
            Some(field) if !mapped.iter().any(|m| m.target == field.name) => {
                let help = match removed.get(&(kind, field.name.clone())) {
                    Some(span) => format!(
                        "the overlay removes its mapping at {}:{}",
                        self.files[OVERLAY].name,
                        self.files[OVERLAY].line(span.start)
                    ),
                    None => format!(
                        "a hook runs when a mapping changes its field; map `{}` in `mapping {}`",
                        field.name,
                        kind.as_str()
                    ),
                };
                let diagnostic = self
                    .error(
                        Code::HookUnmappedField,
                        file,
                        stmt.field.span,
                        format!(
                            "no mapping writes `{}`, so this hook never runs",
                            field.name
                        ),
                    )
                    .label("unmapped field")
                    .help(help);
                self.emit(file, diagnostic);
                ok = false;
            }
            Some(_) => {}
        }
        let key = stmt
            .script
            .node
            .strip_prefix("./")
            .unwrap_or(&stmt.script.node);
        let Some(script) = self.sources.scripts.get(key) else {
            let diagnostic = self
                .error(
                    Code::HookScriptMissing,
                    file,
                    stmt.script.span,
                    format!("no script `{}` in the profile", stmt.script.node),
                )
                .label("missing script")
                .help_opt(help_for(
                    key,
                    self.sources.scripts.keys().map(String::as_str),
                    "scripts in the profile",
                ));
            self.emit(file, diagnostic);
            return None;
        };
        let compiled = self.compile(key, script, file, stmt.script.span)?;
        let function = stmt.function.node.as_str();
        if !compiled.has_function(function, HOOK_ARITY) {
            let functions = compiled.functions();
            let diagnostic =
                if let Some((_, arity)) = functions.iter().find(|(n, _)| n == function) {
                    self.error(
                    Code::HookArity,
                    file,
                    stmt.function.span,
                    format!(
                        "`{function}` in `{key}` takes {arity} parameter{}, but hooks pass three",
                        if *arity == 1 { "" } else { "s" }
                    ),
                )
                .label("wrong arity")
                .help(format!("declare it as `fn {function}(user, before, after)`"))
                } else {
                    let names: Vec<&str> = functions.iter().map(|(n, _)| n.as_str()).collect();
                    self.error(
                        Code::HookMissingFn,
                        file,
                        stmt.function.span,
                        format!("`{key}` defines no function `{function}`"),
                    )
                    .label("no such function")
                    .help_opt(help_for(
                        function,
                        names,
                        &format!("functions in `{key}`"),
                    ))
                };
            self.emit(file, diagnostic);
            return None;
        }
        ok.then(|| Hook {
            field: stmt.field.node.clone(),
            script_path: key.to_string(),
            function: function.to_string(),
            script: compiled,
            origin: self.origin(file, stmt.span),
        })
    }

    /// Compiles a script once; a compile error is reported once, into the script.
    fn compile(
        &mut self,
        key: &str,
        script: &super::SourceFile,
        used_in: usize,
        used_at: Span,
    ) -> Option<Arc<CompiledScript>> {
        if let Some(compiled) = self.scripts.get(key) {
            return compiled.clone();
        }
        let compiled = match hooks::compile(key, &script.text) {
            Ok(compiled) => Some(Arc::new(compiled)),
            Err(err) => {
                let info = FileInfo::new(&script.name, &script.text);
                let offset = info.offset_of(err.line.unwrap_or(1), err.column.unwrap_or(1));
                let end = info
                    .text
                    .get(offset..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(offset, |c| offset + c.len_utf8());
                self.files.push(info);
                let index = self.files.len() - 1;
                let related = self
                    .advice(used_in, used_at, format!("`{key}` is used by this hook"))
                    .label("used here");
                let diagnostic = self
                    .error(
                        Code::HookCompile,
                        index,
                        Span::new(offset, end),
                        format!("`{key}` does not compile: {}", err.message),
                    )
                    .label(err.message.clone())
                    .help("fix the script; hooks are compiled once when the rules are loaded")
                    .related(related);
                self.emit(index, diagnostic);
                None
            }
        };
        self.scripts.insert(key.to_string(), compiled.clone());
        compiled
    }
}

fn describe_field(field: &FieldDef) -> String {
    let mut text = field.ty.to_string();
    if field.unique {
        text.push_str(" unique");
    }
    if field.readonly {
        text.push_str(" readonly");
    }
    text
}

/// Whether a guard can ever match: the literal's type fits the attribute's, and the string
/// operators (`co`, `sw`, `ew`) compare strings. `null` fits anything (absent).
fn literal_fits(ty: &FieldType, op: CompareOp, literal: &Literal) -> bool {
    let textual = matches!(
        ty,
        FieldType::String | FieldType::DateTime | FieldType::Ref(_)
    );
    match literal {
        Literal::Null => matches!(op, CompareOp::Eq | CompareOp::Ne),
        Literal::Bool(_) => *ty == FieldType::Bool && matches!(op, CompareOp::Eq | CompareOp::Ne),
        Literal::Int(_) => *ty == FieldType::Int && matches!(op, CompareOp::Eq | CompareOp::Ne),
        // `"true"`/`"false"` compare equal to booleans, as Entra sends them.
        Literal::String(text) => {
            textual
                || (*ty == FieldType::Bool
                    && matches!(op, CompareOp::Eq | CompareOp::Ne)
                    && (text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false")))
        }
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
