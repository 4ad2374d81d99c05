//! The DAG node of a compiled metric unit test: a `unit_test` node named after the test, under
//! the metric it tests, holding the [`Compiled`] test in `definition.metric_unit_test` for the
//! executor and the entry as written for the artifacts.
//!
//! Split from the unit tests' `mod.rs` because it only fills in node fields: every check of the
//! entry has passed when it runs.

use serde_json::{Map, Value};

use super::{Compiled, Engine, Entry};
use crate::compile::{Node, ResourceType};
use crate::metrics::data_tests::Target;
use crate::project::config::str_list;

/// The node of a compiled test; `metrics`: the metrics its query asks for (its dependencies).
pub(super) fn node(
    e: &Entry,
    target: &Target,
    unique_id: String,
    config: &Map<String, Value>,
    compiled: &Compiled,
    metrics: &[String],
) -> Node {
    let name = &e.name;
    let metric = compiled.metric.as_str();
    let engine = compiled.engine;
    let sql = compiled.sql.clone();
    let pkg = target.package;
    let mut node = Node::new(
        unique_id,
        ResourceType::UnitTest,
        name.clone(),
        pkg.to_string(),
    );
    node.original_file_path = e.file.original_file_path.clone();
    node.path = e
        .file
        .original_file_path
        .split_once('/')
        .map(|(_, rest)| rest.to_string())
        .unwrap_or_else(|| e.file.original_file_path.clone());
    node.fqn = vec![pkg.to_string(), metric.to_string(), name.clone()];
    node.database = target.database.to_string();
    node.schema = target.schema.to_string();
    node.alias = name.clone();
    node.description =
        e.v.get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
    node.tags = str_list(config.get("tags"));
    let mut cfg = Map::new();
    cfg.insert(
        "tags".into(),
        Value::Array(node.tags.iter().cloned().map(Value::String).collect()),
    );
    cfg.insert(
        "meta".into(),
        config
            .get("meta")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new())),
    );
    cfg.insert("enabled".into(), Value::Bool(true));
    cfg.insert(
        "engine".into(),
        Value::String(
            match engine {
                Engine::Duckdb => "duckdb",
                Engine::Target => "target",
            }
            .into(),
        ),
    );
    node.config = std::sync::Arc::new(cfg.into());
    node.raw_code = sql;
    node.checksum = {
        let def = Value::Object(e.v.clone()).to_string();
        crate::project::FileHash::sha256(crate::templating::local_md5(&def))
    };
    node.depends_on_nodes = metrics
        .iter()
        .map(|m| format!("metric.{pkg}.{m}"))
        .collect();
    node.definition = serde_json::json!({
        "model": Value::Null,
        "metric": metric,
        "given": e.v.get("given").cloned().unwrap_or(Value::Null),
        "expect": e.v.get("expect").cloned().unwrap_or(Value::Null),
        "overrides": Value::Null,
        "metric_unit_test": serde_json::to_value(compiled).unwrap_or(Value::Null),
    });
    node
}
