//! `provisio check [PROFILE_DIR] [--overlay FILE] [--format human|json]`.
//!
//! Exit status: 0 when the rules check (warnings allowed), 1 when any diagnostic is an
//! error, 2 when the files cannot be read. Human output goes to stderr (diagnostics) and
//! stdout (the one-line summary); JSON goes to stdout.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use miette::{GraphicalReportHandler, GraphicalTheme};
use provisio::check::{self, CheckReport, CheckedRules, ProfileSources};

use crate::{CheckArgs, CheckFormat};

/// Runs `provisio check`.
pub fn run(args: CheckArgs) -> ExitCode {
    let CheckArgs {
        profile,
        overlay,
        format,
    } = args;
    let sources = match ProfileSources::load(&profile, overlay.as_deref()) {
        Ok(sources) => sources,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let report = check::check(&sources);
    let written = match format {
        CheckFormat::Human => print_human(&report),
        CheckFormat::Json => print_json(&report),
    };
    if let Err(err) = written {
        eprintln!("error: cannot write the report: {err}");
        return ExitCode::from(2);
    }
    if report.rules.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_human(report: &CheckReport) -> std::io::Result<()> {
    let stderr = std::io::stderr();
    let plain = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || !stderr.is_terminal()
        || !std::io::stdout().is_terminal();
    let handler = if plain {
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
    } else {
        GraphicalReportHandler::new()
    };
    let mut err = stderr.lock();
    for diagnostic in &report.diagnostics {
        let mut rendered = String::new();
        if handler.render_report(&mut rendered, diagnostic).is_err() {
            rendered = format!(
                "{}: {}: {}\n",
                diagnostic.location, diagnostic.code, diagnostic.message
            );
        }
        writeln!(err, "{rendered}")?;
    }
    let warnings = report.warning_count();
    match &report.rules {
        Some(rules) => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", summary(rules, warnings))
        }
        None => writeln!(
            err,
            "check failed: {} error{}, {warnings} warning{}",
            report.error_count(),
            plural(report.error_count()),
            plural(warnings)
        ),
    }
}

fn print_json(report: &CheckReport) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &report.diagnostics)?;
    writeln!(out)
}

/// `ok: clarizen-default v1 (target clarizen): 13 mappings, 14 reactions, 1 hook`.
fn summary(rules: &CheckedRules, warnings: usize) -> String {
    let mappings: usize = rules.mappings.values().map(|s| s.mappings.len()).sum();
    let reactions: usize = rules.policies.values().map(|p| p.reactions.len()).sum();
    let hooks: usize = rules.hooks.values().map(Vec::len).sum();
    let mut line = format!(
        "ok: {} v{} (target {}): {mappings} mapping{}, {reactions} reaction{}, {hooks} hook{}",
        rules.name,
        rules.version,
        rules.target.name,
        plural(mappings),
        plural(reactions),
        plural(hooks)
    );
    if warnings > 0 {
        line = format!("{line}, {warnings} warning{}", plural(warnings));
    }
    line
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
