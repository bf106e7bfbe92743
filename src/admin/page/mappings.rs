//! The mappings table: the tenant's effective User mappings as rows, the valid choices for
//! each side of a row, and the overlay text an edited table stands for.
//!
//! The overlay is written as the difference between the profile and the table: a row the
//! profile maps the same way writes nothing; a changed row of a profile field is a remap
//! (`F <- path;`); a row for a field the profile does not map is `custom F <- path;`; a
//! profile field no row targets any more is `remove F;`. Every statement is on its own
//! line, so each checker diagnostic can be put next to the row it concerns.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use crate::check::{CheckedRules, Code, FieldType, Mapping, RulesDiagnostic, Severity};
use crate::scim::schema::{
    AttrType, AttributeDef, COMMON_ATTRIBUTES, ENTERPRISE_USER, Mutability, ResourceKind, USER,
};
use crate::syntax::{self, Item};

use super::form::Form;

/// The most rows a posted table may have.
pub const MAX_ROWS: usize = 200;

/// One editable row: a Clarizen field, the SCIM path it takes its value from, and the
/// transforms between them as the rules write them (`trim | upper`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The target field.
    pub target: String,
    /// The SCIM source path, canonical (`phoneNumbers[type eq "work"].value`).
    pub source: String,
    /// The transforms, `|`-separated; empty for none.
    pub transforms: String,
}

impl Row {
    /// The row of a checked mapping.
    pub fn of(mapping: &Mapping) -> Row {
        Row {
            target: mapping.target.clone(),
            source: mapping.source.to_string(),
            transforms: mapping
                .transforms
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" | "),
        }
    }

    /// `source | transforms`, as the rules write the right-hand side.
    #[must_use]
    pub fn right_side(&self) -> String {
        if self.transforms.is_empty() {
            self.source.clone()
        } else {
            format!("{} | {}", self.source, self.transforms)
        }
    }
}

/// A SCIM path the table offers, and the field type its value fits without transforms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimChoice {
    /// The path as the checker spells it.
    pub path: String,
    /// The type of its value.
    pub ty: FieldType,
    /// The top-level attribute it belongs to, for grouping (`phoneNumbers`).
    pub group: String,
}

/// Every SCIM path a User mapping can take, derived from the built-in schema: simple
/// attributes, sub-attributes of `name`, elements of multi-valued attributes picked by
/// `primary eq true` or by each canonical `type`, and the enterprise extension. Read-only
/// and write-only attributes (`id`, `meta`, `groups`, `password`) are not offered.
pub fn scim_choices() -> &'static [ScimChoice] {
    static CHOICES: OnceLock<Vec<ScimChoice>> = OnceLock::new();
    CHOICES.get_or_init(|| {
        let mut choices = Vec::new();
        let core = USER
            .attributes
            .iter()
            .chain(COMMON_ATTRIBUTES.iter().filter(|a| a.name == "externalId"));
        for attribute in core {
            push_attribute(&mut choices, "", attribute);
        }
        for attribute in ENTERPRISE_USER.attributes {
            push_attribute(&mut choices, "enterprise.", attribute);
        }
        choices
    })
}

fn value_type(attribute: &AttributeDef) -> Option<FieldType> {
    match attribute.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => Some(FieldType::String),
        AttrType::Boolean => Some(FieldType::Bool),
        AttrType::Integer => Some(FieldType::Int),
        AttrType::DateTime => Some(FieldType::DateTime),
        AttrType::Decimal | AttrType::Complex => None,
    }
}

fn writable(attribute: &AttributeDef) -> bool {
    !matches!(
        attribute.mutability,
        Mutability::ReadOnly | Mutability::WriteOnly
    )
}

fn push_attribute(choices: &mut Vec<ScimChoice>, prefix: &str, attribute: &AttributeDef) {
    if !writable(attribute) {
        return;
    }
    let group = format!("{prefix}{}", attribute.name);
    let mut push = |path: String, sub: &AttributeDef| {
        if let Some(ty) = value_type(sub) {
            choices.push(ScimChoice {
                path,
                ty,
                group: group.clone(),
            });
        }
    };
    if attribute.sub_attributes.is_empty() {
        push(group.clone(), attribute);
        return;
    }
    let subs = attribute.sub_attributes.iter().filter(|s| writable(s));
    if !attribute.multi_valued {
        for sub in subs {
            push(format!("{group}.{}", sub.name), sub);
        }
        return;
    }
    let mut filters = Vec::new();
    if attribute.sub_attributes.iter().any(|s| s.name == "primary") {
        filters.push("primary eq true".to_owned());
    }
    if let Some(kind) = attribute.sub_attributes.iter().find(|s| s.name == "type") {
        filters.extend(
            kind.canonical_values
                .iter()
                .map(|value| format!("type eq \"{value}\"")),
        );
    }
    for filter in &filters {
        for sub in subs
            .clone()
            .filter(|s| s.name != "type" && s.name != "primary")
        {
            push(format!("{group}[{filter}].{}", sub.name), sub);
        }
    }
}

