//! One manifest entry's JSON text, read and edited without parsing it whole: its keys found by
//! a scanner of sluice's own ([`RawEntry`], [`Fields`]: values skipped, not checked, as a
//! sluice manifest is valid JSON) and values set at key paths, either in their place
//! ([`value_spans`]) or as the entry's text from the first value set on ([`set_paths`]). The
//! partial parse's manifest patches (`super::manifest_patch`) edit thousands of entries this
//! way, where parsing each whole was most of their time.

use std::ops::Range;

use serde_json::Value;

/// A manifest entry read with each key's value kept as where its text is: the object's text,
/// borrowed from the document, and the spans of its keys and values ([`RawEntry::read`]).
pub(super) struct RawEntry<'a> {
    /// The blanks before the object in the text it was read from.
    lead: usize,
    /// The object, from its `{` to its `}`.
    text: &'a str,
    /// Each key's characters (within its quotes) and its value's text, as spans of `text`.
    fields: Vec<(Range<usize>, Range<usize>)>,
}

impl<'a> RawEntry<'a> {
    /// The JSON object `text` opens with (after blanks), and where it ends. The keys are read
    /// and the values only skipped, not checked: a sluice manifest is valid JSON, and a key
    /// with escapes (no manifest entry has one) reads as no entry.
    pub(super) fn read(text: &'a [u8]) -> Option<(usize, RawEntry<'a>)> {
        let mut scan = Fields::of(text)?;
        let open = scan.at - 1;
        // Where each key and its value are, from the object's `{`; the text is checked to be
        // UTF-8 once, at the end.
        let mut fields = Vec::with_capacity(64);
        while let Some((key, value)) = scan.next_field()? {
            let from = |r: Range<usize>| r.start - open..r.end - open;
            fields.push((from(key), from(value)));
        }
        let end = scan.at + 1;
        // (Every span starts and ends at an ASCII character or the end: on a character's
        // bound.)
        let text = std::str::from_utf8(&text[open..end]).ok()?;
        let lead = open;
        Some((end, RawEntry { lead, text, fields }))
    }

    /// Whether this is the entry of the node `id` (its `unique_id`).
    pub(super) fn is_of(&self, id: &str) -> bool {
        let unique_id = self.fields().find(|(k, _)| *k == "unique_id");
        unique_id.is_some_and(|(_, v)| serde_json::from_str::<String>(v).is_ok_and(|v| v == id))
    }

    /// Each key and the text of its value, in order.
    fn fields(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        let text = self.text;
        self.fields
            .iter()
            .map(move |(k, v)| (&text[k.clone()], &text[v.clone()]))
    }
}

/// The fields of the JSON object a text opens with, read one at a time (so that a search for
/// one key stops at it): keys with escapes are not read (no manifest entry has one), values
/// are skipped, not checked.
struct Fields<'a> {
    text: &'a [u8],
    /// Where the next key's quote is; once the object's fields are read, its closing brace.
    at: usize,
    /// Whether the last field was read.
    done: bool,
}

