//! The admin page over HTTP against a real server on loopback: sign-in and sign-out, wrong
//! tokens, CSRF refusal, tenant-scoped operators, every page rendering names (not ids),
//! hostile userNames escaped, and bad form input refused with nothing changed.

use std::io::{Read, Write};
use std::net::SocketAddr;

use provisio::store::OperatorScope;
use serde_json::json;

use crate::http::support::{
    ENTERPRISE, SYNC_GROUP, Server, USER_SCHEMA, connect, encode, okta_user, request_head,
};

/// A response from the page.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    fn expect(self, status: u16) -> Answer {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body:\n{}",
            brief(&self.body)
        );
        self
    }

    #[track_caller]
    fn redirects_to(self, location: &str) -> Answer {
        assert_eq!(self.status, 303, "{}", self.body);
        assert_eq!(self.header("location"), Some(location));
        self
    }

    #[track_caller]
    fn contains(self, text: &str) -> Answer {
        assert!(
            self.body.contains(text),
            "the page lacks {text:?}:\n{}",
            brief(&self.body)
        );
        self
    }

    #[track_caller]
    fn lacks(self, text: &str) -> Answer {
        assert!(
            !self.body.contains(text),
            "the page has {text:?}:\n{}",
            brief(&self.body)
        );
        self
    }
}

/// A browser without JavaScript: one connection per request, a cookie jar of one.
struct Browser {
    addr: SocketAddr,
    cookie: Option<String>,
    csrf: String,
}

impl Browser {
    fn new(server: &Server) -> Browser {
        Browser {
            addr: server.admin_addr(),
            cookie: None,
            csrf: String::new(),
        }
    }

    /// A browser signed in with `token`, its CSRF token read off the first page.
    fn signed_in(server: &Server, token: &str) -> Browser {
        let mut browser = Browser::new(server);
        let answer = browser
            .post("/signin", &[("token", token)])
            .redirects_to("/");
        let set = answer
            .header("set-cookie")
            .expect("a session cookie")
            .to_owned();
        let value = set.split(';').next().unwrap().to_owned();
        browser.cookie = Some(value);
        let home = browser.get("/").expect(200);
        browser.csrf = csrf_of(&home.body);
        browser
    }

    fn get(&self, path: &str) -> Answer {
        self.send("GET", path, &[], None)
    }

    fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        self.post_with(path, fields, &[])
    }

    /// Posts a form with this session's CSRF token first.
    fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all)
    }

    fn post_with(&self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Answer {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send("POST", path, headers, Some(&body))
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let mut stream = connect(self.addr);
        let mut all: Vec<(&str, &str)> =
            self.cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
        all.extend_from_slice(headers);
        let mut head = request_head(
            &format!("{method} {path}"),
            self.addr,
            "text/html",
            &all,
            body.map(|body| ("application/x-www-form-urlencoded", body.len())),
        );
        head.push_str(body.unwrap_or_default());
        stream.write_all(head.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a header end");
        let head = String::from_utf8(raw[..end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Answer {
            status,
            headers,
            body: String::from_utf8(raw[end + 4..].to_vec()).unwrap(),
        }
    }
}

/// The page without the long lists of SCIM paths, for failure messages.
fn brief(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<optgroup") {
        out.push_str(&rest[..start]);
        out.push_str("<optgroup …>");
        rest = rest[start..]
            .find("</select>")
            .map_or("", |end| &rest[start + end..]);
    }
    out.push_str(rest);
    out
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..start + 64].to_owned()
}

fn key_count(server: &Server, tenant: &str) -> usize {
    server.store.list_keys(&tenant.into()).unwrap().len()
}

fn overlay(server: &Server, tenant: &str) -> Option<(u64, String)> {
    server.store.overlay(&tenant.into()).unwrap()
}

/// The posted form of the profile's editable rows, with `edit` applied to them.
fn table(edit: impl FnOnce(&mut Vec<(String, String, String)>)) -> Vec<(String, String)> {
    let rules = provisio::check::check(&provisio::check::embedded_clarizen())
        .rules
        .unwrap();
    let mut rows: Vec<(String, String, String)> =
        provisio::admin::page::mappings::editable_rows(&rules)
            .into_iter()
            .map(|r| (r.target, r.source, r.transforms))
            .collect();
    edit(&mut rows);
    let mut fields = vec![("rows".to_owned(), rows.len().to_string())];
    for (i, (target, source, transforms)) in rows.into_iter().enumerate() {
        fields.push((format!("target.{i}"), target));
        fields.push((format!("source.{i}"), source));
        fields.push((format!("transforms.{i}"), transforms));
    }
    fields
}

fn with_action<'a>(fields: &'a [(String, String)], action: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut all: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.push(("action", action));
    all
}

