//! pest pairs -> typed AST. Lowering never panics: a parse tree of an unexpected shape
//! (which the grammar should make impossible) becomes a [`SyntaxError`], like any other.

use std::num::NonZeroUsize;

use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use super::SyntaxError;
use super::ast::*;

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

/// Parses and lowers one rules file.
pub(super) fn parse(source: &str) -> Result<File, SyntaxError> {
    pest::set_call_limit(NonZeroUsize::new(CALL_LIMIT));
    let mut pairs = RulesParser::parse(Rule::file, source).map_err(|err| from_pest(source, err))?;
    let file = pairs.next().ok_or_else(|| malformed(Span::new(0, 0)))?;
    lower_file(file)
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

fn malformed(span: Span) -> SyntaxError {
    SyntaxError {
        message: "internal error: unexpected parse tree shape".to_string(),
        span,
        expected: Vec::new(),
    }
}

fn required<T>(value: Option<T>, span: Span) -> Lowered<T> {
    value.ok_or_else(|| malformed(span))
}

fn lower_file(pair: Pair<'_, Rule>) -> Lowered<File> {
    let span = span_of(&pair);
    let mut items = Vec::new();
    for inner in pair.into_inner() {
        let item = match inner.as_rule() {
            Rule::target_decl => Item::Target(lower_target(inner)?),
            Rule::header => Item::Header(lower_header(inner)?),
            Rule::scope_block => Item::Scope(lower_scope(inner)?),
            Rule::mapping_block => Item::Mapping(lower_mapping_block(inner)?),
            Rule::policy_block => Item::Policy(lower_policy(inner)?),
            Rule::hooks_block => Item::Hooks(lower_hooks(inner)?),
            _ => continue,
        };
        items.push(item);
    }
    Ok(File { items, span })
}

fn lower_target(pair: Pair<'_, Rule>) -> Lowered<TargetDecl> {
    let span = span_of(&pair);
    let (mut keyword, mut name, mut entities) = (None, None, Vec::new());
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::kw_target => keyword = Some(span_of(&inner)),
            Rule::ident => name = Some(spanned_str(&inner)),
            Rule::entity_decl => entities.push(lower_entity(inner)?),
            _ => {}
        }
    }
    Ok(TargetDecl {
        keyword: required(keyword, span)?,
        name: required(name, span)?,
        entities,
        span,
    })
}

fn lower_entity(pair: Pair<'_, Rule>) -> Lowered<EntityDecl> {
    let span = span_of(&pair);
    let (mut name, mut fields) = (None, Vec::new());
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::ident => name = Some(spanned_str(&inner)),
            Rule::field_decl => fields.push(lower_field(inner)?),
            _ => {}
        }
    }
    Ok(EntityDecl {
        name: required(name, span)?,
        fields,
        span,
    })
}

fn lower_field(pair: Pair<'_, Rule>) -> Lowered<FieldDecl> {
    let span = span_of(&pair);
    let (mut name, mut ty, mut flags) = (None, None, Vec::new());
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::ident => name = Some(spanned_str(&inner)),
            Rule::type_expr => ty = Some(lower_type(inner)?),
            Rule::field_flag => {
                let node = if inner.as_str() == "unique" {
                    FieldFlag::Unique
                } else {
                    FieldFlag::Readonly
                };
                flags.push(Spanned {
                    node,
                    span: span_of(&inner),
                });
            }
            _ => {}
        }
    }
    Ok(FieldDecl {
        name: required(name, span)?,
        ty: required(ty, span)?,
        flags,
        span,
    })
}

fn lower_type(pair: Pair<'_, Rule>) -> Lowered<TypeExpr> {
    let span = span_of(&pair);
    let mut idents = pair
        .into_inner()
        .filter(|p| p.as_rule() == Rule::ident)
        .map(|p| spanned_str(&p));
    let name = required(idents.next(), span)?;
    Ok(TypeExpr {
        name,
        argument: idents.next(),
        span,
    })
}

