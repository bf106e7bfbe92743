//! Routing by hand: the SCIM base path, then the endpoint and method.

use hyper::Method;

use crate::scim::schema::ResourceKind;

/// The SCIM base paths answered. `/scim/v2` is canonical; `/v2` is also answered.
pub const BASE_PATHS: [&str; 2] = ["/scim/v2", "/v2"];

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
    Get(ResourceKind, String),
    /// `PUT /Users/{id}`
    Replace(ResourceKind, String),
    /// `PATCH /Users/{id}`
    Patch(ResourceKind, String),
    /// `DELETE /Users/{id}`
    Delete(ResourceKind, String),
    /// `POST /Bulk`
    Bulk,
}

/// Why a request could not be routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No such endpoint (404).
    NotFound(String),
    /// The endpoint exists but not with this method (405), with the allowed methods.
    MethodNotAllowed(&'static str),
}

impl Route {
    /// Whether the route needs a Bearer key.
    pub fn needs_auth(&self) -> bool {
        !matches!(self, Route::ServiceProviderConfig)
    }

    /// Whether the route writes.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Route::Create(_)
                | Route::Replace(..)
                | Route::Patch(..)
                | Route::Delete(..)
                | Route::Bulk
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

/// Routes a method and a path relative to the base (`/Users/123`).
pub fn route(method: &Method, rest: &str) -> Result<Route, RouteError> {
    let trimmed = rest.trim_matches('/');
    let segments: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    };
    let shown = if rest.is_empty() { "/" } else { rest };
    let not_found = || RouteError::NotFound(format!("there is no SCIM endpoint at {shown}"));
    let kind_of = |segment: &str| {
        if segment.eq_ignore_ascii_case("Users") {
            Some(ResourceKind::User)
        } else if segment.eq_ignore_ascii_case("Groups") {
            Some(ResourceKind::Group)
        } else {
            None
        }
    };
    let get_only = |route: Route| {
        if method == Method::GET {
            Ok(route)
        } else {
            Err(RouteError::MethodNotAllowed("GET"))
        }
    };
    match segments.as_slice() {
        [one] if one.eq_ignore_ascii_case("ServiceProviderConfig") => {
            get_only(Route::ServiceProviderConfig)
        }
        [one] if one.eq_ignore_ascii_case("Schemas") => get_only(Route::Schemas),
        [one, id] if one.eq_ignore_ascii_case("Schemas") => get_only(Route::Schema(decode(id))),
        [one] if one.eq_ignore_ascii_case("ResourceTypes") => get_only(Route::ResourceTypes),
        [one, id] if one.eq_ignore_ascii_case("ResourceTypes") => {
            get_only(Route::ResourceType(decode(id)))
        }
        [one] if one.eq_ignore_ascii_case("Bulk") => {
            if method == Method::POST {
                Ok(Route::Bulk)
            } else {
                Err(RouteError::MethodNotAllowed("POST"))
            }
        }
        [one] if *one == ".search" => {
            if method == Method::POST {
                Ok(Route::SearchAll)
            } else {
                Err(RouteError::MethodNotAllowed("POST"))
            }
        }
        [collection] => {
            let kind = kind_of(collection).ok_or_else(not_found)?;
            match *method {
                Method::GET => Ok(Route::List(kind)),
                Method::POST => Ok(Route::Create(kind)),
                _ => Err(RouteError::MethodNotAllowed("GET, POST")),
            }
        }
        [collection, ".search"] => {
            let kind = kind_of(collection).ok_or_else(not_found)?;
            if method == Method::POST {
                Ok(Route::Search(kind))
            } else {
                Err(RouteError::MethodNotAllowed("POST"))
            }
        }
        [collection, id] => {
            let kind = kind_of(collection).ok_or_else(not_found)?;
            let id = decode(id);
            match *method {
                Method::GET => Ok(Route::Get(kind, id)),
                Method::PUT => Ok(Route::Replace(kind, id)),
                Method::PATCH => Ok(Route::Patch(kind, id)),
                Method::DELETE => Ok(Route::Delete(kind, id)),
                _ => Err(RouteError::MethodNotAllowed("GET, PUT, PATCH, DELETE")),
            }
        }
        _ => Err(not_found()),
    }
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_collections_and_members() {
        assert_eq!(
            route(&Method::GET, "/Users"),
            Ok(Route::List(ResourceKind::User))
        );
        assert_eq!(
            route(&Method::PATCH, "/Groups/g1"),
            Ok(Route::Patch(ResourceKind::Group, "g1".into()))
        );
        assert_eq!(
            route(&Method::POST, "/Users/.search"),
            Ok(Route::Search(ResourceKind::User))
        );
        assert_eq!(route(&Method::POST, "/.search"), Ok(Route::SearchAll));
    }

    #[test]
    fn discovery_is_read_only() {
        assert_eq!(
            route(&Method::POST, "/ServiceProviderConfig"),
            Err(RouteError::MethodNotAllowed("GET"))
        );
        assert_eq!(
            route(&Method::DELETE, "/Schemas"),
            Err(RouteError::MethodNotAllowed("GET"))
        );
    }

    #[test]
    fn unknown_endpoints_are_not_found() {
        assert!(matches!(
            route(&Method::GET, "/Devices"),
            Err(RouteError::NotFound(_))
        ));
        assert!(matches!(
            route(&Method::GET, "/Users/a/b"),
            Err(RouteError::NotFound(_))
        ));
    }

    #[test]
    fn base_paths() {
        assert_eq!(strip_base("/scim/v2/Users"), Some("/Users"));
        assert_eq!(strip_base("/v2/Users"), Some("/Users"));
        assert_eq!(strip_base("/scim/v2"), Some(""));
        assert_eq!(strip_base("/scim/v20/Users"), None);
        assert_eq!(strip_base("/Users"), None);
    }
}
