//! Benchmark of `eval::plan` for Okta's create-user body against the shipped Clarizen
//! profile, without and with the job-title hook (the body with a `title` runs it).
//!
//! `cargo run --release --example plan_bench` prints the median time per `plan` call over
//! 31 batches, and the ratio to the targets (20 µs without the hook, 100 µs with it).

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use provisio::check::load_checked;
use provisio::eval::memory::MemoryState;
use provisio::eval::{ScimOp, SequentialIds, plan_with};
use provisio::scim::schema::ResourceKind;
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

fn median_micros(op: &ScimOp, state: &MemoryState, rules: &provisio::check::CheckedRules) -> f64 {
    let mut batches = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..PER_BATCH {
            let plan = plan_with(rules, op, state, &mut SequentialIds::new("b-"));
            black_box(plan.is_ok());
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
    let without = ScimOp::Create {
        kind: ResourceKind::User,
        body: okta_create(None),
    };
    let with = ScimOp::Create {
        kind: ResourceKind::User,
        body: okta_create(Some("Sales Engineer")),
    };
    for (name, op, target) in [
        ("without hook", &without, 20.0),
        ("with job-title hook", &with, 100.0),
    ] {
        let plan = plan_with(&rules, op, &state, &mut SequentialIds::new("b-"));
        let hooks = plan.as_ref().map(|p| p.hooks.len()).unwrap_or(0);
        let median = median_micros(op, &state, &rules);
        println!(
            "plan, Okta create {name}: median {median:.2} µs per call ({hooks} hook run(s)); target {target} µs; ratio {:.3} of target",
            median / target
        );
    }
}
