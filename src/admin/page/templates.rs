//! The page's templates (`templates/*.html`, askama, HTML-escaped by default) and the
//! plain data each one shows. Views build these; the templates only lay them out.

use askama::Template;

use super::mappings::Shown;
use super::session::{Flash, ShownKey};

/// What every page's frame shows: the operator, the tenant and section, one-time
/// messages, and the CSRF token for the sign-out form.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// The page's title.
    pub title: String,
    /// Whether an operator is signed in (the navigation is shown).
    pub signed_in: bool,
    /// The operator's name.
    pub operator: String,
    /// `all tenants` or `tenant acme`.
    pub scope: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The tenants the operator reaches.
    pub tenants: Vec<String>,
    /// The tenant the page is about.
    pub tenant: Option<String>,
    /// The section of the navigation the page is in.
    pub section: &'static str,
    /// One-time messages.
    pub flash: Vec<Flash>,
}

impl Layout {
    /// The frame of a page shown before signing in.
    pub fn signed_out(title: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            ..Layout::default()
        }
    }

    /// The tenant the page is about (empty on a page of no tenant).
    pub fn tenant_name(&self) -> &str {
        self.tenant.as_deref().unwrap_or_default()
    }

    /// `(path, label, current)` for each section of the tenant navigation.
    pub fn sections(&self) -> Vec<(String, &'static str, bool)> {
        let Some(tenant) = &self.tenant else {
            return Vec::new();
        };
        [
            ("mappings", "Mappings"),
            ("history", "History"),
            ("log", "Provisioning log"),
            ("users", "Users and groups"),
            ("keys", "Keys"),
        ]
        .into_iter()
        .map(|(path, label)| (format!("/t/{tenant}/{path}"), label, self.section == path))
        .collect()
    }
}

/// An `<option>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    /// Its value (and text).
    pub value: String,
    /// Whether it is selected.
    pub selected: bool,
}

/// An `<optgroup>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptGroup {
    /// Its label.
    pub label: String,
    /// Its options.
    pub options: Vec<Opt>,
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignIn {
    /// The frame.
    pub l: Layout,
    /// Why the last try failed.
    pub error: Option<String>,
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The frame.
    pub l: Layout,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong and what to do.
    pub message: String,
}

/// The tenants list.
#[derive(Template)]
#[template(path = "tenants.html")]
pub struct Tenants {
    /// The frame.
    pub l: Layout,
    /// `(name, created)`.
    pub list: Vec<(String, String)>,
    /// Whether the operator may create tenants.
    pub can_create: bool,
    /// The editions a new tenant may get (empty: the profile declares none).
    pub editions: Vec<String>,
    /// The edition chosen when none is.
    pub default_edition: String,
}

/// A locked mapping, read-only.
#[derive(Debug, Clone)]
pub struct LockedView {
    /// The Clarizen field.
    pub target: String,
    /// `source | transforms`.
    pub source: String,
    /// Where the profile locks it.
    pub origin: String,
}

/// An editable row of the mappings table.
#[derive(Debug, Clone)]
pub struct RowView {
    /// 0-based index (form field names).
    pub index: usize,
    /// 1-based number (labels).
    pub number: usize,
    /// The Clarizen field.
    pub target: String,
    /// The field choices.
    pub targets: Vec<Opt>,
    /// The SCIM path choices, grouped.
    pub sources: Vec<OptGroup>,
    /// The transforms text.
    pub transforms: String,
    /// A mapping the profile does not have.
    pub custom: bool,
    /// The rule it comes from, or that it is not saved.
    pub origin: String,
    /// Not saved yet.
    pub changed: bool,
    /// The checker's diagnostics about this row.
    pub diagnostics: Vec<Shown>,
}

/// A saved overlay version.
#[derive(Debug, Clone)]
pub struct VersionView {
    /// The version.
    pub version: u64,
    /// Who saved it.
    pub author: String,
    /// When.
    pub time: String,
    /// Whether it is the one in use.
    pub current: bool,
}

/// A preview of a draft.
#[derive(Debug, Clone)]
pub struct PreviewView {
    /// Stored users looked at.
    pub users: usize,
    /// Users whose fields would change.
    pub changed: usize,
    /// `(field, users)`.
    pub fields: Vec<(String, usize)>,
    /// `(userName, changes)`.
    pub examples: Vec<(String, Vec<String>)>,
    /// `(userName, why)`.
    pub failures: Vec<(String, String)>,
}

/// The mappings page.
#[derive(Template)]
#[template(path = "mappings.html")]
pub struct Mappings {
    /// The frame.
    pub l: Layout,
    /// The locked mappings.
    pub locked: Vec<LockedView>,
    /// The editable rows.
    pub rows: Vec<RowView>,
    /// Fields a new custom mapping may target.
    pub new_targets: Vec<Opt>,
    /// SCIM paths a new custom mapping may read.
    pub new_sources: Vec<OptGroup>,
    /// Diagnostics about no row.
    pub general: Vec<Shown>,
    /// Whether the checker refused the draft.
    pub refused: bool,
    /// The preview, when asked for.
    pub preview: Option<PreviewView>,
    /// Whether the table differs from what is saved.
    pub unsaved: bool,
    /// Saved versions, newest first.
    pub versions: Vec<VersionView>,
    /// The overlay text the table stands for.
    pub draft_text: String,
}

