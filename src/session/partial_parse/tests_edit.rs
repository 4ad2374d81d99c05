//! The partial parse of a properties file of the root project whose `models:` entries changed,
//! and nothing else in it: a generic test added to a model or one of its columns, one removed,
//! its arguments or its config changed; a model's `config:`, `meta`, `tags`, `docs`,
//! `contract`, plain descriptions, columns added, removed or retyped. What a model entry says
//! reaches the model's node and its generic tests, made from the entry, the project's
//! `dbt_project.yml` and the model's file; nothing else reads it at parse time (tests have no
//! children, and other nodes know the model by its id). So each changed entry is parsed
//! alone, as it was and as it is, together with its model's file and the project's macros
//! (`compile::parse`, refs left unresolved, [`super::ref_edit::Index`] resolving them); the
//! tests only one side makes are added to or removed from the manifest with their graph lists
//! and their parents' `child_map` lists, those both make but differently are rewritten, and the
//! keys of the model's entry the two parses write differently are rewritten in place.
//!
//! A model's or seed's entry added to the file or removed from it is parsed the same way, its
//! file alone on the other side, when the manifest says what file described it before (its
//! `patch_path`: none for an entry added) and no other file's entry of it changed in the same
//! parse (an entry moved between files).
//!
//! Descriptions with Jinja (`{{ doc("...") }}`) need the docs blocks: they are left out of both
//! parses and must be the same before and after (the manifest keeps their rendered text).
//!
//! A `seeds:` entry is parsed the same way, with its seed's CSV file. A `sources:` entry is
//! parsed alone (no file with it), when it keeps its tables
//! and has no Jinja outside tests: its tables' entries are rewritten where they changed, their
//! relations kept. An `exposures:` entry is parsed alone too, when what it reads
//! (`depends_on`) is the same and it has no Jinja elsewhere: the keys of its entry that changed
//! (owner, url, maturity, description, meta, tags, ...) are rewritten, what it reads kept.
//!
//! For this a full parse keeps the text of each properties file of the root project beside
//! its state ([`save`]). A full parse instead: any other key of the file changed, a source or
//! exposure added, removed or renamed, an entry with Jinja added or removed, a versioned model
//! or a time spine, a model of another package or none; a change of what the model's
//! access, group, hooks, refs, sources, macros or render are, of its relation when the manifest
//! names the old one elsewhere too (a semantic model's or time spine's `node_relation`: a
//! relation named in the model's entry alone is renamed there, as the parse of the entry names
//! it), a constraint that points to another model, Jinja outside descriptions changed;
//! a test whose parents changed, one disabled, a new test whose id some node already has; a
//! parse that fails or warns, an environment variable no earlier parse read.
//!
//! Which entries changed, and whether a patch can follow the change, is
//! [`super::entry_changes`]'s to say.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::entry_changes::{
    changed_entries, jinja_descriptions, without_jinja_descriptions, Changed,
};
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
///
/// A text already kept as it is now is not written again, and only the texts of files that are
/// gone are removed: a full parse of a project whose properties files did not change writes
/// and removes nothing here (emptying and refilling the folder was 200 removals and 200 writes
/// of 6.6 MB at 10,000 models, on every full parse).
pub(super) fn save(s: &Session, target_path: &Path) {
    use rayon::prelude::*;
    let dir = target_path.join(TEXTS);
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let texts: BTreeMap<PathBuf, &str> = s
        .project
        .yaml_files
        .iter()
        .map(|f| {
            let path = s.project.root.join(&f.original_file_path);
            (kept(target_path, &path), f.text.as_str())
        })
        .collect();
    texts.par_iter().for_each(|(file, text)| {
        let _ = crate::compile::write_if_changed(file, text);
    });
    for gone in std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| !texts.contains_key(p))
    {
        let _ = std::fs::remove_file(gone);
    }
}

/// Keeps `text` as the properties file `path`'s, once a patch wrote what it says (best
/// effort, as [`save`]).
pub(super) fn keep(target_path: &Path, path: &Path, text: &str) {
    let _ = std::fs::write(kept(target_path, path), text);
}

