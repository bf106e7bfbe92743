//! Checker diagnostics: plain data (code, severity, message, location, labels, help) that
//! also implements [`miette::Diagnostic`]. Rendering is left to callers (`main.rs`, tests,
//! the admin API).

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceCode};
use serde::{Serialize, Serializer};

use crate::syntax::Span;

/// The stable code of a diagnostic, shown as `rules::NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// Context for another diagnostic, in another file (always [`Severity::Advice`]).
    Note,
    /// The file does not parse.
    Syntax,
    /// An integer out of range (version, `truncate(N)`, a literal).
    InvalidNumber,
    /// A required declaration is missing (`target`, the `rules` header).
    MissingDeclaration,
    /// A statement in a file that may not hold it (a mapping in target.rules).
    MisplacedStatement,
    /// A statement written twice where once is allowed (header, scope, invite, ...).
    DuplicateStatement,
    /// The `rules` header names a target that target.rules does not declare.
    UnknownTarget,
    /// Two entities with one name.
    DuplicateEntity,
    /// Two fields with one name in an entity.
    DuplicateField,
    /// A field type that does not exist.
    UnknownType,
    /// A type used with a missing or extra type argument.
    InvalidType,
    /// A block names a SCIM resource type that does not exist.
    UnknownResource,
    /// A name that is not an entity of the target.
    UnknownEntity,
    /// A name that is not a field of the entity.
    UnknownField,
    /// A SCIM path segment (or schema URN) that the built-in schema does not define.
    UnknownScimPath,
    /// A path ending on a complex attribute.
    IncompletePath,
    /// A value filter on an attribute that is not multi-valued.
    InvalidFilter,
    /// A value-filter attribute that is not a sub-attribute of the filtered attribute.
    UnknownFilterAttribute,
    /// An operator that is not allowed where it is written.
    UnknownOperator,
    /// A situation that does not exist.
    UnknownSituation,
    /// An action that does not exist.
    UnknownAction,
    /// An action with a missing or extra argument.
    ActionArgument,
    /// A transform that does not exist.
    UnknownTransform,
    /// A transform with wrong arguments.
    TransformArguments,
    /// A transform applied to a value of the wrong type, or a transform chain whose result
    /// does not have the target field's type.
    TransformType,
    /// A source whose type differs from the target field's type, with no transform.
    TypeMismatch,
    /// A `custom` mapping to a field that is not a String.
    CustomNotString,
    /// A mapping onto a `readonly` field.
    ReadonlyTarget,
    /// A field mapped twice.
    DuplicateTarget,
    /// `skip F` where F is not a mapped Ref field.
    SkipNotRef,
    /// `reject X` where X is not a SCIM error type.
    UnknownScimType,
    /// `match existing by F` where F is not a unique String field.
    MatchFieldNotUnique,
    /// A situation whose reactions are all guarded.
    NotExhaustive,
    /// A reaction after an unguarded one for the same situation (a warning).
    UnreachableReaction,
    /// An overlay that changes or removes a locked mapping.
    LockedInOverlay,
    /// An overlay statement that overlays may not make.
    OverlayForbidden,
    /// `remove F` where F is not mapped.
    NothingToRemove,
    /// A hook whose script is not in the profile.
    HookScriptMissing,
    /// A hook script that does not compile.
    HookCompile,
    /// A hook naming a function the script does not define.
    HookMissingFn,
    /// A hook function without exactly three parameters.
    HookArity,
    /// A hook watching a field that no mapping writes.
    HookUnmappedField,
    /// An edition declared twice.
    DuplicateEdition,
    /// A role declared twice.
    DuplicateRole,
    /// `provisioning needs R` where R is not a declared role.
    UnknownRole,
}

