//! Everything the CLI prints goes through [`escape`], so that text from the database (a
//! userName, a field value, an error detail, all sent by a SCIM client) can never drive the
//! operator's terminal: control characters (ANSI escape sequences, CR, NUL, C1 controls),
//! bidirectional overrides and invisible characters are shown as visible escapes.
//!
//! [`say!`] and [`complain!`] are `println!` and `eprintln!` through [`escape`] in
//! [`Layout::Block`]; table cells use [`Layout::Line`]; machine-readable output
//! (`explain --format json|yaml`) uses [`Layout::Structured`], which keeps the document
//! valid.

use std::borrow::Cow;
use std::fmt::Write as _;

/// How the escaped text is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One line (a table cell, a name in a message): newlines and tabs are escaped too.
    Line,
    /// Running text: newlines and tabs are kept, everything else unsafe is escaped.
    Block,
    /// JSON or YAML text: newlines and tabs are kept, and unsafe characters become
    /// `\uXXXX` escapes, which JSON strings and YAML double-quoted scalars read back as the
    /// same character (serde already escapes C0 controls in what it writes).
    Structured,
}

/// Whether `c` must not reach a terminal as it is: C0 and C1 controls and DEL, the
/// bidirectional controls (which reorder what is shown), line and paragraph separators,
/// and invisible characters with no use in names (zero-width space, word joiner, BOM,
/// interlinear annotations, tag characters). Zero-width (non-)joiners stay: scripts need
/// them.
#[must_use]
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// `text` with every unsafe character (see [`is_unsafe`]) replaced by a visible escape:
/// `\n`, `\r`, `\t`, `\0` for those, `\u{1b}` (hexadecimal code point) for the others, or
/// `\uXXXX` in [`Layout::Structured`]. Borrowed when nothing needed escaping.
#[must_use]
pub fn escape(text: &str, layout: Layout) -> Cow<'_, str> {
    let keep = |c: char| layout != Layout::Line && matches!(c, '\n' | '\t');
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !is_unsafe(c) || keep(c) {
            out.push(c);
            continue;
        }
        match (layout, c) {
            (Layout::Structured, _) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04X}");
                }
            }
            (_, '\n') => out.push_str("\\n"),
            (_, '\r') => out.push_str("\\r"),
            (_, '\t') => out.push_str("\\t"),
            (_, '\0') => out.push_str("\\0"),
            _ => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// Prints to stdout through [`escape`] ([`Layout::Block`]), without a newline.
pub fn print_block(text: &str) {
    print!("{}", escape(text, Layout::Block));
}

/// Prints to stderr through [`escape`] ([`Layout::Block`]), without a newline.
pub fn eprint_block(text: &str) {
    eprint!("{}", escape(text, Layout::Block));
}

/// `println!` with the text escaped for the terminal.
macro_rules! say {
    () => {
        println!()
    };
    ($($arg:tt)*) => {
        $crate::cli::output::print_block(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` with the text escaped for the terminal.
macro_rules! complain {
    ($($arg:tt)*) => {
        $crate::cli::output::eprint_block(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {complain, say};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_sequences_and_carriage_returns_become_visible() {
        assert_eq!(
            escape("\u{1b}[31mred\u{1b}[0m\rover", Layout::Line),
            "\\u{1b}[31mred\\u{1b}[0m\\rover"
        );
    }

    #[test]
    fn bidi_controls_nul_c1_and_invisibles_are_escaped() {
        assert_eq!(
            escape("a\u{202E}b\0c\u{9b}d\u{200B}e\u{7f}", Layout::Line),
            "a\\u{202e}b\\0c\\u{9b}d\\u{200b}e\\u{7f}"
        );
    }

    #[test]
    fn lines_escape_newlines_and_tabs_blocks_keep_them() {
        assert_eq!(escape("a\nb\tc", Layout::Line), "a\\nb\\tc");
        assert_eq!(escape("a\nb\tc\u{1b}", Layout::Block), "a\nb\tc\\u{1b}");
    }

    #[test]
    fn structured_output_stays_valid_json_with_the_same_value() {
        let value = serde_json::json!({"name": "x\u{202E}y\u{9b}z\u{E0041}"});
        let text = serde_json::to_string_pretty(&value).unwrap();
        let escaped = escape(&text, Layout::Structured);
        assert!(
            escaped.chars().all(|c| !is_unsafe(c) || c == '\n'),
            "{escaped}"
        );
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in [
            "jane@ex.com",
            "José Ñúñez",
            "日本語",
            "a\u{200D}b",
            "C:\\path",
        ] {
            assert!(matches!(escape(text, Layout::Line), Cow::Borrowed(t) if t == text));
        }
    }
}
