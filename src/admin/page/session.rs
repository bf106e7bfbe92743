//! Page sessions. Signing in with an operator token gives a random 32-byte session id in an
//! `HttpOnly`, `SameSite=Strict` cookie; the server keeps, per session, the operator, a CSRF
//! token that every state-changing form must carry, one-time messages, and an expiry. Only
//! the SHA-256 of a session id is kept, so a lookup's timing says nothing about live ids.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "provisio_session";

/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(60 * 60);

/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);

/// At most this many sessions are kept; signing in past it ends the oldest.
pub const MAX_SESSIONS: usize = 10_000;

/// Why a session could not be created.
#[derive(Debug, thiserror::Error)]
#[error("the system's random number source failed: {0}")]
pub struct RandomError(String);

/// A one-time message shown on the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// `true` for a success, `false` for a problem.
    pub ok: bool,
    /// What happened, for a person.
    pub text: String,
}

/// A key just created, shown once on the next page and then forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownKey {
    /// The key's id.
    pub key_id: String,
    /// The integration user it acts as.
    pub user: String,
    /// The key itself.
    pub key: String,
}

/// What the server knows of one signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// The operator signed in.
    pub operator_id: String,
    /// The token every state-changing form carries (64 hex digits).
    pub csrf: String,
    created: Instant,
    last_seen: Instant,
    flash: Vec<Flash>,
    key: Option<ShownKey>,
}

impl Session {
    /// Whether `sent` is this session's CSRF token (compared in constant time).
    #[must_use]
    pub fn csrf_matches(&self, sent: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(sent.as_bytes()))
    }

    fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_seen) > IDLE
            || now.saturating_duration_since(self.created) > ABSOLUTE
    }
}

/// Every live session, by the SHA-256 of its id.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn random_hex() -> Result<String, RandomError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    Ok(bytes.iter().fold(String::with_capacity(64), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    }))
}

