//! The checking passes, in order: parse every file -> target schema (`target`) -> items of
//! the rules files, header and scope (`items`) -> base mappings (`mappings`) -> overlay
//! (`overlay`) -> policies (`policies`) -> hooks (`hooks`) -> [`CheckedRules`].
//!
//! Each pass is a function over the syntax tree and what earlier passes produced; it
//! returns its results and reports findings as data into a [`Ctx`]. A pass never stops at
//! a finding: it leaves the offending statement out and goes on. The `CheckedRules` are
//! returned only when no finding is an error.

mod access;
mod hooks;
mod items;
mod mappings;
mod overlay;
pub(crate) mod paths;
mod policies;
mod target;

use super::error::{CheckError, ErrorKind};
use super::files::{FileId, Files};
use super::model::{CheckedRules, RuleOrigin, Sealed};
use super::render::render;
use super::{CheckReport, ProfileSources};
use crate::syntax::{self, Span, ast};

/// What every pass shares: the files (for rule origins) and the findings so far.
pub(crate) struct Ctx<'a> {
    files: &'a Files,
    errors: Vec<CheckError>,
}

impl Ctx<'_> {
    /// Records a finding at `span` of `file`.
    fn report(&mut self, file: FileId, span: Span, kind: impl Into<ErrorKind>) {
        self.errors.push(CheckError::new(file, span, kind));
    }

    /// Where a rule starting at `span` of `file` was written.
    fn origin(&self, file: FileId, span: Span) -> RuleOrigin {
        self.files.origin(file, span)
    }
}

/// Checks a profile: every diagnostic, ordered by file then position, and the checked
/// rules when none is an error.
pub(super) fn check(sources: &ProfileSources) -> CheckReport {
    let files = Files::new(sources);
    let mut cx = Ctx {
        files: &files,
        errors: Vec::new(),
    };
    let rules = run(sources, &mut cx);
    let mut errors = cx.errors;
    errors.sort_by_key(|error| (error.file, error.span.start));
    let diagnostics: Vec<_> = errors.iter().map(|error| render(error, &files)).collect();
    let failed = diagnostics.iter().any(super::RulesDiagnostic::is_error);
    CheckReport {
        rules: if failed { None } else { rules },
        diagnostics,
    }
}

fn run(sources: &ProfileSources, cx: &mut Ctx<'_>) -> Option<CheckedRules> {
    let target_ast = parse(cx, FileId::Target, &sources.target.text);
    let rules_ast = parse(cx, FileId::Rules, &sources.rules.text);
    let overlay_ast = sources
        .overlay
        .as_ref()
        .and_then(|overlay| parse(cx, FileId::Overlay, &overlay.text));

    let target = target::check(cx, target_ast.as_ref()?)?;
    let rules_ast = rules_ast?;
    let rules = items::sort(cx, FileId::Rules, &rules_ast);
    let overlay = overlay_ast
        .as_ref()
        .map(|ast| items::sort(cx, FileId::Overlay, ast));
    let header = items::header(cx, &target, rules.header);
    let base_scope = rules
        .scope
        .and_then(|block| items::scope(cx, FileId::Rules, block));
    // An overlay's scope replaces the profile's (a tenant that pushes one group as its scope).
    let overlay_scope = overlay
        .as_ref()
        .and_then(|o| o.scope)
        .and_then(|block| items::scope(cx, FileId::Overlay, block));
    let scope = overlay_scope.or(base_scope);
    let editions = rules.editions.and_then(|block| access::editions(cx, block));
    let role_table = rules.roles.and_then(|block| access::roles(cx, block));

    let mut drafts = mappings::base(cx, &target, &rules.mappings);
    let removed = match &overlay {
        Some(overlay) => overlay::apply(cx, &target, &overlay.mappings, &mut drafts),
        None => mappings::Removed::default(),
    };
    let mapped = drafts.finish(removed);
    let policies = policies::check(cx, &target, &rules.policies, &mapped);
    let hook_blocks = [
        (FileId::Rules, rules.hooks.as_slice()),
        (
            FileId::Overlay,
            overlay.as_ref().map_or(&[][..], |o| &o.hooks),
        ),
    ];
    let hooks = hooks::check(cx, sources, &target, &mapped, &hook_blocks);

    let (name, version) = header?;
    Some(CheckedRules {
        name,
        version,
        target: target.schema,
        scope,
        editions,
        roles: role_table,
        mappings: mapped.sets,
        policies,
        hooks,
        _sealed: Sealed(()),
    })
}

/// Parses one file; its syntax errors are reported and leave no tree to check.
fn parse(cx: &mut Ctx<'_>, file: FileId, text: &str) -> Option<ast::File> {
    match syntax::parse(text) {
        Ok(ast) => Some(ast),
        Err(errors) => {
            for error in errors {
                cx.report(file, error.span(), error);
            }
            None
        }
    }
}
