//! Identifier newtypes. Each wraps the text exactly as it is stored and compared: these
//! names are case-sensitive (a [`UserName`](super::UserName) is the one that is not).
//!
//! The text is shared (`Arc<str>`): a Plan names the same entity, type and field in each
//! of its writes and history entries, and a clone is a count, not a copy.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Wraps a text as it is.
            pub fn new(text: impl AsRef<str>) -> $name {
                $name(Arc::from(text.as_ref()))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_string(self) -> String {
                self.0.to_string()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                deserializer.deserialize_str(SharedText).map($name)
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
                $name(Arc::from(text))
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> $name {
                $name(Arc::from(text))
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;

            fn from_str(text: &str) -> Result<$name, Self::Err> {
                Ok($name(Arc::from(text)))
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                *self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                *self.0 == **other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                **self == *other.0
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                *self.0 == **other
            }
        }
    };
}

/// Reads a name's text straight into its shared allocation.
struct SharedText;

impl serde::de::Visitor<'_> for SharedText {
    type Value = Arc<str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Arc<str>, E> {
        Ok(Arc::from(text))
    }
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
