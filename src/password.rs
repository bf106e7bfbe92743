//! Received passwords, write-only: a [`Secret`] never prints, serialises or compares in a
//! log, and is kept only as an Argon2id hash ([`PasswordHash`], PHC string format) when the
//! profile says `password hash;`. Nothing returns a hash: [`verify`] only answers whether a
//! password matches it.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash as Phc, PasswordHasher, PasswordVerifier, SaltString};

/// A password as received. Its `Debug` shows nothing of it; it has no `Display` and no
/// `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a received password.
    #[must_use]
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

/// An Argon2id hash in PHC string format (`$argon2id$v=19$...`). Its `Debug` shows nothing
/// of it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// The PHC string, for the store.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(argon2id, ********)")
    }
}

/// Hashing a password failed (no randomness for the salt, or the hasher refused).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the password could not be hashed: {0}")]
pub struct PasswordError(pub(crate) String);

/// Hashes `secret` with Argon2id (the `argon2` crate's default parameters: 19 MiB, two
/// passes, one lane) and a random 16-byte salt.
///
/// # Errors
///
/// [`PasswordError`] when no randomness is available or hashing fails.
pub fn hash(secret: &Secret) -> Result<PasswordHash, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| PasswordError(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError(e.to_string()))?;
    Argon2::default()
        .hash_password(secret.0.as_bytes(), &salt)
        .map(|hash| PasswordHash(hash.to_string()))
        .map_err(|e| PasswordError(e.to_string()))
}

/// Whether `candidate` is the password `stored` (a PHC string) was made from. A malformed
/// hash matches nothing.
#[must_use]
pub fn verify(stored: &str, candidate: &str) -> bool {
    Phc::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_salted_verifies_and_never_prints() {
        let secret = Secret::new("1mz050nq");
        let first = hash(&secret).expect("hashes");
        let second = hash(&secret).expect("hashes");
        assert!(
            first.as_str().starts_with("$argon2id$v=19$"),
            "{}",
            first.as_str()
        );
        assert_ne!(first, second, "a new salt every time");
        assert!(verify(first.as_str(), "1mz050nq"));
        assert!(!verify(first.as_str(), "1mz050nQ"));
        assert!(!verify("not a hash", "1mz050nq"));
        assert!(!format!("{secret:?}{first:?}").contains("1mz050nq"));
        assert!(!format!("{first:?}").contains(first.as_str()));
    }
}
