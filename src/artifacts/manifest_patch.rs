//! Patching a `manifest.json` that sluice wrote, in place, for a parse that changed little
//! (`session::partial_parse`): its `metadata` rewritten, some node entries edited (whole, or
//! values set at key paths), nodes added and removed with their graph lists. The file is read
//! in pieces, or whole and in parallel when many entries change; an entry that fits where the
//! old one was is written over it, one that grew moves what follows it.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;

use serde::de::IgnoredAny;
use serde_json::{Map, Value};

use super::entry_text::{set_paths, value_spans, RawEntry};
use super::manifest::metadata_of;
use super::ArtifactMeta;

/// The start of every manifest sluice writes: the top-level object, then its `metadata` key.
const HEAD: &[u8] = b"{\"metadata\":";

/// Where the `metadata` of a manifest sluice wrote ends (`nodes` follows it), in its first bytes.
fn metadata_end(bytes: &[u8]) -> std::io::Result<usize> {
    let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a sluice manifest");
    let rest = bytes.strip_prefix(HEAD).ok_or_else(invalid)?;
    let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<IgnoredAny>();
    values.next().ok_or_else(invalid)??;
    let end = HEAD.len() + values.byte_offset();
    if !bytes[end..].starts_with(b",\"nodes\":") {
        return Err(invalid());
    }
    Ok(end)
}

/// Rewrites the `manifest.json` at `path` for a new invocation whose parse found nothing
/// changed: a new `metadata` (from `meta`, which names the project and the adapter) followed by
/// the previous document's every other section, copied as they are (or, when the new metadata
/// is as long as the old, written over it in place). Fails, leaving the file as it was, if the
/// file does not start the way [`write_manifest`] starts a manifest.
pub(crate) fn rewrite_manifest_metadata(path: &Path, meta: &ArtifactMeta) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut old = std::fs::File::open(path)?;
    let mut head = Vec::with_capacity(1 << 16);
    (&mut old).take(1 << 16).read_to_end(&mut head)?;
    let end = metadata_end(&head)?;
    let new_meta = serde_json::to_vec(&metadata_of(&meta.project_name, &meta.adapter_type, meta))?;
    if new_meta.len() == end - HEAD.len() {
        // The same length (the usual case: the new times and invocation id are as long as the
        // old ones): overwritten in place, without copying the rest.
        drop(old);
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.seek(SeekFrom::Start(HEAD.len() as u64))?;
        return file.write_all(&new_meta);
    }
    old.seek(SeekFrom::Start(end as u64))?;
    super::replace_file(path, |mut file| {
        file.write_all(HEAD)?;
        file.write_all(&new_meta)?;
        // File to file: the kernel copies the sections (`copy_file_range` on Linux).
        std::io::copy(&mut old, &mut file).map(|_| ())
    })
}

/// Rewrites some entries of the manifest's `nodes` at `path`, each by `edit` (given the node's
/// id and its entry; `false` when it cannot be patched, and then nothing is written), adds and
/// removes the nodes `nodes` names (a removed node's entry and its graph lists go; it must
/// have no children, no group and no properties entry: that would describe nothing now), then the lists of `parent_map` and `child_map` that `graph`
/// asks for (called after every `edit`, so that what they found can decide it), and the
/// metadata for `meta`. Returns whether it wrote.
/// For a parse that changed only a few nodes, in place: an entry that fits where the old one
/// was (with the blanks after it) is written over it, padded with blanks; one that does not is
/// written with [`slack`] blanks after it, and the rest of the file behind it. Blanks between
/// JSON values change no reader's view.
pub(crate) fn patch_manifest_nodes(
    path: &Path,
    meta: &ArtifactMeta,
    ids: &[String],
    mut edit: impl FnMut(&str, &mut Map<String, Value>) -> bool,
    graph: impl FnOnce() -> Vec<GraphEdit>,
    nodes: &NodesAddedRemoved,
) -> std::io::Result<bool> {
    let edited = |doc: &Document, from: usize| -> std::io::Result<Option<Vec<Span>>> {
        let found = doc.entries(from, ids, |_, bytes| parse_one::<Map<String, Value>>(bytes))?;
        Ok(found
            .into_iter()
            .zip(ids)
            .map(|(found, id)| {
                let (start, end, mut entry) = found?;
                (is_entry_of(&entry, id) && edit(id, &mut entry)).then_some(())?;
                Some((start, end, serde_json::to_vec(&entry).ok()?))
            })
            .collect())
    };
    patch_nodes((path, None), meta, edited, graph, nodes)
}

