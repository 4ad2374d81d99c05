//! `type: databricks`: compiled offline as dbt-databricks renders (backquoted
//! `catalog`.`schema`.`table` names, Spark's macros under Databricks' own, as dbt-databricks
//! builds on dbt-spark), never connected (see `super::offline`).

mod dialect;

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::offline::{refuse, required, setting};
use super::{AdapterError, Database, Engine, Scrubber};
use crate::project::profile::ProfileProblem;
use crate::project::Target;
use crate::sql::Dialect;
pub(crate) use dialect::DIALECT;

/// `type: databricks` in the registry.
pub(crate) struct DatabricksEngine;

impl Engine for DatabricksEngine {
    fn dialect(&self) -> Dialect {
        DIALECT
    }
    /// dbt-databricks requires `host`, `http_path` and `schema` (without a `.`); the database
    /// is `catalog` (alias of `database`), `hive_metastore` when not set.
    fn resolve_target(
        &self,
        values: &mut Map<String, Value>,
        _project_root: &Path,
    ) -> Result<(String, String), ProfileProblem> {
        required(values, &["host"], "databricks")?;
        required(values, &["http_path"], "databricks")?;
        let schema = required(values, &["schema"], "databricks")?;
        if schema.contains('.') {
            return Err(ProfileProblem {
                key: Some("schema".into()),
                message: format!("The schema should not contain '.': {schema}"),
                hint: "to set a catalog, use `catalog:` instead".into(),
            });
        }
        let database = setting(values, &["catalog", "database"])
            .map(|c| c.trim().to_string())
            .unwrap_or_else(|| "hive_metastore".into());
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
        Err(refuse(target, "Databricks"))
    }
}
