//! Many entries of a sluice `manifest.json` read in one pass, for a partial parse that checks
//! a few thousand nodes (`session::partial_parse`): the file is read in pieces until every entry
//! asked for is found, and only those entries are parsed, in parallel. Searching for each id
//! on its own ([`super::patch_manifest_nodes`]) would read the file once per id.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// How much one read adds to what has been read.
const PIECE: u64 = 8 << 20;

/// The entries of the nodes `ids` in the manifest at `path` (the first `"<id>":{` of each:
/// `nodes` comes first in a sluice manifest, and elsewhere a node id is a value or the key of
/// a list), each read as a `T` (the fields it names: the rest of the entry is skipped), in
/// parallel; `None` when one is missing or does not parse.
pub(crate) fn manifest_entries<T: serde::de::DeserializeOwned + Send>(
    path: &Path,
    ids: &BTreeSet<String>,
) -> std::io::Result<Option<BTreeMap<String, T>>> {
    let mut file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).unwrap_or(0);
    let mut buf: Vec<u8> = Vec::with_capacity(len);
    // Where each entry's value starts, by id.
    let mut starts: HashMap<String, usize> = HashMap::with_capacity(ids.len());
    let all_found = scan(&mut file, &mut buf, ids, |key, start| {
        let key = String::from_utf8_lossy(key).into_owned();
        starts.entry(key).or_insert(start);
        starts.len() == ids.len()
    })?;
    if !all_found {
        return Ok(None);
    }
    // Each entry whole: read on past the last one's start until it parses.
    let last = starts.values().copied().max().unwrap_or(0);
    loop {
        let mut rest = serde_json::Deserializer::from_slice(&buf[last..]).into_iter::<IgnoredAny>();
        match rest.next() {
            Some(Ok(_)) => break,
            Some(Err(e)) if e.is_eof() && read_piece(&mut file, &mut buf)? => {}
            _ => return Ok(None),
        }
    }
    let parsed: Vec<Option<(String, T)>> = starts
        .into_par_iter()
        .map(|(key, start)| {
            let mut values = serde_json::Deserializer::from_slice(&buf[start..]).into_iter::<T>();
            Some((key, values.next()?.ok()?))
        })
        .collect();
    Ok(parsed.into_iter().collect())
}

/// Whether some node of `ids` has an entry in the manifest at `path` (read to its end when
/// none has).
pub(crate) fn manifest_has_any(path: &Path, ids: &BTreeSet<String>) -> std::io::Result<bool> {
    let mut file = std::fs::File::open(path)?;
    scan(&mut file, &mut Vec::new(), ids, |_, _| true)
}

/// Reads `file` into `buf` piece by piece, calling `found` with each key of `ids` (`"<id>":{`)
/// and where its value starts, until `found` says it is done (`true`) or the file ends
/// (`false`).
fn scan(
    file: &mut std::fs::File,
    buf: &mut Vec<u8>,
    ids: &BTreeSet<String>,
    mut found: impl FnMut(&[u8], usize) -> bool,
) -> std::io::Result<bool> {
    let wanted: HashSet<&[u8]> = ids.iter().map(|id| id.as_bytes()).collect();
    let finder = memchr::memmem::Finder::new(b"\":{");
    // Where the search goes on from (every key before it was looked at).
    let mut from = 0;
    while read_piece(file, buf)? {
        for i in finder.find_iter(&buf[from..]) {
            let hit = from + i;
            let key = key_before(buf, hit).filter(|k| wanted.contains(k));
            if key.is_some_and(|k| found(k, hit + 2)) {
                return Ok(true);
            }
        }
        // The next search overlaps this one by a needle's length less one.
        from = buf.len().saturating_sub(2);
    }
    Ok(false)
}

/// Where the value of each key of `ids` first opens a map (`"<id>":{`) in `buf`, from `from`
/// on: the position of its `{`, by id (the ids found).
pub(super) fn map_starts<'i>(
    buf: &[u8],
    from: usize,
    ids: &'i [String],
) -> HashMap<&'i str, usize> {
    let wanted: HashMap<&[u8], &str> = ids.iter().map(|id| (id.as_bytes(), id.as_str())).collect();
    let mut starts = HashMap::with_capacity(ids.len());
    for i in memchr::memmem::find_iter(&buf[from.min(buf.len())..], b"\":{") {
        let hit = from + i;
        if let Some(id) = key_before(buf, hit).and_then(|k| wanted.get(k)) {
            starts.entry(*id).or_insert(hit + 2);
            if starts.len() == wanted.len() {
                break;
            }
        }
    }
    starts
}

/// Appends the next piece of `file` to `buf`; `false` at the end of the file.
fn read_piece(file: &mut std::fs::File, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    Ok(file.take(PIECE).read_to_end(buf)? > 0)
}

/// The key that ends with the quote at `quote` (`"<key>":`), when it is one: its characters
/// plain (no quote or backslash: in a string value, quotes are escaped) and it opens a map's
/// entry (after `{` or `,`, and the blanks a patch may have left).
fn key_before(buf: &[u8], quote: usize) -> Option<&[u8]> {
    let open = memchr::memrchr2(b'"', b'\\', &buf[..quote])?;
    if buf[open] != b'"' {
        return None;
    }
    let before = buf[..open]
        .iter()
        .rev()
        .find(|b| !b.is_ascii_whitespace())?;
    matches!(before, b'{' | b',').then(|| &buf[open + 1..quote])
}

