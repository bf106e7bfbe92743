//! The edition and role gate: every SCIM request made with a key, discovery included, is
//! refused (403) when the key's tenant is on an edition that may not provision or its
//! integration user's role is too weak (`eval::access`). The refusal is the one thing
//! written: a line of the provisioning log.

use hyper::Uri;
use hyper::header::{self, HeaderMap};

use crate::domain::Timestamp;
use crate::eval::access;
use crate::scim::error::ScimError;
use crate::server::{App, Reply, error_reply};
use crate::store::{KeyInfo, LogRecord, Outcome};

impl App {
    /// Refuses, logging it (with the path and query as sent), a request whose key may not
    /// provision.
    pub(super) fn admit(&self, key: &KeyInfo, method: &str, uri: &Uri) -> Result<(), Reply> {
        let profile = self.profile_for(&key.tenant);
        let Err(refused) = access::admit(
            &profile.rules,
            key.edition.as_deref(),
            &key.user,
            key.role.as_deref(),
        ) else {
            return Ok(());
        };
        let error = ScimError::status(403, refused.to_string());
        let record = LogRecord {
            seq: 0,
            time: Timestamp::EPOCH,
            actor: key.user.clone(),
            method: method.to_owned(),
            path: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
            status: 403,
            outcome: Outcome::Rejected,
            scim_type: None,
            detail: Some(error.detail.clone()),
            request: None,
        };
        if let Err(err) = self.store.append_log(&key.tenant, &record) {
            tracing::error!(%err, "could not write the provisioning log");
        }
        Err(error_reply(&error))
    }

    /// The key of a request to an open endpoint, when it sends a valid one (so that the
    /// gate applies to it too); `None` without a key or with one that is not valid.
    pub(super) fn optional_key(&self, headers: &HeaderMap) -> Option<KeyInfo> {
        headers.get(header::AUTHORIZATION)?;
        self.authenticate(headers).ok()
    }
}