fn with_csrf<'a>(csrf: Option<&'a str>, fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    csrf.map(|c| ("csrf", c))
        .into_iter()
        .chain(fields.iter().copied())
        .collect()
}

#[test]
fn sign_in_with_a_token_and_sign_out() {
    let server = Server::start();
    server.store.create_tenant("acme").unwrap();
    let anonymous = Browser::new(&server);
    anonymous.get("/").redirects_to("/signin");
    anonymous.get("/t/acme/mappings").redirects_to("/signin");
    anonymous
        .get("/signin")
        .expect(200)
        .contains("<label for=\"token\">Operator token</label>");
    // A form post without a session changes nothing and says to sign in.
    anonymous
        .post("/t/acme/keys", &[("user", "x")])
        .expect(401)
        .contains("Sign in again");
    assert_eq!(key_count(&server, "acme"), 0);

    let wrong = anonymous
        .post("/signin", &[("token", "pva_0000")])
        .expect(401);
    assert!(wrong.header("set-cookie").is_none());
    wrong.contains("not valid (unknown or revoked)");
    anonymous
        .post("/signin", &[("token", "  ")])
        .expect(400)
        .contains("Paste an operator token");

    let answer = anonymous
        .post("/signin", &[("token", &server.admin_token)])
        .redirects_to("/");
    let cookie = answer.header("set-cookie").unwrap();
    let (pair, attributes) = cookie.split_once(';').unwrap();
    let id = pair.strip_prefix("provisio_session=").unwrap();
    assert_eq!(id.len(), 64, "{cookie}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attributes.contains(attribute), "{cookie}");
    }

    let browser = Browser::signed_in(&server, &server.admin_token);
    browser
        .get("/")
        .expect(200)
        .contains("Signed in as <strong>test admin</strong> (all tenants)")
        .contains("<a href=\"/t/acme/mappings\"><strong>acme</strong></a>");
    browser.get("/signin").redirects_to("/");
    let out = browser.submit("/signout", &[]).redirects_to("/signin");
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    browser.get("/").redirects_to("/signin");
}

#[test]
fn a_revoked_operator_is_signed_out() {
    let server = Server::start();
    let (operator, token) = server
        .store
        .create_operator("temp", OperatorScope::All)
        .unwrap();
    let browser = Browser::signed_in(&server, &token);
    browser.get("/").expect(200);
    server.store.revoke_operator(&operator.id).unwrap();
    browser.get("/").redirects_to("/signin");
}