/// A manifest entry read with each key's value kept as its text.
pub(super) type RawEntry = indexmap::IndexMap<String, Box<RawValue>>;

/// `entry` rewritten by `edit` as JSON text, where `edit` is given only the values of `keys`
/// and `unique_id`, parsed (`false`: it cannot). Every other key's value is copied as it was,
/// in its place; a key `edit` removes goes, one it adds comes last (as serde_json's map puts it).
pub(super) fn edit_keys(
    entry: &RawEntry,
    keys: &[&str],
    edit: impl FnOnce(&mut Map<String, Value>) -> bool,
) -> Option<Vec<u8>> {
    let parsed_key = |k: &str| k == "unique_id" || keys.contains(&k);
    let mut parsed = Map::new();
    for (k, raw) in entry.iter().filter(|(k, _)| parsed_key(k)) {
        parsed.insert(k.clone(), serde_json::from_str(raw.get()).ok()?);
    }
    if !edit(&mut parsed) {
        return None;
    }
    let size: usize = entry.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum();
    let mut out = Vec::with_capacity(size + 64);
    for (k, raw) in entry {
        if !parsed_key(k) {
            put_key(&mut out, k)?;
            out.extend_from_slice(raw.get().as_bytes());
        } else if let Some(v) = parsed.get(k) {
            put_key(&mut out, k)?;
            serde_json::to_writer(&mut out, v).ok()?;
        }
    }
    for (k, v) in parsed.iter().filter(|(k, _)| !entry.contains_key(*k)) {
        put_key(&mut out, k)?;
        serde_json::to_writer(&mut out, v).ok()?;
    }
    if out.is_empty() {
        out.push(b'{');
    }
    out.push(b'}');
    Some(out)
}

/// Opens the next key of a map written into `out` (`{` before the first, else `,`).
fn put_key(out: &mut Vec<u8>, k: &str) -> Option<()> {
    out.push(if out.is_empty() { b'{' } else { b',' });
    serde_json::to_writer(&mut *out, k).ok()?;
    out.push(b':');
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_entries_asked_for_across_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        // Entries large enough that some straddle the pieces the file is read in.
        let big = "x\\\":{".repeat(400_000);
        let mut nodes = Map::new();
        for i in 0..40 {
            nodes.insert(
                format!("model.p.m{i}"),
                serde_json::json!({"unique_id": format!("model.p.m{i}"), "raw_code": big}),
            );
        }
        let doc = serde_json::json!({
            "metadata": {}, "nodes": nodes,
            "parent_map": {"model.p.m3": ["model.p.m1"]},
        });
        // Blanks where a patch removed an entry, before the first key and after a comma.
        let text = serde_json::to_string(&doc).unwrap();
        let text = text.replacen("\"nodes\":{", "\"nodes\":{    ", 1).replacen(
            ",\"model.p.m3\":{",
            ",  \"model.p.m3\":{",
            1,
        );
        std::fs::write(&path, text).unwrap();
        let ids: BTreeSet<String> = ["model.p.m0", "model.p.m1", "model.p.m3", "model.p.m39"]
            .map(String::from)
            .into();
        let got: BTreeMap<String, Map<String, Value>> =
            manifest_entries(&path, &ids).unwrap().unwrap();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            ids.iter().collect::<Vec<_>>()
        );
        for (id, entry) in &got {
            assert_eq!(entry["unique_id"], Value::from(id.as_str()));
            assert_eq!(entry["raw_code"], Value::from(big.as_str()));
        }
        let missing: BTreeSet<String> = ["model.p.m1", "model.p.nope"].map(String::from).into();
        assert!(manifest_has_any(&path, &missing).unwrap());
        let nope: BTreeSet<String> = ["model.p.nope"].map(String::from).into();
        assert!(!manifest_has_any(&path, &nope).unwrap());
        assert!(manifest_entries::<Value>(&path, &missing)
            .unwrap()
            .is_none());
    }

    #[test]
    fn an_entry_edited_by_some_keys_is_the_entry_edited_whole() {
        let text = r#"{"unique_id":"model.p.a","description":"old","raw_code":"select \"x\"","columns":{"id":{"name":"id","description":"k"}},"meta":{"n":1.50}}"#;
        let edit = |e: &mut Map<String, Value>| {
            e.insert("description".into(), "new".into());
            e["columns"]["id"]["description"] = "the key".into();
            e.insert("added".into(), Value::Bool(true));
            e.get("unique_id") == Some(&Value::from("model.p.a"))
        };
        let raw: RawEntry = serde_json::from_str(text).unwrap();
        let by_keys = edit_keys(&raw, &["description", "columns", "added"], edit).unwrap();
        let mut whole: Map<String, Value> = serde_json::from_str(text).unwrap();
        assert!(edit(&mut whole));
        let by_keys: Map<String, Value> = serde_json::from_slice(&by_keys).unwrap();
        assert_eq!(by_keys, whole);
        assert!(by_keys.keys().eq(whole.keys()));
        // The other keys' text is copied as it was (the number as written).
        let by_keys = edit_keys(&raw, &["description"], |_| true).unwrap();
        assert_eq!(String::from_utf8(by_keys).unwrap(), text);
        assert!(edit_keys(&raw, &["description"], |_| false).is_none());
    }
}
