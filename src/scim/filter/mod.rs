//! SCIM filters (RFC 7644 §3.4.2.2): parse to a [`Filter`], resolve its attribute names to
//! canonical schema attributes, evaluate it against a canonical JSON resource with the one
//! comparison ([`super::compare`]), and detect equality lookups storage can answer from an
//! index ([`equality_hint`]).
//!
//! Hostile input is refused before the parser sees it: a filter longer than
//! [`MAX_FILTER_LEN`] bytes or nesting `(`/`[` deeper than [`MAX_FILTER_DEPTH`] is an
//! `invalidFilter` error, so parsing, resolution and evaluation (all recursive in the nesting
//! depth only; `and`/`or` chains are flat vectors) cannot exhaust the stack.

mod syntax;

use std::fmt;

use pest::Parser;
use serde_json::{Map, Value};

use super::attr::{AttrPath, Resolved, Unresolved, get_ci, resolve};
use super::compare::{compare, fold};
use super::error::{ScimError, ScimType};
use super::schema::{AttrType, AttributeDef, ResourceKind, schema_by_urn};

pub(crate) use syntax::{FilterParser, Rule, check_limits, syntax_error};

/// The longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 16 * 1024;
/// The deepest nesting of parentheses and brackets accepted.
pub const MAX_FILTER_DEPTH: usize = 32;

/// A parsed filter. `and`/`or` chains are flat, so depth follows only parentheses.
///
/// [`Filter::parse`] gives names as sent; [`Filter::resolve`] (and [`parse_filter`]) rewrite
/// every path to its canonical spelling (core attributes without URN, extension attributes
/// with their schema's URN, sub-attributes as the schema spells them), which is what
/// [`Filter::matches`] expects, since canonical bodies are read with exact keys.
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

impl fmt::Display for Filter {
    /// The filter in RFC 7644 syntax, literals as JSON (`emails[type eq "work"]`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => {
                write!(f, "{} {} {value}", path.display(), op.as_str())
            }
            Filter::Present(path) => write!(f, "{} pr", path.display()),
            Filter::And(operands) => {
                for (i, operand) in operands.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    if matches!(operand, Filter::Or(_)) {
                        write!(f, "({operand})")?;
                    } else {
                        write!(f, "{operand}")?;
                    }
                }
                Ok(())
            }
            Filter::Or(operands) => {
                for (i, operand) in operands.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    write!(f, "{operand}")?;
                }
                Ok(())
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { path, filter } => write!(f, "{}[{filter}]", path.display()),
        }
    }
}

/// A comparison operator: the one set of operators of filters, PATCH paths and the rules'
/// guards and value filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
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
    /// Every operator, in the RFC's order.
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
    #[must_use]
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

    /// Parses a keyword, case-insensitively (`EQ`, `eq`).
    #[must_use]
    pub fn parse(keyword: &str) -> Option<CompareOp> {
        CompareOp::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(keyword))
    }
}

/// An attribute with a unique index in storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexedAttr {
    /// `userName` (global; the hint carries its PRECIS key, `domain::user_name_key`).
    UserName,
    /// `externalId` (per tenant, case-exact).
    ExternalId,
    /// `displayName` (the group-name index; Users have no such index).
    DisplayName,
}

/// Parses a filter for resources of `kind` and resolves its attribute names:
/// [`Filter::parse`] then [`Filter::resolve`].
///
/// # Errors
///
/// `invalidFilter` for malformed syntax or a name that does not resolve.
pub fn parse_filter(kind: ResourceKind, input: &str) -> Result<Filter, ScimError> {
    Filter::parse(input)?.resolve(kind)
}

/// If the filter is `userName eq "x"`, `externalId eq "x"` or `displayName eq "x"`, alone or
/// as an operand of a top-level `and`, the attribute and the value to look up: for
/// `userName`, its PRECIS key (what the filter compares, so an NFD or full-width spelling
/// finds the user); otherwise the value as sent. The storage may narrow candidates with the
/// index, then must still evaluate the whole filter on them. When several operands qualify,
/// `userName` is preferred, then `externalId`.
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
    if path.attr.eq_ignore_ascii_case("userName") {
        let def = super::schema::USER.attribute("userName");
        return Some((IndexedAttr::UserName, fold(value, def).into_owned()));
    }
    let attr = if path.attr.eq_ignore_ascii_case("externalId") {
        IndexedAttr::ExternalId
    } else if path.attr.eq_ignore_ascii_case("displayName") {
        IndexedAttr::DisplayName
    } else {
        return None;
    };
    Some((attr, value.clone()))
}

