//! Secrets out of anything logged: the schema says which attributes are secrets
//! (`mutability: writeOnly` or `returned: never`: `password`), and [`redact`] masks every value
//! a request could carry one in, under any spelling the edge would accept.

use std::sync::LazyLock;

use serde_json::Value;

use super::attr::AttrPath;
use super::path::PatchPath;
use super::schema::ResourceKind;

/// What a masked value becomes.
pub const MASK: &str = "********";

/// Masks, in a request body of any shape (a User or Group body, a `PatchOp` message, a
/// `BulkRequest`, one bulk operation's `data`), every value that may hold a secret of `kind`:
/// the value of a key naming a secret attribute (any case; plain, URN-qualified, dotted,
/// inside the core schema's object, or the last segment of any URN), and the `value` of an
/// object whose `path` names one (a PATCH operation). At any depth, without recursion.
pub fn redact(kind: ResourceKind, body: &mut Value) {
    redact_for(&[kind], body);
}

/// [`redact`] for every resource kind: for bodies whose kind is not known (what storage
/// applies to everything it logs).
pub fn redact_all(body: &mut Value) {
    redact_for(&[ResourceKind::User, ResourceKind::Group], body);
}

fn redact_for(kinds: &[ResourceKind], body: &mut Value) {
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(map) => {
                let path_is_secret = map
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case("path"))
                    .and_then(|(_, path)| path.as_str())
                    .is_some_and(|path| names_secret_path(kinds, path));
                for (key, inner) in map.iter_mut() {
                    let masked = (path_is_secret && key.eq_ignore_ascii_case("value"))
                        || names_secret_key(kinds, key);
                    if masked {
                        *inner = Value::String(MASK.to_owned());
                    } else {
                        stack.push(inner);
                    }
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
}

/// Whether a body key names a secret: one of its name segments (plain, dotted or
/// URN-qualified) is a secret's name. Every key that resolves to a secret has one, and a
/// secret sent where no schema applies is still a secret. (By name, not by resolving the
/// key: this runs on every key of every logged body.)
fn names_secret_key(kinds: &[ResourceKind], key: &str) -> bool {
    if may_mean_secret(key) {
        return true;
    }
    if !mentions_secret(key) {
        return false;
    }
    match AttrPath::parse(key) {
        Ok(path) => leaf_is_secret(kinds, &path),
        Err(_) => names_secret_path(kinds, key),
    }
}

/// Whether a PATCH path names a secret; a path that does not parse is judged by its text.
fn names_secret_path(kinds: &[ResourceKind], text: &str) -> bool {
    if may_mean_secret(text) {
        return true;
    }
    if !mentions_secret(text) {
        return false;
    }
    if let Ok(parsed) = PatchPath::parse(text) {
        leaf_is_secret(kinds, &parsed.path)
    } else {
        let head = text.split('[').next().unwrap_or(text);
        let last = head.rsplit(':').next().unwrap_or(head);
        last.split('.')
            .any(|name| is_secret_name(kinds, name.trim()))
    }
}

/// Whether a key or path the edge refuses may still carry a secret its sender meant: one
/// with a character outside ASCII (no attribute name has one, so `paſsword` or a
/// full-width `ＰＡＳＳＷＯＲＤ` is refused, yet means `password`), or whose last name holds a
/// short form of it ([`SHORT_FORMS`]: `pwd`, `passwd`) or is a near miss of a secret's name
/// (`passwrd`, `pasword`). Its value is masked too.
fn may_mean_secret(text: &str) -> bool {
    if !text.is_ascii() {
        return true;
    }
    let head = text.split('[').next().unwrap_or(text);
    let last = head.rsplit([':', '.']).next().unwrap_or(head).trim();
    if SHORT_FORMS.iter().any(|short| {
        last.as_bytes()
            .windows(short.len())
            .any(|window| window.eq_ignore_ascii_case(short.as_bytes()))
    }) {
        return true;
    }
    secret_names().iter().any(|name| {
        last.len().abs_diff(name.len()) <= NEAR_MISS
            && shares_letters(last, name, NEAR_MISS)
            && !last.eq_ignore_ascii_case(name)
            && strsim::damerau_levenshtein(&last.to_ascii_lowercase(), &name.to_ascii_lowercase())
                <= NEAR_MISS
    })
}

/// Short forms of a password's name that other systems use (`pwd`, `pword`, `pass`, `passwd`,
/// `passPhrase`): no attribute name but `password` holds one, and a key or path whose last
/// name does may carry a password.
const SHORT_FORMS: [&str; 3] = ["pass", "pwd", "pword"];

/// How many edits (insert, delete, substitute, transpose) a near miss may be from a name.
const NEAR_MISS: usize = 2;

/// Whether ASCII `a` and `b`, in any case, have at least `max(len) - edits` letters in
/// common (as multisets): true of any two within `edits` Damerau-Levenshtein edits, since an
/// edit loses at most one common letter and a transposition none. Every key of every logged
/// body goes through [`may_mean_secret`]; this leaves the distance for the few that could be
/// near (`userName` and `password` share 3 of 8 letters).
fn shares_letters(a: &str, b: &str, edits: usize) -> bool {
    let mut counts = [0i16; 128];
    for byte in a.bytes() {
        counts[usize::from(byte.to_ascii_lowercase() & 0x7f)] += 1;
    }
    let mut common = 0;
    for byte in b.bytes() {
        let count = &mut counts[usize::from(byte.to_ascii_lowercase() & 0x7f)];
        if *count > 0 {
            *count -= 1;
            common += 1;
        }
    }
    common + edits >= a.len().max(b.len())
}

/// The names of every secret (sub-)attribute of every kind.
fn secret_names() -> &'static [&'static str] {
    static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        let mut names = Vec::new();
        for schema in [ResourceKind::User, ResourceKind::Group]
            .iter()
            .flat_map(|kind| kind.schemas())
        {
            for def in schema.attributes {
                if def.is_secret() {
                    names.push(def.name);
                }
                for sub in def.sub_attributes.iter().filter(|sub| sub.is_secret()) {
                    names.push(sub.name);
                }
            }
        }
        names
    });
    &NAMES
}