impl<'a> Fields<'a> {
    /// The object `text` opens with (after blanks); `None` when it opens with something else.
    fn of(text: &'a [u8]) -> Option<Fields<'a>> {
        let open = blanks(text, 0);
        (text.get(open) == Some(&b'{')).then_some(())?;
        let at = blanks(text, open + 1);
        let done = text.get(at) == Some(&b'}');
        Some(Fields { text, at, done })
    }

    /// The next field's key (its characters) and value (its text), as spans of the text;
    /// `Some(None)` after the last (then `at` is the closing brace), `None` when the text is
    /// not such an object.
    #[allow(clippy::type_complexity)]
    fn next_field(&mut self) -> Option<Option<(Range<usize>, Range<usize>)>> {
        if self.done {
            return Some(None);
        }
        let text = self.text;
        let at = self.at;
        (text.get(at) == Some(&b'"')).then_some(())?;
        let key_end = at + 1 + memchr::memchr2(b'"', b'\\', text.get(at + 1..)?)?;
        (text[key_end] == b'"').then_some(())?;
        let colon = blanks(text, key_end + 1);
        (text.get(colon) == Some(&b':')).then_some(())?;
        let start = blanks(text, colon + 1);
        let end = skip_value(text, start)?;
        let after = blanks(text, end);
        match text.get(after)? {
            b',' => self.at = blanks(text, after + 1),
            b'}' => (self.at, self.done) = (after, true),
            _ => return None,
        }
        Some(Some((at + 1..key_end, start..end)))
    }

    /// The value of `key` (the first field of that name), or `Err` with where the object's
    /// closing brace is and whether it has fields, when it has no such key.
    fn find(mut self, key: &str) -> Option<Result<Range<usize>, (usize, bool)>> {
        let mut any = false;
        while let Some((k, v)) = self.next_field()? {
            if self.text[k] == *key.as_bytes() {
                return Some(Ok(v));
            }
            any = true;
        }
        Some(Err((self.at, any)))
    }
}

/// The edits that set `sets` (each a value at its path of keys, as in [`set_paths`]) in the
/// manifest entry of the node `id` that `entry` opens with: for each, the span of the entry's
/// text it replaces (a value with the blanks after it, or the closing brace of an object that
/// lacks the key, which the edit adds) and its new text. Only the objects on the paths are read,
/// up to the keys. `None` when `entry` is not the entry of `id`, an object on a path is not
/// there, or two edits would overlap (such as two keys added to one object: [`set_paths`] does
/// those).
pub(super) fn value_spans(
    entry: &[u8],
    id: &str,
    sets: &[(Vec<String>, Value)],
) -> Option<Vec<(Range<usize>, Vec<u8>)>> {
    let unique_id = Fields::of(entry)?.find("unique_id")?.ok()?;
    (serde_json::from_slice::<String>(&entry[unique_id]).ok()? == id).then_some(())?;
    let mut spans = Vec::with_capacity(sets.len());
    for (path, value) in sets {
        let (last, within) = path.split_last()?;
        let mut object = 0;
        for key in within {
            object = Fields::of(&entry[object..])?.find(key)?.ok()?.start + object;
        }
        let span = match Fields::of(&entry[object..])?.find(last)? {
            Ok(v) => {
                let new = serde_json::to_vec(value).ok()?;
                (object + v.start..blanks(entry, object + v.end), new)
            }
            Err((close, any)) => {
                let mut new = Vec::with_capacity(64);
                if any {
                    new.push(b',');
                }
                serde_json::to_writer(&mut new, last).ok()?;
                new.push(b':');
                serde_json::to_writer(&mut new, value).ok()?;
                new.push(b'}');
                (object + close..object + close + 1, new)
            }
        };
        spans.push(span);
    }
    spans.sort_by_key(|(r, _)| r.start);
    spans
        .windows(2)
        .all(|w| w[0].0.end <= w[1].0.start)
        .then_some(spans)
}

/// Where the blanks from `at` end.
fn blanks(text: &[u8], mut at: usize) -> usize {
    while text.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// Where the JSON value that starts at `at` ends (`None` when the text ends first). Byte by
/// byte: an entry's strings are mostly a few bytes long, shorter than a vectorised search
/// pays for.
fn skip_value(text: &[u8], at: usize) -> Option<usize> {
    let (open, close) = match *text.get(at)? {
        b'"' => return skip_string(text, at + 1),
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
    let mut i = at;
    while let Some(&b) = text.get(i) {
        if b == b'"' {
            i = skip_string(text, i + 1)?;
            continue;
        }
        if b == open {
            depth += 1;
        } else if b == close {
            depth -= 1;
            if depth == 0 {
                return Some(i + 1);
            }
        }
        i += 1;
    }
    None
}

/// Where the string whose characters start at `at` ends (after its closing quote). Eight bytes
/// at a time up to the next quote or backslash.
fn skip_string(text: &[u8], mut at: usize) -> Option<usize> {
    loop {
        while let Some(word) = text.get(at..at + 8) {
            let word = u64::from_le_bytes(word.try_into().ok()?);
            let found = has_byte(word, b'"') | has_byte(word, b'\\');
            if found != 0 {
                at += (found.trailing_zeros() / 8) as usize;
                break;
            }
            at += 8;
        }
        match *text.get(at)? {
            b'"' => return Some(at + 1),
            b'\\' => at += 2,
            _ => at += 1,
        }
    }
}

/// The high bit of each byte of `word` that is `byte` set (exact for the lowest such byte; a
/// byte above it may be marked falsely).
fn has_byte(word: u64, byte: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// `entry` as JSON text with each of `sets` applied in order: the value at its path of keys set
/// (the last key's value replaced, or added last when its object lacks it). Every other value's
/// text is copied as it was, in its place; only the objects on a path are read, down to their
/// keys. Given as the length of the text the entry was read from that stays as it was (its
/// blanks before the entry included), and the new text after it; `None` when an object on a
/// path is not there (or there are no sets).
pub(super) fn set_paths(
    entry: &RawEntry,
    sets: &[(Vec<String>, Value)],
) -> Option<(usize, Vec<u8>)> {
    let ((path, value), rest) = sets.split_first()?;
    let (mut kept, mut tail) = set_path(entry, path, value)?;
    if rest.is_empty() {
        return Some((entry.lead + kept, tail));
    }
    let mut text = entry.text.as_bytes()[..kept].to_vec();
    text.append(&mut tail);
    for (path, value) in rest {
        let (_, entry) = RawEntry::read(&text)?;
        let (same, mut after) = set_path(&entry, path, value)?;
        kept = kept.min(same);
        text.truncate(same);
        text.append(&mut after);
    }
    Some((entry.lead + kept, text.split_off(kept)))
}

/// [`set_paths`] for one value: the length of the object's text before the value's text (or,
/// when the key is added, before its closing brace), and the new text from there on (every
/// byte after the value copied as it was).
fn set_path(object: &RawEntry, path: &[String], value: &Value) -> Option<(usize, Vec<u8>)> {
    let (key, within) = path.split_first()?;
    let text = object.text.as_bytes();
    let found = object
        .fields
        .iter()
        .find(|(k, _)| object.text[k.clone()] == **key);
    match found {
        Some((_, v)) => {
            let after = &text[v.end..];
            let (kept, mut out) = if within.is_empty() {
                let mut out = Vec::with_capacity(after.len() + 64);
                serde_json::to_writer(&mut out, value).ok()?;
                (v.start, out)
            } else {
                let (_, inner) = RawEntry::read(&text[v.clone()])?;
                let (kept, mut out) = set_path(&inner, within, value)?;
                out.reserve(after.len());
                (v.start + kept, out)
            };
            out.extend_from_slice(after);
            Some((kept, out))
        }
        None if within.is_empty() => {
            let mut out = Vec::with_capacity(64);
            if !object.fields.is_empty() {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, key).ok()?;
            out.push(b':');
            serde_json::to_writer(&mut out, value).ok()?;
            out.push(b'}');
            Some((text.len() - 1, out))
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn an_entry_reads_as_its_keys_and_the_text_of_their_values() {
        let text = r#" { "a" : "q\"}{[" , "b":{"c":[1,{"d":"]"}],"e":{}} ,"n":-1.5e3,"t":true,
            "z":null,"l":[],"s":"\\"}  ,"next":{}"#;
        let (len, entry) = RawEntry::read(text.as_bytes()).unwrap();
        assert_eq!(&text[len..], r#"  ,"next":{}"#);
        let whole: Map<String, Value> = serde_json::from_str(&text[..len]).unwrap();
        let keys: Vec<&str> = entry.fields().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b", "n", "t", "z", "l", "s"]);
        for (k, v) in entry.fields() {
            assert_eq!(
                serde_json::from_str::<Value>(v).unwrap(),
                whole[k],
                "{k}: {v}"
            );
        }
        // Cut short anywhere, or with an escaped key, it is no entry.
        for cut in 1..len {
            assert!(RawEntry::read(&text.as_bytes()[..cut]).is_none(), "{cut}");
        }
        assert!(RawEntry::read(br#"{"a\"b":1}"#).is_none());
        assert_eq!(
            RawEntry::read(b"{}").map(|(n, e)| (n, e.fields.len())),
            Some((2, 0))
        );
    }

    #[test]
    fn strings_end_at_their_first_unescaped_quote_at_any_length() {
        for len in 0..40 {
            for escaped in [None, Some(0), Some(len / 2)] {
                let mut body: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                if let Some(at) = escaped.filter(|at| *at < len) {
                    body.splice(at..at, *br#"\\\""#);
                }
                let text = [&b"\""[..], &body, b"\"tail\"x"].concat();
                let end = text.len() - b"tail\"x".len();
                assert_eq!(skip_value(&text, 0), Some(end), "{len} {escaped:?}");
                assert_eq!(skip_value(&text[..end - 1], 0), None);
            }
        }
    }

    #[test]
    fn values_set_in_their_place_are_the_entry_edited_whole() {
        let text = r#"{"unique_id":"model.p.a","description":"old"  ,"columns":{"id":{"name":"id","description":"k"},"empty":{}},"meta":{"n":1.50}}"#;
        let set = |path: &[&str], value: &str| {
            let path = path.iter().map(|k| k.to_string()).collect::<Vec<_>>();
            (path, Value::from(value))
        };
        let sets = [
            set(&["columns", "id", "description"], "the key"),
            set(&["description"], "new"),
            set(&["columns", "empty", "description"], "added"),
        ];
        // Applied from the last span back, each over its span.
        let apply = |spans: Vec<(Range<usize>, Vec<u8>)>| {
            let mut out = text.as_bytes().to_vec();
            for (r, new) in spans.into_iter().rev() {
                out.splice(r, new);
            }
            String::from_utf8(out).unwrap()
        };
        let spans = value_spans(text.as_bytes(), "model.p.a", &sets).unwrap();
        // A value's span takes the blanks after it (room for the next edit).
        let old = spans.iter().find(|(_, new)| new == b"\"new\"").unwrap();
        assert_eq!(&text[old.0.clone()], r#""old"  "#);
        let edited = apply(spans);
        let (_, raw) = RawEntry::read(text.as_bytes()).unwrap();
        let (kept, tail) = set_paths(&raw, &sets).unwrap();
        let whole = format!("{}{}", &text[..kept], String::from_utf8(tail).unwrap());
        let parsed: Map<String, Value> = serde_json::from_str(&edited).unwrap();
        assert_eq!(
            parsed,
            serde_json::from_str::<Map<String, Value>>(&whole).unwrap()
        );
        assert_eq!(parsed["columns"]["empty"]["description"], "added");
        assert!(edited.contains(r#""meta":{"n":1.50}"#), "{edited}");
        // Another entry's id, a path through nothing, or two keys added to one object: none.
        assert!(value_spans(text.as_bytes(), "model.p.b", &sets).is_none());
        let missing = [set(&["columns", "nope", "description"], "x")];
        assert!(value_spans(text.as_bytes(), "model.p.a", &missing).is_none());
        let two = [set(&["x"], "1"), set(&["y"], "2")];
        assert!(value_spans(text.as_bytes(), "model.p.a", &two).is_none());
        assert!(set_paths(&raw, &two).is_some());
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
        let (kept, tail) = set_paths(&raw, &sets).unwrap();
        let by_paths = format!("{}{}", &text[..kept], String::from_utf8(tail).unwrap());
        // What stays is the text before the first value set.
        assert_eq!(&text[kept..kept + 5], "\"old\"");
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
