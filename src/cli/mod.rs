//! One file per command family; each owns its output.

pub mod admin;
pub mod check;
pub mod explain;
pub mod serve;