impl Filter {
    /// Parses filter syntax (names as sent, no schema check). Malformed, too long or too
    /// deeply nested input is an `invalidFilter` error whose detail says where and what was
    /// expected.
    ///
    /// # Errors
    ///
    /// `invalidFilter`, saying where and what was expected.
    pub fn parse(input: &str) -> Result<Filter, ScimError> {
        check_limits(input)?;
        // The Okta lookup, `userName eq "x"`, is most filters a server sees: read directly
        // when the text is one comparison with a plain string, to the same tree the grammar
        // gives (a unit test holds the two to each other); anything else goes to the grammar.
        if let Some(filter) = syntax::simple_compare(input) {
            return Ok(filter);
        }
        Self::parse_grammar(input)
    }

    /// [`Filter::parse`] through the pest grammar alone (after the limits).
    fn parse_grammar(input: &str) -> Result<Filter, ScimError> {
        let mut pairs = FilterParser::parse(Rule::filter, input)
            .map_err(|e| syntax_error(input, &e, "filter"))?;
        let root = pairs
            .next()
            .and_then(|p| p.into_inner().next())
            .ok_or_else(|| invalid_filter("the filter is empty"))?;
        syntax::build_or(root)
    }

    /// Resolves every attribute name against the schemas of `kind` and rewrites it to its
    /// canonical spelling. An unknown core attribute or sub-attribute is `invalidFilter`
    /// (with a suggestion), and so is a write-only one (`password`); attributes under an
    /// unknown extension URN are kept as sent and compared with the foreign data kept under
    /// that URN. Ordering operators on booleans are refused, as RFC 7644 requires.
    ///
    /// # Errors
    ///
    /// `invalidFilter` naming the attribute.
    pub fn resolve(self, kind: ResourceKind) -> Result<Filter, ScimError> {
        self.resolve_in(&Scope::Resource(kind))
    }

    /// Resolves a filter written inside `parent[...]`: its names are sub-attributes of
    /// `parent`.
    ///
    /// # Errors
    ///
    /// `invalidFilter` naming the sub-attribute.
    pub fn resolve_element(self, parent: &'static AttributeDef) -> Result<Filter, ScimError> {
        self.resolve_in(&Scope::Element(Some(parent)))
    }

    /// Checks the names as [`Filter::resolve`] does, without rewriting them.
    ///
    /// # Errors
    ///
    /// As [`Filter::resolve`].
    pub fn validate(&self, kind: ResourceKind) -> Result<(), ScimError> {
        self.clone().resolve(kind).map(drop)
    }

    /// Checks the names as [`Filter::resolve_element`] does, without rewriting them.
    ///
    /// # Errors
    ///
    /// As [`Filter::resolve_element`].
    pub fn validate_element(&self, parent: &'static AttributeDef) -> Result<(), ScimError> {
        self.clone().resolve_element(parent).map(drop)
    }

    fn resolve_in(self, scope: &Scope) -> Result<Filter, ScimError> {
        match self {
            Filter::And(operands) => Ok(Filter::And(
                operands
                    .into_iter()
                    .map(|f| f.resolve_in(scope))
                    .collect::<Result<_, _>>()?,
            )),
            Filter::Or(operands) => Ok(Filter::Or(
                operands
                    .into_iter()
                    .map(|f| f.resolve_in(scope))
                    .collect::<Result<_, _>>()?,
            )),
            Filter::Not(inner) => Ok(Filter::Not(Box::new(inner.resolve_in(scope)?))),
            Filter::Present(path) => Ok(Filter::Present(scope.resolve_path(&path)?.0)),
            Filter::Compare { path, op, value } => {
                let (canonical, def) = scope.resolve_path(&path)?;
                if let Some(def) = def
                    && def.ty == AttrType::Boolean
                    && !matches!(op, CompareOp::Eq | CompareOp::Ne)
                {
                    return Err(invalid_filter(format!(
                        "`{}` is a boolean; only `eq` and `ne` compare booleans, not `{}`",
                        canonical.display(),
                        op.as_str()
                    )));
                }
                if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) && !value.is_string()
                {
                    return Err(invalid_filter(format!(
                        "`{}` needs a quoted string, as in {} {} \"text\"",
                        op.as_str(),
                        canonical.display(),
                        op.as_str()
                    )));
                }
                Ok(Filter::Compare {
                    path: canonical,
                    op,
                    value,
                })
            }
            Filter::ValuePath { path, filter } => {
                if path.sub.is_some() {
                    return Err(invalid_filter(format!(
                        "`{}[...]` filters a sub-attribute; brackets follow a multi-valued attribute, as in emails[type eq \"work\"]",
                        path.display()
                    )));
                }
                let (canonical, def) = scope.resolve_path(&path)?;
                let filter = filter.resolve_in(&Scope::Element(def))?;
                Ok(Filter::ValuePath {
                    path: canonical,
                    filter: Box::new(filter),
                })
            }
        }
    }

    /// Whether `resource` (a canonical User or Group body) matches this resolved filter.
    #[must_use]
    pub fn matches(&self, kind: ResourceKind, resource: &Value) -> bool {
        self.eval(&Scope::Resource(kind), resource)
    }

    /// Whether one element of a multi-valued attribute `parent` matches this resolved
    /// (relative) filter, as inside `emails[...]`.
    #[must_use]
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
                any_compares(&values, *op, value, def)
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

