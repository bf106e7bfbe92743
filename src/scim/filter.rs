//! SCIM filters (RFC 7644 §3.4.2.2): parse to a [`Filter`], validate against the schemas,
//! evaluate against a JSON resource, and detect equality lookups storage can answer from an
//! index ([`equality_hint`]).
//!
//! Hostile input is refused before the parser sees it: a filter longer than
//! [`MAX_FILTER_LEN`] bytes or nesting `(`/`[` deeper than [`MAX_FILTER_DEPTH`] is an
//! `invalidFilter` error, so parsing, validation and evaluation (all recursive in the nesting
//! depth only; `and`/`or` chains are flat vectors) cannot exhaust the stack.

use std::cmp::Ordering;

use pest::Parser;
use pest::iterators::Pair;
use serde_json::Value;

use super::attr::{AttrPath, as_bool, get_ci, resolve};
use super::error::{ScimError, ScimType};
use super::schema::{AttrType, AttributeDef, ResourceKind};

/// The longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 16 * 1024;
/// The deepest nesting of parentheses and brackets accepted.
pub const MAX_FILTER_DEPTH: usize = 32;

mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/filter.pest"]
    pub(crate) struct FilterParser;
}

pub(crate) use grammar::{FilterParser, Rule};

/// A parsed filter. `and`/`or` chains are flat, so depth follows only parentheses.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path op value`.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal: string, number, boolean or null.
        value: Value,
    },
    /// `path pr`: present and not empty.
    Present(AttrPath),
    /// Every operand matches.
    And(Vec<Filter>),
    /// At least one operand matches.
    Or(Vec<Filter>),
    /// `not (filter)`.
    Not(Box<Filter>),
    /// `path[filter]`: some element of a multi-valued (or complex) attribute matches
    /// `filter`, whose paths are relative to the element. Entra's
    /// `emails[type eq "work"].value eq "x"` parses to `emails[type eq "work" and value eq "x"]`.
    ValuePath {
        /// The multi-valued or complex attribute.
        path: AttrPath,
        /// The filter applied to each element.
        filter: Box<Filter>,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `co`
    Co,
    /// `sw`
    Sw,
    /// `ew`
    Ew,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CompareOp {
    /// Every operator, in RFC order.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The RFC keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Parses the RFC keyword, case-insensitively.
    pub fn parse(keyword: &str) -> Option<CompareOp> {
        CompareOp::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(keyword))
    }
}

/// An attribute with a unique index in storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexedAttr {
    /// `userName` (global, case-insensitive).
    UserName,
    /// `externalId` (per tenant, case-exact).
    ExternalId,
    /// `displayName` (the group-name index; Users have no such index).
    DisplayName,
}

/// Parses a filter for resources of `kind` and validates its attribute names:
/// [`Filter::parse`] then [`Filter::validate`].
pub fn parse_filter(kind: ResourceKind, input: &str) -> Result<Filter, ScimError> {
    let filter = Filter::parse(input)?;
    filter.validate(kind)?;
    Ok(filter)
}

/// If the filter is `userName eq "x"`, `externalId eq "x"` or `displayName eq "x"`, alone or
/// as an operand of a top-level `and`, the attribute and the value as sent. The storage may
/// narrow candidates with the index, then must still evaluate the whole filter on them.
/// When several operands qualify, `userName` is preferred, then `externalId`.
pub fn equality_hint(filter: &Filter) -> Option<(IndexedAttr, String)> {
    let candidates: Vec<&Filter> = match filter {
        Filter::And(operands) => operands.iter().collect(),
        other => vec![other],
    };
    let mut found: Vec<(IndexedAttr, String)> =
        candidates.into_iter().filter_map(hint_of).collect();
    found.sort_by_key(|(attr, _)| *attr as u8);
    found.into_iter().next()
}

fn hint_of(filter: &Filter) -> Option<(IndexedAttr, String)> {
    let Filter::Compare {
        path,
        op: CompareOp::Eq,
        value: Value::String(value),
    } = filter
    else {
        return None;
    };
    if path.sub.is_some() {
        return None;
    }
    if let Some(urn) = &path.urn
        && !urn.eq_ignore_ascii_case(super::schema::USER_SCHEMA)
        && !urn.eq_ignore_ascii_case(super::schema::GROUP_SCHEMA)
    {
        return None;
    }
    let attr = if path.attr.eq_ignore_ascii_case("userName") {
        IndexedAttr::UserName
    } else if path.attr.eq_ignore_ascii_case("externalId") {
        IndexedAttr::ExternalId
    } else if path.attr.eq_ignore_ascii_case("displayName") {
        IndexedAttr::DisplayName
    } else {
        return None;
    };
    Some((attr, value.clone()))
}

