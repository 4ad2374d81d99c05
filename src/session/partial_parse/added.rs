//! The partial parse of a new model: a SQL file added under the root project's model paths,
//! and nothing else changed. Since the last full parse warned of nothing, no properties file
//! describes a model of that name (an entry for a missing model is a warning), so the new node
//! is what a parse of the project's macros and that one file makes: its config from
//! `dbt_project.yml` and its own `config(...)` calls, its relation named by the naming macros,
//! its calls recorded. That parse runs here (`compile::parse`, its `ref`s and `source`s left
//! unresolved), and [`super::ref_edit::Index`] resolves them; the node's entry, its
//! `parent_map` and `child_map` lists and its parents' are added to the manifest.
//!
//! A full parse instead: a file elsewhere (an analysis, a test, a package's model) or not a
//! `.sql` file, a parse that fails or warns, a node disabled, a name some node or a disabled
//! node already has, a call that does not resolve, an environment variable no earlier parse
//! read, a project that overrides `ref` or `source`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::ref_edit::Calls;
use crate::artifacts::ArtifactMeta;
use crate::compile::{ParseOptions, ResourceType};
use crate::project::{FileKind, SqlFile};

/// The new node of the SQL file at `path` in the project at `root`: its unique id, its
/// manifest entry (its `depends_on.nodes` still empty) and its calls; `None` when the file is
/// not a new model this can parse alone. `env_read`: the environment variables the last full
/// parse read (the new file may read no other).
pub(super) fn new_model(
    at: &super::PatchContext<'_>,
    meta: &ArtifactMeta,
    path: &Path,
    env_read: &BTreeMap<String, Option<String>>,
) -> Option<(String, Map<String, Value>, Calls)> {
    let (root, target, vars) = (at.root, at.target, at.vars);
    if path.extension().is_none_or(|e| e != "sql") {
        return None;
    }
    let mut project = crate::project::load_macros(root).ok()?;
    let folder = project
        .config
        .model_paths
        .iter()
        .find(|f| path.starts_with(root.join(f)))?
        .clone();
    let original_file_path = crate::project::relative(root, path);
    let contents = crate::project::read_text(path, &original_file_path).ok()?;
    project.sql_files.push(SqlFile {
        kind: FileKind::Model,
        path: crate::project::relative(&root.join(&folder), path),
        original_file_path: original_file_path.clone(),
        contents,
    });
    let opts = ParseOptions {
        cli_vars: super::super::parse_vars(vars).ok()?,
        invocation_id: meta.invocation_id.clone(),
        run_started_at: meta.invocation_started_at,
        flags: serde_json::json!({
            "FULL_REFRESH": false, "STORE_FAILURES": false, "WHICH": "parse",
        }),
        skip_dependencies: true,
    };
    let parsed = crate::compile::parse(&project, target, &opts).ok()?;
    let env_known = crate::session::fingerprint::env_reads()
        .keys()
        .all(|name| env_read.contains_key(name));
    if !env_known || !parsed.warnings.is_empty() || !project.warnings.is_empty() {
        return None;
    }
    let manifest = &parsed.manifest;
    let mut models = manifest.nodes.values().filter(|n| {
        n.resource_type == ResourceType::Model && n.original_file_path == original_file_path
    });
    let node = models.next()?;
    if models.next().is_some() {
        return None;
    }
    let json = crate::artifacts::manifest_json(manifest, meta);
    let entry = json
        .get("nodes")?
        .get(&node.unique_id)?
        .as_object()?
        .clone();
    let calls = Calls::new(node.refs.clone(), node.sources.clone());
    Some((node.unique_id.clone(), entry, calls))
}
