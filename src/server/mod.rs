//! The hyper server: connection loop, routing, auth, limits.
