//! Terminal injection (issue 9, item 7): hostile text stored over SCIM or through the store
//! API is printed by the CLI as visible escapes, never as raw control characters.

use provisio::store::{HistoryRecord, LogRecord, Outcome};

use super::support::{Server, okta_user};

/// An ANSI "clear screen, red" sequence, a carriage return that would overwrite the line,
/// a right-to-left override, a C1 CSI, a NUL and an OSC window-title sequence.
const HOSTILE: &str = "\u{1b}[2J\u{1b}[31mevil\rok\u{202E}moc.xe\u{9b}1m\0\u{1b}]0;pwned\u{7}";

use crate::binary::provisio;

/// Fails when `bytes` hold anything that drives a terminal; newlines end rows.
#[track_caller]
fn assert_inert(bytes: &[u8]) {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let raw: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(raw.is_empty(), "raw control characters {raw:?} in:\n{text}");
}

#[test]
fn history_log_and_key_list_print_hostile_text_as_visible_escapes() {
    let (server, okta) = Server::with_tenant("acme");
    // Over SCIM: a hostile displayName becomes a history entry of the DisplayName field.
    let mut body = okta_user("plain@ex.com");
    body["displayName"] = serde_json::json!(HOSTILE);
    okta.post("/Users", &body).expect(201);
    // Through the store API: a hostile userName in history, path and detail in the log,
    // and a hostile integration user on a key.
    let mut write = server.store.write(&"acme".into()).unwrap();
    write
        .append_history(HistoryRecord {
            seq: 0,
            time: provisio::domain::Timestamp::EPOCH,
            actor: "okta-integration".into(),
            entity_type: "User".into(),
            entity_id: "u1".into(),
            user_name: Some(format!("{HOSTILE}@ex.com")),
            field: "Email".into(),
            before: None,
            after: Some(HOSTILE.into()),
            rule: "default.rules:1".into(),
        })
        .unwrap();
    write.commit().unwrap();
    server
        .store
        .append_log(
            &"acme".into(),
            &LogRecord {
                seq: 0,
                time: provisio::domain::Timestamp::EPOCH,
                actor: "okta-integration".into(),
                method: "GET".into(),
                path: format!("/scim/v2/Users?filter={HOSTILE}"),
                status: 400,
                outcome: Outcome::Failed,
                scim_type: Some("invalidFilter".into()),
                detail: Some(format!("unknown attribute `{HOSTILE}`\nsecond line")),
                request: None,
            },
        )
        .unwrap();
    server.store.create_key(&"acme".into(), HOSTILE).unwrap();
    let (_dir, db) = server.finish();

    for args in [
        &["history", "--tenant", "acme"][..],
        &["log", "--tenant", "acme"],
        &["key", "list", "--tenant", "acme"],
    ] {
        let output = provisio(&db, args);
        assert!(output.status.success(), "{args:?}: {output:?}");
        assert_inert(&output.stdout);
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            stdout.contains(
                "\\u{1b}[2J\\u{1b}[31mevil\\rok\\u{202e}moc.xe\\u{9b}1m\\0\\u{1b}]0;pwned\\u{7}"
            ),
            "{args:?}:\n{stdout}"
        );
    }
    // A newline inside a cell cannot forge a row of its own.
    let log = String::from_utf8(provisio(&db, &["log", "--tenant", "acme"]).stdout).unwrap();
    assert_eq!(
        log.lines().count(),
        3,
        "header, the POST and the forged GET:\n{log}"
    );
    assert!(log.contains("`\\nsecond line"), "{log}");
}

#[test]
fn errors_naming_hostile_input_are_escaped_too() {
    let (server, _) = Server::with_tenant("acme");
    let (_dir, db) = server.finish();
    // (An argument cannot hold NUL.)
    let output = provisio(&db, &["history", "--tenant", &HOSTILE.replace('\0', "")]);
    assert!(!output.status.success());
    assert_inert(&output.stderr);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("\\u{1b}[2J"), "{stderr}");
}