#[test]
fn forms_without_the_right_csrf_token_are_refused_and_change_nothing() {
    let (server, _scim) = Server::with_tenant("acme");
    let browser = Browser::signed_in(&server, &server.admin_token);
    let before = key_count(&server, "acme");
    let key_id = server.store.list_keys(&"acme".into()).unwrap()[0]
        .key_id
        .clone();
    let save = table(|rows| rows.retain(|r| r.0 != "MobilePhone"));
    let mut refused = Vec::new();
    for csrf in [
        None,
        Some("0".repeat(64)),
        Some(browser.csrf.to_uppercase()),
    ] {
        refused.push(browser.post(
            "/t/acme/keys",
            &with_csrf(csrf.as_deref(), &[("user", "mallory")]),
        ));
        refused.push(browser.post(
            &format!("/t/acme/keys/{key_id}/revoke"),
            &with_csrf(csrf.as_deref(), &[]),
        ));
        let mut saving = csrf
            .iter()
            .map(|c| ("csrf", c.as_str()))
            .collect::<Vec<_>>();
        saving.extend(with_action(&save, "save"));
        refused.push(browser.post("/t/acme/mappings", &saving));
        refused.push(browser.post(
            "/t/acme/mappings/defaults",
            &with_csrf(csrf.as_deref(), &[]),
        ));
        refused.push(browser.post("/tenants", &with_csrf(csrf.as_deref(), &[("name", "evil")])));
        refused.push(browser.post("/signout", &with_csrf(csrf.as_deref(), &[])));
    }
    for answer in refused {
        answer
            .expect(403)
            .contains("CSRF token is missing or wrong")
            .contains("nothing was changed");
    }
    // The right token from another site is refused too.
    let mut fields = vec![("csrf", browser.csrf.as_str())];
    fields.push(("user", "mallory"));
    browser
        .post_with(
            "/t/acme/keys",
            &fields,
            &[("Origin", "http://evil.example")],
        )
        .expect(403);
    assert_eq!(key_count(&server, "acme"), before);
    assert!(!server.store.list_keys(&"acme".into()).unwrap()[0].revoked);
    assert_eq!(overlay(&server, "acme"), None);
    assert!(
        !server
            .store
            .list_tenants()
            .unwrap()
            .iter()
            .any(|t| t.name.as_str() == "evil")
    );
    // Still signed in: the sign-out was refused as well.
    browser.get("/").expect(200);
    // With the right token (and this host's Origin) the same form works.
    browser
        .post_with(
            "/t/acme/keys",
            &fields,
            &[("Origin", &format!("http://{}", server.admin_addr()))],
        )
        .redirects_to("/t/acme/keys");
    assert_eq!(key_count(&server, "acme"), before + 1);
}

#[test]
fn a_tenant_operator_sees_only_its_tenant() {
    let (server, _acme) = Server::with_tenant("acme");
    let globex = server.tenant("globex");
    let ann = globex.create_user("ann@globex.com");
    let (_, token) = server
        .store
        .create_operator("acme admin", OperatorScope::Tenant("acme".into()))
        .unwrap();
    let browser = Browser::signed_in(&server, &token);
    browser
        .get("/")
        .expect(200)
        .contains("(tenant acme)")
        .contains("/t/acme/mappings")
        .lacks("globex");
    browser.get("/t/acme/mappings").expect(200);
    for page in [
        "mappings".to_owned(),
        "history".to_owned(),
        "log".to_owned(),
        "users?q=ann".to_owned(),
        "keys".to_owned(),
        format!("entities/{ann}"),
    ] {
        browser
            .get(&format!("/t/globex/{page}"))
            .expect(403)
            .contains("may not reach tenant `globex`")
            .lacks("ann@globex.com");
    }
    let keys = key_count(&server, "globex");
    browser
        .submit("/t/globex/keys", &[("user", "mallory")])
        .expect(403);
    let save = table(|rows| rows.retain(|r| r.0 != "MobilePhone"));
    browser
        .submit("/t/globex/mappings", &with_action(&save, "save"))
        .expect(403);
    browser
        .submit("/t/globex/mappings/defaults", &[])
        .expect(403);
    browser
        .submit(
            &format!("/t/globex/entities/{ann}/explain"),
            &[("method", "DELETE"), ("path", &format!("/Users/{ann}"))],
        )
        .expect(403);
    browser
        .submit("/tenants", &[("name", "new")])
        .expect(403)
        .contains("creating a tenant needs an all-tenants operator");
    assert_eq!(key_count(&server, "globex"), keys);
    assert_eq!(overlay(&server, "globex"), None);
    assert_eq!(server.store.list_tenants().unwrap().len(), 2);
}