impl Code {
    /// Every code, in declaration order.
    pub const ALL: [Code; 45] = [
        Code::Note,
        Code::Syntax,
        Code::InvalidNumber,
        Code::MissingDeclaration,
        Code::MisplacedStatement,
        Code::DuplicateStatement,
        Code::UnknownTarget,
        Code::DuplicateEntity,
        Code::DuplicateField,
        Code::UnknownType,
        Code::InvalidType,
        Code::UnknownResource,
        Code::UnknownEntity,
        Code::UnknownField,
        Code::UnknownScimPath,
        Code::IncompletePath,
        Code::InvalidFilter,
        Code::UnknownFilterAttribute,
        Code::UnknownOperator,
        Code::UnknownSituation,
        Code::UnknownAction,
        Code::ActionArgument,
        Code::UnknownTransform,
        Code::TransformArguments,
        Code::TransformType,
        Code::TypeMismatch,
        Code::CustomNotString,
        Code::ReadonlyTarget,
        Code::DuplicateTarget,
        Code::SkipNotRef,
        Code::UnknownScimType,
        Code::MatchFieldNotUnique,
        Code::NotExhaustive,
        Code::UnreachableReaction,
        Code::LockedInOverlay,
        Code::OverlayForbidden,
        Code::NothingToRemove,
        Code::HookScriptMissing,
        Code::HookCompile,
        Code::HookMissingFn,
        Code::HookArity,
        Code::HookUnmappedField,
        Code::DuplicateEdition,
        Code::DuplicateRole,
        Code::UnknownRole,
    ];

    /// The code as shown: `rules::unknown_field`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Note => "rules::note",
            Code::Syntax => "rules::syntax",
            Code::InvalidNumber => "rules::invalid_number",
            Code::MissingDeclaration => "rules::missing_declaration",
            Code::MisplacedStatement => "rules::misplaced_statement",
            Code::DuplicateStatement => "rules::duplicate_statement",
            Code::UnknownTarget => "rules::unknown_target",
            Code::DuplicateEntity => "rules::duplicate_entity",
            Code::DuplicateField => "rules::duplicate_field",
            Code::UnknownType => "rules::unknown_type",
            Code::InvalidType => "rules::invalid_type",
            Code::UnknownResource => "rules::unknown_resource",
            Code::UnknownEntity => "rules::unknown_entity",
            Code::UnknownField => "rules::unknown_field",
            Code::UnknownScimPath => "rules::unknown_scim_path",
            Code::IncompletePath => "rules::incomplete_path",
            Code::InvalidFilter => "rules::invalid_filter",
            Code::UnknownFilterAttribute => "rules::unknown_filter_attribute",
            Code::UnknownOperator => "rules::unknown_operator",
            Code::UnknownSituation => "rules::unknown_situation",
            Code::UnknownAction => "rules::unknown_action",
            Code::ActionArgument => "rules::action_argument",
            Code::UnknownTransform => "rules::unknown_transform",
            Code::TransformArguments => "rules::transform_arguments",
            Code::TransformType => "rules::transform_type",
            Code::TypeMismatch => "rules::type_mismatch",
            Code::CustomNotString => "rules::custom_not_string",
            Code::ReadonlyTarget => "rules::readonly_target",
            Code::DuplicateTarget => "rules::duplicate_target",
            Code::SkipNotRef => "rules::skip_not_ref",
            Code::UnknownScimType => "rules::unknown_scim_type",
            Code::MatchFieldNotUnique => "rules::match_field_not_unique",
            Code::NotExhaustive => "rules::not_exhaustive",
            Code::UnreachableReaction => "rules::unreachable_reaction",
            Code::LockedInOverlay => "rules::locked_in_overlay",
            Code::OverlayForbidden => "rules::overlay_forbidden",
            Code::NothingToRemove => "rules::nothing_to_remove",
            Code::HookScriptMissing => "rules::hook_script_missing",
            Code::HookCompile => "rules::hook_compile",
            Code::HookMissingFn => "rules::hook_missing_fn",
            Code::HookArity => "rules::hook_arity",
            Code::HookUnmappedField => "rules::hook_unmapped_field",
            Code::DuplicateEdition => "rules::duplicate_edition",
            Code::DuplicateRole => "rules::duplicate_role",
            Code::UnknownRole => "rules::unknown_role",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How bad a diagnostic is. Only errors fail a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The rules cannot be used.
    Error,
    /// Suspicious but usable (an unreachable reaction).
    Warning,
    /// Context for another diagnostic (where a locked mapping was declared).
    Advice,
}

/// A byte range in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ByteSpan {
    /// Offset of the first byte.
    pub offset: usize,
    /// Length in bytes (0 at the end of a file).
    pub length: usize,
}

/// Where a diagnostic or label points: a file, 1-based line and column (in characters),
/// and the byte span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// File name as given to the checker (`default.rules`, `workflows/job_title.rhai`).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// Byte span.
    pub span: ByteSpan,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A secondary label in the same file as its diagnostic ("first mapped here").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// Where it points.
    #[serde(flatten)]
    pub location: Location,
    /// What it says.
    pub label: String,
}

