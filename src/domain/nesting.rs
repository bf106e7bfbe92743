//! How deep text nests, counted without parsing it: the guard in front of every recursive
//! parser (JSON bodies, filters) and of every row the store writes.

/// Whether `bytes` opens more than `limit` levels at once, counting `openers` up and
/// `closers` down outside double-quoted strings (with `\` escapes, as in JSON and filters).
/// One pass, no recursion: safe on any input. Most of a JSON row is string text, which it
/// skips with `memchr` to the next quote or backslash.
pub fn nests_deeper(bytes: &[u8], openers: &[u8], closers: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        at += 1;
        if byte == b'"' {
            // To the string's closing quote, past every escaped character; a string left
            // open runs to the end, where nothing more can open.
            loop {
                let Some(found) = bytes
                    .get(at..)
                    .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
                else {
                    return false;
                };
                at += found;
                if bytes[at] == b'"' {
                    at += 1;
                    break;
                }
                at += 2;
            }
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

    /// The byte-at-a-time reading the scan must agree with.
    fn one_byte_at_a_time(bytes: &[u8], openers: &[u8], closers: &[u8], limit: usize) -> bool {
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

    #[test]
    fn the_scan_agrees_with_a_byte_at_a_time_reading_on_every_short_text() {
        let alphabet = br#"{[}]"\a"#;
        let mut texts: Vec<Vec<u8>> = vec![Vec::new()];
        let mut all = Vec::new();
        for _ in 0..6 {
            texts = texts
                .iter()
                .flat_map(|t| alphabet.iter().map(move |&b| [t.as_slice(), &[b]].concat()))
                .collect();
            all.extend(texts.iter().cloned());
        }
        let mut deeper = 0;
        for text in &all {
            for limit in 0..4 {
                let expected = one_byte_at_a_time(text, b"{[", b"}]", limit);
                assert_eq!(
                    nests_deeper(text, b"{[", b"}]", limit),
                    expected,
                    "{text:?} {limit}"
                );
                deeper += usize::from(expected);
            }
        }
        assert!(
            all.len() > 100_000 && deeper > 10_000,
            "{} {deeper}",
            all.len()
        );
    }
}
