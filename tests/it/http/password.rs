//! The password policy over HTTP (issue 8): with the Clarizen default (`password discard;`)
//! a received password is dropped; with `password hash;` it is kept as an Argon2id hash on
//! the entity, write-only: never returned, logged, shown by explain or the admin API, never
//! in history, never in clear in the database file.

use std::path::Path;

use serde_json::json;

use super::support::{CLARIZEN_RULES, Server, okta_user};

/// The Clarizen profile with its `password` line changed to `password hash;`.
fn hashing_profile(dir: &Path) {
    let workflows = dir.join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    let source = Path::new(CLARIZEN_RULES);
    for name in ["target.rules", "workflows/job_title.rhai"] {
        std::fs::copy(source.join(name), dir.join(name)).unwrap();
    }
    let rules = std::fs::read_to_string(source.join("default.rules")).unwrap();
    assert!(rules.contains("password discard;"));
    std::fs::write(
        dir.join("default.rules"),
        rules.replace("password discard;", "password hash;   "),
    )
    .unwrap();
}

const SECRET: &str = "1mz050nq";

#[test]
fn a_hashed_password_is_kept_and_never_returned_logged_or_shown() {
    let profile = tempfile::tempdir().unwrap();
    hashing_profile(profile.path());
    let server = Server::start_with_rules(profile.path());
    let okta = server.tenant("acme");
    let created = okta.post("/Users", &okta_user("ann@ex.com")).expect(201);
    let text = String::from_utf8(created.body.clone()).unwrap();
    assert!(!text.contains(SECRET) && !text.contains("argon2"), "{text}");
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let read = server.store.read(&"acme".into()).unwrap();
    assert!(read.password_matches(&id.as_str().into(), SECRET).unwrap());
    assert!(
        !read
            .password_matches(&id.as_str().into(), "1MZ050NQ")
            .unwrap()
    );
    drop(read);

    // Okta changes the password: the new one is kept, the old one no longer matches.
    okta.patch_ops(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "value": {"password": "s3cond-pw"}}]),
    )
    .expect(200);
    let read = server.store.read(&"acme".into()).unwrap();
    assert!(
        read.password_matches(&id.as_str().into(), "s3cond-pw")
            .unwrap()
    );
    assert!(!read.password_matches(&id.as_str().into(), SECRET).unwrap());
    drop(read);

    let shown = [
        okta.get(&format!("/Users/{id}")).expect(200).body,
        okta.get("/Users?attributes=password").expect(200).body,
        server
            .admin()
            .get(&format!("/tenants/acme/entities/{id}"))
            .expect(200)
            .body,
        server.admin().get("/tenants/acme/history").expect(200).body,
        server.admin().get("/tenants/acme/log").expect(200).body,
        serde_json::to_vec(&server.store.history(&"acme".into(), None).unwrap()).unwrap(),
    ];
    for body in &shown {
        let text = String::from_utf8_lossy(body);
        for leak in [SECRET, "s3cond-pw", "argon2", "$v=19$"] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
    }
    let explained = server
        .admin()
        .send(
            "POST",
            "/tenants/acme/explain",
            &[],
            Some(
                json!({"method": "PUT", "path": format!("/Users/{id}"), "body": okta_user("ann@ex.com")})
                    .to_string()
                    .as_bytes(),
            ),
        )
        .expect(200)
        .json();
    let notes = explained["notes"].to_string();
    assert!(notes.contains("kept as an Argon2id hash"), "{notes}");
    assert!(!explained.to_string().contains(SECRET), "{explained}");

    // Deleting the user forgets its password.
    okta.delete(&format!("/Users/{id}")).expect(204);
    let read = server.store.read(&"acme".into()).unwrap();
    assert!(!read.has_password(&id.as_str().into()).unwrap());
    drop(read);
    let (_dir, db) = server.finish();
    let bytes = std::fs::read(db).unwrap();
    for leak in [SECRET.as_bytes(), b"s3cond-pw"] {
        assert!(
            !bytes.windows(leak.len()).any(|w| w == leak),
            "cleartext in the file"
        );
    }
}

#[test]
fn the_clarizen_default_discards_the_password() {
    let (server, okta) = Server::with_tenant("acme");
    let id = okta.create_user("ann@ex.com");
    let read = server.store.read(&"acme".into()).unwrap();
    assert!(!read.has_password(&id.as_str().into()).unwrap());
}