/// What the table can offer for one tenant: its rules' User entity and the profile's
/// mappings, which an overlay is written against.
#[derive(Debug)]
pub struct Choices<'r> {
    /// The profile's rules (without the tenant's overlay).
    pub base: &'r CheckedRules,
    /// The entity SCIM Users feed (`User`).
    pub entity: String,
    /// Fields the profile locks.
    pub locked: BTreeSet<String>,
    /// Every source path a posted row may name.
    pub sources: BTreeSet<String>,
}

impl<'r> Choices<'r> {
    /// The choices against the profile `base`; `effective` adds the sources of the
    /// tenant's current mappings (a path written by hand in an overlay stays choosable).
    #[must_use]
    pub fn new(base: &'r CheckedRules, effective: &CheckedRules) -> Choices<'r> {
        let entity = base
            .entity_of(ResourceKind::User)
            .map_or_else(|| "User".to_owned(), |e| e.name.clone());
        let locked = base
            .mappings(ResourceKind::User)
            .iter()
            .filter(|m| m.locked)
            .map(|m| m.target.clone())
            .collect();
        let sources = scim_choices()
            .iter()
            .map(|c| c.path.clone())
            .chain(
                base.mappings(ResourceKind::User)
                    .iter()
                    .chain(effective.mappings(ResourceKind::User))
                    .map(|m| m.source.to_string()),
            )
            .collect();
        Choices {
            base,
            entity,
            locked,
            sources,
        }
    }

    /// The type of a field of the User entity.
    #[must_use]
    pub fn field_type(&self, field: &str) -> Option<&FieldType> {
        self.base.target.field(&self.entity, field).map(|f| &f.ty)
    }

    /// The Clarizen fields a row of type `ty` may target: not read-only, not locked.
    #[must_use]
    pub fn fields_of_type(&self, ty: &FieldType) -> Vec<String> {
        self.base
            .target
            .entities
            .get(&self.entity)
            .map(|e| {
                e.fields
                    .iter()
                    .filter(|f| &f.ty == ty && !f.readonly && !self.locked.contains(&f.name))
                    .map(|f| f.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The SCIM paths whose value fits `ty`, grouped by top-level attribute.
    #[must_use]
    pub fn sources_of_type(&self, ty: &FieldType) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for choice in scim_choices().iter().filter(|c| &c.ty == ty) {
            match groups.last_mut() {
                Some((group, paths)) if *group == choice.group => paths.push(choice.path.clone()),
                _ => groups.push((choice.group.clone(), vec![choice.path.clone()])),
            }
        }
        groups
    }
}

/// The rows of the rules' locked User mappings.
#[must_use]
pub fn locked_mappings(rules: &CheckedRules) -> Vec<&Mapping> {
    rules
        .mappings(ResourceKind::User)
        .iter()
        .filter(|m| m.locked)
        .collect()
}

/// The rows of the rules' editable User mappings, in evaluation order.
pub fn editable_rows(rules: &CheckedRules) -> Vec<Row> {
    rules
        .mappings(ResourceKind::User)
        .iter()
        .filter(|m| !m.locked)
        .map(Row::of)
        .collect()
}

/// Why a posted table was refused before anything was checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TableError(pub String);

/// Reads the rows of a posted table (`rows`, then `target.N`, `source.N`,
/// `transforms.N`), each checked to name a field of the entity and an offered SCIM path.
///
/// # Errors
///
/// A row count out of range, or a row naming no field, an unoffered path, or transforms
/// with characters that could end the statement.
pub fn rows_from_form(form: &Form, choices: &Choices<'_>) -> Result<Vec<Row>, TableError> {
    let count = match form.text("rows") {
        None => 0,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= MAX_ROWS)
            .ok_or_else(|| {
                TableError(format!(
                    "the table must have 0 to {MAX_ROWS} rows; reload the page and try again"
                ))
            })?,
    };
    (0..count)
        .map(|i| {
            read_row(
                choices,
                &format!("row {}", i + 1),
                form.text(&format!("target.{i}")),
                form.text(&format!("source.{i}")),
                form.get(&format!("transforms.{i}")).unwrap_or_default(),
            )
        })
        .collect()
}

/// Reads the "add a custom mapping" part of a posted table.
///
/// # Errors
///
/// As for [`rows_from_form`], and a field that is not a String.
pub fn new_row_from_form(form: &Form, choices: &Choices<'_>) -> Result<Row, TableError> {
    let row = read_row(
        choices,
        "the new mapping",
        form.text("new_target"),
        form.text("new_source"),
        form.get("new_transforms").unwrap_or_default(),
    )?;
    if choices.field_type(&row.target) != Some(&FieldType::String) {
        return Err(TableError(format!(
            "the new mapping: custom mappings may only target String fields, and `{}` is not one",
            row.target
        )));
    }
    Ok(row)
}

fn read_row(
    choices: &Choices<'_>,
    what: &str,
    target: Option<&str>,
    source: Option<&str>,
    transforms: &str,
) -> Result<Row, TableError> {
    let Some(target) = target else {
        return Err(TableError(format!("{what}: choose a Clarizen field")));
    };
    if choices.field_type(target).is_none() {
        return Err(TableError(format!(
            "{what}: {} has no field `{target}`; choose one from the list",
            choices.entity
        )));
    }
    let Some(source) = source else {
        return Err(TableError(format!("{what}: choose a SCIM attribute")));
    };
    if !choices.sources.contains(source) {
        return Err(TableError(format!(
            "{what}: `{source}` is not a SCIM attribute the table offers; choose one from the list"
        )));
    }
    let transforms = transforms.trim();
    if transforms.len() > 200
        || transforms
            .chars()
            .any(|c| c.is_control() || matches!(c, ';' | '{' | '}' | '#'))
    {
        return Err(TableError(format!(
            "{what}: transforms are names joined by `|`, such as `trim | upper` (at most 200 characters, without `;`, `{{`, `}}` or `#`)"
        )));
    }
    Ok(Row {
        target: target.to_owned(),
        source: source.to_owned(),
        transforms: transforms.to_owned(),
    })
}

/// The overlay text a table stands for, and which of its lines came from which row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// The overlay text (empty: the profile's defaults).
    pub text: String,
    /// Line (1-based) -> the row (0-based) whose statement it holds.
    pub row_lines: BTreeMap<u32, usize>,
    /// Line -> the profile field its `remove` statement deletes.
    pub remove_lines: BTreeMap<u32, String>,
}

const GENERATED: &str = "# Written by the admin page from the mappings table.";

/// Writes the overlay for `rows` against the profile `base`; `kept` are the current
/// overlay's items the table does not show (hooks, Group mappings), copied as they are.
pub fn write_overlay(base: &CheckedRules, rows: &[Row], kept: &[String]) -> Draft {
    let profile: BTreeMap<&str, (Row, bool)> = base
        .mappings(ResourceKind::User)
        .iter()
        .map(|m| (m.target.as_str(), (Row::of(m), m.locked)))
        .collect();
    let mut targets: BTreeMap<&str, usize> = BTreeMap::new();
    for row in rows {
        *targets.entry(row.target.as_str()).or_default() += 1;
    }
    let mut statements: Vec<(String, Option<usize>, Option<String>)> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let in_profile = profile.get(row.target.as_str());
        let unchanged = in_profile.is_some_and(|(default, _)| default == row);
        if unchanged && targets.get(row.target.as_str()) == Some(&1) {
            continue;
        }
        let custom = if in_profile.is_some() { "" } else { "custom " };
        statements.push((
            format!("  {custom}{} <- {};", row.target, row.right_side()),
            Some(index),
            None,
        ));
    }
    for (field, (_, locked)) in &profile {
        if !locked && !targets.contains_key(field) {
            statements.push((
                format!("  remove {field};"),
                None,
                Some((*field).to_owned()),
            ));
        }
    }
    let mut draft = Draft::default();
    let mut lines: Vec<String> = Vec::new();
    if !statements.is_empty() {
        lines.push(GENERATED.to_owned());
        lines.push("mapping User {".to_owned());
        for (statement, row, removed) in statements {
            lines.push(statement);
            let line = u32::try_from(lines.len()).unwrap_or(u32::MAX);
            if let Some(row) = row {
                draft.row_lines.insert(line, row);
            }
            if let Some(field) = removed {
                draft.remove_lines.insert(line, field);
            }
        }
        lines.push("}".to_owned());
    }
    for item in kept {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.extend(item.lines().map(str::to_owned));
    }
    if !lines.is_empty() {
        draft.text = lines.join("\n") + "\n";
    }
    draft
}

/// The items of an overlay text that the table does not show: everything but its
/// `mapping User` blocks, each as written. Text that does not parse keeps nothing.
#[must_use]
pub fn kept_items(overlay: &str) -> Vec<String> {
    let Ok(file) = syntax::parse(overlay) else {
        return Vec::new();
    };
    file.items
        .iter()
        .filter(|item| !matches!(item, Item::Mapping(block) if block.kind.node == "User"))
        .filter_map(|item| {
            let span = item.span();
            overlay.get(span.start..span.end).map(str::to_owned)
        })
        .collect()
}

/// One diagnostic as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// `rules::duplicate_target`.
    pub code: String,
    /// An error (else a warning).
    pub error: bool,
    /// The message, prefixed with what it concerns when that is not a row.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// `file:line`.
    pub location: String,
}

