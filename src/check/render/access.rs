//! The wording of findings about editions, roles and the password policy.

use super::At;
use crate::check::diagnostic::{Code, RulesDiagnostic};
use crate::check::error::{AccessError, LevelBlock};
use crate::check::suggest::help_for;

impl LevelBlock {
    fn keyword(self) -> &'static str {
        match self {
            LevelBlock::Editions => "editions",
            LevelBlock::Roles => "roles",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            LevelBlock::Editions => "edition",
            LevelBlock::Roles => "role",
        }
    }

    fn duplicate_code(self) -> Code {
        match self {
            LevelBlock::Editions => Code::DuplicateEdition,
            LevelBlock::Roles => Code::DuplicateRole,
        }
    }
}

pub(super) fn render(at: &At<'_>, error: &AccessError) -> RulesDiagnostic {
    match error {
        AccessError::Empty { block } => at
            .error(
                Code::MissingDeclaration,
                format!("`{}` declares no {}", block.keyword(), block.noun()),
            )
            .label("empty block")
            .help(match block {
                LevelBlock::Editions => {
                    "list the editions, one per line: `Enterprise provisioning default;`"
                }
                LevelBlock::Roles => "list the roles strongest first, one per line: `Admin;`",
            }),
        AccessError::Duplicate { block, name, first } => at
            .again(
                block.duplicate_code(),
                format!("{} `{name}` is declared twice", block.noun()),
                *first,
            )
            .help(format!(
                "{} names compare case-insensitively; remove one of them",
                block.noun()
            )),
        AccessError::RepeatedFlag { flag, first } => at
            .repeated(
                Code::DuplicateStatement,
                format!("`{flag}` is written twice"),
                "written",
                *first,
            )
            .help("write each flag once"),
        AccessError::SecondDefault { block, first } => at
            .error(
                Code::DuplicateStatement,
                format!("a second `default` {}", block.noun()),
            )
            .label("second default")
            .note(*first, "first default here")
            .help(format!(
                "one {} is the default; remove one `default`",
                block.noun()
            )),
        AccessError::NoDefault { block, first_name } => at
            .error(
                Code::MissingDeclaration,
                format!("`{}` has no `default` {}", block.keyword(), block.noun()),
            )
            .label("no default")
            .help(match block {
                LevelBlock::Editions => format!(
                    "mark the edition new tenants get: `{} default;`",
                    quoted(first_name)
                ),
                LevelBlock::Roles => format!(
                    "mark the role integration users get when none is given: `{} default;`",
                    quoted(first_name)
                ),
            }),
        AccessError::NoNeeds { example } => at
            .error(
                Code::MissingDeclaration,
                "`roles` does not say which role provisioning needs",
            )
            .label("no `provisioning needs`")
            .help(format!(
                "add `provisioning needs {};` naming the weakest role that may provision",
                quoted(example)
            )),
        AccessError::SecondNeeds { first } => at
            .repeated(
                Code::DuplicateStatement,
                "a second `provisioning needs`",
                "written",
                *first,
            )
            .help("provisioning needs one role (and every stronger one may); keep one"),
        AccessError::UnknownRole { name, roles } => at
            .error(Code::UnknownRole, format!("unknown role `{name}`"))
            .label("not a role declared in `roles`")
            .help_opt(help_for(name, roles.iter().map(String::as_str), "roles")),
        AccessError::PasswordWithoutPasswords { kind } => at
            .error(
                Code::MisplacedStatement,
                format!("SCIM {} resources have no password", kind.as_str()),
            )
            .label("not allowed here")
            .help("write `password discard;` or `password hash;` in `policy User`"),
    }
}

/// A name as it is written in rules: bare when it is one word, else quoted.
fn quoted(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        name.to_owned()
    } else {
        format!("{name:?}")
    }
}
