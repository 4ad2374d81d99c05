//! The partial parse of a model disabled, or enabled again: `{{ config(enabled=false) }}` added
//! to a model's SQL file or taken out of it, nothing else a parse records changed (its calls,
//! macros and other config the same, rendered as [`super::render_edit`] renders it); or
//! `enabled: false` added to the `config:` of its properties entry or taken out, nothing else in
//! the file changed.
//!
//! Disabled, a full parse moves the model's entry from `nodes` to `disabled` (its
//! `depends_on.nodes` and `primary_key` empty, `enabled: false` in its config), takes its graph
//! lists out and it out of its parents' `child_map` lists, and disables every test that reads
//! it, as dbt's `process_refs` does: such a test stays among the nodes with `enabled: false`,
//! depending on its other parents only. Enabled again, the entry moves back with what its calls
//! resolve to and its `primary_key` (from its tests), and the tests it disabled are enabled
//! with what theirs resolve to ([`super::ref_edit::Index`] keeps which tests each disabled name
//! disables). The patches do the same in place.
//!
//! A full parse instead: a model of another package, a versioned one, one in a group, one a
//! node other than a test reads (a model, an exposure, a semantic model, a unit test: a full
//! parse reports them), a name another node also has (a `ref` may now resolve to that one), a
//! relation named elsewhere (a time spine), a `unique` test attached to another model that
//! reads it (that model's `primary_key` may change), a value of `enabled` that is not the
//! literal `false`, `enabled` named elsewhere too (where it may win or stay), a test of it
//! disabled by its own config, a test it disabled that another disabled node disables too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::macro_edit::Macros;
use super::ref_edit::{Calls, Index};
use super::render_edit::{self, Renderer, Toggle};
use crate::artifacts::{ArtifactMeta, GraphEdit, GraphMapKind, ListEdit, NodesAddedRemoved};

/// What a model disabled or enabled again changes in the kept state: the maps of SQL files and
/// other files, the index and the macro files' renders (none for a properties entry's edit: the
/// model's file renders as before).
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
pub(super) fn disable(
    (manifest, meta): (&Path, &ArtifactMeta),
    (id, raw, sum): (&str, &str, &str),
    project: &super::PatchContext<'_>,
    kept: Kept<'_>,
    env_read: &BTreeMap<String, Option<String>>,
) -> Option<bool> {
    if !id.starts_with("model.") || !raw.contains("enabled") {
        return Some(false);
    }
    let ids = [id.to_string()];
    let mut entry = crate::artifacts::manifest_entries_few(manifest, &ids)
        .ok()??
        .remove(id)?;
    let old = entry.get("raw_code")?.as_str()?.to_string();
    let renderer = Renderer::new(project.root, project.target.clone(), project.vars)?;
    let after = match render_edit::enabled_toggle(&renderer, &entry, (&old, raw), env_read)? {
        Toggle::Same => return Some(false),
        Toggle::Disables(after) => after,
        Toggle::Enables(_) => return None,
    };
    let written = after
        .config_written
        .iter()
        .find(|(k, _)| k.trim_start_matches('+') == "enabled")
        .map_or(Value::Bool(false), |(_, v)| v.clone());
    entry.insert("raw_code".into(), Value::String(raw.to_string()));
    entry.insert(
        "checksum".into(),
        serde_json::json!({"name": "sha256", "checksum": sum}),
    );
    let mut kept = kept;
    move_to_disabled((manifest, meta), id, entry, written, &mut kept)?;
    if let Some(m) = kept.macros {
        m.rendered(id, crate::compile::FileRender::of(&after).as_ref());
    }
    Some(true)
}

