//! Recovery after a syntax error: the statement holding the error is blanked out (each of
//! its characters replaced by spaces, newlines kept, so every offset and line stays valid)
//! and the file is parsed again, until it parses or an error cannot be recovered from.
//!
//! Where a statement ends is found from the structure alone (`{`, `}` and `;` outside
//! strings and comments): inside a block, an error's statement runs from the previous
//! `;`, `{` or `}` to the next `;` (or up to the `}` that closes the block); between items,
//! the broken item runs up to the next line that starts an item (`mapping`, `policy`, ...).
//! An error at the end of the file (a file cut short, a `{` never closed) ends recovery.

use std::ops::Range;

/// The keywords that start a top-level item.
const ITEM_KEYWORDS: [&str; 6] = ["target", "rules", "scope", "mapping", "policy", "hooks"];

/// The text to blank out to skip the statement holding a syntax error at `offset`, or
/// `None` when the parser cannot resume after it. The range always holds something other
/// than whitespace and comments, so blanking it makes progress.
pub(super) fn statement_around(text: &str, offset: usize) -> Option<Range<usize>> {
    let delimiters = delimiters(text);
    let (before, after) = delimiters.split_at(delimiters.partition_point(|(at, _)| *at < offset));
    let depth = before.iter().fold(0usize, |depth, (_, byte)| match byte {
        b'{' => depth + 1,
        b'}' => depth.saturating_sub(1),
        _ => depth,
    });
    let start = before.last().map_or(0, |(at, _)| at + 1);
    let end = if depth == 0 {
        next_item_line(text, offset)
    } else {
        statement_end(text, start, after)?
    };
    let range = start..end;
    (!is_blank(text.get(range.clone())?)).then_some(range)
}

/// Replaces every character in `range` but newlines by spaces (as many as its bytes).
pub(super) fn blank_out(text: &mut String, range: Range<usize>) {
    let Some(old) = text.get(range.clone()) else {
        return;
    };
    let blank: String = old
        .chars()
        .flat_map(|c| {
            let fill = if c == '\n' { '\n' } else { ' ' };
            std::iter::repeat_n(fill, c.len_utf8())
        })
        .collect();
    text.replace_range(range, &blank);
}

/// Whether `text` holds only whitespace and comments.
pub(super) fn is_blank(text: &str) -> bool {
    text.split('\n').all(|line| {
        line.split_once('#')
            .map_or(line, |(code, _)| code)
            .trim()
            .is_empty()
    })
}

/// Where a statement starting at `start` inside a block ends, given the delimiters from
/// the error on: after its `;`, before the `}` closing the block (or after that `}` when
/// it is all there is), or after a nested block it opened.
fn statement_end(text: &str, start: usize, after: &[(usize, u8)]) -> Option<usize> {
    let mut nested = 0usize;
    for &(at, byte) in after {
        match byte {
            b';' if nested == 0 => return Some(at + 1),
            b'{' => nested += 1,
            b'}' if nested == 0 => {
                let stray = is_blank(text.get(start..at)?);
                return Some(if stray { at + 1 } else { at });
            }
            b'}' => {
                nested -= 1;
                if nested == 0 {
                    return Some(at + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The start of the first line after the one holding `offset` that begins with an item
/// keyword, or the end of the text.
fn next_item_line(text: &str, offset: usize) -> usize {
    let mut line_start = text
        .get(offset..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |newline| offset + newline + 1);
    while line_start < text.len() {
        let line = text.get(line_start..).unwrap_or("");
        let word_end = line
            .trim_start()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(line.trim_start().len());
        if ITEM_KEYWORDS.contains(&&line.trim_start()[..word_end]) {
            return line_start;
        }
        line_start = line
            .find('\n')
            .map_or(text.len(), |newline| line_start + newline + 1);
    }
    text.len()
}

/// The offsets of `{`, `}` and `;` outside strings and comments. Strings end at their
/// closing quote or at the end of the line (the grammar lets no string span lines).
fn delimiters(text: &str) -> Vec<(usize, u8)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => {
                at += 1;
                while let Some(&inner) = bytes.get(at) {
                    match inner {
                        b'"' | b'\n' => break,
                        b'\\' if bytes.get(at + 1).is_some_and(|&next| next != b'\n') => at += 2,
                        _ => at += 1,
                    }
                }
            }
            b'#' => {
                while bytes.get(at).is_some_and(|&inner| inner != b'\n') {
                    at += 1;
                }
            }
            b'{' | b'}' | b';' => found.push((at, byte)),
            _ => {}
        }
        at += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(text, the error's first token, the text skipped)`.
    const CASES: [(&str, &str, Option<&str>); 6] = [
        // Inside a block: the statement runs from the previous `;` to its own.
        (
            "mapping User {\n  A <- a;\n  B <- b\n  C <- c;\n  D <- d;\n}\n",
            "C <-",
            Some("\n  B <- b\n  C <- c;"),
        ),
        // Without a `;`: up to the brace that closes the block.
        (
            "policy User { on created => create }",
            "}",
            Some(" on created => create "),
        ),
        // A stray `;` after a nested block.
        ("target t { entity A { } ; }", ";", Some(" ;")),
        // Between items: up to the next line that starts an item.
        (
            "rules \"x\" target t version one;\nscope { }\nmapping User { A <- a; }\n",
            "one",
            Some("rules \"x\" target t version one;\n"),
        ),
        // Delimiters in strings and comments do not count.
        (
            "mapping User {\n  A <- a; # ; }\n  B <- \"; }\" x;\n}",
            "\"; }\"",
            Some(" # ; }\n  B <- \"; }\" x;"),
        ),
        // The end of a file cut short cannot be skipped.
        ("mapping User { A <- ", "A", None),
    ];

    #[test]
    fn the_statement_around_an_error_is_skipped() {
        for (text, at, expected) in CASES {
            let offset = text.find(at).expect("marker");
            let skipped = statement_around(text, offset).map(|range| &text[range]);
            assert_eq!(skipped, expected, "{text:?} at {at:?}");
        }
    }

    #[test]
    fn a_stray_closing_brace_between_items_is_skipped() {
        let text = "target t { entity A { x: String; } } }";
        let last = text.rfind('}').expect("brace");
        let skipped = statement_around(text, last).map(|range| &text[range]);
        assert_eq!(skipped, Some(" }"));
    }

    #[test]
    fn blanking_keeps_offsets_and_lines() {
        let mut text = "a é;\nb;".to_string();
        let end = text.len() - 2;
        blank_out(&mut text, 0..end);
        assert_eq!(text, "     \nb;");
        assert!(is_blank("  # comment\n\t"));
        assert!(!is_blank("  x # comment"));
    }
}
