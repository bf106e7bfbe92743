//! List and search requests (RFC 7644 §3.4.2, §3.4.3): query-string and `SearchRequest`
//! parsing, the sort comparator, paging, and the `ListResponse`.

use std::cmp::Ordering;
use std::ops::Range;

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};

use super::attr::get_ci;
use super::compare::order;
use super::error::{ScimError, ScimType};
use super::filter::{Filter, parse_filter};
use super::path::ValuePath;
use super::project::Projection;
use super::schema::{LIST_RESPONSE_SCHEMA, ResourceKind};

/// Page size when the client gives no `count`.
pub const DEFAULT_COUNT: usize = 100;
/// The largest page served (advertised as `filter.maxResults`).
pub const MAX_RESULTS: usize = 1000;

/// A parsed list or search request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// The filter, validated for the resource type.
    pub filter: Option<Filter>,
    /// 1-based index of the first result (at least 1).
    pub start_index: usize,
    /// Page size, `0..=MAX_RESULTS`; 0 asks only for `totalResults`.
    pub count: usize,
    /// The sort attribute, resolved (never a secret).
    pub sort_by: Option<ValuePath>,
    /// `sortOrder=descending`.
    pub descending: bool,
    /// `attributes` / `excludedAttributes`.
    pub projection: Projection,
}

impl ListQuery {
    /// The slice of a sorted, filtered result list of `total` items that this page shows.
    #[must_use]
    pub fn window(&self, total: usize) -> Range<usize> {
        let start = self.start_index.saturating_sub(1).min(total);
        let end = start.saturating_add(self.count).min(total);
        start..end
    }

    /// Orders two resources by `sortBy` (ties and no `sortBy`: by `id`), for a stable order
    /// across pages.
    #[must_use]
    pub fn compare(&self, a: &Value, b: &Value) -> Ordering {
        compare_resources(self.sort_by.as_ref(), self.descending, a, b)
    }
}

/// Splits a raw query string into decoded `(name, value)` pairs. Values may arrive
/// percent-encoded or raw (spaces and quotes as typed, as Okta sometimes sends them). `+`
/// means a space only when the client form-encoded (a `+` outside a quoted string), so a raw
/// `userName eq "a+b@x"` keeps its plus.
#[must_use]
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            (decode(name), decode(value))
        })
        .collect()
}

fn decode(raw: &str) -> String {
    let plus_is_space = plus_outside_quotes(raw);
    let prepared = if plus_is_space {
        raw.replace('+', "%20")
    } else {
        raw.to_owned()
    };
    percent_decode_str(&prepared)
        .decode_utf8_lossy()
        .into_owned()
}

fn plus_outside_quotes(raw: &str) -> bool {
    let mut in_quotes = false;
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        if rest.len() >= 3 && rest.get(..3).is_some_and(|s| s.eq_ignore_ascii_case("%22")) {
            in_quotes = !in_quotes;
            rest = rest.get(3..).unwrap_or_default();
            continue;
        }
        match c {
            '"' => in_quotes = !in_quotes,
            '+' if !in_quotes => return true,
            _ => {}
        }
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    false
}

/// Parses the query string of `GET /Users` or `GET /Groups` (parameter names
/// case-insensitive; unknown parameters ignored). A parameter given twice
/// (`filter=a&filter=b`) is `invalidValue`, as is a non-integer `startIndex`/`count` or an
/// unknown `sortOrder`; a bad filter is `invalidFilter`.
///
/// # Errors
///
/// `invalidValue` or `invalidFilter`, as above.
pub fn parse_list_query(kind: ResourceKind, query: &str) -> Result<ListQuery, ScimError> {
    let mut params = RawParams::default();
    for (name, value) in query_pairs(query) {
        let (slot, canonical) = match name.to_ascii_lowercase().as_str() {
            "filter" => (&mut params.filter, "filter"),
            "startindex" => (&mut params.start_index, "startIndex"),
            "count" => (&mut params.count, "count"),
            "sortby" => (&mut params.sort_by, "sortBy"),
            "sortorder" => (&mut params.sort_order, "sortOrder"),
            "attributes" => (&mut params.attributes, "attributes"),
            "excludedattributes" => (&mut params.excluded, "excludedAttributes"),
            _ => continue,
        };
        if slot.is_some() {
            return Err(ScimError::new(
                ScimType::InvalidValue,
                format!(
                    "the query gives `{canonical}` more than once; send it once (combine filters with `and`/`or`, list attributes separated by commas)"
                ),
            ));
        }
        *slot = Some(value);
    }
    params.into_query(kind)
}

