//! The single integration-test binary.

// Pedantic lints (Cargo.toml) the tests leave off, each for a reason:
// - too_many_lines: a scenario test reads top to bottom as one story;
// - similar_names: `server`/`served`, `rules`/`roles` are the names of the things tested;
// - cast_possible_truncation: indexes and seeds of a bounded test load;
// - needless_pass_by_value: helpers take `json!` values by value so calls read as data.
#![allow(
    clippy::too_many_lines,
    clippy::similar_names,
    clippy::cast_possible_truncation,
    clippy::needless_pass_by_value
)]

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
mod public_url;
mod rules;
mod scim;
mod soak;
mod store;
