//! "Did you mean ...?": an exact case-insensitive match first, then the most similar
//! candidate above a threshold (as in Nickel). The one suggestion function of the crate:
//! the rules checker and the SCIM layer both use it.

/// Candidates less similar than this are not suggested.
pub const THRESHOLD: f64 = 0.6;

/// The candidate `name` most likely meant, if any is close enough: a case-insensitive
/// equal first, else the most similar (normalised Damerau-Levenshtein, so `titel` is one
/// edit from `title`) above [`THRESHOLD`]. Ties go to the earlier candidate.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    if let Some(exact) = candidates.iter().find(|c| c.eq_ignore_ascii_case(name)) {
        return Some(exact);
    }
    let wanted = name.to_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        let score = strsim::normalized_damerau_levenshtein(&wanted, &candidate.to_lowercase());
        if score > THRESHOLD && best.is_none_or(|(top, _)| score > top) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn exact_case_insensitive_match_wins() {
        assert_eq!(
            did_you_mean("username", ["UserNames", "UserName"]),
            Some("UserName")
        );
    }

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        assert_eq!(
            did_you_mean("Departmnt", ["Country", "Department"]),
            Some("Department")
        );
        assert_eq!(did_you_mean("titel", ["title", "timezone"]), Some("title"));
        assert_eq!(
            did_you_mean("givenNme", ["givenName", "familyName"]),
            Some("givenName")
        );
        assert_eq!(did_you_mean("Zebra", ["Country", "Department"]), None);
    }
}