/// Parses a `POST /.search` `SearchRequest` body (`schemas` not enforced; `attributes` and
/// `excludedAttributes` as arrays or comma-separated strings; numbers as numbers or strings).
///
/// # Errors
///
/// `invalidSyntax` for a body that is not an object, else as [`parse_list_query`].
pub fn parse_search_request(kind: ResourceKind, body: &Value) -> Result<ListQuery, ScimError> {
    let object = body.as_object().ok_or_else(|| {
        ScimError::new(
            ScimType::InvalidSyntax,
            "a SearchRequest must be a JSON object",
        )
    })?;
    let text = |name: &str| -> Result<Option<String>, ScimError> {
        match get_ci(object, name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Array(items)) => Ok(Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            )),
            Some(_) => Err(ScimError::new(
                ScimType::InvalidValue,
                format!("`{name}` in the SearchRequest has the wrong type"),
            )),
        }
    };
    let params = RawParams {
        filter: text("filter")?,
        start_index: text("startIndex")?,
        count: text("count")?,
        sort_by: text("sortBy")?,
        sort_order: text("sortOrder")?,
        attributes: text("attributes")?,
        excluded: text("excludedAttributes")?,
    };
    params.into_query(kind)
}

#[derive(Default)]
struct RawParams {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    attributes: Option<String>,
    excluded: Option<String>,
}

impl RawParams {
    fn into_query(self, kind: ResourceKind) -> Result<ListQuery, ScimError> {
        let filter = match self.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(parse_filter(kind, text)?),
        };
        let start_index = match self.start_index {
            None => 1,
            Some(text) => {
                usize::try_from(integer("startIndex", &text)?.max(1)).unwrap_or(usize::MAX)
            }
        };
        let count = match self.count {
            None => DEFAULT_COUNT,
            Some(text) => usize::try_from(integer("count", &text)?.max(0))
                .unwrap_or(usize::MAX)
                .min(MAX_RESULTS),
        };
        let sort_by = match self.sort_by.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let path = ValuePath::parse(kind, text).map_err(|e| {
                    ScimError::new(ScimType::InvalidValue, format!("sortBy: {}", e.detail))
                })?;
                if path.is_secret() || path.filter().is_some() {
                    return Err(ScimError::new(
                        ScimType::InvalidValue,
                        format!("sortBy: `{path}` cannot be sorted by"),
                    ));
                }
                Some(path)
            }
        };
        let descending = match self.sort_order.as_deref().map(str::trim) {
            None | Some("") => false,
            Some(order) if order.eq_ignore_ascii_case("ascending") => false,
            Some(order) if order.eq_ignore_ascii_case("descending") => true,
            Some(order) => {
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    format!("sortOrder is \"{order}\"; use ascending or descending"),
                ));
            }
        };
        Ok(ListQuery {
            filter,
            start_index,
            count,
            sort_by,
            descending,
            projection: Projection::parse(
                kind,
                self.attributes.as_deref(),
                self.excluded.as_deref(),
            ),
        })
    }
}

fn integer(name: &str, text: &str) -> Result<i64, ScimError> {
    let trimmed = text.trim();
    trimmed.parse::<i64>().or_else(|_| {
        // Saturate absurdly large values rather than refusing them.
        if !trimmed.is_empty()
            && trimmed
                .trim_start_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            Ok(if trimmed.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            })
        } else {
            Err(ScimError::new(
                ScimType::InvalidValue,
                format!("{name} must be an integer, not \"{text}\""),
            ))
        }
    })
}

/// Orders two canonical resources by `sort_by` (values compared as filters compare them:
/// case-insensitive unless the attribute is caseExact, userNames by their PRECIS key,
/// dateTimes as instants; multi-valued attributes by their primary or first element;
/// missing values last when ascending), then by `id`.
#[must_use]
pub fn compare_resources(
    sort_by: Option<&ValuePath>,
    descending: bool,
    a: &Value,
    b: &Value,
) -> Ordering {
    let by_key = match sort_by {
        None => Ordering::Equal,
        Some(path) => {
            let ordering = match (sort_value(path, a), sort_value(path, b)) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) => order(x, y, Some(path.leaf())),
            };
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        }
    };
    by_key.then_with(|| {
        let id = |v: &Value| v.get("id").and_then(Value::as_str).map(str::to_owned);
        id(a).cmp(&id(b))
    })
}

fn sort_value<'a>(path: &ValuePath, resource: &'a Value) -> Option<&'a Value> {
    let mut value = path.target().attribute().get(resource.as_object()?)?;
    if let Value::Array(items) = value {
        value = items
            .iter()
            .find(|item| item.get("primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first())?;
    }
    let field = match path.sub() {
        Some(sub) => Some(sub.name),
        None if value.is_object() => Some("value"),
        None => None,
    };
    match field {
        Some(sub) => value.get(sub).filter(|v| !v.is_null()),
        None => Some(value).filter(|v| !v.is_null()),
    }
}

/// A `ListResponse`: integer `totalResults`, `startIndex` and `itemsPerPage` (the number of
/// resources in this page), and `Resources` (always present, possibly empty).
#[must_use]
pub fn list_response(resources: Vec<Value>, total_results: usize, start_index: usize) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([LIST_RESPONSE_SCHEMA]));
    out.insert("totalResults".into(), json!(total_results));
    out.insert("startIndex".into(), json!(start_index.max(1)));
    out.insert("itemsPerPage".into(), json!(resources.len()));
    out.insert("Resources".into(), Value::Array(resources));
    Value::Object(out)
}

