//! The offline operator commands: tenants, keys, entity import, history and log.

use std::process::ExitCode;

use crate::{
    DbArgs, HistoryArgs, ImportArgs, KeyCreateArgs, KeyListArgs, KeyRevokeArgs, LogArgs,
    TenantCreateArgs,
};

fn not_built(name: &str) -> ExitCode {
    eprintln!("provisio {name}: not built yet");
    ExitCode::FAILURE
}

/// `provisio tenant create`
pub fn tenant_create(_args: TenantCreateArgs) -> ExitCode {
    not_built("tenant create")
}
/// `provisio tenant list`
pub fn tenant_list(_args: DbArgs) -> ExitCode {
    not_built("tenant list")
}
/// `provisio key create`
pub fn key_create(_args: KeyCreateArgs) -> ExitCode {
    not_built("key create")
}
/// `provisio key list`
pub fn key_list(_args: KeyListArgs) -> ExitCode {
    not_built("key list")
}
/// `provisio key revoke`
pub fn key_revoke(_args: KeyRevokeArgs) -> ExitCode {
    not_built("key revoke")
}
/// `provisio entities import`
pub fn entities_import(_args: ImportArgs) -> ExitCode {
    not_built("entities import")
}
/// `provisio history`
pub fn history(_args: HistoryArgs) -> ExitCode {
    not_built("history")
}
/// `provisio log`
pub fn log(_args: LogArgs) -> ExitCode {
    not_built("log")
}
