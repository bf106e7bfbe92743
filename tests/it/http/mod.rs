//! HTTP-level tests (issue #4): a real server on `127.0.0.1:0` with a real redb file in a
//! temp dir, driven with the request bodies Okta and Entra really send.

pub mod support;

mod access;
mod bad_input;
mod clarizen;
mod entra;
mod hostile;
mod isolation;
mod limits;
mod okta;
mod okta_import;
mod password;
mod smuggling;
mod surface;
mod terminal;