/// A tenant with a manager, a user reporting to them, the sync group, and a failed request.
fn populated(server: &Server) -> (String, String) {
    let scim = server.tenant("acme");
    let boss = scim.create_user("boss@acme.com");
    scim.create_group(SYNC_GROUP, &[&boss]);
    let mut body = okta_user("ann@acme.com");
    body["schemas"] = json!([USER_SCHEMA, ENTERPRISE]);
    body[ENTERPRISE] = json!({"manager": {"value": boss}});
    body["phoneNumbers"] = json!([{"type": "work", "value": "+1 555 0100"}]);
    let ann = scim.post("/Users", &body).expect(201).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    scim.refused_user("ann@acme.com", 409, Some("uniqueness"));
    (boss, ann)
}

#[test]
fn the_mappings_and_history_pages_render_with_names() {
    let server = Server::start();
    let (boss, ann) = populated(&server);
    let browser = Browser::signed_in(&server, &server.admin_token);

    browser.get("/t/acme").redirects_to("/t/acme/mappings");
    browser
        .get("/t/acme/mappings")
        .expect(200)
        .contains("<h2>Locked mappings</h2>")
        .contains("<td><strong>UserName</strong></td><td><code>userName</code></td><td>Locked by the profile at <code>default.rules:")
        .contains("<option value=\"OfficePhone\" selected>OfficePhone</option>")
        .contains("<option value=\"phoneNumbers[type eq &#34;work&#34;].value\" selected>")
        .contains("<span class=\"tag\">custom</span>")
        .contains("No version saved yet")
        .lacks("<option value=\"UserName\"");

    // History names the user and the manager, not their ids.
    let history = browser.get("/t/acme/history").expect(200);
    let history = history
        .contains(&format!(
            "<a href=\"/t/acme/entities/{ann}\">ann@acme.com</a>"
        ))
        .contains("<td>DirectManager</td>")
        .contains("<span class=\"after\">boss@acme.com</span>")
        .contains("<span class=\"before\">(empty)</span>")
        .contains("<td>okta-integration</td>")
        .contains("<code>default.rules:");
    assert!(
        !history.body.contains(&format!("User:{boss}")),
        "{}",
        history.body
    );
    browser
        .get("/t/acme/history?user=ANN%40acme.com&field=OfficePhone")
        .expect(200)
        .contains("<span class=\"after\">+1 555 0100</span>")
        .lacks("boss@acme.com</a>");
    browser
        .get("/t/acme/history?user=nobody%40acme.com")
        .expect(200)
        .contains("No change recorded for user “nobody@acme.com”.");
}

