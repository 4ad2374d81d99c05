//! The partial parse of a model disabled by its own file: `{{ config(enabled=false) }}` added
//! to a model's SQL, nothing else a parse records changed (its calls, macros and other config
//! the same, rendered as [`super::render_edit`] renders it). A full parse of the project then
//! moves the model's entry from `nodes` to `disabled` (its `depends_on.nodes` and
//! `primary_key` empty, `enabled: false` in its config), takes its graph lists out and it out
//! of its parents' `child_map` lists, and disables every test that reads it, as dbt's
//! `process_refs` does: such a test stays among the nodes with `enabled: false`, depending on
//! its other parents only. This patch does the same in place.
//!
//! A full parse instead: a model of another package or a versioned one, one in a group, one a
//! node other than a test reads (a model, an exposure, a semantic model, a unit test: a full
//! parse reports or drops them), a name another node also has (a `ref` may now resolve to
//! that one), a relation named elsewhere (a time spine), a `unique` test attached to another
//! model that reads it (that model's `primary_key` may change), a value of `enabled` that is
//! not the literal `false`. Enabling a model again parses in full (its name is taken by its
//! disabled entry).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::macro_edit::Macros;
use super::ref_edit::Index;
use super::render_edit::{self, Renderer};
use crate::artifacts::{ArtifactMeta, GraphEdit, GraphMapKind, ListEdit, NodesAddedRemoved};

/// What a model disabled by its file changes in the kept state: the maps of SQL files and other
/// files, the index and the macro files' renders.
pub(super) struct Kept<'a> {
    pub(super) models: &'a mut BTreeMap<PathBuf, (String, String)>,
    pub(super) others: &'a mut BTreeMap<PathBuf, String>,
    pub(super) index: &'a mut Option<Index>,
    pub(super) macros: Option<&'a mut Macros>,
}

/// Patches the manifest for the node `id` whose SQL file's text is now `raw` (its checksum
/// `sum`) when that text disables it: `Some(true)` patched (and `kept` updated), `Some(false)`
/// when the text does not disable it (nothing done), `None` when it does and this cannot patch
/// it (a full parse).
pub(super) fn patch(
    (manifest, meta): (&Path, &ArtifactMeta),
    (id, raw, sum): (&str, &str, &str),
    project: &super::PatchContext<'_>,
    kept: Kept<'_>,
    env_read: &BTreeMap<String, Option<String>>,
) -> Option<bool> {
    if !id.starts_with("model.") || !raw.contains("enabled") {
        return Some(false);
    }
    let ids = BTreeSet::from([id.to_string()]);
    let mut found: BTreeMap<String, Map<String, Value>> =
        crate::artifacts::manifest_entries(manifest, &ids).ok()??;
    let mut entry = found.remove(id)?;
    let old = entry.get("raw_code")?.as_str()?.to_string();
    let renderer = Renderer::new(project.root, project.target.clone(), project.vars)?;
    let Some(after) = render_edit::disables(&renderer, &entry, (&old, raw), env_read)? else {
        return Some(false);
    };
    let text = |k: &str| entry.get(k).and_then(Value::as_str);
    let config = entry.get("config")?.as_object()?;
    let plain = text("resource_type") == Some("model")
        && text("package_name") == Some(meta.project_name.as_str())
        && entry.get("version").is_none_or(Value::is_null)
        && config.get("group").is_none_or(Value::is_null)
        && config.get("enabled") == Some(&Value::Bool(true));
    if !plain {
        return None;
    }
    let name = text("name")?.to_string();
    let children = crate::artifacts::graph_list(manifest, GraphMapKind::Children, id).ok()??;
    if !children.iter().all(|c| c.starts_with("test.")) {
        return None;
    }
    if let Some(relation_name) = text("relation_name") {
        crate::artifacts::relation_named_alone(manifest, relation_name)
            .ok()?
            .then_some(())?;
    }
    let parents = kept.index.as_mut()?.disable_model(id, &name)?;
    let depends_on = entry.get_mut("depends_on")?.as_object_mut()?;
    if depends_on.get("nodes") != Some(&Value::from(parents.clone())) {
        return None;
    }
    depends_on.insert("nodes".into(), Value::Array(Vec::new()));
    let written = after
        .config_written
        .iter()
        .find(|(k, _)| k.trim_start_matches('+') == "enabled")
        .map_or(Value::Bool(false), |(_, v)| v.clone());
    for (section, value) in [
        ("config", Value::Bool(false)),
        ("unrendered_config", written),
    ] {
        entry
            .get_mut(section)?
            .as_object_mut()?
            .insert("enabled".into(), value);
    }
    entry.insert("primary_key".into(), Value::Array(Vec::new()));
    entry.insert("raw_code".into(), Value::String(raw.to_string()));
    entry.insert(
        "checksum".into(),
        serde_json::json!({"name": "sha256", "checksum": sum}),
    );
    let mut graph: Vec<GraphEdit> = super::graph_of_removed_node(id, &parents).collect();
    graph.extend(children.iter().map(|test| GraphEdit {
        map: GraphMapKind::Parents,
        id: test.clone(),
        edit: ListEdit::Remove(id.to_string()),
    }));
    let nodes = NodesAddedRemoved {
        disabled: vec![(id.to_string(), entry)],
        ..NodesAddedRemoved::default()
    };
    let patched = crate::artifacts::patch_manifest_nodes(
        manifest,
        meta,
        &children,
        |_, test| disable_test(test, id),
        || graph,
        &nodes,
    );
    matches!(patched, Ok(true)).then_some(())?;
    let path = kept
        .models
        .iter()
        .find(|(_, (node, _))| node == id)
        .map(|(path, _)| path.clone())?;
    kept.models.remove(&path);
    let file = std::fs::read(&path).ok()?;
    kept.others
        .insert(path, crate::session::fingerprint::checksum(&file));
    if let Some(m) = kept.macros {
        m.rendered(id, crate::compile::FileRender::of(&after).as_ref());
    }
    Some(true)
}

/// Disables the manifest entry `test` of a test that reads the model `disabled`, as a full parse
/// does (it keeps its other parents); `false` when that may change another entry (a `unique`
/// test attached to another model counts in that model's `primary_key`).
fn disable_test(test: &mut Map<String, Value>, disabled: &str) -> bool {
    let attached = test.get("attached_node").and_then(Value::as_str);
    let name = test
        .get("test_metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str);
    let counts_in_key = matches!(name, Some("unique" | "unique_combination_of_columns"));
    if test.get("resource_type").and_then(Value::as_str) != Some("test")
        || attached != Some(disabled) && counts_in_key
    {
        return false;
    }
    let Some(Value::Object(config)) = test.get_mut("config") else {
        return false;
    };
    config.insert("enabled".into(), Value::Bool(false));
    let Some(Value::Array(nodes)) = test.get_mut("depends_on").and_then(|d| d.get_mut("nodes"))
    else {
        return false;
    };
    nodes.retain(|n| n != disabled);
    true
}
