//! Per-tenant overlays end to end through the binary: `provisio overlay set` checks and
//! saves, `provisio serve` applies each tenant's overlay to that tenant only.

use std::path::{Path, PathBuf};

use crate::binary::{enterprise_user, key_for, provisio, request, serve, set_overlay, stop};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn post_user(addr: &str, key: &str, user_name: &str) -> u16 {
    let body = enterprise_user(user_name, ["Cos", "Center"], "fin-042").to_string();
    request(addr, key, "POST", "/Users", Some(&body)).map_or(0, |(status, _)| status)
}

#[test]
fn a_tenant_overlay_applies_to_that_tenant_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("provisio.redb");
    for tenant in ["acme", "other"] {
        assert!(
            provisio(&db, &["tenant", "create", tenant])
                .status
                .success()
        );
    }
    let acme_key = key_for(&db, "acme");
    let other_key = key_for(&db, "other");

    // A broken overlay is refused and nothing is saved.
    let broken = dir.path().join("broken.rules");
    std::fs::write(&broken, "mapping User {\n  UserName <- displayName;\n}\n").expect("write");
    let output = set_overlay(&db, "acme", &broken);
    assert_eq!(output.status.code(), Some(1));
    let message = text(&output.stderr);
    assert!(
        message.contains("locked") && message.contains("nothing was saved"),
        "{message}"
    );
    let shown = provisio(&db, &["overlay", "show", "--tenant", "acme"]);
    assert!(
        text(&shown.stdout).contains("no overlay"),
        "{}",
        text(&shown.stdout)
    );

    let overlay = fixture("tests/fixtures/ops/overlay/overlay.rules");
    let output = set_overlay(&db, "acme", &overlay);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("saved overlay v1"),
        "{}",
        text(&output.stdout)
    );

    let served = serve(&db);
    let (server, addr) = (served.child, served.addr);
    let announced = served
        .banner
        .iter()
        .any(|line| line.contains("tenant `acme` uses its overlay v1"));
    assert!(announced, "serve did not announce the overlay");
    assert_eq!(post_user(&addr, &acme_key, "cc@acme.com"), 201);
    assert_eq!(post_user(&addr, &other_key, "cc@other.com"), 201);
    assert!(stop(server), "a clean stop");

    let acme = text(&provisio(&db, &["history", "--tenant", "acme"]).stdout);
    assert!(
        acme.contains("CostCenter")
            && acme.contains("FIN-042")
            && acme.contains("overlay-v1.rules:3"),
        "{acme}"
    );
    let other = text(&provisio(&db, &["history", "--tenant", "other"]).stdout);
    assert!(!other.contains("CostCenter"), "{other}");

    let output = provisio(&db, &["overlay", "reset", "--tenant", "acme"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = provisio(&db, &["overlay", "show", "--tenant", "acme"]);
    assert!(
        text(&shown.stdout).contains("no overlay"),
        "{}",
        text(&shown.stdout)
    );
}
