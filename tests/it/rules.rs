//! The rules language: fixtures (one per diagnostic code, snapshot-tested as rendered
//! text), the shipped Clarizen profile, overlays, `provisio check`, and robustness.
//!
//! Fixture convention (`tests/fixtures/rules/{ok,err}`): the first line is a comment naming
//! what the file tests; for `err` fixtures it starts with the code it must produce
//! (`# rules::unknown_field: ...`). The file name's suffix says which file of the shipped
//! profile (`rules/clarizen`) it replaces: `NAME.rules` is default.rules, `NAME.target.rules`
//! is target.rules, `NAME.overlay.rules` is checked as an overlay on the shipped profile.
//! Scripts in `tests/fixtures/rules/workflows/` join the profile's as `workflows/NAME`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use miette::{GraphicalReportHandler, GraphicalTheme};
use proptest::prelude::*;
use provisio::check::{
    self, Action, CheckReport, FieldType, Literal, ProfileSources, RulesError, Severity, Situation,
    SourceFile, Transform,
};
use provisio::hooks::{self, HookValue, Intent};
use provisio::scim::filter::CompareOp;
use provisio::scim::schema::{ENTERPRISE_USER_SCHEMA, ResourceKind, USER_SCHEMA};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn profile_dir() -> PathBuf {
    root().join("rules/clarizen")
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/rules")
}

fn shipped() -> ProfileSources {
    ProfileSources::load(&profile_dir(), None).expect("the shipped profile is readable")
}

/// The shipped profile with one file replaced by the fixture at `path`.
fn fixture_sources(path: &Path) -> ProfileSources {
    let mut sources = shipped();
    for entry in std::fs::read_dir(fixtures().join("workflows")).expect("workflows folder") {
        let path = entry.expect("entry").path();
        let key = format!(
            "workflows/{}",
            path.file_name().expect("name").to_string_lossy()
        );
        let text = std::fs::read_to_string(&path).expect("script");
        sources
            .scripts
            .insert(key.clone(), SourceFile::new(key, text));
    }
    let text = std::fs::read_to_string(path).expect("fixture");
    let name = path.file_name().expect("name").to_string_lossy();
    if name.ends_with(".overlay.rules") {
        sources.overlay = Some(SourceFile::new("overlay.rules", text));
    } else if name.ends_with(".target.rules") {
        sources.target = SourceFile::new("target.rules", text);
    } else {
        sources.rules = SourceFile::new("default.rules", text);
    }
    sources
}

/// The checked rules of the shipped profile with an `ok` fixture in.
fn checked_fixture(name: &str) -> check::CheckedRules {
    let report = check::check(&fixture_sources(&fixtures().join(name)));
    let rendered = render(&report);
    report
        .rules
        .unwrap_or_else(|| panic!("{name}:\n{rendered}"))
}

fn render(report: &CheckReport) -> String {
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut out = String::new();
    for diagnostic in &report.diagnostics {
        handler
            .render_report(&mut out, diagnostic)
            .expect("renders");
        out.push('\n');
    }
    out
}

/// The code named by an err fixture's header line.
fn header_code(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default();
    let code = first
        .strip_prefix("# ")
        .and_then(|rest| {
            rest.split(':')
                .take(3)
                .collect::<Vec<_>>()
                .get(..3)
                .map(|p| p.join(":"))
        })
        .unwrap_or_default();
    assert!(
        code.starts_with("rules::"),
        "fixture header must name its code: {first:?}"
    );
    code
}

// ---- fixtures -------------------------------------------------------------------------------

#[test]
fn err_fixtures() {
    insta::glob!("../fixtures/rules/err", "*.rules", |path| {
        let text = std::fs::read_to_string(path).expect("fixture");
        let expected = header_code(&text);
        let report = check::check(&fixture_sources(path));
        let codes: Vec<&str> = report.diagnostics.iter().map(|d| d.code.as_str()).collect();
        assert!(
            codes.contains(&expected.as_str()),
            "{} should report {expected}, got {codes:?}",
            path.display()
        );
        let failed = report
            .diagnostics
            .iter()
            .any(check::RulesDiagnostic::is_error);
        assert_eq!(report.rules.is_some(), !failed, "{}", path.display());
        insta::assert_snapshot!(render(&report));
    });
}

