//! `type: bigquery`: compiled offline as dbt-bigquery renders (backquoted
//! `project`.`dataset`.`table` names, its own cross-database macros and types), never
//! connected (see `super::offline`).

mod dialect;

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::offline::{known_method, refuse, required, setting};
use super::{AdapterError, Database, Engine, Scrubber};
use crate::project::profile::ProfileProblem;
use crate::project::Target;
use crate::sql::Dialect;
pub(crate) use dialect::DIALECT;

/// `type: bigquery` in the registry.
pub(crate) struct BigQueryEngine;

/// The authentication methods dbt-bigquery knows.
const METHODS: &[&str] = &[
    "oauth",
    "service-account",
    "service-account-json",
    "oauth-secrets",
    "external-oauth-wif",
];

impl Engine for BigQueryEngine {
    fn dialect(&self) -> Dialect {
        DIALECT
    }
    /// dbt-bigquery requires `method` and `schema` (alias `dataset`); the database is
    /// `database` (alias `project`); `service-account` needs `keyfile`, `service-account-json`
    /// `keyfile_json`.
    fn resolve_target(
        &self,
        values: &mut Map<String, Value>,
        _project_root: &Path,
    ) -> Result<(String, String), ProfileProblem> {
        let method = required(values, &["method"], "bigquery")?;
        known_method(&method, METHODS, "bigquery")?;
        let needs = match method.as_str() {
            "service-account" => Some("keyfile"),
            "service-account-json" => Some("keyfile_json"),
            _ => None,
        };
        if let Some(key) = needs {
            if values.get(key).is_none_or(Value::is_null) {
                return Err(ProfileProblem {
                    key: Some("method".into()),
                    message: format!("`method: {method}` needs `{key}`"),
                    hint: format!("add `{key}:` to the target in profiles.yml"),
                });
            }
        }
        let schema = required(values, &["schema", "dataset"], "bigquery")?;
        // Without a project dbt-bigquery asks Google's default credentials; offline there are
        // none to ask, so the project must be named.
        let database = setting(values, &["database", "project"]).ok_or_else(|| {
            ProfileProblem::missing(
                "project",
                "bigquery",
                "add `project:` (or `database:`) to the target in profiles.yml: offline, sluice cannot ask Google's default credentials for it",
            )
        })?;
        Ok((schema, database))
    }
    fn compiles_only(&self) -> bool {
        true
    }
    fn open(
        &self,
        target: &Target,
        _scrubber: Arc<Scrubber>,
    ) -> Result<Box<dyn Database>, AdapterError> {
        Err(refuse(target, "BigQuery"))
    }
}
