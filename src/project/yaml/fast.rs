//! A fast reader for the YAML that properties files are mostly written in: block mappings and
//! sequences, one-line scalars (plain or quoted), `>` and `|` blocks, one-line flow lists and
//! flat flow mappings. It reads the text straight into `serde_json::Value`.
//!
//! It decides nothing the full reader (`super::read`, a port of libyaml) would decide otherwise:
//! on anything outside that subset, or doubtful (anchors, aliases, tags, merge keys, a key given
//! twice, multi-line plain or quoted scalars, tabs, carriage returns, anything the full reader
//! would call an error), it gives up with `None` and the caller reads the file again in full.
//! Scalars that may be numbers are typed by the full reader too. Why: the full reader takes
//! about 28 ns a byte, a tenth of a large project's parse; this one a fraction of that.

use serde_json::{Map, Value};

/// The value of `text` as a YAML document, or `None` when the full reader must decide.
pub(super) fn parse(text: &str) -> Option<Value> {
    // Tabs, carriage returns and other control characters; YAML 1.1's extra line breaks.
    if text.bytes().any(|b| (b < 0x20 && b != b'\n') || b == 0x7f)
        || text.contains(['\u{85}', '\u{2028}', '\u{2029}', '\u{feff}'])
    {
        return None;
    }
    let mut p = Reader::new(text);
    let Some(indent) = p.peek() else {
        return Some(Value::Null);
    };
    let value = p.block(indent)?;
    match p.peek() {
        Some(_) => None,
        None => Some(value),
    }
}

/// One line: its indentation (spaces) and what follows it.
struct Line<'a> {
    indent: usize,
    text: &'a str,
}

struct Reader<'a> {
    lines: Vec<Line<'a>>,
    pos: usize,
}

