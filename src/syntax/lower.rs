//! pest pairs -> typed AST. Lowering never panics: a parse tree of an unexpected shape
//! (which the grammar should make impossible) becomes [`SyntaxError::Malformed`].

use std::num::NonZeroUsize;

use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use super::ast::{
    ActionExpr, AllOf, ArgumentExpr, Block, CompareExpr, EditionsBlock, EntityDecl, FieldDecl,
    FieldFlag, File, FilterExpr, GuardExpr, Header, HookStmt, Ident, InviteStmt, Item, LevelDecl,
    LevelFlag, LiteralExpr, MappingRule, MappingStmt, MatchStmt, Modifier, NeedsStmt, PasswordMode,
    PasswordStmt, PathExpr, PathSegmentExpr, PolicyStmt, ReactionStmt, RemoveStmt, RolesBlock,
    ScopeBlock, Span, Spanned, SyncGroup, TargetDecl, TransformCall, TypeExpr,
};
use super::error::{Expected, Found, Punct, SyntaxError};

mod grammar {
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "grammar/rules.pest"]
    pub struct RulesParser;
}

use grammar::{Rule, RulesParser};

/// Upper bound on rule calls in one parse: pathological input ends in an error instead of
/// unbounded work or a deep stack. The default profile needs a few thousand calls.
const CALL_LIMIT: usize = 5_000_000;

/// Parses and lowers one rules file; the first syntax error ends this attempt.
pub(super) fn parse_once(source: &str) -> Result<File, SyntaxError> {
    pest::set_call_limit(NonZeroUsize::new(CALL_LIMIT));
    let mut pairs =
        RulesParser::parse(Rule::file, source).map_err(|err| from_pest(source, &err))?;
    let file = pairs.next().ok_or(SyntaxError::Malformed {
        span: Span::new(0, 0),
    })?;
    lower_file(&Node::new(file))
}

type Lowered<T> = Result<T, SyntaxError>;

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let span = pair.as_span();
    Span::new(span.start(), span.end())
}

fn spanned_str(pair: &Pair<'_, Rule>) -> Spanned<String> {
    Spanned {
        node: pair.as_str().to_string(),
        span: span_of(pair),
    }
}

/// One parse-tree node and its children, which lowering picks by rule.
struct Node<'i> {
    span: Span,
    text: &'i str,
    children: Vec<Pair<'i, Rule>>,
}

impl<'i> Node<'i> {
    fn new(pair: Pair<'i, Rule>) -> Node<'i> {
        Node {
            span: span_of(&pair),
            text: pair.as_str(),
            children: pair.into_inner().collect(),
        }
    }

    fn malformed(&self) -> SyntaxError {
        SyntaxError::Malformed { span: self.span }
    }

    /// The children of one rule, in order.
    fn all(&self, rule: Rule) -> impl Iterator<Item = &Pair<'i, Rule>> {
        self.children.iter().filter(move |p| p.as_rule() == rule)
    }

    /// The `n`th child of `rule`; its absence means the tree is malformed.
    fn nth(&self, rule: Rule, n: usize) -> Lowered<&Pair<'i, Rule>> {
        self.all(rule).nth(n).ok_or_else(|| self.malformed())
    }

    /// The first child of `rule`, as a node.
    fn child(&self, rule: Rule) -> Lowered<Node<'i>> {
        self.nth(rule, 0).map(|pair| Node::new(pair.clone()))
    }

    /// The `n`th identifier child.
    fn ident(&self, n: usize) -> Lowered<Ident> {
        self.nth(Rule::ident, n).map(spanned_str)
    }

    /// The span of the (first) child of `rule`, typically a keyword.
    fn span_of(&self, rule: Rule) -> Lowered<Span> {
        self.nth(rule, 0).map(span_of)
    }

    /// Lowers every child of `rule` with `lower`.
    fn lower_each<T>(
        &self,
        rule: Rule,
        lower: impl Fn(&Node<'i>) -> Lowered<T>,
    ) -> Lowered<Vec<T>> {
        self.all(rule)
            .map(|pair| lower(&Node::new(pair.clone())))
            .collect()
    }

    /// The only child, as a node (for rules that are one choice among alternatives).
    fn single(&self) -> Lowered<Node<'i>> {
        self.children
            .first()
            .map(|pair| Node::new(pair.clone()))
            .ok_or_else(|| self.malformed())
    }

    /// The rule of the only child: which alternative was taken.
    fn rule_of_single(&self) -> Lowered<Rule> {
        self.children
            .first()
            .map(Pair::as_rule)
            .ok_or_else(|| self.malformed())
    }
}