/// One finding of the checker.
///
/// Invariant: `location` and every note lie in the file named by `location.file`, whose
/// text the diagnostic carries for rendering; labels in another file are `related`
/// diagnostics of severity [`Severity::Advice`].
#[derive(Debug, Clone, Serialize)]
pub struct RulesDiagnostic {
    /// Stable code.
    pub code: Code,
    /// Severity.
    pub severity: Severity,
    /// One-line message.
    pub message: String,
    /// The primary location.
    #[serde(flatten)]
    pub location: Location,
    /// The primary label's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Secondary labels in the same file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// What to do about it ("did you mean `Department`?").
    pub help: Option<String>,
    /// Diagnostics in other files that explain this one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<RulesDiagnostic>,
    #[serde(skip)]
    file: Arc<FileInfo>,
}

impl RulesDiagnostic {
    pub(crate) fn new(
        code: Code,
        severity: Severity,
        file: &Arc<FileInfo>,
        span: Span,
        message: impl Into<String>,
    ) -> RulesDiagnostic {
        RulesDiagnostic {
            code,
            severity,
            message: message.into(),
            location: file.location(span),
            label: None,
            notes: Vec::new(),
            help: None,
            related: Vec::new(),
            file: Arc::clone(file),
        }
    }

    pub(crate) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub(crate) fn note(mut self, span: Span, label: impl Into<String>) -> Self {
        self.notes.push(Note {
            location: self.file.location(span),
            label: label.into(),
        });
        self
    }

    pub(crate) fn related(mut self, related: RulesDiagnostic) -> Self {
        self.related.push(related);
        self
    }

    /// Whether this diagnostic fails the check.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The full text of the file the diagnostic points into.
    #[must_use]
    pub fn source_text(&self) -> &str {
        &self.file.text
    }
}

impl fmt::Display for RulesDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RulesDiagnostic {}

impl miette::Diagnostic for RulesDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if self.code == Code::Note {
            return None;
        }
        Some(Box::new(self.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Advice => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.file.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = LabeledSpan::new_primary_with_span(
            self.label.clone(),
            (self.location.span.offset, self.location.span.length),
        );
        let notes = self.notes.iter().map(|note| {
            LabeledSpan::new_with_span(
                Some(note.label.clone()),
                (note.location.span.offset, note.location.span.length),
            )
        });
        Some(Box::new(std::iter::once(primary).chain(notes)))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|d| d as &dyn miette::Diagnostic),
        ))
    }
}

/// One source file as the checker sees it: name, text and line index.
#[derive(Debug)]
pub(crate) struct FileInfo {
    pub(crate) name: String,
    pub(crate) text: Arc<str>,
    source: NamedSource<Arc<str>>,
    line_starts: Vec<usize>,
}

impl FileInfo {
    pub(crate) fn new(name: &str, text: &str) -> Arc<FileInfo> {
        let text: Arc<str> = Arc::from(text);
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Arc::new(FileInfo {
            name: name.to_string(),
            source: NamedSource::new(name, Arc::clone(&text)),
            text,
            line_starts,
        })
    }

    /// 1-based line of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> u32 {
        let index = self.line_starts.partition_point(|&start| start <= offset);
        u32::try_from(index.max(1)).unwrap_or(u32::MAX)
    }

    pub(crate) fn location(&self, span: Span) -> Location {
        let offset = span.start.min(self.text.len());
        let end = span.end.clamp(offset, self.text.len());
        let line = self.line(offset);
        let line_start = self
            .line_starts
            .get(line as usize - 1)
            .copied()
            .unwrap_or(0);
        let column = self
            .text
            .get(line_start..offset)
            .map_or(offset - line_start, |s| s.chars().count())
            + 1;
        Location {
            file: self.name.clone(),
            line,
            column: u32::try_from(column).unwrap_or(u32::MAX),
            span: ByteSpan {
                offset,
                length: end - offset,
            },
        }
    }

    /// The byte offset of a 1-based line and character column, clamped into the file.
    pub(crate) fn offset_of(&self, line: usize, column: usize) -> usize {
        let Some(&line_start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = self.text.get(line_start..).unwrap_or("");
        let line_text = rest.split('\n').next().unwrap_or("");
        line_start
            + line_text
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(line_text.len(), |(i, _)| i)
    }
}
