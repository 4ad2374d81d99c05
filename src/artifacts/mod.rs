//! dbt's JSON artifacts: `manifest.json` (schema v12, [`manifest_json`], read back as
//! [`ManifestDocument`]), `run_results.json` (schema v6, [`RunResults`], both ways),
//! `catalog.json` (schema v1, [`catalog_json`]) and the static documentation site ([`docs`]), plus
//! the atomic file writer they go through ([`write_json`]).
//!
//! Decision: the manifest and catalog writers build `serde_json::Value`s by hand (serde_json's
//! `preserve_order` keeps insertion order) instead of deriving `Serialize` on mirror structs.
//! dbt's key order differs per resource type (a seed has no `refs`, a generic test has four
//! trailing keys, a source is a different shape altogether), and a hand-built object states that
//! order in one readable place per type, where derived structs would need one near-duplicate
//! struct per type. The manifest's `nodes` ([`node_json`]) are most of a large manifest, so they
//! are written through a hand-written `Serialize` (same one place per type, no value tree).
//! `run_results.json` has one shape for every result, so it is one derived type both ways.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::Value;

mod catalog;
pub(crate) mod docs;
mod entry_text;
mod graph_var;
mod manifest;
mod manifest_entries;
mod manifest_patch;
mod manifest_read;
mod node_config;
pub(crate) mod node_json;
mod run_results;
#[cfg(test)]
mod tests;

pub(crate) use catalog::{catalog_json, read_catalog};
pub(crate) use graph_var::set_flat_graph;
#[cfg(test)]
pub(crate) use manifest::manifest_string;
pub(crate) use manifest::{manifest_json, write_manifest};
pub(crate) use manifest_entries::{manifest_entries, manifest_has_any, relation_named_alone};
pub(crate) use manifest_patch::{
    disabled_entries, graph_list, manifest_entries_few, patch_manifest_nodes, patch_manifest_paths,
    read_manifest, rewrite_manifest_metadata, GraphEdit, GraphMapKind, ListEdit, NodesAddedRemoved,
};
pub use manifest_read::{
    DependsOn, FileChecksum, ManifestDocument, ManifestMacro, ManifestMetadata, ManifestNode,
};
pub use run_results::RunResults;
#[cfg(test)]
pub(crate) use run_results::RUN_RESULTS_SCHEMA;
pub(crate) use run_results::{run_results_json, RunResult, RunStatus, Timing};

/// The dbt version sluice reports in artifacts.
pub(crate) use crate::project::DBT_VERSION;

/// Invocation-wide facts shared by every artifact of one command.
#[derive(Debug, Clone)]
pub(crate) struct ArtifactMeta {
    /// A UUID; see [`new_invocation_id`].
    pub(crate) invocation_id: String,
    /// When the artifact is written.
    pub(crate) generated_at: DateTime<Utc>,
    /// When the command started (also used as every node's `created_at`, so output only changes
    /// between invocations, not between nodes).
    pub(crate) invocation_started_at: DateTime<Utc>,
    pub(crate) adapter_type: String,
    pub(crate) project_name: String,
    /// The target path as configured (`target`, relative to the project): prefixes the
    /// manifest's `compiled_path` / `build_path` the way dbt writes them.
    pub(crate) target_path: PathBuf,
    /// Absolute project directory (seeds' `root_path`).
    pub(crate) project_root: PathBuf,
    /// Unique ids of the nodes that were executed by this command (they get a `build_path`).
    pub(crate) built: std::collections::BTreeSet<String>,
}

impl ArtifactMeta {
    pub(crate) fn new(
        project_name: &str,
        adapter_type: &str,
        target_path: impl Into<PathBuf>,
    ) -> Self {
        let now = Utc::now();
        ArtifactMeta {
            invocation_id: new_invocation_id(),
            generated_at: now,
            invocation_started_at: now,
            adapter_type: adapter_type.to_string(),
            project_name: project_name.to_string(),
            target_path: target_path.into(),
            project_root: PathBuf::new(),
            built: Default::default(),
        }
    }
}

/// The `env` of every artifact's metadata: each `DBT_ENV_CUSTOM_ENV_<key>` environment variable,
/// by `<key>`, as dbt records them (sorted by key).
pub(crate) fn metadata_env() -> serde_json::Map<String, serde_json::Value> {
    const PREFIX: &str = "DBT_ENV_CUSTOM_ENV_";
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter_map(|(k, v)| Some((k.strip_prefix(PREFIX)?.to_string(), v)))
        .collect();
    vars.sort();
    vars.into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect()
}

