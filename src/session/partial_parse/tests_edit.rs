//! The partial parse of a properties file of the root project whose generic tests changed, and
//! nothing else in it: a test added to a model or one of its columns, one removed, its
//! arguments or its config changed. A model's generic tests are made from its properties entry,
//! the project's `dbt_project.yml` and the model itself, and nothing else reads them (they have
//! no children), so each model entry whose tests changed is parsed alone, as it was and as it
//! is, together with its model's file and the project's macros (`compile::parse`, refs left
//! unresolved, [`super::ref_edit::Index`] resolving them); the tests only one side makes are
//! added to or removed from the manifest with their graph lists and their parents' `child_map`
//! lists, and those both make but differently are rewritten.
//!
//! For this a full parse keeps the text of each properties file of the root project beside
//! its state ([`save`]). A full parse instead: any other key of the file changed (a
//! description with it: [`super::docs_edit`] patches descriptions alone), an entry added,
//! removed or renamed, a versioned model, a model of another package or none, a test whose
//! parents changed, one disabled, a new test whose id some node already has, a parse that
//! fails or warns, an environment variable no earlier parse read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ref_edit::{Calls, Index};
use crate::artifacts::{ArtifactMeta, GraphEdit, NodesAddedRemoved};
use crate::compile::ResourceType;
use crate::project::YamlFile;
use crate::session::Session;

/// Where the text of each properties file is kept, in the target folder.
const TEXTS: &str = "sluice_partial_parse_yaml";

/// The file a properties file's text is kept in.
fn kept(target_path: &Path, path: &Path) -> PathBuf {
    let name = crate::session::fingerprint::checksum(path.as_os_str().as_encoded_bytes());
    target_path.join(TEXTS).join(&name[..24])
}

/// Keeps the text of every properties file of the root project of `s` (best effort: a file not
/// kept only costs a later edit of it its patch).
pub(super) fn save(s: &Session, target_path: &Path) {
    let dir = target_path.join(TEXTS);
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    for f in &s.project.yaml_files {
        let path = s.project.root.join(&f.original_file_path);
        let _ = std::fs::write(kept(target_path, &path), &f.text);
    }
}

/// Keeps `text` as the properties file `path`'s, once a patch wrote what it says (best
/// effort, as [`save`]).
pub(super) fn keep(target_path: &Path, path: &Path, text: &str) {
    let _ = std::fs::write(kept(target_path, path), text);
}

/// Whether the text of the properties file `path` is kept.
pub(super) fn knows(target_path: &Path, path: &Path) -> bool {
    kept(target_path, path).is_file()
}

/// What the edit of one properties file's tests changes in the manifest.
#[derive(Debug, Default)]
pub(super) struct TestsEdit {
    /// Tests added (with their entries) and removed.
    pub(super) nodes: NodesAddedRemoved,
    /// Tests both parses make, with their new entries.
    pub(super) changed: BTreeMap<String, Map<String, Value>>,
    /// Models whose inferred `primary_key` changed, with the new one.
    pub(super) primary_keys: BTreeMap<String, Value>,
    pub(super) graph: Vec<GraphEdit>,
    /// How many files' tests changed (not those only rewritten, their YAML the same).
    pub(super) files: usize,
}

/// A properties file as it is now.
pub(super) struct Now {
    pub(super) text: String,
    pub(super) value: Value,
}

