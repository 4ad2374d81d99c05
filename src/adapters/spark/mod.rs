//! `type: spark`: compiled offline as dbt-spark renders (`schema.table` names: Spark has no
//! database above its schemas), never connected (see `super::offline`).

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

/// `type: spark` in the registry.
pub(crate) struct SparkEngine;

/// The connection methods dbt-spark knows.
const METHODS: &[&str] = &["thrift", "http", "odbc", "session"];

impl Engine for SparkEngine {
    fn dialect(&self) -> Dialect {
        DIALECT
    }
    /// dbt-spark requires `method`, `host` and `schema`; `database`, if set, must equal the
    /// schema (Spark calls the same thing both).
    fn resolve_target(
        &self,
        values: &mut Map<String, Value>,
        _project_root: &Path,
    ) -> Result<(String, String), ProfileProblem> {
        let method = required(values, &["method"], "spark")?;
        known_method(&method, METHODS, "spark")?;
        required(values, &["host"], "spark")?;
        let schema = required(values, &["schema"], "spark")?;
        if let Some(database) = setting(values, &["database"]) {
            if database != schema {
                return Err(ProfileProblem {
                    key: Some("database".into()),
                    message: format!("schema `{schema}` and database `{database}` differ: on Spark, database must be omitted or have the same value as schema"),
                    hint: "remove `database:` from the target".into(),
                });
            }
        }
        Ok((schema, String::new()))
    }
    fn compiles_only(&self) -> bool {
        true
    }
    fn open(
        &self,
        target: &Target,
        _scrubber: Arc<Scrubber>,
    ) -> Result<Box<dyn Database>, AdapterError> {
        Err(refuse(target, "Spark"))
    }
}

/// dbt-spark's `Column.numeric_type`: Spark has only `decimal`, with both precision and scale
/// or neither.
pub(super) fn decimal(precision: Option<&str>, scale: Option<&str>) -> String {
    match (precision, scale) {
        (Some(p), Some(s)) => format!("decimal({p},{s})"),
        _ => "decimal".to_string(),
    }
}