#[test]
fn every_code_has_an_err_fixture() {
    let mut covered = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(fixtures().join("err")).expect("err folder") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("fixture");
        covered.insert(header_code(&text));
    }
    let missing: Vec<&str> = check::Code::ALL
        .iter()
        .filter(|c| **c != check::Code::Note)
        .map(|c| c.as_str())
        .filter(|c| !covered.contains(*c))
        .collect();
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
    assert!(covered.len() >= 15);
}

#[test]
fn ok_fixtures_have_no_diagnostics() {
    let mut seen = 0;
    for entry in std::fs::read_dir(fixtures().join("ok")).expect("ok folder") {
        let path = entry.expect("entry").path();
        let report = check::check(&fixture_sources(&path));
        assert!(
            report.diagnostics.is_empty(),
            "{}:\n{}",
            path.display(),
            render(&report)
        );
        assert!(report.rules.is_some());
        seen += 1;
    }
    assert!(seen >= 4);
}

#[test]
fn a_warning_does_not_fail_the_check_and_the_unreachable_arm_is_dropped() {
    let report = check::check(&fixture_sources(
        &fixtures().join("err/unreachable_reaction.rules"),
    ));
    assert_eq!(report.diagnostics.len(), 1);
    assert_eq!(report.diagnostics[0].severity, Severity::Warning);
    let rules = report.rules.expect("warnings allow the rules");
    let policy = rules.policy(ResourceKind::User).expect("policy");
    let updated: Vec<_> = policy.reactions_for(Situation::Updated).collect();
    assert_eq!(updated.len(), 1);
    assert!(updated[0].guard.is_none());
}

// ---- the shipped profile ----------------------------------------------------------------

/// The User mapping targets of the shipped profile, in evaluation order.
const SHIPPED_USER_TARGETS: [&str; 11] = [
    "UserName",
    "DisplayName",
    "FirstName",
    "LastName",
    "Email",
    "OfficePhone",
    "MobilePhone",
    "DirectManager",
    "ScimSyncJobTitle",
    "Country",
    "Department",
];

fn user_targets(rules: &check::CheckedRules) -> Vec<&str> {
    rules
        .mappings(ResourceKind::User)
        .iter()
        .map(|m| m.target.as_str())
        .collect()
}

/// Checks `sources` with `text` as tenant acme's overlay; asserts that the diagnostics
/// have exactly these codes, in order, and returns the report.
#[track_caller]
fn overlay_reports(sources: &mut ProfileSources, text: &str, codes: &[&str]) -> check::CheckReport {
    sources.overlay = Some(SourceFile::new("acme.rules", text));
    let report = check::check(sources);
    let got: Vec<&str> = report.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(got, codes, "{}", render(&report));
    report
}

#[test]
fn an_overlay_chooses_the_group_scope_and_only_the_first_sync_group_counts() {
    let mut sources = shipped();
    sources.overlay = Some(SourceFile::new(
        "acme.rules",
        "# acme pushes one group as its scope\nscope { sync_group \"Clarizen Users\"; }\n",
    ));
    let report = check::check(&sources);
    assert!(report.diagnostics.is_empty(), "{}", render(&report));
    let scope = report.rules.expect("rules").scope.expect("a scope");
    assert_eq!(scope.sync_group, "Clarizen Users");
    assert_eq!(scope.origin.to_string(), "acme.rules:2");

    let report = overlay_reports(
        &mut sources,
        "scope { sync_group \"A\"; sync_group \"B\"; }\nscope { sync_group \"C\"; }\n",
        &["rules::duplicate_statement", "rules::duplicate_statement"],
    );
    assert!(report.rules.is_none());

    // What keys may do is the profile's, never a tenant's.
    overlay_reports(
        &mut sources,
        "editions { Professional provisioning default; }\nroles { \"Email User\" default; provisioning needs \"Email User\"; }\n",
        &["rules::overlay_forbidden", "rules::overlay_forbidden"],
    );
}

