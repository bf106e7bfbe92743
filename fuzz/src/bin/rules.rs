//! The rules parser and checker on a mutated profile: the first byte picks which file of
//! the built-in Clarizen profile the rest replaces (target, default rules, an overlay, or
//! the hook script). A report, never a panic.

use provisio::check::{SourceFile, check, embedded_clarizen};

fn main() {
    let profile = embedded_clarizen();
    afl::fuzz!(|input: &[u8]| {
        let Some((&which, rest)) = input.split_first() else {
            return;
        };
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        let mut sources = profile.clone();
        match which % 4 {
            0 => sources.target = SourceFile::new("target.rules", text),
            1 => sources.rules = SourceFile::new("default.rules", text),
            2 => sources.overlay = Some(SourceFile::new("overlay.rules", text)),
            _ => {
                if let Some(script) = sources.scripts.values_mut().next() {
                    *script = SourceFile::new(script.name.clone(), text);
                }
            }
        }
        let _ = check(&sources);
    });
}
