//! Partial parsing, as dbt's `--partial-parse` (on by default): a `parse` whose inputs are all
//! as they were at the last full parse keeps that parse's `manifest.json`, with a new
//! `metadata` for this invocation, instead of parsing again.
//!
//! After a full `parse` that wrote the manifest and warned of nothing, [`save`] records in
//! `target/sluice_partial_parse.json` the fingerprint of its inputs ([`super::fingerprint`]),
//! which environment variables `env_var()` read (by checksum of their values), the size, time and
//! inode of the `manifest.json` and `semantic_manifest.json` it wrote, and its counts. [`reuse`]
//! reads every project file again (a changed file is a changed fingerprint), and keeps the
//! manifest only if all of that still holds: any other command that writes `manifest.json`, an
//! edit, a new `--vars`, target or environment value, or a rebuilt sluice means a full parse.
//!
//! Unlike dbt, which reparses only the files that changed, sluice reparses the whole project when
//! anything changed (a full parse of 10,000 models takes about two seconds).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fingerprint::{env_reads, env_unchanged, inputs_key, with_settings};
use super::{load_target, project_root, LoadOptions, Session};
use crate::artifacts::{self, ArtifactMeta};
use crate::compile::{Manifest, ResourceType};
use crate::project::{self, Project};

/// Where the state of the last full parse is kept, in the target folder.
pub(crate) const STATE_FILE: &str = "sluice_partial_parse.json";

/// Bumped when what [`State`] means changes.
const VERSION: u32 = 1;

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
        let count = |t: ResourceType| m.nodes.values().filter(|n| n.resource_type == t).count();
        ParseSummary {
            nodes: m.nodes.len() + m.sources.len() + m.unit_tests.len(),
            models: count(ResourceType::Model),
            tests: count(ResourceType::Test),
            seeds: count(ResourceType::Seed),
            sources: m.sources.len(),
            macros: m.macros.len(),
        }
    }
}

/// A file as it was when recorded: a rewrite (sluice's are a new file renamed into place) changes
/// its inode and time, an edit its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    len: u64,
    modified_ns: u64,
    inode: u64,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        let modified = m
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Stamp {
            len: m.len(),
            modified_ns: u64::try_from(modified.as_nanos()).ok()?,
            inode,
        })
    }
}

/// The state a full parse leaves for the next one.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    version: u32,
    inputs: String,
    /// Each variable `env_var()` read, with the checksum of its value (`None`: unset).
    env: BTreeMap<String, Option<String>>,
    manifest: Stamp,
    semantic_manifest: Option<Stamp>,
    summary: ParseSummary,
}

/// What a reused parse did.
pub(crate) struct Reused {
    pub(crate) summary: ParseSummary,
    pub(crate) manifest: PathBuf,
    pub(crate) seconds: f64,
}

/// The key of a parse's inputs under `opts`: the fingerprint of what it reads
/// ([`inputs_key`]), with the settings that change what `parse` writes.
fn inputs(opts: &LoadOptions, inputs_key: &str) -> String {
    let flags = format!(
        "target_path={:?} full_refresh={} store_failures={} which={}",
        opts.target_path, opts.full_refresh, opts.store_failures, opts.which
    );
    with_settings(inputs_key, &[&flags])
}

fn target_path(opts: &LoadOptions, project: &Project) -> PathBuf {
    project.root.join(
        opts.target_path
            .clone()
            .unwrap_or_else(|| project.config.target_path.clone()),
    )
}

/// Keeps the last parse's manifest when nothing it read has changed: rewrites its `metadata`
/// for this invocation and returns the counts that parse reported. `None` when a full parse is
/// needed (nothing has been written then).
pub(crate) fn reuse(opts: &LoadOptions) -> Option<Reused> {
    let started = std::time::Instant::now();
    let started_at = chrono::Utc::now();
    let root = project_root(opts.project_dir.as_deref()).ok()?;
    // The properties files are read, not parsed: if they are unchanged, so is what they say.
    let project = project::load_unparsed(&root).ok()?;
    crate::timing("partial parse: load", started);
    // What a full parse would warn about or refuse, it must report.
    if !project.warnings.is_empty() || opts.version_check && !versions_match(&project) {
        return None;
    }
    let target = load_target(opts, &root, &project).ok()?;
    let target_path = target_path(opts, &project);
    let state_file = target_path.join(STATE_FILE);
    let mut state: State = serde_json::from_slice(&std::fs::read(&state_file).ok()?).ok()?;
    let manifest = target_path.join("manifest.json");
    let semantic = target_path.join("semantic_manifest.json");
    let unchanged = state.version == VERSION
        && Stamp::of(&manifest) == Some(state.manifest)
        && Stamp::of(&semantic) == state.semantic_manifest
        && env_unchanged(&state.env)
        && state.inputs
            == inputs(
                opts,
                &inputs_key(&project, &target, opts.vars.as_deref().unwrap_or("")),
            );
    crate::timing("partial parse: checked", started);
    if !unchanged {
        return None;
    }
    let mut meta = ArtifactMeta::new(
        &project.config.name,
        &target.adapter_type,
        project.config.target_path.clone(),
    );
    meta.invocation_started_at = started_at;
    meta.project_root = project.root.clone();
    artifacts::rewrite_manifest_metadata(&manifest, &meta).ok()?;
    state.manifest = Stamp::of(&manifest)?;
    write_state(&state_file, &state);
    crate::timing("partial parse: nothing changed", started);
    Some(Reused {
        summary: state.summary,
        manifest,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn versions_match(project: &Project) -> bool {
    std::iter::once(project)
        .chain(&project.packages)
        .all(|p| p.config.check_dbt_version().is_ok())
}

/// Records what the full parse of `s` read (`inputs_key`: [`inputs_key`] of its project, target
/// and `--vars`) and wrote, for the next parse to reuse; forgets any earlier record when `s`
/// warned of something (a reused parse would not repeat the warnings).
pub(crate) fn save(s: &Session, opts: &LoadOptions, summary: ParseSummary, inputs_key: &str) {
    let target_path = target_path(opts, &s.project);
    let state_file = target_path.join(STATE_FILE);
    let state = (s.warnings.is_empty())
        .then(|| {
            Some(State {
                version: VERSION,
                inputs: inputs(opts, inputs_key),
                env: env_reads(),
                manifest: Stamp::of(&target_path.join("manifest.json"))?,
                semantic_manifest: Stamp::of(&target_path.join("semantic_manifest.json")),
                summary,
            })
        })
        .flatten();
    match state {
        Some(state) => write_state(&state_file, &state),
        None => forget(&target_path),
    }
}

/// Removes the record, so the next parse is a full one.
pub(crate) fn forget(target_path: &Path) {
    let _ = std::fs::remove_file(target_path.join(STATE_FILE));
}

/// Best effort: a record that cannot be written only costs the next parse its reuse.
fn write_state(path: &Path, state: &State) {
    if let Ok(text) = serde_json::to_string(state) {
        let _ = artifacts::write_text(path, &text);
    }
}
