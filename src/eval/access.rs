//! Whether a key may provision: its tenant's edition (the profile's `editions`) and its
//! integration user's role (the profile's `roles`). Checked on every SCIM request before
//! anything else is read or written.

use std::fmt;

use crate::check::CheckedRules;

/// Why a key may not provision; its `Display` is the detail the client receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The tenant's edition may not use SCIM provisioning.
    Edition {
        /// The tenant's edition, as stored (or the profile's default).
        edition: String,
        /// Whether the profile declares that edition at all.
        known: bool,
        /// The editions that may provision, in profile order.
        provisioning: Vec<String>,
    },
    /// The integration user's role is weaker than provisioning needs.
    Role {
        /// The integration user.
        user: String,
        /// Its role, as stored (or the profile's default).
        role: String,
        /// Whether the profile declares that role at all.
        known: bool,
        /// The weakest role that may provision.
        needed: String,
        /// The roles stronger than it, strongest first.
        stronger: Vec<String>,
    },
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Edition {
                edition,
                known,
                provisioning,
            } => {
                if *known {
                    write!(
                        f,
                        "This instance is on the {edition} edition, which does not include SCIM provisioning"
                    )?;
                } else {
                    write!(
                        f,
                        "This instance's edition \"{edition}\" is not an edition of this application, so it cannot use SCIM provisioning"
                    )?;
                }
                match provisioning.as_slice() {
                    [] => f.write_str("; no edition may provision. Nothing was changed."),
                    names => write!(
                        f,
                        "; SCIM provisioning is available to the {} edition{} only. Nothing was changed.",
                        join_and(names),
                        if names.len() == 1 { "" } else { "s" }
                    ),
                }
            }
            Refused::Role {
                user,
                role,
                known,
                needed,
                stronger,
            } => {
                let role = if *known {
                    format!("the role {role}")
                } else {
                    format!("the role \"{role}\", which is not a role of this application")
                };
                write!(
                    f,
                    "The integration user \"{user}\" has {role}, but provisioning needs at least {needed}"
                )?;
                if !stronger.is_empty() {
                    write!(f, " (or {})", join_or(stronger))?;
                }
                write!(
                    f,
                    ". Give \"{user}\" the role {needed} and send the request again; nothing was changed."
                )
            }
        }
    }
}

/// Whether a key of a tenant on `edition`, acting for `user` with `role`, may provision
/// (`None`: the profile's default edition or role). A profile without `editions` admits
/// every edition, one without `roles` every user.
///
/// # Errors
///
/// [`Refused`] naming the edition, or the user and role, and what is needed.
pub fn admit(
    rules: &CheckedRules,
    edition: Option<&str>,
    user: &str,
    role: Option<&str>,
) -> Result<(), Refused> {
    if let Some(editions) = &rules.editions {
        let edition = edition.unwrap_or(&editions.default);
        let found = editions.find(edition);
        if !found.is_some_and(|e| e.provisioning) {
            return Err(Refused::Edition {
                edition: found.map_or(edition, |e| e.name.as_str()).to_owned(),
                known: found.is_some(),
                provisioning: editions
                    .provisioning()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            });
        }
    }
    if let Some(roles) = &rules.roles {
        let role = role.unwrap_or(&roles.default);
        if !roles.may_provision(role) {
            let found = roles.find(role);
            let needed = roles
                .find(&roles.needed)
                .map_or(roles.needed.as_str(), |r| r.name.as_str());
            let stronger = roles
                .names()
                .into_iter()
                .take_while(|name| *name != needed)
                .map(str::to_owned)
                .collect();
            return Err(Refused::Role {
                user: user.to_owned(),
                role: found.map_or(role, |r| r.name.as_str()).to_owned(),
                known: found.is_some(),
                needed: needed.to_owned(),
                stronger,
            });
        }
    }
    Ok(())
}

/// An edition or role name the profile does not declare.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe_unknown(.what, .name, .known))]
pub struct UnknownName {
    /// `edition` or `role`.
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// The names the profile declares, in its order.
    pub known: Vec<String>,
}

impl UnknownName {
    fn new(what: &'static str, given: &str, known: &[&str]) -> UnknownName {
        UnknownName {
            what,
            name: given.to_owned(),
            known: known.iter().copied().map(str::to_owned).collect(),
        }
    }
}

fn describe_unknown(what: &str, name: &str, known: &[String]) -> String {
    let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    let mut text = format!("`{name}` is not {article} {what} of this application's profile");
    let rest = match crate::domain::suggest::did_you_mean(name, known.iter().map(String::as_str)) {
        Some(close) => format!("; did you mean `{close}`?"),
        None => format!("; {what}s: {}", known.join(", ")),
    };
    text.push_str(&rest);
    text
}