/// [`patch_manifest_nodes`] for edits that set values in entries: `sets` gives, for a node's
/// id, each value with its path of keys ([`set_paths`]; `None`: the entry cannot be patched).
/// Only the objects on those paths are parsed (down to their keys); every other value's text
/// is copied as it is, and the entries are edited in parallel. (Parsing thousands of entries
/// whole is most of the time of their patch.) `read`: the whole manifest when it was read
/// beforehand ([`read_manifest`], while other work went on).
pub(crate) fn patch_manifest_paths(
    path: &Path,
    meta: &ArtifactMeta,
    ids: &[String],
    sets: impl Fn(&str) -> Option<Vec<(Vec<String>, Value)>> + Sync,
    read: Option<Vec<u8>>,
) -> std::io::Result<bool> {
    let edited = |doc: &Document, from: usize| -> std::io::Result<Option<Vec<Span>>> {
        // Each entry's edits as spans of its text: its values replaced where they are (the
        // entry's end is not needed then), else the entry's text from the first value set on.
        let found = doc.entries(from, ids, |id, bytes| {
            let sets = sets(id)?;
            if let Some(spans) = value_spans(bytes, id, &sets) {
                return Some((0, spans));
            }
            let (len, entry) = RawEntry::read(bytes)?;
            entry.is_of(id).then_some(())?;
            let (kept, tail) = set_paths(&entry, &sets)?;
            let end = len + bytes[len..].iter().take_while(|b| **b == b' ').count();
            Some((len, vec![(kept..end, tail)]))
        })?;
        let spans = found.into_iter().map(|f| {
            let (start, _, edits) = f?;
            Some(
                edits
                    .into_iter()
                    .map(move |(r, new)| (start + r.start, start + r.end, new)),
            )
        });
        Ok(spans
            .collect::<Option<Vec<_>>>()
            .map(|s| s.into_iter().flatten().collect()))
    };
    let none = NodesAddedRemoved::default();
    patch_nodes((path, read), meta, edited, Vec::new, &none)
}

/// The whole manifest at `path`, read in parallel pieces, for [`patch_manifest_paths`].
pub(crate) fn read_manifest(path: &Path) -> std::io::Result<Vec<u8>> {
    Document::open(path, None)?.read_all()
}

/// The list of the node `id` in the `parent_map` or `child_map` (`map`) of the manifest at
/// `path`; `None` when it has none (or the file is not a manifest sluice wrote).
pub(crate) fn graph_list(
    path: &Path,
    map: GraphMapKind,
    id: &str,
) -> std::io::Result<Option<Vec<String>>> {
    let doc = Document::open(path, None)?;
    let (Some(parents), Some(children), Some(groups)) = (
        doc.rfind(b",\"parent_map\":{")?,
        doc.rfind(b",\"child_map\":{")?,
        doc.rfind(b",\"group_map\":{")?,
    ) else {
        return Ok(None);
    };
    let within = match map {
        GraphMapKind::Parents => parents..children,
        GraphMapKind::Children => children..groups,
    };
    let found = doc.value_after::<Vec<String>>(within, id, b'[')?;
    Ok(found.map(|(_, _, list)| list))
}

/// The entries of the few nodes `ids` in the manifest at `path` (each the first `"<id>":{`
/// after its `metadata`), found in one pass over the file without keeping it; `None` when one
/// is missing or does not parse.
pub(crate) fn manifest_entries_few(
    path: &Path,
    ids: &[String],
) -> std::io::Result<Option<BTreeMap<String, Map<String, Value>>>> {
    let doc = Document::open(path, None)?;
    let meta_end = metadata_end(&doc.read_at(0, 1 << 16)?)?;
    let found = doc.entries(meta_end, ids, |_, bytes| {
        parse_one::<Map<String, Value>>(bytes)
    })?;
    Ok(found
        .into_iter()
        .zip(ids)
        .map(|(found, id)| {
            let (_, _, entry) = found?;
            is_entry_of(&entry, id).then(|| (id.clone(), entry))
        })
        .collect())
}

/// The list of disabled nodes of the id `id` in the manifest at `path` (its `disabled` section),
/// and whether some other disabled node is attached to it (a test of it disabled by its own
/// config); `None` when the section lists no node of that id.
pub(crate) fn disabled_entries(
    path: &Path,
    id: &str,
) -> std::io::Result<Option<(Vec<Map<String, Value>>, bool)>> {
    let doc = Document::open(path, None)?;
    let (Some(section), Some(parents)) = (
        doc.rfind(b",\"disabled\":{")?,
        doc.rfind(b",\"parent_map\":{")?,
    ) else {
        return Ok(None);
    };
    let within = section..parents;
    let Some((_, _, list)) = doc.value_after(within.clone(), id, b'[')? else {
        return Ok(None);
    };
    let attached = [&b"\"attached_node\":"[..], &serde_json::to_vec(id)?].concat();
    Ok(Some((list, doc.find(within, &attached)?.is_some())))
}

