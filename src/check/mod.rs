//! The rules checker: AST + target schema + built-in SCIM schema -> [`CheckedRules`], or
//! every diagnostic at once.

pub mod model;

pub use model::*;
