//! Many entries of a sluice `manifest.json` read in one pass, for a partial parse that checks
//! a few thousand nodes (`session::partial_parse`): the file is read in pieces until every entry
//! asked for is found, and only those entries are parsed, in parallel. Searching for each id
//! on its own ([`super::patch_manifest_nodes`]) would read the file once per id.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use serde::de::IgnoredAny;
use serde_json::Value;

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
/// on: the position of its `{`, by id (the ids found). The buffer is searched in pieces, in
/// parallel.
pub(super) fn map_starts<'i>(
    buf: &[u8],
    from: usize,
    ids: &'i [String],
) -> HashMap<&'i str, usize> {
    map_starts_by(buf, from, ids, PIECE as usize / 2)
}

/// [`map_starts`], searching pieces of `piece` bytes.
fn map_starts_by<'i>(
    buf: &[u8],
    from: usize,
    ids: &'i [String],
    piece: usize,
) -> HashMap<&'i str, usize> {
    const NEEDLE: &[u8] = b"\":{";
    let wanted: HashMap<&[u8], &str> = ids.iter().map(|id| (id.as_bytes(), id.as_str())).collect();
    let froms: Vec<usize> = (from.min(buf.len())..buf.len()).step_by(piece).collect();
    let found: Vec<Vec<(&str, usize)>> = froms
        .into_par_iter()
        .map(|lo| {
            // The hits that start in this piece: the search runs a needle's length less one
            // past its end.
            let hi = (lo + piece).min(buf.len());
            let end = (hi + NEEDLE.len() - 1).min(buf.len());
            memchr::memmem::find_iter(&buf[lo..end], NEEDLE)
                .map(|i| lo + i)
                .take_while(|hit| *hit < hi)
                .filter_map(|hit| {
                    let id = key_before(buf, hit).and_then(|k| wanted.get(k))?;
                    Some((*id, hit + 2))
                })
                .collect()
        })
        .collect();
    // The first of each: the pieces in order.
    let mut starts = HashMap::with_capacity(ids.len());
    for (id, start) in found.into_iter().flatten() {
        starts.entry(id).or_insert(start);
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

/// A manifest entry read with each key's value kept as its text, both borrowed from the
/// document ([`RawEntry::read`]).
pub(super) struct RawEntry<'a>(Vec<(&'a str, &'a str)>);

impl<'a> RawEntry<'a> {
    /// The JSON object `text` opens with (after blanks), and where it ends. The keys are read
    /// and the values only skipped, not checked: a sluice manifest is valid JSON, and a key
    /// with escapes (no manifest entry has one) reads as no entry.
    pub(super) fn read(text: &'a [u8]) -> Option<(usize, RawEntry<'a>)> {
        let mut at = blanks(text, 0);
        (text.get(at) == Some(&b'{')).then_some(())?;
        at = blanks(text, at + 1);
        // Where each key and its value are; the text is checked to be UTF-8 once, at the end.
        let mut spans = Vec::with_capacity(64);
        let end = if text.get(at) == Some(&b'}') {
            at + 1
        } else {
            loop {
                (text.get(at) == Some(&b'"')).then_some(())?;
                let key_end = at + 1 + memchr::memchr2(b'"', b'\\', text.get(at + 1..)?)?;
                (text[key_end] == b'"').then_some(())?;
                let key = at + 1..key_end;
                at = blanks(text, key_end + 1);
                (text.get(at) == Some(&b':')).then_some(())?;
                let start = blanks(text, at + 1);
                let end = skip_value(text, start)?;
                spans.push((key, start..end));
                at = blanks(text, end);
                match text.get(at)? {
                    b',' => at = blanks(text, at + 1),
                    b'}' => break at + 1,
                    _ => return None,
                }
            }
        };
        let whole = std::str::from_utf8(&text[..end]).ok()?;
        let entries = spans
            .into_iter()
            .map(|(k, v)| Some((whole.get(k)?, whole.get(v)?)))
            .collect::<Option<_>>()?;
        Some((end, RawEntry(entries)))
    }
}

/// Where the blanks from `at` end.
fn blanks(text: &[u8], mut at: usize) -> usize {
    while text.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// Where the JSON value that starts at `at` ends (`None` when the text ends first). Byte by
/// byte: most strings of an entry are a few bytes long, shorter than a vectorised search pays
/// for.
fn skip_value(text: &[u8], at: usize) -> Option<usize> {
    let (open, close) = match *text.get(at)? {
        b'"' => (b'"', b'"'),
        b'{' => (b'{', b'}'),
        b'[' => (b'[', b']'),
        _ => {
            let len = text[at..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace());
            return Some(at + len.unwrap_or(text.len() - at));
        }
    };
    // Only this kind of bracket is counted: in valid JSON the other kind is balanced within
    // it; strings are skipped whole.
    let mut depth = 0usize;
    let mut in_string = false;
    let mut i = at;
    while let Some(&b) = text.get(i) {
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == open {
            depth += 1;
        } else if b == close {
            depth -= 1;
            if depth == 0 {
                return Some(i + 1);
            }
        }
        i += 1;
        if open == b'"' && !in_string {
            return Some(i);
        }
    }
    None
}

impl RawEntry<'_> {
    /// Whether this is the entry of the node `id` (its `unique_id`).
    pub(super) fn is_of(&self, id: &str) -> bool {
        let unique_id = self.0.iter().find(|(k, _)| *k == "unique_id");
        unique_id.is_some_and(|(_, v)| serde_json::from_str::<String>(v).is_ok_and(|v| v == id))
    }
}

/// `entry` as JSON text with each of `sets` applied in order: the value at its path of keys set
/// (the last key's value replaced, or added last when its object lacks it). Every other value's
/// text is copied as it was, in its place; only the objects on a path are read, down to their
/// keys. `None` when an object on a path is not there (or there are no sets).
pub(super) fn set_paths(entry: &RawEntry, sets: &[(Vec<String>, Value)]) -> Option<Vec<u8>> {
    let ((path, value), rest) = sets.split_first()?;
    let mut text = set_path(entry, path, value)?;
    for (path, value) in rest {
        let (_, entry) = RawEntry::read(&text)?;
        let next = set_path(&entry, path, value)?;
        text = next;
    }
    Some(text)
}

/// [`set_paths`] for one value.
fn set_path(object: &RawEntry, path: &[String], value: &Value) -> Option<Vec<u8>> {
    let (key, within) = path.split_first()?;
    let size: usize = object.0.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
    let mut out = Vec::with_capacity(size + 64);
    let mut found = false;
    for (k, raw) in &object.0 {
        // A key read from the entry has nothing to escape ([`RawEntry::read`]).
        out.push(if out.is_empty() { b'{' } else { b',' });
        out.push(b'"');
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
        if *k != key {
            out.extend_from_slice(raw.as_bytes());
        } else if within.is_empty() {
            found = true;
            serde_json::to_writer(&mut out, value).ok()?;
        } else {
            found = true;
            let (_, inner) = RawEntry::read(raw.as_bytes())?;
            out.extend(set_path(&inner, within, value)?);
        }
    }
    if !found {
        if !within.is_empty() {
            return None;
        }
        put_key(&mut out, key)?;
        serde_json::to_writer(&mut out, value).ok()?;
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
    use serde_json::Map;

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
    fn map_starts_are_the_same_in_pieces_of_any_size() {
        let text = r#"{"m":{"a":{"x":1},"b":[{"a":{}}],"c":"\"a\":{"},"b":{},"a":{"y":2}}"#;
        let ids: Vec<String> = ["a", "b", "c", "none"].map(String::from).to_vec();
        let whole = map_starts_by(text.as_bytes(), 0, &ids, text.len());
        // `a` at its first map, `b` as a key whose value is a map, `c` never (a string).
        let mut found: Vec<(&str, &str)> = whole
            .iter()
            .map(|(k, at)| (*k, &text[*at..*at + 5]))
            .collect();
        found.sort();
        assert_eq!(found, [("a", "{\"x\":"), ("b", "{},\"a")]);
        for piece in 1..text.len() {
            assert_eq!(
                map_starts_by(text.as_bytes(), 0, &ids, piece),
                whole,
                "{piece}"
            );
        }
    }

    #[test]
    fn an_entry_reads_as_its_keys_and_the_text_of_their_values() {
        let text = r#" { "a" : "q\"}{[" , "b":{"c":[1,{"d":"]"}],"e":{}} ,"n":-1.5e3,"t":true,
            "z":null,"l":[],"s":"\\"}  ,"next":{}"#;
        let (len, entry) = RawEntry::read(text.as_bytes()).unwrap();
        assert_eq!(&text[len..], r#"  ,"next":{}"#);
        let whole: Map<String, Value> = serde_json::from_str(&text[..len]).unwrap();
        let keys: Vec<&str> = entry.0.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["a", "b", "n", "t", "z", "l", "s"]);
        for (k, v) in &entry.0 {
            assert_eq!(
                serde_json::from_str::<Value>(v).unwrap(),
                whole[*k],
                "{k}: {v}"
            );
        }
        // Cut short anywhere, or with an escaped key, it is no entry.
        for cut in 1..len {
            assert!(RawEntry::read(&text.as_bytes()[..cut]).is_none(), "{cut}");
        }
        assert!(RawEntry::read(br#"{"a\"b":1}"#).is_none());
        assert_eq!(
            RawEntry::read(b"{}").map(|(n, e)| (n, e.0.len())),
            Some((2, 0))
        );
    }

    #[test]
    fn values_set_by_path_are_the_entry_edited_whole() {
        let text = r#"{"unique_id":"model.p.a","description":"old","raw_code":"select \"x\"","columns":{"id":{"name":"id","description":"k"},"empty":{}},"meta":{"n":1.50}}"#;
        let set = |path: &[&str], value: &str| {
            let path = path.iter().map(|k| k.to_string()).collect::<Vec<_>>();
            (path, Value::from(value))
        };
        let sets = [
            set(&["description"], "new"),
            set(&["columns", "id", "description"], "the key"),
            set(
                &["columns", "empty", "description"],
                "added to an empty map",
            ),
            set(&["added"], "last"),
        ];
        let (len, raw) = RawEntry::read(text.as_bytes()).unwrap();
        assert_eq!(len, text.len());
        assert!(raw.is_of("model.p.a") && !raw.is_of("model.p.b"));
        let by_paths = String::from_utf8(set_paths(&raw, &sets).unwrap()).unwrap();
        let mut whole: Map<String, Value> = serde_json::from_str(text).unwrap();
        whole["description"] = "new".into();
        whole["columns"]["id"]["description"] = "the key".into();
        whole["columns"]["empty"]["description"] = "added to an empty map".into();
        whole.insert("added".into(), "last".into());
        let parsed: Map<String, Value> = serde_json::from_str(&by_paths).unwrap();
        assert_eq!(parsed, whole);
        assert!(parsed.keys().eq(whole.keys()));
        // The other values' text is copied as it was (the number as written).
        assert!(
            by_paths.ends_with(r#""meta":{"n":1.50},"added":"last"}"#),
            "{by_paths}"
        );
        assert!(
            by_paths.contains(r#""raw_code":"select \"x\"""#),
            "{by_paths}"
        );
        // A path through an object that is not there cannot be set.
        let missing = [set(&["columns", "nope", "description"], "x")];
        assert!(set_paths(&raw, &missing).is_none());
        assert!(set_paths(&raw, &[]).is_none());
    }
}
