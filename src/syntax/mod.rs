//! The rules language syntax: pest grammar (`grammar/rules.pest`) -> typed AST with a span
//! on every node. Names are kept as written; the checker (`crate::check`) gives them
//! meaning. Nothing here depends on another module of the crate.

pub mod ast;
mod lower;

pub use ast::*;

/// A syntax error: where parsing stopped, what was expected there, in the language's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// `expected `;`, found `}``.
    pub message: String,
    /// The offending token (empty at the end of the file).
    pub span: Span,
    /// What the parser would have accepted there, each spelt as in the language.
    pub expected: Vec<String>,
}

/// Parses one rules file into its AST. Never panics; the first syntax error ends the parse.
pub fn parse(source: &str) -> Result<File, SyntaxError> {
    lower::parse(source)
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
    }

    #[test]
    fn keywords_need_a_word_boundary() {
        // `lockedName` is a field name, not `locked Name`.
        let rule = mapping("lockedName <- userName;");
        assert_eq!(rule.modifier, None);
        assert_eq!(rule.target.node, "lockedName");
    }

    #[test]
    fn syntax_errors_say_what_was_expected() {
        let err = parse("policy User { on created => create }").expect_err("fails");
        assert_eq!(err.message, "expected a name or `;`, found `}`");
        let err = parse("mapping User {").expect_err("fails");
        assert!(
            err.message.ends_with("found end of file"),
            "{}",
            err.message
        );
    }
}
