//! The SCIM 2.0 model: schemas, errors, filters, PATCH, lists and the Okta/Entra dialects.
//! Pure functions over `serde_json::Value`; nothing here touches storage or HTTP.

pub mod attr;
pub mod bulk;
pub mod discovery;
pub mod error;
pub mod etag;
pub mod filter;
pub mod list;
pub mod patch;
pub mod path;
pub mod project;
pub mod resource;
pub mod schema;
