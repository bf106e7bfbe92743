//! The CLI's way to a running server: while `provisio serve` holds the database, it keeps
//! its admin URL and a token beside it (`DB.admin`, readable by its owner only), and the
//! commands that would open the database call the admin API instead.

use std::path::{Path, PathBuf};

/// The credential file of the server holding `db`.
pub fn credential_path(db: &Path) -> PathBuf {
    let mut name = db
        .file_name()
        .map(std::ffi::OsString::from)
        .unwrap_or_default();
    name.push(".admin");
    db.with_file_name(name)
}
