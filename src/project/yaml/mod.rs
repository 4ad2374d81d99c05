//! The only file that names the YAML crate: parse YAML text into `serde_json::Value` (ordered),
//! with errors that point at the file, line and column.
//!
//! Why JSON values: every later stage (config merging, Jinja contexts, manifest output) wants one
//! dynamic value type, and `serde_json::Value` with `preserve_order` keeps the user's key order.

use std::cell::{Cell, RefCell};
use std::path::Path;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde_json::{Map, Value};

use crate::diagnostics::{Code, Diagnostic, Location};

mod fast;

/// Parses one YAML document, as PyYAML's `safe_load` reads it for dbt: a key given twice in one
/// mapping keeps its last value, silently; merge keys (`<<: *base`, `<<: [*a, *b]`) are applied.
/// An empty document is `null`.
pub fn parse(text: &str, path: &Path) -> Result<Value, Diagnostic> {
    // A UTF-8 byte-order mark is not content (PyYAML skips it).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(value) = fast::parse(text) {
        return Ok(value);
    }
    let ctx = Ctx::default();
    read(text, &ctx).map_err(|e| yaml_error(&e, path))
}

/// [`parse`] for `dbt_project.yml` and properties files, as dbt 1.10 reads them: their text
/// without trailing whitespace (dbt strips these files first, so a block scalar ending the file
/// loses its last line break), and one warning per key given twice in a mapping, naming file,
/// line, column and key (dbt's `DuplicateYAMLKeysDeprecation`). The last value is kept, as in
/// dbt. A key that overrides one brought in by a merge key is not a duplicate.
pub fn parse_checked(text: &str, path: &Path) -> Result<(Value, Vec<Diagnostic>), Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).trim_end();
    // Most files are in the subset the fast reader takes (it gives up on duplicate keys).
    if let Some(value) = fast::parse(text) {
        return Ok((value, Vec::new()));
    }
    // The position of a duplicate is only known inside the parser, at the duplicate key: each
    // pass stops at the first duplicate it has not located yet (its error carries the key's line
    // and column) and the next pass lets it through. Duplicates are rare, so are extra passes;
    // past `MAX_LOCATED` of them the rest are reported by name only.
    const MAX_LOCATED: usize = 20;
    let mut located: Vec<(String, usize, usize)> = Vec::new();
    loop {
        let ctx = Ctx {
            check: Some(Check {
                allowed: if located.len() < MAX_LOCATED {
                    located.len()
                } else {
                    usize::MAX
                },
                ..Check::default()
            }),
        };
        let result = read(text, &ctx);
        let check = ctx.check.unwrap_or_default();
        match result {
            Ok(value) => {
                let mut warnings: Vec<Diagnostic> = Vec::new();
                let mut seen = std::collections::BTreeSet::new();
                for (key, line, col) in &located {
                    // An anchored mapping is read again at each alias: report it once.
                    if *line == 0 {
                        warnings.push(duplicate_warning(key).in_file(path));
                    } else if seen.insert((*line, *col)) {
                        warnings.push(duplicate_warning(key).at(Location::at(path, *line, *col)));
                    }
                }
                for key in check.unlocated.into_inner().iter().skip(located.len()) {
                    warnings.push(duplicate_warning(key).in_file(path));
                }
                return Ok((value, warnings));
            }
            Err(e) => match (check.pending.into_inner(), e.location()) {
                (Some(key), loc) => located.push((
                    key,
                    loc.as_ref().map_or(0, |l| l.line()),
                    loc.as_ref().map_or(0, |l| l.column()),
                )),
                (None, _) => return Err(yaml_error(&e, path)),
            },
        }
    }
}

fn duplicate_warning(key: &str) -> Diagnostic {
    Diagnostic::warning(
        Code::DuplicateYamlKey,
        format!("duplicate key `{key}` in a mapping: the last value is kept, as dbt keeps it"),
    )
    .with_hint("remove one of the two entries (dbt 1.10 warns about this too: DuplicateYAMLKeysDeprecation)")
}

