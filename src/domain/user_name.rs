//! [`UserName`]: a userName as sent, with the one comparison key every check and index uses.
//!
//! The key is the PRECIS `UsernameCaseMapped` profile of RFC 8265 (width mapping, Unicode
//! lower case, NFC, the bidi rule; control, zero-width, unassigned and other disallowed code
//! points refused), applied to each space-separated part as RFC 8265 §3.5 allows for
//! names with spaces; the parts are joined with one space. So `josé` in NFC and NFD,
//! `JOSÉ` and the full-width `ｊｏｓé` are one name, `jane ` and ` jane` are `jane`, and a
//! name with NUL, a zero-width joiner or a bidi control is refused.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use precis_core::profile::PrecisFastInvocation;
use precis_profiles::UsernameCaseMapped;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest userName accepted, in bytes of its key.
pub const MAX_USER_NAME_BYTES: usize = 256;

/// A userName: the text as the client sent it (what SCIM returns) and its comparison key.
/// Equality, ordering and hashing use the key only.
#[derive(Debug, Clone)]
pub struct UserName {
    sent: String,
    key: String,
}

/// Why a text is not a valid userName.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserNameError {
    /// Empty, or only spaces.
    #[error("the userName is empty")]
    Empty,
    /// Longer than [`MAX_USER_NAME_BYTES`].
    #[error("the userName is longer than {MAX_USER_NAME_BYTES} bytes")]
    TooLong,
    /// A code point the PRECIS profile disallows (control, zero-width, bidi control...).
    #[error(
        "the userName contains the character U+{code_point:04X} at position {position}, which is not allowed in a userName (control, invisible, or unassigned characters are refused)"
    )]
    Disallowed {
        /// The code point.
        code_point: u32,
        /// Its 0-based character position in the text as sent.
        position: usize,
    },
    /// Refused by the profile for another reason (the bidi rule, a context rule).
    #[error(
        "the userName mixes writing directions or joins characters in a way a userName may not (RFC 8265)"
    )]
    Invalid,
}

impl UserName {
    /// Validates `sent` and computes its key.
    pub fn new(sent: impl Into<String>) -> Result<UserName, UserNameError> {
        let sent = sent.into();
        let key = key_of(&sent)?;
        Ok(UserName { sent, key })
    }

    /// The text as sent.
    pub fn as_sent(&self) -> &str {
        &self.sent
    }

    /// The comparison key (what indexes hold).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether `text` names this user (its key equals ours). Invalid text names nobody.
    pub fn matches(&self, text: &str) -> bool {
        key_of(text).is_ok_and(|key| key == self.key)
    }
}

/// The comparison key of a userName text.
pub fn key_of(text: &str) -> Result<String, UserNameError> {
    let mut key = String::with_capacity(text.len());
    // Position, in characters, of each part in the original text (for error details).
    let mut offset = 0usize;
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start_matches(' ');
        offset += rest.len() - trimmed.len();
        if trimmed.is_empty() {
            break;
        }
        let end = trimmed.find(' ').unwrap_or(trimmed.len());
        let part = &trimmed[..end];
        if !key.is_empty() {
            key.push(' ');
        }
        push_part(&mut key, part, text, offset)?;
        offset += end;
        rest = &trimmed[end..];
    }
    if key.is_empty() {
        return Err(UserNameError::Empty);
    }
    if key.len() > MAX_USER_NAME_BYTES {
        return Err(UserNameError::TooLong);
    }
    Ok(key)
}

/// Appends the profile of one space-free part; `offset` is its byte offset in `whole`.
fn push_part(
    key: &mut String,
    part: &str,
    whole: &str,
    offset: usize,
) -> Result<(), UserNameError> {
    // Printable ASCII without space maps to its ASCII lower case under the profile.
    if part.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        key.extend(part.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        return Ok(());
    }
    match UsernameCaseMapped::enforce(part) {
        Ok(mapped) => {
            key.push_str(&mapped);
            Ok(())
        }
        Err(precis_core::Error::BadCodepoint(info)) => {
            // The profile reports a position in its mapped text; name the code point and
            // find it in the text as sent.
            let position = part
                .char_indices()
                .position(|(_, c)| u32::from(c) == info.cp)
                .map_or(info.position, |p| p)
                + whole[..offset].chars().count();
            Err(UserNameError::Disallowed {
                code_point: info.cp,
                position,
            })
        }
        Err(_) => Err(UserNameError::Invalid),
    }
}

