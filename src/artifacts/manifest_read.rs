//! `manifest.json` (schema v12) read back: [`ManifestDocument`] types the parts of a manifest
//! that later commands compare and look up (ids, resource types, checksums, configs, dependencies,
//! relation names, code), from a manifest sluice wrote or one real dbt wrote.
//!
//! Decision: the writer ([`super::write_manifest`]) stays a streaming, hand-ordered serialiser
//! rather than `Serialize` on these types. dbt's key order differs per resource type and the
//! writer reproduces it byte for byte from the parsed project without building a value tree;
//! these types are for reading, so every field defaults when missing and keys they do not name
//! are kept in `other`, losing nothing a caller might still need.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{timestamp, ArtifactError};
use crate::compile::{Materialization, ResourceType};

/// A whole `manifest.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestDocument {
    pub metadata: ManifestMetadata,
    #[serde(default)]
    pub nodes: BTreeMap<String, ManifestNode>,
    #[serde(default)]
    pub sources: BTreeMap<String, ManifestNode>,
    #[serde(default)]
    pub macros: BTreeMap<String, ManifestMacro>,
    #[serde(default)]
    pub docs: BTreeMap<String, Value>,
    #[serde(default)]
    pub exposures: BTreeMap<String, Value>,
    #[serde(default)]
    pub metrics: BTreeMap<String, Value>,
    #[serde(default)]
    pub groups: BTreeMap<String, Value>,
    #[serde(default)]
    pub selectors: BTreeMap<String, Value>,
    /// Disabled resources by unique id, as written (any resource type, semantic ones included).
    #[serde(default)]
    pub disabled: BTreeMap<String, Vec<Value>>,
    #[serde(default)]
    pub parent_map: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub child_map: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub group_map: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub saved_queries: BTreeMap<String, Value>,
    #[serde(default)]
    pub semantic_models: BTreeMap<String, Value>,
    #[serde(default)]
    pub unit_tests: BTreeMap<String, ManifestNode>,
}

impl ManifestDocument {
    /// Reads a `manifest.json` written by sluice or by dbt.
    pub fn read(path: &Path) -> Result<Self, ArtifactError> {
        super::read_json(path, "manifest.json")
    }

    /// A node, source or unit test by unique id.
    #[cfg(test)]
    pub(crate) fn get(&self, unique_id: &str) -> Option<&ManifestNode> {
        self.nodes
            .get(unique_id)
            .or_else(|| self.sources.get(unique_id))
            .or_else(|| self.unit_tests.get(unique_id))
    }
}

/// `metadata` of a manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestMetadata {
    pub dbt_schema_version: String,
    pub dbt_version: String,
    #[serde(with = "timestamp")]
    pub generated_at: DateTime<Utc>,
    #[serde(default)]
    pub invocation_id: Option<String>,
    #[serde(default, with = "timestamp::option")]
    pub invocation_started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub env: Map<String, Value>,
    #[serde(default)]
    pub project_name: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub adapter_type: Option<String>,
}

/// A file checksum: `{"name": "sha256", "checksum": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FileChecksum {
    pub name: String,
    pub checksum: String,
}

/// `depends_on` of a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DependsOn {
    #[serde(default)]
    pub macros: Vec<String>,
    #[serde(default)]
    pub nodes: Vec<String>,
}

/// A node of `nodes`, `sources` or `unit_tests`: what every resource type has, typed; the rest
/// of its keys in [`ManifestNode::other`].
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestNode {
    pub unique_id: String,
    #[serde(deserialize_with = "resource_type")]
    pub resource_type: ResourceType,
    pub name: String,
    #[serde(default)]
    pub package_name: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub original_file_path: String,
    #[serde(default)]
    pub patch_path: Option<String>,
    #[serde(default)]
    pub fqn: Vec<String>,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    /// Models, seeds, snapshots, tests; sources have an `identifier` instead.
    #[serde(default)]
    pub alias: Option<String>,
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub checksum: Option<FileChecksum>,
    #[serde(default)]
    pub config: Map<String, Value>,
    #[serde(default)]
    pub unrendered_config: Map<String, Value>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub meta: Map<String, Value>,
    /// Documented columns by name, in the order written.
    #[serde(default)]
    pub columns: IndexMap<String, Value>,
    #[serde(default)]
    pub depends_on: DependsOn,
    #[serde(default)]
    pub refs: Vec<Value>,
    #[serde(default)]
    pub sources: Vec<Vec<String>>,
    #[serde(default)]
    pub raw_code: Option<String>,
    #[serde(default)]
    pub compiled_code: Option<String>,
    #[serde(default)]
    pub relation_name: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    /// Versioned models: `2`, or `"2"`, as written.
    #[serde(default)]
    pub version: Option<Value>,
    #[serde(default)]
    pub contract: Option<Value>,
    #[serde(default)]
    pub test_metadata: Option<Value>,
    #[serde(default)]
    pub attached_node: Option<String>,
    /// Every other key, as written.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ManifestNode {
    /// `config.materialized`, typed (sources and unit tests have none: `Other`).
    pub fn materialized(&self) -> Materialization {
        self.config
            .get("materialized")
            .and_then(Value::as_str)
            .map_or(Materialization::Other, Materialization::from_config)
    }

    /// `config.enabled` (true when not written).
    #[cfg(test)]
    pub(crate) fn enabled(&self) -> bool {
        self.config
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }
}

/// A macro of `macros`.
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestMacro {
    pub unique_id: String,
    pub name: String,
    #[serde(default)]
    pub package_name: String,
    #[serde(default)]
    pub original_file_path: String,
    #[serde(default)]
    pub macro_sql: String,
    #[serde(default)]
    pub depends_on: DependsOn,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

fn resource_type<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ResourceType, D::Error> {
    let s = String::deserialize(d)?;
    ResourceType::parse(&s)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown resource type `{s}`")))
}