fn lower_file(node: &Node<'_>) -> Lowered<File> {
    let mut items = Vec::new();
    for pair in &node.children {
        let inner = Node::new(pair.clone());
        let item = match pair.as_rule() {
            Rule::target_decl => Item::Target(lower_target(&inner)?),
            Rule::header => Item::Header(lower_header(&inner)?),
            Rule::scope_block => Item::Scope(lower_scope(&inner)?),
            Rule::editions_block => Item::Editions(EditionsBlock {
                keyword: inner.span_of(Rule::kw_editions)?,
                editions: inner.lower_each(Rule::edition_decl, lower_level)?,
                span: inner.span,
            }),
            Rule::roles_block => Item::Roles(RolesBlock {
                keyword: inner.span_of(Rule::kw_roles)?,
                roles: inner.lower_each(Rule::role_decl, lower_level)?,
                needs: inner.lower_each(Rule::needs_stmt, |needs| {
                    Ok(NeedsStmt {
                        role: lower_level_name(&needs.child(Rule::level_name)?)?,
                        span: needs.span,
                    })
                })?,
                span: inner.span,
            }),
            Rule::mapping_block => {
                Item::Mapping(lower_block(&inner, Rule::kw_mapping, mapping_statement)?)
            }
            Rule::policy_block => {
                Item::Policy(lower_block(&inner, Rule::kw_policy, policy_statement)?)
            }
            Rule::hooks_block => Item::Hooks(lower_block(&inner, Rule::kw_hooks, hook_statement)?),
            _ => continue,
        };
        items.push(item);
    }
    Ok(File {
        items,
        span: node.span,
    })
}

fn lower_target(node: &Node<'_>) -> Lowered<TargetDecl> {
    Ok(TargetDecl {
        keyword: node.span_of(Rule::kw_target)?,
        name: node.ident(0)?,
        entities: node.lower_each(Rule::entity_decl, lower_entity)?,
        span: node.span,
    })
}

fn lower_entity(node: &Node<'_>) -> Lowered<EntityDecl> {
    Ok(EntityDecl {
        name: node.ident(0)?,
        fields: node.lower_each(Rule::field_decl, lower_field)?,
        span: node.span,
    })
}

fn lower_field(node: &Node<'_>) -> Lowered<FieldDecl> {
    let flags = node.lower_each(Rule::field_flag, |flag| {
        let node = match flag.rule_of_single()? {
            Rule::kw_unique => FieldFlag::Unique,
            _ => FieldFlag::Readonly,
        };
        Ok(Spanned {
            node,
            span: flag.span,
        })
    })?;
    Ok(FieldDecl {
        name: node.ident(0)?,
        ty: lower_type(&node.child(Rule::type_expr)?)?,
        flags,
        span: node.span,
    })
}

fn lower_type(node: &Node<'_>) -> Lowered<TypeExpr> {
    Ok(TypeExpr {
        name: node.ident(0)?,
        argument: node.ident(1).ok(),
        span: node.span,
    })
}

fn lower_header(node: &Node<'_>) -> Lowered<Header> {
    Ok(Header {
        keyword: node.span_of(Rule::kw_rules)?,
        name: lower_string(node.nth(Rule::string, 0)?),
        target: node.ident(0)?,
        version: spanned_str(node.nth(Rule::int, 0)?),
        span: node.span,
    })
}

fn lower_scope(node: &Node<'_>) -> Lowered<ScopeBlock> {
    Ok(ScopeBlock {
        keyword: node.span_of(Rule::kw_scope)?,
        sync_groups: node.lower_each(Rule::sync_group, |group| {
            Ok(SyncGroup {
                group: lower_string(group.nth(Rule::string, 0)?),
                span: group.span,
            })
        })?,
        span: node.span,
    })
}

