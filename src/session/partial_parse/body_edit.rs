//! The partial parse of the most common edit: the text of a few SQL models (or analyses, or
//! singular tests) changed, and nothing else. A model's parse is a render of its Jinja that
//! records what it calls (`ref`, `source`, `config`, macros) and discards the text it outputs;
//! when the new file has the same Jinja tags, in the same order, as the `raw_code` the last
//! parse kept, and none of its text can reach a call (no `{% set %}` / `{% call %}` /
//! `{% filter %}` / `{% macro %}` block captures it: [`super::tags::same_calls`]), the new
//! parse would record the same calls, and the node differs only in its `raw_code` and
//! `checksum`. Those two are rewritten in the manifest
//! ([`crate::artifacts::patch_manifest_nodes`]) and the rest of it is copied, in a fraction of
//! the time a full parse takes. When the tags changed, [`super::ref_edit`] (plain refs and
//! sources alone) and [`super::render_edit`] (a render before and after the edit) may still
//! patch the node ([`CallEdits`]). A seed's rows edited change its `checksum` alone. A macro
//! file edited, alone, is [`super::macro_edit`]'s.
//!
//! To know which files changed, a full parse also keeps, next to its state, every path it
//! watched with its stamp, which node each SQL file and seed is, and what [`super::docs_edit`]
//! compares each properties file by ([`FILES_FILE`]). A patch needs the same paths as then
//! (but model files added or removed, [`super::added`]), changed stamps only on those files,
//! properties files, folders and other files found unchanged by their checksums, and each of
//! those files passing its check (the ones above, or a change of descriptions alone); anything
//! else falls back to the content check and a full parse. A file changed too recently to vouch by its stamp is kept without one, so the next
//! parse reads it again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::super::Session;
use super::docs_block_edit::{self, DOCS_FILE};
use super::docs_edit::{self, Described, DocsEdit};
use super::macro_edit::{self, Macros};
use super::ref_edit;
use super::render_edit::{self, Renderer};
use super::tags;
use super::tests_edit::{self, FileChange};
use super::{added, enabled_edit};
use super::{Entry, Lazy, Patched, PathMap, Stamps, State};
use crate::artifacts::ArtifactMeta;
use crate::artifacts::GraphEdit;
use crate::compile::ResourceType;

/// Where the stamps of every watched path and the model of each SQL file are kept.
pub(super) const FILES_FILE: &str = "sluice_partial_parse_files.json";

/// What [`FILES_FILE`] holds.
#[derive(Debug, Serialize, Deserialize)]
struct Files {
    /// The [`Stamps`] key these entries make.
    key: String,
    entries: Vec<Entry>,
    /// Each SQL file of a model, analysis or singular test, and each seed's CSV file (its path
    /// as the walk finds it): its node's id and its checksum.
    models: Lazy<PathMap<(String, String)>>,
    /// Each properties file of the root project that documents something, for [`docs_edit`].
    #[serde(default, deserialize_with = "super::sorted_map")]
    properties: BTreeMap<PathBuf, Described>,
    /// Every other file read as text, by its checksum ([`others`]).
    #[serde(deserialize_with = "super::sorted_map")]
    others: BTreeMap<PathBuf, String>,
    /// What [`ref_edit`] resolves a model's new `ref`s and `source`s with (none when a macro
    /// overrides them).
    #[serde(default)]
    index: Lazy<Option<ref_edit::Index>>,
    /// What [`macro_edit`] patches a macro file's edit with.
    #[serde(default)]
    macros: Lazy<Option<Macros>>,
    /// The hash that ends each test's id (enabled or disabled), for [`tests_edit`]: a new test
    /// whose hash is none of them is no node's already.
    #[serde(default)]
    test_hashes: Lazy<Option<BTreeSet<String>>>,
    /// The docs files the last full parse read, and the checksum of what [`docs_block_edit`]
    /// patches their edits with (kept in [`DOCS_FILE`], read only for those edits).
    #[serde(default)]
    docs: Option<docs_block_edit::Kept>,
}

