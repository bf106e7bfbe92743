//! Help text for misspelt names, on the crate's one suggestion function
//! ([`crate::domain::suggest::did_you_mean`]).

use crate::domain::suggest::did_you_mean;

/// "did you mean `NAME`?", when a candidate is close enough to `name`.
pub(crate) fn suggestion<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    did_you_mean(name, candidates).map(|candidate| format!("did you mean `{candidate}`?"))
}

/// `help` text for a misspelt name: the suggestion, or else `WHAT: a, b, c` listing every
/// candidate; nothing when there are no candidates.
pub(crate) fn help_for<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    what: &str,
) -> Option<String> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    if let Some(help) = suggestion(name, candidates.iter().copied()) {
        return Some(help);
    }
    if candidates.is_empty() {
        return None;
    }
    Some(format!("{what}: {}", candidates.join(", ")))
}

/// `a, b or c`.
pub(crate) fn join_or(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_name_is_suggested_else_every_candidate_is_listed() {
        assert_eq!(
            help_for("trm", ["trim", "lower"], "transforms").as_deref(),
            Some("did you mean `trim`?")
        );
        assert_eq!(
            help_for("zzz", ["trim", "lower"], "transforms").as_deref(),
            Some("transforms: trim, lower")
        );
        assert_eq!(help_for("zzz", [], "transforms"), None);
    }

    #[test]
    fn words_join_with_a_final_or() {
        assert_eq!(join_or(&["eq"]), "eq");
        assert_eq!(join_or(&["==", "!=", "eq"]), "==, != or eq");
    }
}