#[test]
fn the_log_search_entity_and_keys_pages_render() {
    let server = Server::start();
    let (boss, ann) = populated(&server);
    let browser = Browser::signed_in(&server, &server.admin_token);
    browser
        .get("/t/acme/log")
        .expect(200)
        .contains("<code>POST /scim/v2/Users</code>")
        .contains("&#34;password&#34;: &#34;********&#34;")
        .lacks("1mz050nq");
    browser
        .get("/t/acme/log?failed=1")
        .expect(200)
        .contains("<span class=\"status\">409</span>")
        .contains("<code>uniqueness</code>")
        .lacks("<span class=\"status\">201</span>");

    browser
        .get("/t/acme/users?q=ANN")
        .expect(200)
        .contains(&format!(
            "<a href=\"/t/acme/entities/{ann}\">ann@acme.com</a>"
        ))
        .lacks("boss@acme.com");
    browser
        .get("/t/acme/users?kind=groups")
        .expect(200)
        .contains(SYNC_GROUP);
    browser
        .get("/t/acme/users?q=zzz")
        .expect(200)
        .contains("No user whose name contains “zzz”.");

    browser
        .get(&format!("/t/acme/entities/{ann}"))
        .expect(200)
        .contains("<h1>ann@acme.com <small>User in acme</small></h1>")
        .contains("<tr><td>DirectManager</td><td>boss@acme.com</td><td><code>default.rules:")
        .contains("<h2>Groups</h2>")
        .contains("Explain a SCIM request");
    browser
        .get(&format!("/t/acme/entities/{boss}"))
        .expect(200)
        .contains(SYNC_GROUP);
    browser
        .get("/t/acme/entities/nope")
        .expect(404)
        .contains("has no entity nope");

    let key_id = server.store.list_keys(&"acme".into()).unwrap()[0]
        .key_id
        .clone();
    browser
        .get("/t/acme/keys")
        .expect(200)
        .contains(&format!("<code>{key_id}</code>"))
        .contains("<td>okta-integration</td>");
    browser
        .get("/")
        .expect(200)
        .contains("<a href=\"/t/acme/mappings\"><strong>acme</strong></a>");
    browser.get("/t/nosuch/mappings").expect(404);
    browser
        .get("/nothing/here")
        .expect(404)
        .contains("no such page");
    let css = browser.get("/assets/style.css").expect(200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    browser.get("/assets/nope.css").expect(404);
    // The API is still answered beside the page.
    let api = browser.get("/admin/v1/tenants").expect(401);
    assert_eq!(api.header("content-type"), Some("application/json"));
}

#[test]
fn explain_shows_the_plan_and_writes_nothing() {
    let server = Server::start();
    let (_, ann) = populated(&server);
    let browser = Browser::signed_in(&server, &server.admin_token);
    let state = crate::http::support::tenant_state(&server.store, "acme");
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]
    })
    .to_string();
    browser
        .submit(
            &format!("/t/acme/entities/{ann}/explain"),
            &[
                ("method", "PATCH"),
                ("path", &format!("/Users/{ann}")),
                ("body", &body),
            ],
        )
        .expect(200)
        .contains("<dt>Situation</dt><dd>deactivated</dd>")
        .contains("<dt>Action</dt><dd>suspend (by default.rules:");
    browser
        .submit(
            &format!("/t/acme/entities/{ann}/explain"),
            &[("method", "PATCH"), ("path", &format!("/Users/{ann}")), ("body", "{")],
        )
        .expect(400)
        .contains("The request body is not JSON")
        .contains("<textarea id=\"explain-body\" name=\"body\" rows=\"8\" spellcheck=\"false\" aria-invalid=\"true\"");
    browser
        .submit(
            &format!("/t/acme/entities/{ann}/explain"),
            &[("method", "GET"), ("path", "/Users")],
        )
        .expect(400)
        .contains("is not a SCIM write");
    assert_eq!(
        crate::http::support::tenant_state(&server.store, "acme"),
        state
    );
}

#[test]
fn a_hostile_user_name_is_escaped_everywhere() {
    let (server, scim) = Server::with_tenant("acme");
    let hostile = "<script>alert(1)</script>\"'@x.com";
    let id = scim.create_user(hostile);
    let browser = Browser::signed_in(&server, &server.admin_token);
    // In the log the body is JSON, so its quote is backslash-escaped there first.
    let escaped = "&#60;script&#62;alert(1)&#60;/script&#62;";
    for page in [
        "/t/acme/history".to_owned(),
        "/t/acme/log".to_owned(),
        "/t/acme/users".to_owned(),
        format!("/t/acme/entities/{id}"),
        format!("/t/acme/history?user={}", encode(hostile)),
    ] {
        browser
            .get(&page)
            .expect(200)
            .contains(escaped)
            .lacks("<script>alert");
    }
    browser
        .get(&format!("/t/acme/entities/{id}"))
        .expect(200)
        .contains("<h1>&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#39;@x.com <small>");
    // The filter's value is echoed escaped into its input.
    browser
        .get(&format!("/t/acme/users?q={}", encode("\"><script>x")))
        .expect(200)
        .contains("value=\"&#34;&#62;&#60;script&#62;x\"")
        .lacks("<script>x");
}

