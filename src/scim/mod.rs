//! The SCIM 2.0 model: schemas, errors, filters, PATCH, lists and the Okta/Entra dialects.
//! Pure functions over `serde_json::Value`; nothing here touches storage or HTTP.
//!
//! Attribute names resolve to one canonical schema attribute once, at the edge: request
//! bodies become canonical when they are read ([`resource::normalize_input`], PATCH values in
//! [`patch`]), and paths, filters, `attributes=` and `sortBy` resolve the same way, so later
//! code reads stored bodies with exact keys.
//!
//! - [`schema`], [`error`]: the built-in schemas and the SCIM error (shared contracts).
//! - [`attr`]: attribute names, their resolution and value normalisation.
//! - [`path`]: PATCH path syntax and [`path::ValuePath`], the one resolved value path.
//! - [`compare`]: the one comparison of values (filters, value paths, guards, sorting).
//! - [`filter`]: filter parsing, resolution, evaluation, index hints.
//! - [`ingest`]: request bytes to JSON, under depth and duplicate-key limits.
//! - [`resource`]: POST/PUT bodies made canonical, the invariants of a stored body
//!   ([`resource::validate`]), the PUT `active` rule.
//! - [`patch`]: `PatchOp` parsing, member split, atomic apply.
//! - [`redact`]: secrets masked in anything logged.
//! - [`project`]: the response representation and `attributes`/`excludedAttributes`.
//! - [`list`]: list/search requests, sorting, paging, `ListResponse`.
//! - [`discovery`]: `ServiceProviderConfig`, Schemas, `ResourceTypes`.
//! - [`bulk`]: `BulkRequest` parsing, bulkId ordering and resolution, `BulkResponse`.
//! - [`etag`]: `ETags` and `If-Match`/`If-None-Match`.
//! - [`route`]: the one router (method + path -> [`route::Route`]); [`op`]: a write
//!   route and its body -> [`op::ScimOp`], parsed and validated.

pub mod attr;
pub mod bulk;
pub mod compare;
pub mod discovery;
pub mod error;
pub mod etag;
pub mod filter;
pub mod ingest;
pub mod list;
pub mod op;
pub mod patch;
pub mod path;
pub mod project;
pub mod redact;
pub mod resource;
pub mod route;
pub mod schema;

#[cfg(test)]
mod fuzz_tests;