/// What a full parse keeps for partial parsing beside its state: [`Files`] and the docs index, as
/// JSON ([`write_text`] writes them).
pub(super) struct Texts {
    files: String,
    docs: String,
}

/// What [`FILES_FILE`] holds for the stamp `entries` that make `key` and the SQL files of `s`,
/// for [`patch`] ([`write_text`] writes it).
pub(super) fn files_text(key: &str, entries: Vec<Entry>, s: &Session) -> Texts {
    let manifest = s.manifest();
    let models = manifest
        .nodes
        .values()
        .filter(|n| {
            // One node per SQL file, its text as read: models, analyses, singular tests.
            let one_per_file = match n.resource_type {
                ResourceType::Model | ResourceType::Analysis => true,
                ResourceType::Test => n.test_type() == Some("singular"),
                _ => false,
            };
            let seed = n.resource_type == ResourceType::Seed && n.checksum.name == "sha256";
            one_per_file && n.original_file_path.ends_with(".sql") || seed
        })
        .filter_map(|n| {
            let root = if n.package_name == manifest.project_name {
                &s.project.root
            } else {
                manifest.package_roots.get(&n.package_name)?
            };
            let model = (n.unique_id.clone(), n.checksum.checksum.clone());
            Some((root.join(&n.original_file_path), model))
        })
        .collect();
    let (properties, root_docs) = docs_edit::save(s, docs_block_edit::file_uses);
    let others = others(s, &models, &properties);
    let mut files = Files {
        key: key.to_string(),
        entries,
        models: Lazy::Value(PathMap(models)),
        properties,
        others,
        index: Lazy::Value(ref_edit::Index::of(s)),
        macros: Lazy::Value(Some(Macros::of(s))),
        test_hashes: Lazy::Value(Some(tests_edit::hashes(manifest))),
        docs: None,
    };
    let (docs_text, kept) = docs_block_edit::keep(s, root_docs);
    files.docs = Some(kept);
    Texts {
        files: serde_json::to_string(&files).unwrap_or_default(),
        docs: docs_text,
    }
}

/// The checksum of every other file of the project and its packages a parse reads as text
/// (macros, snapshots, properties files that document nothing, docs, each `dbt_project.yml`),
/// by path: a touched file whose text is the same changes nothing.
fn others(
    s: &Session,
    models: &BTreeMap<PathBuf, (String, String)>,
    properties: &BTreeMap<PathBuf, Described>,
) -> BTreeMap<PathBuf, String> {
    let sum = |text: &[u8]| crate::session::fingerprint::checksum(text);
    // (Looked up by hash: 20,000 lookups in the sorted maps compared paths component by
    // component.)
    let kept: std::collections::HashSet<&Path> = models
        .keys()
        .chain(properties.keys())
        .map(PathBuf::as_path)
        .collect();
    let mut others = BTreeMap::new();
    for p in std::iter::once(&*s.project).chain(&s.project.packages) {
        let config = p.root.join("dbt_project.yml");
        if let Ok(text) = std::fs::read(&config) {
            others.insert(config, sum(&text));
        }
        let sql = p
            .sql_files
            .iter()
            .map(|f| (&f.original_file_path, &f.contents));
        let yaml = p
            .yaml_files
            .iter()
            .map(|f| (&f.original_file_path, &f.text));
        let docs = p
            .docs_files
            .iter()
            .map(|f| (&f.original_file_path, &f.contents));
        for (file, text) in sql.chain(yaml).chain(docs) {
            let path = p.root.join(file);
            if !kept.contains(path.as_path()) {
                others.insert(path, sum(text.as_bytes()));
            }
        }
    }
    others
}

