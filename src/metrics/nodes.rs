//! Saved queries as graph nodes: each `saved_queries:` entry becomes a [`Node`] of type
//! `saved_query` that `build` runs after the models its metrics read, writing its `exports`
//! (`execute::saved_query` does the writing).
//!
//! Input: the project's YAML files, the parsed [`Manifest`] and the target; output: one node per
//! saved query, carrying its compiled SQL, the relations of its exports and the metrics it
//! queries (in `definition`).
//!
//! Design decision: the saved query is planned here, once, when the session loads, and the
//! node's graph parents are the models whose relations that SQL reads (found by looking for
//! each semantic model's and the time spine's rendered relation in it). Metrics and semantic
//! models are not graph nodes in sluice, so deriving the edges from the SQL itself is the one
//! way that can never order an export before a table it reads; a saved query that cannot be
//! planned still becomes a node, and fails when run with the planner's message, like a model
//! that fails to compile.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::plan::{plan, MetricQuery};
use super::{SavedQuery, SemanticLayer};
use crate::compile::{Manifest, Node, ResourceType};
use crate::project::Target;
use crate::sql::{Dialect, Relation};

/// One export of a saved query, resolved against the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportTarget {
    pub(crate) name: String,
    pub(crate) relation: Relation,
    /// `table` or `view`.
    pub(crate) export_as: String,
}

/// The saved queries of the project as runnable nodes, keyed by unique id. Definitions that do
/// not parse are left out (`parse` / `metrics validate` report them).
pub(crate) fn saved_query_nodes(
    project: &crate::project::Project,
    manifest: &Manifest,
    target: &Target,
) -> Result<std::collections::BTreeMap<String, Node>, crate::diagnostics::Diagnostic> {
    let (layer, _) = super::load(&project.yaml_files, manifest);
    let dialect = target.dialect;
    Ok(layer
        .saved_queries
        .iter()
        .map(|q| {
            let n = node(&layer, q, manifest, target, dialect, project);
            (n.unique_id.clone(), n)
        })
        .collect())
}

fn config_str<'a>(config: Option<&'a Value>, key: &str) -> Option<&'a str> {
    config.and_then(|c| c.get(key)).and_then(Value::as_str)
}

/// Where each export of `q` goes: the export's `config` first, then the saved query's, then the
/// target (schema) and the export's name (alias).
pub(crate) fn export_targets(q: &SavedQuery, target: &Target) -> Vec<ExportTarget> {
    q.exports
        .iter()
        .map(|e| {
            let own = |k: &str| e.config.get(k).and_then(Value::as_str);
            let schema = own("schema")
                .or_else(|| config_str(q.config.as_ref(), "schema"))
                .unwrap_or(&target.schema);
            let alias = own("alias").unwrap_or(&e.name);
            let export_as = own("export_as")
                .or_else(|| config_str(q.config.as_ref(), "export_as"))
                .unwrap_or("table");
            ExportTarget {
                name: e.name.clone(),
                relation: Relation::new(&target.database, schema, alias),
                export_as: if export_as.eq_ignore_ascii_case("view") {
                    "view"
                } else {
                    "table"
                }
                .to_string(),
            }
        })
        .collect()
}

fn node(
    layer: &SemanticLayer,
    q: &SavedQuery,
    manifest: &Manifest,
    target: &Target,
    dialect: Dialect,
    project: &crate::project::Project,
) -> Node {
    let pkg = &manifest.project_name;
    let mut n = Node::new(
        format!("saved_query.{pkg}.{}", q.name),
        ResourceType::SavedQuery,
        q.name.clone(),
        pkg.clone(),
    );
    n.original_file_path = q.origin.file.clone();
    n.path = q
        .origin
        .file
        .split_once('/')
        .map_or(q.origin.file.as_str(), |(_, rest)| rest)
        .to_string();
    n.fqn = vec![pkg.clone(), q.name.clone()];
    n.description = q.description.clone().unwrap_or_default();
    n.tags = crate::project::config::str_list(q.tags.as_ref());
    n.config = std::sync::Arc::new(q.resolved_config(project).into());
    let metrics = q.metric_ids(pkg);
    let exports = export_targets(q, target);
    let mut definition = Map::new();
    definition.insert("metrics".into(), json!(metrics));
    definition.insert(
        "exports".into(),
        Value::Array(
            exports
                .iter()
                .map(|e| {
                    json!({
                        "name": e.name, "database": e.relation.database, "schema": e.relation.schema,
                        "identifier": e.relation.identifier, "export_as": e.export_as,
                    })
                })
                .collect(),
        ),
    );
    match plan(layer, &MetricQuery::from_saved(q), dialect) {
        Ok(p) => {
            n.depends_on_nodes = read_models(layer, &p.sql, dialect);
            n.compiled_code = Some(p.sql);
        }
        Err(e) => {
            definition.insert(
                "plan_error".into(),
                json!(format!("{} (hint: {})", e.message, e.hint)),
            );
        }
    }
    n.definition = Value::Object(definition);
    n
}

/// The models whose relations `sql` reads: semantic models' and the time spine's.
fn read_models(layer: &SemanticLayer, sql: &str, dialect: Dialect) -> Vec<String> {
    let mut out = BTreeSet::new();
    for sm in &layer.semantic_models {
        if let (Some(rel), Some(id)) = (&sm.relation, &sm.depends_on) {
            if sql.contains(&dialect.rel(rel)) {
                out.insert(id.clone());
            }
        }
    }
    if let Some(ts) = &layer.time_spine {
        if sql.contains(&dialect.rel(&ts.relation)) {
            out.insert(ts.model.clone());
        }
    }
    out.into_iter().collect()
}

/// The exports stored on a saved-query node by [`saved_query_nodes`].
pub(crate) fn node_exports(n: &Node) -> Vec<ExportTarget> {
    let s = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    n.definition
        .get("exports")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| ExportTarget {
                    name: s(e, "name"),
                    relation: Relation::new(s(e, "database"), s(e, "schema"), s(e, "identifier")),
                    export_as: s(e, "export_as"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Why a saved-query node could not be planned, if it could not.
pub(crate) fn node_plan_error(n: &Node) -> Option<&str> {
    n.definition.get("plan_error").and_then(Value::as_str)
}

/// The metric ids a saved-query node queries (dbt's `depends_on.nodes` for it).
pub(crate) fn node_metrics(n: &Node) -> Vec<String> {
    n.definition
        .get("metrics")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
