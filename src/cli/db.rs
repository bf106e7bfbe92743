//! `provisio db verify`, `provisio db stats` and `provisio db compact`.

use std::process::ExitCode;
use std::sync::Arc;

use provisio::pipeline::Profile;
use provisio::store::Store;

use crate::cli::output::{complain, say};
use crate::{DbArgs, DbVerifyArgs};

/// `provisio db verify`: exit 0 when consistent, 1 naming every inconsistency.
pub fn verify(args: &DbVerifyArgs) -> ExitCode {
    let path = &args.db.db;
    if !path.exists() {
        complain!("provisio db verify: no database at {}", path.display());
        return ExitCode::FAILURE;
    }
    let rules = match super::load_rules(args.rules.as_deref(), None) {
        Ok((rules, _)) => rules,
        Err(err) => {
            complain!("provisio db verify: {err}");
            return ExitCode::FAILURE;
        }
    };
    let profile = Profile::new(Arc::new(rules));
    let report = Store::open(path).and_then(|store| store.verify(&profile.unique));
    let report = match (report, &args.cluster, &args.node) {
        (Ok(mut report), Some(endpoints), Some(node)) => {
            match super::cluster::verify_claims(endpoints, node, path) {
                Ok(problems) => {
                    report.problems.extend(problems.into_iter().map(|detail| {
                        provisio::store::Inconsistency {
                            table: "etcd claims",
                            detail,
                        }
                    }));
                    Ok(report)
                }
                Err(err) => {
                    complain!("provisio db verify: {err}");
                    return ExitCode::FAILURE;
                }
            }
        }
        (report, _, _) => report,
    };
    match report {
        Ok(report) => {
            let rows: usize = report.rows.values().sum();
            if report.is_consistent() {
                say!(
                    "{}: consistent ({rows} rows in {} tables checked)",
                    path.display(),
                    report.rows.len()
                );
                return ExitCode::SUCCESS;
            }
            for problem in &report.problems {
                say!("{problem}");
            }
            complain!(
                "provisio db verify: {} inconsistencies in {}",
                report.problems.len(),
                path.display()
            );
            ExitCode::FAILURE
        }
        Err(err) => {
            complain!("provisio db verify: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `provisio db stats`: each table's rows and bytes, largest first, then the bytes per
/// stored resource (user or group, with its entity, indexes, history and log).
pub fn stats(args: &DbArgs) -> ExitCode {
    let path = &args.db;
    let file_bytes = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(err) => {
            complain!(
                "provisio db stats: no database at {}: {err}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let usage = match Store::open(path).and_then(|store| store.usage(file_bytes)) {
        Ok(usage) => usage,
        Err(err) => {
            complain!("provisio db stats: {err}");
            return ExitCode::FAILURE;
        }
    };
    say!(
        "{:<22} {:>10} {:>12} {:>12} {:>10}",
        "table",
        "rows",
        "stored",
        "total",
        "bytes/row"
    );
    for table in usage.tables.iter().filter(|t| t.rows > 0) {
        say!(
            "{:<22} {:>10} {:>12} {:>12} {:>10}",
            table.name,
            table.rows,
            table.stored,
            table.total(),
            table.total() / table.rows
        );
    }
    let resources = usage.table("resources").map_or(0, |t| t.rows);
    let per_resource = usage
        .file_bytes
        .checked_div(resources)
        .map(|bytes| format!("; {bytes} bytes of the file per stored resource ({resources})"))
        .unwrap_or_default();
    say!(
        "{} bytes in tables, {} in the file{per_resource}",
        usage.in_tables(),
        usage.file_bytes
    );
    ExitCode::SUCCESS
}

/// `provisio db compact`: the file's size before and after.
pub fn compact(args: &DbArgs) -> ExitCode {
    let path = &args.db;
    if !path.exists() {
        complain!("provisio db compact: no database at {}", path.display());
        return ExitCode::FAILURE;
    }
    match Store::compact(path) {
        Ok(done) => {
            say!(
                "{}: {} bytes before, {} after ({} given back)",
                path.display(),
                done.before,
                done.after,
                done.before.saturating_sub(done.after)
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            complain!("provisio db compact: {err}");
            ExitCode::FAILURE
        }
    }
}
