//! `provisio check`.

use std::process::ExitCode;

use crate::CheckArgs;

/// Runs `provisio check`.
pub fn run(_args: CheckArgs) -> ExitCode {
    eprintln!("provisio check: not built yet");
    ExitCode::FAILURE
}
