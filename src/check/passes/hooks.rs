//! Hook blocks (the profile's, then the overlay's) -> hooks per resource kind: each on a
//! mapped field, with a script of the profile that compiles (once) and defines the named
//! function with three parameters.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::Ctx;
use super::mappings::Mapped;
use super::target::Target;
use crate::check::error::HookError;
use crate::check::files::{FileId, Files};
use crate::check::model::Hook;
use crate::check::{ProfileSources, SourceFile};
use crate::hooks::{self, CompiledScript};
use crate::scim::schema::ResourceKind;
use crate::syntax::{Span, ast};

/// Number of parameters every hook function takes: `(user, before, after)`.
const HOOK_ARITY: usize = 3;

/// Checks the hook blocks of each file, in order.
pub(super) fn check(
    cx: &mut Ctx<'_>,
    sources: &ProfileSources,
    target: &Target,
    mapped: &Mapped,
    blocks: &[(FileId, &[&ast::HooksBlock])],
) -> BTreeMap<ResourceKind, Vec<Hook>> {
    let mut scripts = Scripts {
        sources,
        compiled: HashMap::new(),
    };
    let mut hooks: BTreeMap<ResourceKind, Vec<Hook>> = BTreeMap::new();
    for (file, file_blocks) in blocks {
        for block in *file_blocks {
            let Some((kind, entity)) = target.resolve_block(cx, *file, &block.kind) else {
                continue;
            };
            for stmt in &block.statements {
                let watched = watched_field(cx, *file, target, mapped, kind, &entity, stmt);
                let hook = scripts.hook(cx, *file, stmt);
                if let (true, Some(hook)) = (watched, hook) {
                    hooks.entry(kind).or_default().push(hook);
                }
            }
        }
    }
    hooks
}

/// Whether the hook's field is mapped; reported when it is not (unless its mapping failed
/// and was reported already).
fn watched_field(
    cx: &mut Ctx<'_>,
    file: FileId,
    target: &Target,
    mapped: &Mapped,
    kind: ResourceKind,
    entity: &str,
    stmt: &ast::HookStmt,
) -> bool {
    let Some(field) = target.require_field(cx, file, entity, &stmt.field) else {
        return false;
    };
    if mapped.failed(kind, &field.name) {
        return false;
    }
    if mapped.of(kind).iter().any(|m| m.target == field.name) {
        return true;
    }
    let error = HookError::UnmappedField {
        field: field.name.clone(),
        kind,
        removed_at: mapped.removed_at(kind, &field.name),
    };
    cx.report(file, stmt.field.span, error);
    false
}

/// The profile's scripts, each compiled once on first use.
struct Scripts<'s> {
    sources: &'s ProfileSources,
    /// By key; `None` when the script did not compile (reported once).
    compiled: HashMap<String, Option<Arc<CompiledScript>>>,
}

impl Scripts<'_> {
    /// The hook of `stmt`, when its script exists, compiles and has the function.
    fn hook(&mut self, cx: &mut Ctx<'_>, file: FileId, stmt: &ast::HookStmt) -> Option<Hook> {
        let written = &stmt.script.node;
        let key = written.strip_prefix("./").unwrap_or(written);
        let Some((script_file, script)) = Files::script(self.sources, key) else {
            let error = HookError::ScriptMissing {
                written: written.clone(),
                key: key.to_string(),
                scripts: self.sources.scripts.keys().cloned().collect(),
            };
            cx.report(file, stmt.script.span, error);
            return None;
        };
        let compiled = self.compile(cx, key, script, script_file, (file, stmt.script.span))?;
        let function = stmt.function.node.as_str();
        if !compiled.has_function(function, HOOK_ARITY) {
            let functions = compiled.functions();
            let error = match functions.iter().find(|(name, _)| name == function) {
                Some((_, arity)) => HookError::Arity {
                    function: function.to_string(),
                    key: key.to_string(),
                    arity: *arity,
                },
                None => HookError::MissingFn {
                    function: function.to_string(),
                    key: key.to_string(),
                    functions: functions.into_iter().map(|(name, _)| name).collect(),
                },
            };
            cx.report(file, stmt.function.span, error);
            return None;
        }
        Some(Hook {
            field: stmt.field.node.clone(),
            script_path: key.to_string(),
            function: function.to_string(),
            script: compiled,
            origin: cx.origin(file, stmt.span),
        })
    }

    /// Compiles a script once; a compile error is reported once, into the script, with the
    /// hook that first used it.
    fn compile(
        &mut self,
        cx: &mut Ctx<'_>,
        key: &str,
        script: &SourceFile,
        script_file: FileId,
        used_at: (FileId, Span),
    ) -> Option<Arc<CompiledScript>> {
        if let Some(compiled) = self.compiled.get(key) {
            return compiled.clone();
        }
        let compiled = match hooks::compile(key, &script.text) {
            Ok(compiled) => Some(Arc::new(compiled)),
            Err(err) => {
                let info = cx.files.get(script_file);
                let offset = info.offset_of(err.line.unwrap_or(1), err.column.unwrap_or(1));
                let end = info
                    .text
                    .get(offset..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(offset, |c| offset + c.len_utf8());
                let error = HookError::Compile {
                    key: key.to_string(),
                    message: err.message,
                    used_at,
                };
                cx.report(script_file, Span::new(offset, end), error);
                None
            }
        };
        self.compiled.insert(key.to_string(), compiled.clone());
        compiled
    }
}