/// The JSON value `bytes` open with, and how many bytes it takes.
fn parse_one<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Option<(usize, T)> {
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<T>();
    let value = values.next()?.ok()?;
    Some((values.byte_offset(), value))
}

/// Whether `entry` is the manifest entry of the node `id`.
fn is_entry_of(entry: &Map<String, Value>, id: &str) -> bool {
    entry.get("unique_id").and_then(Value::as_str) == Some(id)
}

/// A stretch of a document to be replaced: where it starts, where it ends, and the new text.
type Span = (usize, usize, Vec<u8>);

/// [`patch_manifest_nodes`], with the entries' edits made by `edited` (given the document and
/// where its `nodes` start: their spans, `None` when one cannot be patched).
fn patch_nodes(
    (path, read): (&Path, Option<Vec<u8>>),
    meta: &ArtifactMeta,
    edited: impl FnOnce(&Document, usize) -> std::io::Result<Option<Vec<Span>>>,
    graph: impl FnOnce() -> Vec<GraphEdit>,
    nodes: &NodesAddedRemoved,
) -> std::io::Result<bool> {
    let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a sluice manifest");
    // The file is searched and read in pieces: a patch reads what it looks through, not the
    // whole document.
    let doc = Document::open(path, read)?;
    let meta_end = metadata_end(&doc.read_at(0, 1 << 16)?)?;
    let new_meta = serde_json::to_vec(&metadata_of(&meta.project_name, &meta.adapter_type, meta))?;
    if new_meta.len() != meta_end - HEAD.len() {
        return Ok(false);
    }
    // Each entry is the first `"<id>":{` after the metadata: `nodes` comes first, and elsewhere
    // an id is a value or a key of a list (`parent_map`). (start, end with the blanks after it,
    // the new entry.)
    let mut spans: Vec<Span> = Vec::new();
    spans.push((HEAD.len(), meta_end, new_meta));
    let Some(edited) = edited(&doc, meta_end)? else {
        return Ok(false);
    };
    spans.extend(edited);
    // A new node is written first in `nodes` (readers do not depend on the order of keys).
    let nodes_open = meta_end + b",\"nodes\":{".len();
    for (id, entry) in nodes.added.iter().chain(&nodes.enabled) {
        if doc.opens_empty(nodes_open)? {
            return Ok(false);
        }
        let mut bytes = key(id)?;
        bytes.extend(serde_json::to_vec(entry)?);
        bytes.push(b',');
        spans.push((nodes_open, nodes_open, bytes));
    }
    // A removed node's entry goes, with the comma that joined it to the next one (or to the
    // one before, when it was the last); blanks are written where it was.
    for id in &nodes.removed {
        let Some(removal) = doc.removal::<Map<String, Value>>(meta_end..doc.len, id, b'{')? else {
            return Ok(false);
        };
        let entry = &removal.value;
        let grouped = entry
            .get("config")
            .and_then(|c| c.get("group"))
            .is_some_and(|g| !g.is_null());
        let described = entry.get("patch_path").is_some_and(|p| !p.is_null());
        if entry.get("unique_id").and_then(Value::as_str) != Some(id.as_str())
            || grouped
            || described
        {
            return Ok(false);
        }
        spans.push((removal.start, removal.end, Vec::new()));
    }
    if !nodes.disabled.is_empty() || !nodes.enabled.is_empty() {
        // A disabled node's entry goes from `nodes` and is written first in `disabled` (a list
        // of one: no disabled node has its id yet).
        let (Some(section), Some(parents)) = (
            doc.rfind(b",\"disabled\":{")?,
            doc.rfind(b",\"parent_map\":{")?,
        ) else {
            return Ok(false);
        };
        let open = section + b",\"disabled\":{".len();
        if !(meta_end < section && open < parents) {
            return Ok(false);
        }
        let empty = doc.opens_empty(open)?;
        for (i, (id, entry)) in nodes.disabled.iter().enumerate() {
            let Some(removal) = doc.removal::<IgnoredAny>(meta_end..section, id, b'{')? else {
                return Ok(false);
            };
            if doc
                .value_after::<IgnoredAny>(open..parents, id, b'[')?
                .is_some()
            {
                return Ok(false);
            }
            spans.push((removal.start, removal.end, Vec::new()));
            let mut bytes = key(id)?;
            bytes.push(b'[');
            bytes.extend(serde_json::to_vec(entry)?);
            bytes.push(b']');
            if !(empty && i == nodes.disabled.len() - 1) {
                bytes.push(b',');
            }
            spans.push((open, open, bytes));
        }
        for (id, _) in &nodes.enabled {
            let Some(removal) = doc.removal::<Vec<IgnoredAny>>(open..parents, id, b'[')? else {
                return Ok(false);
            };
            if removal.value.len() != 1 {
                return Ok(false);
            }
            spans.push((removal.start, removal.end, Vec::new()));
        }
    }
    let lists = graph();
    let moved = nodes
        .removed
        .iter()
        .chain(nodes.disabled.iter().map(|(id, _)| id));
    if !lists.is_empty() || moved.clone().next().is_some() {
        // The graph maps come late in the document, in this order (a key with a quote before
        // it is a key: a string holds its quotes escaped).
        let (Some(parents), Some(children), Some(groups)) = (
            doc.rfind(b",\"parent_map\":{")?,
            doc.rfind(b",\"child_map\":{")?,
            doc.rfind(b",\"group_map\":{")?,
        ) else {
            return Ok(false);
        };
        if !(meta_end < parents && parents < children && children < groups) {
            return Ok(false);
        }
        // A removed node's lists (its children's must be empty), a disabled node's.
        for id in moved {
            let Some(parents) = doc.removal::<Vec<String>>(parents..children, id, b'[')? else {
                return Ok(false);
            };
            let Some(children) = doc.removal::<Vec<String>>(children..groups, id, b'[')? else {
                return Ok(false);
            };
            if !children.value.is_empty() && nodes.removed.contains(id) {
                return Ok(false);
            }
            spans.push((parents.start, parents.end, Vec::new()));
            spans.push((children.start, children.end, Vec::new()));
        }
        // The edits of one list are applied together, in order (two models' edits may both
        // change a parent's children).
        let mut grouped: Vec<(GraphMapKind, String, Vec<ListEdit>)> = Vec::new();
        for GraphEdit { map, id, edit } in lists {
            match grouped.iter_mut().find(|(m, i, _)| *m == map && *i == id) {
                Some((_, _, edits)) => edits.push(edit),
                None => grouped.push((map, id, vec![edit])),
            }
        }
        for (map, id, edits) in grouped {
            let (within, key_len) = match map {
                GraphMapKind::Parents => (parents..children, b",\"parent_map\":{".len()),
                GraphMapKind::Children => (children..groups, b",\"child_map\":{".len()),
            };
            if let Some(ListEdit::New(_)) = edits.first() {
                // A new node's list (with what later edits make of it): first in its map.
                let mut list = Vec::new();
                for edit in edits {
                    edit.apply(&mut list);
                }
                let open = within.start + key_len;
                if doc.opens_empty(open)? {
                    return Ok(false);
                }
                let mut bytes = key(&id)?;
                bytes.extend(serde_json::to_vec(&list)?);
                bytes.push(b',');
                spans.push((open, open, bytes));
                continue;
            }
            let Some((start, end, mut list)) = doc.value_after::<Vec<String>>(within, &id, b'[')?
            else {
                return Ok(false);
            };
            for edit in edits {
                edit.apply(&mut list);
            }
            spans.push((start, end, serde_json::to_vec(&list)?));
        }
    }
    // (An insertion before an entry that starts where it is inserted comes first.)
    spans.sort_by_key(|s| (s.0, s.1));
    if spans.windows(2).any(|w| w[0].1 > w[1].0) {
        return Err(invalid());
    }
    // An entry that fits where the old one was is written over it, padded with blanks; one that
    // does not is written with [`slack`] blanks after it (so that its next edits fit in place),
    // and what follows it moves. Blanks between JSON values change no reader's view.
    let sizes: Vec<usize> = spans
        .iter()
        .map(|(start, end, new)| match new.len() > end - start {
            true => new.len() + slack(new.len()),
            false => end - start,
        })
        .collect();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    // How far the text after each entry moves.
    let mut shift = 0;
    let mut shifts = Vec::with_capacity(spans.len());
    for ((start, end, _), size) in spans.iter().zip(&sizes) {
        shift += size - (end - start);
        shifts.push(shift);
    }
    if shift > 0 {
        // The stretches between entries, the last first, each from its end backwards: a piece
        // is read before anything is written over it.
        file.set_len((doc.len + shift) as u64)?;
        let mut piece = vec![0u8; PIECE];
        for (i, (_, end, _)) in spans.iter().enumerate().rev() {
            let by = shifts[i];
            let until = spans.get(i + 1).map_or(doc.len, |s| s.0);
            let mut hi = until;
            while by > 0 && hi > *end {
                let lo = hi.saturating_sub(PIECE).max(*end);
                let buf = &mut piece[..hi - lo];
                file.read_exact_at(buf, lo as u64)?;
                file.write_all_at(buf, (lo + by) as u64)?;
                hi = lo;
            }
        }
    }
    match doc.whole.take().filter(|_| shift == 0) {
        Some(whole) => write_in_place(&file, &whole, &spans)?,
        None => {
            let mut bytes = Vec::new();
            for (i, ((start, _, new), size)) in spans.iter().zip(&sizes).enumerate() {
                let at = start + if i == 0 { 0 } else { shifts[i - 1] };
                bytes.clear();
                bytes.extend_from_slice(new);
                bytes.resize(*size, b' ');
                file.write_all_at(&bytes, at as u64)?;
            }
        }
    }
    Ok(true)
}

