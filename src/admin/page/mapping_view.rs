//! The mappings page: the table of a tenant's effective User mappings, edited as a draft
//! that lives in the form itself (delete a row, add a custom mapping), previewed against
//! the stored users, and saved through the checker; the saved versions, each restorable;
//! restore defaults.

use askama::Template;

use super::mappings::{
    Choices, Draft, Placed, Row, Shown, TableError, editable_rows, kept_items, locked_mappings,
    new_row_from_form, place, rows_from_form, write_overlay,
};
use super::session::Flash;
use super::templates::{LockedView, Mappings, Opt, OptGroup, PreviewView, RowView, VersionView};
use super::{Ctx, PageError, Reply, when};
use crate::admin::AdminError;
use crate::admin::service::{OverlayView, Preview};
use crate::check::{CheckedRules, FieldType};
use crate::domain::{ResourceKind, TenantId};

/// What a render of the page shows besides the saved state.
struct Screen {
    rows: Vec<Row>,
    placed: Placed,
    refused: bool,
    preview: Option<Preview>,
    problem: Option<String>,
    status: u16,
}

impl Screen {
    fn rows(rows: Vec<Row>) -> Screen {
        Screen {
            rows,
            placed: Placed::default(),
            refused: false,
            preview: None,
            problem: None,
            status: 200,
        }
    }
}

/// The state a view of the page starts from: the saved overlay and the rules in use.
struct State {
    overlay: OverlayView,
    effective: std::sync::Arc<CheckedRules>,
}

fn state(ctx: &Ctx<'_>, tenant: &TenantId) -> Result<State, PageError> {
    // `overlay` checks the operator's reach before anything of the tenant is read.
    let overlay = ctx.admin.overlay(&ctx.operator, tenant)?;
    let effective = ctx.admin.profiles.for_tenant(tenant).rules;
    Ok(State { overlay, effective })
}

/// The page as saved.
pub(super) fn show(ctx: &Ctx<'_>, tenant: &TenantId) -> Result<Reply, PageError> {
    let state = state(ctx, tenant)?;
    let rows = editable_rows(&state.effective);
    render(ctx, tenant, &state, Screen::rows(rows))
}

/// A posted table: `action` is `delete.N`, `add`, `preview` or `save`.
pub(super) fn post(ctx: &Ctx<'_>, tenant: &TenantId) -> Result<Reply, PageError> {
    let state = state(ctx, tenant)?;
    let base = &ctx.admin.profiles.base().rules;
    let choices = Choices::new(base, &state.effective);
    let refuse = |err: TableError| {
        let mut shown = Screen::rows(editable_rows(&state.effective));
        shown.problem = Some(format!("{err}. Nothing was changed."));
        shown.status = 400;
        render(ctx, tenant, &state, shown)
    };
    let mut rows = match rows_from_form(ctx.form, &choices) {
        Ok(rows) => rows,
        Err(err) => return refuse(err),
    };
    let action = ctx.form.text("action").unwrap_or("preview");
    if action == "add" {
        match new_row_from_form(ctx.form, &choices) {
            Ok(row) => rows.push(row),
            Err(err) => return refuse(err),
        }
        return render(ctx, tenant, &state, Screen::rows(rows));
    }
    if let Some(index) = action.strip_prefix("delete.") {
        match index.parse::<usize>() {
            Ok(index) if index < rows.len() => {
                rows.remove(index);
            }
            _ => return refuse(TableError("there is no such row to delete".to_owned())),
        }
        return render(ctx, tenant, &state, Screen::rows(rows));
    }
    let draft = write_overlay(base, &rows, &kept_items(&state.overlay.text));
    match action {
        "preview" => match ctx.admin.preview(&ctx.operator, tenant, &draft.text) {
            Ok(preview) => {
                let mut shown = Screen::rows(rows);
                shown.preview = Some(preview);
                render(ctx, tenant, &state, shown)
            }
            Err(AdminError::Rules(diagnostics)) => {
                render(ctx, tenant, &state, refused(rows, &diagnostics, &draft))
            }
            Err(err) => Err(err.into()),
        },
        "save" => {
            if draft.text == state.overlay.text {
                ctx.flash(
                    true,
                    "Nothing to save: the table is what the tenant already uses.",
                );
                return Ok(Reply::redirect(format!("/t/{tenant}/mappings")));
            }
            match ctx.admin.save_overlay(&ctx.operator, tenant, &draft.text) {
                Ok(version) => {
                    ctx.flash(
                        true,
                        format!("Saved as version {version}. The tenant's next operation uses it."),
                    );
                    Ok(Reply::redirect(format!("/t/{tenant}/mappings")))
                }
                Err(AdminError::Rules(diagnostics)) => {
                    render(ctx, tenant, &state, refused(rows, &diagnostics, &draft))
                }
                Err(err) => Err(err.into()),
            }
        }
        _ => refuse(TableError(format!(
            "`{action}` is not something this form does"
        ))),
    }
}