#[test]
fn the_shipped_profile_checks_clean() {
    let report = check::check(&shipped());
    assert!(report.diagnostics.is_empty(), "{}", render(&report));
    let rules = report.rules.expect("rules");
    assert_eq!(rules.name, "clarizen-default");
    assert_eq!(rules.version, 1);
    assert_eq!(rules.target.name, "clarizen");
    // The users the identity provider provisions are the scope: no group defines it.
    assert!(rules.scope.is_none(), "{:?}", rules.scope);
    let editions = rules.editions.as_ref().expect("editions");
    assert_eq!(
        editions.names(),
        ["Professional", "Enterprise", "Unlimited"]
    );
    assert_eq!(editions.provisioning(), ["Enterprise", "Unlimited"]);
    assert_eq!(editions.default, "Enterprise");
    let roles = rules.roles.as_ref().expect("roles");
    assert_eq!(
        roles.names(),
        ["Admin", "Lite Admin", "Full User", "Email User"]
    );
    assert_eq!(
        (roles.default.as_str(), roles.needed.as_str()),
        ("Lite Admin", "Lite Admin")
    );
    let password = rules
        .policy(ResourceKind::User)
        .and_then(|p| p.password.as_ref())
        .expect("a password line");
    assert_eq!(password.policy, check::PasswordPolicy::Discard);

    let users = rules.mappings(ResourceKind::User);
    assert_eq!(user_targets(&rules), SHIPPED_USER_TARGETS);
    let locked: Vec<&str> = users
        .iter()
        .filter(|m| m.locked)
        .map(|m| m.target.as_str())
        .collect();
    assert_eq!(
        locked,
        ["UserName", "DisplayName", "FirstName", "LastName", "Email"]
    );
    assert!(
        users
            .iter()
            .filter(|m| m.custom)
            .all(|m| m.target_type == FieldType::String)
    );

    let email = &users[4];
    assert_eq!(email.source.schema, USER_SCHEMA);
    assert_eq!(email.source.to_string(), "emails[primary eq true].value");
    assert_eq!(email.origin.to_string(), "default.rules:13");
    let manager = &users[7];
    assert_eq!(manager.source.schema, ENTERPRISE_USER_SCHEMA);
    assert_eq!(manager.source.to_string(), "enterprise.manager.value");
    assert_eq!(manager.transforms, [Transform::Ref("User".into())]);
    assert_eq!(manager.target_type, FieldType::Ref("User".into()));
    assert_eq!(users[8].transforms, [Transform::Trim]);

    let group = rules.entity_of(ResourceKind::Group).expect("group entity");
    assert_eq!(group.name, "Group");
    assert_eq!(
        rules.mappings(ResourceKind::Group)[0].source.to_string(),
        "displayName"
    );
}

#[test]
fn the_shipped_policies_and_hooks_are_clarizens_defaults() {
    let rules = check::check(&shipped()).rules.expect("rules");
    let policy = rules.policy(ResourceKind::User).expect("user policy");
    assert_eq!(policy.invite.as_ref().map(|i| i.send), Some(false));
    assert_eq!(
        policy.match_existing.as_ref().map(|m| m.field.as_str()),
        Some("UserName")
    );
    let updated: Vec<_> = policy.reactions_for(Situation::Updated).collect();
    assert_eq!(updated.len(), 2);
    let guard = updated[0].guard.as_ref().expect("guard");
    assert_eq!(guard.all[0].path.to_string(), "active");
    assert_eq!(guard.all[0].op, CompareOp::Eq);
    assert_eq!(guard.all[0].value, Literal::Bool(false));
    assert_eq!(updated[0].action, Action::Suspend);
    let actions: BTreeMap<Situation, Action> = policy
        .reactions
        .iter()
        .filter(|r| r.guard.is_none())
        .map(|r| (r.situation, r.action.clone()))
        .collect();
    assert_eq!(actions[&Situation::Deactivated], Action::Suspend);
    assert_eq!(actions[&Situation::LeftScope], Action::Suspend);
    assert_eq!(actions[&Situation::Deleted], Action::Delete);
    assert_eq!(
        actions[&Situation::ManagerOutOfScope],
        Action::Skip("DirectManager".into())
    );
    assert_eq!(
        actions[&Situation::UsernameTaken],
        Action::Reject(provisio::scim::error::ScimType::Uniqueness)
    );
    let group_policy = rules.policy(ResourceKind::Group).expect("group policy");
    assert_eq!(
        group_policy
            .match_existing
            .as_ref()
            .map(|m| m.field.as_str()),
        Some("Name")
    );

    let hooks = rules.hooks(ResourceKind::User);
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].field, "ScimSyncJobTitle");
    assert_eq!(hooks[0].script_path, "workflows/job_title.rhai");
    assert!(hooks[0].script.has_function("link_job_title", 3));

    let job_title = rules.target.field("User", "JobTitle").expect("JobTitle");
    assert!(job_title.readonly);
    assert_eq!(
        rules
            .target
            .entities
            .get("JobTitle")
            .and_then(|e| e.natural_key())
            .map(|f| f.name.as_str()),
        Some("Name")
    );
}

