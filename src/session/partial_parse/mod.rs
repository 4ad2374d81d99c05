//! Partial parsing, as dbt's `--partial-parse` (on by default): a `parse` whose inputs are all
//! as they were at the last full parse keeps that parse's `manifest.json`, with a new
//! `metadata` for this invocation, instead of parsing again.
//!
//! After a full `parse` that wrote the manifest and warned of nothing, [`save`] records in
//! `target/sluice_partial_parse.json` the fingerprint of its inputs ([`super::fingerprint`]),
//! the stamps (size, modification time, inode) of every file and folder the load looked at,
//! which environment variables `env_var()` read (by checksum of their values), the stamps of the
//! `manifest.json` and `semantic_manifest.json` it wrote, and its counts. [`reuse`] keeps the
//! manifest only if all of that still holds: any other command that writes `manifest.json`, an
//! edit, a new `--vars`, target or environment value, or a rebuilt sluice means a full parse.
//! Equal stamps vouch for unchanged contents, so an unchanged project is told by `stat` alone;
//! when a stamp differs (a file touched but not changed, a fresh checkout), every file is read
//! and compared by content. Files changed within [`RACY_MARGIN`] of the parse never vouch by
//! their stamps (an edit in the same clock tick would keep them).
//!
//! The most common edits patch the manifest instead: the text of a few SQL models (analyses,
//! singular tests) changed outside their Jinja ([`body_edit`]: those nodes' `raw_code` and
//! `checksum` are rewritten in place), and descriptions changed in properties files
//! ([`docs_edit`]: those entries' descriptions are); a model's Jinja edited so that it calls
//! what it called but other refs or sources ([`ref_edit`], [`render_edit`]); a new model file,
//! or one removed that nothing reads ([`added`]: its node and graph lists added or taken out);
//! a macro file edited so that the renders that run it record what they recorded
//! ([`macro_edit`]: the macros' `macro_sql`); a model's, seed's or source's properties entry
//! edited (its tests, config, columns) so that its relation and what it calls stay
//! ([`tests_edit`]: the tests added, removed or rewritten, and the keys of the entries that
//! changed); a docs file's blocks edited ([`docs_block_edit`]); a model disabled or enabled
//! again by its file or its properties entry ([`enabled_edit`]). Any other
//! change (another key of a properties file, a macro a hook runs, another file removed)
//! reparses the whole project (a second at 10,000 models).

mod added;
mod body_edit;
mod docs_block_edit;
mod docs_edit;
mod enabled_edit;
mod entry_changes;
mod macro_edit;
mod macro_text;
mod ref_edit;
mod render_edit;
mod tags;
mod tests_edit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::fingerprint::{
    checksum, env_reads, env_unchanged, inputs_key, settings_key, with_settings,
};
use super::{load_profile_target, profile_name, project_root, LoadOptions, Session};
use crate::artifacts::{self, ArtifactMeta, GraphEdit, GraphMapKind, ListEdit};
use crate::compile::{Manifest, ResourceType};
use crate::project::{self, Project, ProjectConfig, Target};

/// Where the state of the last full parse is kept, in the target folder.
pub(crate) const STATE_FILE: &str = "sluice_partial_parse.json";

/// Bumped when what [`State`] means changes.
const VERSION: u32 = 4;

/// What `parse` reports: how many nodes of each kind the manifest holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ParseSummary {
    pub(crate) nodes: usize,
    pub(crate) models: usize,
    pub(crate) tests: usize,
    pub(crate) seeds: usize,
    pub(crate) sources: usize,
    pub(crate) macros: usize,
}

impl ParseSummary {
    pub(crate) fn of(m: &Manifest) -> Self {
        // (One pass over the nodes for the three counts.)
        let (mut models, mut tests, mut seeds) = (0, 0, 0);
        for n in m.nodes.values() {
            match n.resource_type {
                ResourceType::Model => models += 1,
                ResourceType::Test => tests += 1,
                ResourceType::Seed => seeds += 1,
                _ => {}
            }
        }
        ParseSummary {
            nodes: m.nodes.len() + m.sources.len() + m.unit_tests.len(),
            models,
            tests,
            seeds,
            sources: m.sources.len(),
            macros: m.macros.len(),
        }
    }
}

/// A file as it was when recorded ([`project::FileStamp`]).
type Stamp = project::FileStamp;

