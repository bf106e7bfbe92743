mod ops;
mod scim;
mod store;
