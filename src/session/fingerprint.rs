//! Fingerprints of what a parse reads, so that work done for one invocation can be reused by
//! the next when nothing it depends on changed: the project's and its packages' files, the
//! profile's target, `--vars`, the environment variables `env_var()` read, and sluice itself.
//! The metrics commands key their cache of relations on [`inputs_key`]; `parse` keys its reuse of
//! the last manifest on it too (see `super::partial_parse`).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::project::{Project, Target};

/// A running SHA-256 of length-prefixed parts (so no two sequences of parts collide).
struct Hasher(Sha256);

impl Hasher {
    fn part(&mut self, s: &[u8]) {
        self.0.update((s.len() as u64).to_le_bytes());
        self.0.update(s);
    }

    fn hex(self) -> String {
        hex(&self.0.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    crate::project::lower_hex(bytes)
}

/// Which sluice this is: its version, and the executable's size and modification time (a
/// rebuilt development binary may parse differently under the same version).
fn sluice_identity(h: &mut Hasher) {
    h.part(env!("CARGO_PKG_VERSION").as_bytes());
    let exe = std::env::current_exe().and_then(std::fs::metadata);
    if let Ok(m) = exe {
        h.part(&m.len().to_le_bytes());
        let modified = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        h.part(&modified.to_le_bytes());
    }
}

/// Every file a project is made of, by path: `dbt_project.yml`, SQL, properties YAML, seeds
/// (by checksum), docs and unit-test fixtures; then each installed package's.
fn project_files(h: &mut Hasher, project: &Project) {
    for p in std::iter::once(project).chain(&project.packages) {
        h.part(p.root.to_string_lossy().as_bytes());
        let config = std::fs::read(p.root.join("dbt_project.yml")).unwrap_or_default();
        h.part(&config);
        for f in &p.sql_files {
            h.part(format!("{:?}", f.kind).as_bytes());
            h.part(f.original_file_path.as_bytes());
            h.part(f.path.as_bytes());
            h.part(f.contents.as_bytes());
        }
        for f in &p.yaml_files {
            h.part(f.original_file_path.as_bytes());
            h.part(f.text.as_bytes());
        }
        for f in &p.seed_files {
            h.part(f.original_file_path.as_bytes());
            h.part(f.path.as_bytes());
            h.part(f.checksum.name.as_bytes());
            h.part(f.checksum.checksum.as_bytes());
        }
        for f in &p.docs_files {
            h.part(f.original_file_path.as_bytes());
            h.part(f.contents.as_bytes());
        }
        for f in &p.fixture_files {
            h.part(f.name.as_bytes());
            h.part(f.format.as_bytes());
            h.part(f.original_file_path.as_bytes());
            h.part(&std::fs::read(p.root.join(&f.original_file_path)).unwrap_or_default());
        }
    }
}

/// A checksum of everything a parse reads apart from the environment: sluice itself, every
/// file of the project and its packages, the target as templates see it (secrets redacted, so a
/// changed password does not count), and `--vars`.
pub(crate) fn inputs_key(project: &Project, target: &Target, vars: &str) -> String {
    let mut h = Hasher(Sha256::new());
    sluice_identity(&mut h);
    project_files(&mut h, project);
    let target = crate::compile::target_value(target);
    h.part(
        serde_json::to_string(&target)
            .unwrap_or_default()
            .as_bytes(),
    );
    h.part(vars.as_bytes());
    h.hex()
}

/// The part of [`inputs_key`] that needs no project file: sluice itself, the target as templates
/// see it and `--vars`.
pub(crate) fn settings_key(target: &Target, vars: &str) -> String {
    let mut h = Hasher(Sha256::new());
    sluice_identity(&mut h);
    let target = crate::compile::target_value(target);
    h.part(
        serde_json::to_string(&target)
            .unwrap_or_default()
            .as_bytes(),
    );
    h.part(vars.as_bytes());
    h.hex()
}

/// [`inputs_key`] narrowed by a caller's own settings (`extra`), without reading the files again.
pub(crate) fn with_settings(inputs_key: &str, extra: &[&str]) -> String {
    let mut h = Hasher(Sha256::new());
    h.part(inputs_key.as_bytes());
    for e in extra {
        h.part(e.as_bytes());
    }
    h.hex()
}

/// The environment variables `env_var()` has read in this process, each with a checksum of
/// the value it found (`None`: unset). Values are never stored, only their checksums.
pub(crate) fn env_reads() -> BTreeMap<String, Option<String>> {
    crate::project::profile::env_reads()
        .into_iter()
        .map(|(name, value)| (name, value.map(|v| value_checksum(&v))))
        .collect()
}

fn value_checksum(value: &str) -> String {
    checksum(value.as_bytes())
}

/// The SHA-256 of `bytes`, in hex.
pub(crate) fn checksum(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Whether every variable in `reads` (from [`env_reads`]) still holds what it held.
pub(crate) fn env_unchanged(reads: &BTreeMap<String, Option<String>>) -> bool {
    reads.iter().all(|(name, was)| {
        let now = std::env::var(name).ok().map(|v| value_checksum(&v));
        &now == was
    })
}
