mod http;
mod ops;
mod scim;
mod store;