fn lower_header(pair: Pair<'_, Rule>) -> Lowered<Header> {
    let span = span_of(&pair);
    let (mut keyword, mut name, mut target, mut version) = (None, None, None, None);
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::kw_rules => keyword = Some(span_of(&inner)),
            Rule::string => name = Some(lower_string(inner)),
            Rule::ident => target = Some(spanned_str(&inner)),
            Rule::int => version = Some(spanned_str(&inner)),
            _ => {}
        }
    }
    Ok(Header {
        keyword: required(keyword, span)?,
        name: required(name, span)?,
        target: required(target, span)?,
        version: required(version, span)?,
        span,
    })
}

fn lower_scope(pair: Pair<'_, Rule>) -> Lowered<ScopeBlock> {
    let span = span_of(&pair);
    let (mut keyword, mut sync_groups) = (None, Vec::new());
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::kw_scope => keyword = Some(span_of(&inner)),
            Rule::sync_group => {
                let statement = span_of(&inner);
                let group = inner
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::string)
                    .map(lower_string);
                sync_groups.push(SyncGroup {
                    group: required(group, statement)?,
                    span: statement,
                });
            }
            _ => {}
        }
    }
    Ok(ScopeBlock {
        keyword: required(keyword, span)?,
        sync_groups,
        span,
    })
}

fn lower_mapping_block(pair: Pair<'_, Rule>) -> Lowered<MappingBlock> {
    let span = span_of(&pair);
    let (mut keyword, mut kind, mut statements) = (None, None, Vec::new());
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::kw_mapping => keyword = Some(span_of(&inner)),
            Rule::ident => kind = Some(spanned_str(&inner)),
            Rule::mapping_rule => statements.push(MappingStmt::Map(lower_mapping_rule(inner)?)),
            Rule::remove_stmt => {
                let statement = span_of(&inner);
                let target = inner
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::ident)
                    .map(|p| spanned_str(&p));
                statements.push(MappingStmt::Remove(RemoveStmt {
                    target: required(target, statement)?,
                    span: statement,
                }));
            }
            _ => {}
        }
    }
    Ok(MappingBlock {
        keyword: required(keyword, span)?,
        kind: required(kind, span)?,
        statements,
        span,
    })
}

fn lower_mapping_rule(pair: Pair<'_, Rule>) -> Lowered<MappingRule> {
    let span = span_of(&pair);
    let (mut modifier, mut target, mut source, mut transforms) = (None, None, None, Vec::new());
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::modifier => {
                let node = if inner.as_str() == "locked" {
                    Modifier::Locked
                } else {
                    Modifier::Custom
                };
                modifier = Some(Spanned {
                    node,
                    span: span_of(&inner),
                });
            }
            Rule::ident => target = Some(spanned_str(&inner)),
            Rule::source_path => source = Some(lower_path(inner)?),
            Rule::transform => transforms.push(lower_transform(inner)?),
            _ => {}
        }
    }
    Ok(MappingRule {
        modifier,
        target: required(target, span)?,
        source: required(source, span)?,
        transforms,
        span,
    })
}

fn lower_transform(pair: Pair<'_, Rule>) -> Lowered<TransformCall> {
    let span = span_of(&pair);
    let (mut name, mut arguments) = (None, None);
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::ident => name = Some(spanned_str(&inner)),
            Rule::lparen => arguments = Some(Vec::new()),
            Rule::transform_arg => {
                let arg_span = span_of(&inner);
                let value = required(inner.into_inner().next(), arg_span)?;
                let node = match value.as_rule() {
                    Rule::literal => ArgumentExpr::Literal(lower_literal(value)?.node),
                    _ => ArgumentExpr::Name(value.as_str().to_string()),
                };
                arguments.get_or_insert_with(Vec::new).push(Spanned {
                    node,
                    span: arg_span,
                });
            }
            _ => {}
        }
    }
    Ok(TransformCall {
        name: required(name, span)?,
        arguments,
        span,
    })
}

