//! Attribute value paths: the syntax of a PATCH path (RFC 7644 §3.5.2: `attr`, `attr.sub`,
//! `attr[filter]`, `attr[filter].sub`, each optionally URN-qualified) in [`PatchPath`], and
//! [`ValuePath`], the one resolved form: a canonical attribute, an optional value filter over
//! its elements and an optional sub-attribute. A PATCH path and a rules mapping source are
//! both a `ValuePath`; [`ValuePath::select`] reads one out of a canonical resource body.

use std::fmt;

use pest::Parser;
use serde_json::Value;

use super::attr::{AttrPath, Resolved, Unresolved, resolve, sub_attribute};
use super::compare::compare;
use super::error::{ScimError, ScimType};
use super::filter::{self, CompareOp, Filter, FilterParser, Rule, any_compares};
use super::schema::{AttrType, AttributeDef, ResourceKind};

/// A parsed PATCH path, names as sent. For `emails[type eq "work"].value`, `path` is
/// `emails` with sub `value` and `filter` is `type eq "work"` (relative to each element).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute (with URN and sub-attribute, when given).
    pub path: AttrPath,
    /// The value selection filter between brackets.
    pub filter: Option<Filter>,
}

impl PatchPath {
    /// Parses a path; malformed input is `invalidPath` with a detail naming the position.
    ///
    /// # Errors
    ///
    /// `invalidPath` (`invalidFilter` for a malformed filter between brackets).
    pub fn parse(input: &str) -> Result<PatchPath, ScimError> {
        filter::check_limits(input).map_err(|e| {
            ScimError::new(ScimType::InvalidPath, e.detail.replace("filter", "path"))
        })?;
        let mut pairs = FilterParser::parse(Rule::patch_path, input.trim())
            .map_err(|e| filter::syntax_error(input.trim(), &e, "path"))?;
        let parts = pairs
            .next()
            .map(pest::iterators::Pair::into_inner)
            .into_iter()
            .flatten();
        let mut path: Option<AttrPath> = None;
        let mut value_filter: Option<Filter> = None;
        let mut sub: Option<String> = None;
        for part in parts {
            match part.as_rule() {
                Rule::attr_path => {
                    path = Some(AttrPath::parse(part.as_str()).map_err(invalid_path)?);
                }
                Rule::value_filter => {
                    let inner = part.as_str();
                    let body = inner
                        .strip_prefix('[')
                        .and_then(|s| s.strip_suffix(']'))
                        .unwrap_or(inner);
                    value_filter = Some(Filter::parse(body)?);
                }
                Rule::sub_attr => {
                    sub = Some(part.as_str().trim_start_matches('.').to_owned());
                }
                _ => {}
            }
        }
        let mut path = path.ok_or_else(|| invalid_path(format!("`{input}` names no attribute")))?;
        if value_filter.is_some() {
            if path.sub.is_some() {
                return Err(invalid_path(format!(
                    "`{input}` puts brackets after a sub-attribute; write them after the multi-valued attribute, as in emails[type eq \"work\"].value"
                )));
            }
            path.sub = sub;
        }
        Ok(PatchPath {
            path,
            filter: value_filter,
        })
    }
}

/// Why a value path does not resolve: the facts, worded by [`PathError::message`].
#[derive(Debug, Clone, PartialEq)]
pub enum PathError {
    /// The schema, attribute or sub-attribute does not exist (with a suggestion).
    Unresolved(Unresolved),
    /// A `[filter]` follows an attribute that is not multi-valued and complex.
    NotMultiValued {
        /// The attribute's canonical name.
        attribute: &'static str,
    },
    /// The filter between brackets names no sub-attribute of the attribute, or is malformed.
    Filter(ScimError),
}

impl PathError {
    /// A sentence for an error `detail` or a diagnostic.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            PathError::Unresolved(e) => e.message(),
            PathError::NotMultiValued { attribute } => format!(
                "`{attribute}` is not a multi-valued attribute, so it cannot be followed by a [filter]"
            ),
            PathError::Filter(e) => e.detail.clone(),
        }
    }
}