/// The state a full parse leaves for the next one.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    version: u32,
    /// The fingerprint of every input, file contents included ([`inputs_key`] under the flags).
    inputs: String,
    /// The fingerprint of every input but the files ([`settings_key`] under the flags).
    settings: String,
    /// The stamps of the files and folders (those too recent to vouch for their contents kept
    /// without one).
    stamps: Stamps,
    /// Each variable `env_var()` read, with the checksum of its value (`None`: unset).
    env: BTreeMap<String, Option<String>>,
    manifest: Stamp,
    semantic_manifest: Option<Stamp>,
    summary: ParseSummary,
}

/// The stamps of what a load depends on ([`project::watched`]): the folders it walks, with every
/// entry under them, and the files it reads outside them. Equal stamps mean the same files with
/// the same contents, so an unchanged project is told without reading it.
#[derive(Debug, Serialize, Deserialize)]
struct Stamps {
    folders: Vec<PathBuf>,
    files: Vec<PathBuf>,
    /// A checksum over every path and its stamp (or its absence).
    key: String,
    /// Each path and its stamp, as the key was made of (kept in [`body_edit`]'s file).
    #[serde(skip)]
    entries: Vec<Entry>,
}

/// A path the load depends on and its stamp (`None`: absent, unreadable, or too recent to vouch).
type Entry = (PathBuf, Option<Stamp>);

impl Stamps {
    /// The stamps of `project`'s inputs as a parse that began at `since` can trust them.
    fn of(project: &Project, since: SystemTime) -> Stamps {
        let project::Watched { folders, files } = project::watched(project);
        let entries = stamp_entries(&folders, &files, Some(project));
        Stamps::from_entries(folders, files, entries, since)
    }

    /// The stamps of `entries` (of the paths `folders` and `files` name) as a parse that began
    /// at `since` can trust them: one changed so recently that an edit made while the parse
    /// read it could keep its stamp is kept without one ([`without_recent`]).
    fn from_entries(
        folders: Vec<PathBuf>,
        files: Vec<PathBuf>,
        mut entries: Vec<Entry>,
        since: SystemTime,
    ) -> Stamps {
        without_recent(&mut entries, since);
        Stamps {
            folders,
            files,
            key: stamp_key(&entries),
            entries,
        }
    }

    /// The stamps of the same paths now.
    fn now(&self) -> Vec<Entry> {
        stamp_entries(&self.folders, &self.files, None)
    }
}

/// How long before a parse a file must have last changed for its stamp to vouch for what the
/// parse read: file systems keep modification times with a coarse clock (a few milliseconds).
const RACY_MARGIN: std::time::Duration = std::time::Duration::from_millis(200);

/// Forgets the stamps of the entries changed within [`RACY_MARGIN`] of `since`: they cannot
/// vouch for what was read (an edit in the same clock tick could keep them), so the next parse
/// finds them changed and reads them.
fn without_recent(entries: &mut [Entry], since: SystemTime) {
    let since = since
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(u128::MAX, |d| d.as_nanos());
    for (_, stamp) in entries {
        if stamp.is_some_and(|s| u128::from(s.modified_ns) + RACY_MARGIN.as_nanos() >= since) {
            *stamp = None;
        }
    }
}

/// The stamps of `files` and of every entry under `folders` (walked as a load walks them, in
/// name order).
fn stamp_entries(folders: &[PathBuf], files: &[PathBuf], known: Option<&Project>) -> Vec<Entry> {
    use crate::project::walk::{self, Walked};
    use rayon::prelude::*;
    // The paths first (the walk reads folders), then their stamps, in parallel.
    let mut paths: Vec<(PathBuf, bool)> = Vec::with_capacity(1024);
    paths.extend(files.iter().map(|f| (f.clone(), true)));
    for dir in folders {
        paths.push((dir.clone(), true));
        if !dir.is_dir() {
            continue;
        }
        for e in walk::entries(dir) {
            match e {
                Walked::Entry { path, .. } => paths.push((path, true)),
                // An unreadable entry never vouches for anything.
                Walked::Unreadable => paths.push((dir.clone(), false)),
            }
        }
    }
    paths
        .into_par_iter()
        .map(|(path, readable)| {
            // A file the load read was stamped as it was opened (`project::FileStamp`): what
            // it read is no older than that stamp.
            let stamp = readable
                .then(|| {
                    known
                        .and_then(|p| p.read_stamp(&path))
                        .or_else(|| Stamp::of(&path))
                })
                .flatten();
            (path, stamp)
        })
        .collect()
}

