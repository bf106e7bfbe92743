//! The rules language syntax: pest grammar (`grammar/rules.pest`) -> typed AST with a span
//! on every node. Names are kept as written; the checker (`crate::check`) gives them
//! meaning. Nothing here depends on another module of the crate.

pub mod ast;
mod lower;

pub use ast::*;

/// A syntax error: where parsing stopped, what was expected there, in the language's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// `expected `;`, found `}``.
    pub message: String,
    /// The offending token (empty at the end of the file).
    pub span: Span,
    /// What the parser would have accepted there, each spelt as in the language.
    pub expected: Vec<String>,
}

/// Parses one rules file into its AST. Never panics; the first syntax error ends the parse.
pub fn parse(source: &str) -> Result<File, SyntaxError> {
    lower::parse(source)
}
