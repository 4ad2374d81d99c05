//! `type: snowflake`: compiled offline as dbt-snowflake renders (names unquoted, its own
//! cross-database macros), never connected (see `super::offline`).

mod dialect;

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::offline::{refuse, required};
use super::{AdapterError, Database, Engine, Scrubber};
use crate::project::profile::ProfileProblem;
use crate::project::Target;
use crate::sql::Dialect;
pub(crate) use dialect::DIALECT;

/// `type: snowflake` in the registry.
pub(crate) struct SnowflakeEngine;

impl Engine for SnowflakeEngine {
    fn dialect(&self) -> Dialect {
        DIALECT
    }
    /// dbt-snowflake requires `account`, `database` and `schema`; `private_key` and
    /// `private_key_path` cannot both be set.
    fn resolve_target(
        &self,
        values: &mut Map<String, Value>,
        _project_root: &Path,
    ) -> Result<(String, String), ProfileProblem> {
        required(values, &["account"], "snowflake")?;
        let database = required(values, &["database"], "snowflake")?;
        let schema = required(values, &["schema"], "snowflake")?;
        if values.contains_key("private_key") && values.contains_key("private_key_path") {
            return Err(ProfileProblem {
                key: Some("private_key_path".into()),
                message: "Cannot specify both `private_key` and `private_key_path`".into(),
                hint: "keep one of the two keys".into(),
            });
        }
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
        Err(refuse(target, "Snowflake"))
    }
}
