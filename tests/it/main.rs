//! The single integration-test binary.

mod admin;
mod browser;
mod crash;
mod explain;
mod http;
mod ops;
mod overlay;
mod page;
mod rules;
mod scim;
mod soak;
mod store;
