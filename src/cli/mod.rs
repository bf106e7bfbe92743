//! One file per command family; each owns its output.

pub mod admin;
pub mod check;
pub mod explain;
pub mod serve;

use std::path::Path;

use provisio::check::{
    CheckedRules, LoadError, RulesError, SourceFile, check as check_rules, embedded_clarizen,
    load_checked,
};

/// The profile folder used when none is named.
pub const DEFAULT_PROFILE: &str = "rules/clarizen";

/// Loads and checks the rules for `serve` and `explain`: the named folder; else
/// `rules/clarizen` when it exists; else the Clarizen profile built into the binary.
/// Returns the rules and a description of where they came from.
pub fn load_rules(
    dir: Option<&Path>,
    overlay: Option<&Path>,
) -> Result<(CheckedRules, String), RulesError> {
    let default = Path::new(DEFAULT_PROFILE);
    let folder = dir.or_else(|| default.join("default.rules").exists().then_some(default));
    if let Some(folder) = folder {
        return load_checked(folder, overlay).map(|rules| (rules, folder.display().to_string()));
    }
    let mut sources = embedded_clarizen();
    if let Some(path) = overlay {
        let text = std::fs::read_to_string(path).map_err(|source| {
            RulesError::Load(LoadError::Read {
                path: path.to_path_buf(),
                source,
            })
        })?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        sources.overlay = Some(SourceFile::new(name, text));
    }
    let report = check_rules(&sources);
    match report.rules {
        Some(rules) => Ok((rules, "the built-in Clarizen profile".to_string())),
        None => Err(RulesError::Invalid {
            diagnostics: report.diagnostics,
        }),
    }
}