impl Filter {
    /// Parses filter syntax (no schema check). Malformed, too long or too deeply nested
    /// input is an `invalidFilter` error whose detail says where and what was expected.
    pub fn parse(input: &str) -> Result<Filter, ScimError> {
        check_limits(input)?;
        let mut pairs = FilterParser::parse(Rule::filter, input)
            .map_err(|e| syntax_error(input, &e, "filter"))?;
        let root = pairs
            .next()
            .and_then(|p| p.into_inner().next())
            .ok_or_else(|| invalid_filter("the filter is empty"))?;
        build_or(root)
    }

    /// Checks attribute names against the schemas of `kind`: an unknown core attribute or
    /// sub-attribute is `invalidFilter` (with a suggestion); attributes under an unknown
    /// extension URN are accepted and match nothing. Ordering operators on booleans are
    /// refused, as RFC 7644 requires.
    pub fn validate(&self, kind: ResourceKind) -> Result<(), ScimError> {
        self.validate_in(&Scope::Resource(kind))
    }

    /// Validates a filter written inside `parent[...]`: its names are sub-attributes of
    /// `parent`.
    pub fn validate_element(&self, parent: &'static AttributeDef) -> Result<(), ScimError> {
        self.validate_in(&Scope::Element(Some(parent)))
    }

    fn validate_in(&self, scope: &Scope) -> Result<(), ScimError> {
        match self {
            Filter::And(operands) | Filter::Or(operands) => {
                operands.iter().try_for_each(|f| f.validate_in(scope))
            }
            Filter::Not(inner) => inner.validate_in(scope),
            Filter::Present(path) => scope.check(path).map(|_| ()),
            Filter::Compare { path, op, value } => {
                let def = scope.check(path)?;
                if let Some(def) = def
                    && def.ty == AttrType::Boolean
                    && !matches!(op, CompareOp::Eq | CompareOp::Ne)
                {
                    return Err(invalid_filter(format!(
                        "`{}` is a boolean; only `eq` and `ne` compare booleans, not `{}`",
                        path.display(),
                        op.as_str()
                    )));
                }
                if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) && !value.is_string()
                {
                    return Err(invalid_filter(format!(
                        "`{}` needs a quoted string, as in {} {} \"text\"",
                        op.as_str(),
                        path.display(),
                        op.as_str()
                    )));
                }
                Ok(())
            }
            Filter::ValuePath { path, filter } => {
                if path.sub.is_some() {
                    return Err(invalid_filter(format!(
                        "`{}[...]` filters a sub-attribute; brackets follow a multi-valued attribute, as in emails[type eq \"work\"]",
                        path.display()
                    )));
                }
                let def = scope.check(path)?;
                filter.validate_in(&Scope::Element(def))
            }
        }
    }

    /// Whether `resource` (a User or Group body, keys in any case) matches.
    pub fn matches(&self, kind: ResourceKind, resource: &Value) -> bool {
        self.eval(&Scope::Resource(kind), resource)
    }

    /// Whether one element of a multi-valued attribute `parent` matches this (relative)
    /// filter, as inside `emails[...]`.
    pub fn matches_element(&self, parent: Option<&'static AttributeDef>, element: &Value) -> bool {
        self.eval(&Scope::Element(parent), element)
    }

    fn eval(&self, scope: &Scope, node: &Value) -> bool {
        match self {
            Filter::And(operands) => operands.iter().all(|f| f.eval(scope, node)),
            Filter::Or(operands) => operands.iter().any(|f| f.eval(scope, node)),
            Filter::Not(inner) => !inner.eval(scope, node),
            Filter::Present(path) => {
                let (values, _) = scope.collect(node, path);
                values.into_iter().any(is_present)
            }
            Filter::Compare { path, op, value } => {
                let (values, def) = scope.collect(node, path);
                match op {
                    CompareOp::Eq if value.is_null() => values.is_empty(),
                    CompareOp::Ne if value.is_null() => !values.is_empty(),
                    CompareOp::Ne => !values
                        .into_iter()
                        .any(|v| compare(CompareOp::Eq, v, value, def)),
                    _ => values.into_iter().any(|v| compare(*op, v, value, def)),
                }
            }
            Filter::ValuePath { path, filter } => {
                let (parent, def) = scope.attribute(node, path);
                let element_scope = Scope::Element(def);
                match parent {
                    Some(Value::Array(items)) => {
                        items.iter().any(|e| filter.eval(&element_scope, e))
                    }
                    Some(item @ Value::Object(_)) => filter.eval(&element_scope, item),
                    _ => false,
                }
            }
        }
    }
}

