//! SCIM errors (RFC 7644 §3.12): the `scimType` keywords and the Error message body.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::schema::ERROR_SCHEMA;

/// The `scimType` keywords of RFC 7644 Table 9, plus `unsupported` is not one of them:
/// only the RFC's keywords are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    /// The filter syntax is invalid, or an attribute or operator is unsupported.
    InvalidFilter,
    /// The filter yields too many results.
    TooMany,
    /// A value is not unique (userName taken).
    Uniqueness,
    /// An attempt to modify an immutable or read-only attribute.
    Mutability,
    /// The request body structure is invalid or does not conform to the schema.
    InvalidSyntax,
    /// The path attribute is invalid or malformed.
    InvalidPath,
    /// The path did not yield an attribute that could be operated on.
    NoTarget,
    /// A required value is missing, or the value is not compatible.
    InvalidValue,
    /// The SCIM protocol version is not supported.
    InvalidVers,
    /// The request would reveal sensitive information.
    Sensitive,
}

impl ScimType {
    /// Every keyword.
    pub const ALL: [ScimType; 10] = [
        ScimType::InvalidFilter,
        ScimType::TooMany,
        ScimType::Uniqueness,
        ScimType::Mutability,
        ScimType::InvalidSyntax,
        ScimType::InvalidPath,
        ScimType::NoTarget,
        ScimType::InvalidValue,
        ScimType::InvalidVers,
        ScimType::Sensitive,
    ];

    /// The RFC keyword.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }

    /// Parses the RFC keyword (exact spelling).
    #[must_use]
    pub fn parse(keyword: &str) -> Option<ScimType> {
        ScimType::ALL.into_iter().find(|t| t.as_str() == keyword)
    }

    /// The HTTP status the RFC pairs with this keyword.
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            ScimType::Uniqueness => 409,
            ScimType::Sensitive => 403,
            _ => 400,
        }
    }
}

/// A SCIM error: HTTP status, optional `scimType`, and a `detail` written for the person who
/// will read it (Okta shows it to the administrator as a task).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {detail}", scim_type.map_or("error", ScimType::as_str))]
pub struct ScimError {
    /// HTTP status code.
    pub status: u16,
    /// The RFC keyword, where one applies.
    pub scim_type: Option<ScimType>,
    /// Human-readable detail.
    pub detail: String,
}

impl ScimError {
    /// An error with a `scimType`; the status is the one the RFC pairs with it.
    pub fn new(scim_type: ScimType, detail: impl Into<String>) -> ScimError {
        ScimError {
            status: scim_type.status(),
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    /// An error with only a status (404, 401, 405, 412, 413, 500...).
    pub fn status(status: u16, detail: impl Into<String>) -> ScimError {
        ScimError {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }

    /// 404 for a resource id that does not exist (in this tenant).
    #[must_use]
    pub fn not_found(kind: &str, id: &str) -> ScimError {
        ScimError::status(404, format!("{kind} {id} not found"))
    }

    /// The Error message body; `status` is a string, as RFC 7644 §3.12 requires.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Some(map)) = (self.scim_type, body.as_object_mut()) {
            map.insert("scimType".into(), Value::String(t.as_str().into()));
        }
        body
    }
}
