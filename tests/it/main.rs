//! The single integration-test binary.

mod admin;
mod binary;
mod browser;
mod crash;
mod explain;
mod http;
mod live;
mod ops;
mod overlay;
mod page;
mod public_url;
mod rules;
mod scim;
mod soak;
mod store;
