//! The rules checker: AST + target schema + built-in SCIM schema -> [`CheckedRules`], or
//! every diagnostic at once.
//!
//! A profile is a folder holding `target.rules` (the application's schema), `default.rules`
//! (mappings, scope, policies, hooks) and the hook scripts (`workflows/*.rhai`); a tenant
//! may add an overlay file on top. [`ProfileSources::load`] reads them, [`check`] checks
//! them and [`load_checked`] does both.

pub mod access;
mod diagnostic;
mod error;
mod files;
pub mod model;
mod passes;
mod render;
mod suggest;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

pub use access::*;
pub use diagnostic::{ByteSpan, Code, Location, Note, RulesDiagnostic, Severity};
pub use model::*;

/// One source text and the name diagnostics and rule origins call it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// File name as shown (`default.rules`, `workflows/job_title.rhai`, `acme.rules`).
    pub name: String,
    /// The text.
    pub text: String,
}

impl SourceFile {
    /// A source file from a name and a text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// Everything the checker reads: the profile's two rules files, an optional tenant
/// overlay, and the hook scripts by the path the rules use for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSources {
    /// `target.rules`.
    pub target: SourceFile,
    /// `default.rules`.
    pub rules: SourceFile,
    /// A tenant overlay.
    pub overlay: Option<SourceFile>,
    /// Hook scripts; key = path relative to the profile folder with `/` separators, as
    /// written in rules (`workflows/job_title.rhai`).
    pub scripts: BTreeMap<String, SourceFile>,
}

/// Reading a profile failed before anything could be checked.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file or folder could not be read (missing, unreadable, not UTF-8).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Folders nested deeper than this under a profile are not searched for scripts.
const MAX_SCRIPT_DEPTH: usize = 8;

impl ProfileSources {
    /// Reads `dir/target.rules`, `dir/default.rules`, every `*.rhai` below `dir`, and the
    /// overlay (named by its file name). A script the rules reference but that is absent is
    /// a diagnostic of [`check`], not a load error.
    ///
    /// # Errors
    ///
    /// [`LoadError::Read`] when a file or folder cannot be read (missing, unreadable, not
    /// UTF-8).
    pub fn load(dir: &Path, overlay: Option<&Path>) -> Result<ProfileSources, LoadError> {
        let target = read_source(&dir.join("target.rules"), "target.rules")?;
        let rules = read_source(&dir.join("default.rules"), "default.rules")?;
        let overlay = match overlay {
            Some(path) => {
                let name = path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into(),
                );
                Some(read_source(path, &name)?)
            }
            None => None,
        };
        let mut scripts = BTreeMap::new();
        collect_scripts(dir, "", 0, &mut scripts)?;
        Ok(ProfileSources {
            target,
            rules,
            overlay,
            scripts,
        })
    }
}

/// [`embedded_clarizen`], checked: the rules the unit tests of other modules run on.
#[cfg(test)]
pub(crate) fn checked_clarizen() -> CheckedRules {
    check(&embedded_clarizen())
        .rules
        .expect("the Clarizen profile checks")
}

/// The Clarizen profile built into the binary: `rules/clarizen` as it was at build time.
/// `provisio serve` and `provisio explain` use it when no profile folder is on disk.
#[must_use]
pub fn embedded_clarizen() -> ProfileSources {
    const SCRIPT: &str = "workflows/job_title.rhai";
    ProfileSources {
        target: SourceFile::new(
            "target.rules",
            include_str!("../../rules/clarizen/target.rules"),
        ),
        rules: SourceFile::new(
            "default.rules",
            include_str!("../../rules/clarizen/default.rules"),
        ),
        overlay: None,
        scripts: BTreeMap::from([(
            SCRIPT.to_string(),
            SourceFile::new(
                SCRIPT,
                include_str!("../../rules/clarizen/workflows/job_title.rhai"),
            ),
        )]),
    }
}

fn read_source(path: &Path, name: &str) -> Result<SourceFile, LoadError> {
    std::fs::read_to_string(path)
        .map(|text| SourceFile::new(name, text))
        .map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })
}

fn collect_scripts(
    dir: &Path,
    prefix: &str,
    depth: usize,
    scripts: &mut BTreeMap<String, SourceFile>,
) -> Result<(), LoadError> {
    if depth > MAX_SCRIPT_DEPTH {
        return Ok(());
    }
    let read_error = |source| LoadError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(read_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_error)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let key = format!("{prefix}{file_name}");
        // file_type() does not follow symlinks: a linked folder is never walked.
        let file_type = entry.file_type().map_err(read_error)?;
        if file_type.is_dir() {
            collect_scripts(&entry.path(), &format!("{key}/"), depth + 1, scripts)?;
        } else if Path::new(&file_name).extension() == Some(OsStr::new("rhai")) {
            let source = read_source(&entry.path(), &key)?;
            scripts.insert(key, source);
        }
    }
    Ok(())
}

/// The result of [`check`]: every diagnostic, and the checked rules when none is an error.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// `Some` exactly when no diagnostic is an error (warnings are allowed).
    pub rules: Option<CheckedRules>,
    /// Every diagnostic, ordered by file (target, rules, overlay, scripts) then position.
    pub diagnostics: Vec<RulesDiagnostic>,
}

impl CheckReport {
    /// Number of error diagnostics.
    #[must_use]
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warning diagnostics.
    #[must_use]
    pub fn warning_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }
}

/// Checks a profile (and its overlay) and reports every diagnostic at once.
#[must_use]
pub fn check(sources: &ProfileSources) -> CheckReport {
    passes::check(sources)
}

/// Why rules could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The files could not be read.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The files were read but do not check; every diagnostic is here (warnings too).
    #[error("{}", Summary(.diagnostics))]
    Invalid {
        /// Every diagnostic.
        diagnostics: Vec<RulesDiagnostic>,
    },
}

struct Summary<'a>(&'a [RulesDiagnostic]);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.0.iter().filter(|d| d.is_error()).count();
        write!(
            f,
            "the rules do not check ({errors} error{})",
            if errors == 1 { "" } else { "s" }
        )?;
        for diagnostic in self.0 {
            write!(
                f,
                "\n  {}: {}: {}",
                diagnostic.location, diagnostic.code, diagnostic.message
            )?;
        }
        Ok(())
    }
}

/// Loads and checks a profile folder and optional overlay.
///
/// # Errors
///
/// [`RulesError::Load`] when the files cannot be read; [`RulesError::Invalid`] with every
/// diagnostic when any of them is an error.
pub fn load_checked(dir: &Path, overlay: Option<&Path>) -> Result<CheckedRules, RulesError> {
    let sources = ProfileSources::load(dir, overlay)?;
    let report = check(&sources);
    report.rules.ok_or(RulesError::Invalid {
        diagnostics: report.diagnostics,
    })
}
