//! The one integration-test binary: real projects, the real `sluice` binary, real DuckDB files.

mod cli;
mod conformance;
mod demo;
mod features;
mod incremental;
mod jinja;
mod macro_library;
mod packages;
mod snapshots;
mod support;
