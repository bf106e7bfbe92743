//! The single integration-test binary.

mod admin;
mod binary;
mod browser;
mod cluster;
mod crash;
mod explain;
mod http;
mod live;
mod ops;
mod overlay;
mod page;
mod rules;
mod scim;
mod soak;
mod store;