fn refused(rows: Vec<Row>, diagnostics: &[crate::check::RulesDiagnostic], draft: &Draft) -> Screen {
    let mut shown = Screen::rows(rows);
    shown.placed = place(diagnostics, draft);
    shown.refused = true;
    shown.status = 422;
    shown
}

/// Restore defaults: saves an empty overlay as the next version.
pub(super) fn restore_defaults(ctx: &Ctx<'_>, tenant: &TenantId) -> Result<Reply, PageError> {
    let state = state(ctx, tenant)?;
    if state.overlay.text.trim().is_empty() {
        ctx.flash(
            true,
            "The tenant already uses the profile's defaults; nothing was saved.",
        );
    } else {
        let version = ctx.admin.save_overlay(&ctx.operator, tenant, "")?;
        ctx.flash(
            true,
            format!(
                "Restored the profile's defaults (saved as version {version}). The tenant's next operation uses them."
            ),
        );
    }
    Ok(Reply::redirect(format!("/t/{tenant}/mappings")))
}

/// Saves an earlier version's text as the next version.
pub(super) fn restore_version(
    ctx: &Ctx<'_>,
    tenant: &TenantId,
    version: &str,
) -> Result<Reply, PageError> {
    let Ok(version) = version.parse::<u64>() else {
        return Err(PageError::not_found());
    };
    match ctx.admin.restore_overlay(&ctx.operator, tenant, version) {
        Ok(saved) => ctx.flash(
            true,
            format!(
                "Restored version {version} (saved as version {saved}). The tenant's next operation uses it."
            ),
        ),
        Err(AdminError::Rules(diagnostics)) => {
            let first = diagnostics
                .iter()
                .find(|d| d.is_error())
                .map(|d| format!(" ({}: {})", d.code, d.message))
                .unwrap_or_default();
            ctx.flash(
                false,
                format!(
                    "Version {version} no longer checks against the profile{first}; nothing was saved."
                ),
            );
        }
        Err(err) => return Err(err.into()),
    }
    Ok(Reply::redirect(format!("/t/{tenant}/mappings")))
}

fn options(values: Vec<String>, selected: &str) -> Vec<Opt> {
    values
        .into_iter()
        .map(|value| Opt {
            selected: value == selected,
            value,
        })
        .collect()
}

fn groups(groups: Vec<(String, Vec<String>)>, selected: &str) -> Vec<OptGroup> {
    groups
        .into_iter()
        .map(|(label, paths)| OptGroup {
            label,
            options: options(paths, selected),
        })
        .collect()
}

