//! The one integration-test binary: real projects, the real `sluice` binary, real DuckDB files.

mod cli;
mod conformance;
mod demo;
mod features;
mod metrics;
mod metrics_pg;
mod metrics_rules;
mod support;
