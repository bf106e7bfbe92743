//! The single integration-test binary.

mod ops;
mod rules;
mod scim;
mod store;