/// A resolved value path: a canonical attribute (core, common or extension), an optional
/// value filter over its elements (only on multi-valued complex attributes; its names
/// resolved to sub-attributes), and an optional sub-attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuePath {
    target: Resolved,
    filter: Option<Filter>,
}

impl ValuePath {
    /// Parses and resolves a path for resources of `kind` (`emails[type eq "work"].value`,
    /// `urn:…:enterprise:2.0:User:manager.value`, `NAME.givenname`). Syntax errors and
    /// unknown names are `invalidPath`.
    ///
    /// # Errors
    ///
    /// `invalidPath` naming the path and why it does not resolve.
    pub fn parse(kind: ResourceKind, text: &str) -> Result<ValuePath, ScimError> {
        let parsed = PatchPath::parse(text)?;
        ValuePath::resolve(kind, &parsed).map_err(|e| {
            ScimError::new(
                ScimType::InvalidPath,
                format!("the path `{}` cannot be used: {}", text.trim(), e.message()),
            )
        })
    }

    /// Resolves a parsed PATCH path.
    ///
    /// # Errors
    ///
    /// [`PathError`] saying which part does not resolve.
    pub fn resolve(kind: ResourceKind, path: &PatchPath) -> Result<ValuePath, PathError> {
        let target = resolve(kind, &path.path).map_err(PathError::Unresolved)?;
        ValuePath::with_filter(target, path.filter.clone())
    }

    /// Resolves a path given in parts, as a rules mapping source is: an optional schema URN
    /// (`None` for the core schema, or an unqualified extension attribute), an attribute,
    /// an optional value filter (names relative to the attribute's elements) and an
    /// optional sub-attribute.
    ///
    /// # Errors
    ///
    /// [`PathError`] saying which part does not resolve.
    pub fn new(
        kind: ResourceKind,
        urn: Option<&str>,
        attr: &str,
        filter: Option<Filter>,
        sub: Option<&str>,
    ) -> Result<ValuePath, PathError> {
        let path = AttrPath {
            urn: urn.map(str::to_owned),
            attr: attr.to_owned(),
            sub: None,
        };
        let mut target = resolve(kind, &path).map_err(PathError::Unresolved)?;
        if let Some(sub) = sub {
            target.sub = Some(sub_attribute(target.def, sub).map_err(PathError::Unresolved)?);
        }
        ValuePath::with_filter(target, filter)
    }

    /// The path naming `target` (an attribute, maybe with a sub-attribute), unfiltered.
    #[must_use]
    pub fn of(target: Resolved) -> ValuePath {
        ValuePath {
            target,
            filter: None,
        }
    }

    fn with_filter(target: Resolved, filter: Option<Filter>) -> Result<ValuePath, PathError> {
        let filter = match filter {
            None => None,
            Some(filter) => {
                if !target.def.multi_valued || target.def.ty != AttrType::Complex {
                    return Err(PathError::NotMultiValued {
                        attribute: target.def.name,
                    });
                }
                Some(
                    filter
                        .resolve_element(target.def)
                        .map_err(PathError::Filter)?,
                )
            }
        };
        Ok(ValuePath { target, filter })
    }

    /// The attribute and sub-attribute named.
    #[must_use]
    pub fn target(&self) -> Resolved {
        self.target
    }