/// `- item` or `-` alone: a block sequence entry.
fn is_dash(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// Empty, or a comment (outside block scalars).
fn is_blank(text: &str) -> bool {
    text.is_empty() || text.starts_with('#')
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        let lines = text
            .split('\n')
            .map(|raw| {
                let body = raw.trim_start_matches(' ');
                Line {
                    indent: raw.len() - body.len(),
                    text: body,
                }
            })
            .collect();
        Reader { lines, pos: 0 }
    }

    /// The indentation of the next line that holds something, skipping blank lines and comments.
    fn peek(&mut self) -> Option<usize> {
        while self.lines.get(self.pos).is_some_and(|l| is_blank(l.text)) {
            self.pos += 1;
        }
        self.lines.get(self.pos).map(|l| l.indent)
    }

    fn text(&self) -> &'a str {
        self.lines[self.pos].text
    }

    /// The block node starting on the next line, which is indented by `indent`.
    fn block(&mut self, indent: usize) -> Option<Value> {
        if is_dash(self.text()) {
            self.sequence(indent)
        } else {
            self.mapping(indent)
        }
    }

    /// How many entries the block node at `n` starting on the current line has, to make room
    /// for them at once (a guess: it only sizes the room): its lines indented by exactly `n`
    /// that are a dash (`dash`: a sequence, which a key at `n` ends) or a key (a mapping, which
    /// skips the dashes of a sequence written at its keys' indentation), up to the first line
    /// indented less.
    fn entries_ahead(&self, n: usize, dash: bool) -> usize {
        let mut count = 0;
        for line in &self.lines[self.pos..] {
            if is_blank(line.text) || line.indent > n {
                continue;
            }
            if line.indent < n {
                break;
            }
            match (is_dash(line.text), dash) {
                (true, true) | (false, false) => count += 1,
                (false, true) => break,
                (true, false) => {}
            }
        }
        count
    }

    fn sequence(&mut self, n: usize) -> Option<Value> {
        let mut items = Vec::with_capacity(self.entries_ahead(n, true));
        loop {
            match self.peek() {
                Some(i) if i == n && is_dash(self.text()) => {}
                Some(i) if i > n => return None,
                _ => break,
            }
            let rest = &self.text()[1..];
            let item = rest.trim_start_matches(' ');
            if is_blank(item) {
                // `-` alone: the item is the block below it, or null.
                self.pos += 1;
                items.push(match self.peek() {
                    Some(i) if i > n => self.block(i)?,
                    _ => Value::Null,
                });
                continue;
            }
            // The item's own text starts a node at its column, on this line.
            let column = n + 1 + (rest.len() - item.len());
            self.lines[self.pos] = Line {
                indent: column,
                text: item,
            };
            items.push(if is_dash(item) || key(item).is_some() {
                self.block(column)?
            } else {
                self.inline(n)?
            });
        }
        Some(Value::Array(items))
    }

    fn mapping(&mut self, n: usize) -> Option<Value> {
        let mut map = Map::with_capacity(self.entries_ahead(n, false));
        loop {
            match self.peek() {
                Some(i) if i == n && !is_dash(self.text()) => {}
                Some(i) if i > n => return None,
                _ => break,
            }
            let (name, after) = key(self.text())?;
            if name == "<<" {
                return None;
            }
            // (The key hashed once: its entry both tells a key given twice and takes the value.)
            let serde_json::map::Entry::Vacant(slot) = map.entry(name) else {
                return None;
            };
            let value = after.trim_start_matches(' ');
            let value = if is_blank(value) {
                self.pos += 1;
                match self.peek() {
                    Some(i) if i > n => self.block(i)?,
                    // A sequence may sit at its key's own indentation.
                    Some(i) if i == n && is_dash(self.text()) => self.sequence(n)?,
                    _ => Value::Null,
                }
            } else {
                self.lines[self.pos].text = value;
                self.inline(n)?
            };
            slot.insert(value);
        }
        Some(Value::Object(map))
    }

    /// A value written on the current line, after a key or a dash indented by `n`. What follows
    /// on deeper lines would continue it (or be an error): that is left to the full reader.
    fn inline(&mut self, n: usize) -> Option<Value> {
        let text = self.text();
        let (value, rest) = match text.as_bytes()[0] {
            b'|' | b'>' => return self.block_scalar(n),
            b'[' => flow_sequence(text)?,
            b'{' => flow_mapping(text)?,
            b'\'' | b'"' => {
                let (s, rest) = quoted(text)?;
                (Value::String(s), rest)
            }
            _ => {
                let end = comment_start(text).unwrap_or(text.len());
                let s = text[..end].trim_end_matches(' ');
                // `a: b: c` and `a: b:` are errors in block context.
                if s.contains(": ") || s.ends_with(':') || !plain_start(s) {
                    return None;
                }
                // The rest is a comment (after a space) or nothing.
                (scalar(s)?, "")
            }
        };
        if !ends_line(rest) {
            return None;
        }
        self.pos += 1;
        match self.peek() {
            Some(i) if i > n => None,
            _ => Some(value),
        }
    }

    /// A `|` (literal) or `>` (folded) block scalar whose header is the current line, under a key
    /// or dash indented by `n`. Kept simple: clip or strip chomping, no indentation indicator,
    /// no leading empty lines, and (folded) no more-indented lines.
    fn block_scalar(&mut self, n: usize) -> Option<Value> {
        let header = self.text();
        let folded = header.starts_with('>');
        let mut rest = &header[1..];
        let strip = rest.starts_with('-');
        if strip {
            rest = &rest[1..];
        }
        if !(rest.is_empty() || rest.starts_with(' ') && is_blank(rest.trim_start_matches(' '))) {
            return None;
        }
        let start = self.pos + 1;
        let first = self.lines.get(start)?;
        let indent = first.indent;
        if first.text.is_empty() || indent <= n {
            return None;
        }
        // The content runs to the last line indented at least as much; lines of spaces only
        // inside it are empty lines (unless they hold more spaces than the indentation).
        let mut end = start;
        for (j, l) in self.lines.iter().enumerate().skip(start) {
            if l.text.is_empty() {
                if l.indent > indent {
                    return None;
                }
            } else if l.indent < indent {
                break;
            } else {
                end = j + 1;
            }
        }
        let mut out = String::new();
        let mut empty = 0;
        for (j, l) in self.lines[start..end].iter().enumerate() {
            if l.text.is_empty() {
                empty += 1;
                continue;
            }
            if folded {
                if l.indent > indent {
                    return None;
                }
                if j > 0 {
                    match empty {
                        0 => out.push(' '),
                        k => out.extend(std::iter::repeat_n('\n', k)),
                    }
                }
            } else {
                if j > 0 {
                    out.extend(std::iter::repeat_n('\n', empty + 1));
                }
                out.extend(std::iter::repeat_n(' ', l.indent - indent));
            }
            out.push_str(l.text);
            empty = 0;
        }
        // Clip keeps the last line break, if the text has one after the content.
        if !strip && end < self.lines.len() {
            out.push('\n');
        }
        self.pos = end;
        match self.peek() {
            Some(i) if i > n => None,
            _ => Some(Value::String(out)),
        }
    }
}

