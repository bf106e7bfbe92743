//! Where a decision came from: a rule at `file:line`, or the built-in default.

use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// Where a rule was written: a file (relative to the profile folder, or the overlay's
/// file name) and a 1-based line. Displayed as `file:line` in Plans and history.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RuleOrigin {
    /// File name as given to the checker, e.g. `default.rules`; shared, since every write
    /// and history entry a rule makes names it.
    #[serde(serialize_with = "text")]
    pub file: Arc<str>,
    /// 1-based line of the rule's first token.
    pub line: u32,
}

fn text<S: Serializer>(file: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(file)
}

impl fmt::Display for RuleOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What decided something in a Plan: a rule, or the built-in default when the rules are
/// silent. Written `default.rules:34` or `built-in`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A rule.
    Rule(RuleOrigin),
    /// The built-in default.
    BuiltIn,
}

impl Origin {
    /// The text of [`Origin::BuiltIn`].
    pub const BUILT_IN: &'static str = "built-in";
}

impl From<&RuleOrigin> for Origin {
    fn from(origin: &RuleOrigin) -> Origin {
        Origin::Rule(origin.clone())
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Rule(rule) => rule.fmt(f),
            Origin::BuiltIn => f.write_str(Origin::BUILT_IN),
        }
    }
}

impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
