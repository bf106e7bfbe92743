//! The SCIM read handlers and the dispatch of every route. Each runs synchronously (on a
//! blocking thread) and returns a [`Reply`]. Writes are in [`super::write`].

use hyper::header;
use serde_json::Value;

use crate::domain::{
    Meta, ResourceBody, ResourceId, ResourceKind, StoredResource, TenantId, UserName,
};
use crate::scim::discovery;
use crate::scim::error::{ScimError, ScimType};
use crate::scim::etag::{Precondition, etag};
use crate::scim::filter::{Filter, IndexedAttr, equality_hint};
use crate::scim::list::{
    ListQuery, list_response, parse_list_query, parse_search_request, write_list_response,
};
use crate::scim::project::{self, Projection, StoredRow, build_resource, member_ref, write_fields};
use crate::scim::route::Route;
use crate::server::unmanaged::Listed;
use crate::server::write::{bulk_request, write_logged};
use crate::server::{App, Call, Reply, ReplyBody, error_reply};
use crate::store::{RawRow, StoreError, TenantRead};

/// Whether a call is a read of a few rows (a resource by id, discovery, a list paged
/// straight from the table or through an index), answered without the blocking pool.
pub fn is_quick(call: &Call) -> bool {
    match &call.route {
        Route::Get(..)
        | Route::ServiceProviderConfig
        | Route::Schemas
        | Route::Schema(_)
        | Route::ResourceTypes
        | Route::ResourceType(_) => true,
        Route::List(_) => matches!(&call.list, Some(Ok(query)) if query.sort_by.is_none()
                && query
                    .filter
                    .as_ref()
                    .is_none_or(|f| equality_hint(f).is_some())),
        _ => false,
    }
}

/// Whether a call is one SCIM write (a create, replace, PATCH or delete of one resource).
pub fn is_single_write(call: &Call) -> bool {
    matches!(
        call.route,
        Route::Create(_) | Route::Replace(..) | Route::Patch(..) | Route::Delete(..)
    )
}

/// Runs the handler for a routed, authenticated call; the one that reads the body (a
/// write, a search, a bulk request) takes it.
pub fn dispatch(app: &App, mut call: Call) -> Reply {
    let body = call.body.take();
    let call = &call;
    let result = match &call.route {
        Route::ServiceProviderConfig => Ok(Reply::json(
            200,
            discovery::service_provider_config(&call.base_url),
        )),
        Route::Schemas => Ok(Reply::json(200, discovery::schemas(&call.base_url))),
        Route::Schema(urn) => discovery::schema(&call.base_url, urn)
            .map(|s| Reply::json(200, s))
            .ok_or_else(|| ScimError::status(404, format!("no schema {urn}"))),
        Route::ResourceTypes => Ok(Reply::json(200, discovery::resource_types(&call.base_url))),
        Route::ResourceType(name) => discovery::resource_type(&call.base_url, name)
            .map(|s| Reply::json(200, s))
            .ok_or_else(|| ScimError::status(404, format!("no resource type {name}"))),
        Route::List(kind) => match &call.list {
            Some(Ok(query)) => list(app, call, &[(*kind, query.clone())]),
            Some(Err(err)) => Err(err.clone()),
            None => {
                parse_list_query(*kind, &call.query).and_then(|q| list(app, call, &[(*kind, q)]))
            }
        },
        Route::Search(kind) => search(app, call, body, &[*kind]),
        Route::SearchAll => search(app, call, body, &[ResourceKind::User, ResourceKind::Group]),
        Route::Get(kind, id) => get(app, call, *kind, id),
        Route::Create(_) | Route::Replace(..) | Route::Patch(..) | Route::Delete(..) => {
            return write_logged(app, call, body);
        }
        Route::Bulk => bulk_request(app, call, body),
    };
    result.unwrap_or_else(|err| error_reply(&err))
}