/// An edition or role: its name and flags (`edition_flag` and `role_flag` alike).
fn lower_level(node: &Node<'_>) -> Lowered<LevelDecl> {
    let mut flags = Vec::new();
    for pair in node
        .all(Rule::edition_flag)
        .chain(node.all(Rule::role_flag))
    {
        let flag = Node::new(pair.clone());
        let kind = match flag.rule_of_single()? {
            Rule::kw_provisioning => LevelFlag::Provisioning,
            _ => LevelFlag::Default,
        };
        flags.push(Spanned {
            node: kind,
            span: flag.span,
        });
    }
    flags.sort_by_key(|flag| flag.span.start);
    Ok(LevelDecl {
        name: lower_level_name(&node.child(Rule::level_name)?)?,
        flags,
        span: node.span,
    })
}

/// A name written bare (`Admin`) or quoted (`"Lite Admin"`).
fn lower_level_name(node: &Node<'_>) -> Lowered<Spanned<String>> {
    let inner = node.children.first().ok_or_else(|| node.malformed())?;
    Ok(match inner.as_rule() {
        Rule::string => lower_string(inner),
        _ => spanned_str(inner),
    })
}

fn mapping_statement(rule: Rule, node: &Node<'_>) -> Option<Lowered<MappingStmt>> {
    Some(match rule {
        Rule::mapping_rule => lower_mapping_rule(node).map(MappingStmt::Map),
        Rule::remove_stmt => node.ident(0).map(|target| {
            MappingStmt::Remove(RemoveStmt {
                target,
                span: node.span,
            })
        }),
        _ => return None,
    })
}

fn lower_mapping_rule(node: &Node<'_>) -> Lowered<MappingRule> {
    let modifier = match node.all(Rule::modifier).next() {
        Some(pair) => {
            let modifier = Node::new(pair.clone());
            let kind = match modifier.rule_of_single()? {
                Rule::kw_locked => Modifier::Locked,
                _ => Modifier::Custom,
            };
            Some(Spanned {
                node: kind,
                span: modifier.span,
            })
        }
        None => None,
    };
    Ok(MappingRule {
        modifier,
        target: node.ident(0)?,
        source: lower_path(&node.child(Rule::source_path)?)?,
        transforms: node.lower_each(Rule::transform, lower_transform)?,
        span: node.span,
    })
}

fn lower_transform(node: &Node<'_>) -> Lowered<TransformCall> {
    let arguments = if node.all(Rule::lparen).next().is_some() {
        Some(node.lower_each(Rule::transform_arg, |argument| {
            let value = argument.single()?;
            let node = match argument.rule_of_single()? {
                Rule::literal => ArgumentExpr::Literal(lower_literal(&value)?.node),
                _ => ArgumentExpr::Name(value.text.to_string()),
            };
            Ok(Spanned {
                node,
                span: argument.span,
            })
        })?)
    } else {
        None
    };
    Ok(TransformCall {
        name: node.ident(0)?,
        arguments,
        span: node.span,
    })
}

fn lower_path(node: &Node<'_>) -> Lowered<PathExpr> {
    let mut urn = None;
    let mut segments: Vec<PathSegmentExpr> = Vec::new();
    for pair in &node.children {
        match pair.as_rule() {
            Rule::urn => {
                let (schema, rest) = split_urn(&spanned_str(pair));
                urn = Some(schema);
                segments.extend(rest);
            }
            Rule::attr_name => {
                let name = spanned_str(pair);
                segments.push(PathSegmentExpr {
                    span: name.span,
                    name,
                    filter: None,
                });
            }
            Rule::value_filter => {
                let filter = lower_filter(&Node::new(pair.clone()))?;
                let segment = segments.last_mut().ok_or_else(|| node.malformed())?;
                segment.span = Span::new(segment.span.start, filter.span.end);
                segment.filter = Some(filter);
            }
            _ => {}
        }
    }
    Ok(PathExpr {
        urn,
        segments,
        span: node.span,
    })
}