/// The checksum over `entries`.
fn stamp_key(entries: &[Entry]) -> String {
    let mut text = Vec::with_capacity(64 * 1024);
    for (p, stamp) in entries {
        text.extend_from_slice(p.as_os_str().as_encoded_bytes());
        text.push(0);
        match stamp {
            Some(s) => {
                text.push(1);
                for n in [s.len, s.modified_ns, s.inode] {
                    text.extend_from_slice(&n.to_le_bytes());
                }
            }
            None => text.push(0),
        }
    }
    checksum(&text)
}

/// What a reused parse did.
pub(crate) struct Reused {
    pub(crate) summary: ParseSummary,
    pub(crate) manifest: PathBuf,
    pub(crate) seconds: f64,
    /// What it patched in the manifest (nothing: nothing changed).
    pub(crate) patched: Patched,
}

/// How many edited files a reused parse patched the manifest for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Patched {
    /// SQL files whose text changed outside their Jinja ([`body_edit`]).
    pub(crate) sql: usize,
    /// Seeds whose rows changed ([`body_edit`]: their checksums).
    pub(crate) seeds: usize,
    /// Properties files whose descriptions alone changed ([`docs_edit`]).
    pub(crate) properties: usize,
    /// Model files added ([`added`]).
    pub(crate) added: usize,
    /// Model files removed ([`added`]).
    pub(crate) removed: usize,
    /// Macro files edited ([`macro_edit`]).
    pub(crate) macros: usize,
    /// Properties files whose model or source entries changed ([`tests_edit`]).
    pub(crate) tests: usize,
    /// Docs files whose blocks' text changed ([`docs_block_edit`]).
    pub(crate) docs_files: usize,
    /// Models disabled by their files ([`enabled_edit`]).
    pub(crate) disabled: usize,
    /// Models enabled again by their files ([`enabled_edit`]).
    pub(crate) enabled: usize,
}

/// The command's settings that change what `parse` writes or refuses.
fn flags(opts: &LoadOptions) -> String {
    format!(
        "target_path={:?} full_refresh={} store_failures={} which={} version_check={}",
        opts.target_path, opts.full_refresh, opts.store_failures, opts.which, opts.version_check
    )
}

/// The key of a parse's inputs under `opts`: the fingerprint of what it reads
/// ([`inputs_key`]), with the settings that change what `parse` writes.
fn inputs(opts: &LoadOptions, inputs_key: &str) -> String {
    with_settings(inputs_key, &[&flags(opts)])
}

/// [`inputs`] without the files: [`settings_key`] under the same settings.
fn settings(opts: &LoadOptions, target: &Target) -> String {
    let vars = opts.vars.as_deref().unwrap_or("");
    with_settings(&settings_key(target, vars), &[&flags(opts)])
}

fn target_path(opts: &LoadOptions, config: &ProjectConfig, root: &Path) -> PathBuf {
    root.join(
        opts.target_path
            .clone()
            .unwrap_or_else(|| config.target_path.clone()),
    )
}

/// Keeps the last parse's manifest when nothing it read has changed: rewrites its `metadata`
/// for this invocation and returns the counts that parse reported. `None` when a full parse is
/// needed (nothing has been written then).
///
/// The options of a parse-phase render or parse of a few files for a patch, with `--vars`
/// `vars` (`None` when they do not parse: the full parse reports them).
fn patch_parse_options(
    vars: Option<&str>,
    meta: Option<&ArtifactMeta>,
    skip_dependencies: bool,
) -> Option<crate::compile::ParseOptions> {
    Some(crate::compile::ParseOptions {
        cli_vars: super::parse_vars(vars).ok()?,
        invocation_id: meta.map_or_else(crate::artifacts::new_invocation_id, |m| {
            m.invocation_id.clone()
        }),
        run_started_at: meta.map_or_else(chrono::Utc::now, |m| m.invocation_started_at),
        flags: serde_json::json!({
            "FULL_REFRESH": false, "STORE_FAILURES": false, "WHICH": "parse",
        }),
        skip_dependencies,
    })
}

