//! A node's resolved config ([`NodeConfig`]): every key in the order the layers set it (what
//! `manifest.json` writes), with the keys the pipeline branches on typed once, when they are set,
//! instead of looked up and parsed by string at every use.
//!
//! Decision: the values stay one ordered JSON map rather than one struct field per dbt key. dbt
//! keeps any key a user sets (custom materializations read their own), writes every key back in
//! the manifest in the order it resolved them, and compares them as written for state selection;
//! a map holds all of that losslessly. What the pipeline decides on (the materialization, whether
//! the node is enabled) is typed and kept in step by the only ways to change the map
//! ([`NodeConfig::insert`], [`NodeConfig::remove`], [`NodeConfig::merge`]); reading goes through
//! `Deref` to the map, or the typed accessors.

use std::ops::Deref;

use serde_json::{Map, Value};

/// How a node is built: `config.materialized`, typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Materialization {
    #[default]
    View,
    Table,
    Incremental,
    Ephemeral,
    /// PostgreSQL's materialized views (`materialized_view`).
    MaterializedView,
    Seed,
    Snapshot,
    Test,
    /// A materialization sluice does not build (custom ones, or none set).
    Other,
}

impl Materialization {
    pub(crate) fn from_config(s: &str) -> Self {
        match s {
            "view" => Materialization::View,
            "table" => Materialization::Table,
            "incremental" => Materialization::Incremental,
            "ephemeral" => Materialization::Ephemeral,
            "materialized_view" => Materialization::MaterializedView,
            "seed" => Materialization::Seed,
            "snapshot" => Materialization::Snapshot,
            "test" | "unit" => Materialization::Test,
            _ => Materialization::Other,
        }
    }
}

/// A node's resolved config: the ordered values, and the typed keys derived from them.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    values: Map<String, Value>,
    materialized: Materialization,
    enabled: bool,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig::from(Map::new())
    }
}

impl From<Map<String, Value>> for NodeConfig {
    fn from(values: Map<String, Value>) -> Self {
        let mut c = NodeConfig {
            values,
            materialized: Materialization::Other,
            enabled: true,
        };
        c.derive("materialized");
        c.derive("enabled");
        c
    }
}

impl Deref for NodeConfig {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        &self.values
    }
}

impl serde::Serialize for NodeConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.values.serialize(s)
    }
}

impl NodeConfig {
    /// The values, in order.
    pub(crate) fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// `materialized`, typed (`Other` when unset or not one sluice builds).
    pub(crate) fn materialization(&self) -> Materialization {
        self.materialized
    }

    /// `materialized` as written (`""` when unset).
    pub(crate) fn materialized(&self) -> &str {
        self.str("materialized").unwrap_or("")
    }

    /// `enabled` (a boolean, or `"true"` / `"false"` in any case, as dbt accepts; true when
    /// unset).
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// A string value.
    pub(crate) fn str(&self, key: &str) -> Option<&str> {
        self.values.get(key).and_then(Value::as_str)
    }

    /// A boolean value, also from `"true"` / `"false"` strings in any case.
    pub(crate) fn bool(&self, key: &str) -> Option<bool> {
        match self.values.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// Sets a key (in place if present, else last).
    pub(crate) fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        let old = self.values.insert(key.clone(), value);
        self.derive(&key);
        old
    }

    /// Sets a key that is not set yet (last).
    pub(crate) fn insert_default(&mut self, key: &str, value: Value) {
        if !self.values.contains_key(key) {
            self.insert(key.to_string(), value);
        }
    }

    /// Removes a key.
    #[cfg(test)]
    pub(crate) fn remove(&mut self, key: &str) -> Option<Value> {
        let old = self.values.remove(key);
        self.derive(key);
        old
    }

    /// Merges a layer of settings over these with dbt's rules ([`super::config::merge`]: tags and
    /// hooks append, `meta` and other dicts merge, the rest replaces).
    pub(crate) fn merge(&mut self, more: &Map<String, Value>) {
        super::config::merge(&mut self.values, more);
        self.derive("materialized");
        self.derive("enabled");
    }

    /// Keeps the typed copy of `key` in step with its value.
    fn derive(&mut self, key: &str) {
        match key {
            "materialized" => {
                self.materialized = self
                    .str("materialized")
                    .map_or(Materialization::Other, Materialization::from_config);
            }
            "enabled" => self.enabled = self.bool("enabled").unwrap_or(true),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(v: Value) -> NodeConfig {
        match v {
            Value::Object(m) => m.into(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn typed_keys_follow_every_change() {
        let mut c = config(json!({"materialized": "view", "enabled": "False", "x": 1}));
        assert_eq!(c.materialization(), Materialization::View);
        assert!(!c.enabled());
        c.insert("materialized".into(), json!("incremental"));
        assert_eq!(c.materialization(), Materialization::Incremental);
        c.merge(config(json!({"enabled": true, "materialized": "my_custom"})).values());
        assert!(c.enabled());
        assert_eq!(c.materialization(), Materialization::Other);
        assert_eq!(c.materialized(), "my_custom");
        c.remove("enabled");
        assert!(c.enabled(), "unset means enabled");
        c.remove("materialized");
        assert_eq!(c.materialized(), "");
        // The order the keys were set in is kept.
        assert_eq!(c.keys().collect::<Vec<_>>(), ["x"]);
    }

    #[test]
    fn serialises_as_its_values() {
        let c = config(json!({"b": 1, "a": [2]}));
        assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"b":1,"a":[2]}"#);
    }
}