/// Whether `text` holds the name of a secret (sub-)attribute of any kind, in any ASCII
/// case, anywhere. Every name a key or a path names is a piece of its text (parsing only
/// splits it), so text that holds none names none: the check that runs on every key
/// before any parsing.
fn mentions_secret(text: &str) -> bool {
    let text = text.as_bytes();
    secret_names().iter().any(|name| {
        text.windows(name.len())
            .any(|window| window.eq_ignore_ascii_case(name.as_bytes()))
    })
}

fn leaf_is_secret(kinds: &[ResourceKind], path: &AttrPath) -> bool {
    is_secret_name(kinds, &path.attr)
        || path
            .sub
            .as_deref()
            .is_some_and(|s| is_secret_name(kinds, s))
}

/// Whether `name` is the name of a secret attribute (or sub-attribute) of any schema of
/// `kinds`, case-insensitively.
fn is_secret_name(kinds: &[ResourceKind], name: &str) -> bool {
    kinds.iter().flat_map(|kind| kind.schemas()).any(|schema| {
        schema.attributes.iter().any(|def| {
            (def.is_secret() && def.name.eq_ignore_ascii_case(name))
                || def
                    .sub_attributes
                    .iter()
                    .any(|sub| sub.is_secret() && sub.name.eq_ignore_ascii_case(name))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "s3cret-Value";

    fn redacted(kind: ResourceKind, mut body: Value) -> Value {
        redact(kind, &mut body);
        assert!(!body.to_string().contains(SECRET), "{body}");
        body
    }

    /// Every text within two edits of `word`, over `alphabet`.
    fn near(word: &str, alphabet: &[u8]) -> Vec<String> {
        let one = |w: &[u8]| {
            let mut out: Vec<Vec<u8>> = Vec::new();
            for i in 0..=w.len() {
                for &c in alphabet {
                    out.push([&w[..i], &[c], &w[i..]].concat());
                    if i < w.len() {
                        out.push([&w[..i], &[c], &w[i + 1..]].concat());
                    }
                }
                if i < w.len() {
                    out.push([&w[..i], &w[i + 1..]].concat());
                }
                if i + 1 < w.len() {
                    let mut t = w.to_vec();
                    t.swap(i, i + 1);
                    out.push(t);
                }
            }
            out
        };
        let first = one(word.as_bytes());
        let mut all: Vec<String> = first
            .iter()
            .flat_map(|w| one(w))
            .chain(first.iter().cloned())
            .map(|w| String::from_utf8(w).unwrap())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    #[test]
    fn the_letter_count_never_passes_over_a_near_miss() {
        let alphabet = b"pasWORDxe_";
        let mut checked = 0;
        for name in secret_names() {
            for text in near(name, alphabet) {
                let distance =
                    strsim::damerau_levenshtein(&text.to_ascii_lowercase(), &name.to_lowercase());
                if distance <= NEAR_MISS {
                    checked += 1;
                    assert!(shares_letters(&text, name, NEAR_MISS), "{text} ~ {name}");
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
        // It does turn away the keys a body is made of.
        for key in [
            "userName",
            "schemas",
            "givenName",
            "familyName",
            "externalId",
            "primary",
        ] {
            assert!(!shares_letters(key, "password", NEAR_MISS), "{key}");
        }
    }

    #[test]
    fn a_refused_look_alike_or_near_miss_of_a_secret_is_masked_too() {
        let body = redacted(
            ResourceKind::User,
            json!({
                "userName": "ann",
                "pa\u{17f}sword": SECRET,
                "\u{ff30}\u{ff21}\u{ff33}\u{ff33}\u{ff37}\u{ff2f}\u{ff32}\u{ff24}": SECRET,
                "passwrd": SECRET,
                "urn:ietf:params:scim:schemas:core:2.0:User:Pasword": SECRET,
                "Operations": [
                    {"op": "replace", "path": "pa\u{17f}sword", "value": SECRET},
                    {"op": "add", "path": "urn:x:User:PWD", "value": SECRET}
                ],
                "pwd": SECRET,
                "Pass": SECRET,
                "userPwd": SECRET,
                "passPhrase": SECRET,
                "name": {"givenName": "Ann", "pword": SECRET},
                "title": "kept",
                "nickName": "kept too"
            }),
        );
        assert_eq!(body["title"], json!("kept"));
        assert_eq!(body["nickName"], json!("kept too"));
        assert_eq!(body["userName"], json!("ann"));
        assert_eq!(body["name"]["givenName"], json!("Ann"));
    }

    #[test]
    fn the_quick_check_passes_every_spelling_of_a_secret_and_nothing_else() {
        for text in [
            "password",
            "PassWord",
            "urn:ietf:params:scim:schemas:core:2.0:User:PASSWORD",
            "name.password",
            "x[type eq \"w\"].Password",
        ] {
            assert!(mentions_secret(text), "{text}");
        }
        for text in ["userName", "pass word", "passwor", "urn:x:User:title", ""] {
            assert!(!mentions_secret(text), "{text}");
        }
    }

    #[test]
    fn every_spelling_in_a_body() {
        for key in [
            "password",
            "PassWord",
            "urn:ietf:params:scim:schemas:core:2.0:User:password",
            "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:PASSWORD",
            "password.value",
            "urn:example:custom:2.0:User:password",
        ] {
            let body = redacted(ResourceKind::User, json!({"userName": "a", key: SECRET}));
            assert_eq!(body[key], json!(MASK), "{key}");
            assert_eq!(body["userName"], json!("a"));
        }
        let body = redacted(
            ResourceKind::User,
            json!({"urn:ietf:params:scim:schemas:core:2.0:User": {"password": SECRET}}),
        );
        assert_eq!(
            body,
            json!({"urn:ietf:params:scim:schemas:core:2.0:User": {"password": MASK}})
        );
        let numeric = redacted(ResourceKind::User, json!({"password": 918_273_645}));
        assert_eq!(numeric, json!({"password": MASK}));
        assert!(!numeric.to_string().contains("918273645"));
    }

    #[test]
    fn patch_operations() {
        let body = redacted(
            ResourceKind::User,
            json!({"Operations": [
                {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:PASSWORD", "value": SECRET},
                {"op": "replace", "Path": "password", "value": {"nested": SECRET}},
                {"op": "replace", "path": "password[", "value": SECRET},
                {"op": "replace", "value": {"Password": SECRET, "title": "Boss"}},
                {"op": "replace", "path": "title", "value": "Boss"}
            ]}),
        );
        assert_eq!(body["Operations"][3]["value"]["title"], json!("Boss"));
        assert_eq!(body["Operations"][4]["value"], json!("Boss"));
    }

    #[test]
    fn bulk_operations() {
        let body = redacted(
            ResourceKind::User,
            json!({"Operations": [
                {"method": "POST", "path": "/Users", "data": {"userName": "a", "password": SECRET}},
                {"method": "PATCH", "path": "/Users/u1", "data": {"Operations": [
                    {"op": "add", "path": "password", "value": SECRET}]}}
            ]}),
        );
        assert_eq!(body["Operations"][1]["path"], json!("/Users/u1"));
    }

    #[test]
    fn every_kind_and_deep_nesting() {
        let mut body = json!({"a": [{"b": {"c": [{"password": SECRET}]}}]});
        redact_all(&mut body);
        assert!(!body.to_string().contains(SECRET));
        let mut group = json!({"displayName": "S", "members": [{"value": "u1"}]});
        let before = group.clone();
        redact_all(&mut group);
        assert_eq!(group, before);
    }
}