/// Writes `spans` that each fit where they replace text of `whole` (the file's text, which
/// stays as long): spans close together are written as one stretch, with the text between
/// them copied from `whole` (one write of a megabyte, not a thousand of a kilobyte each).
fn write_in_place(file: &std::fs::File, whole: &[u8], spans: &[Span]) -> std::io::Result<()> {
    // How far apart two spans written together may be, and how long a stretch may grow.
    const GAP: usize = 4 << 10;
    const STRETCH: usize = 1 << 20;
    let mut stretch: Vec<u8> = Vec::with_capacity(STRETCH + GAP);
    // Where the stretch starts and ends in the file.
    let (mut from, mut to) = (0, 0);
    for (start, end, new) in spans {
        if stretch.is_empty() || start - to > GAP || stretch.len() >= STRETCH {
            if !stretch.is_empty() {
                file.write_all_at(&stretch, from as u64)?;
                stretch.clear();
            }
            from = *start;
        } else {
            stretch.extend_from_slice(&whole[to..*start]);
        }
        stretch.extend_from_slice(new);
        stretch.resize(stretch.len() + (end - start - new.len()), b' ');
        to = *end;
    }
    if !stretch.is_empty() {
        file.write_all_at(&stretch, from as u64)?;
    }
    Ok(())
}