/// One page of a listing (history, log), newest first, with the links of the pager.
#[derive(Debug, Clone)]
pub struct Listing<R> {
    /// The rows.
    pub items: Vec<R>,
    /// The next (older) page.
    pub older: Option<String>,
    /// The first page, when this is not it.
    pub newest: Option<String>,
}

/// One change-history entry.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    /// When.
    pub time: String,
    /// The entity's name.
    pub name: String,
    /// Its page.
    pub href: String,
    /// The field.
    pub field: String,
    /// Before (a reference by name).
    pub before: String,
    /// After (a reference by name).
    pub after: String,
    /// The rule `file:line` or hook.
    pub rule: String,
    /// The integration user.
    pub actor: String,
}

/// The change history.
#[derive(Template)]
#[template(path = "history.html")]
pub struct History {
    /// The frame.
    pub l: Layout,
    /// The userName filter.
    pub user: String,
    /// The field filter.
    pub field: String,
    /// Field names, for the filter's suggestions.
    pub fields: Vec<String>,
    /// The entries.
    pub page: Listing<HistoryRow>,
}

/// One provisioning-log record.
#[derive(Debug, Clone)]
pub struct LogRow {
    /// When.
    pub time: String,
    /// `PATCH /scim/v2/Users/…`.
    pub request: String,
    /// HTTP status.
    pub status: u16,
    /// `ok`, `failed`, `rejected`.
    pub outcome: String,
    /// SCIM error type.
    pub scim_type: String,
    /// Error detail.
    pub detail: String,
    /// The integration user.
    pub actor: String,
    /// The masked request body, pretty.
    pub body: Option<String>,
}

/// The provisioning log.
#[derive(Template)]
#[template(path = "log.html")]
pub struct Log {
    /// The frame.
    pub l: Layout,
    /// Failed and rejected requests only.
    pub failed: bool,
    /// The userName filter.
    pub user: String,
    /// The records.
    pub page: Listing<LogRow>,
}

/// A search hit.
#[derive(Debug, Clone)]
pub struct SearchRow {
    /// The name.
    pub name: String,
    /// Its page.
    pub href: String,
    /// Provisioned over SCIM (else pre-existing).
    pub managed: bool,
}

/// Users and groups.
#[derive(Template)]
#[template(path = "search.html")]
pub struct Search {
    /// The frame.
    pub l: Layout,
    /// The search text.
    pub q: String,
    /// Groups (else users).
    pub groups: bool,
    /// The hits.
    pub results: Vec<SearchRow>,
}

/// A field of an entity with where it came from.
#[derive(Debug, Clone)]
pub struct FieldRow {
    /// The field.
    pub field: String,
    /// The value (a reference by name).
    pub value: String,
    /// The rule or hook that set it last.
    pub rule: String,
    /// When.
    pub time: String,
    /// The integration user.
    pub actor: String,
}

/// What an explained request would do.
#[derive(Debug, Clone)]
pub struct PlanView {
    /// The situation.
    pub situation: String,
    /// The action and the rule that chose it.
    pub action: String,
    /// `(field, before, after, rule)`.
    pub writes: Vec<(String, String, String, String)>,
    /// `(field, reason)`.
    pub skipped: Vec<(String, String)>,
    /// Why it would be refused.
    pub rejection: Option<String>,
    /// The whole Plan as JSON.
    pub json: String,
}

/// One user's or group's page.
#[derive(Template)]
#[template(path = "entity.html")]
pub struct EntityPage {
    /// The frame.
    pub l: Layout,
    /// The entity id.
    pub id: String,
    /// Its path segment (percent-encoded).
    pub id_path: String,
    /// Its name.
    pub name: String,
    /// Its entity type.
    pub entity_type: String,
    /// Its lifecycle.
    pub lifecycle: String,
    /// Provisioned over SCIM.
    pub managed: bool,
    /// Its fields.
    pub fields: Vec<FieldRow>,
    /// `Groups` or `Members`.
    pub related_label: String,
    /// `(name, href)`.
    pub related: Vec<(String, String)>,
    /// `(field, awaited key)`.
    pub pending: Vec<(String, String)>,
    /// Its SCIM resource, pretty.
    pub resource: Option<String>,
    /// The explain form: the methods, the chosen one selected.
    pub methods: Vec<Opt>,
    /// The explain form: path.
    pub path: String,
    /// The explain form: body.
    pub body: String,
    /// Why explain failed.
    pub explain_error: Option<String>,
    /// What explain found.
    pub plan: Option<PlanView>,
}

/// An API key, as listed.
#[derive(Debug, Clone)]
pub struct KeyRow {
    /// Its id.
    pub key_id: String,
    /// The integration user.
    pub user: String,
    /// Created.
    pub created: String,
    /// Revoked.
    pub revoked: bool,
}

/// Keys and integration users.
#[derive(Template)]
#[template(path = "keys.html")]
pub struct Keys {
    /// The frame.
    pub l: Layout,
    /// The keys.
    pub list: Vec<KeyRow>,
    /// A key just created, shown this once.
    pub shown: Option<ShownKey>,
    /// The create form's value, kept after an error.
    pub user: String,
    /// Why the create failed.
    pub error: Option<String>,
    /// The roles a key's integration user may get (empty: the profile declares none).
    pub roles: Vec<String>,
    /// The role a new integration user gets when none is chosen.
    pub default_role: String,
}