/// The case-insensitive comparison key of any name (a group's displayName, a unique entity
/// field, a pending reference's key): its userName key when it is a valid userName, else
/// its Unicode lower case. The one fold every case-insensitive index and comparison uses.
pub fn fold(text: &str) -> String {
    key_of(text).unwrap_or_else(|_| text.to_lowercase())
}

/// Whether two names are equal under [`fold`].
pub fn same_name(a: &str, b: &str) -> bool {
    a == b || fold(a) == fold(b)
}

impl PartialEq for UserName {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for UserName {}

impl PartialOrd for UserName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for UserName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl Hash for UserName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sent)
    }
}

impl Serialize for UserName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.sent)
    }
}

impl<'de> Deserialize<'de> for UserName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let sent = String::deserialize(deserializer)?;
        UserName::new(sent).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Result<String, UserNameError> {
        key_of(text)
    }

    #[test]
    fn case_and_ascii() {
        assert_eq!(
            key("Jane.Doe@Example.COM").as_deref(),
            Ok("jane.doe@example.com")
        );
        assert_eq!(UserName::new("A").ok(), UserName::new("a").ok());
    }

    #[test]
    fn nfc_and_nfd_are_one_name() {
        let nfc = "jos\u{e9}";
        let nfd = "jose\u{301}";
        assert_ne!(nfc, nfd);
        assert_eq!(key(nfc), key(nfd));
        assert_eq!(key("JOS\u{c9}"), key(nfc));
    }

    #[test]
    fn full_width_maps_to_ascii() {
        assert_eq!(
            key("\u{ff4a}\u{ff41}\u{ff4e}\u{ff45}").as_deref(),
            Ok("jane")
        );
    }

    #[test]
    fn spaces_are_trimmed_and_collapsed() {
        assert_eq!(key(" jane ").as_deref(), Ok("jane"));
        assert_eq!(key("Jane  Doe").as_deref(), Ok("jane doe"));
        assert_eq!(key("   "), Err(UserNameError::Empty));
        assert_eq!(key(""), Err(UserNameError::Empty));
    }

    #[test]
    fn invisible_and_control_characters_are_refused() {
        for bad in [
            "ja\u{0}ne",
            "ja\u{200b}ne",
            "ja\u{200d}ne",
            "\u{202e}enaj",
            "ja\tne",
            "ja\u{1b}[31mne",
        ] {
            assert!(
                matches!(
                    key(bad),
                    Err(UserNameError::Disallowed { .. } | UserNameError::Invalid)
                ),
                "{bad:?} -> {:?}",
                key(bad)
            );
        }
        assert_eq!(
            key("ab\u{0}"),
            Err(UserNameError::Disallowed {
                code_point: 0,
                position: 2
            })
        );
    }

    #[test]
    fn fold_is_the_user_name_key_or_lower_case() {
        assert_eq!(fold("Clarizen Users"), "clarizen users");
        assert_eq!(fold("jose\u{301}"), fold("JOS\u{c9}"));
        // Not a valid userName (an emoji): lower case.
        assert_eq!(fold("Team \u{1f680} A"), "team \u{1f680} a");
        assert!(same_name("Sales", "SALES"));
        assert!(!same_name("Sales", "Sale"));
    }

    #[test]
    fn too_long_is_refused() {
        assert_eq!(key(&"a".repeat(257)), Err(UserNameError::TooLong));
        assert!(key(&"a".repeat(256)).is_ok());
    }

    #[test]
    fn equality_and_hash_use_the_key() {
        use std::collections::HashSet;
        let set: HashSet<UserName> = ["Jane", "jane", " JANE"]
            .into_iter()
            .filter_map(|t| UserName::new(t).ok())
            .collect();
        assert_eq!(set.len(), 1);
        let name = UserName::new("Jane").ok();
        assert_eq!(name.as_ref().map(UserName::as_sent), Some("Jane"));
        assert!(name.is_some_and(|n| n.matches("JANE")));
    }
}
