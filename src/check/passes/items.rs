//! The items of default.rules and of an overlay, sorted by kind after checking which file
//! may hold which; then the header and the scope.

use super::Ctx;
use super::target::Target;
use crate::check::error::{HeaderError, LayoutError};
use crate::check::files::FileId;
use crate::check::model::Scope;
use crate::syntax::{Span, ast};

/// The items of one rules file, by kind.
#[derive(Default)]
pub(super) struct Items<'a> {
    /// The first `rules` header.
    pub(super) header: Option<&'a ast::Header>,
    /// The first `scope` block.
    pub(super) scope: Option<&'a ast::ScopeBlock>,
    /// The first `editions` block.
    pub(super) editions: Option<&'a ast::EditionsBlock>,
    /// The first `roles` block.
    pub(super) roles: Option<&'a ast::RolesBlock>,
    /// Mapping blocks in file order.
    pub(super) mappings: Vec<&'a ast::MappingBlock>,
    /// Policy blocks in file order.
    pub(super) policies: Vec<&'a ast::PolicyBlock>,
    /// Hook blocks in file order.
    pub(super) hooks: Vec<&'a ast::HooksBlock>,
}

/// Sorts a rules or overlay file's items. Reported and left out: a `target` (it belongs in
/// target.rules), anything but mappings, hooks and a scope in an overlay, a second header or
/// scope.
pub(super) fn sort<'a>(cx: &mut Ctx<'_>, file: FileId, ast: &'a ast::File) -> Items<'a> {
    let mut items = Items::default();
    for item in &ast.items {
        let first = match item {
            ast::Item::Mapping(block) => {
                items.mappings.push(block);
                continue;
            }
            ast::Item::Hooks(block) => {
                items.hooks.push(block);
                continue;
            }
            // A tenant chooses its own scope: the group it pushes, if any.
            ast::Item::Scope(scope) => keep_first(&mut items.scope, scope, |s| s.keyword),
            _ if file == FileId::Overlay => {
                let error = LayoutError::ItemInOverlay {
                    keyword: item.keyword(),
                };
                cx.report(file, item.keyword_span(), error);
                continue;
            }
            ast::Item::Target(_) => {
                cx.report(file, item.keyword_span(), LayoutError::TargetInRulesFile);
                continue;
            }
            ast::Item::Policy(block) => {
                items.policies.push(block);
                continue;
            }
            ast::Item::Header(header) => keep_first(&mut items.header, header, |h| h.keyword),
            ast::Item::Editions(block) => keep_first(&mut items.editions, block, |b| b.keyword),
            ast::Item::Roles(block) => keep_first(&mut items.roles, block, |b| b.keyword),
        };
        if let Some(first) = first {
            let error = LayoutError::SecondDeclaration {
                keyword: item.keyword(),
                first,
            };
            cx.report(file, item.keyword_span(), error);
        }
    }
    items
}

/// Keeps the first item of a kind in `slot`; for a later one, the first one's keyword.
fn keep_first<'a, T>(
    slot: &mut Option<&'a T>,
    item: &'a T,
    keyword: impl Fn(&T) -> Span,
) -> Option<Span> {
    if let Some(first) = slot {
        return Some(keyword(first));
    }
    *slot = Some(item);
    None
}

/// The header's name and version, when it names the target and its version is a `u32`.
pub(super) fn header(
    cx: &mut Ctx<'_>,
    target: &Target,
    header: Option<&ast::Header>,
) -> Option<(String, u32)> {
    let Some(header) = header else {
        let error = HeaderError::NoHeader {
            target: target.schema.name.clone(),
        };
        cx.report(FileId::Rules, Span::new(0, 0), error);
        return None;
    };
    let names_target = header.target.node == target.schema.name;
    if !names_target {
        let error = HeaderError::UnknownTarget {
            name: header.target.node.clone(),
            declared: target.schema.name.clone(),
        };
        cx.report(FileId::Rules, header.target.span, error);
    }
    let Ok(version) = header.version.node.parse::<u32>() else {
        let error = HeaderError::InvalidVersion {
            text: header.version.node.clone(),
        };
        cx.report(FileId::Rules, header.version.span, error);
        return None;
    };
    names_target.then(|| (header.name.node.clone(), version))
}

/// The sync scope of `file`'s `scope` block: the first `sync_group`; any other is reported.
pub(super) fn scope(cx: &mut Ctx<'_>, file: FileId, block: &ast::ScopeBlock) -> Option<Scope> {
    let (first, extra) = block.sync_groups.split_first()?;
    for group in extra {
        let error = HeaderError::SecondSyncGroup { first: first.span };
        cx.report(file, group.span, error);
    }
    Some(Scope {
        sync_group: first.group.node.clone(),
        origin: cx.origin(file, first.span),
    })
}
