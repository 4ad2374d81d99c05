//! Tests that need a real DuckDB database: the adapter itself and the materializations built
//! through it (`crate::execute::materialize`), in temporary files.

mod cache;
mod duckdb;
mod materialize;