/// The text of the properties file `path` as the last parse kept it.
pub(super) fn kept_text(target_path: &Path, path: &Path) -> Option<String> {
    std::fs::read_to_string(kept(target_path, path)).ok()
}

/// Whether the text of the properties file `path` is kept.
pub(super) fn knows(target_path: &Path, path: &Path) -> bool {
    kept(target_path, path).is_file()
}

/// Forgets the kept text of the properties file `path`, removed (best effort: a text kept for
/// a file that is no more is never read).
pub(super) fn forget(target_path: &Path, path: &Path) {
    let _ = std::fs::remove_file(kept(target_path, path));
}

/// Whether `path`, a file the last parse did not read, is a properties file of the root
/// project's models or seeds.
pub(super) fn is_new_properties(at: &super::PatchContext<'_>, path: &Path) -> bool {
    let folders = at.config.model_paths.iter().chain(&at.config.seed_paths);
    path.extension().is_some_and(|e| e == "yml" || e == "yaml")
        && folders
            .into_iter()
            .any(|f| path.starts_with(at.root.join(f)))
}

/// How a properties file changed since the last parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileChange {
    Edited,
    /// A new file (as if it had been there, empty).
    Added,
    /// A file gone (as if it were there, empty).
    Removed,
}

/// What the edit of properties files' model entries changes in the manifest.
#[derive(Debug, Default)]
pub(super) struct TestsEdit {
    /// Tests added (with their entries) and removed.
    pub(super) nodes: NodesAddedRemoved,
    /// Tests both parses make, with their new entries.
    pub(super) changed: BTreeMap<String, Map<String, Value>>,
    /// Models and seeds whose entry changed, with what to rewrite in it.
    pub(super) entries: BTreeMap<String, EntryEdit>,
    /// Source tables and exposures whose entry changed, with the keys to rewrite in it.
    pub(super) keyed: BTreeMap<String, Map<String, Value>>,
    pub(super) graph: Vec<GraphEdit>,
    /// How many files' entries changed (not those only rewritten, their YAML the same).
    pub(super) files: usize,
    /// The models and seeds whose entries changed.
    described: BTreeSet<String>,
}

/// The keys of a model's manifest entry an edit of its properties entry rewrites.
#[derive(Debug, Default)]
pub(super) struct EntryEdit {
    /// The keys and their new values (as the entry parsed alone writes them).
    set: Map<String, Value>,
    /// The columns whose description has Jinja: left out of the parses, so kept from the entry.
    kept_descriptions: Vec<String>,
    /// The properties file that described the model before the edit (as the entry's
    /// `patch_path`; null: none did), which the entry must say.
    patch_path: Value,
}