    /// The attribute definition (not the sub-attribute).
    #[must_use]
    pub fn attribute(&self) -> &'static AttributeDef {
        self.target.def
    }

    /// The sub-attribute, when the path names one.
    #[must_use]
    pub fn sub(&self) -> Option<&'static AttributeDef> {
        self.target.sub
    }

    /// The definition the path ends at (the sub-attribute if any).
    #[must_use]
    pub fn leaf(&self) -> &'static AttributeDef {
        self.target.leaf()
    }

    /// The value filter, resolved (its paths are canonical sub-attribute names).
    #[must_use]
    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// Whether the path names a secret (write-only or never returned).
    #[must_use]
    pub fn is_secret(&self) -> bool {
        self.target.is_secret()
    }

    /// Whether one element of the attribute passes the value filter (every element does
    /// when there is none).
    #[must_use]
    pub fn selects_element(&self, element: &Value) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| f.matches_element(Some(self.target.def), element))
    }

    /// Every non-null value the path names in a canonical `resource`, in element order:
    /// the elements passing the filter (or their sub-attribute), arrays flattened.
    #[must_use]
    pub fn select_all<'v>(&self, resource: &'v Value) -> Vec<&'v Value> {
        let mut out = Vec::new();
        let Some(value) = resource
            .as_object()
            .and_then(|object| self.target.attribute().get(object))
        else {
            return out;
        };
        let elements: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        };
        for element in elements
            .into_iter()
            .filter(|element| self.selects_element(element))
        {
            let picked = match self.target.sub {
                None => Some(element),
                Some(sub) => element.as_object().and_then(|o| o.get(sub.name)),
            };
            match picked {
                Some(Value::Array(items)) => out.extend(items.iter().filter(|v| !v.is_null())),
                Some(Value::Null) | None => {}
                Some(other) => out.push(other),
            }
        }
        out
    }

    /// The first non-null value the path names in a canonical `resource` (a path through a
    /// multi-valued attribute takes the first matching element), or `None`.
    #[must_use]
    pub fn select<'v>(&self, resource: &'v Value) -> Option<&'v Value> {
        self.select_all(resource).into_iter().next()
    }

    /// Whether the values the path names stand in relation `op` to `literal`, with filter
    /// semantics: `eq null` is "absent", `ne x` is "no value equals x", any other operator
    /// "some value satisfies it"; values compare as [`compare`] does.
    #[must_use]
    pub fn matches(&self, resource: &Value, op: CompareOp, literal: &Value) -> bool {
        any_compares(&self.select_all(resource), op, literal, Some(self.leaf()))
    }

    /// Whether one value of this path's attribute compares to `literal` (the one
    /// comparison, for callers holding a value already).
    #[must_use]
    pub fn compare_value(&self, value: &Value, op: CompareOp, literal: &Value) -> bool {
        compare(op, value, literal, Some(self.leaf()))
    }
}

impl fmt::Display for ValuePath {
    /// The canonical text: `emails[type eq "work"].value`, `urn:…:User:manager.value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ext) = self.target.extension {
            write!(f, "{}:", ext.id)?;
        }
        f.write_str(self.target.def.name)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = self.target.sub {
            write!(f, ".{}", sub.name)?;
        }
        Ok(())
    }
}