/// `"<id>":` and the first byte of its value (`{` or `[`), as a key is written before it.
fn key_opening(id: &str, open: u8) -> std::io::Result<Vec<u8>> {
    let mut needle = key(id)?;
    needle.push(open);
    Ok(needle)
}

/// `"<id>":`, as a key is written.
fn key(id: &str) -> std::io::Result<Vec<u8>> {
    let mut k = serde_json::to_vec(id)?;
    k.push(b':');
    Ok(k)
}

/// The nodes a patch adds (each id with its entry) and removes (by id), and those it moves
/// from `nodes` to `disabled` and back (each id with its entry as it is now). A disabled
/// node's entry and graph lists go from `nodes` and the graph maps, as a removed node's, and
/// its entry is added to `disabled`; unlike a removed node's, its `child_map` list need not be
/// empty: the caller rewrites its children (tests, which a disabled parent disables) and their
/// lists. An enabled node's list in `disabled` (of its one entry) goes and its entry is added
/// to `nodes`, as an added node's; its graph lists are the caller's to add.
#[derive(Debug, Default)]
pub(crate) struct NodesAddedRemoved {
    pub(crate) added: Vec<(String, Map<String, Value>)>,
    pub(crate) removed: Vec<String>,
    pub(crate) disabled: Vec<(String, Map<String, Value>)>,
    pub(crate) enabled: Vec<(String, Map<String, Value>)>,
}

/// An entry of a map to be removed: its key, its value and the comma that joins it to a
/// neighbour span `start..end`.
struct Removal<T> {
    start: usize,
    end: usize,
    value: T,
}

/// A manifest on disk, read in pieces.
struct Document {
    file: std::fs::File,
    len: usize,
    /// The whole document, when it was read before it was opened or once it was read whole
    /// (taken by whoever reads it).
    whole: std::cell::Cell<Option<Vec<u8>>>,
}

/// How much of a [`Document`] one read takes.
const PIECE: usize = 1 << 20;

impl Document {
    /// The document at `path`; `whole`: its text, read earlier (ignored unless it is as long as
    /// the file: nothing else writes a manifest while sluice patches it).
    fn open(path: &Path, whole: Option<Vec<u8>>) -> std::io::Result<Document> {
        let file = std::fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
        let whole = whole.filter(|w| w.len() == len);
        Ok(Document {
            file,
            len,
            whole: std::cell::Cell::new(whole),
        })
    }

