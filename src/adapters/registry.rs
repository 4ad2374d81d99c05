//! The one list of engines: a profile's `type` to its [`Engine`]. Adding an engine is its folder
//! under `adapters/` plus one line here; an unknown `type` is an error, never a fallback to
//! another engine's SQL.

use std::path::Path;

use serde_json::{Map, Value};

use super::Engine;
use crate::project::profile::ProfileProblem;
use crate::sql::Dialect;

static ENGINES: &[&dyn Engine] = &[
    &super::duckdb::DuckDbEngine,
    &super::postgres::PgEngine,
    &super::snowflake::SnowflakeEngine,
    &super::bigquery::BigQueryEngine,
    &super::redshift::RedshiftEngine,
    &super::databricks::DatabricksEngine,
    &super::spark::SparkEngine,
    #[cfg(test)]
    &super::ansi::AnsiEngine,
];

/// The engine a profile `type` names.
pub(crate) fn engine(type_name: &str) -> Option<&'static dyn Engine> {
    ENGINES
        .iter()
        .copied()
        .find(|e| e.dialect().name() == type_name)
}

/// Whether sluice only compiles for `target` ([`Engine::compiles_only_target`]).
pub(crate) fn compiles_only(target: &crate::project::Target) -> bool {
    engine(&target.adapter_type).is_some_and(|e| e.compiles_only_target(target))
}

/// The hint for an unsupported `type`: what sluice runs on, and what it compiles for.
pub(crate) fn supported_hint() -> String {
    let names = |compile_only: bool| -> String {
        let names: Vec<String> = ENGINES
            .iter()
            .filter(|e| e.compiles_only() == compile_only)
            .map(|e| format!("`type: {}`", e.dialect().name()))
            .collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => names.join(""),
        }
    };
    format!(
        "sluice supports {}, and compiles offline for {}",
        names(false),
        names(true)
    )
}

/// What `project` needs to resolve a profile's target (it cannot name `adapters`).
pub(crate) struct Registry;

impl crate::project::EngineLookup for Registry {
    fn resolve(
        &self,
        adapter_type: &str,
        values: &mut Map<String, Value>,
        project_root: &Path,
    ) -> Option<Result<(Dialect, String, String), ProfileProblem>> {
        let engine = engine(adapter_type)?;
        Some(
            engine
                .resolve_target(values, project_root)
                .map(|(schema, database)| (engine.dialect(), schema, database)),
        )
    }
    fn supported_hint(&self) -> String {
        supported_hint()
    }
}
