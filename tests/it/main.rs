//! The single integration-test binary.

mod crash;
mod explain;
mod http;
mod ops;
mod rules;
mod scim;
mod store;