/// The tenant and integration user of the caller's key.
pub(super) fn tenant(call: &Call) -> Result<(&TenantId, &str), ScimError> {
    key(call).map(|k| (&k.tenant, k.user.as_str()))
}

/// The call's authenticated API key.
pub(super) fn key(call: &Call) -> Result<&crate::store::KeyInfo, ScimError> {
    call.key
        .as_ref()
        .ok_or_else(|| ScimError::status(401, "this endpoint needs an API key"))
}

/// The SCIM error of a storage failure (logged; its text is not for the client).
#[allow(
    clippy::needless_pass_by_value,
    reason = "by value, it is what `map_err(storage)` passes"
)]
pub(super) fn storage(err: StoreError) -> ScimError {
    tracing::error!(%err, "storage error");
    ScimError::status(
        500,
        "the server could not read or write its database; nothing was changed, try again",
    )
}

fn meta_of(meta: &Meta) -> project::Meta {
    project::Meta {
        created: meta.created.to_string(),
        last_modified: meta.last_modified.to_string(),
        version: meta.version.to_string(),
    }
}

/// The representation of a resource from its parts (no entity needed), with `groups`
/// (User) or `members` (Group) loaded only when the projection shows them.
pub(super) fn shown(
    read: &TenantRead,
    base_url: &str,
    kind: ResourceKind,
    id: &ResourceId,
    body: Value,
    meta: &Meta,
    projection: &Projection,
) -> Result<Value, StoreError> {
    let plain = build_resource(kind, base_url, id.as_str(), body, &meta_of(meta), None);
    present(read, base_url, kind, id, plain, projection)
}

/// The SCIM error of a stored row that does not read back (logged as a storage error).
#[allow(
    clippy::needless_pass_by_value,
    reason = "by value, it is what `map_err(corrupt)` passes"
)]
fn corrupt(err: serde_json::Error) -> ScimError {
    storage(StoreError::Corrupt {
        table: "resources",
        detail: err.to_string(),
    })
}

/// A resource row's stored text read in one pass: body members and `meta`.
pub(super) fn stored_row(row: &RawRow) -> Result<StoredRow<'_>, ScimError> {
    serde_json::from_str(row.text()).map_err(corrupt)
}

/// What a response shows of a stored resource, from its row: for the default projection
/// written straight from the body's stored text ([`write_fields`]), otherwise built and
/// projected ([`shown`]).
pub(super) fn represent(
    read: &TenantRead,
    base_url: &str,
    kind: ResourceKind,
    id: &ResourceId,
    row: &StoredRow,
    projection: &Projection,
) -> Result<ReplyBody, ScimError> {
    if *projection == Projection::all() {
        let related = related(read, base_url, kind, id).map_err(storage)?;
        let text = write_fields(
            kind,
            base_url,
            id.as_str(),
            &row.body,
            &row.meta,
            Some(&related),
        )
        .map_err(corrupt)?;
        return Ok(ReplyBody::Text(text));
    }
    let body = row.body.to_value().map_err(corrupt)?;
    let shown = shown(read, base_url, kind, id, body, &row.meta, projection).map_err(storage)?;
    Ok(ReplyBody::Value(shown))
}

/// A plain representation (as [`build_resource`] makes it, without relations) with the
/// `groups` (User) or `members` (Group) the projection shows, projected.
fn present(
    read: &TenantRead,
    base_url: &str,
    kind: ResourceKind,
    id: &ResourceId,
    mut plain: Value,
    projection: &Projection,
) -> Result<Value, StoreError> {
    let related = if projection.includes(related_name(kind)) {
        Some((related_name(kind), related(read, base_url, kind, id)?))
    } else {
        None
    };
    if let (Some((name, values)), Some(map)) = (related, plain.as_object_mut()) {
        let at = map.keys().position(|k| k == "meta").unwrap_or(map.len());
        map.shift_insert(at, name.to_owned(), Value::Array(values));
    }
    Ok(projection.apply(kind, plain))
}

