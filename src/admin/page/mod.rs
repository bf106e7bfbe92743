//! The admin page: HTML rendered on the server from askama templates (auto-escaped; a
//! userName is hostile input) over the same [`Admin`] calls as the JSON API, with the
//! stylesheet and a little optional script embedded in the binary. Every form is a real
//! `<form>` that works with JavaScript off.
//!
//! Signing in with an operator token starts a server-side session ([`session`]); every
//! `POST` must carry the session's CSRF token (and, when the browser sends one, an `Origin`
//! of this host), or it is refused with 403 and changes nothing.

mod assets;
pub mod form;
mod mapping_view;
pub mod mappings;
pub mod session;
mod templates;
mod views;

use std::sync::Arc;

use askama::Template;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};

use self::form::Form;
use self::session::{Flash, Session, Sessions, ShownKey};
use self::templates::{ErrorPage, Layout, SignIn};
use super::service::{Admin, AdminError};
use crate::domain::{TenantId, Timestamp};
use crate::store::{OperatorRecord, OperatorScope};

/// The largest form body the page accepts.
pub const MAX_FORM: usize = 1024 * 1024;

/// The page's state: its sessions. One per admin listener.
#[derive(Debug, Default)]
pub struct Page {
    sessions: Sessions,
}

impl Page {
    /// A page with no sessions.
    #[must_use]
    pub fn new() -> Page {
        Page::default()
    }
}

/// One request as the page's views see it.
#[derive(Debug)]
struct PageRequest {
    method: String,
    segments: Vec<String>,
    query: Form,
    form: Form,
    session: Option<String>,
    same_origin: bool,
}

/// One answer: a status, a body and the headers the page sets.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Bytes,
    location: Option<String>,
    cookie: Option<String>,
}

impl Reply {
    fn html(status: u16, body: String) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8",
            body: Bytes::from(body),
            location: None,
            cookie: None,
        }
    }

    /// A `303 See Other` to `location` (after a form, so a reload does not post it again).
    fn redirect(location: impl Into<String>) -> Reply {
        Reply {
            status: 303,
            content_type: "text/plain; charset=utf-8",
            body: Bytes::new(),
            location: Some(location.into()),
            cookie: None,
        }
    }

    fn with_cookie(mut self, cookie: String) -> Reply {
        self.cookie = Some(cookie);
        self
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(self.body));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        // Not `no-referrer`: under it browsers send `Origin: null` with same-site forms.
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        if let Some(cookie) = self.cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// Why a view could not answer: a status and what to tell the person.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PageError {
    status: u16,
    message: String,
}

impl PageError {
    fn new(status: u16, message: impl Into<String>) -> PageError {
        PageError {
            status,
            message: message.into(),
        }
    }

    fn not_found() -> PageError {
        PageError::new(
            404,
            "There is no such page. Use the navigation above, or start again from the tenants list.",
        )
    }
}

impl From<AdminError> for PageError {
    fn from(err: AdminError) -> PageError {
        match err {
            AdminError::Forbidden(detail) => PageError::new(
                403,
                format!("{detail}. Sign in with an operator token for that tenant."),
            ),
            AdminError::NotFound(detail) => PageError::new(404, detail),
            AdminError::Invalid(detail) => PageError::new(400, detail),
            AdminError::Rules(_) => PageError::new(422, err.to_string()),
            AdminError::Store(store) => {
                tracing::error!(%store, "admin page: storage failed");
                PageError::new(
                    500,
                    "The database could not be read or written; nothing was changed. Try again.",
                )
            }
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(err: askama::Error) -> PageError {
        tracing::error!(%err, "admin page: a template failed");
        PageError::new(500, "The page could not be rendered; nothing was changed.")
    }
}

/// Serves one request for the page (any path outside the API).
pub async fn handle(
    admin: Arc<Admin>,
    page: Arc<Page>,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let Ok(collected) = Limited::new(body, MAX_FORM).collect().await else {
        return plain_error(
            413,
            &format!("The form is larger than the {MAX_FORM} bytes allowed; nothing was changed."),
        )
        .into_response();
    };
    let body = collected.to_bytes();
    let segments: Vec<String> = parts
        .uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let request = PageRequest {
        method: parts.method.as_str().to_owned(),
        segments,
        query: Form::parse(parts.uri.query().unwrap_or("")),
        form: Form::parse(&String::from_utf8_lossy(&body)),
        session: session::cookie_value(
            parts
                .headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        ),
        same_origin: same_origin(&parts.headers),
    };
    let joined = tokio::task::spawn_blocking(move || route(&admin, &page, &request)).await;
    joined
        .unwrap_or_else(|err| {
            tracing::error!(%err, "admin page handler panicked");
            plain_error(500, "Internal error; nothing was changed.")
        })
        .into_response()
}

/// A browser's `Origin`, when it sends one, must be this host: a form posted from another
/// site is refused even before its CSRF token is looked at.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (origin.to_str().ok(), host) {
        (Some(origin), Some(host)) => {
            origin.strip_prefix("http://") == Some(host)
                || origin.strip_prefix("https://") == Some(host)
        }
        _ => false,
    }
}

