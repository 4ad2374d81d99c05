//! `type: redshift`: compiled offline as dbt-redshift renders (PostgreSQL's names and macros
//! under Redshift's own, as dbt-redshift builds on dbt-postgres), never connected (see
//! `super::offline`).

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

/// `type: redshift` in the registry.
pub(crate) struct RedshiftEngine;

impl Engine for RedshiftEngine {
    fn dialect(&self) -> Dialect {
        DIALECT
    }
    /// dbt-redshift requires `host`, `port`, `database` (alias `dbname`) and `schema`; its
    /// `method` is `database` (user and password) or `iam`.
    fn resolve_target(
        &self,
        values: &mut Map<String, Value>,
        _project_root: &Path,
    ) -> Result<(String, String), ProfileProblem> {
        required(values, &["host"], "redshift")?;
        required(values, &["port"], "redshift")?;
        let database = required(values, &["database", "dbname"], "redshift")?;
        let schema = required(values, &["schema"], "redshift")?;
        if let Some(method) = setting(values, &["method"]) {
            const METHODS: &[&str] = &[
                "database",
                "iam",
                "iam_role",
                "browser_identity_center",
                "oauth_token_identity_center",
            ];
            known_method(&method, METHODS, "redshift")?;
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
        Err(refuse(target, "Redshift"))
    }
}