/// A random (version 4 layout) UUID, without a uuid dependency: std's randomly seeded hasher,
/// mixed with the clock and a counter.
pub(crate) fn new_invocation_id() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let word = |salt: u64| {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.finish()
    };
    let (a, b) = (word(1), word(2));
    let hi = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
    let lo = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// dbt's artifact timestamp format: `2024-01-02T03:04:05.678901Z`.
pub(crate) fn format_ts(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Reads an artifact's timestamp: dbt's format, any RFC 3339 time, or one without a zone (UTC).
pub(crate) fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// Serde for artifact timestamps ([`format_ts`] / [`parse_ts`]).
pub(crate) mod timestamp {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_ts(t))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_ts(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a timestamp")))
    }

    /// The same for a timestamp that may be null or missing.
    pub(crate) mod option {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            match Option::<String>::deserialize(d)? {
                None => Ok(None),
                Some(s) => super::super::parse_ts(&s)
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a timestamp"))),
            }
        }
    }
}

/// An artifact that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a {kind} sluice can read: {source}", path.display())]
    Json {
        path: PathBuf,
        kind: &'static str,
        source: serde_json::Error,
    },
}

/// Reads a JSON artifact into its typed form.
fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    kind: &'static str,
) -> Result<T, ArtifactError> {
    let text = std::fs::read(path).map_err(|source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| ArtifactError::Json {
        path: path.to_path_buf(),
        kind,
        source,
    })
}

/// Writes compact JSON (dbt does not indent either) to `path` atomically: into `<path>.tmp`, then renamed
/// over `path`. Creates parent directories.
pub(crate) fn write_json(path: &Path, v: &Value) -> std::io::Result<()> {
    write_text(
        path,
        &serde_json::to_string(v).map_err(std::io::Error::other)?,
    )
}

/// Writes text atomically (`path.tmp`, then rename), creating parent folders.
pub(crate) fn write_text(path: &Path, text: &str) -> std::io::Result<()> {
    write_with(path, |w| w.write_all(text.as_bytes()))
}

/// Writes a file atomically from a writer callback (`path.tmp`, then rename), creating parent
/// folders: for artifacts too large to hold as one string first.
pub(crate) fn write_with(
    path: &Path,
    write: impl FnOnce(&mut manifest::Out) -> std::io::Result<()>,
) -> std::io::Result<()> {
    replace_file(path, |file| {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, file);
        write(&mut buffered)?;
        buffered.into_inner().map_err(|e| e.into_error())?;
        Ok(())
    })
}

/// Replaces the file at `path` with what `write` writes into a new file beside it (`path.tmp`,
/// put in place of `path` once written), creating parent folders: readers see the old file or
/// the new one, never a part.
///
/// Where the system can swap two files in one step (Linux), the new file and the old one are
/// swapped, and the old one, moved aside to `path.old`, is removed on another thread
/// ([`finish_removals`] waits for it). A rename over the old file would remove it before
/// returning: on ext4 that took 20 to 50 ms for a 100 MB manifest, a twentieth of a full
/// parse's time at 10,000 models, spent waiting at the end of every parse.
fn replace_file(
    path: &Path,
    write: impl FnOnce(std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)?;
        }
    }
    let beside = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    let tmp = beside(".tmp");
    if let Err(e) = write(std::fs::File::create(&tmp)?) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if exchange(&tmp, path) {
        // The old file is at `tmp` now: out of the way of the next write, then removed.
        let old = beside(".old");
        match std::fs::rename(&tmp, &old) {
            Ok(()) => remove_later(old),
            Err(_) => remove_later(tmp),
        }
        return Ok(());
    }
    std::fs::rename(&tmp, path)
}

/// Swaps the files at `a` and `b` in one step (Linux's `renameat2` with `RENAME_EXCHANGE`);
/// false when it cannot (another system, a file system without it, or no file at `b`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> bool {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> bool {
    false
}

/// The removals of replaced files still running ([`replace_file`]).
static REMOVALS: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>> =
    std::sync::Mutex::new(Vec::new());

/// Removes the file at `path` on another thread (at once, here, when no thread can be made).
fn remove_later(path: PathBuf) {
    let removing = std::thread::Builder::new()
        .name("remove-replaced".into())
        .spawn({
            let path = path.clone();
            move || {
                let _ = std::fs::remove_file(&path);
            }
        });
    match (removing, REMOVALS.lock()) {
        (Ok(handle), Ok(mut running)) => {
            // (The finished ones are let go: a long-running command replaces files often.)
            running.retain(|h| !h.is_finished());
            running.push(handle);
        }
        (Ok(handle), Err(_)) => {
            let _ = handle.join();
        }
        (Err(_), _) => {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Waits until every replaced artifact is removed (before the process exits, so that none is
/// left behind).
pub(crate) fn finish_removals() {
    let running = REMOVALS
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default();
    for handle in running {
        let _ = handle.join();
    }
}