    /// Up to `n` bytes from `at` (fewer at the end of the file).
    /// Whether the map whose first key would be at `at` is empty: its `}` next, after any
    /// blanks (a patch leaves blanks where it removed a map's last entry).
    fn opens_empty(&self, at: usize) -> std::io::Result<bool> {
        let mut from = at;
        loop {
            let piece = self.read_at(from, 1 << 12)?;
            match piece.iter().find(|b| **b != b' ') {
                Some(b) => return Ok(*b == b'}'),
                None if piece.is_empty() => return Ok(false),
                None => from += piece.len(),
            }
        }
    }

    fn read_at(&self, at: usize, n: usize) -> std::io::Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = &self.file;
        f.seek(SeekFrom::Start(at as u64))?;
        let mut buf = Vec::with_capacity(n.min(self.len.saturating_sub(at)));
        f.take(n as u64).read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// Where `needle` first occurs within `within`.
    /// Where each of `needles` first occurs within `within`, in one pass over it.
    fn find_each(
        &self,
        within: std::ops::Range<usize>,
        needles: &[Vec<u8>],
    ) -> std::io::Result<Vec<Option<usize>>> {
        let finders: Vec<memchr::memmem::Finder> =
            needles.iter().map(memchr::memmem::Finder::new).collect();
        let longest = needles.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let mut found = vec![None; needles.len()];
        let mut at = within.start;
        while at < within.end && found.iter().any(Option::is_none) {
            let piece = self.read_at(at, (within.end - at).min(PIECE))?;
            for (finder, place) in finders.iter().zip(found.iter_mut()) {
                if place.is_none() {
                    *place = finder.find(&piece).map(|i| at + i);
                }
            }
            if piece.len() < longest || at + piece.len() >= within.end {
                break;
            }
            // The next piece overlaps this one by the longest needle's length less one.
            at += piece.len() + 1 - longest;
        }
        Ok(found)
    }

    fn find(
        &self,
        within: std::ops::Range<usize>,
        needle: &[u8],
    ) -> std::io::Result<Option<usize>> {
        let finder = memchr::memmem::Finder::new(needle);
        let mut at = within.start;
        while at < within.end {
            let piece = self.read_at(at, (within.end - at).min(PIECE))?;
            if let Some(i) = finder.find(&piece) {
                return Ok(Some(at + i));
            }
            if piece.len() < needle.len() || at + piece.len() >= within.end {
                return Ok(None);
            }
            // The next piece overlaps this one by the needle's length less one.
            at += piece.len() + 1 - needle.len();
        }
        Ok(None)
    }

    /// Where `needle` last occurs.
    fn rfind(&self, needle: &[u8]) -> std::io::Result<Option<usize>> {
        let finder = memchr::memmem::FinderRev::new(needle);
        let mut end = self.len;
        while end > 0 {
            let at = end.saturating_sub(PIECE);
            let piece = self.read_at(at, end - at)?;
            if let Some(i) = finder.rfind(&piece) {
                return Ok(Some(at + i));
            }
            if at == 0 {
                return Ok(None);
            }
            end = at + needle.len() - 1;
        }
        Ok(None)
    }

    /// The value of the first `"<id>":` within `within` whose value opens with `open` (`{` or
    /// `[`): where it starts, where it ends with the blanks after it, and the value.
    fn value_after<T: serde::de::DeserializeOwned>(
        &self,
        within: std::ops::Range<usize>,
        id: &str,
        open: u8,
    ) -> std::io::Result<Option<(usize, usize, T)>> {
        let needle = key_opening(id, open)?;
        let Some(at) = self.find(within.clone(), &needle)? else {
            return Ok(None);
        };
        self.value_at(at + needle.len() - 1, within.end)
    }

    /// The value that starts at `start` and ends before `end`: where it starts, where it ends
    /// with the blanks after it, and the value.
    fn value_at<T: serde::de::DeserializeOwned>(
        &self,
        start: usize,
        end_before: usize,
    ) -> std::io::Result<Option<(usize, usize, T)>> {
        // Read enough to hold the value and the blanks after it (more, while it does not).
        let mut n = 1 << 16;
        loop {
            let bytes = self.read_at(start, n)?;
            let mut values = serde_json::Deserializer::from_slice(&bytes).into_iter::<T>();
            match values.next() {
                Some(Ok(value)) => {
                    let mut end = values.byte_offset();
                    while bytes.get(end) == Some(&b' ') {
                        end += 1;
                    }
                    if end == bytes.len() && start + end < self.len {
                        // Blanks up to the end of what was read: there may be more.
                        n *= 2;
                        continue;
                    }
                    if start + end > end_before {
                        return Ok(None);
                    }
                    return Ok(Some((start, start + end, value)));
                }
                Some(Err(e)) if e.is_eof() && start + bytes.len() < self.len => n *= 2,
                _ => return Ok(None),
            }
        }
    }
}

