//! Filter and PATCH path syntax: the pest grammar (`grammar/filter.pest`), the limits checked
//! before the parser runs, the wording of syntax errors, and the parse tree turned into a
//! [`Filter`].

use pest::iterators::Pair;
use serde_json::Value;

use super::{CompareOp, Filter, MAX_FILTER_DEPTH, MAX_FILTER_LEN, invalid_filter};
use crate::scim::attr::AttrPath;
use crate::scim::error::{ScimError, ScimType};

mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/filter.pest"]
    pub(crate) struct FilterParser;
}

pub(crate) use grammar::{FilterParser, Rule};

/// Refuses input the parser should never see: too long, or nested too deep.
pub(crate) fn check_limits(input: &str) -> Result<(), ScimError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(invalid_filter(format!(
            "the filter is {} bytes long; the limit is {MAX_FILTER_LEN}",
            input.len()
        )));
    }
    if crate::scim::ingest::nests_deeper(input.as_bytes(), b"([", b")]", MAX_FILTER_DEPTH) {
        return Err(invalid_filter(format!(
            "the filter nests parentheses or brackets more than {MAX_FILTER_DEPTH} deep; simplify it"
        )));
    }
    Ok(())
}

/// The filter `path op "text"` read without the grammar, when that is all it is: an
/// attribute path, a comparison operator and a string with no escape, no quote and no
/// control character, between the grammar's whitespace. `None` for anything else (the
/// grammar then reads it, or says what is wrong); `Some` is the tree the grammar gives.
pub(super) fn simple_compare(input: &str) -> Option<Filter> {
    const WS: [char; 4] = [' ', '\t', '\r', '\n'];
    let is_start = |c: char| c.is_ascii_alphabetic() || c == '$' || c == '_';
    let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$' | ':' | '.');
    let text = input.trim_matches(WS);
    let end = text.find(|c: char| !is_name(c))?;
    let (token, rest) = text.split_at(end);
    if !token.starts_with(is_start) || !rest.starts_with(WS) {
        return None;
    }
    let rest = rest.trim_start_matches(WS);
    let keyword = rest.get(..2)?;
    let op = CompareOp::parse(keyword)?;
    let rest = &rest[2..];
    // The operator ends where a name could not go on: at whitespace or the quote.
    if !rest.starts_with(WS) && !rest.starts_with('"') {
        return None;
    }
    let inner = rest
        .trim_start_matches(WS)
        .strip_prefix('"')?
        .strip_suffix('"')?;
    if inner.contains(['"', '\\']) || inner.contains(|c: char| c < ' ') {
        return None;
    }
    let path = AttrPath::parse(token).ok()?;
    Some(Filter::Compare {
        path,
        op,
        value: Value::String(inner.to_owned()),
    })
}

/// Turns a pest error into a detail naming the position and what was expected.
pub(crate) fn syntax_error(input: &str, error: &pest::error::Error<Rule>, what: &str) -> ScimError {
    let position = match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((start, _)) => start,
    };
    let column = input
        .get(..position)
        .map_or(position, |s| s.chars().count())
        + 1;
    let near: String = input
        .get(position..)
        .unwrap_or_default()
        .chars()
        .take(20)
        .collect();
    let mut expected: Vec<&str> = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().map(|r| describe_rule(*r)).collect()
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    expected.dedup();
    let mut unique: Vec<&str> = Vec::new();
    for e in expected {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    let found = if near.is_empty() {
        "the end".to_owned()
    } else {
        format!("`{near}`")
    };
    let detail = if unique.is_empty() {
        format!("the {what} `{input}` is not valid at character {column} ({found})")
    } else {
        format!(
            "the {what} `{input}` is not valid at character {column}: expected {}, found {found}",
            unique.join(" or ")
        )
    };
    let scim_type = if what == "path" {
        ScimType::InvalidPath
    } else {
        ScimType::InvalidFilter
    };
    let example = if what == "path" {
        " (a path looks like name.givenName or emails[type eq \"work\"].value)"
    } else {
        " (a filter looks like userName eq \"jane@example.com\")"
    };
    ScimError::new(scim_type, format!("Invalid {what}: {detail}{example}."))
}

