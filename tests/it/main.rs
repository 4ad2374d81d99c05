//! The one integration-test binary: real projects, the real `sluice` binary, real DuckDB files.

mod cdp;
mod cli;
mod conformance;
mod demo;
mod docs;
mod features;
mod support;
