//! One file per command family; each owns its output.

pub mod access;
pub mod admin;
pub mod check;
pub mod cluster;
pub mod db;
pub mod explain;
pub mod output;
pub mod serve;

use std::path::Path;

use provisio::check::{
    CheckedRules, LoadError, ProfileSources, RulesError, SourceFile, check as check_rules,
    embedded_clarizen,
};

/// The profile folder used when none is named.
pub const DEFAULT_PROFILE: &str = "rules/clarizen";

/// The profile for `serve`, `explain` and `overlay set`: the named folder; else
/// `rules/clarizen` when it exists; else the Clarizen profile built into the binary.
/// Returns its sources and a description of where they came from.
pub fn profile_sources(dir: Option<&Path>) -> Result<(ProfileSources, String), LoadError> {
    let default = Path::new(DEFAULT_PROFILE);
    match dir.or_else(|| default.join("default.rules").exists().then_some(default)) {
        Some(folder) => Ok((
            ProfileSources::load(folder, None)?,
            folder.display().to_string(),
        )),
        None => Ok((
            embedded_clarizen(),
            "the built-in Clarizen profile".to_string(),
        )),
    }
}

/// Checks a profile with an optional overlay; every diagnostic when it does not check.
pub fn check_with_overlay(
    mut sources: ProfileSources,
    overlay: Option<SourceFile>,
) -> Result<CheckedRules, RulesError> {
    sources.overlay = overlay;
    let report = check_rules(&sources);
    report.rules.ok_or(RulesError::Invalid {
        diagnostics: report.diagnostics,
    })
}

/// Reads an overlay file, named by its file name in diagnostics and rule origins.
pub fn read_overlay(path: &Path) -> Result<SourceFile, RulesError> {
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
    Ok(SourceFile::new(name, text))
}

/// Loads and checks the rules (see [`profile_sources`]) with an optional overlay file.
pub fn load_rules(
    dir: Option<&Path>,
    overlay: Option<&Path>,
) -> Result<(CheckedRules, String), RulesError> {
    let (sources, origin) = profile_sources(dir)?;
    let overlay = overlay.map(read_overlay).transpose()?;
    Ok((check_with_overlay(sources, overlay)?, origin))
}
