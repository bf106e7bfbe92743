//! Snapshot tests of rule outcomes: every operation under `tests/fixtures/ops/<state>/`
//! is evaluated against that folder's `state.json` with the shipped Clarizen profile (plus
//! the folder's `overlay.rules`, when there is one), and its Plan, or its error, is
//! snapshot as YAML. A rules change shows up in review as a diff of outcomes.

use std::fs;
use std::path::{Path, PathBuf};

use provisio::check::{CheckedRules, load_checked};
use provisio::eval::explain::{ExplainError, explain};
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
    Plan(Box<provisio::eval::Plan>),
    Error {
        status: u16,
        scim_type: Option<&'static str>,
        detail: String,
    },
}

fn outcome(rules: &CheckedRules, state: &str, op: &str) -> Outcome {
    match explain(rules, state, op) {
        Ok(plan) => Outcome::Plan(Box::new(plan)),
        Err(ExplainError::Eval(err)) => {
            let scim = err.to_scim();
            Outcome::Error {
                status: scim.status,
                scim_type: scim.scim_type.map(|t| t.as_str()),
                detail: scim.detail,
            }
        }
        Err(other) => panic!("fixture is malformed: {other}"),
    }
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
        let state = fs::read_to_string(dir.join("state.json")).expect("state.json");
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
            let yaml =
                serde_yaml::to_string(&outcome(&rules, &state, &op_text)).expect("plans serialize");
            insta::assert_snapshot!(format!("{state_name}__{op_name}"), yaml);
            count += 1;
        }
    }
    assert!(count >= 40, "only {count} operation fixtures");
}
