//! One view function per page (the mappings page is in `mapping_view`): each calls the
//! [`Admin`](crate::admin::Admin) operation the JSON API calls, then renders.

use std::collections::BTreeSet;

use askama::Template;
use serde_json::{Value, json};

use super::form::encode;
use super::templates::{
    EntityPage, FieldRow, History, HistoryRow, KeyRow, Keys, Listing, Log, LogRow, Opt, PlanView,
    Search, SearchRow, Tenants,
};
use super::{Ctx, PageError, Reply, when};
use crate::admin::AdminError;
use crate::check::FieldType;
use crate::domain::{ResourceId, ResourceKind, TenantId};
use crate::store::{HistoryRecord, OperatorScope, Outcome, Page, PageQuery};

/// Records on one page of history or log.
const PAGE_SIZE: usize = 50;

/// Search hits shown.
const SEARCH_LIMIT: usize = 200;

fn html(status: u16, page: &impl Template) -> Result<Reply, PageError> {
    Ok(Reply::html(status, page.render()?))
}

/// The tenants list, and for an all-tenants operator the form that creates one.
pub(super) fn tenants(ctx: &Ctx<'_>) -> Result<Reply, PageError> {
    let tenants = ctx.admin.tenants(&ctx.operator)?;
    let choices = ctx.admin.access_choices();
    let page = Tenants {
        l: ctx.layout("Tenants", None, "tenants"),
        list: tenants
            .iter()
            .map(|t| (t.name.to_string(), when(&t.created)))
            .collect(),
        can_create: matches!(ctx.operator.scope, OperatorScope::All),
        default_edition: choices.default_edition.unwrap_or_default(),
        editions: choices.editions,
    };
    html(200, &page)
}

/// Creates a tenant and goes to its mappings.
pub(super) fn create_tenant(ctx: &Ctx<'_>) -> Result<Reply, PageError> {
    let name = ctx.form.text("name").unwrap_or_default();
    let edition = ctx.form.text("edition");
    match ctx.admin.create_tenant(&ctx.operator, name, edition) {
        Ok(record) => {
            ctx.flash(
                true,
                format!(
                    "Created tenant `{}`. Create an API key for its identity provider under Keys.",
                    record.name
                ),
            );
            Ok(Reply::redirect(format!("/t/{}/mappings", record.name)))
        }
        Err(AdminError::Invalid(detail)) => {
            ctx.flash(false, format!("{detail}. Nothing was created."));
            Ok(Reply::redirect("/"))
        }
        Err(err) => Err(err.into()),
    }
}

/// The tenant switcher's target: `/go?tenant=T&section=S`.
pub(super) fn go(ctx: &Ctx<'_>) -> Reply {
    let tenant = ctx.query.text("tenant").unwrap_or_default();
    if !TenantId::is_valid(tenant) {
        return Reply::redirect("/");
    }
    let section = ctx
        .query
        .text("section")
        .filter(|s| ["mappings", "history", "log", "users", "keys"].contains(s))
        .unwrap_or("mappings");
    Reply::redirect(format!("/t/{tenant}/{section}"))
}

/// A page of a listing at `base` (its path and filters), read from `before`, each record
/// shown as a `row`, with the links to the next, older page when there is one and to the
/// first page when this is not it.
fn listing<T, R>(
    page: &Page<T>,
    base: &str,
    before: Option<u64>,
    row: impl FnMut(&T) -> R,
) -> Listing<R> {
    Listing {
        items: page.items.iter().map(row).collect(),
        older: page.next.map(|next| format!("{base}&before={next}")),
        newest: before.map(|_| base.to_owned()),
    }
}

fn cursor(ctx: &Ctx<'_>) -> Result<Option<u64>, PageError> {
    match ctx.query.text("before") {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            PageError::new(
                400,
                "The page link is broken (`before` is not a number); start again from the first page.",
            )
        }),
    }
}

fn entity_href(tenant: &TenantId, id: &ResourceId) -> String {
    format!("/t/{tenant}/entities/{}", encode(id.as_str()))
}

/// The id in a reference as history writes it (`User:2819c223-…`).
fn ref_id(value: &str) -> Option<ResourceId> {
    value
        .split_once(':')
        .map(|(_, id)| ResourceId::new(id))
        .filter(|id| !id.as_str().is_empty())
}

