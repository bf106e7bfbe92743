//! `provisio explain`.

use std::process::ExitCode;

use crate::ExplainArgs;

/// Runs `provisio explain`.
pub fn run(_args: ExplainArgs) -> ExitCode {
    eprintln!("provisio explain: not built yet");
    ExitCode::FAILURE
}
