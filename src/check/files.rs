//! The files of one check: which file a span lies in ([`FileId`]) and their texts with line
//! indexes ([`Files`]), for rule origins and diagnostic locations.

use std::sync::Arc;

use super::diagnostic::FileInfo;
use super::model::RuleOrigin;
use super::{ProfileSources, SourceFile};
use crate::syntax::Span;

/// One file of a profile. The order (target, rules, overlay, scripts by key) is the order
/// diagnostics are reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum FileId {
    /// `target.rules`.
    Target,
    /// `default.rules`.
    Rules,
    /// The tenant overlay (an empty file named `overlay` when there is none).
    Overlay,
    /// A hook script: its index in [`ProfileSources::scripts`] (ordered by key).
    Script(usize),
}

/// Every file of one check, by [`FileId`].
#[derive(Debug)]
pub(crate) struct Files {
    target: Arc<FileInfo>,
    rules: Arc<FileInfo>,
    overlay: Arc<FileInfo>,
    scripts: Vec<Arc<FileInfo>>,
}

impl Files {
    /// The files of `sources`.
    pub(crate) fn new(sources: &ProfileSources) -> Files {
        let overlay = sources.overlay.as_ref().map_or_else(
            || FileInfo::new("overlay", ""),
            |o| FileInfo::new(&o.name, &o.text),
        );
        Files {
            target: FileInfo::new(&sources.target.name, &sources.target.text),
            rules: FileInfo::new(&sources.rules.name, &sources.rules.text),
            overlay,
            scripts: sources
                .scripts
                .values()
                .map(|script| FileInfo::new(&script.name, &script.text))
                .collect(),
        }
    }

    /// One file. A script id from [`Files::script`] is always valid; any other falls back
    /// to the rules file rather than panic.
    pub(crate) fn get(&self, id: FileId) -> &Arc<FileInfo> {
        match id {
            FileId::Target => &self.target,
            FileId::Rules => &self.rules,
            FileId::Overlay => &self.overlay,
            FileId::Script(index) => self.scripts.get(index).unwrap_or(&self.rules),
        }
    }

    /// The script stored under `key` in `sources`, and its id.
    pub(crate) fn script<'s>(
        sources: &'s ProfileSources,
        key: &str,
    ) -> Option<(FileId, &'s SourceFile)> {
        sources
            .scripts
            .iter()
            .enumerate()
            .find(|(_, (k, _))| *k == key)
            .map(|(index, (_, script))| (FileId::Script(index), script))
    }

    /// The file's name as shown.
    pub(crate) fn name(&self, id: FileId) -> &str {
        &self.get(id).name
    }

    /// The 1-based line of an offset.
    pub(crate) fn line(&self, id: FileId, offset: usize) -> u32 {
        self.get(id).line(offset)
    }

    /// Where a rule starting at `span` was written.
    pub(crate) fn origin(&self, id: FileId, span: Span) -> RuleOrigin {
        RuleOrigin {
            file: self.name(id).into(),
            line: self.line(id, span.start),
        }
    }
}
