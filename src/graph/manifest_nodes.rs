//! The DAG's view of a parsed manifest: one [`GraphNode`] per enabled node (its config reduced to
//! what differs from its type's defaults), and `build`'s rewrite that runs unit tests before
//! their models.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{Dag, GraphNode};
use crate::compile::{self, Manifest};

/// The DAG's view of every node.
pub fn graph_nodes(m: &Manifest) -> Vec<GraphNode> {
    use rayon::prelude::*;
    // A test disabled because what it tests is disabled stays in the manifest's nodes (as in
    // dbt) but is no part of the DAG.
    let nodes: Vec<&compile::Node> = m
        .all_nodes()
        .chain(m.saved_query_nodes.values())
        .filter(|n| n.is_enabled())
        .collect();
    nodes
        .par_iter()
        .map(|n| (n, compile::default_config_ref(n.resource_type)))
        .map(|(n, defaults)| GraphNode {
            unique_id: n.unique_id.clone(),
            name: n.name.clone(),
            resource_type: n.resource_type.as_str().to_string(),
            package_name: n.package_name.clone(),
            original_file_path: n.original_file_path.clone(),
            fqn: n.fqn.clone(),
            tags: n.tags.clone(),
            config: overrides(&n.config, defaults),
            config_defaults: Some(defaults),
            test_type: n.test_type().map(str::to_string),
            test_name: n.test_metadata.as_ref().map(|t| match &t.namespace {
                Some(ns) => format!("{ns}.{}", t.name),
                None => t.name.clone(),
            }),
            source_name: n.source.as_ref().map(|s| s.source_name.clone()),
            version: n.version.clone(),
            latest_version: n.latest_version.clone(),
            depends_on: n.depends_on_nodes.clone(),
        })
        .collect()
}

/// The entries of `config` that differ from `defaults`; all of `config` when it lacks a default
/// key (then the defaults could not stand in for it).
fn overrides(
    config: &Arc<Map<String, Value>>,
    defaults: &Map<String, Value>,
) -> Map<String, Value> {
    if std::ptr::eq(config.as_ref(), defaults) {
        return Map::new();
    }
    // A node's config starts as a copy of its defaults, so their keys usually lead it in the same
    // order: compare by position, without hashing.
    let n = defaults.len();
    if config.len() >= n && config.keys().zip(defaults.keys()).all(|(a, b)| a == b) {
        let defaults = defaults.values().map(Some).chain(std::iter::repeat(None));
        return config
            .iter()
            .zip(defaults)
            .filter(|((_, v), d)| *d != Some(*v))
            .map(|((k, v), _)| (k.clone(), v.clone()))
            .collect();
    }
    if defaults.keys().any(|k| !config.contains_key(k)) {
        return config.as_ref().clone();
    }
    config
        .iter()
        .filter(|(k, v)| defaults.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `build`'s DAG: a model waits for its unit tests (edges unit test -> model), and a unit test
/// waits for its model's parents instead of the model. `None` without unit tests.
pub fn with_unit_tests_first(m: &Manifest) -> Option<Dag> {
    if m.unit_tests.is_empty() {
        return None;
    }
    let mut nodes = graph_nodes(m);
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for u in m.unit_tests.values() {
        if let Some(m) = &u.attached_node {
            extra
                .entry(m.clone())
                .or_default()
                .push(u.unique_id.clone());
        }
    }
    let parents_of: BTreeMap<String, Vec<String>> = nodes
        .iter()
        .map(|n| (n.unique_id.clone(), n.depends_on.clone()))
        .collect();
    for n in &mut nodes {
        if let Some(us) = extra.get(&n.unique_id) {
            n.depends_on.extend(us.iter().cloned());
        }
        // A unit test waits for its model's parents (their columns type the fixtures), not the model.
        if n.resource_type == "unit_test" {
            let model: Vec<String> = n.depends_on.clone();
            n.depends_on = model
                .iter()
                .flat_map(|m| parents_of.get(m).cloned().unwrap_or_default())
                .collect();
        }
    }
    Dag::build(nodes).ok()
}
