//! The single integration-test binary.

mod http;
mod ops;
mod rules;
mod scim;
mod store;