/// The member a resource's representation derives from the memberships.
fn related_name(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "groups",
        ResourceKind::Group => "members",
    }
}

/// A User's `groups` (with each group's `display`) or a Group's `members`.
fn related(
    read: &TenantRead,
    base_url: &str,
    kind: ResourceKind,
    id: &ResourceId,
) -> Result<Vec<Value>, StoreError> {
    let mut refs = Vec::new();
    match kind {
        ResourceKind::User => {
            for group in read.groups_of(id)? {
                let display = read.group_display_name(&group)?;
                refs.push(member_ref(
                    base_url,
                    ResourceKind::Group,
                    group.as_str(),
                    display.as_deref(),
                ));
            }
        }
        ResourceKind::Group => {
            // `display` is not published for members (it is not stored), so not returned.
            for user in read.members_of(id)? {
                refs.push(member_ref(
                    base_url,
                    ResourceKind::User,
                    user.as_str(),
                    None,
                ));
            }
        }
    }
    Ok(refs)
}

/// The `attributes`/`excludedAttributes` projection a query asks for.
pub(super) fn projection_of(kind: ResourceKind, query: &str) -> Projection {
    let pairs = crate::scim::list::query_pairs(query);
    let find = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    Projection::parse(kind, find("attributes"), find("excludedAttributes"))
}

/// Whether the query names `attributes` or `excludedAttributes`.
pub(super) fn asks_for_attributes(query: &str) -> bool {
    crate::scim::list::query_pairs(query).iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("attributes") || k.eq_ignore_ascii_case("excludedAttributes")
    })
}

fn get(app: &App, call: &Call, kind: ResourceKind, id: &ResourceId) -> Result<Reply, ScimError> {
    let auth = key(call)?;
    let tenant = &auth.tenant;
    let read = app.store.read_for(auth).map_err(storage)?;
    let row = read.get_resource_row(kind, id).map_err(storage)?;
    let stored = row.as_ref().map(stored_row).transpose()?;
    let version = stored.as_ref().map(|row| row.meta.version.to_string());
    let precondition = call.preconditions.evaluate(version.as_deref(), true)?;
    let projection = projection_of(kind, &call.query);
    let (body, meta) = match stored {
        Some(row) => {
            let tag = etag(&row.meta.version.to_string());
            if precondition == Precondition::NotModified {
                return Ok(Reply::empty(304).with_header(header::ETAG, tag));
            }
            let body = represent(&read, &call.base_url, kind, id, &row, &projection)?;
            return Ok(Reply::with_body(200, body).with_header(header::ETAG, tag));
        }
        // A pre-existing entity, listed for an import, is read by its id too.
        None => match Listed::of(app, tenant, kind) {
            Some(listed) => listed
                .get(&read, id)
                .map_err(storage)?
                .map(|r| (r.body, r.meta))
                .ok_or_else(|| ScimError::not_found(kind.as_str(), id.as_str()))?,
            None => return Err(ScimError::not_found(kind.as_str(), id.as_str())),
        },
    };
    let tag = etag(&meta.version.to_string());
    if precondition == Precondition::NotModified {
        return Ok(Reply::empty(304).with_header(header::ETAG, tag));
    }
    let body = shown(&read, &call.base_url, kind, id, body, &meta, &projection).map_err(storage)?;
    Ok(Reply::json(200, body).with_header(header::ETAG, tag))
}

