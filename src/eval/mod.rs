//! Evaluation: `CheckedRules` + one SCIM operation + the current state -> `Plan`.

pub mod state;