/// Writes [`files_text`]'s texts in `target_path` (best effort, as the state).
pub(super) fn write_text(target_path: &Path, texts: &Texts) {
    for (name, text) in [(FILES_FILE, &texts.files), (DOCS_FILE, &texts.docs)] {
        if !text.is_empty() {
            let _ = crate::artifacts::write_text(&target_path.join(name), text);
        }
    }
}

/// Keeps the new `stamps` of a project whose files are as the last full parse read them (a
/// touch, a checkout) with the SQL files' nodes that parse recorded.
pub(super) fn restamp(target_path: &Path, stamps: &Stamps) {
    if let Some(mut files) = read(target_path) {
        files.key = stamps.key.clone();
        files.entries = stamps.entries.clone();
        write(target_path, &files);
    }
}

fn read(target_path: &Path) -> Option<Files> {
    let bytes = std::fs::read(target_path.join(FILES_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write(target_path: &Path, files: &Files) {
    if let Ok(text) = serde_json::to_string(files) {
        let _ = crate::artifacts::write_text(&target_path.join(FILES_FILE), &text);
    }
}

/// Patches the manifest at `manifest` for the SQL files edited since the last parse (`now`: the
/// stamps of the watched paths now), as the module says, and for the properties files whose
/// descriptions alone changed ([`docs_edit`]), and updates `state`: its stamps, and its inputs'
/// fingerprint forgotten (the files are no longer what it was taken of). Returns how many files
/// of each kind it patched for (none when the files were only touched: then only the metadata
/// is); `None`, with nothing written, when the edit is not one this can patch.
pub(super) fn patch(
    target_path: &Path,
    manifest: &Path,
    meta: &ArtifactMeta,
    state: &mut State,
    now: Vec<Entry>,
    since: SystemTime,
    project: &super::PatchContext<'_>,
) -> Option<Patched> {
    let stamps = &state.stamps;
    let mut files = read(target_path).filter(|f| f.key == stamps.key)?;
    let t = std::time::Instant::now();
    // A path watched now only is a new folder or a new model, one watched then only a removed
    // model ([`added`]).
    let then: std::collections::HashMap<&PathBuf, &Option<super::Stamp>> =
        files.entries.iter().map(|(p, s)| (p, s)).collect();
    let added_paths: Vec<PathBuf> = now
        .iter()
        .filter(|(p, _)| !then.contains_key(p) && !p.is_dir())
        .map(|(p, _)| p.clone())
        .collect();
    let now_paths: std::collections::HashSet<&PathBuf> = now.iter().map(|(p, _)| p).collect();
    let removed_paths: Vec<PathBuf> = files
        .entries
        .iter()
        .filter(|(p, _)| !now_paths.contains(p))
        .map(|(p, _)| p.clone())
        .collect();
    // The edited SQL files' nodes, by id: their new text and its checksum.
    let mut edits: BTreeMap<String, (String, String)> = BTreeMap::new();
    // The seeds whose rows changed, by id: their new checksum.
    let mut seeds: BTreeMap<String, String> = BTreeMap::new();
    // The entries whose descriptions changed, by id.
    let mut docs: BTreeMap<String, DocsEdit> = BTreeMap::new();
    let mut properties = 0;
    // A properties file changed in what it says nothing about (a comment): the manifest stands,
    // but the fingerprint of the files' contents no longer holds.
    let mut properties_touched = false;
    // The macro files edited, with their new checksums.
    let mut macro_files: Vec<(PathBuf, String)> = Vec::new();
    // The properties files whose tests may have changed.
    let mut tests_files: Vec<(PathBuf, FileChange)> = Vec::new();
    // The docs files edited, with their new checksums.
    let mut docs_files: Vec<(PathBuf, String)> = Vec::new();
    // The other SQL files edited (a disabled model's may enable it again: [`enabled_edit`]).
    let mut other_sql: Vec<PathBuf> = Vec::new();
    for (path, stamp) in &now {
        let Some(&before) = then.get(path) else {
            continue;
        };
        if before == stamp || path.is_dir() {
            continue;
        }
        if let Some(described) = files.properties.get_mut(path) {
            let (mut now, mut found) = (described.clone(), BTreeMap::new());
            match docs_edit::patch(path, &meta.project_name, &mut now, &mut found) {
                Some(()) => {
                    *described = now;
                    properties += usize::from(!found.is_empty());
                    docs.extend(found);
                    properties_touched = true;
                }
                // Its tests changed ([`tests_edit`]), else a full parse.
                None if tests_edit::knows(target_path, path) => {
                    tests_files.push((path.clone(), FileChange::Edited))
                }
                None => return None,
            }
            continue;
        }
        if let Some(sum) = files.others.get(path) {
            // Touched, not changed (a checkout, an editor's save): nothing to patch.
            let text = std::fs::read(path).ok()?;
            let new_sum = crate::session::fingerprint::checksum(&text);
            if new_sum != *sum {
                // A docs file edited ([`docs_block_edit`]), a macro file ([`macro_edit`]), a
                // properties file's tests ([`tests_edit`]), else a full parse.
                if files.docs.as_ref().is_some_and(|d| d.contains(path)) {
                    docs_files.push((path.clone(), new_sum));
                } else if (files.macros.parsed()?.as_ref()).is_some_and(|m| m.knows(path)) {
                    macro_files.push((path.clone(), new_sum));
                } else if tests_edit::knows(target_path, path) {
                    tests_files.push((path.clone(), FileChange::Edited));
                } else if path.extension().is_some_and(|e| e == "sql") {
                    other_sql.push(path.clone());
                } else {
                    return None;
                }
            }
            continue;
        }
        let (id, sum_before) = files.models.parsed()?.get_mut(path)?;
        if id.starts_with("seed.") {
            // A seed's rows are in the manifest only by their checksum.
            let relative = crate::project::relative(project.root, path);
            let sum = crate::project::seed_checksum(path, &relative).ok()?;
            if sum.name != "sha256" {
                return None;
            }
            if sum.checksum != *sum_before {
                *sum_before = sum.checksum.clone();
                seeds.insert(id.clone(), sum.checksum);
            }
            continue;
        }
        let text = std::fs::read_to_string(path).ok()?;
        // As a full parse reads node files: stripped of leading and trailing whitespace.
        let raw = text.trim().to_string();
        let sum = crate::project::sha256_hex(raw.as_bytes());
        if sum != *sum_before {
            *sum_before = sum.clone();
            edits.insert(id.clone(), (raw, sum));
        }
    }
    // Properties files added and removed: their entries as added to or removed from an empty
    // file ([`tests_edit`]).
    let (new_props, added_paths): (Vec<PathBuf>, Vec<PathBuf>) = added_paths
        .into_iter()
        .partition(|p| tests_edit::is_new_properties(project, p));
    let (old_props, removed_paths): (Vec<PathBuf>, Vec<PathBuf>) = removed_paths
        .into_iter()
        .partition(|p| tests_edit::knows(target_path, p));
    tests_files.extend(new_props.into_iter().map(|p| (p, FileChange::Added)));
    tests_files.extend(old_props.into_iter().map(|p| (p, FileChange::Removed)));
    let paths_alone = added_paths.is_empty() && removed_paths.is_empty();
    if !other_sql.is_empty() {
        // A disabled model's file alone, enabling it again ([`enabled_edit`]), else a full
        // parse.
        let alone = edits.is_empty() && seeds.is_empty() && docs.is_empty();
        let [path] = other_sql.as_slice() else {
            return None;
        };
        let others_alone = docs_files.is_empty() && macro_files.is_empty();
        if !(alone && paths_alone && others_alone && tests_files.is_empty()) {
            return None;
        }
        let kept = files.enabled_kept(true)?;
        enabled_edit::enable((manifest, meta), path, project, kept, &state.env)?;
        crate::timing("partial parse: model enabled again", t);
        return toggled(target_path, manifest, state, files, (now, since), false);
    }
    if !docs_files.is_empty() {
        // Docs files' edits alone.
        let alone = edits.is_empty() && seeds.is_empty() && docs.is_empty();
        if !(alone && paths_alone && macro_files.is_empty() && tests_files.is_empty()) {
            return None;
        }
        let paths: Vec<PathBuf> = docs_files.iter().map(|(p, _)| p.clone()).collect();
        let kept = files.docs.as_mut()?;
        docs_block_edit::patch_kept(target_path, kept, &paths, (manifest, meta))?;
        crate::timing("partial parse: docs files patched", t);
        files.others.extend(docs_files);
        let done = Patched {
            docs_files: paths.len(),
            ..Patched::default()
        };
        return finish(target_path, manifest, state, files, (now, since), true).map(|()| done);
    }
    if !tests_files.is_empty() {
        // Tests' edits alone (a new model's tests would need it parsed first).
        let alone = edits.is_empty() && seeds.is_empty() && docs.is_empty();
        if !(alone && paths_alone && macro_files.is_empty()) {
            return None;
        }
        if let [(path, FileChange::Edited)] = tests_files.as_slice() {
            // A model's `enabled` toggled in its properties entry ([`enabled_edit`]).
            let toggle =
                properties_toggle(target_path, (manifest, meta), path, &mut files, project);
            if let Some(disabled) = toggle? {
                crate::timing("partial parse: model disabled or enabled again", t);
                return toggled(target_path, manifest, state, files, (now, since), disabled);
            }
        }
        let done = tests(
            target_path,
            (manifest, meta),
            &mut files,
            &tests_files,
            project,
            &state.env,
        )?;
        crate::timing("partial parse: model entries patched", t);
        finish(target_path, manifest, state, files, (now, since), true)?;
        state.summary.nodes = (state.summary.nodes + done.1).saturating_sub(done.2);
        state.summary.tests = (state.summary.tests + done.1).saturating_sub(done.2);
        return Some(Patched {
            tests: done.0,
            ..Patched::default()
        });
    }
    if !macro_files.is_empty() {
        // Macro edits alone: with other edits, a node's render could read both.
        let alone = edits.is_empty() && seeds.is_empty() && docs.is_empty();
        if !(alone && paths_alone) {
            return None;
        }
        let paths: Vec<PathBuf> = macro_files.iter().map(|(p, _)| p.clone()).collect();
        macro_edit::patch(
            files.macros.parsed()?.as_mut()?,
            &paths,
            files.models.parsed()?,
            project,
            (manifest, meta),
            &state.env,
        )?;
        crate::timing("partial parse: macros patched", t);
        files.others.extend(macro_files);
        let done = Patched {
            macros: paths.len(),
            ..Patched::default()
        };
        return finish(target_path, manifest, state, files, (now, since), true).map(|()| done);
    }
    let alone = seeds.is_empty() && docs.is_empty() && paths_alone;
    if let (Some((id, (raw, sum))), 1, true) = (edits.iter().next(), edits.len(), alone) {
        // A model disabled by its file ([`enabled_edit`]).
        let kept = files.enabled_kept(true)?;
        let edit = (id.as_str(), raw.as_str(), sum.as_str());
        if enabled_edit::disable((manifest, meta), edit, project, kept, &state.env)? {
            crate::timing("partial parse: model disabled", t);
            return toggled(target_path, manifest, state, files, (now, since), true);
        }
    }
    // New models, parsed alone, and removed ones.
    let (nodes, mut new_graph) = added::added_and_removed(
        project,
        meta,
        (&added_paths, &removed_paths),
        (
            files.index.parsed()?.as_mut(),
            files.macros.parsed()?.as_mut(),
        ),
        files.models.parsed()?,
        &state.env,
    )?;
    let ids: std::collections::BTreeSet<&String> = edits
        .keys()
        .chain(docs.keys())
        .chain(seeds.keys())
        .collect();
    let ids: Vec<String> = ids.into_iter().cloned().collect();
    let patched = if ids.is_empty() && nodes.added.is_empty() && nodes.removed.is_empty() {
        // Touched, not changed: the manifest stands.
        crate::artifacts::rewrite_manifest_metadata(manifest, meta).map(|()| true)
    } else {
        let renderer = || Renderer::new(project.root, project.target.clone(), project.vars);
        let calls = std::cell::RefCell::new(CallEdits {
            manifest,
            root: &meta.project_name,
            index: files.index.parsed()?,
            renderer: &renderer,
            rendering: None,
            env_read: &state.env,
            graph: Vec::new(),
            macros: files.macros.parsed()?,
        });
        let patched = crate::artifacts::patch_manifest_nodes(
            manifest,
            meta,
            &ids,
            |id, entry| {
                if let Some((raw, _)) = edits.get(id) {
                    let Some(old) = entry.get("raw_code").and_then(Value::as_str) else {
                        return false;
                    };
                    let old = old.to_string();
                    if !tags::same_calls(&old, raw)
                        && !calls.borrow_mut().patch(id, entry, &old, raw)
                    {
                        return false;
                    }
                    entry.insert("raw_code".into(), Value::String(raw.clone()));
                }
                if let Some(sum) = edits.get(id).map(|(_, sum)| sum).or(seeds.get(id)) {
                    entry.insert(
                        "checksum".into(),
                        serde_json::json!({"name": "sha256", "checksum": sum}),
                    );
                }
                docs.get(id).is_none_or(|d| d.apply(entry))
            },
            || {
                let mut graph = std::mem::take(&mut calls.borrow_mut().graph);
                graph.append(&mut new_graph);
                graph
            },
            &nodes,
        );
        patched
    };
    crate::timing("partial parse: manifest patched", t);
    if !matches!(patched, Ok(true)) {
        return None;
    }
    let (added, removed) = (nodes.added.len(), nodes.removed.len());
    let changed = !ids.is_empty() || added + removed > 0 || properties_touched;
    finish(target_path, manifest, state, files, (now, since), changed)?;
    state.summary.nodes = (state.summary.nodes + added).saturating_sub(removed);
    state.summary.models = (state.summary.models + added).saturating_sub(removed);
    Some(Patched {
        sql: edits.len(),
        seeds: seeds.len(),
        properties,
        added,
        removed,
        macros: 0,
        tests: 0,
        docs_files: 0,
        disabled: 0,
        enabled: 0,
    })
}

/// Records a patch that disabled a model (`disabled`) or enabled one again ([`finish`]), and
/// the model counts it changed; what the parse says of it.
fn toggled(
    target_path: &Path,
    manifest: &Path,
    state: &mut State,
    files: Files,
    (now, since): (Vec<Entry>, SystemTime),
    disabled: bool,
) -> Option<Patched> {
    finish(target_path, manifest, state, files, (now, since), true)?;
    let summary = &mut state.summary;
    (summary.nodes, summary.models) = match disabled {
        true => (
            summary.nodes.saturating_sub(1),
            summary.models.saturating_sub(1),
        ),
        false => (summary.nodes + 1, summary.models + 1),
    };
    Some(Patched {
        disabled: usize::from(disabled),
        enabled: usize::from(!disabled),
        ..Patched::default()
    })
}

impl Files {
    /// What [`enabled_edit`] updates of these files (`renders`: with the macro files' renders,
    /// when the model's file changed); `None` when a kept part does not read back.
    fn enabled_kept(&mut self, renders: bool) -> Option<enabled_edit::Kept<'_>> {
        let macros = match renders {
            true => self.macros.parsed()?.as_mut(),
            false => None,
        };
        Some(enabled_edit::Kept {
            models: self.models.parsed()?,
            others: &mut self.others,
            index: self.index.parsed()?,
            macros,
        })
    }
}

/// Patches the manifest for the properties file at `path` when all its edit does is toggle a
/// model's `enabled` ([`enabled_edit::properties`]), and keeps what `files` says of it:
/// `Some(Some(true))` a model disabled, `Some(Some(false))` one enabled again, `Some(None)`
/// when the edit is not that, `None` when this cannot patch it.
fn properties_toggle(
    target_path: &Path,
    (manifest, meta): (&Path, &ArtifactMeta),
    path: &Path,
    files: &mut Files,
    project: &super::PatchContext<'_>,
) -> Option<Option<bool>> {
    let old_text = tests_edit::kept_text(target_path, path)?;
    let new_text = std::fs::read_to_string(path).ok()?;
    if !old_text.contains("enabled") && !new_text.contains("enabled") {
        return Some(None);
    }
    let parse = |text: &str| {
        let (value, warnings) = crate::project::yaml::parse_checked(text, path).ok()?;
        warnings.is_empty().then_some(value)
    };
    let (old, new) = (parse(&old_text)?, parse(&new_text)?);
    let kept = files.enabled_kept(false)?;
    let Some(disabled) =
        enabled_edit::properties((manifest, meta), path, (&old, &new), project, kept)?
    else {
        return Some(None);
    };
    tests_edit::keep(target_path, path, &new_text);
    let kept = (&mut files.properties, &mut files.others);
    keep_described(kept, path, (&new, &new_text), &meta.project_name);
    Some(Some(disabled))
}

/// Records what the properties file at `path` (its YAML `value`, its `text`) documents now, for
/// its next edit: its descriptions ([`docs_edit`]), else its checksum among the other files.
fn keep_described(
    (properties, others): (
        &mut BTreeMap<PathBuf, Described>,
        &mut BTreeMap<PathBuf, String>,
    ),
    path: &Path,
    (value, text): (&Value, &str),
    project: &str,
) {
    match docs_edit::described(value, project) {
        Some(d) => {
            others.remove(path);
            properties.insert(path.to_path_buf(), d);
        }
        None => {
            properties.remove(path);
            let sum = crate::session::fingerprint::checksum(text.as_bytes());
            others.insert(path.to_path_buf(), sum);
        }
    }
}

/// Patches the manifest for the properties files `paths` whose tests changed
/// ([`tests_edit`]), and keeps what `files` says of them up to date. Returns in how many files
/// the tests changed, and how many tests were added and removed; `None` when it did not patch
/// (nothing written to the manifest).
fn tests(
    target_path: &Path,
    (manifest, meta): (&Path, &ArtifactMeta),
    files: &mut Files,
    paths: &[(PathBuf, FileChange)],
    project: &super::PatchContext<'_>,
    env_read: &BTreeMap<String, Option<String>>,
) -> Option<(usize, usize, usize)> {
    let index = files.index.parsed()?.as_ref()?;
    let mut all = tests_edit::TestsEdit::default();
    let mut kept = Vec::with_capacity(paths.len());
    for (path, change) in paths {
        let hashes = files.test_hashes.parsed()?.as_mut();
        let now = tests_edit::patch(
            (path, *change),
            target_path,
            project,
            meta,
            (index, files.models.parsed()?, hashes),
            env_read,
            &mut all,
        )?;
        // What the file now documents, for the next edit of it.
        if *change == FileChange::Removed {
            files.properties.remove(path);
            files.others.remove(path);
        } else {
            let kept = (&mut files.properties, &mut files.others);
            keep_described(kept, path, (&now.value, &now.text), &meta.project_name);
        }
        kept.push((path, *change, now.text));
    }
    let ids: Vec<String> = all
        .changed
        .keys()
        .chain(all.entries.keys())
        .chain(all.keyed.keys())
        .cloned()
        .collect();
    let patched = crate::artifacts::patch_manifest_nodes(
        manifest,
        meta,
        &ids,
        |id, entry| {
            if let Some(new) = all.changed.get(id) {
                *entry = new.clone();
            } else if let Some(model) = all.entries.get(id) {
                return model.apply(entry);
            } else if let Some(set) = all.keyed.get(id) {
                entry.extend(set.clone());
            } else {
                return false;
            }
            true
        },
        || all.graph,
        &all.nodes,
    );
    if !matches!(patched, Ok(true)) {
        return None;
    }
    for (path, change, text) in kept {
        match change {
            FileChange::Removed => tests_edit::forget(target_path, path),
            _ => tests_edit::keep(target_path, path, &text),
        }
    }
    Some((all.files, all.nodes.added.len(), all.nodes.removed.len()))
}

/// Records a patch in `state` and `files` (written): the manifest's new stamp, the watched
/// paths' stamps `now` (those changed within the margin of `since` kept without one), and,
/// when the patch `changed` the manifest, the inputs' fingerprint forgotten (the files are no
/// longer what it was taken of).
fn finish(
    target_path: &Path,
    manifest: &Path,
    state: &mut State,
    mut files: Files,
    (now, since): (Vec<Entry>, SystemTime),
    changed: bool,
) -> Option<()> {
    let manifest_stamp = super::Stamp::of(manifest)?;
    let stamps = &state.stamps;
    state.stamps = Stamps::from_entries(stamps.folders.clone(), stamps.files.clone(), now, since);
    files.key = state.stamps.key.clone();
    files.entries = state.stamps.entries.clone();
    write(target_path, &files);
    if changed {
        state.inputs = String::new();
    }
    state.manifest = manifest_stamp;
    Some(())
}

/// The patches of a file whose Jinja tags changed: its plain refs and sources alone
/// ([`ref_edit`]), else what a render of it before and after records ([`render_edit`]).
struct CallEdits<'a> {
    /// The manifest patched.
    manifest: &'a Path,
    root: &'a str,
    index: &'a mut Option<ref_edit::Index>,
    renderer: &'a dyn Fn() -> Option<Renderer>,
    /// Made for the first edit that needs it.
    rendering: Option<Option<Renderer>>,
    /// The environment variables the last full parse read.
    env_read: &'a BTreeMap<String, Option<String>>,
    /// The changes of the graph maps the patches make.
    graph: Vec<GraphEdit>,
    /// What renders ran of the macro files, updated for each render's patch.
    macros: &'a mut Option<Macros>,
}

impl CallEdits<'_> {
    /// Patches the `entry` of the node `id` for its file's text `new` (it was `old`); `false`
    /// when neither way can (then the whole patch is given up, and nothing written).
    fn patch(&mut self, id: &str, entry: &mut Map<String, Value>, old: &str, new: &str) -> bool {
        let CallEdits {
            manifest,
            root,
            index,
            renderer,
            rendering,
            env_read,
            graph,
            macros,
        } = self;
        if let Some(index) = index.as_mut() {
            if index.patch(id, root, entry, new, graph) {
                return true;
            }
        }
        let Some(r) = rendering.get_or_insert_with(renderer).as_ref() else {
            return false;
        };
        let mut repoint =
            |entry: &mut Map<String, Value>, before: &ref_edit::Calls, after: &ref_edit::Calls| {
                before == after
                    || index
                        .as_mut()
                        .is_some_and(|index| index.repoint(id, root, entry, before, after, graph))
            };
        let mut named_alone = |relation_name: &str| {
            crate::artifacts::relation_named_alone(manifest, relation_name).unwrap_or(false)
        };
        let after = render_edit::patch(
            r,
            entry,
            (old, new),
            env_read,
            &mut repoint,
            &mut named_alone,
        );
        let Some(after) = after else {
            return false;
        };
        if let Some(m) = macros.as_mut() {
            m.rendered(id, crate::compile::FileRender::of(&after).as_ref());
        }
        true
    }
}