/// Moves the enabled model `id`, whose manifest entry is now `entry` (its text and checksum as
/// they are), to `disabled` as a full parse does (`unrendered`: the `enabled` its
/// `unrendered_config` records), disabling the tests that read it, and updates `kept` (its
/// file among the other files, the index); `None` when this cannot (see the module's notes).
fn move_to_disabled(
    (manifest, meta): (&Path, &ArtifactMeta),
    id: &str,
    mut entry: Map<String, Value>,
    unrendered: Value,
    kept: &mut Kept<'_>,
) -> Option<()> {
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
    let parents = kept.index.as_mut()?.disable_model(id, &name, &children)?;
    let depends_on = entry.get_mut("depends_on")?.as_object_mut()?;
    if depends_on.get("nodes") != Some(&Value::from(parents.clone())) {
        return None;
    }
    depends_on.insert("nodes".into(), Value::Array(Vec::new()));
    for (section, value) in [
        ("config", Value::Bool(false)),
        ("unrendered_config", unrendered),
    ] {
        entry
            .get_mut(section)?
            .as_object_mut()?
            .insert("enabled".into(), value);
    }
    entry.insert("primary_key".into(), Value::Array(Vec::new()));
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
    Some(())
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

/// Patches the manifest for the SQL file at `path`, among the other files of the last parse
/// (no enabled node's), when it is the file of a disabled model of the root project whose
/// `config(enabled=false)` its text no longer has, nothing else a parse records changed, and
/// nothing else sets `enabled` (`dbt_project.yml` and the model's properties file never name
/// it): the model's entry moves back from `disabled` to `nodes` with what its calls resolve
/// to and its `primary_key`, the tests it disabled are enabled with what theirs resolve to,
/// and the graph lists follow. `None` when this cannot (then a full parse).
pub(super) fn enable(
    (manifest, meta): (&Path, &ArtifactMeta),
    path: &Path,
    project: &super::PatchContext<'_>,
    kept: Kept<'_>,
    env_read: &BTreeMap<String, Option<String>>,
) -> Option<()> {
    let root = project.root;
    super::within(&project.config.model_paths, root, path)?;
    (path.extension()? == "sql").then_some(())?;
    let original_file_path = crate::project::relative(root, path);
    let name = path.file_stem()?.to_str()?.to_string();
    let id = format!("model.{}.{name}", meta.project_name);
    let mut entry = disabled_model((manifest, meta), &id, root)?;
    let text = |k: &str| entry.get(k).and_then(Value::as_str);
    let same_file = text("original_file_path") == Some(original_file_path.as_str())
        && text("name") == Some(name.as_str());
    if !same_file {
        return None;
    }
    // Nothing but the file's `config(...)` sets `enabled`.
    if let Some(patch_path) = text("patch_path") {
        let (_, file) = patch_path.split_once("://")?;
        if mentions_enabled(&root.join(file)) {
            return None;
        }
    }
    let file = std::fs::read(path).ok()?;
    let raw = std::str::from_utf8(&file).ok()?.trim();
    let sum = crate::project::sha256_hex(raw.as_bytes());
    let old = text("raw_code")?.to_string();
    let renderer = Renderer::new(root, project.target.clone(), project.vars)?;
    let Toggle::Enables(after) =
        render_edit::enabled_toggle(&renderer, &entry, (&old, raw), env_read)?
    else {
        return None;
    };
    entry.insert("raw_code".into(), Value::String(raw.to_string()));
    let mut kept = kept;
    move_to_nodes(
        (manifest, meta),
        (&id, &name),
        entry,
        &Calls::recorded(&after),
        (path, sum),
        &mut kept,
    )?;
    if let Some(m) = kept.macros {
        m.rendered(&id, crate::compile::FileRender::of(&after).as_ref());
    }
    Some(())
}

/// Whether the file at `path` names `enabled` (or cannot be read).
fn mentions_enabled(path: &Path) -> bool {
    std::fs::read_to_string(path).map_or(true, |t| t.contains("enabled"))
}

/// The entry of the disabled model `id` of the root project (at `root`) that enabling it again
/// would move back: the only disabled node of that id, no disabled test attached to it, not
/// versioned, and no `enabled` in `dbt_project.yml` that could keep it disabled; `None` when it
/// is not such a model.
fn disabled_model(
    (manifest, meta): (&Path, &ArtifactMeta),
    id: &str,
    root: &Path,
) -> Option<Map<String, Value>> {
    let (mut list, attached) = crate::artifacts::disabled_entries(manifest, id).ok()??;
    if list.len() != 1 || attached || mentions_enabled(&root.join("dbt_project.yml")) {
        return None;
    }
    let entry = list.pop()?;
    let text = |k: &str| entry.get(k).and_then(Value::as_str);
    let plain = text("resource_type") == Some("model")
        && text("package_name") == Some(meta.project_name.as_str())
        && entry.get("version").is_none_or(Value::is_null);
    plain.then_some(entry)
}

/// Moves the disabled model `id` named `name`, whose manifest entry is now `entry` (its text
/// as it is) and whose calls are `calls`, back to `nodes` as a full parse does, enabling the
/// tests it disabled, and updates `kept` (its file, at `path` with the checksum `sum`, among
/// the SQL files of nodes; the index); `None` when this cannot.
fn move_to_nodes(
    (manifest, meta): (&Path, &ArtifactMeta),
    (id, name): (&str, &str),
    mut entry: Map<String, Value>,
    calls: &Calls,
    (path, sum): (&Path, String),
    kept: &mut Kept<'_>,
) -> Option<()> {
    // The tests the model disabled, read for their calls and enabled with what they resolve to.
    let index = kept.index.as_mut()?;
    let test_ids = index.disabled_by(name);
    let test_ids: Vec<String> = test_ids.into_iter().collect();
    let tests: BTreeMap<String, Map<String, Value>> = match test_ids.is_empty() {
        true => BTreeMap::new(),
        false => crate::artifacts::manifest_entries_few(manifest, &test_ids).ok()??,
    };
    let again = index.enable_model(id, name, calls, |t| Calls::of_entry(tests.get(t)?))?;
    // Its primary key, from the tests attached to it (all of them enabled now).
    let attached = tests
        .values()
        .filter(|t| t.get("attached_node").and_then(Value::as_str) == Some(id));
    let primary_key = crate::artifacts::node_json::inferred_primary_key(attached.filter_map(|t| {
        let tm = t.get("test_metadata")?.as_object()?;
        let kwargs = tm.get("kwargs")?.as_object()?;
        let column = t.get("column_name").and_then(Value::as_str);
        let cols = crate::artifacts::node_json::tested_columns(kwargs, column);
        Some((tm.get("name")?.as_str()?, cols, true))
    }));
    entry
        .get_mut("depends_on")?
        .as_object_mut()?
        .insert("nodes".into(), Value::from(again.parents.clone()));
    entry
        .get_mut("config")?
        .as_object_mut()?
        .insert("enabled".into(), Value::Bool(true));
    entry
        .get_mut("unrendered_config")?
        .as_object_mut()?
        .remove("enabled");
    entry.insert("primary_key".into(), Value::from(primary_key));
    entry.insert(
        "checksum".into(),
        serde_json::json!({"name": "sha256", "checksum": sum}),
    );
    let mut graph = super::graph_of_new_node(id, again.parents.clone());
    let mut deps_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (test, deps) in again.tests {
        let mut sorted = deps.clone();
        sorted.sort();
        sorted.dedup();
        if deps.iter().any(|d| d == id) {
            graph.push(GraphEdit {
                map: GraphMapKind::Children,
                id: id.to_string(),
                edit: ListEdit::InsertChild(test.clone()),
            });
        }
        graph.push(GraphEdit {
            map: GraphMapKind::Parents,
            id: test.clone(),
            edit: ListEdit::Set(sorted),
        });
        deps_of.insert(test, deps);
    }
    let nodes = NodesAddedRemoved {
        enabled: vec![(id.to_string(), entry)],
        ..NodesAddedRemoved::default()
    };
    let ids: Vec<String> = deps_of.keys().cloned().collect();
    let patched = crate::artifacts::patch_manifest_nodes(
        manifest,
        meta,
        &ids,
        |t, test| enable_test(test, deps_of.get(t)),
        || graph,
        &nodes,
    );
    matches!(patched, Ok(true)).then_some(())?;
    kept.others.remove(path);
    kept.models
        .insert(path.to_path_buf(), (id.to_string(), sum));
    Some(())
}

/// Enables the manifest entry `test` of a test a model enabled again had disabled, with `deps`
/// as what its calls now resolve to; `false` when it is not such a test's.
fn enable_test(test: &mut Map<String, Value>, deps: Option<&Vec<String>>) -> bool {
    let (Some(deps), Some("test")) = (deps, test.get("resource_type").and_then(Value::as_str))
    else {
        return false;
    };
    let Some(Value::Object(config)) = test.get_mut("config") else {
        return false;
    };
    if config.get("enabled") != Some(&Value::Bool(false)) {
        return false;
    }
    config.insert("enabled".into(), Value::Bool(true));
    let Some(Value::Object(depends_on)) = test.get_mut("depends_on") else {
        return false;
    };
    depends_on.insert("nodes".into(), Value::from(deps.clone()));
    true
}

/// Patches the manifest for the properties file at `path` of the root project, whose YAML was
/// `old` and is `new`, when all that changed is one model entry's `config:` gaining
/// `enabled: false` (the model disabled, as by its file) or losing it (enabled again), and
/// nothing else sets `enabled` (its SQL file never names it; nor, to enable it,
/// `dbt_project.yml`): `Some(Some(true))` disabled, `Some(Some(false))` enabled again (and
/// `kept` updated), `Some(None)` when the edit is not that (nothing done), `None` when it is and
/// this cannot patch it (a full parse).
pub(super) fn properties(
    (manifest, meta): (&Path, &ArtifactMeta),
    path: &Path,
    (old, new): (&Value, &Value),
    project: &super::PatchContext<'_>,
    kept: Kept<'_>,
) -> Option<Option<bool>> {
    let Some((name, disables)) = toggled_entry(old, new) else {
        return Some(None);
    };
    let relative = crate::project::relative(project.root, path);
    let patch_path = format!("{}://{relative}", meta.project_name);
    let id = format!("model.{}.{name}", meta.project_name);
    let mut kept = kept;
    let described_here = |entry: &Map<String, Value>| {
        let text = |k: &str| entry.get(k).and_then(Value::as_str);
        text("patch_path") == Some(patch_path.as_str())
            && text("raw_code").is_some_and(|t| !t.contains("enabled"))
    };
    if disables {
        let entry = crate::artifacts::manifest_entries_few(manifest, std::slice::from_ref(&id))
            .ok()??
            .remove(&id)?;
        described_here(&entry).then_some(())?;
        move_to_disabled((manifest, meta), &id, entry, Value::Bool(false), &mut kept)?;
        return Some(Some(true));
    }
    let entry = disabled_model((manifest, meta), &id, project.root)?;
    described_here(&entry).then_some(())?;
    let text = |k: &str| entry.get(k).and_then(Value::as_str);
    let file = project.root.join(text("original_file_path")?);
    let checksum = entry.get("checksum")?;
    if checksum.get("name")? != "sha256" || !kept.others.contains_key(&file) {
        return None;
    }
    let sum = checksum.get("checksum")?.as_str()?.to_string();
    let calls = Calls::of_entry(&entry)?;
    move_to_nodes(
        (manifest, meta),
        (&id, &name),
        entry,
        &calls,
        (&file, sum),
        &mut kept,
    )?;
    Some(Some(false))
}

/// The model entry of the properties file `old` that `new` disables (`true`) or enables again
/// (`false`) by its `config:`'s `enabled: false` alone, with its name; `None` when the files
/// differ otherwise.
fn toggled_entry(old: &Value, new: &Value) -> Option<(String, bool)> {
    let (a, b) = (old.as_object()?, new.as_object()?);
    let others_same = a
        .keys()
        .chain(b.keys())
        .all(|k| k == "models" || a.get(k) == b.get(k));
    let (was, is) = (a.get("models")?.as_array()?, b.get("models")?.as_array()?);
    if !others_same || was.len() != is.len() {
        return None;
    }
    let mut changed = was.iter().zip(is).filter(|(x, y)| x != y);
    let (x, y) = changed.next()?;
    if changed.next().is_some() {
        return None;
    }
    let enabled = |e: &Value| e.get("config").and_then(|c| c.get("enabled")).cloned();
    // The entry without `enabled` (nor a `config:` left empty).
    let without = |e: &Value| -> Option<Value> {
        let mut e = e.as_object()?.clone();
        if let Some(Value::Object(config)) = e.get_mut("config") {
            config.remove("enabled");
        }
        let empty = match e.get("config") {
            Some(Value::Object(config)) => config.is_empty(),
            Some(Value::Null) => true,
            _ => false,
        };
        if empty {
            e.remove("config");
        }
        Some(Value::Object(e))
    };
    if without(x)? != without(y)? {
        return None;
    }
    let name = y.get("name")?.as_str()?.to_string();
    match (enabled(x), enabled(y)) {
        (None, Some(Value::Bool(false))) => Some((name, true)),
        (Some(Value::Bool(false)), None) => Some((name, false)),
        _ => None,
    }
}