fn plain_error(status: u16, message: &str) -> Reply {
    let page = ErrorPage {
        l: Layout::signed_out("Error"),
        status,
        message: message.to_owned(),
    };
    Reply::html(status, page.render().unwrap_or_else(|_| message.to_owned()))
}

/// A signed-in request: the operator, its session and the request.
struct Ctx<'a> {
    admin: &'a Admin,
    page: &'a Page,
    operator: OperatorRecord,
    session_id: String,
    session: Session,
    query: &'a Form,
    form: &'a Form,
}

impl Ctx<'_> {
    /// The layout of a page of `tenant` (or of no tenant), taking the session's one-time
    /// messages.
    fn layout(&self, title: &str, tenant: Option<&TenantId>, section: &'static str) -> Layout {
        let (flash, _) = self.page.sessions.take_messages(&self.session_id);
        self.layout_with(title, tenant, section, flash)
    }

    fn layout_with(
        &self,
        title: &str,
        tenant: Option<&TenantId>,
        section: &'static str,
        flash: Vec<Flash>,
    ) -> Layout {
        let tenants = self
            .admin
            .tenants(&self.operator)
            .map(|list| list.into_iter().map(|t| t.name.to_string()).collect())
            .unwrap_or_default();
        Layout {
            title: title.to_owned(),
            signed_in: true,
            operator: self.operator.name.clone(),
            scope: match &self.operator.scope {
                OperatorScope::All => "all tenants".to_owned(),
                OperatorScope::Tenant(tenant) => format!("tenant {tenant}"),
            },
            csrf: self.session.csrf.clone(),
            tenants,
            tenant: tenant.map(ToString::to_string),
            section,
            flash,
        }
    }

    /// The layout and the key created on the previous request, if any (shown once).
    fn layout_and_key(
        &self,
        title: &str,
        tenant: &TenantId,
        section: &'static str,
    ) -> (Layout, Option<ShownKey>) {
        let (flash, key) = self.page.sessions.take_messages(&self.session_id);
        (self.layout_with(title, Some(tenant), section, flash), key)
    }

    fn flash(&self, ok: bool, text: impl Into<String>) {
        self.page.sessions.flash(
            &self.session_id,
            Flash {
                ok,
                text: text.into(),
            },
        );
    }
}

fn route(admin: &Admin, page: &Page, request: &PageRequest) -> Reply {
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    let method = request.method.as_str();
    match (method, segments.as_slice()) {
        ("GET" | "HEAD", ["assets", name]) => return assets::serve(name),
        ("GET" | "HEAD", ["signin"]) => return sign_in_page(admin, page, request),
        ("POST", ["signin"]) => return sign_in(admin, page, request),
        _ => {}
    }
    let Some((operator, session_id, session)) = signed_in(admin, page, request) else {
        return if method == "GET" || method == "HEAD" {
            Reply::redirect("/signin")
        } else {
            plain_error(
                401,
                "You are not signed in (or your session ended); nothing was changed. Sign in again at /signin.",
            )
        };
    };
    if method == "POST" {
        let token = request.form.get("csrf").unwrap_or_default();
        if !request.same_origin || !session.csrf_matches(token) {
            return plain_error(
                403,
                "This form did not come from this page (its CSRF token is missing or wrong), so it was refused and nothing was changed. Reload the page and try again.",
            );
        }
    }
    let ctx = Ctx {
        admin,
        page,
        operator,
        session_id,
        session,
        query: &request.query,
        form: &request.form,
    };
    let answer = match (method, segments.as_slice()) {
        ("POST", ["signout"]) => {
            page.sessions.remove(&ctx.session_id);
            Ok(Reply::redirect("/signin").with_cookie(session::clear_cookie()))
        }
        ("GET" | "HEAD", []) => views::tenants(&ctx),
        ("POST", ["tenants"]) => views::create_tenant(&ctx),
        ("GET" | "HEAD", ["go"]) => Ok(views::go(&ctx)),
        (_, ["t", tenant, rest @ ..]) if TenantId::is_valid(tenant) => {
            tenant_route(&ctx, method, &TenantId::new(*tenant), rest)
        }
        _ => Err(PageError::not_found()),
    };
    answer.unwrap_or_else(|err| error_page(&ctx, &err))
}

