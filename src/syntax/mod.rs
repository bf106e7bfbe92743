//! The rules language syntax: pest grammar (`grammar/rules.pest`) -> typed AST with a span
//! on every node. Names are kept as written; the checker (`crate::check`) gives them
//! meaning. Nothing here depends on another module of the crate.

pub mod ast;
mod error;
mod lower;
mod recover;

use std::borrow::Cow;

pub use ast::*;
pub use error::{Expected, Found, Punct, SyntaxError};

/// At most this many syntax errors are reported for one file.
pub const MAX_SYNTAX_ERRORS: usize = 20;

/// At most this many parse attempts are made for one file (errors that follow directly on
/// a skipped statement are not reported but still cost an attempt).
const MAX_ATTEMPTS: usize = 2 * MAX_SYNTAX_ERRORS;

/// Parses one rules file into its AST. Never panics.
///
/// # Errors
///
/// Every syntax error the parser could recover from, in file order (at least one, at most
/// [`MAX_SYNTAX_ERRORS`]): after an error the statement holding it is skipped and parsing
/// goes on, so two broken statements give two errors. An error right after a skipped
/// statement is taken for a consequence of the one before and not reported.
pub fn parse(source: &str) -> Result<File, Vec<SyntaxError>> {
    let mut text = Cow::Borrowed(source);
    let mut errors: Vec<SyntaxError> = Vec::new();
    let mut resumed_at: Option<usize> = None;
    for _ in 0..MAX_ATTEMPTS {
        let error = match lower::parse_once(&text) {
            Ok(file) if errors.is_empty() => return Ok(file),
            Ok(_) => break,
            Err(error) => error,
        };
        let at = error.span().start;
        let skip = match &error {
            SyntaxError::Unexpected { .. } if !error.at_end_of_file() => {
                recover::statement_around(&text, at)
            }
            _ => None,
        };
        let follows_skipped = resumed_at
            .is_some_and(|end| end <= at && text.get(end..at).is_some_and(recover::is_blank));
        if !follows_skipped {
            errors.push(error);
        }
        match skip {
            Some(range) if errors.len() < MAX_SYNTAX_ERRORS => {
                resumed_at = Some(range.end);
                recover::blank_out(text.to_mut(), range);
            }
            _ => break,
        }
    }
    errors.sort_by_key(|error| error.span().start);
    Err(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(source: &str) -> MappingRule {
        let file = parse(&format!("mapping User {{ {source} }}")).expect("parses");
        match file.items.into_iter().next() {
            Some(Item::Mapping(block)) => match block.statements.into_iter().next() {
                Some(MappingStmt::Map(rule)) => rule,
                other => panic!("not a mapping: {other:?}"),
            },
            other => panic!("not a mapping block: {other:?}"),
        }
    }

    fn errors(source: &str) -> Vec<SyntaxError> {
        parse(source).expect_err("fails")
    }

    #[test]
    fn a_urn_path_splits_into_schema_and_segments_with_spans() {
        let text = "X <- urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value;";
        let rule = mapping(text);
        let urn = rule.source.urn.as_ref().expect("urn");
        assert_eq!(
            urn.node,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        );
        let names: Vec<&str> = rule
            .source
            .segments
            .iter()
            .map(|s| s.name.node.as_str())
            .collect();
        assert_eq!(names, ["manager", "value"]);
        let source = format!("mapping User {{ {text} }}");
        let value = &rule.source.segments[1].name.span;
        assert_eq!(&source[value.start..value.end], "value");
    }

    #[test]
    fn filters_transforms_and_escapes() {
        let rule = mapping(
            r#"custom X <- emails[type eq "w\"k" and primary eq true].value | default("a\nb") | truncate(3);"#,
        );
        assert_eq!(rule.modifier.map(|m| m.node), Some(Modifier::Custom));
        let filter = rule.source.segments[0].filter.as_ref().expect("filter");
        assert_eq!(filter.terms.len(), 2);
        assert_eq!(
            filter.terms[0].value.node,
            LiteralExpr::String("w\"k".into())
        );
        assert_eq!(filter.terms[1].value.node, LiteralExpr::Bool(true));
        let default = rule.transforms[0].arguments.as_ref().expect("arguments");
        assert_eq!(
            default[0].node,
            ArgumentExpr::Literal(LiteralExpr::String("a\nb".into()))
        );
        assert_eq!(rule.transforms[1].name.node, "truncate");
    }

    #[test]
    fn keywords_need_a_word_boundary() {
        // `lockedName` is a field name, not `locked Name`.
        let rule = mapping("lockedName <- userName;");
        assert_eq!(rule.modifier, None);
        assert_eq!(rule.target.node, "lockedName");
    }

    #[test]
    fn flags_modifiers_and_invite_modes_lower_to_their_variants() {
        let file = parse(
            "target t { entity U { A: Ref<U> unique readonly; } }\n\
             mapping User { locked A <- a; }\n\
             policy User { invite always; invite never; on created => skip A; }",
        )
        .expect("parses");
        let [
            Item::Target(target),
            Item::Mapping(mapping),
            Item::Policy(policy),
        ] = file.items.as_slice()
        else {
            panic!("{file:?}");
        };
        let field = &target.entities[0].fields[0];
        let flags: Vec<FieldFlag> = field.flags.iter().map(|f| f.node).collect();
        assert_eq!(flags, [FieldFlag::Unique, FieldFlag::Readonly]);
        assert_eq!(
            field.ty.argument.as_ref().map(|a| a.node.as_str()),
            Some("U")
        );
        let MappingStmt::Map(rule) = &mapping.statements[0] else {
            panic!("{mapping:?}");
        };
        assert_eq!(
            rule.modifier.as_ref().map(|m| m.node),
            Some(Modifier::Locked)
        );
        let sends: Vec<bool> = policy
            .statements
            .iter()
            .filter_map(|s| match s {
                PolicyStmt::Invite(invite) => Some(invite.send),
                _ => None,
            })
            .collect();
        assert_eq!(sends, [true, false]);
        let PolicyStmt::Reaction(reaction) = &policy.statements[2] else {
            panic!("{policy:?}");
        };
        assert_eq!(
            reaction.action.argument.as_ref().map(|a| a.node.as_str()),
            Some("A")
        );
    }

    #[test]
    fn syntax_errors_say_what_was_expected_and_what_was_found() {
        let [err] = errors("policy User { on created => create }")
            .try_into()
            .expect("one");
        assert_eq!(err.to_string(), "expected a name or `;`, found `}`");
        assert!(err.expects(&Expected::Punct(Punct::Semi)));
        assert!(err.expects(&Expected::Name));
        assert!(!err.at_end_of_file());

        let [err] = errors("mapping User {").try_into().expect("one");
        assert!(err.at_end_of_file());
        assert_eq!(
            err.span(),
            Span::new(13, 14),
            "points at the last character"
        );
        assert!(err.to_string().ends_with(", found end of file"), "{err}");
    }

    #[test]
    fn found_names_a_word_a_character_or_whitespace() {
        let [err] = errors("mapping User { 12ab <- x; }")
            .try_into()
            .expect("one");
        assert!(
            matches!(&err, SyntaxError::Unexpected { found: Found::Word(w), .. } if w == "12ab")
        );
        assert_eq!(Found::Char('\t').to_string(), "'\\t'");
        assert_eq!(Found::Char('@').to_string(), "`@`");
    }

    #[test]
    fn every_broken_statement_is_reported() {
        let text = "mapping User {\n  A <- a\n  B <- b;\n  C <- c | ;\n  D <- d;\n}\n\
                    policy User { on created => create }\n";
        let errors = errors(text);
        let found: Vec<String> = errors
            .iter()
            .map(|e| text[e.span().start..e.span().end].to_string())
            .collect();
        assert_eq!(found, ["B", ";", "}"], "{errors:?}");
        assert_eq!(errors[1].to_string(), "expected a name, found `;`");
    }

    #[test]
    fn an_error_right_after_a_skipped_statement_is_not_reported_again() {
        // The broken `entity` header makes recovery resume inside the entity: its next field
        // is a consequence, not a second mistake.
        let text = "target t {\n  entity A [\n    x: String;\n    y: String;\n  }\n}\n";
        let errors = errors(text);
        assert_eq!(
            errors[0].span(),
            Span::new(text.find('[').expect("["), text.find('[').expect("[") + 1)
        );
        assert!(errors.len() < 3, "{errors:?}");
    }

    #[test]
    fn recovery_is_bounded() {
        let text = "mapping User { A <- ; }\n".repeat(100);
        assert_eq!(errors(&text).len(), MAX_SYNTAX_ERRORS);
    }

    #[test]
    fn a_file_cut_short_gives_one_error() {
        let errors = errors("mapping User {\n  A <- a;\n  B <-");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].at_end_of_file());
    }
}