fn describe_rule(rule: Rule) -> &'static str {
    match rule {
        Rule::compare_op | Rule::present => {
            "an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)"
        }
        Rule::string | Rule::number | Rule::true_lit | Rule::false_lit | Rule::null_lit => {
            "a value (a \"quoted string\", a number, true, false or null)"
        }
        Rule::and_kw | Rule::or_kw => "`and`/`or`",
        Rule::rparen => "`)`",
        Rule::rbracket => "`]`",
        Rule::EOI => "the end",
        Rule::value_filter => "`[`",
        Rule::sub_attr => "`.subAttribute`",
        _ => "an attribute name, `not (` or `(`",
    }
}

/// The one operand itself, or all of them joined by `join` (`Filter::Or`, `Filter::And`).
fn joined(mut operands: Vec<Filter>, join: fn(Vec<Filter>) -> Filter) -> Filter {
    if operands.len() == 1 {
        operands.remove(0)
    } else {
        join(operands)
    }
}

pub(super) fn build_or(pair: Pair<'_, Rule>) -> Result<Filter, ScimError> {
    let operands = pair
        .into_inner()
        .filter(|p| p.as_rule() == Rule::and_expr)
        .map(build_and)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(joined(operands, Filter::Or))
}

fn build_and(pair: Pair<'_, Rule>) -> Result<Filter, ScimError> {
    let operands = pair
        .into_inner()
        .filter(|p| p.as_rule() != Rule::and_kw)
        .map(build_unary)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(joined(operands, Filter::And))
}

fn build_unary(pair: Pair<'_, Rule>) -> Result<Filter, ScimError> {
    match pair.as_rule() {
        Rule::not_expr => {
            let inner = pair
                .into_inner()
                .find(|p| p.as_rule() == Rule::or_expr)
                .ok_or_else(|| invalid_filter("`not` needs a parenthesised filter"))?;
            Ok(Filter::Not(Box::new(build_or(inner)?)))
        }
        Rule::group => {
            let inner = pair
                .into_inner()
                .next()
                .ok_or_else(|| invalid_filter("empty parentheses"))?;
            build_or(inner)
        }
        _ => build_attr_exp(pair),
    }
}

fn build_attr_exp(pair: Pair<'_, Rule>) -> Result<Filter, ScimError> {
    let mut path: Option<AttrPath> = None;
    let mut value_filter: Option<Filter> = None;
    let mut sub: Option<String> = None;
    let mut op: Option<CompareOp> = None;
    let mut present = false;
    let mut literal: Option<Value> = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::attr_path => {
                path = Some(AttrPath::parse(part.as_str()).map_err(invalid_filter)?);
            }
            Rule::value_filter => {
                if let Some(inner) = part.into_inner().next() {
                    value_filter = Some(build_or(inner)?);
                }
            }
            Rule::sub_attr => {
                sub = Some(part.as_str().trim_start_matches('.').to_owned());
            }
            Rule::present => present = true,
            Rule::compare_op => op = CompareOp::parse(part.as_str()),
            Rule::string => {
                let text: String = serde_json::from_str(part.as_str()).map_err(|_| {
                    invalid_filter(format!("{} is not a valid JSON string", part.as_str()))
                })?;
                literal = Some(Value::String(text));
            }
            Rule::number => {
                let number: Value = serde_json::from_str(part.as_str())
                    .map_err(|_| invalid_filter(format!("{} is not a number", part.as_str())))?;
                literal = Some(number);
            }
            Rule::true_lit => literal = Some(Value::Bool(true)),
            Rule::false_lit => literal = Some(Value::Bool(false)),
            Rule::null_lit => literal = Some(Value::Null),
            _ => {}
        }
    }
    let path = path.ok_or_else(|| invalid_filter("an attribute name is missing"))?;
    let condition = |target: AttrPath| -> Result<Filter, ScimError> {
        if present {
            return Ok(Filter::Present(target));
        }
        match (op, literal.clone()) {
            (Some(op), Some(value)) => Ok(Filter::Compare {
                path: target,
                op,
                value,
            }),
            _ => Err(invalid_filter("an operator and a value are missing")),
        }
    };
    match value_filter {
        None => condition(path),
        Some(inner) => {
            let filter = match sub {
                None => inner,
                Some(sub) => Filter::And(vec![inner, condition(AttrPath::simple(&sub))?]),
            };
            Ok(Filter::ValuePath {
                path,
                filter: Box::new(filter),
            })
        }
    }
}