#[test]
fn bad_form_input_gets_a_clear_error_and_changes_nothing() {
    let (server, _scim) = Server::with_tenant("acme");
    let browser = Browser::signed_in(&server, &server.admin_token);
    let keys = key_count(&server, "acme");

    browser
        .submit("/t/acme/keys", &[("user", "  ")])
        .expect(400)
        .contains("the integration user must be a non-empty name")
        .contains("No key was created");
    assert_eq!(key_count(&server, "acme"), keys);

    for (fields, says) in [
        (
            vec![
                ("rows", "1"),
                ("target.0", "Nope"),
                ("source.0", "title"),
                ("action", "save"),
            ],
            "row 1: User has no field `Nope`",
        ),
        (
            vec![
                ("rows", "1"),
                ("target.0", "Country"),
                ("source.0", "title; }"),
                ("action", "save"),
            ],
            "is not a SCIM attribute the table offers",
        ),
        (
            vec![
                ("rows", "1"),
                ("target.0", "Country"),
                ("source.0", "title"),
                ("transforms.0", "trim; } policy"),
                ("action", "save"),
            ],
            "transforms are names joined by",
        ),
        (vec![("rows", "lots"), ("action", "save")], "0 to 200 rows"),
        (
            vec![("rows", "0"), ("action", "delete.7")],
            "no such row to delete",
        ),
        (
            vec![
                ("rows", "0"),
                ("action", "add"),
                ("new_target", ""),
                ("new_source", "title"),
            ],
            "choose a Clarizen field",
        ),
        (
            vec![
                ("rows", "0"),
                ("action", "add"),
                ("new_target", "HireDate"),
                ("new_source", "title"),
            ],
            "custom mappings may only target String fields",
        ),
        (
            vec![("rows", "0"), ("action", "launch")],
            "`launch` is not something this form does",
        ),
    ] {
        browser
            .submit("/t/acme/mappings", &fields)
            .expect(400)
            .contains(&says.replace('"', "&#34;"))
            .contains("Nothing was changed");
    }
    assert_eq!(overlay(&server, "acme"), None);
}

#[test]
fn a_table_the_checker_refuses_shows_the_diagnostic_on_its_row() {
    let (server, _scim) = Server::with_tenant("acme");
    let browser = Browser::signed_in(&server, &server.admin_token);
    // A table the checker refuses: the diagnostic is on its row, nothing is saved.
    let duplicate = table(|rows| {
        let mobile = rows.iter_mut().find(|r| r.0 == "MobilePhone").unwrap();
        mobile.0 = "OfficePhone".into();
    });
    let refused = browser
        .submit("/t/acme/mappings", &with_action(&duplicate, "save"))
        .expect(422)
        .contains("The table does not check; nothing was saved")
        .contains("<code class=\"code\">rules::duplicate_target</code>")
        .contains("Help: keep one mapping");
    let row = duplicate
        .iter()
        .filter(|(k, _)| k.starts_with("target."))
        .position(|(_, v)| v == "OfficePhone")
        .map(|first| {
            duplicate
                .iter()
                .filter(|(k, _)| k.starts_with("target."))
                .enumerate()
                .skip(first + 1)
                .find(|(_, (_, v))| v == "OfficePhone")
                .unwrap()
                .0
        })
        .unwrap();
    assert!(
        refused
            .body
            .contains(&format!("<tr class=\"diag-row\" id=\"diag-{row}\">")),
        "the diagnostic sits under row {row}:\n{}",
        refused.body
    );
    // Preview refuses it the same way.
    browser
        .submit("/t/acme/mappings", &with_action(&duplicate, "preview"))
        .expect(422)
        .contains("rules::duplicate_target");
    browser
        .submit("/t/acme/mappings/versions/9/restore", &[])
        .expect(404)
        .contains("has no overlay v9");
    browser
        .submit("/tenants", &[("name", "not a name!")])
        .redirects_to("/");
    browser
        .get("/")
        .expect(200)
        .contains("invalid tenant name `not a name!`");
    browser
        .get("/t/acme/history?before=soon")
        .expect(400)
        .contains("The page link is broken");
    assert_eq!(overlay(&server, "acme"), None);
    assert_eq!(server.store.list_tenants().unwrap().len(), 1);
}

