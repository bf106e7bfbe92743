//! provisio: a SCIM 2.0 provisioning target whose behaviour is written as rules.
//!
//! The pipeline of one request reads top to bottom (DESIGN §2):
//! [`server`] -> [`scim`] (routed, parsed, dialect-normalised operation) -> [`pipeline`]
//! -> [`eval`] (rules -> `Plan`, on a read snapshot) -> [`store`] (the writer checks the
//! snapshot still holds, `apply` in one durable redb transaction) -> SCIM response.
//! Every layer speaks the [`domain`] vocabulary.
//! Rules go [`syntax`] (AST with spans) -> [`check`] (`CheckedRules`) -> [`eval`].

#![warn(missing_docs)]
// The same two allowances as Cargo.toml's `[lints.clippy]` (the reasons are there), again
// here because an explicit `-W clippy::pedantic` on the command line is applied after
// Cargo's `[lints]` flags and would switch them back on; attributes in the source win.
#![allow(clippy::missing_errors_doc, clippy::must_use_candidate)]

pub mod admin;
pub mod check;
pub mod cluster;
pub mod domain;
pub mod eval;
pub mod hooks;
pub mod import;
pub mod password;
pub mod pipeline;
pub mod scim;
pub mod server;
pub mod store;
pub mod syntax;