/// What a path is relative to: the resource, or one element of a complex attribute.
enum Scope {
    Resource(ResourceKind),
    Element(Option<&'static AttributeDef>),
}

impl Scope {
    /// The definition of `path` in this scope; `Ok(None)` when it cannot be known (an
    /// unknown extension URN, or elements of an unknown attribute).
    fn check(&self, path: &AttrPath) -> Result<Option<&'static AttributeDef>, ScimError> {
        match self {
            Scope::Resource(kind) => match resolve(*kind, path) {
                Ok(resolved) => Ok(Some(resolved.leaf())),
                Err(super::attr::Unresolved::UnknownSchema(_)) => Ok(None),
                Err(e) => Err(invalid_filter(format!(
                    "{} ({} attributes are listed at /Schemas)",
                    e.message(),
                    kind.as_str()
                ))),
            },
            Scope::Element(None) => Ok(None),
            Scope::Element(Some(parent)) => {
                if path.urn.is_some() {
                    return Err(invalid_filter(format!(
                        "`{}` inside `{}[...]` must be a sub-attribute name",
                        path.display(),
                        parent.name
                    )));
                }
                let sub = parent.sub_attribute(&path.attr).ok_or_else(|| {
                    let names: Vec<&str> = parent.sub_attributes.iter().map(|a| a.name).collect();
                    invalid_filter(format!(
                        "`{}` is not a sub-attribute of `{}`; it has {}",
                        path.attr,
                        parent.name,
                        names.join(", ")
                    ))
                })?;
                if let Some(name) = &path.sub {
                    return Err(invalid_filter(format!(
                        "`{}.{name}` goes too deep inside `{}[...]`",
                        sub.name, parent.name
                    )));
                }
                Ok(Some(sub))
            }
        }
    }

    /// The attribute value named by `path` (ignoring its sub-attribute) and its definition.
    fn attribute<'a>(
        &self,
        node: &'a Value,
        path: &AttrPath,
    ) -> (Option<&'a Value>, Option<&'static AttributeDef>) {
        let Some(object) = node.as_object() else {
            return (None, None);
        };
        match self {
            Scope::Resource(kind) => {
                let top = AttrPath {
                    urn: path.urn.clone(),
                    attr: path.attr.clone(),
                    sub: None,
                };
                let resolved = resolve(*kind, &top).ok();
                let def = resolved.map(|r| r.def);
                let container = match (resolved.and_then(|r| r.extension), &path.urn) {
                    (Some(ext), _) => get_ci(object, ext.id).and_then(Value::as_object),
                    (None, Some(urn)) if !urn.eq_ignore_ascii_case(kind.core_schema().id) => {
                        get_ci(object, urn).and_then(Value::as_object)
                    }
                    _ => Some(object),
                };
                (container.and_then(|c| get_ci(c, &path.attr)), def)
            }
            Scope::Element(parent) => (
                get_ci(object, &path.attr),
                parent.and_then(|p| p.sub_attribute(&path.attr)),
            ),
        }
    }

    /// Every non-null value `path` names, arrays flattened, and the leaf definition.
    fn collect<'a>(
        &self,
        node: &'a Value,
        path: &AttrPath,
    ) -> (Vec<&'a Value>, Option<&'static AttributeDef>) {
        let (value, def) = self.attribute(node, path);
        let mut out = Vec::new();
        let Some(value) = value else {
            return (out, def);
        };
        match &path.sub {
            None => flatten_into(value, &mut out),
            Some(sub) => {
                let items: Vec<&Value> = match value {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                for item in items {
                    if let Some(v) = item.as_object().and_then(|o| get_ci(o, sub)) {
                        flatten_into(v, &mut out);
                    }
                }
            }
        }
        let leaf = match (&path.sub, def) {
            (Some(sub), Some(def)) => def.sub_attribute(sub),
            (None, def) => def,
            _ => None,
        };
        (out, leaf)
    }
}