#[test]
fn the_job_title_hook_links_a_non_empty_title_only() {
    let rules = check::load_checked(&profile_dir(), None).expect("checks");
    let hook = &rules.hooks(ResourceKind::User)[0];
    let user = BTreeMap::from([("UserName".to_string(), HookValue::String("jane".into()))]);
    let run = |after: HookValue| {
        hooks::run_hook(
            &hook.script,
            &hook.function,
            &user,
            &HookValue::Null,
            &after,
        )
        .expect("runs")
    };
    let intents = run(HookValue::String("Engineer".into()));
    assert_eq!(
        intents[0],
        Intent::Link {
            entity: "JobTitle".into(),
            key: "Engineer".into()
        }
    );
    assert!(matches!(intents.get(1), Some(Intent::Log { .. })));
    for empty in [HookValue::String("  ".into()), HookValue::Null] {
        let intents = run(empty);
        assert!(
            !intents.iter().any(|i| matches!(i, Intent::Link { .. })),
            "{intents:?}"
        );
    }
}

#[test]
fn alias_urn_and_any_case_resolve_to_the_same_canonical_path() {
    let rules = checked_fixture("ok/paths_and_transforms.rules");
    let users = rules.mappings(ResourceKind::User);
    let by_target = |t: &str| {
        users
            .iter()
            .find(|m| m.target == t)
            .unwrap_or_else(|| panic!("{t} mapped"))
    };
    assert_eq!(by_target("FirstName").source.to_string(), "name.givenName");
    assert_eq!(by_target("UserName").source.to_string(), "userName");
    let last = &by_target("LastName").source;
    assert_eq!(
        (last.schema.as_str(), last.to_string().as_str()),
        (USER_SCHEMA, "name.familyName")
    );
    let manager = &by_target("DirectManager").source;
    assert_eq!(manager.schema, ENTERPRISE_USER_SCHEMA);
    assert_eq!(manager.to_string(), "enterprise.manager.value");
    assert_eq!(
        by_target("Department").source.to_string(),
        "enterprise.department"
    );
    assert_eq!(by_target("FirstName").transforms, [Transform::Truncate(64)]);
    assert_eq!(
        by_target("OfficePhone").transforms,
        [Transform::Default("n/a".into())]
    );
}

// ---- overlays -------------------------------------------------------------------------------

#[test]
fn overlay_precedence() {
    let rules = checked_fixture("ok/overlay.overlay.rules");
    let users = rules.mappings(ResourceKind::User);
    // Remapped in place, removed, custom replaced in place.
    let kept: Vec<&str> = SHIPPED_USER_TARGETS
        .into_iter()
        .filter(|t| *t != "MobilePhone")
        .collect();
    assert_eq!(user_targets(&rules), kept);
    let office = &users[5];
    assert_eq!(
        office.source.to_string(),
        "phoneNumbers[type eq \"mobile\"].value"
    );
    assert_eq!(office.origin.to_string(), "overlay.rules:3");
    assert_eq!(&*users[8].origin.file, "overlay.rules");
    // Overlay hooks come after the profile's.
    let hooks = rules.hooks(ResourceKind::User);
    assert_eq!(
        hooks.iter().map(|h| h.field.as_str()).collect::<Vec<_>>(),
        ["ScimSyncJobTitle", "Country"]
    );
}

