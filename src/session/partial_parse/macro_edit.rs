//! The partial parse of an edited macro file. In the manifest, a macro is its entry (its
//! `macro_sql` the text of its definition), and otherwise only what the renders of a parse that
//! ran it recorded: a parse-phase render of a node's own file records its `ref`, `source` and
//! `config(...)` calls and the macros it calls, and any macro it runs, at any depth, can change
//! those. So a full parse notes which macro files each node's file render ran
//! ([`crate::compile::FileRender`]) and which ones any other render ran (hooks, configs,
//! generic tests, the naming macros: [`Macros::elsewhere`]).
//!
//! When the edited files define the same macros as before and no other render ran them, and
//! only their text outside Jinja tags changed, reaching every render as output alone
//! ([`macro_text`]: no caller reads it as a value), the callers record what they recorded and
//! are not rendered. Otherwise the
//! nodes whose renders ran them (read from the manifest in one pass) are rendered again with
//! the new macros, in parallel; when each records what the manifest and the last parse say it
//! recorded (the same calls, `config(...)` values and macro files), the edit changed nothing
//! but the macros' own entries, whose `macro_sql` is rewritten. Anything else is a full parse:
//! a macro added, removed or renamed, a file no parse could attribute, a render that fails or
//! records something else, a node that is not a SQL file's (a snapshot, a disabled node), an
//! environment variable no earlier parse read, or another kind of edit in the same parse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::macro_text;
use super::render_edit::{recorded_as, Renderer};
use crate::artifacts::{ArtifactMeta, NodesAddedRemoved};
use crate::compile::FileRender;
use crate::session::Session;

/// What a macro edit's patch needs of the last parse, kept with its files' record.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Macros {
    /// Each macro file of the project and its packages, by path.
    #[serde(deserialize_with = "super::sorted_map")]
    files: BTreeMap<PathBuf, MacroFile>,
    /// What the render of each node's file ran of the macro files, by node id (nodes whose
    /// render ran none left out).
    #[serde(deserialize_with = "super::sorted_map")]
    renders: BTreeMap<String, Render>,
    /// The macro files that renders other than nodes' own files ran; `None`: not known.
    elsewhere: Option<BTreeSet<String>>,
    /// The files of generic tests' macros the parse did not run: they call no `config(`.
    #[serde(default)]
    test_files: BTreeSet<String>,
}

/// A macro file: its template name, the ids of the macros it defines, sorted, and the
/// fingerprint of its tags ([`macro_text::tags_key`]).
#[derive(Debug, Serialize, Deserialize)]
struct MacroFile {
    template: String,
    ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tags: Option<String>,
}

/// What [`FileRender`] keeps, its `config(...)` values by checksum (none when empty).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Render {
    files: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    config: String,
}

impl Render {
    fn of(r: &FileRender) -> Render {
        Render {
            files: r.macro_files.clone(),
            config: match r.config.as_str() {
                "{}" => String::new(),
                c => crate::session::fingerprint::checksum(c.as_bytes()),
            },
        }
    }
}

impl Macros {
    /// What the full parse of `s` says of its macro files and the renders that ran them.
    pub(super) fn of(s: &Session) -> Macros {
        let m = s.manifest();
        let mut files: BTreeMap<PathBuf, MacroFile> = BTreeMap::new();
        for def in m.macros.values() {
            let root = match def.package.as_str() {
                crate::templating::BUILTIN_PACKAGE => continue,
                p if p == m.project_name => &s.project.root,
                p => match m.package_roots.get(p) {
                    Some(root) => root,
                    None => continue,
                },
            };
            let file = files
                .entry(root.join(&def.original_file_path))
                .or_insert_with(|| MacroFile {
                    template: def.template.clone(),
                    ids: Vec::new(),
                    tags: macro_text::tags_key(&def.contents),
                });
            file.ids.push(def.unique_id.clone());
        }
        for file in files.values_mut() {
            file.ids.sort();
        }
        let disabled = m.disabled.values().flatten();
        let renders = m
            .nodes
            .values()
            .map(|n| &**n)
            .chain(disabled)
            .filter_map(|n| Some((n.unique_id.clone(), Render::of(n.file_render.as_deref()?))))
            .collect();
        Macros {
            files,
            renders,
            elsewhere: m.macro_files_elsewhere.clone(),
            test_files: m.test_macro_files.clone(),
        }
    }

