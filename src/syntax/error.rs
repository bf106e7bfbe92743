//! Syntax errors as data: where parsing stopped, what the grammar would have accepted there
//! ([`Expected`]) and what it found instead ([`Found`]). These types own the wording of
//! "expected ..., found ..."; the checker adds labels and help around it.

use std::fmt;

use super::ast::Span;

/// A syntax error in one rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyntaxError {
    /// The text at `span` does not fit the grammar.
    Unexpected {
        /// The offending token; at the end of the file, the last character written.
        span: Span,
        /// What the grammar accepts there, deduplicated, in the grammar's order.
        expected: Vec<Expected>,
        /// What is there instead.
        found: Found,
        /// The last character before the offending token that is not whitespace: where a
        /// missing `;` belongs.
        preceding: Option<Span>,
    },
    /// The parser refused to go on (pest's call or stack limit): pathological input.
    TooComplex {
        /// Where the parser stopped.
        span: Span,
        /// The parser's own reason (`call limit reached`).
        reason: String,
    },
    /// The parse tree has a shape the grammar should make impossible (a bug of ours).
    Malformed {
        /// The node that could not be lowered.
        span: Span,
    },
}

impl SyntaxError {
    /// Where the error points.
    #[must_use]
    pub fn span(&self) -> Span {
        match self {
            SyntaxError::Unexpected { span, .. }
            | SyntaxError::TooComplex { span, .. }
            | SyntaxError::Malformed { span } => *span,
        }
    }

    /// Whether parsing ran into the end of the file (a file cut short or a `{` not closed).
    #[must_use]
    pub fn at_end_of_file(&self) -> bool {
        matches!(
            self,
            SyntaxError::Unexpected {
                found: Found::EndOfFile,
                ..
            }
        )
    }

    /// Whether `token` is among what the grammar would have accepted.
    #[must_use]
    pub fn expects(&self, token: &Expected) -> bool {
        match self {
            SyntaxError::Unexpected { expected, .. } => expected.contains(token),
            SyntaxError::TooComplex { .. } | SyntaxError::Malformed { .. } => false,
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxError::Unexpected {
                expected, found, ..
            } => match expected.split_last() {
                None => write!(f, "unexpected {found}"),
                Some((last, [])) => write!(f, "expected {last}, found {found}"),
                Some((last, init)) => {
                    f.write_str("expected ")?;
                    for (i, item) in init.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write!(f, "{item}")?;
                    }
                    write!(f, " or {last}, found {found}")
                }
            },
            SyntaxError::TooComplex { reason, .. } => {
                write!(f, "the file is too complex to parse ({reason})")
            }
            SyntaxError::Malformed { .. } => {
                f.write_str("internal error: unexpected parse tree shape")
            }
        }
    }
}

impl std::error::Error for SyntaxError {}

/// What a syntax error found where the grammar expected something else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The file ends there.
    EndOfFile,
    /// A word: letters, digits and `_`.
    Word(String),
    /// One character that does not start a word.
    Char(char),
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::EndOfFile => f.write_str("end of file"),
            Found::Word(word) => write!(f, "`{word}`"),
            Found::Char(c) if c.is_whitespace() || c.is_control() => write!(f, "{c:?}"),
            Found::Char(c) => write!(f, "`{c}`"),
        }
    }
}

/// A punctuation token of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Punct {
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `<`
    LAngle,
    /// `>`
    RAngle,
    /// `;`
    Semi,
    /// `:`
    Colon,
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// `|`
    Pipe,
    /// `=>`
    Arrow,
    /// `<-`
    LArrow,
}

impl Punct {
    /// The token as written.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Punct::LBrace => "{",
            Punct::RBrace => "}",
            Punct::LParen => "(",
            Punct::RParen => ")",
            Punct::LBracket => "[",
            Punct::RBracket => "]",
            Punct::LAngle => "<",
            Punct::RAngle => ">",
            Punct::Semi => ";",
            Punct::Colon => ":",
            Punct::Comma => ",",
            Punct::Dot => ".",
            Punct::Pipe => "|",
            Punct::Arrow => "=>",
            Punct::LArrow => "<-",
        }
    }
}

/// One thing the grammar would have accepted where a syntax error occurred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expected {
    /// The end of the file.
    EndOfFile,
    /// A keyword, as written (`mapping`).
    Keyword(&'static str),
    /// A punctuation token.
    Punct(Punct),
    /// `NAME: TYPE;` in an entity.
    FieldDeclaration,
    /// A field type.
    Type,
    /// `unique` or `readonly`.
    FieldFlag,
    /// `FIELD <- PATH;` in a mapping block.
    Mapping,
    /// `locked` or `custom`.
    Modifier,
    /// A transform after `|`.
    Transform,
    /// An argument of a transform.
    TransformArgument,
    /// `never` or `always`.
    InviteMode,
    /// `provisioning` or `default` after an edition.
    EditionFlag,
    /// `discard` or `hash`.
    PasswordMode,
    /// An edition or role name, bare or quoted.
    LevelName,
    /// `PATH == VALUE` in a guard.
    GuardComparison,
    /// An action after `=>`.
    Action,
    /// A SCIM attribute path.
    ScimPath,
    /// A schema URN.
    SchemaUrn,
    /// A SCIM attribute name.
    AttributeName,
    /// `[...]` after an attribute.
    ValueFilter,
    /// `ATTR eq VALUE` in a value filter.
    FilterComparison,
    /// A comparison operator.
    Operator,
    /// A literal value.
    Value,
    /// A name (identifier).
    Name,
    /// A whole number.
    Number,
    /// A string literal.
    String,
    /// The items of a rules file.
    RulesFile,
    /// A letter, digit or `_` inside a name.
    NameCharacter,
    /// Whitespace or a comment.
    Whitespace,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Expected::Keyword(keyword) => return write!(f, "`{keyword}`"),
            Expected::Punct(punct) => return write!(f, "`{}`", punct.as_str()),
            Expected::EndOfFile => "end of file",
            Expected::FieldDeclaration => "a field declaration `NAME: TYPE;`",
            Expected::Type => "a type",
            Expected::FieldFlag => "`unique` or `readonly`",
            Expected::Mapping => "a mapping `FIELD <- PATH;`",
            Expected::Modifier => "`locked` or `custom`",
            Expected::Transform => "a transform",
            Expected::TransformArgument => "a transform argument",
            Expected::InviteMode => "`never` or `always`",
            Expected::EditionFlag => "`provisioning` or `default`",
            Expected::PasswordMode => "`discard` or `hash`",
            Expected::LevelName => "a name (quoted when it has spaces: `\"Lite Admin\"`)",
            Expected::GuardComparison => "a comparison `PATH == VALUE`",
            Expected::Action => "an action",
            Expected::ScimPath => "a SCIM path",
            Expected::SchemaUrn => "a schema URN",
            Expected::AttributeName => "an attribute name",
            Expected::ValueFilter => "a value filter `[...]`",
            Expected::FilterComparison => "a comparison `ATTR eq VALUE`",
            Expected::Operator => "an operator (`eq`, `ne`, `co`, `sw`, `ew`, `==`, `!=`)",
            Expected::Value => "a value (a string, a number, `true`, `false` or `null`)",
            Expected::Name => "a name",
            Expected::Number => "a number",
            Expected::String => "a string",
            Expected::RulesFile => "a rules file",
            Expected::NameCharacter => "a letter or digit",
            Expected::Whitespace => "whitespace",
        };
        f.write_str(text)
    }
}