fn lower_path(pair: Pair<'_, Rule>) -> Lowered<PathExpr> {
    let span = span_of(&pair);
    let mut urn = None;
    let mut segments: Vec<PathSegmentExpr> = Vec::new();
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::urn => {
                // `urn:...:User:manager.value`: the schema URN ends at the last `:`; the
                // rest is a dotted attribute path.
                let text = inner.as_str();
                let start = span_of(&inner).start;
                let (schema, rest, rest_start) = match text.rfind(':') {
                    Some(colon) => (&text[..colon], &text[colon + 1..], start + colon + 1),
                    None => (text, "", start + text.len()),
                };
                urn = Some(Spanned {
                    node: schema.to_string(),
                    span: Span::new(start, start + schema.len()),
                });
                let mut offset = rest_start;
                for name in rest.split('.') {
                    let name_span = Span::new(offset, offset + name.len());
                    segments.push(PathSegmentExpr {
                        name: Spanned {
                            node: name.to_string(),
                            span: name_span,
                        },
                        filter: None,
                        span: name_span,
                    });
                    offset += name.len() + 1;
                }
            }
            Rule::attr_name => {
                let name = spanned_str(&inner);
                segments.push(PathSegmentExpr {
                    span: name.span,
                    name,
                    filter: None,
                });
            }
            Rule::value_filter => {
                let filter = lower_filter(inner)?;
                let segment = required(segments.last_mut(), filter.span)?;
                segment.span = Span::new(segment.span.start, filter.span.end);
                segment.filter = Some(filter);
            }
            _ => {}
        }
    }
    Ok(PathExpr {
        urn,
        segments,
        span,
    })
}

fn lower_filter(pair: Pair<'_, Rule>) -> Lowered<FilterExpr> {
    let span = span_of(&pair);
    let mut terms = Vec::new();
    for inner in pair.into_inner() {
        if inner.as_rule() != Rule::filter_term {
            continue;
        }
        let term_span = span_of(&inner);
        let (mut attribute, mut op, mut value) = (None, None, None);
        for part in inner.into_inner() {
            match part.as_rule() {
                Rule::attr_name => attribute = Some(spanned_str(&part)),
                Rule::compare_op => op = Some(spanned_str(&part)),
                Rule::literal => value = Some(lower_literal(part)?),
                _ => {}
            }
        }
        terms.push(FilterTerm {
            attribute: required(attribute, term_span)?,
            op: required(op, term_span)?,
            value: required(value, term_span)?,
            span: term_span,
        });
    }
    Ok(FilterExpr { terms, span })
}

fn lower_literal(pair: Pair<'_, Rule>) -> Lowered<Spanned<LiteralExpr>> {
    let span = span_of(&pair);
    let inner = required(pair.into_inner().next(), span)?;
    let node = match inner.as_rule() {
        Rule::string => LiteralExpr::String(lower_string(inner).node),
        Rule::int => LiteralExpr::Int(inner.as_str().to_string()),
        Rule::kw_true => LiteralExpr::Bool(true),
        Rule::kw_false => LiteralExpr::Bool(false),
        _ => LiteralExpr::Null,
    };
    Ok(Spanned { node, span })
}

/// A string literal without its quotes, escapes resolved (`\"`, `\\`, `\n`, `\t`; any
/// other escaped character stands for itself).
fn lower_string(pair: Pair<'_, Rule>) -> Spanned<String> {
    let span = span_of(&pair);
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
    Spanned { node: text, span }
}

fn lower_policy(pair: Pair<'_, Rule>) -> Lowered<PolicyBlock> {
    let span = span_of(&pair);
    let (mut keyword, mut kind, mut statements) = (None, None, Vec::new());
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::kw_policy => keyword = Some(span_of(&inner)),
            Rule::ident => kind = Some(spanned_str(&inner)),
            Rule::invite_stmt => {
                let send = inner
                    .clone()
                    .into_inner()
                    .any(|p| p.as_rule() == Rule::invite_mode && p.as_str() == "always");
                statements.push(PolicyStmt::Invite(InviteStmt {
                    send,
                    span: span_of(&inner),
                }));
            }
            Rule::match_stmt => {
                let statement = span_of(&inner);
                let field = inner
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::ident)
                    .map(|p| spanned_str(&p));
                statements.push(PolicyStmt::Match(MatchStmt {
                    field: required(field, statement)?,
                    span: statement,
                }));
            }
            Rule::reaction => statements.push(PolicyStmt::Reaction(lower_reaction(inner)?)),
            _ => {}
        }
    }
    Ok(PolicyBlock {
        keyword: required(keyword, span)?,
        kind: required(kind, span)?,
        statements,
        span,
    })
}

