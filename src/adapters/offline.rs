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

/// The error every command that needs the warehouse gets, before it does anything.
pub(super) fn refuse(target: &Target, display_name: &str) -> AdapterError {
    AdapterError::Unsupported {
        message: format!(
            "{REFUSAL}{display_name} yet (`type: {}`)\nhint: `sluice parse`, `compile`, `ls` and `docs generate --empty-catalog` work on this target without a connection",
            target.adapter_type
        ),
    }
}