fn flatten_into<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Null => {}
        Value::Array(items) => out.extend(items.iter().filter(|v| !v.is_null())),
        other => out.push(other),
    }
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        _ => true,
    }
}

/// Compares one attribute value with a filter literal. Complex elements compare by their
/// `value` sub-attribute.
fn compare(op: CompareOp, actual: &Value, expected: &Value, def: Option<&AttributeDef>) -> bool {
    if let Value::Object(map) = actual {
        return match get_ci(map, "value") {
            Some(inner) if !inner.is_object() => {
                let value_def =
                    def.and_then(|d| d.sub_attributes.iter().find(|a| a.name == "value"));
                compare(op, inner, expected, value_def)
            }
            _ => false,
        };
    }
    let boolean = def.is_some_and(|d| d.ty == AttrType::Boolean)
        || actual.is_boolean()
        || expected.is_boolean();
    if boolean {
        return match (as_bool(actual), as_bool(expected)) {
            (Some(a), Some(e)) => op == CompareOp::Eq && a == e,
            _ => false,
        };
    }
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => match (a.as_f64(), e.as_f64()) {
            (Some(a), Some(e)) => ordered(op, a.partial_cmp(&e)),
            _ => false,
        },
        (Value::String(a), Value::String(e)) => compare_strings(op, a, e, def),
        (Value::Number(a), Value::String(e)) => compare_strings(op, &a.to_string(), e, def),
        (Value::String(a), Value::Number(e)) => match (a.trim().parse::<f64>(), e.as_f64()) {
            (Ok(a), Some(e)) => ordered(op, a.partial_cmp(&e)),
            _ => false,
        },
        _ => false,
    }
}

fn compare_strings(
    op: CompareOp,
    actual: &str,
    expected: &str,
    def: Option<&AttributeDef>,
) -> bool {
    if def.is_some_and(|d| d.ty == AttrType::DateTime)
        && let (Some(a), Some(e)) = (parse_datetime(actual), parse_datetime(expected))
        && !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    {
        return ordered(op, Some(a.cmp(&e)));
    }
    let case_exact = def.is_some_and(|d| d.case_exact);
    let (a, e) = if case_exact {
        (actual.to_owned(), expected.to_owned())
    } else {
        (actual.to_lowercase(), expected.to_lowercase())
    };
    match op {
        CompareOp::Co => a.contains(&e),
        CompareOp::Sw => a.starts_with(&e),
        CompareOp::Ew => a.ends_with(&e),
        _ => ordered(op, Some(a.cmp(&e))),
    }
}