fn lower_reaction(pair: Pair<'_, Rule>) -> Lowered<ReactionStmt> {
    let span = span_of(&pair);
    let (mut situation, mut guard, mut action) = (None, None, None);
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::ident => situation = Some(spanned_str(&inner)),
            Rule::guard => guard = Some(lower_guard(inner)?),
            Rule::action => {
                let action_span = span_of(&inner);
                let mut idents = inner.into_inner().map(|p| spanned_str(&p));
                action = Some(ActionExpr {
                    name: required(idents.next(), action_span)?,
                    argument: idents.next(),
                    span: action_span,
                });
            }
            _ => {}
        }
    }
    Ok(ReactionStmt {
        situation: required(situation, span)?,
        guard,
        action: required(action, span)?,
        span,
    })
}

fn lower_guard(pair: Pair<'_, Rule>) -> Lowered<GuardExpr> {
    let span = span_of(&pair);
    let mut terms = Vec::new();
    for inner in pair.into_inner() {
        if inner.as_rule() != Rule::guard_term {
            continue;
        }
        let term_span = span_of(&inner);
        let (mut path, mut op, mut value) = (None, None, None);
        for part in inner.into_inner() {
            match part.as_rule() {
                Rule::source_path => path = Some(lower_path(part)?),
                Rule::compare_op => op = Some(spanned_str(&part)),
                Rule::literal => value = Some(lower_literal(part)?),
                _ => {}
            }
        }
        terms.push(GuardTermExpr {
            path: required(path, term_span)?,
            op: required(op, term_span)?,
            value: required(value, term_span)?,
            span: term_span,
        });
    }
    Ok(GuardExpr { terms, span })
}

fn lower_hooks(pair: Pair<'_, Rule>) -> Lowered<HooksBlock> {
    let span = span_of(&pair);
    let (mut keyword, mut kind, mut hooks) = (None, None, Vec::new());
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::kw_hooks => keyword = Some(span_of(&inner)),
            Rule::ident => kind = Some(spanned_str(&inner)),
            Rule::hook => {
                let statement = span_of(&inner);
                let mut idents = Vec::new();
                let mut script = None;
                for part in inner.into_inner() {
                    match part.as_rule() {
                        Rule::ident => idents.push(spanned_str(&part)),
                        Rule::string => script = Some(lower_string(part)),
                        _ => {}
                    }
                }
                let mut idents = idents.into_iter();
                hooks.push(HookStmt {
                    field: required(idents.next(), statement)?,
                    script: required(script, statement)?,
                    function: required(idents.next(), statement)?,
                    span: statement,
                });
            }
            _ => {}
        }
    }
    Ok(HooksBlock {
        keyword: required(keyword, span)?,
        kind: required(kind, span)?,
        hooks,
        span,
    })
}

/// pest's error -> our own, with "expected ..." in the language's words.
fn from_pest(source: &str, err: pest::error::Error<Rule>) -> SyntaxError {
    let offset = match err.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    }
    .min(source.len());
    let (span, found) = found_at(source, offset);
    match err.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut expected: Vec<String> = Vec::new();
            for rule in positives {
                let word = describe(rule).to_string();
                if !expected.contains(&word) {
                    expected.push(word);
                }
            }
            let message = if expected.is_empty() {
                format!("unexpected {found}")
            } else {
                format!("expected {}, found {found}", join_or(&expected))
            };
            SyntaxError {
                message,
                span,
                expected,
            }
        }
        ErrorVariant::CustomError { message } => SyntaxError {
            message: format!("the file is too complex to parse ({message})"),
            span,
            expected: Vec::new(),
        },
    }
}

