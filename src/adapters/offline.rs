//! What the compile-only warehouse engines (Snowflake, BigQuery, Redshift, Databricks, Spark)
//! share: reading a profile's settings by their names and aliases, checking the required ones,
//! and refusing, in one clear error, to open a connection. sluice parses, compiles, lists and
//! documents projects for these warehouses offline, rendering as their dbt adapters do; it does
//! not run SQL on them.

use serde_json::{Map, Value};

use super::AdapterError;
use crate::project::profile::ProfileProblem;
use crate::project::Target;

/// The first of `keys` (a setting and its aliases) the profile sets, as text (numbers too).
pub(super) fn setting(values: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match values.get(*k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// The setting `keys[0]` (or one of its aliases, `keys[1..]`), which a `type: engine` target
/// must have.
pub(super) fn required(
    values: &Map<String, Value>,
    keys: &[&str],
    engine: &str,
) -> Result<String, ProfileProblem> {
    setting(values, keys).ok_or_else(|| {
        let aliases = match keys {
            [_, rest @ ..] if !rest.is_empty() => format!(
                " (or {})",
                rest.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => String::new(),
        };
        ProfileProblem::missing(
            keys[0],
            engine,
            format!(
                "add `{}:`{aliases} to the target in profiles.yml, as dbt-{engine} requires",
                keys[0]
            ),
        )
    })
}

/// How [`refuse`]'s message begins.
pub(super) const REFUSAL: &str = "sluice does not run SQL on ";

/// `method` (read from the profile) unless it is one of `known`, dbt-`engine`'s methods.
pub(super) fn known_method(
    method: &str,
    known: &[&str],
    engine: &str,
) -> Result<(), ProfileProblem> {
    if known.contains(&method) {
        return Ok(());
    }
    Err(ProfileProblem {
        key: Some("method".into()),
        message: format!("invalid `method` in profile: '{method}'"),
        hint: format!("dbt-{engine}'s methods are {}", known.join(", ")),
    })
}

/// The error every command that needs the warehouse gets, before it does anything.
pub(super) fn refuse(target: &Target, display_name: &str) -> AdapterError {
    AdapterError::Unsupported {
        message: format!(
            "{REFUSAL}{display_name} yet (`type: {}`)\nhint: `sluice parse`, `compile`, `ls` and `docs generate --empty-catalog` work on this target without a connection",
            target.adapter_type
        ),
    }
}

/// `create schema if not exists` with the schema (and database, where the engine names one)
/// quoted as `dialect` quotes relation names.
pub(super) fn create_schema(dialect: crate::sql::Dialect, database: &str, schema: &str) -> String {
    let q = dialect.quote_policy();
    let part = |s: &str, quoted: bool| match quoted {
        true => crate::sql::quote_with(s, q.mark),
        false => s.to_string(),
    };
    let name = match database.is_empty() || q.skip_database {
        true => part(schema, q.schema),
        false => format!("{}.{}", part(database, q.database), part(schema, q.schema)),
    };
    format!("create schema if not exists {name}")
}

/// The `SqlDialect` methods every compile-only dialect shares: what matters only to running
/// (which these engines never do) or follows from the dialect's quoting. Expands inside an
/// `impl SqlDialect` block; `$dialect` is the engine's `DIALECT`.
macro_rules! compile_only_sql {
    ($dialect:expr) => {
        fn create_schema(&self, database: &str, schema: &str) -> String {
            crate::adapters::offline::create_schema($dialect, database, schema)
        }
        fn schema_filter(&self, _database: &str, schema: &str) -> String {
            format!(
                "lower(schema_name) = lower({})",
                crate::sql::literal(schema)
            )
        }
        fn catalog_database_filter(&self, _database: &str) -> String {
            String::new()
        }
        fn temp_relation(&self, identifier: &str) -> crate::sql::Relation {
            crate::sql::Relation::new("", "", identifier)
        }
        fn build_status(&self, rows: Option<u64>, _created_table: bool) -> (String, Option<u64>) {
            ("OK".into(), rows)
        }
    };
}
pub(super) use compile_only_sql;