/// The change history, by user and by field, names instead of ids, newest first.
pub(super) fn history(ctx: &Ctx<'_>, tenant: &TenantId) -> Result<Reply, PageError> {
    let user = ctx.query.text("user").unwrap_or_default().to_owned();
    let field = ctx.query.text("field").unwrap_or_default().to_owned();
    let before = cursor(ctx)?;
    let query = PageQuery {
        user: (!user.is_empty()).then(|| user.clone()),
        field: (!field.is_empty()).then(|| field.clone()),
        before,
        limit: PAGE_SIZE,
        ..PageQuery::default()
    };
    let page = ctx.admin.history(&ctx.operator, tenant, &query)?;
    let rules = ctx.admin.profiles.for_tenant(tenant).rules;
    let is_ref = |record: &HistoryRecord| {
        matches!(
            rules
                .target
                .field(record.entity_type.as_str(), &record.field)
                .map(|f| &f.ty),
            Some(FieldType::Ref(_))
        )
    };
    let mut ids = BTreeSet::new();
    for record in &page.items {
        ids.insert(record.entity_id.clone());
        if is_ref(record) {
            ids.extend(record.before.as_deref().and_then(ref_id));
            ids.extend(record.after.as_deref().and_then(ref_id));
        }
    }
    let names = ctx.admin.names(&ctx.operator, tenant, &ids)?;
    let shown = |record: &HistoryRecord, value: Option<&str>| -> String {
        match value {
            None => "(empty)".to_owned(),
            Some(text) if is_ref(record) => match ref_id(text) {
                Some(id) => names
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("{text} (no longer there)")),
                None => text.to_owned(),
            },
            Some(text) => text.to_owned(),
        }
    };
    let base = format!(
        "/t/{tenant}/history?user={}&field={}",
        encode(&user),
        encode(&field)
    );
    let page = listing(&page, &base, before, |record| HistoryRow {
        time: when(&record.time),
        name: record
            .user_name
            .clone()
            .or_else(|| names.get(&record.entity_id).cloned())
            .unwrap_or_else(|| format!("{} {}", record.entity_type, record.entity_id)),
        href: entity_href(tenant, &record.entity_id),
        field: record.field.clone(),
        before: shown(record, record.before.as_deref()),
        after: shown(record, record.after.as_deref()),
        rule: record.rule.clone(),
        actor: record.actor.clone(),
    });
    let fields = rules
        .entity_of(ResourceKind::User)
        .map(|e| e.fields.iter().map(|f| f.name.clone()).collect())
        .unwrap_or_default();
    let view = History {
        l: ctx.layout("History", Some(tenant), "history"),
        user,
        field,
        fields,
        page,
    };
    html(200, &view)
}

/// The provisioning log, optionally failed requests only, newest first.
pub(super) fn log(ctx: &Ctx<'_>, tenant: &TenantId) -> Result<Reply, PageError> {
    let failed = ctx.query.text("failed").is_some();
    let user = ctx.query.text("user").unwrap_or_default().to_owned();
    let before = cursor(ctx)?;
    let query = PageQuery {
        user: (!user.is_empty()).then(|| user.clone()),
        outcomes: if failed {
            vec![Outcome::Failed, Outcome::Rejected]
        } else {
            Vec::new()
        },
        before,
        limit: PAGE_SIZE,
        ..PageQuery::default()
    };
    let page = ctx.admin.log(&ctx.operator, tenant, &query)?;
    let base = format!(
        "/t/{tenant}/log?user={}{}",
        encode(&user),
        if failed { "&failed=1" } else { "" }
    );
    let page = listing(&page, &base, before, |record| LogRow {
        time: when(&record.time),
        request: format!("{} {}", record.method, record.path),
        status: record.status,
        outcome: record.outcome.as_str().to_owned(),
        scim_type: record.scim_type.clone().unwrap_or_default(),
        detail: record.detail.clone().unwrap_or_default(),
        actor: record.actor.clone(),
        body: record
            .request
            .as_ref()
            .map(|b| serde_json::to_string_pretty(b).unwrap_or_default()),
    });
    let view = Log {
        l: ctx.layout("Provisioning log", Some(tenant), "log"),
        failed,
        user,
        page,
    };
    html(200, &view)
}

/// Users or groups by name.
pub(super) fn search(ctx: &Ctx<'_>, tenant: &TenantId) -> Result<Reply, PageError> {
    let q = ctx.query.text("q").unwrap_or_default().to_owned();
    let groups = ctx.query.get("kind") == Some("groups");
    let kind = if groups {
        ResourceKind::Group
    } else {
        ResourceKind::User
    };
    let found = ctx
        .admin
        .search(&ctx.operator, tenant, kind, &q, SEARCH_LIMIT)?;
    let view = Search {
        l: ctx.layout("Users and groups", Some(tenant), "users"),
        q,
        groups,
        results: found
            .into_iter()
            .map(|(id, name, managed)| SearchRow {
                href: entity_href(tenant, &id),
                name,
                managed,
            })
            .collect(),
    };
    html(200, &view)
}

/// The explain form's inputs, kept across a failed try.
pub(super) struct ExplainInput {
    method: String,
    path: String,
    body: String,
    outcome: Result<PlanView, String>,
}

