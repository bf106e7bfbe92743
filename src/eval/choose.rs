//! Step 3: the reaction to a situation — for the kind's policy, the first reaction whose
//! guard holds wins; when the rules are silent, the built-in default.

use serde_json::Value;

use crate::check::{Action, CheckedRules, Situation};
use crate::domain::{Origin, ResourceKind};
use crate::eval::plan::ChosenAction;
use crate::scim::error::ScimType;

/// The reaction of `kind`'s policy to `situation`, guards evaluated on `resource`.
pub(crate) fn choose(
    rules: &CheckedRules,
    kind: ResourceKind,
    situation: Situation,
    resource: &Value,
) -> ChosenAction {
    let chosen = rules.policy(kind).and_then(|policy| {
        policy.reactions_for(situation).find(|reaction| {
            reaction
                .guard
                .as_ref()
                .is_none_or(|g| crate::eval::value::guard_holds(resource, g))
        })
    });
    match chosen {
        Some(reaction) => ChosenAction {
            action: reaction.action.clone(),
            rule: Origin::from(&reaction.origin),
        },
        None => ChosenAction {
            action: built_in_action(situation),
            rule: Origin::BuiltIn,
        },
    }
}

/// What a situation does when the rules say nothing about it.
fn built_in_action(situation: Situation) -> Action {
    match situation {
        Situation::Created => Action::Create,
        Situation::Updated => Action::Update,
        Situation::Deactivated => Action::Suspend,
        Situation::Reactivated => Action::Activate,
        Situation::LeftScope | Situation::ManagerOutOfScope => Action::Ignore,
        Situation::Deleted => Action::Delete,
        Situation::UsernameTaken => Action::Reject(ScimType::Uniqueness),
    }
}
