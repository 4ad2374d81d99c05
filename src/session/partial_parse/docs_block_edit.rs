//! The partial parse of an edited docs file (`.md`): the text of some of its `{% docs %}` blocks
//! changed, and nothing else. A docs block reaches the manifest as its `docs` entry
//! (`block_contents`) and in the descriptions that call it (`{{ doc('name') }}`, replaced by its
//! text when a parse reads the properties files: `compile::patches::DocsLookup`), and nowhere
//! else. So a full parse keeps every block's text and every description that calls one, with
//! its place in the manifest ([`super::docs_edit::places`]: models, seeds, snapshots,
//! analyses, sources, their tables and columns, of the project and its packages); an edit of
//! a block's text rewrites its `docs` entry and those descriptions, rendered again.
//!
//! A full parse instead: a block added, removed or renamed, a block whose name another block
//! has too, a block some description calls from a place the full parse did not keep (a
//! versioned model, an exposure, a semantic model, a metric, a macro), another kind of edit in
//! the same parse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::docs_edit::{self, DocsEdit, Place};
use crate::artifacts::ArtifactMeta;
use crate::session::Session;

/// Where [`Docs`] is kept, in the target folder.
pub(super) const DOCS_FILE: &str = "sluice_partial_parse_docs.json";

/// What the files record says of the kept [`Docs`]: the docs files, the checksum of the kept
/// text (the record and the file must agree), and the text of each block patched since (by
/// id: the kept file is not written again for a block's edit, only read).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Kept {
    files: BTreeSet<PathBuf>,
    sum: String,
    patched: BTreeMap<String, String>,
}

impl Kept {
    /// Whether `path` is one of the docs files the last full parse read.
    pub(super) fn contains(&self, path: &Path) -> bool {
        self.files.contains(path)
    }
}

/// [`Docs::of`] as the text to keep in [`DOCS_FILE`], and what the files record says of it.
pub(super) fn keep(s: &Session, root: Vec<FileUses>) -> (String, Kept) {
    let docs = Docs::of(s, root);
    let text = serde_json::to_string(&docs).unwrap_or_default();
    let kept = Kept {
        files: docs.files(),
        sum: crate::session::fingerprint::checksum(text.as_bytes()),
        patched: BTreeMap::new(),
    };
    (text, kept)
}

/// [`patch`] with the kept [`Docs`] (when they are what `kept` says, with the blocks patched
/// since); the blocks it changes are added to `kept`.
pub(super) fn patch_kept(
    target_path: &Path,
    kept: &mut Kept,
    edited: &[PathBuf],
    at: (&Path, &ArtifactMeta),
) -> Option<()> {
    let path = target_path.join(DOCS_FILE);
    // Many descriptions call blocks: the manifest is read meanwhile (a patch of many entries
    // reads it whole).
    let many = std::fs::metadata(&path).is_ok_and(|m| m.len() > MANY_USES_BYTES);
    let (read, plan) = rayon::join(
        || {
            many.then(|| crate::artifacts::read_manifest(at.0).ok())
                .flatten()
        },
        || {
            let text = std::fs::read(&path).ok()?;
            if crate::session::fingerprint::checksum(&text) != kept.sum {
                return None;
            }
            let mut docs: Docs = serde_json::from_slice(&text).ok()?;
            for (id, contents) in &kept.patched {
                docs.blocks.get_mut(id)?.contents.clone_from(contents);
            }
            plan(&docs, edited)
        },
    );
    let changed = write(plan?, at, read)?;
    kept.patched.extend(changed);
    Some(())
}

/// The size of a kept docs record above which its patches read the manifest early (about a
/// thousand descriptions that call blocks).
const MANY_USES_BYTES: u64 = 1 << 18;

/// What the patch of a docs file needs of the last parse.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Docs {
    /// Every docs block, by id (a changed block's name is no other block's).
    blocks: BTreeMap<String, Block>,
    /// Every description that calls a block, from a place the patch can write.
    uses: Vec<Use>,
    /// The names of blocks some description calls from elsewhere.
    elsewhere: BTreeSet<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Block {
    name: String,
    file: PathBuf,
    contents: String,
}

/// A description that calls docs blocks: where it lands, and its text as written.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Use {
    place: Place,
    text: String,
}