fn invalid_path(detail: impl fmt::Display) -> ScimError {
    ScimError::new(ScimType::InvalidPath, format!("Invalid path: {detail}."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    fn parse(s: &str) -> PatchPath {
        PatchPath::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn user_path(s: &str) -> ValuePath {
        ValuePath::parse(ResourceKind::User, s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn jane() -> Value {
        json!({
            "userName": "jane",
            "name": {"givenName": "Jane"},
            "emails": [
                {"value": "j@home", "type": "home"},
                {"value": "j@work", "type": "work", "primary": true}
            ],
            "phoneNumbers": [{"value": "1", "type": "mobile"}, {"value": "2", "type": "work"}],
            ENTERPRISE_USER_SCHEMA: {"manager": {"value": "m1"}}
        })
    }

    #[test]
    fn simple_attribute() {
        let p = parse("active");
        assert_eq!((p.path.attr.as_str(), p.filter), ("active", None));
    }

    #[test]
    fn dotted_sub_attribute() {
        assert_eq!(
            parse("name.givenName").path.sub.as_deref(),
            Some("givenName")
        );
    }

    #[test]
    fn value_path_with_sub_attribute() {
        let p = parse(r#"emails[type eq "work"].value"#);
        assert_eq!(p.path.attr, "emails");
        assert_eq!(p.path.sub.as_deref(), Some("value"));
        assert!(p.filter.is_some());
    }

    #[test]
    fn urn_qualified() {
        let p = parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!(
            (p.path.attr.as_str(), p.path.sub.as_deref()),
            ("manager", Some("value"))
        );
    }

    #[test]
    fn members_filter() {
        let p = parse(r#"members[value eq "u1"]"#);
        assert!(matches!(p.filter, Some(Filter::Compare { .. })));
    }

    #[test]
    fn malformed_is_invalid_path() {
        let e = PatchPath::parse("emails[type eq").unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
    }

    #[test]
    fn resolves_to_canonical_text() {
        assert_eq!(
            user_path(r#"EMAILS[TYPE eq "work"].VALUE"#).to_string(),
            r#"emails[type eq "work"].value"#
        );
        assert_eq!(
            user_path("manager.value").to_string(),
            format!("{ENTERPRISE_USER_SCHEMA}:manager.value")
        );
        assert_eq!(
            user_path("urn:ietf:params:scim:schemas:core:2.0:User:name.GIVENNAME").to_string(),
            "name.givenName"
        );
    }

    #[test]
    fn selects_the_first_matching_element() {
        let user = jane();
        assert_eq!(
            user_path(r#"phoneNumbers[type eq "WORK"].value"#).select(&user),
            Some(&json!("2"))
        );
        assert_eq!(
            user_path("emails[primary eq \"True\"].value").select(&user),
            Some(&json!("j@work"))
        );
        assert_eq!(
            user_path("emails.value").select(&user),
            Some(&json!("j@home"))
        );
        assert_eq!(
            user_path("name.givenName").select(&user),
            Some(&json!("Jane"))
        );
        assert_eq!(user_path("manager.value").select(&user), Some(&json!("m1")));
        assert_eq!(user_path("title").select(&user), None);
        assert_eq!(user_path("emails.value").select_all(&user).len(), 2);
    }

    #[test]
    fn rules_parts_resolve_like_text() {
        let filter = Filter::parse(r#"type eq "work""#).ok();
        let from_parts = ValuePath::new(
            ResourceKind::User,
            None,
            "phoneNumbers",
            filter,
            Some("value"),
        )
        .unwrap();
        assert_eq!(
            from_parts,
            user_path(r#"phoneNumbers[type eq "work"].value"#)
        );
        let manager = ValuePath::new(
            ResourceKind::User,
            Some(ENTERPRISE_USER_SCHEMA),
            "manager",
            None,
            Some("value"),
        )
        .unwrap();
        assert_eq!(manager.select(&jane()), Some(&json!("m1")));
    }

    #[test]
    fn matches_with_filter_semantics() {
        let user = jane();
        let emails = user_path("emails.value");
        assert!(emails.matches(&user, CompareOp::Eq, &json!("J@WORK")));
        assert!(!emails.matches(&user, CompareOp::Ne, &json!("j@work")));
        assert!(user_path("title").matches(&user, CompareOp::Eq, &Value::Null));
        assert!(user_path("userName").matches(&user, CompareOp::Sw, &json!("JA")));
    }

    #[test]
    fn typed_errors() {
        let e = ValuePath::resolve(ResourceKind::User, &parse(r#"title[type eq "x"]"#));
        assert_eq!(e, Err(PathError::NotMultiValued { attribute: "title" }));
        let e = ValuePath::resolve(ResourceKind::User, &parse("name.junk"));
        assert!(matches!(
            e,
            Err(PathError::Unresolved(Unresolved::UnknownSubAttribute(..)))
        ));
        let e = ValuePath::resolve(ResourceKind::User, &parse(r#"emails[tpye eq "x"]"#));
        assert!(matches!(e, Err(PathError::Filter(_))));
        let e = ValuePath::parse(ResourceKind::User, "titel").unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
        assert!(e.detail.contains("did you mean `title`"), "{}", e.detail);
    }
}
