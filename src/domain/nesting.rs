//! How deep text nests, counted without parsing it: the guard in front of every recursive
//! parser (JSON bodies, filters) and of every row the store writes.

/// Whether `bytes` opens more than `limit` levels at once, counting `openers` up and
/// `closers` down outside double-quoted strings (with `\` escapes, as in JSON and filters).
/// One pass, no recursion: safe on any input.
pub fn nests_deeper(bytes: &[u8], openers: &[u8], closers: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if byte == b'"' {
            in_string = true;
        } else if openers.contains(&byte) {
            depth += 1;
            if depth > limit {
                return true;
            }
        } else if closers.contains(&byte) {
            depth = depth.saturating_sub(1);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::nests_deeper;

    #[test]
    fn nesting_is_counted_outside_strings() {
        let json = |text: &[u8], limit| nests_deeper(text, b"{[", b"}]", limit);
        let text = br#"{"a":[1,{"b":"[[[{{"}]}"#;
        assert!(json(text, 2) && !json(text, 3));
        assert!(!json(br#""\"[""#, 0));
        assert!(!json(b"1", 0));
        assert!(json(b"[", 0));
    }
}