    /// Whether `path` is a macro file the last parse knew.
    pub(super) fn knows(&self, path: &Path) -> bool {
        self.files.contains_key(path)
    }

    /// Records what a patch's render of the node `id`'s file ran (`None`: no macro file).
    pub(super) fn rendered(&mut self, id: &str, render: Option<&FileRender>) {
        match render {
            Some(r) => {
                self.renders.insert(id.to_string(), Render::of(r));
            }
            None => {
                self.renders.remove(id);
            }
        }
    }

    /// Adds what a patch's parse of new files said of the macro files.
    pub(super) fn parsed(&mut self, ran: Ran) {
        match (self.elsewhere.as_mut(), ran.elsewhere) {
            (Some(known), Some(files)) => known.extend(files),
            _ => self.elsewhere = None,
        }
        self.test_files.extend(ran.test_files);
    }
}

/// What a parse said of the macro files besides nodes' renders: those it ran elsewhere
/// (`None`: unknown), the generic tests' macros it did not run.
pub(super) struct Ran {
    elsewhere: Option<BTreeSet<String>>,
    test_files: BTreeSet<String>,
}

impl Ran {
    pub(super) fn of(m: &crate::compile::Manifest) -> Ran {
        Ran {
            elsewhere: m.macro_files_elsewhere.clone(),
            test_files: m.test_macro_files.clone(),
        }
    }
}

/// What a caller's render, and the check of what it records, read of its manifest entry.
#[derive(Debug, Deserialize)]
struct Caller {
    unique_id: String,
    name: String,
    package_name: String,
    resource_type: String,
    original_file_path: String,
    config: Map<String, Value>,
    raw_code: String,
    refs: Value,
    sources: Value,
    depends_on: Value,
}

impl Caller {
    /// Its file's text, and the entry with the other fields alone (what
    /// [`Renderer::record`] and [`recorded_as`] read).
    fn split(self) -> (String, Map<String, Value>) {
        let mut m = Map::new();
        for (k, v) in [
            ("unique_id", Value::String(self.unique_id)),
            ("name", Value::String(self.name)),
            ("package_name", Value::String(self.package_name)),
            ("resource_type", Value::String(self.resource_type)),
            ("original_file_path", Value::String(self.original_file_path)),
            ("config", Value::Object(self.config)),
            ("refs", self.refs),
            ("sources", self.sources),
            ("depends_on", self.depends_on),
        ] {
            m.insert(k.to_string(), v);
        }
        (self.raw_code, m)
    }
}