impl EntryEdit {
    /// Rewrites the model's manifest `entry`; false when the entry does not say the file the
    /// edit found describing it (another file describes it).
    pub(super) fn apply(&self, entry: &mut Map<String, Value>) -> bool {
        if entry.get("patch_path").unwrap_or(&Value::Null) != &self.patch_path {
            return false;
        }
        for (key, value) in &self.set {
            let mut value = value.clone();
            if key == "columns" {
                for name in &self.kept_descriptions {
                    let old = entry.get("columns").and_then(|c| c.get(name));
                    let column = value.get_mut(name).and_then(Value::as_object_mut);
                    if let (Some(old), Some(column)) = (old, column) {
                        // (Its text rendered, and the docs blocks it calls.)
                        for key in ["description", "doc_blocks"] {
                            if let Some(v) = old.get(key) {
                                column.insert(key.into(), v.clone());
                            }
                        }
                    }
                }
            }
            entry.insert(key.clone(), value);
        }
        true
    }
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
    (path, change): (&Path, FileChange),
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
    let text_of = |file: PathBuf, there: bool| match there {
        true => std::fs::read_to_string(file).ok(),
        false => Some(String::new()),
    };
    let old_text = text_of(kept(target_path, path), change != FileChange::Added)?;
    let new_text = text_of(path.to_path_buf(), change != FileChange::Removed)?;
    let parse = |text: &str| {
        if text.is_empty() {
            return Some(Value::Object(Map::new()));
        }
        let (value, warnings) = crate::project::yaml::parse_checked(text, path).ok()?;
        warnings.is_empty().then_some(value)
    };
    let (old, new) = (parse(&old_text)?, parse(&new_text)?);
    let changed = changed_entries(&old, &new)?;
    let now = |value| Now {
        text: new_text.clone(),
        value,
    };
    let Changed {
        models: m,
        seeds,
        sources,
        exposures,
    } = &changed;
    if m.is_empty() && seeds.is_empty() && sources.is_empty() && exposures.is_empty() {
        return Some(now(new));
    }
    edit.files += 1;
    let relative = crate::project::relative(at.root, path);
    // Each changed entry's node and its file.
    let by_id: BTreeMap<&String, &PathBuf> = models
        .values()
        .map(|(id, _)| id)
        .zip(models.keys())
        .collect();
    let listed = [
        ("models", "model", &changed.models),
        ("seeds", "seed", &changed.seeds),
    ];
    let mut files = Vec::new();
    // The changed entries: (their key, position now, node id).
    let mut nodes = Vec::new();
    for (key, resource, pairs) in listed {
        for &(was, is) in pairs {
            let entry = match (was, is) {
                (_, Some(i)) => &new[key][i],
                (Some(i), None) => &old[key][i],
                (None, None) => continue,
            };
            let name = entry.get("name")?.as_str()?;
            let id = format!("{resource}.{}.{name}", meta.project_name);
            // (A model described in two files, or whose entry moved between files, parses in
            // full.)
            if index.resolves_to(name) != Some(&id)
                || entry.get("versions").is_some()
                || !edit.described.insert(id.clone())
            {
                return None;
            }
            files.push(by_id.get(&id)?.to_path_buf());
            nodes.push((key, is, id));
        }
    }
    // The changed entries of `v`, as a properties file of their own (`now`: `v` is the file
    // as it is).
    let entries = |v: &Value, now: bool| -> Value {
        let pairs = |key: &str, pairs: &[(Option<usize>, Option<usize>)]| -> Vec<Value> {
            (pairs.iter())
                .filter_map(|&(was, is)| if now { is } else { was })
                .map(|i| without_jinja_descriptions(&v[key][i]))
                .collect()
        };
        let some = |key: &str, positions: &[usize]| -> Vec<Value> {
            (positions.iter())
                .map(|&i| without_jinja_descriptions(&v[key][i]))
                .collect()
        };
        serde_json::json!({
            "version": 2,
            "models": pairs("models", &changed.models),
            "seeds": pairs("seeds", &changed.seeds),
            "sources": some("sources", &changed.sources),
            "exposures": some("exposures", &changed.exposures),
        })
    };
    let was = tests_of(
        at,
        meta,
        (&relative, entries(&old, false)),
        &files,
        env_read,
    )?;
    let is = tests_of(at, meta, (&relative, entries(&new, true)), &files, env_read)?;
    let manifest = target_path.join("manifest.json");
    let mut named_alone = |relation_name: &str| {
        crate::artifacts::relation_named_alone(&manifest, relation_name).unwrap_or(false)
    };
    for (key, i, id) in &nodes {
        let (a, b) = (was.nodes.get(id)?, is.nodes.get(id)?);
        let raw = i.map_or(&Value::Null, |i| &new[*key][i]);
        if let Some(e) = node_edit(a, b, raw, &mut named_alone)? {
            edit.entries.insert(id.clone(), e);
        }
    }
    keyed_edits(&was.sources, &is.sources, &SOURCE_KEYS_KEPT, edit)?;
    keyed_edits(&was.exposures, &is.exposures, &EXPOSURE_KEYS_KEPT, edit)?;
    let (before, after) = (was.tests, is.tests);
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

/// The keys of a manifest entry that name it: a patch leaves them as they were.
const NAMING_KEYS: [&str; 7] = [
    "name",
    "resource_type",
    "package_name",
    "path",
    "original_file_path",
    "unique_id",
    "fqn",
];

/// Beyond [`NAMING_KEYS`], the keys of a model's manifest entry that name what others see of
/// it, or what its parse records elsewhere: a patch leaves them as they were.
const MODEL_KEYS_KEPT: [&str; 9] = [
    "checksum",
    "raw_code",
    "language",
    "refs",
    "sources",
    "depends_on",
    "access",
    "group",
    "version",
];

/// Beyond [`NAMING_KEYS`], the keys of a source table's manifest entry that name its source
/// and its relation: a patch leaves them as they were.
const SOURCE_KEYS_KEPT: [&str; 5] = [
    "source_name",
    "database",
    "schema",
    "identifier",
    "relation_name",
];

/// Beyond [`NAMING_KEYS`], the keys of an exposure's manifest entry that name what it reads (a
/// parse of its entry alone resolves none of its refs): a patch leaves them as they were.
const EXPOSURE_KEYS_KEPT: [&str; 4] = ["depends_on", "refs", "sources", "metrics"];

/// Whether the entries `a` and `b` differ in a key of [`NAMING_KEYS`] or `kept`.
fn differ_in(a: &Map<String, Value>, b: &Map<String, Value>, kept: &[&str]) -> bool {
    (NAMING_KEYS.iter().chain(kept)).any(|k| a.get(*k) != b.get(*k))
}

/// The config keys of a model that a patch leaves as they were: they disable it, or run Jinja
/// elsewhere.
const MODEL_CONFIG_KEPT: [&str; 5] = ["enabled", "pre-hook", "post-hook", "group", "access"];

/// The keys of a model's or seed's manifest entry that name its relation.
const RELATION_KEYS: [&str; 4] = ["database", "schema", "alias", "relation_name"];

/// What the model or seed entry parsed alone `then` (its properties entry as it was) becomes
/// `now` (its properties entry as it is, `raw`) changes in its manifest entry: `Some(None)`
/// nothing, `None` when it changes what [`NAMING_KEYS`], [`MODEL_KEYS_KEPT`] and
/// [`MODEL_CONFIG_KEPT`] name, what its render records, or adds a constraint pointing to
/// another model. Its relation may be renamed (a `schema`, `alias` or `database` config) when
/// `named_alone` says the old one is named in its entry alone (no semantic model or time spine
/// reads it).
fn node_edit(
    then: &NodeSide,
    now: &NodeSide,
    raw: &Value,
    named_alone: &mut dyn FnMut(&str) -> bool,
) -> Option<Option<EntryEdit>> {
    let (a, b) = (&then.entry, &now.entry);
    if differ_in(a, b, &RELATION_KEYS) {
        let (was, is) = (a.get("relation_name"), b.get("relation_name"));
        let was = was.and_then(Value::as_str);
        if is.and_then(Value::as_str).is_none() || !was.is_some_and(&mut *named_alone) {
            return None;
        }
    }
    if then.render != now.render
        || differ_in(a, b, &MODEL_KEYS_KEPT)
        || MODEL_CONFIG_KEPT
            .iter()
            .any(|k| a.get("config").map(|c| c.get(*k)) != b.get("config").map(|c| c.get(*k)))
        || points_elsewhere(b)
    {
        return None;
    }
    let set = changed_keys(a, b)?;
    if set.is_empty() {
        return Some(None);
    }
    let kept_descriptions = jinja_descriptions(raw)
        .into_iter()
        .filter_map(|(place, _)| place.map(String::from))
        .collect();
    Some(Some(EntryEdit {
        set,
        kept_descriptions,
        patch_path: a.get("patch_path").cloned().unwrap_or_default(),
    }))
}

/// The entries of source tables or exposures parsed alone before (`was`) and after (`is`) an
/// edit: the same ids, each one's [`NAMING_KEYS`] and `kept` keys the same, the keys that
/// changed added to `edit`; `None` otherwise.
fn keyed_edits(
    was: &BTreeMap<String, Map<String, Value>>,
    is: &BTreeMap<String, Map<String, Value>>,
    kept: &[&str],
    edit: &mut TestsEdit,
) -> Option<()> {
    if !was.keys().eq(is.keys()) {
        return None;
    }
    for (id, b) in is {
        let a = was.get(id)?;
        if differ_in(a, b, kept) {
            return None;
        }
        let set = changed_keys(a, b)?;
        if !set.is_empty() {
            edit.keyed.insert(id.clone(), set);
        }
    }
    Some(())
}

/// The keys of the entry `b` whose values differ from `a`'s, with `b`'s values (`created_at`
/// aside); `None` when `b` lacks a key `a` has.
fn changed_keys(a: &Map<String, Value>, b: &Map<String, Value>) -> Option<Map<String, Value>> {
    if a.keys().any(|k| !b.contains_key(k)) {
        return None;
    }
    Some(
        b.iter()
            .filter(|(k, v)| *k != "created_at" && a.get(*k) != Some(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Whether a model entry has a constraint that points to another node (`to:`, a foreign key):
/// written with that node's relation.
fn points_elsewhere(entry: &Map<String, Value>) -> bool {
    let points = |c: Option<&Value>| {
        c.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| c.get("to").is_some_and(|t| !t.is_null()))
    };
    points(entry.get("constraints"))
        || entry
            .get("columns")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|c| c.values())
            .any(|c| points(c.get("constraints")))
}

fn without_created_at(entry: &Map<String, Value>) -> Map<String, Value> {
    let mut e = entry.clone();
    e.remove("created_at");
    e
}

/// A test's entry (its `depends_on.nodes` still empty) and its calls.
type TestNode = (Map<String, Value>, Calls);

/// A model or seed parsed alone: its entry (`depends_on.nodes` still empty) and what the render
/// of its file recorded.
struct NodeSide {
    entry: Map<String, Value>,
    render: Option<std::sync::Arc<crate::compile::FileRender>>,
}

/// What a parse of some entries of a properties file makes.
struct EntriesParsed {
    /// The generic tests, by id.
    tests: BTreeMap<String, TestNode>,
    /// The models and seeds.
    nodes: BTreeMap<String, NodeSide>,
    /// The source tables' entries, by id.
    sources: BTreeMap<String, Map<String, Value>>,
    /// The exposures' entries, by id.
    exposures: BTreeMap<String, Map<String, Value>>,
}

/// What a parse of the project's macros, the model files `files` and a properties file at
/// `relative` holding only `yaml` (some of its entries) makes; `None` when that parse fails or
/// warns, reads an environment variable no earlier parse read, or disables a node.
fn tests_of(
    at: &super::PatchContext<'_>,
    meta: &ArtifactMeta,
    (relative, value): (&str, Value),
    files: &[PathBuf],
    env_read: &BTreeMap<String, Option<String>>,
) -> Option<EntriesParsed> {
    let mut project = crate::project::load_macros(at.root).ok()?;
    for path in files {
        if path.extension().is_some_and(|e| e == "csv") {
            super::push_seed_file(&mut project, at.root, path)?;
        } else {
            super::push_model_file(&mut project, at.root, path)?;
        }
    }
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
    let nodes = m
        .nodes
        .values()
        .filter(|n| matches!(n.resource_type, ResourceType::Model | ResourceType::Seed))
        .map(|n| {
            let entry = entries.get(&n.unique_id)?.as_object()?.clone();
            let render = n.file_render.clone();
            Some((n.unique_id.clone(), NodeSide { entry, render }))
        })
        .collect::<Option<_>>()?;
    let section = |key: &str| -> Option<BTreeMap<String, Map<String, Value>>> {
        (json.get(key)?.as_object()?.iter())
            .map(|(id, e)| Some((id.clone(), e.as_object()?.clone())))
            .collect()
    };
    Some(EntriesParsed {
        tests,
        nodes,
        sources: section("sources")?,
        exposures: section("exposures")?,
    })
}