/// `urn:...:User:manager.value`: the schema URN ends at the last `:`; the rest is a dotted
/// attribute path.
fn split_urn(urn: &Spanned<String>) -> (Spanned<String>, Vec<PathSegmentExpr>) {
    let text = urn.node.as_str();
    let start = urn.span.start;
    let (schema, rest, rest_start) = match text.rfind(':') {
        Some(colon) => (&text[..colon], &text[colon + 1..], start + colon + 1),
        None => (text, "", start + text.len()),
    };
    let mut offset = rest_start;
    let mut segments = Vec::new();
    for name in rest.split('.') {
        let span = Span::new(offset, offset + name.len());
        segments.push(PathSegmentExpr {
            name: Spanned {
                node: name.to_string(),
                span,
            },
            filter: None,
            span,
        });
        offset += name.len() + 1;
    }
    let schema = Spanned {
        node: schema.to_string(),
        span: Span::new(start, start + schema.len()),
    };
    (schema, segments)
}

fn lower_filter(node: &Node<'_>) -> Lowered<FilterExpr> {
    lower_all_of(node, Rule::filter_term, |term| {
        term.nth(Rule::attr_name, 0).map(spanned_str)
    })
}

/// Comparisons of rule `term`, each `SUBJECT OP LITERAL` with the subject lowered by
/// `subject`.
fn lower_all_of<S>(
    node: &Node<'_>,
    term: Rule,
    subject: fn(&Node<'_>) -> Lowered<S>,
) -> Lowered<AllOf<S>> {
    Ok(AllOf {
        terms: node.lower_each(term, |term| {
            Ok(CompareExpr {
                subject: subject(term)?,
                op: spanned_str(term.nth(Rule::compare_op, 0)?),
                value: lower_literal(&term.child(Rule::literal)?)?,
                span: term.span,
            })
        })?,
        span: node.span,
    })
}

fn lower_literal(node: &Node<'_>) -> Lowered<Spanned<LiteralExpr>> {
    let inner = node.children.first().ok_or_else(|| node.malformed())?;
    let literal = match inner.as_rule() {
        Rule::string => LiteralExpr::String(lower_string(inner).node),
        Rule::int => LiteralExpr::Int(inner.as_str().to_string()),
        Rule::kw_true => LiteralExpr::Bool(true),
        Rule::kw_false => LiteralExpr::Bool(false),
        _ => LiteralExpr::Null,
    };
    Ok(Spanned {
        node: literal,
        span: node.span,
    })
}

/// A string literal without its quotes, escapes resolved (`\"`, `\\`, `\n`, `\t`; any
/// other escaped character stands for itself).
fn lower_string(pair: &Pair<'_, Rule>) -> Spanned<String> {
    let raw = pair.as_str();
    let body = raw
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(raw);
    let mut text = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => text.push('\n'),
                Some('t') => text.push('\t'),
                Some(other) => text.push(other),
                None => {}
            }
        } else {
            text.push(c);
        }
    }
    Spanned {
        node: text,
        span: span_of(pair),
    }
}

fn policy_statement(rule: Rule, node: &Node<'_>) -> Option<Lowered<PolicyStmt>> {
    Some(match rule {
        Rule::invite_stmt => node.child(Rule::invite_mode).and_then(|mode| {
            Ok(PolicyStmt::Invite(InviteStmt {
                send: mode.rule_of_single()? == Rule::kw_always,
                span: node.span,
            }))
        }),
        Rule::password_stmt => node.child(Rule::password_mode).and_then(|mode| {
            Ok(PolicyStmt::Password(PasswordStmt {
                mode: match mode.rule_of_single()? {
                    Rule::kw_hash => PasswordMode::Hash,
                    _ => PasswordMode::Discard,
                },
                span: node.span,
            }))
        }),
        Rule::match_stmt => node.ident(0).map(|field| {
            PolicyStmt::Match(MatchStmt {
                field,
                span: node.span,
            })
        }),
        Rule::reaction => lower_reaction(node).map(PolicyStmt::Reaction),
        _ => return None,
    })
}

fn lower_reaction(node: &Node<'_>) -> Lowered<ReactionStmt> {
    let guard = match node.all(Rule::guard).next() {
        Some(pair) => Some(lower_guard(&Node::new(pair.clone()))?),
        None => None,
    };
    let action = node.child(Rule::action)?;
    Ok(ReactionStmt {
        situation: node.ident(0)?,
        guard,
        action: ActionExpr {
            name: action.ident(0)?,
            argument: action.ident(1).ok(),
            span: action.span,
        },
        span: node.span,
    })
}