/// How many entries [`patch_manifest_nodes`] looks for in one pass over pieces of the file (more
/// are looked for in the file read whole, in parallel).
const MANY: usize = 16;

impl Document {
    /// Each of the entries `ids` (the maps of `"<id>":{` after `from`) given to `then` (its
    /// text, perhaps with more after it; it returns how long the value is, and what it made of
    /// it): where it starts and ends, with the blanks after it. A few are looked for one by one;
    /// many in one pass over the whole document read at once, and made in parallel (a search
    /// per id would read the file once per id).
    fn entries<R: Send>(
        &self,
        from: usize,
        ids: &[String],
        then: impl Fn(&str, &[u8]) -> Option<(usize, R)> + Sync,
    ) -> std::io::Result<Vec<Option<(usize, usize, R)>>> {
        if ids.len() <= MANY {
            // Found in one pass over the file, then each read where it is.
            let needles = ids
                .iter()
                .map(|id| key_opening(id, b'{'))
                .collect::<std::io::Result<Vec<_>>>()?;
            let places = self.find_each(from..self.len, &needles)?;
            return ids
                .iter()
                .zip(places.iter().zip(&needles))
                .map(|(id, (place, needle))| {
                    let Some(at) = place else {
                        return Ok(None);
                    };
                    let found = self.value_at::<IgnoredAny>(at + needle.len() - 1, self.len)?;
                    let Some((start, end, _)) = found else {
                        return Ok(None);
                    };
                    let bytes = self.read_at(start, end - start)?;
                    Ok(then(id, &bytes).map(|(_, made)| (start, end, made)))
                })
                .collect();
        }
        use rayon::prelude::*;
        let buf = self.read_all()?;
        let starts = super::manifest_entries::map_starts(&buf, from, ids);
        let found = ids
            .par_iter()
            .map(|id| {
                let start = *starts.get(id.as_str())?;
                let (len, made) = then(id, &buf[start..])?;
                let mut end = start + len;
                while buf.get(end) == Some(&b' ') {
                    end += 1;
                }
                Some((start, end, made))
            })
            .collect();
        // Kept for writing the entries back ([`write_in_place`]).
        self.whole.set(Some(buf));
        Ok(found)
    }

    /// The whole document, its pieces read in parallel (reading a large file is mostly the
    /// kernel copying it into fresh memory, which two threads do in about half the time).
    fn read_all(&self) -> std::io::Result<Vec<u8>> {
        use rayon::prelude::*;
        if let Some(whole) = self.whole.take() {
            return Ok(whole);
        }
        let file = &self.file;
        let mut buf = vec![0u8; self.len];
        buf.par_chunks_mut(4 * PIECE)
            .enumerate()
            .try_for_each(|(i, piece)| file.read_exact_at(piece, (i * 4 * PIECE) as u64))?;
        Ok(buf)
    }
}

impl Document {
    /// The entry `"<id>":` of the first value within `within` that opens with `open`, with the
    /// comma after it (or, when it is the last of its map, the one before it).
    fn removal<T: serde::de::DeserializeOwned>(
        &self,
        within: std::ops::Range<usize>,
        id: &str,
        open: u8,
    ) -> std::io::Result<Option<Removal<T>>> {
        let Some((start, end, value)) = self.value_after::<T>(within, id, open)? else {
            return Ok(None);
        };
        let key_start = start - serde_json::to_vec(id)?.len() - 1;
        let after = self.read_at(end, 1)?;
        let before = self.read_at(key_start.saturating_sub(1), 1)?;
        let (start, end) = match (after.as_slice(), before.as_slice()) {
            (b",", _) => (key_start, end + 1),
            (b"}", b",") => (key_start - 1, end),
            (b"}", b"{") => (key_start, end),
            _ => return Ok(None),
        };
        Ok(Some(Removal { start, end, value }))
    }
}

/// The blanks left after a patched entry of `len` bytes that grew, so that its next edits fit in
/// place: a quarter of it, and at least 256 (more would make the next patch of many entries
/// read and write that much more).
fn slack(len: usize) -> usize {
    (len / 4).max(256)
}