/// The changes of the graph maps a node `id` added with the parents `parents` makes: its own
/// lists (its parents sorted, each once; no children) and its place in each parent's children.
fn graph_of_new_node(id: &str, mut parents: Vec<String>) -> Vec<GraphEdit> {
    parents.sort();
    parents.dedup();
    let edit = |map, of: &str, edit| GraphEdit {
        map,
        id: of.to_string(),
        edit,
    };
    let mut graph: Vec<GraphEdit> = parents
        .iter()
        .map(|p| {
            edit(
                GraphMapKind::Children,
                p,
                ListEdit::InsertChild(id.to_string()),
            )
        })
        .collect();
    graph.push(edit(GraphMapKind::Parents, id, ListEdit::New(parents)));
    graph.push(edit(GraphMapKind::Children, id, ListEdit::New(Vec::new())));
    graph
}

/// The changes of the graph maps a node `id` removed with the parents `parents` makes beyond
/// its own lists (which go with its entry): its place in each parent's children.
fn graph_of_removed_node<'a>(
    id: &'a str,
    parents: &'a [String],
) -> impl Iterator<Item = GraphEdit> + 'a {
    parents.iter().map(move |p| GraphEdit {
        map: GraphMapKind::Children,
        id: p.clone(),
        edit: ListEdit::Remove(id.to_string()),
    })
}

/// Adds the SQL file at `path`, under one of the model paths of the project at `root`, to
/// `project` as a model's; returns its path from the root (`None`: not under a model path, or
/// unreadable).
fn push_model_file(project: &mut Project, root: &Path, path: &Path) -> Option<String> {
    let in_folder = within(&project.config.model_paths, root, path)?;
    let original_file_path = project::relative(root, path);
    let contents = project::read_text(path, &original_file_path).ok()?;
    project.sql_files.push(project::SqlFile {
        kind: project::FileKind::Model,
        path: in_folder,
        original_file_path: original_file_path.clone(),
        contents,
    });
    Some(original_file_path)
}

/// Adds the seed file at `path` (under the project's seed paths) to `project`, as a load does.
fn push_seed_file(project: &mut Project, root: &Path, path: &Path) -> Option<()> {
    let in_folder = within(&project.config.seed_paths, root, path)?;
    let original_file_path = project::relative(root, path);
    let checksum = project::seed_checksum(path, &original_file_path).ok()?;
    project.seed_files.push(project::SeedFile {
        path: in_folder,
        original_file_path,
        checksum,
    });
    Some(())
}

/// `path` from the first of the project's `folders` (at `root`) it is under.
fn within(folders: &[String], root: &Path, path: &Path) -> Option<String> {
    let folder = folders.iter().find(|f| path.starts_with(root.join(f)))?;
    Some(project::relative(&root.join(folder), path))
}

/// Whether every environment variable this process's templates read is one the last full
/// parse read (`env_read`): a read of another means a full parse, which records it.
fn env_reads_known(env_read: &BTreeMap<String, Option<String>>) -> bool {
    super::fingerprint::env_reads()
        .keys()
        .all(|name| env_read.contains_key(name))
}

/// What a patch needs of the project beyond the files it compares: where it is, the target
/// and `--vars` its files are rendered for (a render, or a parse of a new model).
pub(super) struct PatchContext<'a> {
    pub(super) root: &'a Path,
    pub(super) config: &'a ProjectConfig,
    pub(super) target: &'a crate::project::Target,
    pub(super) vars: Option<&'a str>,
}