impl Sessions {
    /// No sessions.
    #[must_use]
    pub fn new() -> Sessions {
        Sessions::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a session for an operator; returns the id for the cookie.
    ///
    /// # Errors
    ///
    /// The system's random number source failed.
    pub fn create(&self, operator_id: &str) -> Result<String, RandomError> {
        self.create_at(operator_id, Instant::now())
    }

    fn create_at(&self, operator_id: &str, now: Instant) -> Result<String, RandomError> {
        let id = random_hex()?;
        let session = Session {
            operator_id: operator_id.to_owned(),
            csrf: random_hex()?,
            created: now,
            last_seen: now,
            flash: Vec::new(),
            key: None,
        };
        let mut map = self.lock();
        map.retain(|_, s| !s.expired(now));
        while map.len() >= MAX_SESSIONS {
            let oldest = map.iter().min_by_key(|(_, s)| s.created).map(|(k, _)| *k);
            match oldest {
                Some(key) => map.remove(&key),
                None => break,
            };
        }
        map.insert(digest(&id), session);
        Ok(id)
    }

    /// The live session with this id, its idle timer restarted; `None` when unknown or
    /// expired (an expired one is forgotten).
    pub fn get(&self, id: &str) -> Option<Session> {
        self.get_at(id, Instant::now())
    }

    fn get_at(&self, id: &str, now: Instant) -> Option<Session> {
        let key = digest(id);
        let mut map = self.lock();
        let session = map.get_mut(&key)?;
        if session.expired(now) {
            map.remove(&key);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        self.lock().remove(&digest(id));
    }

    /// Ends every session of an operator (it was revoked).
    pub fn remove_operator(&self, operator_id: &str) {
        self.lock().retain(|_, s| s.operator_id != operator_id);
    }

    /// Queues a message for the session's next page.
    pub fn flash(&self, id: &str, flash: Flash) {
        if let Some(session) = self.lock().get_mut(&digest(id)) {
            session.flash.push(flash);
        }
    }

    /// Keeps a new key for the session's next page (shown there once).
    pub fn show_key(&self, id: &str, key: ShownKey) {
        if let Some(session) = self.lock().get_mut(&digest(id)) {
            session.key = Some(key);
        }
    }

    /// Takes the session's queued messages and shown key: each appears once.
    pub fn take_messages(&self, id: &str) -> (Vec<Flash>, Option<ShownKey>) {
        match self.lock().get_mut(&digest(id)) {
            Some(session) => (std::mem::take(&mut session.flash), session.key.take()),
            None => (Vec::new(), None),
        }
    }

    /// How many sessions are kept (expired ones included until they are swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is kept.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

/// The session id in a request's `Cookie` headers, if any.
pub fn cookie_value<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<String> {
    headers
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// The `Set-Cookie` value that hands a browser its session.
#[must_use]
pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/")
}

/// The `Set-Cookie` value that makes a browser forget its session.
#[must_use]
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_csrf_tokens_are_32_random_bytes() {
        let sessions = Sessions::new();
        let a = sessions.create("op_a").unwrap();
        let b = sessions.create("op_a").unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        let (sa, sb) = (sessions.get(&a).unwrap(), sessions.get(&b).unwrap());
        assert_eq!(sa.csrf.len(), 64);
        assert_ne!(sa.csrf, sb.csrf);
        assert_ne!(sa.csrf, a);
    }

    #[test]
    fn csrf_must_match_exactly() {
        let sessions = Sessions::new();
        let id = sessions.create("op").unwrap();
        let session = sessions.get(&id).unwrap();
        assert!(session.csrf_matches(&session.csrf.clone()));
        assert!(!session.csrf_matches(""));
        assert!(!session.csrf_matches(&session.csrf[..63]));
        assert!(!session.csrf_matches(&session.csrf.to_uppercase()));
    }

    #[test]
    fn idle_and_absolute_expiry() {
        let sessions = Sessions::new();
        let start = Instant::now();
        let id = sessions.create_at("op", start).unwrap();
        assert!(sessions.get_at(&id, start + IDLE / 2).is_some());
        // Used at IDLE/2, so still alive a little after IDLE from the start.
        assert!(sessions.get_at(&id, start + IDLE).is_some());
        assert!(
            sessions
                .get_at(&id, start + IDLE * 2 + Duration::from_secs(1))
                .is_none()
        );
        assert!(
            sessions.get_at(&id, start).is_none(),
            "forgotten once expired"
        );

        let busy = sessions.create_at("op", start).unwrap();
        let mut now = start;
        while now < start + ABSOLUTE {
            now += IDLE / 2;
            let alive = sessions.get_at(&busy, now).is_some();
            assert_eq!(alive, now <= start + ABSOLUTE, "at {:?}", now - start);
        }
        assert!(
            sessions
                .get_at(&busy, start + ABSOLUTE + Duration::from_secs(1))
                .is_none()
        );
    }

    #[test]
    fn remove_and_remove_operator() {
        let sessions = Sessions::new();
        let a = sessions.create("op_a").unwrap();
        let b = sessions.create("op_b").unwrap();
        let c = sessions.create("op_b").unwrap();
        sessions.remove(&a);
        assert!(sessions.get(&a).is_none());
        sessions.remove_operator("op_b");
        assert!(sessions.get(&b).is_none() && sessions.get(&c).is_none());
        assert!(sessions.is_empty());
    }

    #[test]
    fn messages_appear_once() {
        let sessions = Sessions::new();
        let id = sessions.create("op").unwrap();
        sessions.flash(
            &id,
            Flash {
                ok: true,
                text: "saved".into(),
            },
        );
        sessions.show_key(
            &id,
            ShownKey {
                key_id: "key_1".into(),
                user: "okta".into(),
                key: "prv_x".into(),
            },
        );
        let (flash, key) = sessions.take_messages(&id);
        assert_eq!(flash.len(), 1);
        assert_eq!(key.unwrap().key, "prv_x");
        let (flash, key) = sessions.take_messages(&id);
        assert!(flash.is_empty() && key.is_none());
    }

    #[test]
    fn the_oldest_session_makes_room() {
        let sessions = Sessions::new();
        let start = Instant::now();
        let first = sessions.create_at("op", start).unwrap();
        for i in 1..MAX_SESSIONS {
            let at = start + Duration::from_millis(u64::try_from(i).unwrap());
            sessions.create_at("op", at).unwrap();
        }
        assert_eq!(sessions.len(), MAX_SESSIONS);
        let at = start + Duration::from_secs(20);
        let last = sessions.create_at("op", at).unwrap();
        assert_eq!(sessions.len(), MAX_SESSIONS);
        assert!(sessions.get_at(&first, at).is_none());
        assert!(sessions.get_at(&last, at).is_some());
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        assert_eq!(
            cookie_value(["a=1; provisio_session=abc ; b=2"]),
            Some("abc".into())
        );
        assert_eq!(
            cookie_value(["a=1", "provisio_session=def"]),
            Some("def".into())
        );
        assert_eq!(cookie_value(["provisio_session="]), None);
        assert_eq!(cookie_value(["xprovisio_session=1"]), None);
        assert_eq!(cookie_value(std::iter::empty()), None);
        let set = set_cookie("abc");
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(attribute), "{set}");
        }
        assert!(clear_cookie().contains("Max-Age=0"));
    }
}
