//! The one router: an HTTP method and a path relative to the SCIM base path -> [`Route`].
//! The server, `explain` and `/Bulk` all route through [`route`].

use crate::domain::{ResourceId, ResourceKind};

/// The SCIM base paths answered. `/scim/v2` is canonical; `/v2` is also answered.
pub const BASE_PATHS: [&str; 2] = ["/scim/v2", "/v2"];

/// The HTTP methods SCIM uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// Every method, in order.
    pub const ALL: [Method; 5] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// The method as written on the wire (`PATCH`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// Parses a method name, case-insensitively (Bulk operations and explain files are
    /// written by hand).
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether a request with this method carries a body.
    pub fn has_body(self) -> bool {
        matches!(self, Method::Post | Method::Put | Method::Patch)
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Method {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A routed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /ServiceProviderConfig` (no auth).
    ServiceProviderConfig,
    /// `GET /Schemas`
    Schemas,
    /// `GET /Schemas/{urn}`
    Schema(String),
    /// `GET /ResourceTypes`
    ResourceTypes,
    /// `GET /ResourceTypes/{name}`
    ResourceType(String),
    /// `GET /Users`, `GET /Groups`
    List(ResourceKind),
    /// `POST /Users/.search`, `POST /Groups/.search`
    Search(ResourceKind),
    /// `POST /.search`
    SearchAll,
    /// `POST /Users`
    Create(ResourceKind),
    /// `GET /Users/{id}`
    Get(ResourceKind, ResourceId),
    /// `PUT /Users/{id}`
    Replace(ResourceKind, ResourceId),
    /// `PATCH /Users/{id}`
    Patch(ResourceKind, ResourceId),
    /// `DELETE /Users/{id}`
    Delete(ResourceKind, ResourceId),
    /// `POST /Bulk`
    Bulk,
}

/// Why a request could not be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No such endpoint (404), with the path as shown to the client.
    #[error("there is no SCIM endpoint at {0}")]
    NotFound(String),
    /// The endpoint exists but not with this method (405), with the allowed methods.
    #[error("{method} is not allowed on {path}; allowed: {allow}")]
    MethodNotAllowed {
        /// The method sent.
        method: String,
        /// The path as shown.
        path: String,
        /// The allowed methods (`GET, POST`), for the `Allow` header.
        allow: &'static str,
    },
}

impl Route {
    /// Whether the route needs a Bearer key.
    pub fn needs_auth(&self) -> bool {
        !matches!(self, Route::ServiceProviderConfig)
    }

    /// Whether the route is one SCIM write operation on one resource.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Route::Create(_) | Route::Replace(..) | Route::Patch(..) | Route::Delete(..)
        )
    }
}

/// Strips the SCIM base path; `None` when the path is outside it.
pub fn strip_base(path: &str) -> Option<&str> {
    BASE_PATHS.iter().find_map(|base| {
        let rest = path.strip_prefix(base)?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    })
}

/// Routes a method (as sent) and a path relative to the SCIM base (`/Users/123`).
pub fn route(method: &str, rest: &str) -> Result<Route, RouteError> {
    let trimmed = rest.trim_matches('/');
    let segments: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    };
    let shown = if rest.is_empty() { "/" } else { rest };
    let not_found = || RouteError::NotFound(shown.to_owned());
    let parsed = Method::parse(method);
    let only = |allowed: &[Method], allow: &'static str, route: Route| match parsed {
        Some(m) if allowed.contains(&m) => Ok(route),
        _ => Err(RouteError::MethodNotAllowed {
            method: method.to_owned(),
            path: shown.to_owned(),
            allow,
        }),
    };
    let is = |segment: &str, name: &str| segment.eq_ignore_ascii_case(name);
    match segments.as_slice() {
        [one] if is(one, "ServiceProviderConfig") => {
            only(&[Method::Get], "GET", Route::ServiceProviderConfig)
        }
        [one] if is(one, "Schemas") => only(&[Method::Get], "GET", Route::Schemas),
        [one, id] if is(one, "Schemas") => only(&[Method::Get], "GET", Route::Schema(decode(id))),
        [one] if is(one, "ResourceTypes") => only(&[Method::Get], "GET", Route::ResourceTypes),
        [one, id] if is(one, "ResourceTypes") => {
            only(&[Method::Get], "GET", Route::ResourceType(decode(id)))
        }
        [one] if is(one, "Bulk") => only(&[Method::Post], "POST", Route::Bulk),
        [".search"] => only(&[Method::Post], "POST", Route::SearchAll),
        [collection] => {
            let kind = ResourceKind::from_endpoint(collection).ok_or_else(not_found)?;
            match parsed {
                Some(Method::Get) => Ok(Route::List(kind)),
                Some(Method::Post) => Ok(Route::Create(kind)),
                _ => only(&[], "GET, POST", Route::List(kind)),
            }
        }
        [collection, ".search"] => {
            let kind = ResourceKind::from_endpoint(collection).ok_or_else(not_found)?;
            only(&[Method::Post], "POST", Route::Search(kind))
        }
        [collection, id] => {
            let kind = ResourceKind::from_endpoint(collection).ok_or_else(not_found)?;
            let id = ResourceId::new(decode(id));
            match parsed {
                Some(Method::Get) => Ok(Route::Get(kind, id)),
                Some(Method::Put) => Ok(Route::Replace(kind, id)),
                Some(Method::Patch) => Ok(Route::Patch(kind, id)),
                Some(Method::Delete) => Ok(Route::Delete(kind, id)),
                _ => only(&[], "GET, PUT, PATCH, DELETE", Route::Get(kind, id)),
            }
        }
        _ => Err(not_found()),
    }
}

/// [`route`] for a path that may still carry a base (`/scim/v2/Users/1`), as written in
/// Bulk operations and explain files.
pub fn route_path(method: &str, path: &str) -> Result<Route, RouteError> {
    route(method, strip_base(path).unwrap_or(path))
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> ResourceId {
        ResourceId::new(text)
    }

    #[test]
    fn routes_collections_and_members() {
        assert_eq!(route("GET", "/Users"), Ok(Route::List(ResourceKind::User)));
        assert_eq!(
            route("PATCH", "/Groups/g1"),
            Ok(Route::Patch(ResourceKind::Group, id("g1")))
        );
        assert_eq!(
            route("POST", "/Users/.search"),
            Ok(Route::Search(ResourceKind::User))
        );
        assert_eq!(route("POST", "/.search"), Ok(Route::SearchAll));
        assert_eq!(
            route_path("delete", "/scim/v2/users/a%20b"),
            Ok(Route::Delete(ResourceKind::User, id("a b")))
        );
    }

    #[test]
    fn discovery_is_read_only() {
        assert!(matches!(
            route("POST", "/ServiceProviderConfig"),
            Err(RouteError::MethodNotAllowed { allow: "GET", .. })
        ));
        assert!(matches!(
            route("DELETE", "/Schemas"),
            Err(RouteError::MethodNotAllowed { allow: "GET", .. })
        ));
        assert!(matches!(
            route("PUT", "/Users"),
            Err(RouteError::MethodNotAllowed {
                allow: "GET, POST",
                ..
            })
        ));
        assert!(matches!(
            route("BREW", "/Users/x"),
            Err(RouteError::MethodNotAllowed {
                allow: "GET, PUT, PATCH, DELETE",
                ..
            })
        ));
    }

    #[test]
    fn unknown_endpoints_are_not_found() {
        assert_eq!(
            route("GET", "/Devices"),
            Err(RouteError::NotFound("/Devices".into()))
        );
        assert!(matches!(
            route("GET", "/Users/a/b"),
            Err(RouteError::NotFound(_))
        ));
        assert_eq!(route("GET", ""), Err(RouteError::NotFound("/".into())));
    }

    #[test]
    fn base_paths() {
        assert_eq!(strip_base("/scim/v2/Users"), Some("/Users"));
        assert_eq!(strip_base("/v2/Users"), Some("/Users"));
        assert_eq!(strip_base("/scim/v2"), Some(""));
        assert_eq!(strip_base("/scim/v20/Users"), None);
        assert_eq!(strip_base("/Users"), None);
    }

    #[test]
    fn methods_round_trip() {
        for method in Method::ALL {
            assert_eq!(Method::parse(method.as_str()), Some(method));
        }
        assert_eq!(Method::parse("Patch"), Some(Method::Patch));
        assert_eq!(Method::parse("TRACE"), None);
    }
}
