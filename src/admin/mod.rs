//! The operator surface: the admin JSON API (`/admin/v1`) and the admin page, served on
//! their own listener (`--admin-listen`, 127.0.0.1:8081 by default) so the SCIM port can
//! face the identity provider while this one stays private.
//!
//! Both are views over [`service::Admin`], which authorises every operation against the
//! operator's scope and records every write in the admin audit log.

mod access;
pub mod api;
pub mod client;
pub mod http;
pub mod page;
pub mod service;

pub use access::IntegrationUserView;
pub use service::{Admin, AdminError};