/// The edition a tenant is created with or set to: `given` as the profile spells it, or
/// the profile's default when `None` (`None` again when the profile has no `editions`).
///
/// # Errors
///
/// [`UnknownName`] when the profile declares editions and `given` is none of them.
pub fn edition_name(
    rules: &CheckedRules,
    given: Option<&str>,
) -> Result<Option<String>, UnknownName> {
    let Some(editions) = &rules.editions else {
        return Ok(given.map(|g| g.trim().to_owned()));
    };
    let Some(given) = given else {
        return Ok(Some(editions.default.clone()));
    };
    editions
        .find(given)
        .map(|e| Some(e.name.clone()))
        .ok_or_else(|| UnknownName::new("edition", given, &editions.names()))
}

/// The role an integration user is given: `given` as the profile spells it, or `None` when
/// not given (the user keeps its role, or gets the profile's default).
///
/// # Errors
///
/// [`UnknownName`] when the profile declares roles and `given` is none of them.
pub fn role_name(rules: &CheckedRules, given: Option<&str>) -> Result<Option<String>, UnknownName> {
    let Some(given) = given else {
        return Ok(None);
    };
    let Some(declared) = &rules.roles else {
        return Ok(Some(given.trim().to_owned()));
    };
    declared
        .find(given)
        .map(|r| Some(r.name.clone()))
        .ok_or_else(|| UnknownName::new("role", given, &declared.names()))
}

/// How a stored edition or role reads: the name, or the profile's default (marked so) when
/// none is stored.
#[must_use]
pub fn shown(stored: Option<&str>, default: Option<&str>) -> String {
    match (stored, default) {
        (Some(name), _) => name.to_owned(),
        (None, Some(default)) => format!("{default} (default)"),
        (None, None) => "-".to_owned(),
    }
}

fn join_and(names: &[String]) -> String {
    join(names, "and")
}

fn join_or(names: &[String]) -> String {
    join(names, "or")
}

fn join(names: &[String], word: &str) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enterprise_and_unlimited_provision_professional_does_not() {
        let rules = crate::check::checked_clarizen();
        assert_eq!(admit(&rules, None, "okta", None), Ok(()));
        assert_eq!(
            admit(&rules, Some("unlimited"), "okta", Some("admin")),
            Ok(())
        );
        let refused = admit(&rules, Some("PROFESSIONAL"), "okta", None).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "This instance is on the Professional edition, which does not include SCIM provisioning; SCIM provisioning is available to the Enterprise and Unlimited editions only. Nothing was changed."
        );
        let unknown = admit(&rules, Some("Starter"), "okta", None).unwrap_err();
        assert!(
            matches!(&unknown, Refused::Edition { known: false, .. }),
            "{unknown:?}"
        );
    }

    #[test]
    fn names_are_given_as_the_profile_spells_them_with_a_suggestion_when_misspelt() {
        let rules = crate::check::checked_clarizen();
        assert_eq!(edition_name(&rules, None), Ok(Some("Enterprise".into())));
        assert_eq!(
            edition_name(&rules, Some("unlimited")),
            Ok(Some("Unlimited".into()))
        );
        let err = edition_name(&rules, Some("Enterprize")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`Enterprize` is not an edition of this application's profile; did you mean `Enterprise`?"
        );
        assert_eq!(role_name(&rules, None), Ok(None));
        assert_eq!(
            role_name(&rules, Some("lite admin")),
            Ok(Some("Lite Admin".into()))
        );
        assert!(
            role_name(&rules, Some("Owner"))
                .unwrap_err()
                .to_string()
                .ends_with("roles: Admin, Lite Admin, Full User, Email User")
        );
    }

    #[test]
    fn lite_admin_and_admin_provision_weaker_roles_do_not() {
        let rules = crate::check::checked_clarizen();
        assert_eq!(admit(&rules, None, "okta", Some("Lite Admin")), Ok(()));
        let refused = admit(&rules, None, "okta", Some("full user")).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "The integration user \"okta\" has the role Full User, but provisioning needs at least Lite Admin (or Admin). Give \"okta\" the role Lite Admin and send the request again; nothing was changed."
        );
        assert!(admit(&rules, None, "okta", Some("Email User")).is_err());
        assert!(matches!(
            admit(&rules, None, "okta", Some("Owner")),
            Err(Refused::Role { known: false, .. })
        ));
    }
}