#[test]
fn the_table_is_edited_as_a_draft_and_previewed() {
    let (server, scim) = Server::with_tenant("acme");
    let boss = scim.create_user("boss@acme.com");
    scim.create_group(SYNC_GROUP, &[&boss]);
    let mut body = okta_user("cc@acme.com");
    body["schemas"] = json!([USER_SCHEMA, ENTERPRISE]);
    body[ENTERPRISE] = json!({"costCenter": "fin-042"});
    scim.post("/Users", &body).expect(201);
    let browser = Browser::signed_in(&server, &server.admin_token);

    // Delete a row and add a custom one: a draft, nothing saved.
    let rows = table(|_| {});
    let mobile = rows
        .iter()
        .find(|(k, v)| k.starts_with("target.") && v == "MobilePhone")
        .map(|(k, _)| k.trim_start_matches("target.").to_owned())
        .unwrap();
    browser
        .submit(
            "/t/acme/mappings",
            &with_action(&rows, &format!("delete.{mobile}")),
        )
        .expect(200)
        .contains("The table has changes that are not saved")
        .lacks("<option value=\"MobilePhone\" selected>");
    let mut fields = with_action(&rows, "add");
    fields.extend([
        ("new_target", "CostCenter"),
        ("new_source", "enterprise.costCenter"),
        ("new_transforms", "upper"),
    ]);
    browser
        .submit("/t/acme/mappings", &fields)
        .expect(200)
        .contains("<option value=\"CostCenter\" selected>CostCenter</option>")
        .contains("value=\"upper\"")
        .contains("<em>not saved yet</em>");
    assert_eq!(overlay(&server, "acme"), None);

    // Preview: how many users change, which fields, examples.
    let edited = edited_table();
    browser
        .submit("/t/acme/mappings", &with_action(&edited, "preview"))
        .expect(200)
        .contains("<strong>1</strong> of 2 stored users would change.")
        .contains("<tr><td>CostCenter</td><td>1</td></tr>")
        .contains("<strong>cc@acme.com</strong>")
        .contains("<code>CostCenter: (empty) -&#62; FIN-042</code>");
    assert_eq!(overlay(&server, "acme"), None);
}

fn edited_table() -> Vec<(String, String)> {
    table(|rows| {
        rows.retain(|r| r.0 != "MobilePhone");
        rows.push((
            "CostCenter".into(),
            "enterprise.costCenter".into(),
            "upper".into(),
        ));
    })
}

#[test]
fn a_saved_table_is_used_at_once_and_versions_are_restored() {
    let (server, scim) = Server::with_tenant("acme");
    let mut body = okta_user("cc@acme.com");
    body["schemas"] = json!([USER_SCHEMA, ENTERPRISE]);
    body[ENTERPRISE] = json!({"costCenter": "fin-042"});
    let browser = Browser::signed_in(&server, &server.admin_token);
    let edited = edited_table();
    // Save: the overlay the table stands for, in use at once.
    browser
        .submit("/t/acme/mappings", &with_action(&edited, "save"))
        .redirects_to("/t/acme/mappings");
    let (version, text) = overlay(&server, "acme").unwrap();
    assert_eq!(version, 1);
    assert_eq!(
        text,
        "# Written by the admin page from the mappings table.\nmapping User {\n  custom CostCenter <- enterprise.costCenter | upper;\n  remove MobilePhone;\n}\n"
    );
    browser
        .get("/t/acme/mappings")
        .expect(200)
        .contains("Saved as version 1. The tenant&#39;s next operation uses it.")
        .contains("<td>v1 <span class=\"tag ok\">in use</span></td>")
        .contains("<td>test admin (op_")
        .contains("<code>overlay-v1.rules:3</code>");
    browser
        .get("/t/acme/mappings")
        .expect(200)
        .lacks("Saved as version 1");
    let created = scim.post("/Users", &{
        let mut b = body.clone();
        b["userName"] = json!("dd@acme.com");
        b["externalId"] = json!("ext-dd");
        b["emails"] = json!([{"primary": true, "value": "dd@acme.com"}]);
        b
    });
    let id = created.expect(201).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    browser
        .get(&format!("/t/acme/entities/{id}"))
        .expect(200)
        .contains("<tr><td>CostCenter</td><td>FIN-042</td><td><code>overlay-v1.rules:3</code>");

    // Saving the same table again saves nothing.
    browser
        .submit("/t/acme/mappings", &with_action(&edited, "save"))
        .redirects_to("/t/acme/mappings");
    assert_eq!(overlay(&server, "acme").unwrap().0, 1);

    // Restore defaults, then version 1 again: each a new version.
    browser
        .submit("/t/acme/mappings/defaults", &[])
        .redirects_to("/t/acme/mappings");
    assert_eq!(overlay(&server, "acme"), Some((2, String::new())));
    browser
        .get("/t/acme/mappings")
        .expect(200)
        .contains("Restored the profile&#39;s defaults (saved as version 2)")
        .contains("<option value=\"MobilePhone\" selected>MobilePhone</option>");
    browser
        .submit("/t/acme/mappings/versions/1/restore", &[])
        .redirects_to("/t/acme/mappings");
    assert_eq!(overlay(&server, "acme"), Some((3, text)));
}

