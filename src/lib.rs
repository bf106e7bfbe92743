//! provisio: a SCIM 2.0 provisioning target whose behaviour is written as rules.
//!
//! The pipeline of one request reads top to bottom (DESIGN §2):
//! [`server`] -> [`scim`] (dialect-normalised operation) -> [`eval`] (rules -> `Plan`)
//! -> [`store`] (`apply` in one redb write transaction) -> SCIM response.
//! Rules go [`syntax`] (AST with spans) -> [`check`] (`CheckedRules`) -> [`eval`].

#![warn(missing_docs)]

pub mod check;
pub mod domain;
pub mod eval;
pub mod hooks;
pub mod scim;
pub mod server;
pub mod store;
pub mod syntax;