fn read(text: &str, ctx: &Ctx) -> Result<Value, serde_yaml::Error> {
    JsonSeed(ctx).deserialize(serde_yaml::Deserializer::from_str(text))
}

/// A plain scalar typed by the full reader (for the fast reader's numbers), if it is a scalar.
fn scalar(plain: &str) -> Option<Value> {
    read(plain, &Ctx::default())
        .ok()
        .filter(|v| !v.is_object() && !v.is_array())
}

fn yaml_error(e: &serde_yaml::Error, path: &Path) -> Diagnostic {
    let d = Diagnostic::error(Code::Yaml, format!("invalid YAML: {}", strip_location(e)));
    match e.location() {
        Some(loc) => d.at(Location::at(path, loc.line(), loc.column())),
        None => d.in_file(path),
    }
    .with_hint("check the indentation and that every `key: value` pair is well formed")
}

fn strip_location(e: &serde_yaml::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// State of one read. Without `check`, duplicate keys are overwritten silently.
#[derive(Default)]
struct Ctx {
    check: Option<Check>,
}

#[derive(Default)]
struct Check {
    /// How many duplicates this pass lets through (those located by earlier passes).
    allowed: usize,
    /// Duplicates met so far in this pass.
    seen: Cell<usize>,
    /// The key of the duplicate this pass stopped at.
    pending: RefCell<Option<String>>,
    /// Every duplicate's key, in the order met (for those not located).
    unlocated: RefCell<Vec<String>>,
}

/// A JSON value read straight from YAML events, without building the YAML crate's own value tree
/// first (that tree and its conversion were a third of the time of loading a large project).
/// Scalars keep YAML's types; tags are dropped; mapping keys become strings (`true`, `1`, `null`
/// as written by YAML).
#[derive(Clone, Copy)]
struct JsonSeed<'a>(&'a Ctx);

impl<'de> DeserializeSeed<'de> for JsonSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        Ok(Value::from(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        Ok(Value::from(u))
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        // Like serde_json, a NaN or an infinity becomes null.
        Ok(Value::from(f))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut own = Map::new();
        // The mappings merge keys bring in, in PyYAML's order (see `merged`).
        let mut merged: Vec<Map<String, Value>> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed {
            own: &own,
            ctx: self.0,
        })? {
            let v = map.next_value_seed(self)?;
            if key == "<<" {
                merge_sources(v, &mut merged).map_err(de::Error::custom)?;
            } else {
                own.insert(key, v);
            }
        }
        if merged.is_empty() {
            return Ok(Value::Object(own));
        }
        // PyYAML puts the merged pairs first and the mapping's own after them, and later pairs
        // win: a key written in the mapping overrides a merged one, and in `<<: [*a, *b]` the
        // earlier `a` overrides `b`. A key keeps the place where it first appeared.
        let mut out = Map::new();
        for m in merged {
            for (k, v) in m {
                out.insert(k, v);
            }
        }
        for (k, v) in own {
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // A tagged value (`!tag value`): the tag is dropped.
        let (_tag, contents): (serde_yaml::Value, _) = data.variant()?;
        contents.newtype_variant_seed(self)
    }
}

/// The mappings a merge key's value brings in, in the order PyYAML applies them: a mapping, or
/// a list of mappings applied last to first (so the first one wins).
fn merge_sources(v: Value, merged: &mut Vec<Map<String, Value>>) -> Result<(), String> {
    const EXPECTED: &str = "a merge key `<<` takes a mapping or a list of mappings";
    match v {
        Value::Object(m) => merged.push(m),
        Value::Array(items) => {
            let mut maps = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::Object(m) => maps.push(m),
                    other => return Err(format!("{EXPECTED}, not {other}")),
                }
            }
            merged.extend(maps.into_iter().rev());
        }
        other => return Err(format!("{EXPECTED}, not {other}")),
    }
    Ok(())
}