fn lower_guard(node: &Node<'_>) -> Lowered<GuardExpr> {
    lower_all_of(node, Rule::guard_term, |term| {
        lower_path(&term.child(Rule::source_path)?)
    })
}

fn hook_statement(rule: Rule, node: &Node<'_>) -> Option<Lowered<HookStmt>> {
    (rule == Rule::hook).then(|| {
        Ok(HookStmt {
            field: node.ident(0)?,
            script: lower_string(node.nth(Rule::string, 0)?),
            function: node.ident(1)?,
            span: node.span,
        })
    })
}

/// `KEYWORD KIND { statements }`, each child that `statement` recognises (by its rule)
/// lowered by it, in order.
fn lower_block<S>(
    node: &Node<'_>,
    keyword: Rule,
    statement: fn(Rule, &Node<'_>) -> Option<Lowered<S>>,
) -> Lowered<Block<S>> {
    let mut statements = Vec::new();
    for pair in &node.children {
        if let Some(lowered) = statement(pair.as_rule(), &Node::new(pair.clone())) {
            statements.push(lowered?);
        }
    }
    Ok(Block {
        keyword: node.span_of(keyword)?,
        kind: node.ident(0)?,
        statements,
        span: node.span,
    })
}

/// pest's error -> ours, with what was expected as [`Expected`] values.
fn from_pest(source: &str, err: &pest::error::Error<Rule>) -> SyntaxError {
    let offset = match err.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    }
    .min(source.len());
    let (span, found) = found_at(source, offset);
    match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut expected: Vec<Expected> = Vec::new();
            for rule in positives {
                let item = describe(*rule);
                if !expected.contains(&item) {
                    expected.push(item);
                }
            }
            SyntaxError::Unexpected {
                span,
                expected,
                found,
                preceding: preceding(source, offset),
            }
        }
        ErrorVariant::CustomError { message } => SyntaxError::TooComplex {
            span,
            reason: message.clone(),
        },
    }
}

/// The last character before `offset` that is not whitespace.
fn preceding(source: &str, offset: usize) -> Option<Span> {
    let before = source.get(..offset)?.trim_end();
    let last = before.chars().next_back()?;
    Some(Span::new(before.len() - last.len_utf8(), before.len()))
}

/// The token at `offset`: a word, one character, or the end of the file.
fn found_at(source: &str, offset: usize) -> (Span, Found) {
    let rest = source.get(offset..).unwrap_or("");
    match rest.chars().next() {
        // Point at the last character written, so the report shows where the file stops;
        // an empty file gets an empty span.
        None => (
            preceding(source, offset).unwrap_or(Span::new(offset, offset)),
            Found::EndOfFile,
        ),
        Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (
                Span::new(offset, offset + len),
                Found::Word(rest[..len].to_string()),
            )
        }
        Some(c) => (Span::new(offset, offset + c.len_utf8()), Found::Char(c)),
    }
}

