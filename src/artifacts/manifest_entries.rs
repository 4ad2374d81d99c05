//! Many entries of a sluice `manifest.json` read in one pass, for a partial parse that checks
//! a few thousand nodes (`session::partial_parse`): the file is read in pieces until every entry
//! asked for is found, and only those entries are parsed, in parallel. Searching for each id
//! on its own ([`super::patch_manifest_nodes`]) would read the file once per id.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use serde::de::IgnoredAny;

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
    let all_found = scan(&mut file, (&mut buf, true), ids, |key, start| {
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
/// none has, piece by piece, keeping none).
pub(crate) fn manifest_has_any(path: &Path, ids: &BTreeSet<String>) -> std::io::Result<bool> {
    let mut file = std::fs::File::open(path)?;
    scan(&mut file, (&mut Vec::new(), false), ids, |_, _| true)
}

/// Whether the manifest at `path` gives `relation_name` as the relation of one entry only
/// (`"relation_name":"<name>"`, as sluice writes it: no other node, and no semantic model's
/// `node_relation`, names it), and the semantic manifest beside it (a time spine's
/// `node_relation`) never names it.
pub(crate) fn relation_named_alone(path: &Path, relation_name: &str) -> std::io::Result<bool> {
    let name = serde_json::to_vec(relation_name)?;
    let semantic = path.with_file_name("semantic_manifest.json");
    match count_in_file(&semantic, &name, 1) {
        Ok(0) => {}
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let needle = [&b"\"relation_name\":"[..], &name].concat();
    Ok(count_in_file(path, &needle, 2)? == 1)
}

/// How many times `needle` occurs in the file at `path`, counted up to `limit`. The file is read
/// through one small buffer (a large manifest read whole costs its size in fresh memory, whose
/// page faults took longer than the search).
fn count_in_file(path: &Path, needle: &[u8], limit: usize) -> std::io::Result<usize> {
    use std::io::Read;
    const PIECE: usize = 1 << 20;
    let mut file = std::fs::File::open(path)?;
    let finder = memchr::memmem::Finder::new(needle);
    let overlap = needle.len().saturating_sub(1);
    let mut buf = vec![0; PIECE + overlap];
    // The bytes carried from the last piece: too few to hold the needle, so never counted twice.
    let mut kept = 0;
    let mut count = 0;
    loop {
        let n = match file.read(&mut buf[kept..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(count);
        }
        let len = kept + n;
        count += finder.find_iter(&buf[..len]).count();
        if count >= limit {
            return Ok(count.min(limit));
        }
        kept = overlap.min(len);
        buf.copy_within(len - kept..len, 0);
    }
}

/// Reads `file` into `buf` piece by piece, calling `found` with each key of `ids` (`"<id>":{`)
/// and where its value starts, until `found` says it is done (`true`) or the file ends
/// (`false`). With `keep_whole` false, the pieces looked through are dropped but for a tail
/// longer than any key (`found`'s positions are then of no use); else `buf` keeps the file read.
fn scan(
    file: &mut std::fs::File,
    (buf, keep_whole): (&mut Vec<u8>, bool),
    ids: &BTreeSet<String>,
    mut found: impl FnMut(&[u8], usize) -> bool,
) -> std::io::Result<bool> {
    /// What is kept of the pieces looked through when they are not kept whole: a key and what
    /// tells it is one (`key_before`) fit in it.
    const TAIL: usize = 64 << 10;
    let wanted: HashSet<&[u8]> = ids.iter().map(|id| id.as_bytes()).collect();
    let tail = TAIL.max(ids.iter().map(|id| id.len() + 8).max().unwrap_or(0));
    let finder = memchr::memmem::Finder::new(b"\":{");
    // When a few ids are looked for through pieces that are not kept, a piece where none of
    // them is written as a key's text (`"<id>":{`) is not looked through key by key.
    let texts: Vec<Vec<u8>> = match keep_whole || ids.len() > 16 {
        true => Vec::new(),
        false => ids
            .iter()
            .map(|id| format!("\"{id}\":{{").into_bytes())
            .collect(),
    };
    let id_finders: Vec<memchr::memmem::Finder<'_>> =
        texts.iter().map(memchr::memmem::Finder::new).collect();
    let longest = texts.iter().map(Vec::len).max().unwrap_or(0);
    // Where the search goes on from (every key before it was looked at).
    let mut from: usize = 0;
    while read_piece(file, buf)? {
        let look = &buf[from.saturating_sub(longest)..];
        let none_here = !id_finders.is_empty() && id_finders.iter().all(|f| f.find(look).is_none());
        for i in finder.find_iter(&buf[from..]).take_while(|_| !none_here) {
            let hit = from + i;
            let key = key_before(buf, hit).filter(|k| wanted.contains(k));
            if key.is_some_and(|k| found(k, hit + 2)) {
                return Ok(true);
            }
        }
        // The next search overlaps this one by a needle's length less one.
        from = buf.len().saturating_sub(2);
        if !keep_whole && buf.len() > tail {
            // Blanks a patch left before a key are kept whole, with what comes before them.
            let mut dropped = buf.len() - tail;
            while dropped > 0 && buf[dropped].is_ascii_whitespace() {
                dropped -= 1;
            }
            buf.drain(..dropped);
            from -= dropped;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    /// Occurrences anywhere, across the pieces the file is read in (one straddling each
    /// boundary), counted once each and up to the limit.
    #[test]
    fn counts_a_needle_across_the_pieces_a_file_is_read_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        let needle = b"\"relation_name\":\"x\"";
        let mut text = vec![b'.'; 3 << 20];
        let at = [
            0,
            40,
            (1 << 20) - 3,
            (2 << 20) - 20,
            (3 << 20) - needle.len(),
        ];
        for a in at {
            text[a..a + needle.len()].copy_from_slice(needle);
        }
        std::fs::write(&path, &text).unwrap();
        assert_eq!(count_in_file(&path, needle, 100).unwrap(), at.len());
        assert_eq!(count_in_file(&path, needle, 2).unwrap(), 2);
        assert_eq!(
            count_in_file(&path, b"\"relation_name\":\"y\"", 2).unwrap(),
            0
        );
        std::fs::write(&path, &text[(1 << 20) - 10..(1 << 20) + 30]).unwrap();
        assert_eq!(count_in_file(&path, needle, 2).unwrap(), 1);
    }

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

    /// A key found past the pieces dropped while searching, after blanks longer than what is
    /// kept of them, across a piece's end.
    #[test]
    fn a_key_after_long_blanks_is_found_when_the_pieces_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        let filler = "x".repeat(PIECE as usize - 300_000);
        let blanks = " ".repeat(500_000);
        let text = format!(
            r#"{{"nodes":{{"model.p.a":{{"raw_code":"{filler}"}},{blanks}"model.p.late":{{}}}}}}"#
        );
        std::fs::write(&path, text).unwrap();
        let late: BTreeSet<String> = ["model.p.late"].map(String::from).into();
        assert!(manifest_has_any(&path, &late).unwrap());
        let nope: BTreeSet<String> = ["model.p.lat"].map(String::from).into();
        assert!(!manifest_has_any(&path, &nope).unwrap());
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
}