#[test]
fn an_overlay_adds_a_custom_mapping_at_the_end() {
    let mut sources = shipped();
    sources.rules.text = sources
        .rules
        .text
        .replace("  custom Department    <- enterprise.department;\n", "");
    sources.overlay = Some(SourceFile::new(
        "acme.rules",
        "mapping User { custom Department <- enterprise.division; }\n",
    ));
    let report = check::check(&sources);
    let rendered = render(&report);
    let rules = report.rules.unwrap_or_else(|| panic!("{rendered}"));
    let last = rules
        .mappings(ResourceKind::User)
        .last()
        .expect("mapping")
        .clone();
    assert_eq!(last.target, "Department");
    assert!(last.custom);
    assert_eq!(last.origin.to_string(), "acme.rules:1");
}

#[test]
fn locked_in_overlay_points_into_both_files() {
    let report = check::check(&fixture_sources(
        &fixtures().join("err/locked_in_overlay.overlay.rules"),
    ));
    let locked: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.code == check::Code::LockedInOverlay)
        .collect();
    assert_eq!(locked.len(), 2);
    for diagnostic in locked {
        assert_eq!(diagnostic.location.file, "overlay.rules");
        assert_eq!(diagnostic.related.len(), 1);
        assert_eq!(diagnostic.related[0].location.file, "default.rules");
        assert_eq!(diagnostic.related[0].severity, Severity::Advice);
    }
}

// ---- the library API ----------------------------------------------------------------------

#[test]
fn load_checked_fails_with_every_diagnostic() {
    let profile = Edited::new(&[
        (
            "default.rules",
            "  OfficePhone          <-",
            "  OficePhone           <-",
        ),
        ("default.rules", "on deleted ", "on removed "),
    ]);
    let err = check::load_checked(profile.path(), None).expect_err("fails");
    let RulesError::Invalid { diagnostics } = &err else {
        panic!("expected diagnostics, got {err}");
    };
    assert_eq!(diagnostics.len(), 2);
    let text = err.to_string();
    assert!(text.contains("2 errors"), "{text}");
    assert!(text.contains("rules::unknown_field"), "{text}");
    assert!(text.contains("rules::unknown_situation"), "{text}");
}

#[test]
fn a_missing_profile_is_a_load_error() {
    let err = check::load_checked(Path::new("/nonexistent/profile"), None).expect_err("fails");
    assert!(matches!(err, RulesError::Load(_)), "{err}");
}

#[test]
fn diagnostics_carry_file_line_column_and_span() {
    let profile = Edited::new(&[(
        "default.rules",
        "ScimSyncJobTitle     <- title | trim;",
        "ScimSyncJobTitle     <- title | trm;",
    )]);
    let report = check::check(&ProfileSources::load(profile.path(), None).expect("loads"));
    let [diagnostic] = report.diagnostics.as_slice() else {
        panic!("{}", render(&report));
    };
    let text = profile.text("default.rules");
    let span = diagnostic.location.span;
    assert_eq!(&text[span.offset..span.offset + span.length], "trm");
    assert_eq!(diagnostic.location.line as usize, line_of(&text, "| trm;"));
    assert_eq!(diagnostic.location.column, 35);
    assert_eq!(diagnostic.help.as_deref(), Some("did you mean `trim`?"));
}

#[test]
fn hook_compile_errors_point_into_the_script() {
    let report = check::check(&fixture_sources(&fixtures().join("err/hook_compile.rules")));
    let diagnostic = report
        .diagnostics
        .iter()
        .find(|d| d.code == check::Code::HookCompile)
        .expect("hook_compile");
    assert_eq!(diagnostic.location.file, "workflows/broken.rhai");
    assert_eq!(diagnostic.location.line, 4);
    assert_eq!(diagnostic.related[0].location.file, "default.rules");
}