fn search(
    app: &App,
    call: &Call,
    body: Option<Value>,
    kinds: &[ResourceKind],
) -> Result<Reply, ScimError> {
    let body = body.unwrap_or(Value::Null);
    // At the root, a filter need only make sense for one of the kinds; each kind gets the
    // request resolved against its own schema (filter, attributes, sortBy).
    let mut first_error = None;
    let mut queries = Vec::new();
    for kind in kinds {
        match parse_search_request(*kind, &body) {
            Ok(q) => queries.push((*kind, q)),
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    if queries.is_empty() {
        return Err(first_error.unwrap_or_else(|| {
            ScimError::new(
                ScimType::InvalidSyntax,
                "the search request could not be read",
            )
        }));
    }
    list(app, call, &queries)
}

/// Lists resources of one or more kinds, each with its own resolved query; paging and
/// sorting follow the first query (they are the same request).
fn list(app: &App, call: &Call, queries: &[(ResourceKind, ListQuery)]) -> Result<Reply, ScimError> {
    let auth = key(call)?;
    let tenant = &auth.tenant;
    let read = app.store.read_for(auth).map_err(storage)?;
    let Some((_, query)) = queries.first() else {
        return Ok(Reply::json(200, list_response(Vec::new(), 0, 1)));
    };
    // One kind, no filter, no sort: page straight from the table, in id order.
    if let ([(kind, _)], None, None) = (queries, &query.filter, &query.sort_by)
        && !query.descending
    {
        let managed = usize::try_from(read.count(*kind).map_err(storage)?).unwrap_or(usize::MAX);
        let listed = Listed::of(app, tenant, *kind);
        let unmanaged = match &listed {
            Some(listed) => listed.count(&read).map_err(storage)?,
            None => 0,
        };
        let total = managed + unmanaged;
        let mut page = read
            .page_bodies(*kind, query.start_index, query.count)
            .map_err(storage)?;
        // Pre-existing entities follow the provisioned resources, in id order.
        if let Some(listed) = listed.filter(|_| unmanaged > 0 && page.len() < query.count) {
            let skip = query.start_index.max(1).saturating_sub(1 + managed);
            let more = listed
                .page(&read, skip, query.count - page.len())
                .map_err(storage)?;
            page.extend(more.into_iter().map(body_of));
        }
        let mut resources = Vec::with_capacity(page.len());
        for row in page {
            resources.push(
                shown(
                    &read,
                    &call.base_url,
                    row.kind,
                    &row.id,
                    row.body,
                    &row.meta,
                    &query.projection,
                )
                .map_err(storage)?,
            );
        }
        return Ok(Reply::json(
            200,
            list_response(resources, total, query.start_index),
        ));
    }
    if let Some(key) = lookup_alone(app, tenant, &read, queries)? {
        return user_by_name(&read, call, query, &key);
    }
    // Each candidate's plain representation is built once: the filter and the sort read
    // it, and the page shows it.
    let mut matched: Vec<(ResourceKind, ResourceId, Value, &ListQuery)> = Vec::new();
    for (kind, query) in queries {
        let mut found = candidates(&read, *kind, query).map_err(storage)?;
        if let Some(listed) = Listed::of(app, tenant, *kind) {
            found.extend(
                listed
                    .candidates(&read, query)
                    .map_err(storage)?
                    .into_iter()
                    .map(body_of),
            );
        }
        for row in found {
            let plain = build_resource(
                *kind,
                &call.base_url,
                row.id.as_str(),
                row.body,
                &meta_of(&row.meta),
                None,
            );
            if query
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(*kind, &plain))
            {
                matched.push((row.kind, row.id, plain, query));
            }
        }
    }
    matched.sort_by(|(ka, _, ra, qa), (kb, _, rb, _)| {
        if ka == kb {
            // Provisioned resources first, then pre-existing entities (version 0).
            (version_of(ra) == Some(0))
                .cmp(&(version_of(rb) == Some(0)))
                .then_with(|| qa.compare(ra, rb))
        } else {
            ka.cmp(kb)
        }
    });
    let total = matched.len();
    let window = query.window(total);
    let mut resources = Vec::with_capacity(window.len());
    for (kind, id, plain, own) in matched.drain(window) {
        resources.push(
            present(&read, &call.base_url, kind, &id, plain, &own.projection).map_err(storage)?,
        );
    }
    Ok(Reply::json(
        200,
        list_response(resources, total, query.start_index),
    ))
}

/// For the Okta lookup, `userName eq "x"` alone on Users with the default projection and
/// no pre-existing entity answering it, the userName key to look up. The userName index
/// holds at most one user for the key, and that user matches (the index key is the form
/// the filter compares), so it is written straight from its stored text.
fn lookup_alone(
    app: &App,
    tenant: &TenantId,
    read: &TenantRead,
    queries: &[(ResourceKind, ListQuery)],
) -> Result<Option<String>, ScimError> {
    let [(ResourceKind::User, query)] = queries else {
        return Ok(None);
    };
    let (Some(filter @ Filter::Compare { .. }), None) = (&query.filter, &query.sort_by) else {
        return Ok(None);
    };
    let Some((IndexedAttr::UserName, key)) = equality_hint(filter) else {
        return Ok(None);
    };
    if query.projection != Projection::all() {
        return Ok(None);
    }
    let listed = match Listed::of(app, tenant, ResourceKind::User) {
        Some(listed) => listed.candidates(read, query).map_err(storage)?,
        None => Vec::new(),
    };
    Ok(listed.is_empty().then_some(key))
}

/// The list answering `userName eq "x"`: the user the index holds for the key, if any,
/// windowed by `startIndex` and `count`.
fn user_by_name(
    read: &TenantRead,
    call: &Call,
    query: &ListQuery,
    key: &str,
) -> Result<Reply, ScimError> {
    let found = match UserName::new(key) {
        Ok(name) => read.user_row_by_name(&name).map_err(storage)?,
        // A text that is not a valid userName names no user.
        Err(_) => None,
    };
    let total = usize::from(found.is_some());
    let mut resources = Vec::new();
    if let Some((id, row)) = found.filter(|_| !query.window(total).is_empty()) {
        let shown = represent(
            read,
            &call.base_url,
            ResourceKind::User,
            &id,
            &stored_row(&row)?,
            &query.projection,
        )?;
        resources.push(match shown {
            ReplyBody::Text(text) => text,
            ReplyBody::Value(value) => serde_json::to_vec(&value).unwrap_or_default(),
        });
    }
    Ok(Reply::with_body(
        200,
        ReplyBody::Text(write_list_response(&resources, total, query.start_index)),
    ))
}

/// The body of a pre-existing entity listed as a resource.
fn body_of(stored: StoredResource) -> ResourceBody {
    ResourceBody {
        kind: stored.kind,
        id: stored.entity.id,
        body: stored.body,
        meta: stored.meta,
    }
}

/// The `meta.version` of a plain representation (its `ETag` `W/"N"`).
fn version_of(plain: &Value) -> Option<u64> {
    plain["meta"]["version"]
        .as_str()
        .and_then(|tag| tag.trim_start_matches("W/").trim_matches('"').parse().ok())
}

/// The resources a filter can match (bodies only): through an index when it is an
/// equality on an indexed attribute, otherwise all of the kind.
fn candidates(
    read: &TenantRead,
    kind: ResourceKind,
    query: &ListQuery,
) -> Result<Vec<ResourceBody>, StoreError> {
    let hint = query.filter.as_ref().and_then(equality_hint);
    match (kind, hint) {
        (ResourceKind::User, Some((IndexedAttr::UserName, value))) => match UserName::new(value) {
            Ok(name) => Ok(read.user_body_by_name(&name)?.into_iter().collect()),
            // A text that is not a valid userName names no user.
            Err(_) => Ok(Vec::new()),
        },
        (_, Some((IndexedAttr::ExternalId, value))) => Ok(read
            .body_by_external_id(kind, &value)?
            .into_iter()
            .collect()),
        (ResourceKind::Group, Some((IndexedAttr::DisplayName, value))) => {
            Ok(read.group_body_by_name(&value)?.into_iter().collect())
        }
        _ => read.page_bodies(kind, 1, usize::MAX),
    }
}
