//! `provisio explain` through the real binary: the documented examples print Plans, and
//! bad input gives a clear message and exit status 1, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures/ops").join(rel)
}

fn explain(state: &Path, op: &Path, extra: &[&str]) -> Output {
    explain_from(root(), state, op, extra)
}

/// `provisio explain --state STATE OP EXTRA…`, run in the folder `cwd`.
fn explain_from(cwd: &Path, state: &Path, op: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provisio"))
        .current_dir(cwd)
        .arg("explain")
        .arg("--state")
        .arg(state)
        .arg(op)
        .args(extra)
        .output()
        .expect("provisio runs")
}

fn temp_file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that the command failed with exit status 1 and said `what` on standard error.
#[track_caller]
fn refused(output: &Output, what: &str) {
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(output).contains(what), "{}", stderr(output));
}

/// Asserts that the command succeeded; returns its standard output.
#[track_caller]
fn succeeded(output: &Output) -> String {
    assert!(output.status.success(), "{}", stderr(output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `provisio explain` of a request file holding `text`, in the base state.
fn explain_request(text: &str) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let op = temp_file(&dir, "op.json", text);
    explain(&fixture("base/state.json"), &op, &[])
}

/// `provisio explain` of the fixture request `op` in the fixture state `state`.
fn explain_fixture(state: &str, op: &str, extra: &[&str]) -> Output {
    explain(&fixture(state), &fixture(op), extra)
}

#[test]
fn documented_example_prints_a_yaml_plan() {
    let output = explain_fixture("base/state.json", "base/okta-deactivate.json", &[]);
    let yaml = succeeded(&output);
    assert!(yaml.contains("situation: deactivated"), "{yaml}");
    assert!(yaml.contains("to: Suspended"), "{yaml}");
    assert!(yaml.contains("rule: default.rules:"), "{yaml}");
}

#[test]
fn json_format_is_the_same_plan() {
    let output = explain_fixture(
        "base/state.json",
        "base/patch-title-new-jobtitle.json",
        &["--format", "json"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON plan");
    assert_eq!(plan["situation"], "updated");
    assert_eq!(plan["hooks"][0]["intents"][0]["intent"], "link");
    assert_eq!(
        plan["created_entities"][0]["fields"]["Name"],
        "Director of Engineering"
    );
}

#[test]
fn an_overlay_changes_the_plan() {
    let output = explain_fixture(
        "overlay/state.json",
        "overlay/create-user-with-cost-center.json",
        &["--overlay", "tests/fixtures/ops/overlay/overlay.rules"],
    );
    let yaml = succeeded(&output);
    assert!(yaml.contains("rule: overlay.rules:3"), "{yaml}");
    assert!(!yaml.contains("field: MobilePhone"), "{yaml}");
}

#[test]
fn a_malformed_request_file_is_refused() {
    let output = explain_request(r#"{"method": "PATCH", "path": "/Users/u-jane""#);
    refused(&output, "request file");
}

#[test]
fn an_unknown_endpoint_is_refused() {
    let output = explain_request(r#"{"method": "POST", "path": "/Devices", "body": {}}"#);
    refused(&output, "/Devices");
}

#[test]
fn an_unknown_id_fails_like_the_server_would() {
    let output = explain_fixture("base/state.json", "base/patch-unknown-user.json", &[]);
    refused(&output, "u-ghost not found");
}

#[test]
fn a_state_that_contradicts_itself_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = temp_file(
        &dir,
        "state.json",
        r#"{"groups": [{"id": "g1", "resource": {"displayName": "Sales"}, "fields": {"Name": "Sales"}}],
            "memberships": {"g1": ["u-nobody"]}}"#,
    );
    let output = explain(&state, &fixture("base/okta-deactivate.json"), &[]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("state file") && message.contains("u-nobody"),
        "{message}"
    );
}

#[test]
fn rules_that_do_not_check_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().to_str().expect("a UTF-8 path");
    let output = explain_fixture(
        "base/state.json",
        "base/okta-deactivate.json",
        &["--rules", rules],
    );
    refused(&output, "provisio explain");
}

#[test]
fn outside_the_repository_the_built_in_profile_is_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = fixture("base/state.json");
    let op = fixture("base/okta-deactivate.json");
    let output = explain_from(dir.path(), &state, &op, &[]);
    assert!(succeeded(&output).contains("to: Suspended"));
}

#[test]
fn the_built_in_profile_is_the_shipped_one() {
    let built_in = provisio::check::embedded_clarizen();
    let on_disk =
        provisio::check::ProfileSources::load(&root().join("rules/clarizen"), None).expect("loads");
    assert_eq!(built_in.target.text, on_disk.target.text);
    assert_eq!(built_in.rules.text, on_disk.rules.text);
    assert_eq!(
        built_in.scripts.keys().collect::<Vec<_>>(),
        on_disk.scripts.keys().collect::<Vec<_>>()
    );
    for (name, script) in &built_in.scripts {
        assert_eq!(script.text, on_disk.scripts[name].text, "{name}");
    }
    let report = provisio::check::check(&built_in);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
}