/// Adds to `edit` what the edit of the tests of the properties file at `path` (its kept text
/// the old one) changes, as the module says, and returns the file as it is now ([`keep`] it
/// once the manifest is patched); `None` when it is not an edit this can patch. `index`
/// resolves the tests' calls; `models`: each SQL file's node and checksum; `hashes`: the
/// [`hashes`] of the tests (`None`: not known), with the new tests'.
pub(super) fn patch(
    path: &Path,
    target_path: &Path,
    at: &super::PatchContext<'_>,
    meta: &ArtifactMeta,
    (index, models, hashes): (
        &Index,
        &BTreeMap<PathBuf, (String, String)>,
        Option<&mut BTreeSet<String>>,
    ),
    env_read: &BTreeMap<String, Option<String>>,
    edit: &mut TestsEdit,
) -> Option<Now> {
    let old_text = std::fs::read_to_string(kept(target_path, path)).ok()?;
    let new_text = std::fs::read_to_string(path).ok()?;
    let parse = |text: &str| {
        let (value, warnings) = crate::project::yaml::parse_checked(text, path).ok()?;
        warnings.is_empty().then_some(value)
    };
    let (old, new) = (parse(&old_text)?, parse(&new_text)?);
    let changed = changed_entries(&old, &new)?;
    let now = |value| Now {
        text: new_text.clone(),
        value,
    };
    if changed.is_empty() {
        return Some(now(new));
    }
    edit.files += 1;
    let relative = crate::project::relative(at.root, path);
    // Each changed entry's model and its file.
    let by_id: BTreeMap<&String, &PathBuf> = models
        .values()
        .map(|(id, _)| id)
        .zip(models.keys())
        .collect();
    let mut files = Vec::new();
    for entry in changed.iter().map(|&i| &new["models"][i]) {
        let name = entry.get("name")?.as_str()?;
        let id = format!("model.{}.{name}", meta.project_name);
        if index.resolves_to(name) != Some(&id) || entry.get("versions").is_some() {
            return None;
        }
        files.push(by_id.get(&id)?.to_path_buf());
    }
    let entries = |v: &Value| -> Vec<Value> {
        changed
            .iter()
            .map(|&i| without_descriptions(&v["models"][i]))
            .collect()
    };
    let (before, keys_before) = tests_of(at, meta, (&relative, entries(&old)), &files, env_read)?;
    let (after, keys_after) = tests_of(at, meta, (&relative, entries(&new)), &files, env_read)?;
    // A model's `primary_key` is inferred from its tests.
    for (id, key) in keys_after {
        if keys_before.get(&id) != Some(&key) {
            edit.primary_keys.insert(id, key);
        }
    }
    for (id, (_, calls)) in &before {
        if after.contains_key(id) {
            continue;
        }
        let parents = index.resolve_calls(calls)?;
        edit.graph
            .extend(super::graph_of_removed_node(id, &parents));
        edit.nodes.removed.push(id.clone());
    }
    let mut new_ids = BTreeSet::new();
    for (id, (mut entry, calls)) in after {
        let parents = index.resolve_calls(&calls)?;
        entry
            .get_mut("depends_on")?
            .as_object_mut()?
            .insert("nodes".into(), Value::from(parents.clone()));
        match before.get(&id) {
            Some((old, old_calls)) => {
                if *old_calls != calls {
                    return None;
                }
                if without_created_at(old) != without_created_at(&entry) {
                    edit.changed.insert(id, entry);
                }
            }
            None => {
                edit.graph.extend(super::graph_of_new_node(&id, parents));
                new_ids.insert(id.clone());
                edit.nodes.added.push((id, entry));
            }
        }
    }
    // A new test's id must be no node's already (a full parse reports the clash): one whose
    // hash no test has is none's; the others are looked for in the manifest.
    let unsure: BTreeSet<String> = new_ids
        .iter()
        .filter(|id| hashes.as_deref().is_none_or(|h| h.contains(hash(id))))
        .cloned()
        .collect();
    let manifest = target_path.join("manifest.json");
    if !unsure.is_empty() && crate::artifacts::manifest_has_any(&manifest, &unsure).ok()? {
        return None;
    }
    if let Some(h) = hashes {
        h.extend(new_ids.iter().map(|id| hash(id).to_string()));
    }
    Some(now(new))
}

/// The hash that ends a test's id (`test.<package>.<name>.<hash>`).
fn hash(id: &str) -> &str {
    id.rsplit_once('.').map_or(id, |(_, h)| h)
}

/// The [`hash`] of every test of `m`, enabled or disabled.
pub(super) fn hashes(m: &crate::compile::Manifest) -> BTreeSet<String> {
    let disabled = m.disabled.values().flatten();
    m.nodes
        .values()
        .map(|n| &**n)
        .chain(disabled)
        .filter(|n| n.resource_type == ResourceType::Test)
        .map(|n| hash(&n.unique_id).to_string())
        .collect()
}

