//! Storage in redb: tables, `apply(Plan)` in one write transaction, queries.