fn row_views(
    choices: &Choices<'_>,
    effective: &CheckedRules,
    rows: &[Row],
    placed: &mut Placed,
) -> Vec<RowView> {
    // A custom mapping: one the profile marks `custom`, or one it does not have at all.
    let custom = |field: &str| {
        choices
            .base
            .mappings(ResourceKind::User)
            .iter()
            .find(|m| m.target == field)
            .is_none_or(|m| m.custom)
    };
    rows.iter()
        .enumerate()
        .map(|(index, row)| {
            let ty = choices
                .field_type(&row.target)
                .cloned()
                .unwrap_or(FieldType::String);
            let input = if row.transforms.is_empty() {
                ty.clone()
            } else {
                FieldType::String
            };
            let mut targets = choices.fields_of_type(&ty);
            if !targets.contains(&row.target) {
                targets.insert(0, row.target.clone());
            }
            let mut sources = choices.sources_of_type(&input);
            if !sources.iter().any(|(_, paths)| paths.contains(&row.source)) {
                sources.insert(0, ("current".to_owned(), vec![row.source.clone()]));
            }
            let saved = effective
                .mappings(ResourceKind::User)
                .iter()
                .find(|m| !m.locked && Row::of(m) == *row);
            RowView {
                index,
                number: index + 1,
                target: row.target.clone(),
                targets: options(targets, &row.target),
                sources: groups(sources, &row.source),
                transforms: row.transforms.clone(),
                custom: custom(&row.target),
                origin: saved.map_or_else(|| "not saved yet".to_owned(), |m| m.origin.to_string()),
                changed: saved.is_none(),
                diagnostics: placed.rows.remove(&index).unwrap_or_default(),
            }
        })
        .collect()
}

fn preview_view(preview: Preview) -> PreviewView {
    PreviewView {
        users: preview.users,
        changed: preview.changed,
        fields: preview.fields.into_iter().collect(),
        examples: preview
            .examples
            .into_iter()
            .map(|e| (e.user_name, e.changes))
            .collect(),
        failures: preview.failures,
    }
}

fn render(
    ctx: &Ctx<'_>,
    tenant: &TenantId,
    state: &State,
    shown: Screen,
) -> Result<Reply, PageError> {
    let base = &ctx.admin.profiles.base().rules;
    let choices = Choices::new(base, &state.effective);
    let mut placed = shown.placed;
    let rows = row_views(&choices, &state.effective, &shown.rows, &mut placed);
    let mut general: Vec<Shown> = placed.general;
    // A diagnostic for a row that no longer exists is still shown.
    for diagnostics in placed.rows.into_values() {
        general.extend(diagnostics);
    }
    let targeted: Vec<&str> = shown.rows.iter().map(|r| r.target.as_str()).collect();
    let new_targets = choices
        .fields_of_type(&FieldType::String)
        .into_iter()
        .filter(|f| !targeted.contains(&f.as_str()))
        .collect();
    let draft = write_overlay(base, &shown.rows, &kept_items(&state.overlay.text));
    let unsaved = shown.rows != editable_rows(&state.effective);
    let mut versions: Vec<VersionView> = state
        .overlay
        .versions
        .iter()
        .map(|v| VersionView {
            version: v.version,
            author: v.author.clone(),
            time: when(&v.time),
            current: v.version == state.overlay.version,
        })
        .collect();
    versions.reverse();
    let (mut flash, _) = ctx.page.sessions.take_messages(&ctx.session_id);
    if let Some(problem) = shown.problem {
        flash.push(Flash {
            ok: false,
            text: problem,
        });
    }
    let page = Mappings {
        l: ctx.layout_with("Mappings", Some(tenant), "mappings", flash),
        locked: locked_mappings(&state.effective)
            .into_iter()
            .map(|m| LockedView {
                source: Row::of(m).right_side(),
                target: m.target.clone(),
                origin: m.origin.to_string(),
            })
            .collect(),
        rows,
        new_targets: options(new_targets, ""),
        new_sources: groups(choices.sources_of_type(&FieldType::String), ""),
        general,
        refused: shown.refused,
        preview: shown.preview.map(preview_view),
        unsaved,
        versions,
        draft_text: draft.text,
    };
    Ok(Reply::html(shown.status, page.render()?))
}
