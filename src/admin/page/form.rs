//! `application/x-www-form-urlencoded` bodies and query strings, as browsers send them:
//! `+` is a space, everything else percent-encoded.

use percent_encoding::percent_decode_str;

/// Decoded `(name, value)` pairs in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Parses an encoded form (a request body, or a query string without its `?`).
    #[must_use]
    pub fn parse(raw: &str) -> Form {
        Form(
            raw.split('&')
                .filter(|part| !part.is_empty())
                .map(|part| {
                    let (name, value) = part.split_once('=').unwrap_or((part, ""));
                    (decode(name), decode(value))
                })
                .collect(),
        )
    }

    /// The first value named `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value named `name`, trimmed; `None` when absent or blank.
    #[must_use]
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }
}

fn decode(raw: &str) -> String {
    percent_decode_str(&raw.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// What [`encode`] leaves as it is: RFC 3986's unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes one value for a path segment, a query string or a form.
#[must_use]
pub fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_as_browsers_encode() {
        let form = Form::parse("a=1&b=x+y%2Bz&c=%3Cscript%3E&d&e=&a=2&%C3%A9=%E2%86%92");
        assert_eq!(form.get("a"), Some("1"));
        assert_eq!(form.get("b"), Some("x y+z"));
        assert_eq!(form.get("c"), Some("<script>"));
        assert_eq!(form.get("d"), Some(""));
        assert_eq!(form.text("e"), None);
        assert_eq!(form.get("é"), Some("→"));
        assert_eq!(form.get("missing"), None);
        assert_eq!(Form::parse(""), Form::default());
    }

    #[test]
    fn encode_round_trips() {
        let text = "ann smith+x@acme.com &=?/\"é";
        assert_eq!(encode("a-b.c_d~e/f"), "a-b.c_d~e%2Ff");
        let form = Form::parse(&format!("v={}", encode(text)));
        assert_eq!(form.get("v"), Some(text));
    }
}