/// A mapping key at the start of `text` and what follows its `:`; `None` when the line is not
/// a `key: ...` line the fast reader takes (keys that YAML would type as numbers, booleans or
/// null are left to the full reader).
fn key(text: &str) -> Option<(String, &str)> {
    let (name, rest) = match text.as_bytes()[0] {
        b'\'' | b'"' => quoted(text)?,
        _ => {
            if !plain_start(text) {
                return None;
            }
            let b = text.as_bytes();
            let colon = (0..b.len()).find(|&i| {
                b[i] == b':' && b.get(i + 1).is_none_or(|&c| c == b' ')
                    || b[i] == b'#' && i > 0 && b[i - 1] == b' '
            })?;
            if b[colon] == b'#' {
                return None;
            }
            let name = text[..colon].trim_end_matches(' ');
            if !matches!(scalar(name), Some(Value::String(_))) {
                return None;
            }
            (name.to_string(), &text[colon..])
        }
    };
    // libyaml takes a simple key of at most 1024 characters.
    if name.len() > 1000 {
        return None;
    }
    let after = rest.strip_prefix(':')?;
    (after.is_empty() || after.starts_with(' ')).then_some((name, after))
}

/// Whether a plain scalar may start this way (not with an indicator).
fn plain_start(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        None => true,
        Some(
            b'&' | b'*' | b'!' | b'%' | b'@' | b'`' | b',' | b'[' | b']' | b'{' | b'}' | b'#'
            | b'|' | b'>' | b'\'' | b'"',
        ) => false,
        Some(b'-' | b'?' | b':') => b.get(1).is_some_and(|c| !b" ,[]{}".contains(c)),
        Some(_) => true,
    }
}

/// Where a comment starts in `text` (a `#` after a space), if anywhere.
fn comment_start(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    (1..b.len()).find(|&i| b[i] == b'#' && b[i - 1] == b' ')
}

/// Nothing but spaces, or spaces then a comment.
fn ends_line(rest: &str) -> bool {
    let t = rest.trim_start_matches(' ');
    t.is_empty() || t.starts_with('#') && t.len() < rest.len()
}

/// A plain scalar's value as YAML 1.2's core schema types it (as the full reader does): null,
/// booleans, and numbers (decided by the full reader itself), else the text.
fn scalar(s: &str) -> Option<Value> {
    Some(match s {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => match s.as_bytes()[0] {
            b'0'..=b'9' if s.bytes().all(|b| b.is_ascii_digit()) => {
                if s.len() > 1 && s.starts_with('0') {
                    // Leading zeros: a string in YAML 1.2.
                    Value::String(s.to_string())
                } else {
                    match s.parse::<u64>() {
                        Ok(u) => Value::from(u),
                        Err(_) => super::scalar(s)?,
                    }
                }
            }
            b'0'..=b'9' | b'+' | b'-' | b'.' => super::scalar(s)?,
            _ => Value::String(s.to_string()),
        },
    })
}

/// A quoted scalar at the start of `text`, closed on the same line, and what follows it.
fn quoted(text: &str) -> Option<(String, &str)> {
    let quote = text.as_bytes()[0];
    let mut out = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (b'\'', '\'') => {
                if text[i + 1..].starts_with('\'') {
                    chars.next();
                    out.push('\'');
                } else {
                    return Some((out, &text[i + 1..]));
                }
            }
            (b'"', '"') => return Some((out, &text[i + 1..])),
            (b'"', '\\') => out.push(match chars.next()?.1 {
                '\\' => '\\',
                '"' => '"',
                '/' => '/',
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                _ => return None,
            }),
            _ => out.push(c),
        }
    }
    None
}

/// One item of a flow collection: a quoted scalar, or a plain one up to `,` or the closing
/// bracket. Nested collections are left to the full reader.
fn flow_item(text: &str, close: u8) -> Option<(Value, &str)> {
    match text.as_bytes().first()? {
        b'\'' | b'"' => {
            let (s, rest) = quoted(text)?;
            Some((Value::String(s), rest))
        }
        _ => {
            let b = text.as_bytes();
            let end = (0..b.len())
                .find(|&i| b[i] == b',' || b[i] == close)
                .unwrap_or(b.len());
            let s = text[..end].trim_end_matches(' ');
            // In flow context `?` and `:` start a key or a value even before a non-space.
            if s.is_empty()
                || !plain_start(s)
                || s.starts_with(['?', ':'])
                || s.bytes().any(|c| b"[]{}#".contains(&c))
                || s.contains(": ")
                || s.ends_with(':')
            {
                return None;
            }
            Some((scalar(s)?, &text[end..]))
        }
    }
}

