//! Identifier newtypes. Each wraps the text exactly as it is stored and compared: these
//! names are case-sensitive (a [`UserName`](super::UserName) is the one that is not).

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a text as it is.
            pub fn new(text: impl Into<String>) -> $name {
                $name(text.into())
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> $name {
                $name(text.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> $name {
                $name(text)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;

            fn from_str(text: &str) -> Result<$name, Self::Err> {
                Ok($name(text.to_owned()))
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

name_type!(
    /// A tenant (one application instance): `[A-Za-z0-9_-]{1,64}`, checked where tenants
    /// are created.
    TenantId
);
name_type!(
    /// The id of a SCIM resource and of the entity it feeds (they share it), or of an
    /// entity with no resource (a `JobTitle`). Unique within a tenant.
    ResourceId
);
name_type!(
    /// An entity type of the target schema (`User`, `JobTitle`).
    EntityType
);
name_type!(
    /// A field of an entity type (`DirectManager`).
    FieldName
);

impl TenantId {
    /// Whether `name` is a valid tenant name: `[A-Za-z0-9_-]{1,64}`.
    pub fn is_valid(name: &str) -> bool {
        (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names() {
        assert!(TenantId::is_valid("acme-2_b"));
        assert!(!TenantId::is_valid(""));
        assert!(!TenantId::is_valid("a.b"));
        assert!(TenantId::is_valid(&"a".repeat(64)));
        assert!(!TenantId::is_valid(&"a".repeat(65)));
    }

    #[test]
    fn names_serialize_as_plain_text() {
        let id = ResourceId::new("u1");
        assert_eq!(serde_json::to_string(&id).ok().as_deref(), Some("\"u1\""));
        assert_eq!(id, "u1");
    }
}
