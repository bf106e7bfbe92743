//! The SCIM filter parser on arbitrary text, for Users and Groups: an error, never a panic.

use provisio::scim::filter::parse_filter;
use provisio::scim::schema::ResourceKind;

fn main() {
    afl::fuzz!(|input: &[u8]| {
        let Ok(text) = std::str::from_utf8(input) else {
            return;
        };
        for kind in [ResourceKind::User, ResourceKind::Group] {
            let _ = parse_filter(kind, text);
        }
    });
}
