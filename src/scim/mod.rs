//! The SCIM 2.0 model: schemas, errors, filters, PATCH, lists and the Okta/Entra dialects.
//! Pure functions over `serde_json::Value`; nothing here touches storage or HTTP.
//!
//! - [`schema`], [`error`]: the built-in schemas and the SCIM error (shared contracts).
//! - [`attr`]: attribute paths, schema resolution, value normalisation.
//! - [`filter`]: filter parsing, validation, evaluation, index hints.
//! - [`path`], [`patch`]: PATCH paths, PatchOp parsing, member split, atomic apply.
//! - [`resource`]: POST/PUT body normalisation and the PUT `active` rule.
//! - [`project`]: the response representation and `attributes`/`excludedAttributes`.
//! - [`list`]: list/search requests, sorting, paging, ListResponse.
//! - [`discovery`]: ServiceProviderConfig, Schemas, ResourceTypes.
//! - [`bulk`]: BulkRequest parsing, bulkId ordering and resolution, BulkResponse.
//! - [`etag`]: ETags and `If-Match`/`If-None-Match`.
//! - [`route`]: the one router (method + path -> [`route::Route`]); [`op`]: a write
//!   route and its body -> [`op::ScimOp`], parsed and validated.

pub mod attr;
pub mod bulk;
pub mod discovery;
pub mod error;
pub mod etag;
pub mod filter;
pub mod list;
pub mod op;
pub mod patch;
pub mod path;
pub mod project;
pub mod resource;
pub mod route;
pub mod schema;

#[cfg(test)]
mod fuzz_tests;
