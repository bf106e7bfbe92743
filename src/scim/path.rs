//! PATCH paths (RFC 7644 §3.5.2): `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`,
//! each optionally URN-qualified. Syntax only; [`super::patch`] resolves them.

use pest::Parser;

use super::attr::AttrPath;
use super::error::{ScimError, ScimType};
use super::filter::{self, Filter, FilterParser, Rule};

/// A parsed PATCH path. For `emails[type eq "work"].value`, `path` is `emails` with sub
/// `value` and `filter` is `type eq "work"` (relative to each element).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute (with URN and sub-attribute, when given).
    pub path: AttrPath,
    /// The value selection filter between brackets.
    pub filter: Option<Filter>,
}

impl PatchPath {
    /// Parses a path; malformed input is `invalidPath` with a detail naming the position.
    pub fn parse(input: &str) -> Result<PatchPath, ScimError> {
        filter::check_limits(input).map_err(|e| {
            ScimError::new(ScimType::InvalidPath, e.detail.replace("filter", "path"))
        })?;
        let mut pairs = FilterParser::parse(Rule::patch_path, input.trim())
            .map_err(|e| filter::syntax_error(input.trim(), &e, "path"))?;
        let parts = pairs.next().map(|p| p.into_inner()).into_iter().flatten();
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

fn invalid_path(detail: impl std::fmt::Display) -> ScimError {
    ScimError::new(ScimType::InvalidPath, format!("Invalid path: {detail}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> PatchPath {
        PatchPath::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
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
}
