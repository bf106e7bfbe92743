//! The rules language syntax: pest grammar -> typed AST with a span on every node.