/// Diagnostics sorted by what they concern: a row, or the draft as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placed {
    /// Row (0-based) -> its diagnostics.
    pub rows: BTreeMap<usize, Vec<Shown>>,
    /// Diagnostics about no row (a deleted mapping, the profile, a kept item).
    pub general: Vec<Shown>,
}

/// Puts each diagnostic next to the row whose line it points at (in the overlay, or for a
/// diagnostic in the profile, through its related diagnostics).
#[must_use]
pub fn place(diagnostics: &[RulesDiagnostic], draft: &Draft) -> Placed {
    let mut placed = Placed::default();
    for diagnostic in diagnostics {
        if diagnostic.severity == Severity::Advice || diagnostic.code == Code::Note {
            continue;
        }
        let line = std::iter::once(diagnostic)
            .chain(diagnostic.related.iter())
            .filter(|d| in_overlay(&d.location.file))
            .map(|d| d.location.line)
            .next();
        let mut shown = Shown {
            code: diagnostic.code.to_string(),
            error: diagnostic.is_error(),
            message: diagnostic.message.clone(),
            help: diagnostic.help.clone(),
            location: diagnostic.location.to_string(),
        };
        match line {
            Some(line) if draft.row_lines.contains_key(&line) => {
                let row = draft.row_lines[&line];
                placed.rows.entry(row).or_default().push(shown);
            }
            Some(line) if draft.remove_lines.contains_key(&line) => {
                shown.message = format!(
                    "Deleting `{}`: {}",
                    draft.remove_lines[&line], shown.message
                );
                placed.general.push(shown);
            }
            _ => placed.general.push(shown),
        }
    }
    placed
}

