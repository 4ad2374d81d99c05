//! The partial parse of a model file added or removed. A new model: a SQL file added under the
//! root project's model paths. Since the last full parse warned of nothing, no properties file
//! describes a model of that name (an entry for a missing model is a warning), so the new node
//! is what a parse of the project's macros and that one file makes: its config from
//! `dbt_project.yml` and its own `config(...)` calls, its relation named by the naming macros,
//! its calls recorded. That parse runs here, once for all the new files (`compile::parse`,
//! their `ref`s and `source`s left unresolved), and [`super::ref_edit::Index`] resolves them; the node's entry, its
//! `parent_map` and `child_map` lists and its parents' are added to the manifest.
//!
//! A full parse instead: a file elsewhere (an analysis, a test, a package's model) or not a
//! `.sql` file, a parse that fails or warns, a node disabled or in a group, a name some node
//! or a disabled node already has, a call that does not resolve, an environment variable no
//! earlier parse read, a project that overrides `ref` or `source`.
//!
//! A removed model: the SQL file of a model of the root project gone. When nothing depends on
//! the model (no node, test, exposure, semantic model or unit test: its `child_map` list is
//! empty), no properties file describes it (that would now be a warning) and it is in no group,
//! a full parse would write the manifest without it and nothing else changed: its entry, its
//! graph lists and its place in its parents' `child_map` lists go. Its name stays taken for a
//! model added later (a disabled node may have it too): that parses in full.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::macro_edit::{Macros, Ran};
use super::ref_edit::{Calls, Index};
use crate::artifacts::{ArtifactMeta, GraphEdit, NodesAddedRemoved};
use crate::compile::{FileRender, ResourceType};

/// The nodes of the model files `added` (parsed alone) and `removed` since the last parse, and
/// the changes of the graph maps they make; `index` and `models` (each SQL file's node and
/// checksum) updated. `None` when one of them cannot be patched (then a full parse).
pub(super) fn added_and_removed(
    at: &super::PatchContext<'_>,
    meta: &ArtifactMeta,
    (added, removed): (&[PathBuf], &[PathBuf]),
    (index, mut macros): (Option<&mut Index>, Option<&mut Macros>),
    models: &mut BTreeMap<PathBuf, (String, String)>,
    env_read: &BTreeMap<String, Option<String>>,
) -> Option<(NodesAddedRemoved, Vec<GraphEdit>)> {
    let mut nodes = NodesAddedRemoved::default();
    let mut graph = Vec::new();
    if added.is_empty() && removed.is_empty() {
        return Some((nodes, graph));
    }
    let index = index?;
    for path in removed {
        let (id, _) = models.remove(path)?;
        if !id.starts_with("model.") {
            return None;
        }
        let parents = index.remove_model(&id)?;
        graph.extend(super::graph_of_removed_node(&id, &parents));
        if let Some(m) = macros.as_deref_mut() {
            m.rendered(&id, None);
        }
        nodes.removed.push(id);
    }
    let new = match added.is_empty() {
        true => Vec::new(),
        false => {
            let (new, ran) = new_models(at, meta, added, env_read)?;
            if let Some(m) = macros.as_deref_mut() {
                m.parsed(ran);
            }
            new
        }
    };
    for (path, (id, mut entry, calls, render)) in added.iter().zip(new) {
        if let Some(m) = macros.as_deref_mut() {
            m.rendered(&id, render.as_deref());
        }
        let name = entry.get("name")?.as_str()?.to_string();
        let parents = index.add_model(&id, &name, &mut entry, &calls)?;
        let sum = entry
            .get("checksum")?
            .get("checksum")?
            .as_str()?
            .to_string();
        models.insert(path.clone(), (id.clone(), sum));
        graph.extend(super::graph_of_new_node(&id, parents));
        nodes.added.push((id, entry));
    }
    Some((nodes, graph))
}

/// A new model: its unique id, its manifest entry (its `depends_on.nodes` still empty), its
/// calls and what its render ran of the macro files.
type NewModel = (String, Map<String, Value>, Calls, Option<Arc<FileRender>>);

/// The new nodes of the SQL files at `paths` in the project at `at.root`, parsed together with
/// the project's macros alone, in the order of `paths`, and what the parse said of the macro
/// files besides their renders; `None` when one of the files is not a new
/// model this can parse alone. `env_read`: the environment variables the last full parse read
/// (the new files may read no other).
fn new_models(
    at: &super::PatchContext<'_>,
    meta: &ArtifactMeta,
    paths: &[PathBuf],
    env_read: &BTreeMap<String, Option<String>>,
) -> Option<(Vec<NewModel>, Ran)> {
    let (root, target, vars) = (at.root, at.target, at.vars);
    let mut project = crate::project::load_macros(root).ok()?;
    let mut original_file_paths = Vec::with_capacity(paths.len());
    for path in paths {
        if path.extension().is_none_or(|e| e != "sql") {
            return None;
        }
        original_file_paths.push(super::push_model_file(&mut project, root, path)?);
    }
    let opts = super::patch_parse_options(vars, Some(meta), true)?;
    let parsed = crate::compile::parse(&project, target, &opts).ok()?;
    let env_known = super::env_reads_known(env_read);
    if !env_known || !parsed.warnings.is_empty() || !project.warnings.is_empty() {
        return None;
    }
    let manifest = &parsed.manifest;
    let json = crate::artifacts::manifest_json(manifest, meta);
    let entries = json.get("nodes")?;
    let mut new = Vec::with_capacity(paths.len());
    for original_file_path in &original_file_paths {
        let mut models = manifest.nodes.values().filter(|n| {
            n.resource_type == ResourceType::Model && n.original_file_path == *original_file_path
        });
        let node = models.next()?;
        if models.next().is_some() {
            return None;
        }
        let entry = entries.get(&node.unique_id)?.as_object()?.clone();
        let calls = Calls::new(node.refs.clone(), node.sources.clone());
        let render = node.file_render.clone();
        new.push((node.unique_id.clone(), entry, calls, render));
    }
    Some((new, Ran::of(manifest)))
}
