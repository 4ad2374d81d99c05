//! Many entries of a sluice `manifest.json` read in one pass, for a partial parse that checks
//! a few thousand nodes (`session::partial_parse`): the file is read in pieces until every entry
//! asked for is found, and only those entries are parsed. Searching for each id on its own
//! ([`super::patch_manifest_nodes`]) would read the file once per id.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value};

/// How much one read adds to what has been read.
const PIECE: u64 = 8 << 20;

/// The entries of the nodes `ids` in the manifest at `path` (the first `"<id>":{` of each:
/// `nodes` comes first in a sluice manifest, and elsewhere a node id is a value or the key of
/// a list); `None` when one is missing or does not parse.
pub(crate) fn manifest_entries(
    path: &Path,
    ids: &BTreeSet<String>,
) -> std::io::Result<Option<BTreeMap<String, Map<String, Value>>>> {
    let mut file = std::fs::File::open(path)?;
    let wanted: HashSet<&[u8]> = ids.iter().map(|id| id.as_bytes()).collect();
    let mut found: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let finder = memchr::memmem::Finder::new(b"\":{");
    let mut buf: Vec<u8> = Vec::new();
    // Where the search goes on from (every key before it was looked at).
    let mut from = 0;
    let mut at_end = false;
    while found.len() < wanted.len() {
        if at_end {
            return Ok(None);
        }
        at_end = (&mut file).take(PIECE).read_to_end(&mut buf)? == 0;
        let mut resume = None;
        let mut at = from;
        while let Some(i) = finder.find(&buf[at..]) {
            let hit = at + i;
            at = hit + 1;
            let Some(key) = key_before(&buf, hit) else {
                continue;
            };
            if !wanted.contains(key) || found.contains_key(std::str::from_utf8(key).unwrap_or(""))
            {
                continue;
            }
            let value = &buf[hit + 2..];
            let mut values = serde_json::Deserializer::from_slice(value).into_iter::<Map<_, _>>();
            match values.next() {
                Some(Ok(entry)) => {
                    let id = String::from_utf8_lossy(key).into_owned();
                    found.insert(id, entry);
                    if found.len() == wanted.len() {
                        break;
                    }
                }
                // Cut off by the end of what was read: read on, and look again from here.
                Some(Err(e)) if e.is_eof() && !at_end => {
                    resume = Some(hit - key.len() - 1);
                    break;
                }
                _ => return Ok(None),
            }
        }
        // The next search overlaps this one by a needle's length less one.
        from = resume.unwrap_or_else(|| buf.len().saturating_sub(2));
    }
    Ok(Some(found))
}

/// The key that ends with the quote at `quote` (`"<key>":`), when it is one: its characters
/// plain (no quote or backslash: in a string value, quotes are escaped) and it opens a map's
/// entry (after `{` or `,`).
fn key_before(buf: &[u8], quote: usize) -> Option<&[u8]> {
    let open = memchr::memrchr2(b'"', b'\\', &buf[..quote])?;
    if buf[open] != b'"' || open == 0 || !matches!(buf[open - 1], b'{' | b',') {
        return None;
    }
    Some(&buf[open + 1..quote])
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
        std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
        let ids: BTreeSet<String> = ["model.p.m1", "model.p.m3", "model.p.m39"]
            .map(String::from)
            .into();
        let got = manifest_entries(&path, &ids).unwrap().unwrap();
        assert_eq!(got.keys().collect::<Vec<_>>(), ids.iter().collect::<Vec<_>>());
        for (id, entry) in &got {
            assert_eq!(entry["unique_id"], Value::from(id.as_str()));
            assert_eq!(entry["raw_code"], Value::from(big.as_str()));
        }
        let missing: BTreeSet<String> = ["model.p.m1", "model.p.nope"].map(String::from).into();
        assert!(manifest_entries(&path, &missing).unwrap().is_none());
    }
}
