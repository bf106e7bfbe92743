//! `provisio explain`: print the Plan of one SCIM request against a STATE.json.

use std::fs;
use std::process::ExitCode;

use provisio::eval::explain::explain;

use crate::cli::output::{Layout, complain, escape};
use crate::{ExplainArgs, PlanFormat};

/// Runs `provisio explain`.
pub fn run(args: &ExplainArgs) -> ExitCode {
    let rules = match super::load_rules(args.rules.as_deref(), args.overlay.as_deref()) {
        Ok((rules, _)) => rules,
        Err(err) => {
            complain!("provisio explain: {err}");
            complain!("(run `provisio check` for the full diagnostics)");
            return ExitCode::FAILURE;
        }
    };
    let read = |path: &std::path::Path| {
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let (state, op) = match (read(&args.state), read(&args.op)) {
        (Ok(state), Ok(op)) => (state, op),
        (Err(e), _) | (_, Err(e)) => {
            complain!("provisio explain: {e}");
            return ExitCode::FAILURE;
        }
    };
    let plan = match explain(&rules, &state, &op) {
        Ok(plan) => plan,
        Err(err) => {
            complain!("provisio explain: {err}");
            return ExitCode::FAILURE;
        }
    };
    let rendered = match args.format {
        PlanFormat::Yaml => serde_yaml_ng::to_string(&plan).map_err(|e| e.to_string()),
        PlanFormat::Json => serde_json::to_string_pretty(&plan)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
    };
    match rendered {
        Ok(text) => {
            // JSON and YAML as serde writes them, with what could still drive a terminal
            // (bidi controls, C1) as `\uXXXX` escapes.
            print!("{}", escape(&text, Layout::Structured));
            ExitCode::SUCCESS
        }
        Err(err) => {
            complain!("provisio explain: cannot render the plan: {err}");
            ExitCode::FAILURE
        }
    }
}