/// Patches the manifest at `manifest` for the macro files `edited` (their new text on disk), as
/// the module says. `models`: each SQL file's node and checksum (the nodes a render can read
/// again); `env_read`: the environment variables the last full parse read. `None` when it did
/// not patch (nothing is written then).
pub(super) fn patch(
    macros: &mut Macros,
    edited: &[PathBuf],
    models: &BTreeMap<PathBuf, (String, String)>,
    at: &super::PatchContext<'_>,
    (manifest, meta): (&Path, &ArtifactMeta),
    env_read: &BTreeMap<String, Option<String>>,
) -> Option<()> {
    let elsewhere = macros.elsewhere.as_ref()?;
    let mut templates = BTreeSet::new();
    // Whether every edited file's tags are as they were (its text alone changed), and each
    // file's new tags.
    let mut text_alone = true;
    let mut new_tags = Vec::with_capacity(edited.len());
    for path in edited {
        let file = macros.files.get(path)?;
        if elsewhere.contains(&file.template) {
            return None;
        }
        let text = std::fs::read_to_string(path).ok()?;
        // A generic test's macro that now calls `config(` is rendered by a parse.
        if macros.test_files.contains(&file.template) && crate::templating::calls_config(&text) {
            return None;
        }
        let tags = macro_text::tags_key(&text);
        text_alone &= tags.is_some() && tags == file.tags;
        new_tags.push(tags);
        templates.insert(file.template.as_str());
    }
    // The new macros (a file that does not compile fails here: the full parse reports it).
    let t = std::time::Instant::now();
    let renderer = Renderer::new(at.root, at.target.clone(), at.vars)?;
    crate::timing("macro edit: macros loaded", t);
    // Each edited macro's new text, the macros it now calls and its parameters.
    let mut new_sql: BTreeMap<String, (String, Vec<String>, Vec<String>)> = BTreeMap::new();
    for defs in renderer.macros().by_package.values() {
        for def in defs.values() {
            if templates.contains(def.template.as_str()) {
                let calls = renderer.macros().dependencies(def);
                new_sql.insert(
                    def.unique_id.clone(),
                    (def.macro_sql.clone(), calls, def.arguments.clone()),
                );
            }
        }
    }
    let defined: BTreeSet<&String> = edited
        .iter()
        .filter_map(|p| macros.files.get(p))
        .flat_map(|f| &f.ids)
        .collect();
    if !new_sql.keys().eq(defined.iter().copied()) {
        return None;
    }
    // The nodes whose renders ran an edited file, all of them SQL files' nodes.
    let callers: BTreeSet<String> = macros
        .renders
        .iter()
        .filter(|(_, r)| r.files.iter().any(|f| templates.contains(f.as_str())))
        .map(|(id, _)| id.clone())
        .collect();
    let file_nodes: BTreeSet<&String> = models.values().map(|(id, _)| id).collect();
    if !callers.iter().all(|id| file_nodes.contains(id)) {
        return None;
    }
    crate::timing("macro edit: callers found", t);
    let output_alone = text_alone && {
        let names = new_sql.keys().filter_map(|id| id.rsplit('.').next());
        let defs = renderer
            .macros()
            .by_package
            .values()
            .flat_map(|defs| defs.values());
        let paths: Vec<&PathBuf> = models
            .iter()
            .filter(|(_, (id, _))| callers.contains(id))
            .map(|(path, _)| path)
            .collect();
        macro_text::Changed::follow(names.map(String::from), defs.map(|d| d.macro_sql.as_str()))
            .is_some_and(|changed| {
                paths.par_iter().all(|p| {
                    std::fs::read_to_string(p).is_ok_and(|text| changed.output_only(&text))
                })
            })
    };
    crate::timing("macro edit: callers' uses read", t);
    if !callers.is_empty() && !output_alone {
        let entries: BTreeMap<String, Caller> =
            crate::artifacts::manifest_entries(manifest, &callers).ok()??;
        crate::timing("macro edit: callers read", t);
        let same = entries.into_par_iter().all(|(id, caller)| {
            let (raw, entry) = caller.split();
            let Some(rec) = renderer.record(&entry, &raw) else {
                return false;
            };
            let render = FileRender::of(&rec).map(|r| Render::of(&r));
            recorded_as(&entry, &rec) && render.as_ref() == macros.renders.get(&id)
        });
        crate::timing("macro edit: callers rendered", t);
        if !same || !super::env_reads_known(env_read) {
            return None;
        }
    }
    let ids: Vec<String> = new_sql.keys().cloned().collect();
    let patched = crate::artifacts::patch_manifest_nodes(
        manifest,
        meta,
        &ids,
        |id, entry| match new_sql.get(id) {
            Some((sql, calls, params)) => {
                // Arguments read from the signature (`validate_macro_args`, no properties
                // entry) that changed: a full parse writes them. (Without the flag a macro
                // with no properties entry lists none.)
                let from_signature = entry.get("patch_path").is_none_or(Value::is_null);
                let written: Vec<&str> = match entry.get("arguments") {
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(|x| x.get("name").and_then(Value::as_str))
                        .collect(),
                    _ => Vec::new(),
                };
                if from_signature
                    && !written.is_empty()
                    && !written
                        .iter()
                        .copied()
                        .eq(params.iter().map(String::as_str))
                {
                    return false;
                }
                entry.insert("macro_sql".into(), Value::String(sql.clone()));
                entry.insert("depends_on".into(), serde_json::json!({ "macros": calls }));
                true
            }
            None => false,
        },
        Vec::new,
        &NodesAddedRemoved::default(),
    );
    if !matches!(patched, Ok(true)) {
        return None;
    }
    for (path, tags) in edited.iter().zip(new_tags) {
        if let Some(file) = macros.files.get_mut(path) {
            file.tags = tags;
        }
    }
    Some(())
}