/// One user's or group's Clarizen side, with the explain form (and its answer).
pub(super) fn entity(
    ctx: &Ctx<'_>,
    tenant: &TenantId,
    id: &str,
    explained: Option<ExplainInput>,
) -> Result<Reply, PageError> {
    let id = ResourceId::new(id);
    let view = ctx.admin.entity(&ctx.operator, tenant, &id)?;
    let kind = ResourceKind::parse(view.entity.entity_type.as_str());
    let name = ["UserName", "Name"]
        .iter()
        .find_map(|f| view.entity.field(f))
        .map_or_else(|| id.to_string(), crate::domain::FieldValue::display);
    let scim_path = match kind {
        Some(ResourceKind::Group) => format!("/Groups/{id}"),
        _ => format!("/Users/{id}"),
    };
    let example = json!({
        "schemas": [crate::scim::schema::PATCH_OP_SCHEMA],
        "Operations": [{"op": "replace", "value": {"active": false}}]
    });
    let (method, path, body, explain_error, plan, status) = match explained {
        None => (
            "PATCH".to_owned(),
            scim_path,
            serde_json::to_string_pretty(&example).unwrap_or_default(),
            None,
            None,
            200,
        ),
        Some(input) => {
            let (error, plan, status) = match input.outcome {
                Ok(plan) => (None, Some(plan), 200),
                Err(error) => (Some(error), None, 400),
            };
            (input.method, input.path, input.body, error, plan, status)
        }
    };
    let fields = view
        .fields
        .iter()
        .map(|f| FieldRow {
            field: f.field.to_string(),
            value: f.value.clone(),
            rule: f.rule.clone().unwrap_or_default(),
            time: f.time.as_ref().map(when).unwrap_or_default(),
            actor: f.actor.clone().unwrap_or_default(),
        })
        .collect();
    let page = EntityPage {
        l: ctx.layout(&name, Some(tenant), "users"),
        id_path: encode(id.as_str()),
        id: id.to_string(),
        name,
        entity_type: view.entity.entity_type.to_string(),
        lifecycle: format!("{:?}", view.entity.lifecycle),
        managed: view.entity.managed,
        fields,
        related_label: if kind == Some(ResourceKind::Group) {
            "Members".to_owned()
        } else {
            "Groups".to_owned()
        },
        related: view
            .related
            .iter()
            .map(|(other, name)| (name.clone(), entity_href(tenant, other)))
            .collect(),
        pending: view
            .pending
            .iter()
            .map(|p| (p.field.to_string(), p.key.clone()))
            .collect(),
        resource: view
            .resource
            .as_ref()
            .map(|r| serde_json::to_string_pretty(r).unwrap_or_default()),
        methods: ["POST", "PUT", "PATCH", "DELETE"]
            .into_iter()
            .map(|m| Opt {
                value: m.to_owned(),
                selected: m == method,
            })
            .collect(),
        path,
        body,
        explain_error,
        plan,
    };
    html(status, &page)
}

/// Explains a SCIM request against the live state; writes nothing.
pub(super) fn explain(ctx: &Ctx<'_>, tenant: &TenantId, id: &str) -> Result<Reply, PageError> {
    let method = ctx
        .form
        .text("method")
        .unwrap_or_default()
        .to_ascii_uppercase();
    let path = ctx.form.text("path").unwrap_or_default().to_owned();
    let body = ctx.form.get("body").unwrap_or_default().to_owned();
    let parsed: Result<Value, String> = if body.trim().is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_str(&body)
            .map_err(|e| format!("The request body is not JSON ({e}); fix it and explain again."))
    };
    let outcome = match parsed {
        Err(error) => Err(error),
        Ok(parsed) => {
            let mut request = json!({"method": method, "path": path});
            if !parsed.is_null() {
                request["body"] = parsed;
            }
            match ctx.admin.explain(&ctx.operator, tenant, &request) {
                Ok(plan) => Ok(plan_view(&serde_json::to_value(&plan).unwrap_or_default())),
                Err(AdminError::Invalid(detail)) => Err(detail),
                Err(err) => return Err(err.into()),
            }
        }
    };
    entity(
        ctx,
        tenant,
        id,
        Some(ExplainInput {
            method,
            path,
            body,
            outcome,
        }),
    )
}

