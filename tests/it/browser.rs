//! The admin page in a real browser: Debian's headless Chromium, driven through `WebDriver`
//! (`chromedriver`, `fantoccini`) against the real `provisio serve` binary over a fresh
//! database. Signs in, edits a mapping, sees the checker refuse a bad choice next to its
//! row, previews, saves, provisions a user over SCIM and finds the new field and its history
//! entry on the page, then revokes the key on the page and sees SCIM refuse it.
//!
//! Chromium and chromedriver must be installed (`apt-get install chromium chromium-driver`;
//! `.ci/run` does it): without them this test fails and says so.
//!
//! The mappings page's screenshot goes to `target/tmp/mappings.png`, or to the path in
//! `PROVISIO_SCREENSHOT` (`PROVISIO_SCREENSHOT=docs/mappings.png` refreshes the README's);
//! the refused table's goes to `target/tmp/refused.png`, to look at.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::http::support::{ENTERPRISE, SYNC_GROUP, USER_SCHEMA, okta_user};

const CHROMIUM_FLAGS: [&str; 7] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// A child process of this test, killed when the test ends however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `name` on `PATH`, else `None`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    })
}

fn required(names: &[&str]) -> PathBuf {
    names.iter().find_map(|n| on_path(n)).unwrap_or_else(|| {
        panic!(
            "the browser test needs Debian's Chromium and ChromeDriver, and `{}` is not on PATH: \
             install them with `apt-get install chromium chromium-driver` (.ci/run does this in its \
             browser section)",
            names[0]
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real binary on a fresh database: its SCIM base, admin page, first key and token.
struct Served {
    _process: Running,
    scim: SocketAddr,
    admin: String,
    key: String,
    token: String,
}

fn serve(dir: &Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .arg("serve")
        .arg("--db")
        .arg(dir.join("provisio.redb"))
        .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("provisio serve starts");
    let stdout = child.stdout.take().unwrap();
    let process = Running(child);
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let (mut scim, mut admin, mut key, mut token) = (None, None, None, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while scim.is_none() {
        let line = received
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("provisio serve prints its SCIM base URL");
        let line = line.trim();
        if let Some(url) = line.strip_prefix("SCIM base URL: http://") {
            scim = url.strip_suffix("/scim/v2").map(|a| a.parse().unwrap());
        } else if let Some(url) = line.strip_prefix("Admin page: ") {
            admin = Some(url.trim_end_matches('/').to_owned());
        } else if line.starts_with("prv_") {
            key = Some(line.to_owned());
        } else if line.starts_with("pva_") {
            token = Some(line.to_owned());
        }
    }
    Served {
        _process: process,
        scim: scim.unwrap(),
        admin: admin.expect("an Admin page line"),
        key: key.expect("the first API key"),
        token: token.expect("the first operator token"),
    }
}

/// One SCIM request over plain HTTP: the status and the JSON body.
fn scim(
    addr: SocketAddr,
    key: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} /scim/v2{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Authorization: Bearer {key}\r\nContent-Type: application/scim+json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    let json = raw
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

fn chromedriver(dir: &Path) -> (Running, String) {
    let chromedriver = required(&["chromedriver"]);
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .arg(format!(
            "--log-path={}",
            dir.join("chromedriver.log").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (running, format!("http://127.0.0.1:{port}"))
}

async fn browser(webdriver: &str, profile: &Path) -> Client {
    let chromium = required(&["chromium", "chromium-browser"]);
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push("--window-size=1280,1800".to_owned());
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({"binary": chromium, "args": args}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(webdriver)
        .await
        .expect("a Chromium session through chromedriver")
}

/// The element's visible text, every run of whitespace one space.
async fn text_of(client: &Client, css: &str) -> String {
    let found = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await;
    let Ok(element) = found else {
        let url = client.current_url().await.map(|u| u.to_string());
        let source = client.source().await.unwrap_or_default();
        panic!("no `{css}` on {url:?}:\n{source}");
    };
    let text = element.text().await.unwrap();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Clicks `css` and waits until the next page has replaced this one.
/// Asserts that the text of an element holds each of `parts`.
#[track_caller]
fn says(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part:?} not in {text:?}");
    }
}

/// Types `text` into the element `locator` finds.
async fn type_into(client: &Client, locator: Locator<'_>, text: &str) {
    let element = client.find(locator).await.unwrap();
    element.send_keys(text).await.unwrap();
}

async fn click(client: &Client, css: &str) {
    let page = client.find(Locator::Css("html")).await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` to click: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
    if css.contains("data-confirm") {
        client.accept_alert().await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while page.tag_name().await.is_ok() {
        assert!(Instant::now() < deadline, "clicking `{css}` loaded no page");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn select(client: &Client, css: &str, value: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("cannot choose {value} in `{css}`: {e}"));
}

/// The index of the editable row whose Clarizen field is `field`.
async fn row_of(client: &Client, field: &str) -> usize {
    let rows = client
        .find_all(Locator::Css("table.editable select[name^=\"target.\"]"))
        .await
        .unwrap();
    for (index, select) in rows.iter().enumerate() {
        if select.prop("value").await.unwrap().as_deref() == Some(field) {
            return index;
        }
    }
    panic!("no row maps {field}");
}

#[test]
fn the_page_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path());
    let (_driver, webdriver) = chromedriver(dir.path());
    // A user stored before the change, for Preview to count.
    let (status, boss) = scim(
        served.scim,
        &served.key,
        "POST",
        "/Users",
        Some(&okta_user("boss@acme.com")),
    );
    assert_eq!(status, 201, "{boss}");
    let boss_id = boss["id"].as_str().unwrap().to_owned();
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                       "displayName": SYNC_GROUP, "members": [{"value": boss_id}]});
    assert_eq!(
        scim(served.scim, &served.key, "POST", "/Groups", Some(&group)).0,
        201
    );
    let mut stored = okta_user("pre@acme.com");
    stored["schemas"] = json!([USER_SCHEMA, ENTERPRISE]);
    stored[ENTERPRISE] = json!({"costCenter": "ops-7"});
    assert_eq!(
        scim(served.scim, &served.key, "POST", "/Users", Some(&stored)).0,
        201
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let profile = dir.path().join("chromium-profile");
    runtime.block_on(async {
        let client = browser(&webdriver, &profile).await;
        edit_mappings(&client, &served).await;
        provision_and_revoke(&client, &served, &boss_id).await;
        let _ = client.close().await;
    });
}

async fn edit_mappings(client: &Client, served: &Served) {
    let admin = &served.admin;
    // Sign in.
    client.goto(&format!("{admin}/")).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/signin")
    );
    type_into(client, Locator::Id("token"), &served.token).await;
    click(client, "form[action=\"/signin\"] button[type=submit]").await;
    assert!(
        text_of(client, "header .who")
            .await
            .contains("Signed in as admin")
    );
    click(client, "a[href=\"/t/default/mappings\"]").await;
    assert!(text_of(client, "h1").await.starts_with("Mappings"));

    // A bad choice: MobilePhone's row onto OfficePhone. The checker refuses it at the row.
    let mobile = row_of(client, "MobilePhone").await;
    select(client, &format!("#target-{mobile}"), "OfficePhone").await;
    click(client, "button[value=save]").await;
    let refused = text_of(client, "section.panel.problem h2").await;
    assert_eq!(refused, "The table does not check; nothing was saved");
    let diagnostic = text_of(client, &format!("#diag-{mobile}")).await;
    assert!(
        diagnostic.contains("rules::duplicate_target"),
        "{diagnostic}"
    );
    assert!(diagnostic.contains("Help:"), "{diagnostic}");
    let png = client.screenshot().await.unwrap();
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("refused.png"),
        png,
    )
    .unwrap();

    // Put it back and add a custom mapping instead: CostCenter from the enterprise extension.
    select(client, &format!("#target-{mobile}"), "MobilePhone").await;
    select(client, "select[name=new_target]", "CostCenter").await;
    select(client, "select[name=new_source]", "enterprise.costCenter").await;
    type_into(client, Locator::Css("input[name=new_transforms]"), "upper").await;
    click(client, "button[value=add]").await;
    assert!(text_of(client, "p.notice").await.contains("not saved"));

    // Preview: one of the two stored users would change.
    click(client, ".actions button[value=preview]").await;
    let preview = text_of(client, "section.preview").await;
    says(
        &preview,
        &[
            "1 of 2 stored users would change.",
            "CostCenter: (empty) -> OPS-7",
        ],
    );
    let png = client.screenshot().await.unwrap();
    let shot = std::env::var_os("PROVISIO_SCREENSHOT").map_or_else(
        || PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mappings.png"),
        |path| Path::new(env!("CARGO_MANIFEST_DIR")).join(path),
    );
    std::fs::write(&shot, png).unwrap();

    // Save: in use from the next operation.
    click(client, ".actions button[value=save]").await;
    let saved = text_of(client, "p.flash.ok").await;
    assert!(saved.contains("Saved as version 1"), "{saved}");
}

async fn provision_and_revoke(client: &Client, served: &Served, boss_id: &str) {
    // Provision a user over SCIM; the page shows the new field and its history entry.
    let mut ann = okta_user("ann@acme.com");
    ann["schemas"] = json!([USER_SCHEMA, ENTERPRISE]);
    ann[ENTERPRISE] = json!({"costCenter": "fin-042", "manager": {"value": boss_id}});
    let (status, created) = scim(served.scim, &served.key, "POST", "/Users", Some(&ann));
    assert_eq!(status, 201, "{created}");
    click(client, "nav.sections a[href=\"/t/default/users\"]").await;
    type_into(client, Locator::Css("input[name=q]"), "ann").await;
    click(client, "form[role=search] button[type=submit]").await;
    click(client, "table a[href^=\"/t/default/entities/\"]").await;
    let fields = text_of(client, "main table").await;
    assert!(
        fields.contains("CostCenter FIN-042 overlay-v1.rules:3"),
        "{fields}"
    );
    assert!(fields.contains("DirectManager boss@acme.com"), "{fields}");

    click(client, "nav.sections a[href=\"/t/default/history\"]").await;
    type_into(client, Locator::Css("input[name=field]"), "CostCenter").await;
    click(client, "form.filters button[type=submit]").await;
    let history = text_of(client, "table.history tbody").await;
    says(
        &history,
        &[
            "ann@acme.com CostCenter (empty)",
            "FIN-042 overlay-v1.rules:3 okta-integration",
        ],
    );

    // Revoke the key on the page; the next SCIM request with it is refused.
    assert_eq!(scim(served.scim, &served.key, "GET", "/Users", None).0, 200);
    click(client, "nav.sections a[href=\"/t/default/keys\"]").await;
    click(client, "td form[data-confirm] button.danger").await;
    let revoked = text_of(client, "p.flash.ok").await;
    assert!(revoked.starts_with("Revoked key_"), "{revoked}");
    let (status, refused) = scim(served.scim, &served.key, "GET", "/Users", None);
    assert_eq!(status, 401, "{refused}");
}