impl Docs {
    /// What the full parse of `s` says of its docs blocks and the descriptions that call them;
    /// `root`: what [`file_uses`] found in the root project's files.
    fn of(s: &Session, root: Vec<FileUses>) -> Docs {
        let m = s.manifest();
        let root_of = |package: &str| {
            if package == m.project_name {
                Some(&s.project.root)
            } else {
                m.package_roots.get(package)
            }
        };
        let blocks = m
            .docs
            .iter()
            .filter_map(|(id, d)| {
                let block = Block {
                    name: d.name.clone(),
                    file: root_of(&d.package_name)?.join(&d.original_file_path),
                    contents: d.block_contents.clone(),
                };
                Some((id.clone(), block))
            })
            .collect();
        // The packages' properties files that call a block, in parallel, then in order.
        let files: Vec<(&Value, &str)> = (s.project.packages.iter())
            .flat_map(|p| {
                p.yaml_files
                    .iter()
                    .filter(|f| f.text.contains("doc("))
                    .map(|f| (&f.value, p.config.name.as_str()))
            })
            .collect();
        let packages: Vec<FileUses> = files
            .par_iter()
            .map(|(value, package)| {
                let found = docs_edit::places(value, package);
                file_uses(value, found.as_ref().map_or(&[][..], |(_, f)| f))
            })
            .collect();
        let mut docs = Docs {
            blocks,
            uses: Vec::new(),
            elsewhere: BTreeSet::new(),
        };
        for (uses, elsewhere) in root.into_iter().chain(packages) {
            docs.uses.extend(uses);
            docs.elsewhere.extend(elsewhere);
        }
        docs
    }

    /// The docs files the last parse read.
    fn files(&self) -> BTreeSet<PathBuf> {
        self.blocks.values().map(|b| b.file.clone()).collect()
    }
}

/// The descriptions of a properties file that call docs blocks, and the names of the blocks it
/// calls from elsewhere.
pub(super) type FileUses = (Vec<Use>, BTreeSet<String>);

/// The descriptions of a properties file (its YAML `value`, its descriptions' places `found`
/// by [`docs_edit::places`]) that call docs blocks, and the names of the blocks it calls from
/// anywhere else.
pub(super) fn file_uses(value: &Value, found: &[(Place, &str)]) -> FileUses {
    // How many times each name is called anywhere in the file, and from the places found.
    let mut anywhere: BTreeMap<String, usize> = BTreeMap::new();
    count_calls(value, &mut anywhere);
    let mut placed: BTreeMap<String, usize> = BTreeMap::new();
    let mut uses = Vec::new();
    for (place, text) in found {
        let mut names = crate::compile::doc_names(text).peekable();
        if names.peek().is_none() {
            continue;
        }
        for name in names {
            *placed.entry(name.to_string()).or_default() += 1;
        }
        uses.push(Use {
            place: place.clone(),
            text: text.to_string(),
        });
    }
    let elsewhere = anywhere
        .into_iter()
        .filter(|(name, n)| placed.get(name).copied().unwrap_or(0) < *n)
        .map(|(name, _)| name)
        .collect();
    (uses, elsewhere)
}

/// Adds to `counts` the docs blocks every string of `v` calls.
fn count_calls(v: &Value, counts: &mut BTreeMap<String, usize>) {
    match v {
        Value::String(s) if s.contains("doc(") => {
            for name in crate::compile::doc_names(s) {
                *counts.entry(name.to_string()).or_default() += 1;
            }
        }
        Value::Array(items) => items.iter().for_each(|i| count_calls(i, counts)),
        Value::Object(m) => m.values().for_each(|i| count_calls(i, counts)),
        _ => {}
    }
}

/// What the patch of the docs files `edited` (their new text on disk) writes ([`plan`]).
struct Plan {
    /// The changed blocks' new text, by id.
    changed: BTreeMap<String, String>,
    /// The descriptions that call them, rendered again, by the id of their entry.
    edits: BTreeMap<String, DocsEdit>,
}