/// The token at `offset`, for "found ...": a word, one character, or the end of file.
fn found_at(source: &str, offset: usize) -> (Span, String) {
    let rest = source.get(offset..).unwrap_or("");
    let mut chars = rest.char_indices();
    match chars.next() {
        None => {
            // Point at the last character written, so the report shows where the file
            // stops; an empty file gets an empty span.
            let last = source[..offset]
                .char_indices()
                .rev()
                .find(|(_, c)| !c.is_whitespace())
                .map_or(Span::new(offset, offset), |(i, c)| {
                    Span::new(i, i + c.len_utf8())
                });
            (last, "end of file".to_string())
        }
        Some((_, c)) if c.is_ascii_alphanumeric() || c == '_' => {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (
                Span::new(offset, offset + len),
                format!("`{}`", &rest[..len]),
            )
        }
        Some((_, c)) => {
            let shown = if c.is_whitespace() || c.is_control() {
                format!("{c:?}")
            } else {
                format!("`{c}`")
            };
            (Span::new(offset, offset + c.len_utf8()), shown)
        }
    }
}

fn join_or(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// How a grammar rule reads in "expected ...".
fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of file",
        Rule::target_decl | Rule::kw_target => "`target`",
        Rule::header | Rule::kw_rules => "`rules`",
        Rule::scope_block | Rule::kw_scope => "`scope`",
        Rule::mapping_block | Rule::kw_mapping => "`mapping`",
        Rule::policy_block | Rule::kw_policy => "`policy`",
        Rule::hooks_block | Rule::kw_hooks => "`hooks`",
        Rule::entity_decl | Rule::kw_entity => "`entity`",
        Rule::field_decl => "a field declaration `NAME: TYPE;`",
        Rule::type_expr => "a type",
        Rule::field_flag => "`unique` or `readonly`",
        Rule::kw_unique => "`unique`",
        Rule::kw_readonly => "`readonly`",
        Rule::kw_version => "`version`",
        Rule::sync_group | Rule::kw_sync_group => "`sync_group`",
        Rule::remove_stmt | Rule::kw_remove => "`remove`",
        Rule::mapping_rule => "a mapping `FIELD <- PATH;`",
        Rule::modifier => "`locked` or `custom`",
        Rule::kw_locked => "`locked`",
        Rule::kw_custom => "`custom`",
        Rule::transform => "a transform",
        Rule::transform_arg => "a transform argument",
        Rule::invite_stmt | Rule::kw_invite => "`invite`",
        Rule::invite_mode => "`never` or `always`",
        Rule::kw_never => "`never`",
        Rule::kw_always => "`always`",
        Rule::match_stmt | Rule::kw_match => "`match`",
        Rule::kw_existing => "`existing`",
        Rule::kw_by => "`by`",
        Rule::reaction | Rule::hook | Rule::kw_on => "`on`",
        Rule::guard | Rule::kw_when => "`when`",
        Rule::guard_term => "a comparison `PATH == VALUE`",
        Rule::action => "an action",
        Rule::kw_and => "`and`",
        Rule::kw_change => "`change`",
        Rule::kw_run => "`run`",
        Rule::kw_fn => "`fn`",
        Rule::source_path => "a SCIM path",
        Rule::urn => "a schema URN",
        Rule::attr_name => "an attribute name",
        Rule::value_filter => "a value filter `[...]`",
        Rule::filter_term => "a comparison `ATTR eq VALUE`",
        Rule::compare_op => "an operator (`eq`, `ne`, `co`, `sw`, `ew`, `==`, `!=`)",
        Rule::literal => "a value (a string, a number, `true`, `false` or `null`)",
        Rule::ident => "a name",
        Rule::int => "a number",
        Rule::string | Rule::string_inner => "a string",
        Rule::kw_true => "`true`",
        Rule::kw_false => "`false`",
        Rule::kw_null => "`null`",
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::lbracket => "`[`",
        Rule::rbracket => "`]`",
        Rule::langle => "`<`",
        Rule::rangle => "`>`",
        Rule::semi => "`;`",
        Rule::colon => "`:`",
        Rule::comma => "`,`",
        Rule::dot => "`.`",
        Rule::pipe => "`|`",
        Rule::arrow => "`=>`",
        Rule::larrow => "`<-`",
        Rule::file | Rule::item => "a rules file",
        Rule::ident_char => "a letter or digit",
        Rule::WHITESPACE | Rule::COMMENT => "whitespace",
    }
}
