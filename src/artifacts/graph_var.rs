//! dbt's `graph` context variable: the finished manifest's nodes, sources, exposures, metrics,
//! groups, semantic models, saved queries and unit tests as dicts in their `manifest.json` shape,
//! handed to templates once parsing (and the semantic layer's entries) are done.

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::compile::{Manifest, ParseOptions, Parsed};
use crate::project::Project;

/// Gives templates dbt's `graph` context variable, from the finished manifest (once the semantic
/// layer's entries are in their manifest shape), when some template reads it.
pub(crate) fn set_flat_graph(parsed: &Parsed, project: &Project, opts: &ParseOptions) {
    let manifest = &parsed.manifest;
    if parsed.templates.macros_mention_graph()
        || manifest
            .nodes
            .par_iter()
            .any(|(_, n)| crate::templating::mentions_graph(&n.raw_code))
    {
        parsed
            .templates
            .set_graph(flat_graph(manifest, project, opts));
    }
}

/// dbt's `graph` context variable (the manifest's flat graph): the parsed nodes, sources,
/// exposures, metrics, groups, semantic models, saved queries and unit tests as dicts, in their
/// manifest shape. Built only when some template reads `graph`.
fn flat_graph(manifest: &Manifest, project: &Project, opts: &ParseOptions) -> minijinja::Value {
    let mut meta = super::ArtifactMeta::new(
        &project.config.name,
        &manifest.adapter_type,
        project.config.target_path.clone(),
    );
    meta.invocation_id = opts.invocation_id.clone();
    meta.invocation_started_at = opts.run_started_at;
    meta.project_root = project.root.clone();
    let mut full = super::manifest_json(manifest, &meta);
    let mut graph = Map::new();
    for key in [
        "exposures",
        "groups",
        "metrics",
        "nodes",
        "sources",
        "semantic_models",
        "saved_queries",
        "unit_tests",
    ] {
        let v = full
            .get_mut(key)
            .map(Value::take)
            .unwrap_or_else(|| Value::Object(Map::new()));
        graph.insert(key.to_string(), v);
    }
    minijinja::Value::from_serialize(Value::Object(graph))
}
