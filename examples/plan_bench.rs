//! Benchmark of `eval::plan` for Okta's create-user body against the shipped Clarizen
//! profile, without and with the job-title hook (the body with a `title` runs it).
//!
//! `cargo run --release --example plan_bench` prints the median time per call over 31
//! batches, and the ratio to the targets (20 µs without the hook, 100 µs with it). A call
//! is what the server does per request: the body parsed into a `ScimOp` (normalised at
//! the edge) and planned.

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "statistics over request counts and durations, far below 2^52"
)]

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use provisio::check::load_checked;
use provisio::domain::{ResourceKind, SequentialIds};
use provisio::eval::memory::MemoryState;
use provisio::eval::plan;
use provisio::scim::op::ScimOp;
use provisio::scim::route::Route;
use serde_json::{Value, json};

const BATCHES: usize = 31;
const PER_BATCH: usize = 2_000;

fn okta_create(title: Option<&str>) -> Value {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [], "password": "1mz050nq", "active": true
    });
    if let (Some(title), Some(map)) = (title, body.as_object_mut()) {
        map.insert("title".into(), Value::String(title.into()));
    }
    body
}

fn parse_and_plan(
    body: &Value,
    state: &MemoryState,
    rules: &provisio::check::CheckedRules,
) -> Option<provisio::eval::Plan> {
    let op = ScimOp::from_route(&Route::Create(ResourceKind::User), Some(body.clone())).ok()?;
    plan(rules, &op, state, &SequentialIds::new("b-")).ok()
}

fn median_micros(body: &Value, state: &MemoryState, rules: &provisio::check::CheckedRules) -> f64 {
    let mut batches = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..PER_BATCH {
            black_box(parse_and_plan(body, state, rules).is_some());
        }
        batches.push(start.elapsed().as_secs_f64() * 1e6 / PER_BATCH as f64);
    }
    batches.sort_by(f64::total_cmp);
    batches[BATCHES / 2]
}

fn main() {
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/clarizen");
    let rules = match load_checked(&profile, None) {
        Ok(rules) => rules,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(1);
        }
    };
    let state = MemoryState::default();
    let without = okta_create(None);
    let with = okta_create(Some("Sales Engineer"));
    for (name, body, target) in [
        ("without hook", &without, 20.0),
        ("with job-title hook", &with, 100.0),
    ] {
        let hooks = parse_and_plan(body, &state, &rules).map_or(0, |p| p.hooks.len());
        let median = median_micros(body, &state, &rules);
        println!(
            "plan, Okta create {name}: median {median:.2} µs per call ({hooks} hook run(s)); target {target} µs; ratio {:.3} of target",
            median / target
        );
    }
}
