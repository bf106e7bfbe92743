//! "Did you mean ...?": an exact case-insensitive match first, then the most similar
//! candidate above a threshold (as in Nickel).

/// Candidates less similar than this are not suggested.
const THRESHOLD: f64 = 0.6;

/// The candidate `name` most likely meant, if any is close enough.
pub(crate) fn did_you_mean<'a>(
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
        let score = similarity(&wanted, &candidate.to_lowercase());
        if score > THRESHOLD && best.is_none_or(|(top, _)| score > top) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// `help` text for a misspelt name: the suggestion, or else the list of valid names.
pub(crate) fn help_for<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    what: &str,
) -> Option<String> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    if let Some(suggestion) = did_you_mean(name, candidates.iter().copied()) {
        return Some(format!("did you mean `{suggestion}`?"));
    }
    if candidates.is_empty() {
        return None;
    }
    Some(format!("{what}: {}", candidates.join(", ")))
}

/// 1 - normalised optimal-string-alignment distance (Levenshtein plus adjacent
/// transpositions, so `titel` is one edit from `title`), over characters.
fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, cell) in d.iter_mut().step_by(width).enumerate() {
        *cell = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    1.0 - d[a.len() * width + b.len()] as f64 / longest as f64
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
        assert_eq!(did_you_mean("Zebra", ["Country", "Department"]), None);
    }
}
