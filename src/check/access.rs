//! Checked access rules: the application's editions (which may use SCIM), the integration
//! user's roles (strongest first, and the weakest that may provision), and what a received
//! password does. Only the checker builds them; `eval::access` decides with them.

use serde::Serialize;

use super::model::RuleOrigin;

/// `editions { ... }`: every edition of the application, in file order.
///
/// Invariants: at least one edition; names unique case-insensitively; exactly one default.
#[derive(Debug, Clone, Serialize)]
pub struct Editions {
    /// The editions, in file order.
    pub editions: Vec<Edition>,
    /// The name of the `default` edition (new tenants get it), as declared.
    pub default: String,
}

/// One edition: `Enterprise provisioning default;`.
#[derive(Debug, Clone, Serialize)]
pub struct Edition {
    /// The name, as the profile spells it.
    pub name: String,
    /// Whether a tenant on this edition may use SCIM provisioning.
    pub provisioning: bool,
    /// Where it was declared.
    pub origin: RuleOrigin,
}

impl Editions {
    /// The edition named `name` (case-insensitive).
    #[must_use]
    pub fn find(&self, name: &str) -> Option<&Edition> {
        self.editions.iter().find(|e| same_level(&e.name, name))
    }

    /// The names of the editions that may provision, in file order.
    #[must_use]
    pub fn provisioning(&self) -> Vec<&str> {
        self.editions
            .iter()
            .filter(|e| e.provisioning)
            .map(|e| e.name.as_str())
            .collect()
    }

    /// Every edition's name, in file order.
    #[must_use]
    pub fn names(&self) -> Vec<&str> {
        self.editions.iter().map(|e| e.name.as_str()).collect()
    }
}

/// `roles { ... }`: the integration user's roles, strongest first.
///
/// Invariants: at least one role; names unique case-insensitively; exactly one default; one
/// `provisioning needs` naming a declared role.
#[derive(Debug, Clone, Serialize)]
pub struct Roles {
    /// The roles, strongest first.
    pub roles: Vec<Role>,
    /// The name of the `default` role (integration users created without a role get it).
    pub default: String,
    /// The name of the weakest role that may provision (it and every role before it may).
    pub needed: String,
    /// Where `provisioning needs` was written.
    pub needed_origin: RuleOrigin,
}

/// One role: `"Lite Admin" default;`.
#[derive(Debug, Clone, Serialize)]
pub struct Role {
    /// The name, as the profile spells it.
    pub name: String,
    /// Where it was declared.
    pub origin: RuleOrigin,
}

impl Roles {
    /// The rank of the role named `name` (0 = strongest; case-insensitive).
    #[must_use]
    pub fn rank(&self, name: &str) -> Option<usize> {
        self.roles.iter().position(|r| same_level(&r.name, name))
    }

    /// The role named `name` (case-insensitive).
    #[must_use]
    pub fn find(&self, name: &str) -> Option<&Role> {
        self.rank(name).and_then(|rank| self.roles.get(rank))
    }

    /// Whether a user with the role named `name` may provision (an unknown role may not).
    #[must_use]
    pub fn may_provision(&self, name: &str) -> bool {
        match (self.rank(name), self.rank(&self.needed)) {
            (Some(rank), Some(needed)) => rank <= needed,
            _ => false,
        }
    }

    /// Every role's name, strongest first.
    #[must_use]
    pub fn names(&self) -> Vec<&str> {
        self.roles.iter().map(|r| r.name.as_str()).collect()
    }
}

/// Whether two edition or role names are the same (case-insensitive, surrounding spaces
/// ignored).
#[must_use]
pub fn same_level(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    // Every request's key is checked against the editions and roles: ASCII names (all of
    // them, in practice) are compared without lowercasing copies.
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.to_lowercase() == b.to_lowercase()
}

/// What a received password does: `password discard;` or `password hash;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordPolicy {
    /// Never stored (the default without a `password` line).
    Discard,
    /// Stored on the entity as an Argon2id hash, write-only: never returned or shown.
    Hash,
}

/// `password discard|hash;` in `policy User`.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordRule {
    /// What a received password does.
    pub policy: PasswordPolicy,
    /// Where it was written.
    pub origin: RuleOrigin,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> RuleOrigin {
        RuleOrigin {
            file: "default.rules".into(),
            line: 1,
        }
    }

    fn roles() -> Roles {
        let role = |name: &str| Role {
            name: name.into(),
            origin: origin(),
        };
        Roles {
            roles: vec![
                role("Admin"),
                role("Lite Admin"),
                role("Full User"),
                role("Email User"),
            ],
            default: "Lite Admin".into(),
            needed: "Lite Admin".into(),
            needed_origin: origin(),
        }
    }

    #[test]
    fn roles_at_or_above_the_needed_one_may_provision_case_insensitively() {
        let roles = roles();
        assert!(roles.may_provision("admin"));
        assert!(roles.may_provision(" LITE admin "));
        assert!(!roles.may_provision("Full User"));
        assert!(!roles.may_provision("Email User"));
        assert!(!roles.may_provision("Owner"), "an unknown role may not");
        assert_eq!(
            roles.find("full user").map(|r| r.name.as_str()),
            Some("Full User")
        );
    }

    #[test]
    fn editions_are_found_case_insensitively() {
        let edition = |name: &str, provisioning| Edition {
            name: name.into(),
            provisioning,
            origin: origin(),
        };
        let editions = Editions {
            editions: vec![
                edition("Professional", false),
                edition("Enterprise", true),
                edition("Unlimited", true),
            ],
            default: "Enterprise".into(),
        };
        assert!(editions.find("ENTERPRISE").is_some_and(|e| e.provisioning));
        assert!(
            editions
                .find("professional")
                .is_some_and(|e| !e.provisioning)
        );
        assert!(editions.find("Starter").is_none());
        assert_eq!(editions.provisioning(), ["Enterprise", "Unlimited"]);
    }

    #[test]
    fn same_level_is_the_comparison_of_trimmed_lowercase_copies() {
        let names = [
            "Admin",
            "admin",
            " ADMIN ",
            "admi",
            "Admin2",
            "",
            " ",
            "Éditeur",
            "éditeur",
            "EDITEUR",
            "ΑΣ",
            "ας",
            "ασ",
            "K",
            "\u{212a}",
            "k",
            "\tUser\u{a0}",
            "user",
        ];
        for a in names {
            for b in names {
                let copies = a.trim().to_lowercase() == b.trim().to_lowercase();
                assert_eq!(same_level(a, b), copies, "{a:?} {b:?}");
            }
        }
    }
}
