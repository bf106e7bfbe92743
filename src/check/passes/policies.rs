//! Policy blocks -> a [`Policy`] per resource kind: `invite`, `match existing by`, and the
//! reactions, each situation exhaustive (an unguarded reaction last) and every arm
//! reachable.

use std::collections::{BTreeMap, HashMap};

use super::mappings::Mapped;
use super::target::Target;
use super::{Ctx, paths};
use crate::check::access::{PasswordPolicy, PasswordRule};
use crate::check::error::{AccessError, ActionError, PolicyError};
use crate::check::files::FileId;
use crate::check::model::{
    Action, ActionKind, FieldDef, FieldType, Invite, Mapping, MatchExisting, Policy, Reaction,
    Situation,
};
use crate::scim::error::ScimType;
use crate::scim::schema::ResourceKind;
use crate::syntax::{Span, ast};

const RULES: FileId = FileId::Rules;

/// Checks the policy blocks: one per resource kind.
pub(super) fn check(
    cx: &mut Ctx<'_>,
    target: &Target,
    blocks: &[&ast::PolicyBlock],
    mapped: &Mapped,
) -> BTreeMap<ResourceKind, Policy> {
    let mut policies = BTreeMap::new();
    let mut first: HashMap<ResourceKind, Span> = HashMap::new();
    for block in blocks {
        let Some((kind, entity)) = target.resolve_block(cx, RULES, &block.kind) else {
            continue;
        };
        if let Some(first) = first.get(&kind) {
            let error = PolicyError::SecondPolicy {
                kind,
                first: *first,
            };
            cx.report(RULES, block.kind.span, error);
            continue;
        }
        first.insert(kind, block.kind.span);
        let subject = Subject {
            target,
            kind,
            entity: &entity,
            mapped,
        };
        policies.insert(kind, subject.policy(cx, block));
    }
    policies
}

/// What one policy block governs: a resource kind, its entity and mappings.
struct Subject<'a> {
    target: &'a Target,
    kind: ResourceKind,
    entity: &'a str,
    mapped: &'a Mapped,
}