fn in_overlay(file: &str) -> bool {
    let script = std::path::Path::new(file)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("rhai"));
    file != "target.rules" && file != "default.rules" && !script
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{ProfileSources, embedded_clarizen};

    fn profile() -> ProfileSources {
        embedded_clarizen()
    }

    fn base() -> CheckedRules {
        crate::check::check(&profile()).rules.unwrap()
    }

    /// The index of the row writing `target`.
    fn row_of(rows: &[Row], target: &str) -> usize {
        rows.iter().position(|r| r.target == target).unwrap()
    }

    fn check(text: &str) -> crate::check::CheckReport {
        let mut sources = profile();
        sources.overlay =
            (!text.is_empty()).then(|| crate::check::SourceFile::new("overlay.rules", text));
        crate::check::check(&sources)
    }

    /// The profile's rows with the one writing `from` moved to write `to`: its index, and
    /// the overlay the table writes.
    fn moved(from: &str, to: &str) -> (usize, Draft) {
        let base = base();
        let mut rows = editable_rows(&base);
        let moved = row_of(&rows, from);
        rows[moved].target = to.into();
        (moved, write_overlay(&base, &rows, &[]))
    }

    /// The diagnostics of an overlay the checker refuses, placed at the table's rows.
    fn refused(draft: &Draft) -> Placed {
        let report = check(&draft.text);
        assert!(report.rules.is_none(), "{}", draft.text);
        place(&report.diagnostics, draft)
    }

    fn row(target: &str, source: &str, transforms: &str) -> Row {
        Row {
            target: target.into(),
            source: source.into(),
            transforms: transforms.into(),
        }
    }

    #[test]
    fn every_offered_path_checks_and_round_trips() {
        let choices = scim_choices();
        assert!(choices.len() > 40, "{}", choices.len());
        for wanted in [
            "userName",
            "title",
            "active",
            "externalId",
            "name.givenName",
            "emails[primary eq true].value",
            "emails[type eq \"work\"].value",
            "phoneNumbers[type eq \"mobile\"].value",
            "addresses[type eq \"work\"].country",
            "enterprise.costCenter",
            "enterprise.manager.value",
        ] {
            assert!(choices.iter().any(|c| c.path == wanted), "{wanted} offered");
        }
        for unwanted in [
            "password",
            "id",
            "meta.created",
            "groups[type eq \"direct\"].value",
        ] {
            assert!(
                !choices.iter().any(|c| c.path.starts_with(unwanted)),
                "{unwanted} not offered"
            );
        }
        // Each String path, as a custom mapping, checks clean and the checker spells it
        // exactly as offered (so a select shows the current mapping as selected).
        for choice in choices.iter().filter(|c| c.ty == FieldType::String) {
            let text = format!("mapping User {{ custom CostCenter <- {}; }}", choice.path);
            let report = check(&text);
            let rules = report.rules.unwrap_or_else(|| {
                panic!("{} does not check: {:?}", choice.path, report.diagnostics)
            });
            let mapping = rules
                .mappings(ResourceKind::User)
                .iter()
                .find(|m| m.target == "CostCenter")
                .unwrap();
            assert_eq!(mapping.source.to_string(), choice.path);
        }
        // A boolean path onto a String field is the checker's business (a type mismatch).
        let active = check("mapping User { custom CostCenter <- active; }");
        assert!(
            active
                .diagnostics
                .iter()
                .any(|d| d.code == Code::TypeMismatch)
        );
    }

    #[test]
    fn the_defaults_write_an_empty_overlay() {
        let base = base();
        let draft = write_overlay(&base, &editable_rows(&base), &[]);
        assert_eq!(draft, Draft::default());
    }

    #[test]
    fn edits_become_remaps_customs_and_removes_one_per_line() {
        let base = base();
        let mut rows = editable_rows(&base);
        // Remap OfficePhone, drop MobilePhone, add CostCenter.
        let office = row_of(&rows, "OfficePhone");
        rows[office].source = "phoneNumbers[type eq \"home\"].value".into();
        rows.retain(|r| r.target != "MobilePhone");
        rows.push(row("CostCenter", "enterprise.costCenter", "upper"));
        let draft = write_overlay(&base, &rows, &[]);
        let expected = "# Written by the admin page from the mappings table.\n\
             mapping User {\n  OfficePhone <- phoneNumbers[type eq \"home\"].value;\n  \
             custom CostCenter <- enterprise.costCenter | upper;\n  remove MobilePhone;\n}\n";
        assert_eq!(draft.text, expected);
        assert_eq!(
            draft.row_lines,
            BTreeMap::from([(3, office), (4, rows.len() - 1)])
        );
        assert_eq!(
            draft.remove_lines,
            BTreeMap::from([(5, "MobilePhone".to_owned())])
        );
        let report = check(&draft.text);
        let rules = report.rules.expect("checks");
        let effective: Vec<Row> = editable_rows(&rules);
        assert_eq!(effective, rows, "the checked overlay gives back the table");
    }

    #[test]
    fn a_profile_row_moved_to_another_field() {
        let (_, draft) = moved("OfficePhone", "CostCenter");
        assert!(
            draft
                .text
                .contains("  custom CostCenter <- phoneNumbers[type eq \"work\"].value;\n")
        );
        assert!(draft.text.contains("  remove OfficePhone;\n"));
        assert!(check(&draft.text).rules.is_some(), "{}", draft.text);
    }

    #[test]
    fn a_duplicate_target_is_written_so_the_checker_sees_it_at_its_row() {
        let (mobile, draft) = moved("MobilePhone", "OfficePhone");
        let placed = refused(&draft);
        let at_row = &placed.rows[&mobile];
        assert_eq!(at_row[0].code, "rules::duplicate_target");
        assert!(at_row[0].help.is_some());
        assert!(placed.general.is_empty(), "{:?}", placed.general);
    }

    #[test]
    fn a_deleted_hooked_field_is_reported_about_the_deletion() {
        let base = base();
        let mut rows = editable_rows(&base);
        rows.retain(|r| r.target != "ScimSyncJobTitle");
        let placed = refused(&write_overlay(&base, &rows, &[]));
        assert!(placed.rows.is_empty());
        assert_eq!(placed.general.len(), 1, "{:?}", placed.general);
        assert_eq!(placed.general[0].code, "rules::hook_unmapped_field");
        assert!(placed.general[0].location.starts_with("default.rules:"));
        assert!(
            placed.general[0]
                .help
                .as_deref()
                .is_some_and(|h| h.contains("overlay.rules:")),
            "{:?}",
            placed.general[0]
        );
    }

    #[test]
    fn items_the_table_does_not_show_are_kept() {
        let overlay = "mapping User {\n  remove MobilePhone;\n}\n\nhooks User {\n  on change OfficePhone => run \"workflows/job_title.rhai\" fn link_job_title;\n}\n";
        let kept = kept_items(overlay);
        assert_eq!(kept.len(), 1);
        assert!(kept[0].starts_with("hooks User {"));
        let base = base();
        let draft = write_overlay(&base, &editable_rows(&base), &kept);
        assert!(draft.text.starts_with("hooks User {"), "{}", draft.text);
        assert!(check(&draft.text).rules.is_some());
        assert!(kept_items("mapping User {").is_empty());
    }

    #[test]
    fn posted_rows_are_read_and_checked() {
        let base = base();
        let choices = Choices::new(&base, &base);
        let form = Form::parse(
            "rows=2&target.0=OfficePhone&source.0=phoneNumbers%5Btype+eq+%22work%22%5D.value&transforms.0=trim&target.1=CostCenter&source.1=enterprise.costCenter",
        );
        let rows = rows_from_form(&form, &choices).unwrap();
        assert_eq!(
            rows,
            vec![
                row(
                    "OfficePhone",
                    "phoneNumbers[type eq \"work\"].value",
                    "trim"
                ),
                row("CostCenter", "enterprise.costCenter", ""),
            ]
        );
        for (bad, says) in [
            ("rows=x", "0 to 200 rows"),
            ("rows=201", "0 to 200 rows"),
            ("rows=1&source.0=title", "row 1: choose a Clarizen field"),
            ("rows=1&target.0=Nope&source.0=title", "has no field `Nope`"),
            ("rows=1&target.0=Country", "row 1: choose a SCIM attribute"),
            (
                "rows=1&target.0=Country&source.0=title%3B+%7D",
                "not a SCIM attribute the table offers",
            ),
            (
                "rows=1&target.0=Country&source.0=title&transforms.0=trim%3B+%7D+policy",
                "transforms are names",
            ),
            (
                "rows=1&target.0=Country&source.0=title&transforms.0=trim%0Aremove+Email",
                "transforms are names",
            ),
        ] {
            let err = rows_from_form(&Form::parse(bad), &choices).unwrap_err();
            assert!(err.0.contains(says), "{bad}: {err}");
        }
        let new = Form::parse("new_target=HireDate&new_source=title");
        assert!(
            new_row_from_form(&new, &choices)
                .unwrap_err()
                .0
                .contains("only target String fields")
        );
    }

    #[test]
    fn field_choices_fit_the_row_type() {
        let base = base();
        let choices = Choices::new(&base, &base);
        let strings = choices.fields_of_type(&FieldType::String);
        assert!(strings.contains(&"CostCenter".to_owned()));
        assert!(!strings.contains(&"UserName".to_owned()), "locked");
        assert!(!strings.contains(&"HireDate".to_owned()), "not a String");
        assert_eq!(
            choices.fields_of_type(&FieldType::Ref("User".into())),
            vec!["DirectManager".to_owned()]
        );
        assert!(
            choices
                .fields_of_type(&FieldType::Ref("JobTitle".into()))
                .is_empty(),
            "read-only"
        );
        let bools: Vec<String> = choices
            .sources_of_type(&FieldType::Bool)
            .into_iter()
            .flat_map(|(_, paths)| paths)
            .collect();
        assert_eq!(bools, vec!["active".to_owned()]);
    }
}