/// The stamps of the project's files and folders tell an unchanged project without reading it;
/// when they differ (a file touched, a checkout), every file is read and compared by content.
pub(crate) fn reuse(opts: &LoadOptions) -> Option<Reused> {
    let started = std::time::Instant::now();
    let started_at = chrono::Utc::now();
    let root = project_root(opts.project_dir.as_deref()).ok()?;
    let config = ProjectConfig::load(&root).ok()?;
    let target_path = target_path(opts, &config, &root);
    let state_file = target_path.join(STATE_FILE);
    let mut state: State = serde_json::from_slice(&std::fs::read(&state_file).ok()?).ok()?;
    let manifest = target_path.join("manifest.json");
    let semantic = target_path.join("semantic_manifest.json");
    let artifacts_kept = state.version == VERSION
        && Stamp::of(&manifest) == Some(state.manifest)
        && Stamp::of(&semantic) == state.semantic_manifest
        && env_unchanged(&state.env);
    if !artifacts_kept {
        return None;
    }
    let target = load_profile_target(opts, &root, &profile_name(opts, &config)).ok()?;
    let settings = settings(opts, &target);
    let now = (state.settings == settings).then(|| state.stamps.now());
    let stamped = now
        .as_ref()
        .is_some_and(|now| stamp_key(now) == state.stamps.key);
    crate::timing("partial parse: stamps checked", started);
    let mut meta = ArtifactMeta::new(
        &config.name,
        &target.adapter_type,
        config.target_path.clone(),
    );
    meta.invocation_started_at = started_at;
    meta.project_root = root.clone();
    let patched = match now {
        Some(now) if !stamped => body_edit::patch(
            &target_path,
            &manifest,
            &meta,
            &mut state,
            now,
            started_system_time(started),
            &PatchContext {
                root: &root,
                config: &config,
                target: &target,
                vars: opts.vars.as_deref(),
            },
        ),
        _ => None,
    };
    if let Some(patched) = patched {
        write_state(&state_file, &state);
        crate::timing(
            match patched == Patched::default() {
                true => "partial parse: contents checked",
                false => "partial parse: files patched",
            },
            started,
        );
        return Some(Reused {
            summary: state.summary,
            manifest,
            seconds: started.elapsed().as_secs_f64(),
            patched,
        });
    }
    if !stamped {
        // The properties files are read, not parsed: if they are unchanged, so is what they say.
        let project = project::load_unparsed(&root).ok()?;
        // What a full parse would warn about or refuse, it must report.
        if !project.warnings.is_empty() || opts.version_check && !versions_match(&project) {
            return None;
        }
        let vars = opts.vars.as_deref().unwrap_or("");
        if state.inputs != inputs(opts, &inputs_key(&project, &target, vars)) {
            return None;
        }
        crate::timing("partial parse: contents checked", started);
        state.settings = settings;
        state.stamps = Stamps::of(&project, started_system_time(started));
        body_edit::restamp(&target_path, &state.stamps);
    }
    artifacts::rewrite_manifest_metadata(&manifest, &meta).ok()?;
    state.manifest = Stamp::of(&manifest)?;
    write_state(&state_file, &state);
    crate::timing("partial parse: nothing changed", started);
    Some(Reused {
        summary: state.summary,
        manifest,
        seconds: started.elapsed().as_secs_f64(),
        patched: Patched::default(),
    })
}

/// The wall-clock time at `instant` (earlier in this process).
fn started_system_time(instant: std::time::Instant) -> SystemTime {
    SystemTime::now() - instant.elapsed()
}

fn versions_match(project: &Project) -> bool {
    std::iter::once(project)
        .chain(&project.packages)
        .all(|p| p.config.check_dbt_version().is_ok())
}

/// What [`save`] records of a full parse, taken while its manifest is written (all but the
/// stamps of the artifacts, which [`save`] takes after); nothing when the parse warned.
pub(crate) struct Pending {
    target_path: PathBuf,
    taken: Option<(State, body_edit::Texts)>,
}

/// Takes what [`save`] records of the full parse of `s` (its files' stamps from `started`):
/// call it once every other artifact but the manifest is written.
pub(crate) fn prepare(
    s: &Session,
    opts: &LoadOptions,
    summary: ParseSummary,
    inputs_key: &str,
    started: SystemTime,
) -> Pending {
    let target_path = target_path(opts, &s.project.config, &s.project.root);
    let taken = s.warnings.is_empty().then(|| {
        let mut stamps = Stamps::of(&s.project, started);
        // (The state keeps the stamps' key alone: their entries move into the files text.)
        let entries = std::mem::take(&mut stamps.entries);
        let files = body_edit::files_text(&stamps.key, entries, s);
        tests_edit::save(s, &target_path);
        let state = State {
            version: VERSION,
            inputs: inputs(opts, inputs_key),
            settings: settings(opts, &s.target),
            stamps,
            env: env_reads(),
            manifest: Stamp::default(),
            semantic_manifest: None,
            summary,
        };
        (state, files)
    });
    Pending { target_path, taken }
}

/// Records a full parse ([`prepare`]) once its manifest is written, for the next parse to
/// reuse; or, when it warned or its artifacts cannot be stamped, removes the last record.
pub(crate) fn save(p: Pending) {
    let target_path = &p.target_path;
    let manifest = Stamp::of(&target_path.join("manifest.json"));
    match (p.taken, manifest) {
        (Some((mut state, files)), Some(manifest)) => {
            state.manifest = manifest;
            state.semantic_manifest = Stamp::of(&target_path.join("semantic_manifest.json"));
            body_edit::write_text(target_path, &files);
            write_state(&target_path.join(STATE_FILE), &state);
        }
        _ => forget(target_path),
    }
}