impl Subject<'_> {
    fn policy(&self, cx: &mut Ctx<'_>, block: &ast::PolicyBlock) -> Policy {
        let mut invite: Option<(Invite, Span)> = None;
        let mut match_existing: Option<(MatchExisting, Span)> = None;
        let mut password: Option<(PasswordRule, Span)> = None;
        let mut reactions = Vec::new();
        for statement in &block.statements {
            match statement {
                ast::PolicyStmt::Invite(stmt) => {
                    if let Some((_, first)) = invite {
                        second_statement(cx, stmt.span, first, "invite");
                        continue;
                    }
                    let origin = cx.origin(RULES, stmt.span);
                    let invite_stmt = Invite {
                        send: stmt.send,
                        origin,
                    };
                    invite = Some((invite_stmt, stmt.span));
                }
                ast::PolicyStmt::Match(stmt) => {
                    if let Some((_, first)) = match_existing {
                        second_statement(cx, stmt.span, first, "match existing by");
                        continue;
                    }
                    match_existing = self.match_existing(cx, stmt).map(|m| (m, stmt.span));
                }
                ast::PolicyStmt::Password(stmt) => {
                    if let Some((_, first)) = password {
                        second_statement(cx, stmt.span, first, "password");
                        continue;
                    }
                    if self.kind != ResourceKind::User {
                        let error = AccessError::PasswordWithoutPasswords { kind: self.kind };
                        cx.report(RULES, stmt.span, error);
                        continue;
                    }
                    let policy = match stmt.mode {
                        ast::PasswordMode::Discard => PasswordPolicy::Discard,
                        ast::PasswordMode::Hash => PasswordPolicy::Hash,
                    };
                    let rule = PasswordRule {
                        policy,
                        origin: cx.origin(RULES, stmt.span),
                    };
                    password = Some((rule, stmt.span));
                }
                ast::PolicyStmt::Reaction(stmt) => reactions.push((self.reaction(cx, stmt), stmt)),
            }
        }
        Policy {
            invite: invite.map(|(invite, _)| invite),
            match_existing: match_existing.map(|(found, _)| found),
            password: password.map(|(rule, _)| rule),
            reactions: arms(cx, reactions),
        }
    }

    /// `match existing by FIELD;` with FIELD a unique String.
    fn match_existing(&self, cx: &mut Ctx<'_>, stmt: &ast::MatchStmt) -> Option<MatchExisting> {
        let field = self
            .target
            .require_field(cx, RULES, self.entity, &stmt.field)?;
        let is_key = |f: &FieldDef| f.unique && f.ty == FieldType::String;
        if !is_key(field) {
            let error = PolicyError::MatchFieldNotUnique {
                field: self.target.declared(self.entity, field),
                entity: self.entity.to_string(),
                candidates: self.target.field_names(self.entity, is_key),
            };
            cx.report(RULES, stmt.field.span, error);
            return None;
        }
        Some(MatchExisting {
            field: field.name.clone(),
            origin: cx.origin(RULES, stmt.span),
        })
    }

    /// One reaction; `None` when any part of it does not check.
    fn reaction(&self, cx: &mut Ctx<'_>, stmt: &ast::ReactionStmt) -> Option<Reaction> {
        let situation = Situation::parse(&stmt.situation.node);
        if situation.is_none() {
            let error = PolicyError::UnknownSituation {
                name: stmt.situation.node.clone(),
            };
            cx.report(RULES, stmt.situation.span, error);
        }
        let guard = stmt
            .guard
            .as_ref()
            .map(|guard| paths::guard(cx, self.kind, guard));
        let action = self.action(cx, &stmt.action);
        let guard = match guard {
            Some(None) => return None,
            Some(Some(guard)) => Some(guard),
            None => None,
        };
        Some(Reaction {
            situation: situation?,
            guard,
            action: action?,
            origin: cx.origin(RULES, stmt.span),
        })
    }

    fn action(&self, cx: &mut Ctx<'_>, action: &ast::ActionExpr) -> Option<Action> {
        let Some(kind) = ActionKind::parse(&action.name.node) else {
            let error = ActionError::Unknown {
                name: action.name.node.clone(),
            };
            cx.report(RULES, action.name.span, error);
            return None;
        };
        match (kind.without_argument(), &action.argument) {
            (Some(simple), None) => Some(simple),
            (Some(_), Some(argument)) => {
                cx.report(
                    RULES,
                    argument.span,
                    ActionError::TakesNoArgument { action: kind },
                );
                None
            }
            (None, None) => {
                cx.report(
                    RULES,
                    action.span,
                    ActionError::NeedsArgument { action: kind },
                );
                None
            }
            (None, Some(argument)) if kind == ActionKind::Reject => reject(cx, argument),
            (None, Some(argument)) => self.skip(cx, argument),
        }
    }

    /// `skip FIELD` with FIELD a mapped Ref field.
    fn skip(&self, cx: &mut Ctx<'_>, argument: &ast::Ident) -> Option<Action> {
        let field = self
            .target
            .require_field(cx, RULES, self.entity, argument)?;
        if self.mapped.failed(self.kind, &field.name) {
            return None;
        }
        let mapped: &[Mapping] = self.mapped.of(self.kind);
        let is_mapped = mapped.iter().any(|m| m.target == field.name);
        if matches!(field.ty, FieldType::Ref(_)) && is_mapped {
            return Some(Action::Skip(field.name.clone()));
        }
        let error = ActionError::SkipNotRef {
            written: argument.node.clone(),
            field: field.name.clone(),
            ty: field.ty.clone(),
            mapped: is_mapped,
            refs: mapped
                .iter()
                .filter(|m| matches!(m.target_type, FieldType::Ref(_)))
                .map(|m| m.target.clone())
                .collect(),
        };
        cx.report(RULES, argument.span, error);
        None
    }
}

/// `reject SCIMTYPE`.
fn reject(cx: &mut Ctx<'_>, argument: &ast::Ident) -> Option<Action> {
    let scim_type = ScimType::parse(&argument.node);
    if scim_type.is_none() {
        let error = ActionError::UnknownScimType {
            name: argument.node.clone(),
        };
        cx.report(RULES, argument.span, error);
    }
    scim_type.map(Action::Reject)
}

fn second_statement(cx: &mut Ctx<'_>, span: Span, first: Span, statement: &'static str) {
    cx.report(
        RULES,
        span,
        PolicyError::SecondStatement { statement, first },
    );
}

/// The reactions kept, in order, after exhaustiveness and reachability per situation
/// (judged from the syntax alone, so a reaction that did not check still counts).
fn arms(cx: &mut Ctx<'_>, reactions: Vec<(Option<Reaction>, &ast::ReactionStmt)>) -> Vec<Reaction> {
    let mut unguarded: HashMap<Situation, Span> = HashMap::new();
    let mut last: BTreeMap<Situation, Span> = BTreeMap::new();
    let mut kept = Vec::new();
    for (reaction, stmt) in reactions {
        let Some(situation) = Situation::parse(&stmt.situation.node) else {
            continue;
        };
        if let Some(always) = unguarded.get(&situation) {
            let error = PolicyError::UnreachableReaction {
                situation,
                always: *always,
            };
            cx.report(RULES, stmt.span, error);
            continue;
        }
        last.insert(situation, stmt.span);
        if stmt.guard.is_none() {
            unguarded.insert(situation, stmt.span);
        }
        kept.extend(reaction);
    }
    for (situation, span) in last {
        if !unguarded.contains_key(&situation) {
            cx.report(RULES, span, PolicyError::NotExhaustive { situation });
        }
    }
    kept
}
