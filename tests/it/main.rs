//! The one integration-test binary: real projects, the real `sluice` binary, real DuckDB files
//! and a real PostgreSQL server started by the tests.

mod architecture;
mod bad_input;
mod bad_input_catalogue;
mod cdp;
mod cli;
mod demo;
mod docs;
mod faults;
mod features;
mod flags;
mod fuzz;
mod incremental;
mod jinja;
mod macro_library;
mod metric_data_checks;
mod metric_tests;
mod metric_unit_tests;
mod metrics;
mod metrics_build;
mod metrics_case;
mod metrics_rules;
mod metrics_spec;
mod model_versions;
mod operation;
mod packages;
mod partial_parse;
mod pg_faults;
mod pg_server;
mod pkg_postgres;
mod postgres;
mod query_comment;
mod shop;
mod snapshots;
mod support;
mod yaml_forms;