/// What a grammar rule stands for in "expected ...".
fn describe(rule: Rule) -> Expected {
    match rule {
        Rule::EOI => Expected::EndOfFile,
        Rule::target_decl | Rule::kw_target => Expected::Keyword("target"),
        Rule::header | Rule::kw_rules => Expected::Keyword("rules"),
        Rule::scope_block | Rule::kw_scope => Expected::Keyword("scope"),
        Rule::mapping_block | Rule::kw_mapping => Expected::Keyword("mapping"),
        Rule::policy_block | Rule::kw_policy => Expected::Keyword("policy"),
        Rule::hooks_block | Rule::kw_hooks => Expected::Keyword("hooks"),
        Rule::editions_block | Rule::kw_editions => Expected::Keyword("editions"),
        Rule::roles_block | Rule::kw_roles => Expected::Keyword("roles"),
        Rule::kw_provisioning | Rule::needs_stmt => Expected::Keyword("provisioning"),
        Rule::role_flag | Rule::kw_default => Expected::Keyword("default"),
        Rule::kw_needs => Expected::Keyword("needs"),
        Rule::password_stmt | Rule::kw_password => Expected::Keyword("password"),
        Rule::kw_discard => Expected::Keyword("discard"),
        Rule::kw_hash => Expected::Keyword("hash"),
        Rule::edition_flag => Expected::EditionFlag,
        Rule::password_mode => Expected::PasswordMode,
        Rule::edition_decl | Rule::role_decl | Rule::level_name => Expected::LevelName,
        Rule::entity_decl | Rule::kw_entity => Expected::Keyword("entity"),
        Rule::kw_unique => Expected::Keyword("unique"),
        Rule::kw_readonly => Expected::Keyword("readonly"),
        Rule::kw_version => Expected::Keyword("version"),
        Rule::sync_group | Rule::kw_sync_group => Expected::Keyword("sync_group"),
        Rule::remove_stmt | Rule::kw_remove => Expected::Keyword("remove"),
        Rule::kw_locked => Expected::Keyword("locked"),
        Rule::kw_custom => Expected::Keyword("custom"),
        Rule::invite_stmt | Rule::kw_invite => Expected::Keyword("invite"),
        Rule::kw_never => Expected::Keyword("never"),
        Rule::kw_always => Expected::Keyword("always"),
        Rule::match_stmt | Rule::kw_match => Expected::Keyword("match"),
        Rule::kw_existing => Expected::Keyword("existing"),
        Rule::kw_by => Expected::Keyword("by"),
        Rule::reaction | Rule::hook | Rule::kw_on => Expected::Keyword("on"),
        Rule::guard | Rule::kw_when => Expected::Keyword("when"),
        Rule::kw_and => Expected::Keyword("and"),
        Rule::kw_change => Expected::Keyword("change"),
        Rule::kw_run => Expected::Keyword("run"),
        Rule::kw_fn => Expected::Keyword("fn"),
        Rule::kw_true => Expected::Keyword("true"),
        Rule::kw_false => Expected::Keyword("false"),
        Rule::kw_null => Expected::Keyword("null"),
        Rule::field_decl => Expected::FieldDeclaration,
        Rule::type_expr => Expected::Type,
        Rule::field_flag => Expected::FieldFlag,
        Rule::mapping_rule => Expected::Mapping,
        Rule::modifier => Expected::Modifier,
        Rule::transform => Expected::Transform,
        Rule::transform_arg => Expected::TransformArgument,
        Rule::invite_mode => Expected::InviteMode,
        Rule::guard_term => Expected::GuardComparison,
        Rule::action => Expected::Action,
        Rule::source_path => Expected::ScimPath,
        Rule::urn => Expected::SchemaUrn,
        Rule::attr_name => Expected::AttributeName,
        Rule::value_filter => Expected::ValueFilter,
        Rule::filter_term => Expected::FilterComparison,
        Rule::compare_op => Expected::Operator,
        Rule::literal => Expected::Value,
        Rule::ident => Expected::Name,
        Rule::int => Expected::Number,
        Rule::string | Rule::string_inner => Expected::String,
        Rule::file | Rule::item => Expected::RulesFile,
        Rule::ident_char => Expected::NameCharacter,
        Rule::WHITESPACE | Rule::COMMENT => Expected::Whitespace,
        Rule::lbrace => Expected::Punct(Punct::LBrace),
        Rule::rbrace => Expected::Punct(Punct::RBrace),
        Rule::lparen => Expected::Punct(Punct::LParen),
        Rule::rparen => Expected::Punct(Punct::RParen),
        Rule::lbracket => Expected::Punct(Punct::LBracket),
        Rule::rbracket => Expected::Punct(Punct::RBracket),
        Rule::langle => Expected::Punct(Punct::LAngle),
        Rule::rangle => Expected::Punct(Punct::RAngle),
        Rule::semi => Expected::Punct(Punct::Semi),
        Rule::colon => Expected::Punct(Punct::Colon),
        Rule::comma => Expected::Punct(Punct::Comma),
        Rule::dot => Expected::Punct(Punct::Dot),
        Rule::pipe => Expected::Punct(Punct::Pipe),
        Rule::arrow => Expected::Punct(Punct::Arrow),
        Rule::larrow => Expected::Punct(Punct::LArrow),
    }
}
