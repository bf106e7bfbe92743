//! The command line while a server holds the database: every command goes through the
//! server's admin API (found from the database path) and takes effect at once, with no
//! restart; when no server runs, the same commands work on the file.

use crate::binary::{enterprise_user, ok, provisio, request, serve, set_overlay, stop};

fn post_user(addr: &str, key: &str, body: &serde_json::Value) -> (u16, String) {
    request(addr, key, "POST", "/Users", Some(&body.to_string())).expect("the server answers")
}

fn user(name: &str) -> serde_json::Value {
    enterprise_user(name, ["Live", "Cli"], "fin-7")
}

#[test]
fn every_command_works_while_serving_and_takes_effect_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("live.redb");
    let served = serve(&db);
    let (child, addr, first_key) = (served.child, served.addr, served.first_key);
    let credential = dir.path().join("live.redb.admin");
    assert!(
        credential.exists(),
        "the server keeps its credential beside the database"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&credential)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    // Tenants and keys, live.
    ok(&provisio(&db, &["tenant", "create", "acme"]));
    assert!(ok(&provisio(&db, &["tenant", "list"])).contains("acme"));
    let out = ok(&provisio(
        &db,
        &["key", "create", "--tenant", "acme", "--user", "okta"],
    ));
    let key = out.lines().last().expect("key").trim().to_string();
    assert!(key.starts_with("prv_"), "{out}");
    let (status, body) = post_user(&addr, &key, &user("first@ex.com"));
    assert_eq!(status, 201, "{body}");

    // An overlay saved through the CLI is used by the next create.
    let overlay = dir.path().join("acme.rules");
    std::fs::write(
        &overlay,
        "mapping User {\n  custom CostCenter <- enterprise.costCenter | upper;\n}\n",
    )
    .expect("write overlay");
    let saved = ok(&set_overlay(&db, "acme", &overlay));
    assert!(saved.contains("next operation"), "{saved}");
    assert_eq!(post_user(&addr, &key, &user("second@ex.com")).0, 201);
    let history = ok(&provisio(
        &db,
        &["history", "--tenant", "acme", "--user", "second@ex.com"],
    ));
    assert!(
        history.contains("CostCenter") && history.contains("FIN-7"),
        "{history}"
    );
    assert!(
        !ok(&provisio(
            &db,
            &["history", "--tenant", "acme", "--user", "first@ex.com"]
        ))
        .contains("CostCenter")
    );
    assert!(
        ok(&provisio(&db, &["overlay", "show", "--tenant", "acme"])).contains("custom CostCenter")
    );

    // A broken overlay is refused with its diagnostics, and nothing changes.
    std::fs::write(
        &overlay,
        "mapping User {\n  custom CostCentre <- enterprise.costCenter;\n}\n",
    )
    .expect("write");
    let refused = set_overlay(&db, "acme", &overlay);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("rules::unknown_field"), "{stderr}");
    ok(&provisio(&db, &["overlay", "reset", "--tenant", "acme"]));

    // Import, and the log of a refused request.
    let import = dir.path().join("users.csv");
    std::fs::write(&import, "type,UserName\nUser,legacy@ex.com\n").expect("write");
    assert!(
        ok(&provisio(
            &db,
            &[
                "entities",
                "import",
                "--tenant",
                "acme",
                import.to_str().unwrap()
            ]
        ))
        .contains("imported 1 users")
    );
    assert_eq!(post_user(&addr, &key, &user("first@ex.com")).0, 409);
    let log = ok(&provisio(&db, &["log", "--tenant", "acme", "--failed"]));
    assert!(log.contains("409"), "{log}");

    // A key revoked through the CLI is refused on its next request.
    let listed = ok(&provisio(&db, &["key", "list", "--tenant", "acme"]));
    let key_id = listed
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .expect("a key id")
        .to_string();
    ok(&provisio(
        &db,
        &["key", "revoke", "--tenant", "acme", &key_id],
    ));
    assert_eq!(post_user(&addr, &key, &user("third@ex.com")).0, 401);
    assert_eq!(post_user(&addr, &first_key, &user("default@ex.com")).0, 201);

    // Stopped: the credential is gone and the commands open the file again.
    assert!(stop(child), "a clean stop");
    assert!(!credential.exists());
    assert!(ok(&provisio(&db, &["tenant", "list"])).contains("acme"));
    assert!(
        ok(&provisio(
            &db,
            &["history", "--tenant", "acme", "--user", "second@ex.com"]
        ))
        .contains("FIN-7")
    );
}

#[test]
fn commands_refuse_to_create_a_database_as_a_side_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("absent.redb");
    for args in [
        vec!["tenant", "list"],
        vec!["key", "list", "--tenant", "t"],
        vec!["history", "--tenant", "t"],
        vec!["log", "--tenant", "t"],
        vec!["overlay", "show", "--tenant", "t"],
        vec!["db", "verify"],
    ] {
        let out = provisio(&db, &args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no database at") && stderr.contains("absent.redb"),
            "{args:?}: {stderr}"
        );
        assert!(!db.exists(), "{args:?} created the file");
    }
    ok(&provisio(&db, &["tenant", "create", "acme"]));
    assert!(db.exists());
}
