//! Snapshot tests of rule outcomes: every operation under `tests/fixtures/ops/<state>/`
//! is evaluated against that folder's `state.json` with the shipped Clarizen profile (plus
//! the folder's `overlay.rules`, when there is one), and its Plan, or its error, is
//! snapshot as YAML. A rules change shows up in review as a diff of outcomes.
//!
//! Each operation is evaluated twice: against the in-memory state, and against the same
//! state loaded into a real redb store (through the store's own write API); both Plans must
//! be equal, so the snapshots speak for the server too.

use std::fs;
use std::path::{Path, PathBuf};

use provisio::check::{CheckedRules, load_checked};
use provisio::domain::{ResourceKind, SequentialIds, TenantId};
use provisio::eval::explain::{ExplainError, parse_request};
use provisio::eval::memory::MemoryState;
use provisio::eval::{EvalError, Plan, plan};
use provisio::pipeline::Profile;
use provisio::store::Store;
use serde::Serialize;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ops")
}

fn profile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/clarizen")
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Plan(Box<Plan>),
    Error {
        status: u16,
        scim_type: Option<&'static str>,
        detail: String,
    },
}

impl Outcome {
    fn of(result: Result<Plan, EvalError>) -> Outcome {
        match result {
            Ok(plan) => Outcome::Plan(Box::new(plan)),
            Err(err) => {
                let scim = err.to_scim();
                Outcome::Error {
                    status: scim.status,
                    scim_type: scim.scim_type.map(provisio::scim::error::ScimType::as_str),
                    detail: scim.detail,
                }
            }
        }
    }
}

/// Evaluates the request in `op_text` against `state` with explain's deterministic ids.
fn evaluate(
    rules: &CheckedRules,
    state: &dyn provisio::domain::StateView,
    op_text: &str,
) -> Outcome {
    let op = match parse_request(op_text) {
        Ok(op) => op,
        Err(ExplainError::Eval(err)) => return Outcome::of(Err(err)),
        Err(other) => panic!("fixture is malformed: {other}"),
    };
    Outcome::of(plan(rules, &op, state, &SequentialIds::new("new-")))
}

/// A redb store holding `state` as tenant `t`, its `taken_elsewhere` names claimed by
/// tenant `elsewhere`.
fn load_into_store(dir: &Path, rules: &CheckedRules, state: &MemoryState) -> (Store, TenantId) {
    let store = Store::open(dir.join("state.redb")).expect("store opens");
    let tenant = store.create_tenant("t").expect("tenant").name;
    let other = store.create_tenant("elsewhere").expect("tenant").name;
    let unique = Profile::new(std::sync::Arc::new(rules.clone())).unique;
    let mut txn = store.write(&tenant).expect("write");
    for resource in state.resources() {
        if resource.kind == ResourceKind::User {
            let name = resource.body["userName"].as_str().expect("userName");
            let name = provisio::domain::UserName::new(name).expect("valid userName");
            txn.claim_user_name(&name, resource.id()).expect("claim");
        }
        txn.put_resource(resource, unique.of(&resource.entity.entity_type))
            .expect("resource");
    }
    for entity in state.entities() {
        txn.put_entity(entity, unique.of(&entity.entity_type))
            .expect("entity");
    }
    for (group, users) in state.memberships() {
        for user in users {
            txn.add_member(group, user).expect("member");
        }
    }
    for pending in state.pending() {
        txn.add_pending(pending).expect("pending");
    }
    txn.commit().expect("commit");
    let mut elsewhere = store.write(&other).expect("write");
    for (n, name) in state.taken_elsewhere().enumerate() {
        elsewhere
            .claim_user_name(name, &format!("elsewhere-{n}").into())
            .expect("claim elsewhere");
    }
    elsewhere.commit().expect("commit");
    (store, tenant)
}

#[test]
fn outcomes_of_every_fixture_operation() {
    let mut dirs: Vec<PathBuf> = fs::read_dir(fixtures())
        .expect("fixtures/ops exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut count = 0;
    for dir in dirs {
        let overlay = dir.join("overlay.rules");
        let overlay = overlay.exists().then_some(overlay);
        let rules = load_checked(&profile(), overlay.as_deref())
            .unwrap_or_else(|e| panic!("rules for {}: {e}", dir.display()));
        let state_text = fs::read_to_string(dir.join("state.json")).expect("state.json");
        let memory = MemoryState::from_json(&state_text).expect("state.json is valid");
        let db_dir = tempfile::tempdir().expect("tempdir");
        let (store, tenant) = load_into_store(db_dir.path(), &rules, &memory);
        let mut ops: Vec<PathBuf> = fs::read_dir(&dir)
            .expect("readable dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && p.file_name().is_some_and(|n| n != "state.json")
            })
            .collect();
        ops.sort();
        let state_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("state");
        for op in ops {
            let op_text = fs::read_to_string(&op).expect("op file");
            let op_name = op.file_stem().and_then(|n| n.to_str()).unwrap_or("op");
            let yaml = serde_yaml_ng::to_string(&evaluate(&rules, &memory, &op_text))
                .expect("plans serialize");
            let read = store.read(&tenant).expect("snapshot");
            let from_redb = serde_yaml_ng::to_string(&evaluate(&rules, &read, &op_text))
                .expect("plans serialize");
            assert_eq!(
                yaml, from_redb,
                "{state_name}/{op_name}: the Plan against redb differs from the in-memory one"
            );
            insta::assert_snapshot!(format!("{state_name}__{op_name}"), yaml);
            count += 1;
        }
    }
    assert!(count >= 40, "only {count} operation fixtures");
}