fn ordered(op: CompareOp, ordering: Option<Ordering>) -> bool {
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Parses an RFC 3339 date-time (`2024-05-01T10:00:00.5+02:00`) to UTC seconds and
/// nanoseconds since the epoch, so differently written instants compare correctly.
pub fn parse_datetime(text: &str) -> Option<(i64, u32)> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if bytes.len() < 19 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    if !matches!(bytes.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut nanos: u32 = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let mut padded: String = fraction.get(..digits.min(9))?.to_owned();
        while padded.len() < 9 {
            padded.push('0');
        }
        nanos = padded.parse().ok()?;
        rest = fraction.get(digits..)?;
    }
    let offset_seconds = match rest {
        "Z" | "z" | "" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let hours: i64 = rest.get(1..3)?.parse().ok()?;
            let minutes: i64 = rest.get(4..6)?.parse().ok()?;
            if rest.len() != 6 || rest.as_bytes().get(3) != Some(&b':') {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some((seconds, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Refuses input the parser should never see: too long, or nested too deep.
pub(crate) fn check_limits(input: &str) -> Result<(), ScimError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(invalid_filter(format!(
            "the filter is {} bytes long; the limit is {MAX_FILTER_LEN}",
            input.len()
        )));
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for byte in input.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'(' | b'[' => {
                depth += 1;
                if depth > MAX_FILTER_DEPTH {
                    return Err(invalid_filter(format!(
                        "the filter nests parentheses or brackets more than {MAX_FILTER_DEPTH} deep; simplify it"
                    )));
                }
            }
            b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn invalid_filter(detail: impl std::fmt::Display) -> ScimError {
    ScimError::new(
        ScimType::InvalidFilter,
        format!("Invalid filter: {detail}."),
    )
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

fn build_or(pair: Pair<'_, Rule>) -> Result<Filter, ScimError> {
    let mut operands = pair
        .into_inner()
        .filter(|p| p.as_rule() == Rule::and_expr)
        .map(build_and)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if operands.len() == 1 {
        operands.remove(0)
    } else {
        Filter::Or(operands)
    })
}

fn build_and(pair: Pair<'_, Rule>) -> Result<Filter, ScimError> {
    let mut operands = pair
        .into_inner()
        .filter(|p| p.as_rule() != Rule::and_kw)
        .map(build_unary)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if operands.len() == 1 {
        operands.remove(0)
    } else {
        Filter::And(operands)
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(input: &str) -> Filter {
        Filter::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    fn user_matches(input: &str, user: &Value) -> bool {
        parse_filter(ResourceKind::User, input)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .matches(ResourceKind::User, user)
    }

    fn err(input: &str) -> ScimError {
        parse_filter(ResourceKind::User, input).unwrap_err()
    }

    fn jane() -> Value {
        json!({
            "userName": "Jane@Example.com",
            "externalId": "AbC",
            "active": true,
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [
                {"value": "jane@work.example", "type": "work", "primary": true},
                {"value": "jane@home.example", "type": "home"}
            ],
            "addresses": [{"country": "NL", "primary": true}],
            "meta": {"lastModified": "2024-05-01T10:00:00Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "R&D", "manager": {"value": "m1"}
            }
        })
    }

    #[test]
    fn eq_matches() {
        assert!(user_matches(r#"userName eq "Jane@Example.com""#, &jane()));
    }

    #[test]
    fn username_is_case_insensitive() {
        assert!(user_matches(r#"userName eq "JANE@EXAMPLE.COM""#, &jane()));
    }

    #[test]
    fn external_id_is_case_exact() {
        assert!(!user_matches(r#"externalId eq "abc""#, &jane()));
    }

    #[test]
    fn keywords_and_attributes_are_case_insensitive() {
        assert!(user_matches(
            r#"USERNAME EQ "jane@example.com" And Active Eq TRUE"#,
            &jane()
        ));
    }

    #[test]
    fn every_operator() {
        let u = jane();
        assert!(user_matches(r#"userName ne "x""#, &u));
        assert!(user_matches(r#"userName co "example""#, &u));
        assert!(user_matches(r#"userName sw "jane""#, &u));
        assert!(user_matches(r#"userName ew ".COM""#, &u));
        assert!(user_matches(r#"userName gt "a""#, &u));
        assert!(user_matches(r#"userName ge "jane@example.com""#, &u));
        assert!(user_matches(r#"userName lt "z""#, &u));
        assert!(user_matches(r#"userName le "jane@example.com""#, &u));
        assert!(user_matches("title pr or userName pr", &u));
        assert!(!user_matches("title pr", &u));
    }

    #[test]
    fn or_not_and_grouping() {
        assert!(user_matches(
            r#"(userName eq "x" or name.givenName eq "jane") and not (active eq false)"#,
            &jane()
        ));
    }

    #[test]
    fn sub_attribute_of_multi_valued_matches_any() {
        assert!(user_matches(
            r#"emails.value eq "jane@home.example""#,
            &jane()
        ));
    }

    #[test]
    fn value_path() {
        assert!(user_matches(
            r#"emails[type eq "work" and value co "@work"]"#,
            &jane()
        ));
        assert!(!user_matches(
            r#"emails[type eq "work" and value co "@home"]"#,
            &jane()
        ));
    }

    #[test]
    fn entra_value_path_with_sub_attribute() {
        assert!(user_matches(
            r#"emails[type eq "work"].value eq "jane@work.example""#,
            &jane()
        ));
        assert!(!user_matches(
            r#"emails[type eq "home"].value eq "jane@work.example""#,
            &jane()
        ));
    }

    #[test]
    fn string_booleans_equal_booleans() {
        assert!(user_matches(r#"addresses[primary eq "True"]"#, &jane()));
        assert!(user_matches(r#"active eq "true""#, &jane()));
    }

    #[test]
    fn urn_qualified_paths() {
        let u = jane();
        assert!(user_matches(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "r&d""#,
            &u
        ));
        assert!(user_matches(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1""#,
            &u
        ));
        assert!(user_matches(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "jane@example.com""#,
            &u
        ));
    }

    #[test]
    fn unqualified_extension_attribute() {
        assert!(user_matches(r#"department eq "R&D""#, &jane()));
    }

    #[test]
    fn unknown_extension_matches_nothing() {
        assert!(!user_matches(
            r#"urn:example:custom:2.0:User:badge eq "1""#,
            &jane()
        ));
    }

    #[test]
    fn json_escapes_in_strings() {
        let u = json!({"displayName": "say \"hi\"\u{e9}"});
        assert!(user_matches(r#"displayName eq "say \"hi\"\u00e9""#, &u));
    }

    #[test]
    fn datetime_comparison_normalises_offsets() {
        assert!(user_matches(
            r#"meta.lastModified gt "2024-05-01T11:59:00+02:00""#,
            &jane()
        ));
        assert!(user_matches(
            r#"meta.lastModified eq "2024-05-01T12:00:00.000+02:00""#,
            &jane()
        ));
    }

    #[test]
    fn numbers_and_null() {
        let u = json!({"userName": "a", "x509Certificates": []});
        assert!(user_matches("title eq null", &u));
        assert!(!user_matches("userName eq null", &u));
    }

    #[test]
    fn malformed_filter_is_invalid_filter_with_position() {
        let e = err(r#"userName equals "x""#);
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
        assert!(e.detail.contains("character 10"), "{}", e.detail);
        assert!(e.detail.contains("operator"), "{}", e.detail);
    }

    #[test]
    fn missing_parenthesis_is_named() {
        let e = err("(userName pr");
        assert!(e.detail.contains("`)`"), "{}", e.detail);
    }

    #[test]
    fn unterminated_string_is_invalid_filter() {
        assert_eq!(
            err(r#"userName eq "x"#).scim_type,
            Some(ScimType::InvalidFilter)
        );
    }

    #[test]
    fn unknown_core_attribute_is_invalid_filter() {
        let e = err(r#"usrName eq "x""#);
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
        assert!(e.detail.contains("userName"), "{}", e.detail);
    }

    #[test]
    fn ordering_on_boolean_is_invalid_filter() {
        assert_eq!(
            err("active gt true").scim_type,
            Some(ScimType::InvalidFilter)
        );
    }

    #[test]
    fn deep_nesting_is_invalid_filter_without_overflow() {
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(|| {
                let deep = format!(
                    "{}userName eq \"x\"{}",
                    "(".repeat(10_000),
                    ")".repeat(10_000)
                );
                Filter::parse(&deep).map(|_| ())
            })
            .unwrap();
        let result = handle.join().unwrap();
        assert_eq!(result.unwrap_err().scim_type, Some(ScimType::InvalidFilter));
    }

    #[test]
    fn deep_not_nesting_is_invalid_filter() {
        let deep = format!("{}userName pr{}", "not (".repeat(5_000), ")".repeat(5_000));
        assert_eq!(
            Filter::parse(&deep).unwrap_err().scim_type,
            Some(ScimType::InvalidFilter)
        );
    }

    #[test]
    fn huge_input_is_invalid_filter() {
        let huge = format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_LEN));
        assert_eq!(
            Filter::parse(&huge).unwrap_err().scim_type,
            Some(ScimType::InvalidFilter)
        );
    }

    #[test]
    fn long_flat_chain_is_fine() {
        let chain = vec![r#"userName eq "x""#; 500].join(" or ");
        assert!(matches!(parse(&chain), Filter::Or(v) if v.len() == 500));
    }

    #[test]
    fn hint_for_username() {
        let hint = equality_hint(&parse(r#"UserName EQ "Jane""#));
        assert_eq!(hint, Some((IndexedAttr::UserName, "Jane".into())));
    }

    #[test]
    fn hint_inside_top_level_and() {
        let f = parse(r#"active eq true and externalId eq "e1""#);
        assert_eq!(
            equality_hint(&f),
            Some((IndexedAttr::ExternalId, "e1".into()))
        );
    }

    #[test]
    fn no_hint_under_or() {
        assert_eq!(
            equality_hint(&parse(r#"userName eq "a" or userName eq "b""#)),
            None
        );
    }

    #[test]
    fn hint_for_group_display_name() {
        let f = parse(r#"displayName eq "Sales""#);
        assert_eq!(
            equality_hint(&f),
            Some((IndexedAttr::DisplayName, "Sales".into()))
        );
    }
}