/// [`list_response`] written as JSON text around resources already written as JSON text
/// (the same bytes `serde_json` makes of [`list_response`]).
#[must_use]
pub fn write_list_response(
    resources: &[Vec<u8>],
    total_results: usize,
    start_index: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(160 + resources.iter().map(Vec::len).sum::<usize>());
    out.extend_from_slice(br#"{"schemas":[""#);
    out.extend_from_slice(LIST_RESPONSE_SCHEMA.as_bytes());
    out.extend_from_slice(
        format!(
            r#""],"totalResults":{total_results},"startIndex":{},"itemsPerPage":{},"Resources":["#,
            start_index.max(1),
            resources.len()
        )
        .as_bytes(),
    );
    for (i, resource) in resources.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(resource);
    }
    out.extend_from_slice(b"]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> ListQuery {
        parse_list_query(ResourceKind::User, q).unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    fn filter_value(q: &str) -> Value {
        match query(q).filter {
            Some(Filter::Compare { value, .. }) => value,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn okta_connection_test() {
        let q = query("startIndex=1&count=2");
        assert_eq!((q.start_index, q.count, q.filter), (1, 2, None));
    }

    #[test]
    fn okta_percent_encoded_filter() {
        let q = "filter=userName%20eq%20%22jane%40ex.com%22&startIndex=1&count=100";
        assert_eq!(filter_value(q), json!("jane@ex.com"));
    }

    #[test]
    fn raw_filter_with_spaces_and_quotes() {
        assert_eq!(
            filter_value(r#"filter=userName eq "jane@ex.com"&count=100"#),
            json!("jane@ex.com")
        );
    }

    #[test]
    fn raw_plus_inside_quotes_is_kept() {
        assert_eq!(
            filter_value(r#"filter=userName eq "a+b@ex.com""#),
            json!("a+b@ex.com")
        );
    }

    #[test]
    fn form_encoded_plus_is_space() {
        assert_eq!(
            filter_value("filter=displayName+eq+%22Sales+EMEA%22"),
            json!("Sales EMEA")
        );
    }

    #[test]
    fn defaults_and_clamping() {
        let q = query("");
        assert_eq!((q.start_index, q.count), (1, DEFAULT_COUNT));
        let q = query("startIndex=-5&count=-1");
        assert_eq!((q.start_index, q.count), (1, 0));
        assert_eq!(query("count=999999999999999999999").count, MAX_RESULTS);
    }

    #[test]
    fn garbage_count_is_invalid_value() {
        let e = parse_list_query(ResourceKind::User, "count=ten").unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn bad_filter_is_invalid_filter() {
        let e = parse_list_query(ResourceKind::User, "filter=userName%20eq").unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
    }

    #[test]
    fn window_pages() {
        let q = query("startIndex=101&count=100");
        assert_eq!(q.window(250), 100..200);
        assert_eq!(query("startIndex=201&count=100").window(250), 200..250);
        assert_eq!(query("startIndex=900").window(250), 250..250);
    }

    #[test]
    fn sort_by_case_insensitive_then_id() {
        let q = query("sortBy=USERNAME&sortOrder=descending");
        let a = json!({"id": "1", "userName": "alice"});
        let b = json!({"id": "2", "userName": "Bob"});
        assert_eq!(q.compare(&a, &b), Ordering::Greater);
        let c = json!({"id": "0"});
        assert_eq!(query("sortBy=userName").compare(&a, &c), Ordering::Less);
    }

    #[test]
    fn search_request_body() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "attributes": ["userName"], "filter": "userName sw \"j\"", "startIndex": 1, "count": 10
        });
        let q = parse_search_request(ResourceKind::User, &body).unwrap();
        assert_eq!(q.count, 10);
        assert!(q.filter.is_some());
        assert!(!q.projection.includes("emails"));
    }

    #[test]
    fn excluded_attributes_in_query() {
        let q = parse_list_query(
            ResourceKind::Group,
            "excludedAttributes=members&filter=displayName%20eq%20%22x%22",
        )
        .unwrap();
        assert!(!q.projection.includes("members"));
    }

    #[test]
    fn list_response_shape() {
        let r = list_response(vec![], 0, 1);
        assert_eq!(r["totalResults"], json!(0));
        assert_eq!(r["Resources"], json!([]));
        assert_eq!(r["itemsPerPage"], json!(0));
    }

    #[test]
    fn written_list_response_is_the_serialised_one() {
        let resources = [json!({"id": "a", "n": 1}), json!({"id": "b\"", "x": [1.5]})];
        for (count, total, start) in [(0, 0, 1), (1, 7, 0), (2, 2, 3)] {
            let shown: Vec<Value> = resources[..count].to_vec();
            let texts: Vec<Vec<u8>> = shown
                .iter()
                .map(|r| serde_json::to_vec(r).unwrap())
                .collect();
            assert_eq!(
                String::from_utf8(write_list_response(&texts, total, start)).unwrap(),
                serde_json::to_string(&list_response(shown, total, start)).unwrap()
            );
        }
    }
}
