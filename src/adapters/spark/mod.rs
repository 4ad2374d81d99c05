//! `type: spark`: run on a Spark cluster over Spark Connect (`method: connect`, see
//! [`connect`]), or compiled offline as dbt-spark renders for dbt-spark's other methods
//! (`thrift`, `http`, `odbc`, `session`: see `super::offline`). Names are `schema.table`: Spark
//! has no database above its schemas.

mod arrow_rows;
mod connect;
mod dialect;

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::offline::{known_method, required, setting, REFUSAL};
use super::{AdapterError, Database, Engine, Scrubber};
use crate::project::profile::ProfileProblem;
use crate::project::Target;
use crate::sql::Dialect;
pub(crate) use dialect::{string_literal, DIALECT};

/// `type: spark` in the registry.
pub(crate) struct SparkEngine;

/// The connection methods: Spark Connect, which sluice runs on, and dbt-spark's others, which
/// it compiles for.
const METHODS: &[&str] = &["connect", "thrift", "http", "odbc", "session"];

/// The method sluice runs SQL with.
const RUNS: &str = "connect";

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
    /// `method: connect` targets are run, and `method: session` ones when `SPARK_REMOTE` names a
    /// Spark Connect server (pyspark's session then is a Spark Connect session, as dbt-spark's).
    fn compiles_only_target(&self, target: &Target) -> bool {
        match target.get_str("method").as_deref() {
            Some(RUNS) => false,
            Some("session") => spark_remote().is_none(),
            _ => true,
        }
    }
    fn open(
        &self,
        target: &Target,
        scrubber: Arc<Scrubber>,
    ) -> Result<Box<dyn Database>, AdapterError> {
        if self.compiles_only_target(target) {
            let method = target.get_str("method").unwrap_or_default();
            return Err(AdapterError::Unsupported {
                message: format!(
                    "{REFUSAL}Spark through `method: {method}` (`type: spark`)\nhint: sluice runs SQL on Spark over Spark Connect: set `method: connect` with the server's `host` and `port` (15002), or keep `method: session` and set SPARK_REMOTE=sc://host:port as for pyspark; `sluice parse`, `compile`, `ls` and `docs generate --empty-catalog` work on this target without a connection"
                ),
            });
        }
        Ok(Box::new(connect::SparkDatabase::open(target, scrubber)?))
    }
}

/// The Spark Connect server pyspark's `SparkSession` would reach (`SPARK_REMOTE`, `sc://...`).
fn spark_remote() -> Option<String> {
    std::env::var("SPARK_REMOTE")
        .ok()
        .filter(|r| r.starts_with("sc://"))
}

/// dbt-spark's table configs as the clauses between a new table's name and `as`: `using
/// <file_format>` (parquet by default), `partitioned by`, `clustered by ... into n buckets`,
/// `location '<location_root>/<identifier>'`.
pub(crate) fn table_options(
    identifier: &str,
    config: &dyn Fn(&str) -> Option<Value>,
) -> Result<String, String> {
    const FORMATS: &[&str] = &[
        "text", "csv", "json", "jdbc", "parquet", "orc", "hive", "delta", "iceberg", "libsvm",
        "hudi",
    ];
    let text = |v: Option<Value>| match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let list = |v: Option<Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(items)) => items
                .into_iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let format = text(config("file_format")).unwrap_or_else(|| "parquet".into());
    if !FORMATS.contains(&format.as_str()) {
        return Err(format!(
            "invalid file format `{format}`\nhint: `file_format` is one of {}",
            FORMATS.join(", ")
        ));
    }
    let mut out = vec![format!("using {format}")];
    let partitions = list(config("partition_by"));
    if !partitions.is_empty() {
        out.push(format!("partitioned by ({})", partitions.join(", ")));
    }
    let clustered = list(config("clustered_by"));
    if !clustered.is_empty() {
        let buckets = text(config("buckets")).ok_or_else(|| {
            "`clustered_by` needs `buckets`\nhint: add `buckets: <n>` to the model's config"
                .to_string()
        })?;
        out.push(format!(
            "clustered by ({}) into {buckets} buckets",
            clustered.join(", ")
        ));
    }
    if let Some(root) = text(config("location_root")) {
        out.push(format!(
            "location {}",
            crate::sql::literal(&format!("{}/{identifier}", root.trim_end_matches('/')))
        ));
    }
    Ok(out.join(" "))
}

/// dbt-spark's `Column.numeric_type`: Spark has only `decimal`, with both precision and scale
/// or neither.
pub(super) fn decimal(precision: Option<&str>, scale: Option<&str>) -> String {
    match (precision, scale) {
        (Some(p), Some(s)) => format!("decimal({p},{s})"),
        _ => "decimal".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::table_options;
    use serde_json::{json, Value};

    fn options(config: Value) -> Result<String, String> {
        table_options("orders", &|k: &str| config.get(k).cloned())
    }

    #[test]
    fn table_configs_become_dbt_sparks_clauses() {
        assert_eq!(options(json!({})).unwrap(), "using parquet");
        assert_eq!(
            options(json!({
                "file_format": "orc",
                "partition_by": ["order_date", "region"],
                "clustered_by": "customer_id",
                "buckets": 8,
                "location_root": "/data/lake/",
            }))
            .unwrap(),
            "using orc partitioned by (order_date, region) clustered by (customer_id) into 8 buckets location '/data/lake/orders'"
        );
        let err = options(json!({"file_format": "excel"})).unwrap_err();
        assert!(err.starts_with("invalid file format `excel`"), "{err}");
        let err = options(json!({"clustered_by": ["a"]})).unwrap_err();
        assert!(err.contains("needs `buckets`"), "{err}");
    }
}