/// A part of a kept record parsed only when a patch reads it ([`Lazy::parsed`]): until then its
/// JSON text, written back as it was read. (Most patches need a few of the parts a full parse
/// keeps; parsing and writing all of them was a fifth of a patch's time on a large project.)
#[derive(Debug)]
pub(super) enum Lazy<T> {
    Text(Box<serde_json::value::RawValue>),
    Value(T),
}

impl<T: serde::de::DeserializeOwned> Lazy<T> {
    /// The part, parsed if it was not (`None` when its text does not parse).
    pub(super) fn parsed(&mut self) -> Option<&mut T> {
        if let Lazy::Text(text) = self {
            *self = Lazy::Value(serde_json::from_str(text.get()).ok()?);
        }
        match self {
            Lazy::Value(value) => Some(value),
            Lazy::Text(_) => None,
        }
    }
}

impl<T: Default> Default for Lazy<T> {
    fn default() -> Self {
        Lazy::Value(T::default())
    }
}

impl<T: Serialize> Serialize for Lazy<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Lazy::Text(text) => text.serialize(s),
            Lazy::Value(value) => value.serialize(s),
        }
    }
}

impl<'de, T> Deserialize<'de> for Lazy<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<serde_json::value::RawValue>::deserialize(d).map(Lazy::Text)
    }
}

/// Reads a map the state keeps in key order (a `BTreeMap` written as JSON) by collecting its
/// entries and building the tree from them at once: inserting the entries one by one compares
/// each key with several others, and comparing paths (component by component) was a tenth of a
/// patch's time at 10,000 models. For `#[serde(deserialize_with = ...)]`.
pub(super) fn sorted_map<'de, D, K, V>(d: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    struct Entries<K, V>(std::marker::PhantomData<(K, V)>);
    impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> serde::de::Visitor<'de>
        for Entries<K, V>
    {
        type Value = BTreeMap<K, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(entry) = map.next_entry()? {
                entries.push(entry);
            }
            // (Already in order: the sort only checks it.)
            Ok(entries.into_iter().collect())
        }
    }
    d.deserialize_map(Entries(std::marker::PhantomData))
}

/// A map by path that the state keeps, read back as [`sorted_map`] reads one (for a map kept
/// as a [`Lazy`] part, which is read by type).
#[derive(Debug, Default, Serialize)]
#[serde(transparent)]
pub(super) struct PathMap<V>(pub(super) BTreeMap<PathBuf, V>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for PathMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        sorted_map(d).map(PathMap)
    }
}

impl<V> std::ops::Deref for PathMap<V> {
    type Target = BTreeMap<PathBuf, V>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<V> std::ops::DerefMut for PathMap<V> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// Removes the record, so the next parse is a full one.
pub(crate) fn forget(target_path: &Path) {
    let _ = std::fs::remove_file(target_path.join(STATE_FILE));
    let _ = std::fs::remove_file(target_path.join(body_edit::FILES_FILE));
    let _ = std::fs::remove_file(target_path.join(docs_block_edit::DOCS_FILE));
}

/// Best effort: a record that cannot be written only costs the next parse its reuse.
fn write_state(path: &Path, state: &State) {
    if let Ok(text) = serde_json::to_string(state) {
        let _ = artifacts::write_text(path, &text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kept map reads back as serde reads it entry by entry: in key order or not, the last
    /// of two equal keys kept.
    #[test]
    fn kept_maps_read_back_as_serde_reads_them() {
        let texts = [
            r#"{"models/a.sql": 1, "models/b/c.sql": 2, "models/b.sql": 3}"#,
            r#"{"z": 1, "a": 2, "m": 3, "a": 4}"#,
            r#"{}"#,
        ];
        for text in texts {
            let by_serde: BTreeMap<PathBuf, u8> = serde_json::from_str(text).unwrap();
            let kept: PathMap<u8> = serde_json::from_str(text).unwrap();
            assert_eq!(kept.0, by_serde, "{text}");
            let mut d = serde_json::Deserializer::from_str(text);
            let sorted: BTreeMap<String, u8> = sorted_map(&mut d).unwrap();
            let by_serde: BTreeMap<String, u8> = serde_json::from_str(text).unwrap();
            assert_eq!(sorted, by_serde, "{text}");
        }
        assert!(serde_json::from_str::<PathMap<u8>>("[1]").is_err());
    }
}
