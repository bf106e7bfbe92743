//! `ETags` (RFC 7644 §3.14): `meta.version` and the `ETag` header are `W/"<version>"`;
//! `If-Match` and `If-None-Match` are evaluated with weak comparison (our tags are weak).

use super::error::ScimError;

/// The `ETag` for a resource version: `W/"<version>"`.
#[must_use]
pub fn etag(version: &str) -> String {
    format!("W/\"{version}\"")
}

/// One entity tag from a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    /// `W/` prefix present.
    pub weak: bool,
    /// The opaque tag without quotes.
    pub opaque: String,
}

/// The value of an `If-Match` / `If-None-Match` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityTags {
    /// `*`: any current representation.
    Any,
    /// A list of tags (possibly empty when the header held nothing usable).
    List(Vec<EntityTag>),
}

impl EntityTags {
    /// Whether a resource at `version` matches (weak comparison; `*` matches any version).
    #[must_use]
    pub fn matches(&self, version: &str) -> bool {
        match self {
            EntityTags::Any => true,
            EntityTags::List(tags) => tags.iter().any(|t| t.opaque == version),
        }
    }
}

/// Parses a header value: `*`, or a comma-separated list of `W/"x"`, `"x"` (and, leniently,
/// bare `x`). Never fails; unusable pieces are skipped and so match nothing.
#[must_use]
pub fn parse_entity_tags(header: &str) -> EntityTags {
    let header = header.trim();
    if header == "*" {
        return EntityTags::Any;
    }
    let mut tags = Vec::new();
    let mut rest = header;
    while !rest.trim_start().is_empty() {
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        let (weak, body) = match rest.strip_prefix("W/").or_else(|| rest.strip_prefix("w/")) {
            Some(after) => (true, after),
            None => (false, rest),
        };
        if let Some(quoted) = body.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            tags.push(EntityTag {
                weak,
                opaque: quoted.get(..end).unwrap_or_default().to_owned(),
            });
            rest = quoted.get(end + 1..).unwrap_or_default();
        } else {
            let end = body.find(',').unwrap_or(body.len());
            let token = body.get(..end).unwrap_or_default().trim();
            if !token.is_empty() {
                tags.push(EntityTag {
                    weak,
                    opaque: token.to_owned(),
                });
            }
            rest = body.get(end..).unwrap_or_default();
        }
    }
    EntityTags::List(tags)
}

/// What to do after evaluating preconditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Carry on with the request.
    Proceed,
    /// Answer 304 Not Modified (only for GET/HEAD).
    NotModified,
}

/// A request's conditional headers (RFC 9110 §13.1), as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// `If-Match`.
    pub if_match: Option<String>,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
}

impl Preconditions {
    /// [`evaluate_preconditions`] of these headers.
    ///
    /// # Errors
    ///
    /// 412 when a precondition fails.
    pub fn evaluate(&self, current: Option<&str>, safe: bool) -> Result<Precondition, ScimError> {
        evaluate_preconditions(
            current,
            self.if_match.as_deref(),
            self.if_none_match.as_deref(),
            safe,
        )
    }
}

/// Evaluates `If-Match` then `If-None-Match` (RFC 9110 §13.2.2) for a resource whose current
/// version is `current` (`None` when it does not exist). `safe` is true for GET/HEAD.
/// A failed precondition is `Err` with status 412 (a header that cannot be read cannot
/// match, so it fails the same way).
///
/// # Errors
///
/// 412 when a precondition fails.
pub fn evaluate_preconditions(
    current: Option<&str>,
    if_match: Option<&str>,
    if_none_match: Option<&str>,
    safe: bool,
) -> Result<Precondition, ScimError> {
    if let Some(header) = if_match {
        let tags = parse_entity_tags(header);
        if !current.is_some_and(|v| tags.matches(v)) {
            return Err(ScimError::status(
                412,
                match current {
                    Some(v) => format!(
                        "the resource has changed: If-Match was {header} but the current version is {}; read it again and retry",
                        etag(v)
                    ),
                    None => format!("If-Match was {header} but the resource does not exist"),
                },
            ));
        }
    }
    if let Some(header) = if_none_match {
        let tags = parse_entity_tags(header);
        if current.is_some_and(|v| tags.matches(v)) {
            if safe {
                return Ok(Precondition::NotModified);
            }
            return Err(ScimError::status(
                412,
                format!("If-None-Match was {header} and the resource matches it"),
            ));
        }
    }
    Ok(Precondition::Proceed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_weak_tag() {
        assert_eq!(etag("3"), "W/\"3\"");
    }

    #[test]
    fn parses_lists_and_star() {
        assert_eq!(parse_entity_tags(" * "), EntityTags::Any);
        let tags = parse_entity_tags(r#"W/"1", "2""#);
        assert!(tags.matches("1") && tags.matches("2") && !tags.matches("3"));
    }

    #[test]
    fn if_match_mismatch_is_412() {
        let e = evaluate_preconditions(Some("2"), Some(r#"W/"1""#), None, false).unwrap_err();
        assert_eq!(e.status, 412);
    }

    #[test]
    fn if_match_garbage_is_412() {
        let e = evaluate_preconditions(Some("2"), Some("garbage,,"), None, false).unwrap_err();
        assert_eq!(e.status, 412);
    }

    #[test]
    fn if_match_match_proceeds() {
        let r = evaluate_preconditions(Some("2"), Some(r#"W/"2""#), None, false);
        assert_eq!(r, Ok(Precondition::Proceed));
    }

    #[test]
    fn if_none_match_on_get_is_304() {
        let r = evaluate_preconditions(Some("2"), None, Some(r#"W/"2""#), true);
        assert_eq!(r, Ok(Precondition::NotModified));
    }

    #[test]
    fn if_none_match_star_on_write_is_412() {
        let e = evaluate_preconditions(Some("2"), None, Some("*"), false).unwrap_err();
        assert_eq!(e.status, 412);
    }
}