/// Filter semantics of `op` over the values an attribute has: `eq null` means absent,
/// `ne null` present, `ne x` that no value equals `x`, any other operator that some value
/// satisfies it ([`compare`]).
#[must_use]
pub fn any_compares(
    values: &[&Value],
    op: CompareOp,
    literal: &Value,
    def: Option<&AttributeDef>,
) -> bool {
    match op {
        CompareOp::Eq if literal.is_null() => values.is_empty(),
        CompareOp::Ne if literal.is_null() => !values.is_empty(),
        CompareOp::Ne => !values
            .iter()
            .any(|v| compare(CompareOp::Eq, v, literal, def)),
        _ => values.iter().any(|v| compare(op, v, literal, def)),
    }
}

/// What a path is relative to: the resource, or one element of a complex attribute.
enum Scope {
    Resource(ResourceKind),
    Element(Option<&'static AttributeDef>),
}

impl Scope {
    /// The canonical spelling of `path` in this scope and the definition it ends at;
    /// `None` when it cannot be known (an unknown extension URN, or elements of an unknown
    /// attribute), in which case the path is kept as sent.
    fn resolve_path(
        &self,
        path: &AttrPath,
    ) -> Result<(AttrPath, Option<&'static AttributeDef>), ScimError> {
        match self {
            Scope::Resource(kind) => match resolve(*kind, path) {
                Ok(resolved) if resolved.is_secret() => Err(invalid_filter(format!(
                    "`{}` is write-only and never returned, so it cannot be filtered on",
                    resolved.canonical()
                ))),
                Ok(resolved) => Ok((canonical_path(&resolved), Some(resolved.leaf()))),
                Err(Unresolved::UnknownSchema(urn)) if schema_by_urn(&urn).is_none() => {
                    Ok((path.clone(), None))
                }
                Err(e) => Err(invalid_filter(format!(
                    "{} ({} attributes are listed at /Schemas)",
                    e.message(),
                    kind.as_str()
                ))),
            },
            Scope::Element(None) => Ok((path.clone(), None)),
            Scope::Element(Some(parent)) => {
                if path.urn.is_some() {
                    return Err(invalid_filter(format!(
                        "`{}` inside `{}[...]` must be a sub-attribute name",
                        path.display(),
                        parent.name
                    )));
                }
                let sub = parent.sub_attribute(&path.attr).ok_or_else(|| {
                    invalid_filter(format!(
                        "`{}` is not a sub-attribute of `{}`; it has {}",
                        path.attr,
                        parent.name,
                        super::attr::names(parent.sub_attributes)
                    ))
                })?;
                if let Some(name) = &path.sub {
                    return Err(invalid_filter(format!(
                        "`{}.{name}` goes too deep inside `{}[...]`",
                        sub.name, parent.name
                    )));
                }
                Ok((AttrPath::simple(sub.name), Some(sub)))
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
                match resolve(*kind, &top) {
                    Ok(resolved) => (resolved.get(object), Some(resolved.def)),
                    // A foreign extension, kept as sent.
                    Err(_) => (foreign(object, &top), None),
                }
            }
            Scope::Element(Some(parent)) => match parent.sub_attribute(&path.attr) {
                Some(sub) => (object.get(sub.name), Some(sub)),
                None => (None, None),
            },
            Scope::Element(None) => (get_ci(object, &path.attr), None),
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
        let leaf = match (&path.sub, def) {
            (Some(sub), Some(def)) => def.sub_attribute(sub),
            (None, def) => def,
            _ => None,
        };
        let Some(value) = value else {
            return (out, leaf);
        };
        match &path.sub {
            None => flatten_into(value, &mut out),
            Some(sub) => {
                let items: Vec<&Value> = match value {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                for item in items {
                    let Some(element) = item.as_object() else {
                        continue;
                    };
                    let found = match leaf {
                        Some(leaf) => element.get(leaf.name),
                        None => get_ci(element, sub),
                    };
                    if let Some(v) = found {
                        flatten_into(v, &mut out);
                    }
                }
            }
        }
        (out, leaf)
    }
}

/// The canonical spelling of a resolved path: no URN for core and common attributes, the
/// extension's URN for its attributes.
pub(crate) fn canonical_path(resolved: &Resolved) -> AttrPath {
    AttrPath {
        urn: resolved.extension.map(|ext| ext.id.to_owned()),
        attr: resolved.def.name.to_owned(),
        sub: resolved.sub.map(|sub| sub.name.to_owned()),
    }
}

/// The value of a foreign extension's attribute: foreign keys are kept as sent, so found
/// case-insensitively.
fn foreign<'a>(object: &'a Map<String, Value>, path: &AttrPath) -> Option<&'a Value> {
    let container = get_ci(object, path.urn.as_deref()?)?.as_object()?;
    get_ci(container, &path.attr)
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

fn invalid_filter(detail: impl std::fmt::Display) -> ScimError {
    ScimError::new(
        ScimType::InvalidFilter,
        format!("Invalid filter: {detail}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(input: &str) -> Filter {
        Filter::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    /// Whether the filter `input` matches [`jane`].
    fn jane_matches(input: &str) -> bool {
        user_matches(input, &jane())
    }

    fn user_matches(input: &str, user: &Value) -> bool {
        parse_filter(ResourceKind::User, input)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .matches(ResourceKind::User, user)
    }

    fn err(input: &str) -> ScimError {
        parse_filter(ResourceKind::User, input).unwrap_err()
    }

    /// The direct reading of `path op "text"` and the grammar agree on every text made of
    /// pieces around its edges (whitespace, operator spellings and neighbours, paths that
    /// parse and paths that do not, strings with escapes, quotes, control characters and
    /// text after them): where the direct reading answers, the grammar gives the same tree;
    /// and the plain forms are read directly, so the test covers the fast path.
    #[test]
    fn the_direct_reading_of_one_comparison_is_the_grammars_tree() {
        let spaces = ["", " ", "\t", "\r\n ", "  "];
        let paths = [
            "userName",
            "USERNAME",
            "name.givenName",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "$ref",
            "_x-1",
            "a..b",
            "a.b.c",
            "a.",
            "a:",
            ":a",
            "1abc",
            "-a",
            "emails[type",
            "ü",
        ];
        let ops = [
            "eq", "EQ", "Ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "eqx", "e", "eq.",
        ];
        let values = [
            r#""LOAD.user1@okta.local""#,
            r#""""#,
            r#""a b""#,
            "\"ü\u{2000}\u{7f}\"",
            r#""a\"b""#,
            r#""a\nb""#,
            "\"a\nb\"",
            "\"a\u{1}\"",
            r#""a"b""#,
            r#""a" and b pr"#,
            r#""a" x"#,
            r#""a"#,
            r#"a""#,
            "true",
            "1",
            r#""(""#,
        ];
        let mut direct = 0;
        for lead in spaces {
            for path in paths {
                for gap in spaces {
                    for op in ops {
                        for gap2 in spaces {
                            for value in values {
                                let text = format!("{lead}{path}{gap}{op}{gap2}{value}{lead}");
                                let Some(fast) = syntax::simple_compare(&text) else {
                                    continue;
                                };
                                direct += 1;
                                assert_eq!(
                                    Filter::parse_grammar(&text).ok(),
                                    Some(fast),
                                    "{text:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
        assert!(direct > 1000, "only {direct} texts were read directly");
        for plain in [
            r#"userName eq "x@y""#,
            r#" externalId EQ "abc" "#,
            r#"displayName eq"Sales""#,
        ] {
            assert!(syntax::simple_compare(plain).is_some(), "{plain}");
        }
        for other in [
            r#"userName eq "a\"b""#,
            "userName pr",
            r#"userName eq "a" and active eq true"#,
            "userName eq \"a\u{1}\"",
            r#"userNameeq "a""#,
        ] {
            assert!(syntax::simple_compare(other).is_none(), "{other}");
        }
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
        assert!(jane_matches(r#"userName eq "Jane@Example.com""#));
    }

    #[test]
    fn username_is_case_insensitive() {
        assert!(jane_matches(r#"userName eq "JANE@EXAMPLE.COM""#));
    }

    #[test]
    fn external_id_is_case_exact() {
        assert!(!jane_matches(r#"externalId eq "abc""#));
    }

    #[test]
    fn keywords_and_attributes_are_case_insensitive() {
        assert!(jane_matches(
            r#"USERNAME EQ "jane@example.com" And Active Eq TRUE"#
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
        assert!(jane_matches(
            r#"(userName eq "x" or name.givenName eq "jane") and not (active eq false)"#
        ));
    }

    #[test]
    fn sub_attribute_of_multi_valued_matches_any() {
        assert!(jane_matches(r#"emails.value eq "jane@home.example""#));
    }

    #[test]
    fn value_path() {
        assert!(jane_matches(
            r#"emails[type eq "work" and value co "@work"]"#
        ));
        assert!(!jane_matches(
            r#"emails[type eq "work" and value co "@home"]"#
        ));
    }

    #[test]
    fn entra_value_path_with_sub_attribute() {
        assert!(jane_matches(
            r#"emails[type eq "work"].value eq "jane@work.example""#
        ));
        assert!(!jane_matches(
            r#"emails[type eq "home"].value eq "jane@work.example""#
        ));
    }

    #[test]
    fn string_booleans_equal_booleans() {
        assert!(jane_matches(r#"addresses[primary eq "True"]"#));
        assert!(jane_matches(r#"active eq "true""#));
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
        assert!(jane_matches(r#"department eq "R&D""#));
    }

    #[test]
    fn unknown_extension_matches_nothing() {
        assert!(!jane_matches(r#"urn:example:custom:2.0:User:badge eq "1""#));
    }

    #[test]
    fn json_escapes_in_strings() {
        let u = json!({"displayName": "say \"hi\"\u{e9}"});
        assert!(user_matches(r#"displayName eq "say \"hi\"\u00e9""#, &u));
    }

    #[test]
    fn datetime_comparison_normalises_offsets() {
        assert!(jane_matches(
            r#"meta.lastModified gt "2024-05-01T11:59:00+02:00""#
        ));
        assert!(jane_matches(
            r#"meta.lastModified eq "2024-05-01T12:00:00.000+02:00""#
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
        let hint = hint_of(r#"UserName EQ "Jane""#);
        assert_eq!(hint, Some((IndexedAttr::UserName, "jane".into())));
        // The PRECIS key, as the filter compares: NFD and full-width spellings look up the
        // same index entry as the NFC name.
        for spelling in [
            r"jose\u0301@ex.com",
            r"JOS\u00c9@EX.COM",
            r"\uff4aos\u00e9@ex.com",
        ] {
            let filter = parse(&format!("userName eq \"{spelling}\""));
            assert_eq!(
                equality_hint(&filter),
                Some((IndexedAttr::UserName, "jos\u{e9}@ex.com".into())),
                "{spelling}"
            );
        }
    }

    /// The equality hint of the User filter `input`.
    fn hint_of(input: &str) -> Option<(IndexedAttr, String)> {
        equality_hint(&parse(input))
    }

    #[test]
    fn hint_inside_top_level_and() {
        assert_eq!(
            hint_of(r#"active eq true and externalId eq "e1""#),
            Some((IndexedAttr::ExternalId, "e1".into()))
        );
    }

    #[test]
    fn no_hint_under_or() {
        assert_eq!(hint_of(r#"userName eq "a" or userName eq "b""#), None);
    }

    #[test]
    fn hint_for_group_display_name() {
        assert_eq!(
            hint_of(r#"displayName eq "Sales""#),
            Some((IndexedAttr::DisplayName, "Sales".into()))
        );
    }
}