/// `[a, 'b', 3]` on one line, and what follows it.
fn flow_sequence(text: &str) -> Option<(Value, &str)> {
    let mut rest = text[1..].trim_start_matches(' ');
    let mut items = Vec::new();
    if let Some(after) = rest.strip_prefix(']') {
        return Some((Value::Array(items), after));
    }
    loop {
        let (item, after) = flow_item(rest, b']')?;
        items.push(item);
        rest = after.trim_start_matches(' ');
        if let Some(after) = rest.strip_prefix(']') {
            return Some((Value::Array(items), after));
        }
        rest = rest.strip_prefix(',')?.trim_start_matches(' ');
        if rest.starts_with(']') {
            return None;
        }
    }
}

/// `{a: 1, b: 'x'}` on one line (keys plain, values scalars), and what follows it.
fn flow_mapping(text: &str) -> Option<(Value, &str)> {
    let mut rest = text[1..].trim_start_matches(' ');
    let mut map = Map::new();
    if let Some(after) = rest.strip_prefix('}') {
        return Some((Value::Object(map), after));
    }
    loop {
        let colon = rest.find(": ")?;
        let name = &rest[..colon];
        if name.is_empty()
            || !plain_start(name)
            || name
                .bytes()
                .any(|c| b"[]{},#:'\"".contains(&c) || c == b' ')
            || !matches!(scalar(name), Some(Value::String(_)))
            || map.contains_key(name)
            || name == "<<"
        {
            return None;
        }
        let (value, after) = flow_item(rest[colon + 2..].trim_start_matches(' '), b'}')?;
        map.insert(name.to_string(), value);
        rest = after.trim_start_matches(' ');
        if let Some(after) = rest.strip_prefix('}') {
            return Some((Value::Object(map), after));
        }
        rest = rest.strip_prefix(',')?.trim_start_matches(' ');
        if rest.starts_with('}') {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse;
    use serde_json::Value;

    /// What the full reader makes of `text`, as JSON text (key order matters).
    fn full(text: &str) -> Option<String> {
        super::super::read(text, &super::super::Ctx::default())
            .ok()
            .map(|v| v.to_string())
    }

    /// Whether the fast reader took `text`; when it did, the full reader must agree.
    fn agrees(text: &str) -> bool {
        let Some(fast) = parse(text) else {
            return false;
        };
        let fast = fast.to_string();
        assert_eq!(Some(&fast), full(text).as_ref(), "on {text:?}");
        true
    }

    #[test]
    fn counts_the_entries_ahead_of_a_block() {
        let text = "models:\n  - name: a\n    description: x\n\n    # note\n    columns:\n      - name: id\n      - name: b\n  - name: c\ntests:\n- t\n- u\nseeds: []\n";
        let mut r = super::Reader::new(text);
        // The top mapping: three keys (the dashes of `tests:` at its indentation skipped).
        assert_eq!(r.entries_ahead(0, false), 3);
        // `models:`'s sequence: two items; its first item's mapping: three keys.
        r.pos = 1;
        assert_eq!(r.entries_ahead(2, true), 2);
        r.lines[1] = super::Line {
            indent: 4,
            text: "name: a",
        };
        assert_eq!(r.entries_ahead(4, false), 3);
        // `columns:`'s sequence: two; `tests:`'s, at its key's indentation: two, ended by a key.
        r.pos = 6;
        assert_eq!(r.entries_ahead(6, true), 2);
        r.pos = 10;
        assert_eq!(r.entries_ahead(0, true), 2);
    }

    #[test]
    fn reads_the_usual_shapes_as_the_full_reader_does() {
        let taken = [
            "version: 2\nmodels:\n  - name: a\n    description: >\n      One line,\n      and on.\n\n      Second paragraph.\n    columns:\n      - name: id\n        data_tests:\n          - unique\n          - not_null\n",
            "models:\n- name: a\n  config: {materialized: table, enabled: true}\n  tags: [x, 'y', \"z\", 3, 1.5, null]\n",
            "a: |\n  keep\n    indented\n\n  lines\nb: |-\n  stripped\nc: >-\n  folded\n  stripped\n",
            "a: 'it''s'   # comment\nb: \"tab\\tnew\\nline \\\"q\\\" \\\\ \\/\"\nc: plain text with # not a comment\nd: x #comment\n",
            "a:\nb: ~\nc: Null\nd: TRUE\ne: false\nf: 007\ng: 0x1F\nh: -3\ni: +4\nj: .5\nk: 1e3\nl: 18446744073709551615\nm: .inf\nn: 1_000\n",
            "- - a\n  - b\n- -\n    c: 1\n-\n- k: v\n  l:\n  - 1\n  - 2\n",
            "  indented: doc\n  other: [ ]\n  empty: {}\n",
            "url: http://example.com/a:b\ntime: 12:30\n\"quoted key\": 1\n'single key': 2\n-dash: 3\n",
            "# only a comment\n",
            "",
            "a: |\n  text\n  # not a comment\nb: 1",
            "a: >\n  ends the file",
        ];
        for text in taken {
            assert!(agrees(text), "not taken: {text:?}");
            assert!(
                agrees(text.trim_end()) || text.trim_end().is_empty(),
                "{text:?}"
            );
        }
        assert_eq!(parse(""), Some(Value::Null));
    }

    #[test]
    fn leaves_the_rest_to_the_full_reader() {
        let left = [
            "a: &x 1\nb: *x\n",
            "a: !tag 1\n",
            "base: {a: 1}\nc:\n  <<: {b: 2}\n",
            "a: 1\na: 2\n",
            "a: multi\n  line plain\n",
            "a: 'multi\n  line quoted'\n",
            "a:\tb\n",
            "a: b\r\n",
            "a: b: c\n",
            "a: [1, [2]]\n",
            "a: [1,\n  2]\n",
            "a: |+\n  keep\n\n",
            "a: |2\n   x\n",
            "a: >\n  x\n    more indented\n",
            "---\na: 1\n",
            "1: number key\n",
            "true: bool key\n",
            "just a scalar\n",
            "a: \"\\u00e9\"\n",
            "a: - b\n",
            "a:\n  - b\n  c: 1\n",
            "a: 1\n b: 2\n",
            "? complex\n: value\n",
            "a: {b: {c: 1}}\n",
            "a: [b, ]\n",
            // Past u64: the full reader's error.
            "a: 18446744073709551616\n",
        ];
        for text in left {
            assert_eq!(parse(text), None, "taken: {text:?}");
        }
    }

    /// Every YAML file of this repository (the demo, fixtures, CI files), as written and with
    /// single characters changed, deleted or added: wherever the fast reader takes a text, the
    /// full reader reads the same value (and does not call it an error).
    #[test]
    fn agrees_with_the_full_reader_on_the_repository_and_mutations_of_it() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = std::env::var("SLUICE_YAML_AGREE_DIR").map(std::path::PathBuf::from);
        let files = yaml_files(dir.as_deref().unwrap_or(root));
        assert!(files.len() > 50, "{}", files.len());
        let (mut taken, mut mutated) = (0, 0);
        const INSERTED: &[u8] = b" :-#'\"|>[]{},\nx1.";
        let mut seed: u64 = 0x5eed;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n.max(1)
        };
        for text in &files {
            taken += usize::from(agrees(text));
            agrees(text.trim_end());
            for _ in 0..20 {
                let mut b = text.clone().into_bytes();
                if b.is_empty() {
                    break;
                }
                let at = next(b.len());
                match next(3) {
                    0 => {
                        b.remove(at);
                    }
                    1 => b.insert(at, INSERTED[next(INSERTED.len())]),
                    _ => b[at] = INSERTED[next(INSERTED.len())],
                }
                if let Ok(t) = String::from_utf8(b) {
                    mutated += usize::from(agrees(&t));
                }
            }
        }
        eprintln!(
            "fast reader took {taken} of {} files, {mutated} mutations",
            files.len()
        );
        // Most files are in the fast reader's subset (it is worth having).
        assert!(
            dir.is_ok() || taken * 2 > files.len(),
            "{taken} of {}",
            files.len()
        );
        assert!(mutated > 0);
    }

    fn yaml_files(dir: &std::path::Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            entries.sort();
            for p in entries {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if p.is_dir() {
                    if !name.starts_with('.') && name != "target" && name != "node_modules" {
                        stack.push(p);
                    }
                } else if name.ends_with(".yml") || name.ends_with(".yaml") {
                    out.extend(std::fs::read_to_string(&p));
                }
            }
        }
        out
    }
}
#[cfg(test)]
mod dbg {
    #[test]
    fn dbg_lines() {
        for t in [
            "a: [:>=0.8.0\", \"<2.0.0\"]\n",
            "a: [\"models\"]\n",
            "a: [:x]\n",
            "a: :x\n",
            "a: [-x]\n",
            "a: [?x]\n",
        ] {
            eprintln!(
                "{t:?} -> {:?} / {:?}",
                super::parse(t),
                super::super::read(t, &super::super::Ctx::default())
            );
        }
    }
}
