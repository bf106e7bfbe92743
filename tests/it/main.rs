//! The single integration-test binary.

mod admin;
mod binary;
mod crash;
mod explain;
mod http;
mod live;
mod ops;
mod overlay;
mod rules;
mod scim;
mod soak;
mod store;