/// The positions of the `models:` entries whose tests changed from `old` to `new`; `None` when
/// anything else changed.
fn changed_entries(old: &Value, new: &Value) -> Option<Vec<usize>> {
    let (Value::Object(o), Value::Object(n)) = (old, new) else {
        return None;
    };
    if o.len() != n.len() || o.iter().any(|(k, v)| k != "models" && n.get(k) != Some(v)) {
        return None;
    }
    let (Some(om), Some(nm)) = (o.get("models"), n.get("models")) else {
        return Some(Vec::new());
    };
    let (om, nm) = (om.as_array()?, nm.as_array()?);
    if om.len() != nm.len() {
        return None;
    }
    let mut changed = Vec::new();
    for (i, (a, b)) in om.iter().zip(nm).enumerate() {
        if a == b {
            continue;
        }
        if without_tests(a) != without_tests(b) {
            return None;
        }
        changed.push(i);
    }
    Some(changed)
}

/// A model entry without its tests and its columns' (`data_tests:`, `tests:`).
fn without_tests(entry: &Value) -> Value {
    let mut e = entry.clone();
    if let Some(m) = e.as_object_mut() {
        m.remove("data_tests");
        m.remove("tests");
        if let Some(Value::Array(columns)) = m.get_mut("columns") {
            for c in columns.iter_mut().filter_map(Value::as_object_mut) {
                c.remove("data_tests");
                c.remove("tests");
            }
        }
    }
    e
}

/// A model entry without its descriptions and its columns' (no test reads them, and a `doc()`
/// in one would need the docs blocks).
fn without_descriptions(entry: &Value) -> Value {
    let mut e = entry.clone();
    if let Some(m) = e.as_object_mut() {
        m.remove("description");
        if let Some(Value::Array(columns)) = m.get_mut("columns") {
            for c in columns.iter_mut().filter_map(Value::as_object_mut) {
                c.remove("description");
            }
        }
    }
    e
}

fn without_created_at(entry: &Map<String, Value>) -> Map<String, Value> {
    let mut e = entry.clone();
    e.remove("created_at");
    e
}

/// A test's entry (its `depends_on.nodes` still empty) and its calls.
type TestNode = (Map<String, Value>, Calls);

/// The generic tests a parse of the project's macros, the model files `files` and a properties
/// file at `relative` holding only the model entries `entries` makes, by id, and the models'
/// `primary_key`s; `None` when that parse fails or warns, reads an environment variable no
/// earlier parse read, or disables a node.
fn tests_of(
    at: &super::PatchContext<'_>,
    meta: &ArtifactMeta,
    (relative, entries): (&str, Vec<Value>),
    files: &[PathBuf],
    env_read: &BTreeMap<String, Option<String>>,
) -> Option<(BTreeMap<String, TestNode>, BTreeMap<String, Value>)> {
    let mut project = crate::project::load_macros(at.root).ok()?;
    for path in files {
        super::push_model_file(&mut project, at.root, path)?;
    }
    let value = serde_json::json!({"version": 2, "models": entries});
    project.yaml_files.push(YamlFile {
        original_file_path: relative.to_string(),
        text: value.to_string(),
        value,
    });
    let opts = super::patch_parse_options(at.vars, Some(meta), true)?;
    let parsed = crate::compile::parse(&project, at.target, &opts).ok()?;
    let m = &parsed.manifest;
    if !parsed.warnings.is_empty() || !m.disabled.is_empty() || !super::env_reads_known(env_read) {
        return None;
    }
    let json = crate::artifacts::manifest_json(m, meta);
    let entries = json.get("nodes")?.as_object()?;
    let tests = m
        .nodes
        .values()
        .filter(|n| n.resource_type == ResourceType::Test)
        .map(|n| {
            let entry = entries.get(&n.unique_id)?.as_object()?.clone();
            let calls = Calls::new(n.refs.clone(), n.sources.clone());
            Some((n.unique_id.clone(), (entry, calls)))
        })
        .collect::<Option<_>>()?;
    let keys = entries
        .iter()
        .filter(|(id, _)| id.starts_with("model."))
        .filter_map(|(id, e)| Some((id.clone(), e.get("primary_key")?.clone())))
        .collect();
    Some((tests, keys))
}