#[test]
fn every_ast_node_span_slices_back_to_its_text() {
    let text = std::fs::read_to_string(profile_dir().join("default.rules")).expect("read");
    let file = provisio::syntax::parse(&text).expect("parses");
    let slice = |span: provisio::syntax::Span| &text[span.start..span.end];
    let names_itself = |name: &provisio::syntax::Ident| assert_eq!(slice(name.span), name.node);
    let mut checked = 0;
    for item in &file.items {
        let provisio::syntax::Item::Mapping(block) = item else {
            continue;
        };
        names_itself(&block.kind);
        for statement in &block.statements {
            let provisio::syntax::MappingStmt::Map(rule) = statement else {
                continue;
            };
            names_itself(&rule.target);
            for segment in &rule.source.segments {
                names_itself(&segment.name);
                assert!(slice(rule.source.span).contains(&segment.name.node));
            }
            assert!(slice(rule.span).ends_with(';'));
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}

#[test]
fn pathological_input_is_an_error_not_a_crash() {
    let deep = format!(
        "rules \"x\" target clarizen version 1;\nmapping User {{ UserName <- a{} ; }}",
        ".a".repeat(100_000)
    );
    let report = check::check(&with_rules(&deep));
    assert!(report.rules.is_none());
    let brackets = format!("mapping User {{ X <- a{}", "[".repeat(100_000));
    assert!(provisio::syntax::parse(&brackets).is_err());
    let many = "mapping User { OfficePhone <- title; }\n".repeat(20_000);
    let report = check::check(&with_rules(&many));
    assert!(report.rules.is_none());
}

#[test]
fn ordering_operators_are_refused_in_value_filters_and_guards() {
    for op in ["gt", "GE", "lt", "le"] {
        let text = format!(
            "rules \"x\" target clarizen version 1;\n\
             mapping User {{ locked UserName <- userName;\n\
             OfficePhone <- phoneNumbers[type {op} \"work\"].value; }}\n\
             policy User {{ on updated when title {op} \"a\" => update; on updated => update; }}\n"
        );
        let report = check::check(&with_rules(&text));
        let found: Vec<(check::Code, Option<&str>)> = report
            .diagnostics
            .iter()
            .map(|d| (d.code, d.help.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    check::Code::UnknownOperator,
                    Some("value filters compare with eq, ne, co, sw or ew")
                ),
                (
                    check::Code::UnknownOperator,
                    Some("guards compare with ==, !=, eq, ne, co, sw or ew")
                ),
            ],
            "{op}:\n{}",
            render(&report)
        );
    }
}

fn with_rules(text: &str) -> ProfileSources {
    let mut sources = shipped();
    sources.rules.text = text.to_string();
    sources
}

// ---- provisio check -----------------------------------------------------------------------

/// A copy of the shipped profile, edited.
struct Edited {
    dir: tempfile::TempDir,
}

/// The outcome of one `provisio check`.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Edited {
    /// The shipped profile with each `(file, from, to)` edit made: the first occurrence of
    /// `from` (which must occur) replaced by `to`.
    fn new(edits: &[(&str, &str, &str)]) -> Edited {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(&profile_dir(), dir.path());
        for (file, from, to) in edits {
            let path = dir.path().join(file);
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(text.contains(from), "{file} does not contain {from:?}");
            std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
        }
        Edited { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn text(&self, file: &str) -> String {
        std::fs::read_to_string(self.path().join(file)).expect("read")
    }

    /// The 1-based line of `file` holding `needle`.
    fn line_of(&self, file: &str, needle: &str) -> usize {
        line_of(&self.text(file), needle)
    }

    /// Runs `provisio check` on the profile with `args` after it.
    fn check(&self, args: &[&str]) -> Run {
        let mut all = vec![self.path().to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        run_check(&all)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or_else(|| panic!("{needle:?} not found"), |i| i + 1)
}

fn run_check(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("check")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("runs provisio");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Run {
    /// Asserts the exit status and that stderr mentions every needle.
    fn assert(&self, code: i32, needles: &[&str]) {
        assert_eq!(self.code, code, "{}", self.stderr);
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "no {needle:?} in:\n{}",
                self.stderr
            );
        }
    }

    fn json(&self) -> Vec<serde_json::Value> {
        let json: serde_json::Value = serde_json::from_str(&self.stdout).expect("json");
        json.as_array().expect("array").clone()
    }
}

#[test]
fn cli_accepts_the_shipped_profile() {
    let run = run_check(&[profile_dir().to_str().expect("utf-8 path")]);
    run.assert(0, &[]);
    assert_eq!(
        run.stdout.trim(),
        "ok: clarizen-default v1 (target clarizen): 12 mappings, 12 reactions, 1 hook"
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn cli_reports_a_misspelled_field_with_a_suggestion() {
    let profile = Edited::new(&[(
        "default.rules",
        "  OfficePhone          <-",
        "  OficePhone           <-",
    )]);
    let line = profile.line_of("default.rules", "OficePhone");
    profile.check(&[]).assert(
        1,
        &[
            &format!("[default.rules:{line}:3]"),
            "rules::unknown_field",
            "did you mean `OfficePhone`?",
        ],
    );
}

#[test]
fn cli_reports_a_mapping_written_twice() {
    let twice = "  MobilePhone          <- phoneNumbers[type eq \"mobile\"].value;\n";
    let profile = Edited::new(&[("default.rules", twice, &format!("{twice}{twice}"))]);
    let line = profile.line_of("default.rules", "MobilePhone") + 1;
    profile.check(&[]).assert(
        1,
        &[
            "rules::duplicate_target",
            &format!("[default.rules:{line}:3]"),
            "first mapped here",
        ],
    );
}

#[test]
fn cli_reports_a_custom_mapping_to_a_non_string_field() {
    let profile = Edited::new(&[("default.rules", "custom Department ", "custom HireDate   ")]);
    let line = profile.line_of("default.rules", "custom HireDate");
    profile.check(&[]).assert(
        1,
        &[
            "rules::custom_not_string",
            &format!("[default.rules:{line}:10]"),
            "target.rules:",
        ],
    );
}

#[test]
fn cli_reports_a_truncated_file() {
    let profile = Edited::new(&[]);
    let text = profile.text("default.rules");
    let cut = text.find("policy User").expect("policy") + "policy User { invite ne".len();
    std::fs::write(profile.path().join("default.rules"), &text[..cut]).expect("write");
    let line = text[..cut].lines().count();
    profile.check(&[]).assert(
        1,
        &[
            "rules::syntax",
            &format!("[default.rules:{line}:"),
            "found end of file",
        ],
    );
}

#[test]
fn cli_reports_two_unrelated_errors_at_once() {
    let profile = Edited::new(&[
        (
            "default.rules",
            "ScimSyncJobTitle     <- title",
            "ScimSyncJobTitle     <- titel",
        ),
        (
            "target.rules",
            "Department:       String;",
            "Department:       Strng;",
        ),
    ]);
    profile.check(&[]).assert(
        1,
        &[
            "rules::unknown_scim_path",
            "did you mean `title`?",
            "rules::unknown_type",
            "did you mean `String`?",
            "check failed: ",
        ],
    );
}

#[test]
fn cli_reports_every_broken_statement_of_a_file() {
    let profile = Edited::new(&[
        (
            "default.rules",
            "locked DisplayName   <- displayName;",
            "locked DisplayName   <- displayName",
        ),
        (
            "default.rules",
            "on deactivated                    => suspend;",
            "on deactivated                    => ;",
        ),
    ]);
    let run = profile.check(&["--format", "json"]);
    assert_eq!(run.code, 1);
    let found: Vec<(String, usize)> = run
        .json()
        .iter()
        .map(|d| {
            let line = d["line"].as_u64().and_then(|l| usize::try_from(l).ok());
            (d["code"].to_string(), line.unwrap_or(0))
        })
        .collect();
    let line = |needle| profile.line_of("default.rules", needle);
    let syntax = "\"rules::syntax\"".to_string();
    assert_eq!(
        found,
        [
            (syntax.clone(), line("locked FirstName")),
            (syntax, line("on deactivated")),
        ],
        "{}",
        run.stdout
    );
}

#[test]
fn cli_json_lists_every_diagnostic() {
    let profile = Edited::new(&[
        ("default.rules", "on deleted ", "on delted "),
        ("default.rules", "reject uniqueness", "reject unique"),
    ]);
    let run = profile.check(&["--format", "json"]);
    assert_eq!(run.code, 1);
    let list = run.json();
    assert_eq!(list.len(), 2, "{}", run.stdout);
    let first = &list[0];
    assert_eq!(first["code"], "rules::unknown_situation");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], "default.rules");
    assert!(first["line"].as_u64().is_some_and(|l| l > 1));
    assert!(first["column"].as_u64().is_some());
    assert_eq!(first["span"]["length"], 6);
    assert!(first["span"]["offset"].as_u64().is_some());
    assert_eq!(first["help"], "did you mean `deleted`?");
    assert_eq!(list[1]["code"], "rules::unknown_scim_type");
    assert!(
        list[1]["message"]
            .as_str()
            .is_some_and(|m| m.contains("unique"))
    );
}

#[test]
fn cli_checks_an_overlay_and_names_both_files() {
    let profile = profile_dir();
    let profile = profile.to_str().expect("utf-8 path");
    let overlay = |name: &str| fixtures().join(name).to_string_lossy().into_owned();
    run_check(&[profile, "--overlay", &overlay("ok/overlay.overlay.rules")]).assert(0, &[]);
    run_check(&[
        profile,
        "--overlay",
        &overlay("err/locked_in_overlay.overlay.rules"),
    ])
    .assert(
        1,
        &["[locked_in_overlay.overlay.rules:3:3]", "[default.rules:"],
    );
}

#[test]
fn cli_warnings_do_not_fail() {
    let profile = Edited::new(&[(
        "default.rules",
        "  on deleted                        => delete;\n",
        "  on deleted                        => delete;\n  on deleted when active == true => suspend;\n",
    )]);
    let run = profile.check(&[]);
    run.assert(0, &["rules::unreachable_reaction"]);
    assert!(run.stdout.contains("1 warning"), "{}", run.stdout);
}

#[test]
fn cli_unreadable_profile_exits_2() {
    run_check(&["/nonexistent/profile"]).assert(2, &["cannot read"]);
}

// ---- robustness ---------------------------------------------------------------------------

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..40usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (
            any::<usize>(),
            prop::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    prop::sample::select(b"{}[]()<>;:.|=-\"#\n ".to_vec())
                ],
                1..8
            )
        )
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(text: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = text.to_vec();
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Delete { at, len: n } => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Mutation::Insert { at, bytes: new } => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Truncate { at } => bytes.truncate(at % len),
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let _ = provisio::syntax::parse(&text);
        let mut sources = shipped();
        sources.rules.text = text.clone();
        sources.overlay = Some(SourceFile::new("overlay.rules", text.clone()));
        let _ = check::check(&sources);
        sources.target.text = text;
        let _ = check::check(&sources);
    }

    #[test]
    fn mutated_profile_files_check_or_say_why(mutations in prop::collection::vec(mutation(), 1..6)) {
        let original = shipped();
        let overlay = std::fs::read_to_string(fixtures().join("ok/overlay.overlay.rules"))
            .expect("overlay fixture");
        let files = [&original.rules.text, &original.target.text, &overlay];
        for (which, text) in files.into_iter().enumerate() {
            let mutated = String::from_utf8_lossy(&apply(text.as_bytes(), &mutations)).into_owned();
            match provisio::syntax::parse(&mutated) {
                Ok(_) => {}
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    prop_assert!(errors.len() <= provisio::syntax::MAX_SYNTAX_ERRORS);
                    for error in &errors {
                        prop_assert!(error.span().end <= mutated.len(), "{error:?}");
                    }
                }
            }
            let mut sources = original.clone();
            match which {
                0 => sources.rules.text = mutated,
                1 => sources.target.text = mutated,
                _ => sources.overlay = Some(SourceFile::new("overlay.rules", mutated)),
            }
            let report = check::check(&sources);
            // Either the rules check, or at least one error says why; every label of every
            // diagnostic lies inside its file.
            let failed = report.diagnostics.iter().any(check::RulesDiagnostic::is_error);
            prop_assert_eq!(report.rules.is_some(), !failed);
            for diagnostic in &report.diagnostics {
                prop_assert!(spans_lie_in_their_files(diagnostic), "{}", render(&report));
            }
        }
    }
}

/// Whether a diagnostic's span, its notes' and its related diagnostics' lie inside their
/// file, on character boundaries.
fn spans_lie_in_their_files(diagnostic: &check::RulesDiagnostic) -> bool {
    let text = diagnostic.source_text();
    let fits = |span: check::ByteSpan| {
        let end = span.offset + span.length;
        end <= text.len() && text.is_char_boundary(span.offset) && text.is_char_boundary(end)
    };
    fits(diagnostic.location.span)
        && diagnostic
            .notes
            .iter()
            .all(|note| note.location.file == diagnostic.location.file && fits(note.location.span))
        && diagnostic.related.iter().all(spans_lie_in_their_files)
}