/// Which of the manifest's graph maps a [`GraphEdit`] changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GraphMapKind {
    Parents,
    Children,
}

/// A change of one node's list in `parent_map` or `child_map`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GraphEdit {
    pub(crate) map: GraphMapKind,
    pub(crate) id: String,
    pub(crate) edit: ListEdit,
}

/// How a graph map's list changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListEdit {
    /// The whole list (a node's parents: sorted, each once).
    Set(Vec<String>),
    /// A new child, where [`graph_maps`] puts it: in id order.
    InsertChild(String),
    /// A child no longer.
    Remove(String),
    /// The list of a node the map did not have.
    New(Vec<String>),
}

impl ListEdit {
    fn apply(self, list: &mut Vec<String>) {
        match self {
            ListEdit::Set(l) => *list = l,
            ListEdit::InsertChild(id) => {
                if !list.contains(&id) {
                    let at = list.partition_point(|c| c.as_str() < id.as_str());
                    list.insert(at, id);
                }
            }
            ListEdit::Remove(id) => list.retain(|c| *c != id),
            ListEdit::New(l) => *list = l,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    type Found = Option<(usize, usize, Map<String, Value>)>;

    /// The entries `ids` of `doc` as [`Document::entries`] finds them, each asserted equal to
    /// what a search for that id alone finds.
    fn entries_as_searched_one_by_one(doc: &Document, ids: &[String]) -> Vec<Found> {
        let found = doc
            .entries(0, ids, |_, bytes| parse_one::<Map<String, Value>>(bytes))
            .unwrap();
        for (id, entry) in ids.iter().zip(&found) {
            let one = doc
                .value_after::<Map<String, Value>>(0..doc.len, id, b'{')
                .unwrap();
            assert_eq!(entry, &one, "{id}");
        }
        found
    }

    #[test]
    fn many_entries_are_found_as_one_by_one_searches_find_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        let mut nodes = Map::new();
        for i in 0..40 {
            let id = format!("model.p.m{i}");
            // An id as a value (a dependency) before its own entry: not an entry.
            let before = format!("model.p.m{}", i + 1);
            nodes.insert(
                id.clone(),
                json!({"unique_id": id, "depends_on": {"nodes": [before]}, "x": "\":{"}),
            );
        }
        let doc = json!({"metadata": {}, "nodes": nodes, "child_map": {"model.p.m3": []}});
        // Blanks a patch left after an entry.
        let text = serde_json::to_string(&doc).unwrap().replacen(
            "},\"model.p.m12\"",
            "}   ,\"model.p.m12\"",
            1,
        );
        std::fs::write(&path, text).unwrap();
        let doc = Document::open(&path, None).unwrap();
        let ids: Vec<String> = (0..40)
            .map(|i| format!("model.p.m{i}"))
            .chain(["model.p.none".to_string()])
            .collect();
        let many = entries_as_searched_one_by_one(&doc, &ids);
        assert!(many[11]
            .as_ref()
            .is_some_and(|(_, end, _)| { doc.read_at(*end - 1, 2).unwrap() == b" ," }));
        assert!(many[40].is_none());
    }

    #[test]
    fn a_few_entries_are_found_in_one_pass_as_one_by_one_searches_find_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        // Entries of uneven sizes spread over several pieces of the file, so that keys fall
        // across the ends of pieces; each id also a value before its own entry.
        let mut nodes = Map::new();
        for i in 0..12 {
            let id = format!("model.p.m{i}");
            let pad = "x".repeat(PIECE / 3 + 7919 * i);
            let before = format!("model.p.m{}", i + 1);
            nodes.insert(
                id.clone(),
                json!({"unique_id": id, "depends_on": {"nodes": [before]}, "pad": pad}),
            );
        }
        let doc = json!({"metadata": {}, "nodes": nodes});
        std::fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
        let doc = Document::open(&path, None).unwrap();
        assert!(doc.len > 4 * PIECE);
        let ids: Vec<String> = [11, 0, 7, 3, 5, 9, 1]
            .iter()
            .map(|i| format!("model.p.m{i}"))
            .chain(["model.p.none".to_string()])
            .collect();
        let few = entries_as_searched_one_by_one(&doc, &ids);
        for (id, found) in ids.iter().zip(&few) {
            assert_eq!(found.is_some(), id != "model.p.none", "{id}");
        }
        let read = manifest_entries_few(&path, &ids[..7]).unwrap().unwrap();
        assert_eq!(read.len(), 7);
        assert_eq!(read["model.p.m9"]["unique_id"], "model.p.m9");
    }
}
