//! `provisio serve`.

use std::process::ExitCode;

use crate::ServeArgs;

/// Runs `provisio serve`.
pub fn run(_args: ServeArgs) -> ExitCode {
    eprintln!("provisio serve: not built yet");
    ExitCode::FAILURE
}