#[test]
fn keys_are_created_shown_once_and_revoked() {
    let server = Server::start();
    server.store.create_tenant("acme").unwrap();
    let browser = Browser::signed_in(&server, &server.admin_token);
    browser
        .get("/t/acme/keys")
        .expect(200)
        .contains("No key yet");
    browser
        .submit("/t/acme/keys", &[("user", "okta-prod")])
        .redirects_to("/t/acme/keys");
    let shown = browser.get("/t/acme/keys").expect(200);
    let start = shown.body.find("value=\"prv_").expect("the key is shown") + 7;
    let key: String = shown.body[start..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let shown = shown
        .contains("Copy it now: it is not shown again.")
        .contains("data-copy=\"new-key\" hidden>Copy</button>");
    assert!(shown.body.contains("<td>okta-prod</td>"));
    browser.get("/t/acme/keys").expect(200).lacks(&key);
    let scim = server.client(Some(key.clone()));
    scim.get("/Users").expect(200);

    let key_id = server.store.list_keys(&"acme".into()).unwrap()[0]
        .key_id
        .clone();
    browser
        .submit(&format!("/t/acme/keys/{key_id}/revoke"), &[])
        .redirects_to("/t/acme/keys");
    browser
        .get("/t/acme/keys")
        .expect(200)
        .contains(&format!("Revoked {key_id}"))
        .contains("<span class=\"tag\">revoked</span>");
    scim.get("/Users").expect(401);
    browser
        .submit("/t/acme/keys/key_nope/revoke", &[])
        .expect(404)
        .contains("has no key");
}

#[test]
fn tenants_and_keys_get_the_edition_and_role_chosen_on_the_page() {
    let server = Server::start();
    let browser = Browser::signed_in(&server, &server.admin_token);
    browser
        .get("/")
        .expect(200)
        .contains("<option value=\"Enterprise\" selected>Enterprise</option>")
        .contains("<option value=\"Professional\">Professional</option>");
    browser
        .submit("/tenants", &[("name", "pro"), ("edition", "professional")])
        .redirects_to("/t/pro/mappings");
    let record = server.store.tenant(&"pro".into()).unwrap();
    assert_eq!(record.edition.as_deref(), Some("Professional"));

    browser
        .submit("/tenants", &[("name", "odd"), ("edition", "Platinum")])
        .redirects_to("/");
    browser
        .get("/")
        .expect(200)
        .contains("`Platinum` is not an edition of this application")
        .contains("Nothing was created.");
    assert!(server.store.tenant(&"odd".into()).is_err());

    browser
        .get("/t/pro/keys")
        .expect(200)
        .contains("<option value=\"Full User\">Full User</option>")
        .contains("new users: Lite Admin");
    browser
        .submit("/t/pro/keys", &[("user", "okta"), ("role", "full user")])
        .redirects_to("/t/pro/keys");
    let users = server.store.list_users(&"pro".into()).unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].role.as_deref(), Some("Full User"));

    browser
        .submit("/t/pro/keys", &[("user", "okta2"), ("role", "Janitor")])
        .expect(400)
        .contains("`Janitor` is not a role")
        .contains("No key was created.");
    assert_eq!(key_count(&server, "pro"), 1);
}
