//! The `config` object of a manifest node: dbt's full default config for the node's resource
//! type (every key dbt writes, in dbt's order), overlaid with the node's resolved config.
//!
//! Decision: defaults are spelled out as literal JSON per resource type rather than derived from
//! the node's config, because dbt writes every default key even when nothing set it, and tools
//! reading the manifest (dbt-docs, state comparison) rely on those keys being present. Keys the
//! node sets that dbt has no default for are appended after the defaults, as dbt does for extra
//! config keys.

use serde_json::{json, Map, Value};

use crate::compile::{Node, ResourceType};

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `docs` defaults (`show: true, node_color: null`).
pub(crate) fn default_docs() -> Map<String, Value> {
    obj(json!({"show": true, "node_color": null}))
}

/// The config keys every node-like resource (model, seed, snapshot, analysis, operation) has.
fn base_node_config(materialized: &str) -> Map<String, Value> {
    obj(json!({
        "enabled": true,
        "alias": null,
        "schema": null,
        "database": null,
        "tags": [],
        "meta": {},
        "group": null,
        "materialized": materialized,
        "incremental_strategy": null,
        "batch_size": null,
        "lookback": 1,
        "begin": null,
        "persist_docs": {},
        "post-hook": [],
        "pre-hook": [],
        "quoting": {},
        "column_types": {},
        "full_refresh": null,
        "unique_key": null,
        "on_schema_change": "ignore",
        "on_configuration_change": "apply",
        "grants": {},
        "packages": [],
        "docs": {"show": true, "node_color": null},
        "contract": {"enforced": false, "alias_types": true},
        "event_time": null,
        "concurrent_batches": null
    }))
}

/// Default config for a resource type, keys in dbt's order.
pub(crate) fn default_config(rt: ResourceType) -> Map<String, Value> {
    match rt {
        ResourceType::Model => {
            let mut m = base_node_config("view");
            m.insert("access".into(), json!("protected"));
            m.insert("freshness".into(), Value::Null);
            m
        }
        ResourceType::Seed => {
            let mut m = base_node_config("seed");
            m.insert("delimiter".into(), json!(","));
            m.insert("quote_columns".into(), Value::Null);
            m
        }
        ResourceType::Snapshot => {
            let mut m = base_node_config("snapshot");
            for (k, v) in obj(json!({
                "strategy": null,
                "target_schema": null,
                "target_database": null,
                "updated_at": null,
                "check_cols": null,
                "snapshot_meta_column_names": {
                    "dbt_valid_to": null,
                    "dbt_valid_from": null,
                    "dbt_scd_id": null,
                    "dbt_updated_at": null,
                    "dbt_is_deleted": null
                },
                "dbt_valid_to_current": null
            })) {
                m.insert(k, v);
            }
            m
        }
        ResourceType::Test => obj(json!({
            "enabled": true,
            "alias": null,
            "schema": "dbt_test__audit",
            "database": null,
            "tags": [],
            "meta": {},
            "group": null,
            "materialized": "test",
            "severity": "ERROR",
            "store_failures": null,
            "store_failures_as": null,
            "where": null,
            "limit": null,
            "fail_calc": "count(*)",
            "warn_if": "!= 0",
            "error_if": "!= 0"
        })),
        ResourceType::Source => obj(json!({
            "enabled": true,
            "event_time": null,
            "freshness": default_freshness(),
            "loaded_at_field": null,
            "loaded_at_query": null,
            "meta": {},
            "tags": []
        })),
        ResourceType::UnitTest => obj(json!({"tags": [], "meta": {}, "enabled": true})),
        ResourceType::Exposure => obj(json!({"enabled": true, "tags": [], "meta": {}})),
        ResourceType::SavedQuery => obj(json!({
            "enabled": true, "group": null, "meta": {}, "export_as": null, "schema": null,
            "cache": {"enabled": false}
        })),
        ResourceType::Analysis | ResourceType::Operation => base_node_config("view"),
    }
}

/// A source's default freshness (no thresholds).
pub(crate) fn default_freshness() -> Value {
    json!({
        "warn_after": {"count": null, "period": null},
        "error_after": {"count": null, "period": null},
        "filter": null
    })
}

/// `pre_hook` -> `pre-hook`.
pub(crate) fn normalize_key(k: &str) -> &str {
    match k {
        "pre_hook" => "pre-hook",
        "post_hook" => "post-hook",
        other => other,
    }
}

/// One hook as dbt's manifest writes it: `{"sql", "transaction", "index"}`.
fn hook_object(v: &Value) -> Value {
    match v {
        Value::Object(h) => json!({
            "sql": h.get("sql").cloned().unwrap_or_else(|| json!("")),
            "transaction": h.get("transaction").cloned().unwrap_or(Value::Bool(true)),
            "index": h.get("index").cloned().unwrap_or(Value::Null),
        }),
        Value::String(s) => json!({"sql": s, "transaction": true, "index": null}),
        other => json!({"sql": other.to_string(), "transaction": true, "index": null}),
    }
}

/// A hook config value (string, list of strings, hook objects) as a list of hook objects.
pub(crate) fn hooks(v: &Value) -> Value {
    match v {
        Value::Null => json!([]),
        Value::Array(items) => Value::Array(items.iter().map(hook_object).collect()),
        single => Value::Array(vec![hook_object(single)]),
    }
}

pub(crate) fn string_list(v: &Value) -> Value {
    match v {
        Value::Null => json!([]),
        Value::Array(_) => v.clone(),
        other => Value::Array(vec![other.clone()]),
    }
}

/// The node's full `config` object: defaults for its resource type overlaid with `node.config`
/// (the overlay itself lives in [`super::node_json::ConfigJson`], which manifest nodes are
/// written through; this is its value for the resources written as values).
pub(crate) fn node_config(node: &Node) -> Map<String, Value> {
    match serde_json::to_value(super::node_json::ConfigJson::of(node)) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_normalize_every_spelling() {
        assert_eq!(
            hooks(&json!("select 1")),
            json!([{"sql": "select 1", "transaction": true, "index": null}])
        );
        assert_eq!(
            hooks(&json!(["a", {"sql": "b", "transaction": false}])),
            json!([
                {"sql": "a", "transaction": true, "index": null},
                {"sql": "b", "transaction": false, "index": null}
            ])
        );
        assert_eq!(hooks(&Value::Null), json!([]));
    }

    #[test]
    fn overlay_keeps_default_order_and_appends_extras() {
        let mut n = Node::new(
            "model.p.m".into(),
            ResourceType::Model,
            "m".into(),
            "p".into(),
        );
        n.config_mut().insert("custom".into(), json!(1));
        n.config_mut().insert("materialized".into(), json!("table"));
        n.config_mut().insert("pre_hook".into(), json!("select 2"));
        n.config_mut()
            .insert("docs".into(), json!({"node_color": "gold"}));
        let c = node_config(&n);
        let keys: Vec<&str> = c.keys().map(String::as_str).collect();
        assert_eq!(keys.last(), Some(&"custom"));
        assert_eq!(keys.iter().position(|k| *k == "materialized"), Some(7));
        assert_eq!(c["materialized"], "table");
        assert_eq!(
            c["pre-hook"],
            json!([{"sql": "select 2", "transaction": true, "index": null}])
        );
        assert_eq!(c["docs"], json!({"show": true, "node_color": "gold"}));
        assert!(!c.contains_key("pre_hook"));
    }
}