/// The blocks the docs files `edited` change and the descriptions rendered again, as the module
/// says; `None` when they cannot be patched.
fn plan(docs: &Docs, edited: &[PathBuf]) -> Option<Plan> {
    let t = std::time::Instant::now();
    // Each edited block's id and new text.
    let mut changed: BTreeMap<String, String> = BTreeMap::new();
    for path in edited {
        let text = std::fs::read_to_string(path).ok()?;
        let blocks = crate::compile::docs_blocks(&text);
        let count = blocks.len();
        let new: BTreeMap<String, String> = blocks.into_iter().collect();
        let old: BTreeMap<&String, (&String, &Block)> = docs
            .blocks
            .iter()
            .filter(|(_, b)| b.file == *path)
            .map(|(id, b)| (&b.name, (id, b)))
            .collect();
        // (The same names, none twice.)
        if !new.keys().eq(old.keys().copied()) || count != new.len() {
            return None;
        }
        for (name, contents) in new {
            let (id, block) = old.get(&name)?;
            if block.contents != contents {
                changed.insert((*id).clone(), contents);
            }
        }
    }
    // A changed block's name must be no other block's, and called only from kept places.
    let names: BTreeSet<&str> = changed
        .keys()
        .filter_map(|id| docs.blocks.get(id))
        .map(|b| b.name.as_str())
        .collect();
    let shared = docs
        .blocks
        .iter()
        .filter(|(id, b)| names.contains(b.name.as_str()) && !changed.contains_key(*id))
        .count();
    if shared > 0 || names.iter().any(|n| docs.elsewhere.contains(*n)) {
        return None;
    }
    // Each block's text by its name (the first block of a name, as a parse finds it).
    let mut texts: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for (id, block) in &docs.blocks {
        let text = changed.get(id).unwrap_or(&block.contents);
        texts.entry(block.name.as_str()).or_insert(text.as_str());
    }
    let mut edits: BTreeMap<String, DocsEdit> = BTreeMap::new();
    for u in &docs.uses {
        if crate::compile::doc_names(&u.text).any(|n| names.contains(n)) {
            let text =
                crate::compile::render_docs_with(&u.text, |_, name| texts.get(name).copied());
            docs_edit::describe(&mut edits, u.place.clone(), &text);
        }
    }
    crate::timing("docs edit: descriptions rendered", t);
    Some(Plan { changed, edits })
}

/// Patches the manifest at `manifest` as `plan` says: the changed blocks' new text, by id;
/// `None` when it did not patch (nothing written). `read`: the manifest, when already read.
fn write(
    Plan { changed, edits }: Plan,
    (manifest, meta): (&Path, &ArtifactMeta),
    read: Option<Vec<u8>>,
) -> Option<BTreeMap<String, String>> {
    let t = std::time::Instant::now();
    let ids: Vec<String> = edits.keys().chain(changed.keys()).cloned().collect();
    let sets = |id: &str| match (changed.get(id), edits.get(id)) {
        (Some(contents), _) => Some(vec![(
            vec!["block_contents".to_string()],
            Value::String(contents.clone()),
        )]),
        (None, Some(edit)) => Some(edit.sets()),
        (None, None) => None,
    };
    let patched = crate::artifacts::patch_manifest_paths(manifest, meta, &ids, sets, read);
    crate::timing("docs edit: manifest patched", t);
    matches!(patched, Ok(true)).then_some(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_from_places_a_patch_cannot_write_are_told_apart() {
        let text = "version: 2
models:
  - name: orders
    description: '{{ doc(\"orders\") }}'
    columns:
      - name: id
        description: 'The key. {{ doc(\"key\") }}'
  - name: versioned
    description: '{{ doc(\"key\") }}'
    versions: [{v: 1}]
exposures:
  - name: board
    description: '{{ doc(\"board\") }}'
";
        let value = crate::project::yaml::parse_checked(text, Path::new("m.yml"))
            .unwrap()
            .0;
        let found = docs_edit::places(&value, "shop").unwrap().1;
        let (uses, elsewhere) = file_uses(&value, &found);
        let texts: Vec<&str> = uses.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(
            texts,
            ["{{ doc(\"orders\") }}", "The key. {{ doc(\"key\") }}"]
        );
        // `key` is also called by a versioned model's description, `board` by an exposure's.
        let elsewhere: Vec<&str> = elsewhere.iter().map(String::as_str).collect();
        assert_eq!(elsewhere, ["board", "key"]);
    }
}
