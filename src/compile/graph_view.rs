//! The DAG's view of a parsed manifest: one [`GraphNode`] per enabled node, its config reduced to
//! what differs from its type's defaults.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::nodes::{Manifest, NodeConfig};
use crate::graph::GraphNode;

/// How much of each node a graph holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    /// Everything selection reads (names, paths, tags, configs, versions).
    Full,
    /// The id, the type and the edges alone: enough to tell that the graph is sound (no cycle,
    /// no id twice), which is all `parse` asks of it.
    Edges,
}

/// The DAG's view of every node.
pub(crate) fn graph_nodes(m: &Manifest) -> Vec<GraphNode> {
    graph_nodes_with(m, Detail::Full)
}

/// The DAG's view of every node, in as much `detail` as asked.
pub(crate) fn graph_nodes_with(m: &Manifest, detail: Detail) -> Vec<GraphNode> {
    use rayon::prelude::*;
    let mut out: Vec<GraphNode> = dag_nodes(m)
        .par_iter()
        .filter(|n| n.is_enabled())
        .map(|n| {
            let edges = GraphNode {
                unique_id: n.unique_id.clone(),
                resource_type: n.resource_type.as_str().to_string(),
                depends_on: parents_of(m, n).into_owned(),
                ..GraphNode::default()
            };
            if detail == Detail::Edges {
                return edges;
            }
            let defaults = super::default_config_ref(n.resource_type);
            GraphNode {
                name: n.name.clone(),
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
                empty: matches!(
                    n.resource_type,
                    super::ResourceType::Model
                        | super::ResourceType::Analysis
                        | super::ResourceType::Test
                ) && n.raw_code.trim().is_empty(),
                ..edges
            }
        })
        .collect();
    out.extend(semantic_entries(m).map(|(id, e)| semantic_graph_node(id, e)));
    out
}

/// The manifest's nodes that may be nodes of the DAG: those enabled are. (A test disabled
/// because what it tests is disabled stays in the manifest's nodes, as in dbt, but is no part
/// of the DAG.)
fn dag_nodes(m: &Manifest) -> Vec<&super::Node> {
    m.all_nodes().chain(m.saved_query_nodes.values()).collect()
}

/// A node's parents in the DAG. The semantic layer's metrics and semantic models are nodes of
/// dbt's graph too (`ls` lists them, `+` walks through them), and a saved query depends on its
/// metrics there. (It keeps the models its export reads as parents too, so `build` exports it
/// after them.)
fn parents_of<'m>(m: &'m Manifest, n: &'m super::Node) -> Cow<'m, [String]> {
    let mut parents = Cow::Borrowed(n.depends_on_nodes.as_slice());
    if n.resource_type == super::ResourceType::SavedQuery {
        if let Some(entry) = m.semantic_entries.get(&n.unique_id) {
            for d in semantic_parents(entry) {
                if !parents.contains(&d) {
                    parents.to_mut().push(d);
                }
            }
        }
    }
    parents
}

/// The semantic layer's entries that are nodes of the DAG: metrics and semantic models.
fn semantic_entries(m: &Manifest) -> impl Iterator<Item = (&String, &Value)> {
    m.semantic_entries
        .iter()
        .filter(|(id, _)| id.starts_with("metric.") || id.starts_with("semantic_model."))
}

/// A semantic-layer entry's parents: its dbt-shaped entry's `depends_on.nodes`.
fn semantic_parents(e: &Value) -> Vec<String> {
    crate::graph::strings_at(e, "/depends_on/nodes")
}

/// Every node of the DAG as its id and its parents' ids, borrowed where the manifest holds them:
/// the same nodes and edges as [`graph_nodes_with`] at [`Detail::Edges`], for a check of the
/// graph that builds none (`crate::graph::is_sound`).
pub(crate) fn graph_edges(m: &Manifest) -> Vec<(&str, Cow<'_, [String]>)> {
    use rayon::prelude::*;
    // Read in parallel: each node is its own allocation, and reading 40,000 of them one after
    // the other waits on memory more than it computes.
    let mut out: Vec<(&str, Cow<'_, [String]>)> = dag_nodes(m)
        .par_iter()
        .filter(|n| n.is_enabled())
        .map(|n| (n.unique_id.as_str(), parents_of(m, n)))
        .collect();
    out.extend(semantic_entries(m).map(|(id, e)| (id.as_str(), Cow::Owned(semantic_parents(e)))));
    out
}

/// [`graph_nodes`] without the edges between metrics, for a project whose metrics depend on
/// each other in a cycle (the semantic layer's checks report it, on its YAML line).
pub(crate) fn graph_nodes_without_metric_cycles(m: &Manifest, detail: Detail) -> Vec<GraphNode> {
    let mut nodes = graph_nodes_with(m, detail);
    for g in nodes.iter_mut().filter(|g| g.resource_type == "metric") {
        g.depends_on.retain(|d| !d.starts_with("metric."));
    }
    nodes
}

/// A metric's or semantic model's graph node, from its manifest entry.
fn semantic_graph_node(id: &str, e: &Value) -> GraphNode {
    let text = |k: &str| {
        e.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let list = |p: &str| crate::graph::strings_at(e, p);
    GraphNode {
        unique_id: id.to_string(),
        name: text("name"),
        resource_type: text("resource_type"),
        package_name: text("package_name"),
        original_file_path: text("original_file_path"),
        fqn: list("/fqn"),
        tags: list("/tags"),
        config: e
            .get("config")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        depends_on: semantic_parents(e),
        ..GraphNode::default()
    }
}

/// The entries of `config` that differ from `defaults`; all of `config` when it lacks a default
/// key (then the defaults could not stand in for it).
fn overrides(config: &NodeConfig, defaults: &Map<String, Value>) -> Map<String, Value> {
    let config = config.values();
    if std::ptr::eq(config, defaults) {
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
        return config.clone();
    }
    config
        .iter()
        .filter(|(k, v)| defaults.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Each unit test with the model it tests: `(unit test id, model id)`.
pub(crate) fn unit_test_models(m: &Manifest) -> Vec<(String, String)> {
    m.unit_tests
        .values()
        .filter_map(|u| Some((u.unique_id.clone(), u.attached_node.clone()?)))
        .collect()
}
