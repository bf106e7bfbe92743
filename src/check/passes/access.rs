//! `editions { ... }` and `roles { ... }` -> [`Editions`] and [`Roles`]: names unique
//! (case-insensitively), one `default`, and for roles one `provisioning needs` naming a
//! declared role.

use super::Ctx;
use crate::check::access::{Edition, Editions, Role, Roles, same_level};
use crate::check::error::{AccessError, LevelBlock};
use crate::check::files::FileId;
use crate::syntax::{Span, ast};

const RULES: FileId = FileId::Rules;

/// The editions block; `None` when it does not check.
pub(super) fn editions(cx: &mut Ctx<'_>, block: &ast::EditionsBlock) -> Option<Editions> {
    let declared = declarations(cx, LevelBlock::Editions, block.keyword, &block.editions)?;
    let mut editions = Vec::new();
    for decl in &declared.kept {
        editions.push(Edition {
            name: decl.name.node.clone(),
            provisioning: decl
                .flags
                .iter()
                .any(|f| f.node == ast::LevelFlag::Provisioning),
            origin: cx.origin(RULES, decl.span),
        });
    }
    Some(Editions {
        editions,
        default: declared.default?,
    })
}

/// The roles block; `None` when it does not check.
pub(super) fn roles(cx: &mut Ctx<'_>, block: &ast::RolesBlock) -> Option<Roles> {
    let declared = declarations(cx, LevelBlock::Roles, block.keyword, &block.roles)?;
    let names: Vec<String> = block.roles.iter().map(|r| r.name.node.clone()).collect();
    let Some((first, extra)) = block.needs.split_first() else {
        let error = AccessError::NoNeeds {
            example: names.last().cloned().unwrap_or_default(),
        };
        cx.report(RULES, block.keyword, error);
        return None;
    };
    for needs in extra {
        let error = AccessError::SecondNeeds { first: first.span };
        cx.report(RULES, needs.span, error);
    }
    let Some(needed) = names.iter().find(|n| same_level(n, &first.role.node)) else {
        let error = AccessError::UnknownRole {
            name: first.role.node.clone(),
            roles: names.clone(),
        };
        cx.report(RULES, first.role.span, error);
        return None;
    };
    let needed = needed.clone();
    let roles = declared
        .kept
        .iter()
        .map(|decl| Role {
            name: decl.name.node.clone(),
            origin: cx.origin(RULES, decl.span),
        })
        .collect();
    Some(Roles {
        roles,
        default: declared.default?,
        needed,
        needed_origin: cx.origin(RULES, first.span),
    })
}

/// The declarations of one block, each name once, and the `default` one's name.
struct Declared<'a> {
    kept: Vec<&'a ast::LevelDecl>,
    default: Option<String>,
}

/// Checks names and flags; `None` when the block declares nothing.
fn declarations<'a>(
    cx: &mut Ctx<'_>,
    block: LevelBlock,
    keyword: Span,
    decls: &'a [ast::LevelDecl],
) -> Option<Declared<'a>> {
    let Some(first_decl) = decls.first() else {
        cx.report(RULES, keyword, AccessError::Empty { block });
        return None;
    };
    let mut kept: Vec<&ast::LevelDecl> = Vec::new();
    let mut default: Option<(&ast::LevelDecl, Span)> = None;
    for decl in decls {
        if let Some(first) = kept
            .iter()
            .find(|k| same_level(&k.name.node, &decl.name.node))
        {
            let error = AccessError::Duplicate {
                block,
                name: decl.name.node.clone(),
                first: first.name.span,
            };
            cx.report(RULES, decl.name.span, error);
            continue;
        }
        let mut seen: Vec<&ast::Spanned<ast::LevelFlag>> = Vec::new();
        for flag in &decl.flags {
            if let Some(first) = seen.iter().find(|f| f.node == flag.node) {
                let error = AccessError::RepeatedFlag {
                    flag: flag_name(flag.node),
                    first: first.span,
                };
                cx.report(RULES, flag.span, error);
                continue;
            }
            seen.push(flag);
            if flag.node != ast::LevelFlag::Default {
                continue;
            }
            match default {
                Some((_, first)) => {
                    let error = AccessError::SecondDefault { block, first };
                    cx.report(RULES, flag.span, error);
                }
                None => default = Some((decl, flag.span)),
            }
        }
        kept.push(decl);
    }
    if default.is_none() {
        let error = AccessError::NoDefault {
            block,
            first_name: first_decl.name.node.clone(),
        };
        cx.report(RULES, keyword, error);
    }
    Some(Declared {
        kept,
        default: default.map(|(decl, _)| decl.name.node.clone()),
    })
}

fn flag_name(flag: ast::LevelFlag) -> &'static str {
    match flag {
        ast::LevelFlag::Provisioning => "provisioning",
        ast::LevelFlag::Default => "default",
    }
}