fn tenant_route(
    ctx: &Ctx<'_>,
    method: &str,
    tenant: &TenantId,
    rest: &[&str],
) -> Result<Reply, PageError> {
    let get = method == "GET" || method == "HEAD";
    let post = method == "POST";
    match rest {
        [] if get => Ok(Reply::redirect(format!("/t/{tenant}/mappings"))),
        ["mappings"] if get => mapping_view::show(ctx, tenant),
        ["mappings"] if post => mapping_view::post(ctx, tenant),
        ["mappings", "defaults"] if post => mapping_view::restore_defaults(ctx, tenant),
        ["mappings", "versions", version, "restore"] if post => {
            mapping_view::restore_version(ctx, tenant, version)
        }
        ["history"] if get => views::history(ctx, tenant),
        ["log"] if get => views::log(ctx, tenant),
        ["users"] if get => views::search(ctx, tenant),
        ["entities", id] if get => views::entity(ctx, tenant, id, None),
        ["entities", id, "explain"] if post => views::explain(ctx, tenant, id),
        ["keys"] if get => views::keys(ctx, tenant, None),
        ["keys"] if post => views::create_key(ctx, tenant),
        ["keys", key_id, "revoke"] if post => views::revoke_key(ctx, tenant, key_id),
        _ => Err(PageError::not_found()),
    }
}

fn error_page(ctx: &Ctx<'_>, err: &PageError) -> Reply {
    let page = ErrorPage {
        l: ctx.layout("Error", None, ""),
        status: err.status,
        message: err.message.clone(),
    };
    match page.render() {
        Ok(body) => Reply::html(err.status, body),
        Err(_) => plain_error(err.status, &err.message),
    }
}

/// The operator of the request's session, while the session lives and the operator is
/// not revoked.
fn signed_in(
    admin: &Admin,
    page: &Page,
    request: &PageRequest,
) -> Option<(OperatorRecord, String, Session)> {
    let id = request.session.as_deref()?;
    let session = page.sessions.get(id)?;
    let operator = match admin.store.list_operators() {
        Ok(operators) => operators
            .into_iter()
            .find(|o| o.id == session.operator_id && !o.revoked),
        Err(err) => {
            tracing::error!(%err, "admin page: cannot read the operators");
            None
        }
    };
    if operator.is_none() {
        page.sessions.remove_operator(&session.operator_id);
    }
    Some((operator?, id.to_owned(), session))
}

fn sign_in_page(admin: &Admin, page: &Page, request: &PageRequest) -> Reply {
    if signed_in(admin, page, request).is_some() {
        return Reply::redirect("/");
    }
    render_sign_in(200, None)
}

fn render_sign_in(status: u16, error: Option<String>) -> Reply {
    let page = SignIn {
        l: Layout::signed_out("Sign in"),
        error,
    };
    match page.render() {
        Ok(body) => Reply::html(status, body),
        Err(err) => plain_error(500, &PageError::from(err).message),
    }
}

fn sign_in(admin: &Admin, page: &Page, request: &PageRequest) -> Reply {
    if !request.same_origin {
        return plain_error(
            403,
            "This sign-in form did not come from this page, so it was refused.",
        );
    }
    let Some(token) = request.form.text("token") else {
        return render_sign_in(
            400,
            Some("Paste an operator token (it starts with `pva_`).".to_owned()),
        );
    };
    match admin.store.authenticate_operator(token) {
        Ok(Some(operator)) => match page.sessions.create(&operator.id) {
            Ok(id) => Reply::redirect("/").with_cookie(session::set_cookie(&id)),
            Err(err) => {
                tracing::error!(%err, "admin page: cannot start a session");
                plain_error(500, "Could not start a session; try again.")
            }
        },
        Ok(None) => render_sign_in(
            401,
            Some(
                "That operator token is not valid (unknown or revoked). Use the token `provisio serve` printed on its first start, or ask an all-tenants operator for one."
                    .to_owned(),
            ),
        ),
        Err(err) => {
            tracing::error!(%err, "admin page: operator lookup failed");
            plain_error(500, "Could not check the token; try again.")
        }
    }
}

/// A time as people read it: `2026-12-01 09:30:12 UTC`.
fn when(time: &Timestamp) -> String {
    let text = time.to_string();
    let (date, rest) = text.split_once('T').unwrap_or((&text, ""));
    let clock: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ':')
        .collect();
    if clock.is_empty() {
        text
    } else {
        format!("{date} {clock} UTC")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_plainly() {
        let time = Timestamp::parse("2026-12-01T09:30:12.123456Z").unwrap();
        assert_eq!(when(&time), "2026-12-01 09:30:12 UTC");
        assert_eq!(when(&Timestamp::EPOCH), "1970-01-01 00:00:00 UTC");
    }

    #[test]
    fn origin_must_be_this_host_when_sent() {
        let mut headers = HeaderMap::new();
        assert!(same_origin(&headers), "no Origin: the CSRF token decides");
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8081"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8081"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&headers));
    }
}