fn text_of(value: &Value) -> String {
    match value {
        Value::Null => "(empty)".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn plan_view(plan: &Value) -> PlanView {
    let action = &plan["action"];
    let mut action_text = text_of(&action["action"]);
    if let Some(argument) = action["argument"].as_str() {
        action_text = format!("{action_text} {argument}");
    }
    if let Some(rule) = action["rule"].as_str() {
        action_text = format!("{action_text} (by {rule})");
    }
    let list = |key: &str| plan[key].as_array().cloned().unwrap_or_default();
    PlanView {
        situation: text_of(&plan["situation"]),
        action: action_text,
        writes: list("writes")
            .iter()
            .map(|w| {
                let by = w["source"]["rule"]
                    .as_str()
                    .or_else(|| w["source"]["from"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                (
                    text_of(&w["field"]),
                    text_of(&w["before"]),
                    text_of(&w["after"]),
                    by,
                )
            })
            .collect(),
        skipped: list("skipped")
            .iter()
            .map(|s| (text_of(&s["field"]), text_of(&s["reason"])))
            .collect(),
        rejection: plan.get("rejection").map(|r| {
            format!(
                "{} {}: {}",
                text_of(&r["status"]),
                text_of(&r["scim_type"]),
                text_of(&r["detail"])
            )
        }),
        json: serde_json::to_string_pretty(plan).unwrap_or_default(),
    }
}

/// The tenant's API keys, the create form, and a key just created (once).
pub(super) fn keys(
    ctx: &Ctx<'_>,
    tenant: &TenantId,
    failed: Option<(String, String)>,
) -> Result<Reply, PageError> {
    let keys = ctx.admin.keys(&ctx.operator, tenant)?;
    let choices = ctx.admin.access_choices();
    let (l, shown) = ctx.layout_and_key("Keys", tenant, "keys");
    let status = if failed.is_some() { 400 } else { 200 };
    let (user, error) = match failed {
        Some((user, error)) => (user, Some(error)),
        None => (String::new(), None),
    };
    let page = Keys {
        l,
        list: keys
            .iter()
            .map(|k| KeyRow {
                key_id: k.key_id.clone(),
                user: k.user.clone(),
                created: when(&k.created),
                revoked: k.revoked,
            })
            .collect(),
        shown,
        user,
        error,
        default_role: choices.default_role.unwrap_or_default(),
        roles: choices.roles,
    };
    html(status, &page)
}

/// Creates a key; the next page shows it once.
pub(super) fn create_key(ctx: &Ctx<'_>, tenant: &TenantId) -> Result<Reply, PageError> {
    let user = ctx.form.get("user").unwrap_or_default();
    let role = ctx.form.text("role");
    match ctx.admin.create_key(&ctx.operator, tenant, user, role) {
        Ok(created) => {
            ctx.page.sessions.show_key(
                &ctx.session_id,
                super::session::ShownKey {
                    key_id: created.key_id,
                    user: user.trim().to_owned(),
                    key: created.key,
                },
            );
            Ok(Reply::redirect(format!("/t/{tenant}/keys")))
        }
        Err(AdminError::Invalid(detail)) => keys(
            ctx,
            tenant,
            Some((user.to_owned(), format!("{detail}. No key was created."))),
        ),
        Err(err) => Err(err.into()),
    }
}

/// Revokes a key: refused from its next request.
pub(super) fn revoke_key(
    ctx: &Ctx<'_>,
    tenant: &TenantId,
    key_id: &str,
) -> Result<Reply, PageError> {
    ctx.admin.revoke_key(&ctx.operator, tenant, key_id)?;
    ctx.flash(
        true,
        format!("Revoked {key_id}: the identity provider's next request with it is refused (401)."),
    );
    Ok(Reply::redirect(format!("/t/{tenant}/keys")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_in_history_name_their_entity() {
        assert_eq!(ref_id("User:u-1"), Some(ResourceId::new("u-1")));
        assert_eq!(ref_id("User:"), None);
        assert_eq!(ref_id("plain"), None);
    }

    #[test]
    fn a_plan_reads_as_situation_action_and_writes() {
        let plan = json!({
            "situation": "updated",
            "action": {"action": "skip", "argument": "DirectManager", "rule": "default.rules:37"},
            "writes": [{"field": "OfficePhone", "before": null, "after": "+1 555",
                        "source": {"from": "mapping", "rule": "default.rules:15"}}],
            "skipped": [{"field": "DirectManager", "reason": "manager not provisioned"}],
            "rejection": {"status": 409, "scim_type": "uniqueness", "detail": "taken"}
        });
        let view = plan_view(&plan);
        assert_eq!(view.situation, "updated");
        assert_eq!(view.action, "skip DirectManager (by default.rules:37)");
        assert_eq!(
            view.writes,
            vec![(
                "OfficePhone".to_owned(),
                "(empty)".to_owned(),
                "+1 555".to_owned(),
                "default.rules:15".to_owned()
            )]
        );
        assert_eq!(view.skipped.len(), 1);
        assert_eq!(view.rejection.as_deref(), Some("409 uniqueness: taken"));
    }
}
