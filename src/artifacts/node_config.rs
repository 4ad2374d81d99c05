//! The `config` object of a manifest node: dbt's full default config for the node's resource
//! type (every key dbt writes, in dbt's order), overlaid with the node's resolved config.
//!
//! Decision: defaults are spelled out as literal JSON per resource type rather than derived from
//! the node's config, because dbt writes every default key even when nothing set it, and tools
//! reading the manifest (dbt-docs, state comparison) rely on those keys being present. Keys the
//! node sets that dbt has no default for are appended after the defaults, as dbt does for extra
//! config keys.
//!
//! The overlay is [`ConfigJson`], serialised from the node's borrowed values without copying the
//! defaults; `node_json` writes manifest nodes through it.

use std::borrow::Cow;
use std::sync::OnceLock;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
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
/// (the overlay itself is [`ConfigJson`], which manifest nodes are written through; this is its
/// value for the resources written as values).
pub(crate) fn node_config(node: &Node) -> Map<String, Value> {
    match serde_json::to_value(ConfigJson::of(node)) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// The defaults of every resource type, built once (they are the same for every node).
fn defaults(rt: ResourceType) -> &'static Map<String, Value> {
    // One cell per resource type (more cells than there are types).
    static CELLS: [OnceLock<Map<String, Value>>; 32] = [const { OnceLock::new() }; 32];
    CELLS[rt as usize].get_or_init(|| default_config(rt))
}

/// The node's full `config`: its resource type's defaults (in dbt's order) overlaid with the
/// node's own config, keys the defaults lack appended in the order the node set them, written
/// without copying the defaults.
pub(crate) struct ConfigJson<'a> {
    defaults: &'static Map<String, Value>,
    /// The node's value for each default key, by the key's position in `defaults`.
    slots: Vec<Option<&'a Value>>,
    /// Keys the defaults lack: normalised key -> the node's value, in first-seen order.
    extra: Vec<(&'a str, &'a Value)>,
}

/// The keys of a resource type's defaults, in order (built once).
fn default_keys(rt: ResourceType) -> &'static [&'static str] {
    static CELLS: [OnceLock<Vec<&'static str>>; 32] = [const { OnceLock::new() }; 32];
    CELLS[rt as usize].get_or_init(|| defaults(rt).keys().map(String::as_str).collect())
}

impl<'a> ConfigJson<'a> {
    pub(crate) fn of(node: &'a Node) -> Self {
        let keys = default_keys(node.resource_type);
        let mut slots = vec![None; keys.len()];
        let mut extra: Vec<(&'a str, &'a Value)> = Vec::new();
        for (pos, (k, v)) in node.config.iter().enumerate() {
            let key = normalize_key(k);
            // A node's config starts as a copy of its defaults: try the same position first.
            let at = if keys.get(pos) == Some(&key) {
                Some(pos)
            } else {
                keys.iter().position(|d| *d == key)
            };
            match at {
                Some(i) => slots[i] = Some(v),
                None => match extra.iter_mut().find(|(s, _)| *s == key) {
                    Some(slot) => slot.1 = v,
                    None => extra.push((key, v)),
                },
            }
        }
        ConfigJson {
            defaults: defaults(node.resource_type),
            slots,
            extra,
        }
    }

    /// The resolved value of one key, if the defaults or the node have it.
    pub(crate) fn get(&self, key: &str) -> Option<Cow<'a, Value>> {
        let keys = self.defaults.keys().map(String::as_str);
        if let Some(i) = keys.clone().position(|d| d == key) {
            let base = self.defaults.get(key);
            return match self.slots[i] {
                None => base.map(Cow::Borrowed),
                Some(v) => Some(resolve(key, base, v)),
            };
        }
        let own = self
            .extra
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)?;
        Some(resolve(key, None, own))
    }
}

/// The value dbt writes for a key the node set: hooks as hook objects, tags as a list, and the
/// object-valued settings merged over their defaults.
fn resolve<'a>(key: &str, base: Option<&'static Value>, v: &'a Value) -> Cow<'a, Value> {
    match key {
        "pre-hook" | "post-hook" => Cow::Owned(hooks(v)),
        "tags" if !v.is_array() => Cow::Owned(string_list(v)),
        "docs" | "contract" | "snapshot_meta_column_names" | "freshness" => match (base, v) {
            (Some(Value::Object(base)), Value::Object(more)) => {
                let mut merged = base.clone();
                for (mk, mv) in more {
                    merged.insert(mk.clone(), mv.clone());
                }
                Cow::Owned(Value::Object(merged))
            }
            _ => Cow::Borrowed(v),
        },
        _ => Cow::Borrowed(v),
    }
}

impl Serialize for ConfigJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for ((k, base), own) in self.defaults.iter().zip(&self.slots) {
            match own {
                Some(v) => m.serialize_entry(k, &resolve(k, Some(base), v))?,
                None => m.serialize_entry(k, base)?,
            }
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, &resolve(k, None, v))?;
        }
        m.end()
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
