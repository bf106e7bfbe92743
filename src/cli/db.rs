//! `provisio db verify`.

use std::process::ExitCode;
use std::sync::Arc;

use provisio::pipeline::Profile;
use provisio::store::Store;

use crate::DbVerifyArgs;
use crate::cli::output::{complain, say};

/// `provisio db verify`: exit 0 when consistent, 1 naming every inconsistency.
pub fn verify(args: DbVerifyArgs) -> ExitCode {
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