/// Reads a mapping key as the string JSON needs, and notices a key the mapping already has. The
/// duplicate is reported from inside the key's own deserialisation, so that the YAML crate gives
/// the error the key's line and column.
struct KeySeed<'a> {
    own: &'a Map<String, Value>,
    ctx: &'a Ctx,
}

impl KeySeed<'_> {
    fn key<E: de::Error>(self, name: String) -> Result<String, E> {
        if let Some(check) = &self.ctx.check {
            if name != "<<" && self.own.contains_key(&name) {
                let n = check.seen.get();
                check.seen.set(n + 1);
                check.unlocated.borrow_mut().push(name.clone());
                if n >= check.allowed {
                    *check.pending.borrow_mut() = Some(name.clone());
                    return Err(E::custom(format!("duplicate key `{name}`")));
                }
            }
        }
        Ok(name)
    }
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<String, E> {
        self.key(b.to_string())
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<String, E> {
        self.key(i.to_string())
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<String, E> {
        self.key(u.to_string())
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<String, E> {
        self.key(serde_yaml::Number::from(f).to_string())
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<String, E> {
        self.key(s.to_owned())
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<String, E> {
        self.key(s)
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        self.key("null".to_string())
    }
    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        self.key("null".to_string())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<String, A::Error> {
        let v = JsonSeed(self.ctx).visit_seq(seq)?;
        self.key(complex_key(&v))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
        let v = JsonSeed(self.ctx).visit_map(map)?;
        self.key(complex_key(&v))
    }
}

/// A list or mapping used as a key, written as YAML (flow style where the YAML crate picks it).
fn complex_key(v: &Value) -> String {
    serde_yaml::to_string(v)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Serialises a value as YAML (for `toyaml`).
pub(crate) fn to_string(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap_or_default()
}

/// Finds the 1-based line of `- name: <name>` (or `name: <name>`) in YAML text, for diagnostics
/// that point at an entry in a properties file.
pub(crate) fn line_of_name(text: &str, name: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.strip_prefix("name:")
                .map(|rest| rest.trim().trim_matches(|c| c == '"' || c == '\'') == name)
                .unwrap_or(false)
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_collections_keys_tags_and_aliases() {
        let text = r#"
ints: [1, -2, 0x10, 18446744073709551615]
floats: [1.5, -0.25, 1e3, .inf]
flags: [true, false, yes]
nothing: [null, ~]
strings: ['1', "two", plain text, '{{ doc("x") }}']
folded: >
  one
  two
nested: {a: {b: [c]}}
true: bool key
1: number key
null: null key
base: &anchor {x: 1}
copy: *anchor
tagged: !custom {y: 2}
"#;
        let v = parse(text, Path::new("t.yml")).unwrap();
        let expected = serde_json::json!({
            "ints": [1, -2, 16, 18446744073709551615u64],
            "floats": [1.5, -0.25, 1000.0, null],
            "flags": [true, false, "yes"],
            "nothing": [null, null],
            "strings": ["1", "two", "plain text", "{{ doc(\"x\") }}"],
            "folded": "one two\n",
            "nested": {"a": {"b": ["c"]}},
            "true": "bool key",
            "1": "number key",
            "null": "null key",
            "base": {"x": 1},
            "copy": {"x": 1},
            "tagged": {"y": 2}
        });
        assert_eq!(v, expected);
        // Key order is the file's order.
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.first().map(|k| k.as_str()), Some("ints"));
        assert_eq!(keys.last().map(|k| k.as_str()), Some("tagged"));
    }

    #[test]
    fn empty_document_is_null_and_errors_point_at_the_file() {
        assert_eq!(parse("", Path::new("e.yml")).unwrap(), Value::Null);
        assert_eq!(
            parse("# only a comment\n", Path::new("e.yml")).unwrap(),
            Value::Null
        );
        let d = parse("a: [1, 2\n", Path::new("bad.yml")).unwrap_err();
        assert!(d.to_string().contains("bad.yml:"), "{d}");
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_in_the_first_place() {
        let text = "a: 1\nb: 2\na: 3\n";
        let v = parse(text, Path::new("d.yml")).unwrap();
        assert_eq!(v, serde_json::json!({"a": 3, "b": 2}));
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b"]);
        // The checked reader warns once per duplicate, at the repeated key.
        let text = "models:\n  p:\n    +materialized: view\n    +tags: [x]\n\n    +materialized: table\nname: x\nname: y\nname: z\n";
        let (v, warnings) = parse_checked(text, Path::new("dbt_project.yml")).unwrap();
        assert_eq!(v["models"]["p"]["+materialized"], "table");
        assert_eq!(v["name"], "z");
        let places: Vec<(String, Option<usize>, Option<usize>)> = warnings
            .iter()
            .map(|d| {
                let l = d.location.as_ref().unwrap();
                (d.message.clone(), l.line, l.column)
            })
            .collect();
        assert_eq!(places.len(), 3, "{places:?}");
        assert!(places[0].0.contains("`+materialized`"), "{places:?}");
        assert_eq!((places[0].1, places[0].2), (Some(6), Some(5)));
        assert!(places[1].0.contains("`name`"), "{places:?}");
        assert_eq!((places[1].1, places[2].1), (Some(8), Some(9)));
        assert!(warnings
            .iter()
            .all(|d| d.severity == crate::diagnostics::Severity::Warning
                && d.to_string().contains("dbt_project.yml")));
        // No duplicates, no warnings; the plain reader never warns.
        assert!(parse_checked("a: 1\n", Path::new("x.yml"))
            .unwrap()
            .1
            .is_empty());
    }

    #[test]
    fn a_duplicate_inside_an_anchored_mapping_is_reported_once() {
        let text = "base: &b\n  x: 1\n  x: 2\none: *b\ntwo:\n  <<: *b\n";
        let (v, warnings) = parse_checked(text, Path::new("a.yml")).unwrap();
        assert_eq!(v["one"], serde_json::json!({"x": 2}));
        assert_eq!(v["two"], serde_json::json!({"x": 2}));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].location.as_ref().unwrap().line, Some(3));
    }

    #[test]
    fn merge_keys_follow_pyyaml() {
        let text = r#"
base: &base {a: 1, b: 2}
other: &other {b: 20, c: 30}
one:
  <<: *base
  b: own
list:
  <<: [*base, *other]
  d: 4
after:
  x: 0
  <<: *base
  a: own
nested:
  <<:
    <<: *base
    c: 3
  e: 5
inline:
  <<: {k: v}
"#;
        let (v, warnings) = parse_checked(text, Path::new("m.yml")).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(v["one"], serde_json::json!({"a": 1, "b": "own"}));
        // The first listed mapping wins over the later ones; PyYAML's key order: the later
        // mappings' keys first.
        assert_eq!(
            v["list"],
            serde_json::json!({"b": 2, "c": 30, "a": 1, "d": 4})
        );
        let keys: Vec<&String> = v["list"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["b", "c", "a", "d"]);
        // Merged keys come first wherever `<<` is written; own keys win.
        assert_eq!(v["after"], serde_json::json!({"a": "own", "b": 2, "x": 0}));
        let keys: Vec<&String> = v["after"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b", "x"]);
        assert_eq!(
            v["nested"],
            serde_json::json!({"a": 1, "b": 2, "c": 3, "e": 5})
        );
        assert_eq!(v["inline"], serde_json::json!({"k": "v"}));
        // Anchors and aliases of lists and scalars.
        let v = parse(
            "cols: &cols [a, b]\nuse: *cols\nname: &n x\nalias: *n\n",
            Path::new("s.yml"),
        )
        .unwrap();
        assert_eq!(v["use"], serde_json::json!(["a", "b"]));
        assert_eq!(v["alias"], "x");
        // A merge key needs mappings.
        let d = parse("a: &a [1]\nb:\n  <<: *a\n", Path::new("bad.yml")).unwrap_err();
        assert!(d.message.contains("merge key"), "{}", d.message);
    }
}
