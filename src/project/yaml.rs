//! The only file that names the YAML crate: parse YAML text into `serde_json::Value` (ordered),
//! with errors that point at the file, line and column.
//!
//! Why JSON values: every later stage (config merging, Jinja contexts, manifest output) wants one
//! dynamic value type, and `serde_json::Value` with `preserve_order` keeps the user's key order.

use std::path::Path;

use serde::de::{
    self, Deserialize, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde_json::Value;

use crate::diagnostics::{Diagnostic, Location};

/// Parses one YAML document. An empty document is `null`.
pub fn parse(text: &str, path: &Path) -> Result<Value, Diagnostic> {
    let value: JsonFromYaml = serde_yaml::from_str(text).map_err(|e| {
        let mut d = Diagnostic::error("yaml", format!("invalid YAML: {}", strip_location(&e)));
        d = match e.location() {
            Some(loc) => d.at(Location::at(path, loc.line(), loc.column())),
            None => d.in_file(path),
        };
        d.with_hint("check the indentation and that every `key: value` pair is well formed")
    })?;
    Ok(value.0)
}

fn strip_location(e: &serde_yaml::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// A JSON value read straight from YAML events, without building the YAML crate's own value tree
/// first (that tree and its conversion were a third of the time of loading a large project).
/// Scalars keep YAML's types; tags are dropped; mapping keys become strings (`true`, `1`, `null`
/// as written by YAML); a key given twice in one mapping is an error, as in the YAML crate.
struct JsonFromYaml(Value);

impl<'de> Deserialize<'de> for JsonFromYaml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor).map(JsonFromYaml)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
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
        d.deserialize_any(JsonVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(JsonFromYaml(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            let name = key_string(&key);
            if out.contains_key(&name) {
                return Err(de::Error::custom(duplicate_key(&key)));
            }
            let JsonFromYaml(v) = map.next_value()?;
            out.insert(name, v);
        }
        Ok(Value::Object(out))
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // A tagged value (`!tag value`): the tag is dropped.
        let (_tag, contents): (serde_yaml::Value, _) = data.variant()?;
        contents.newtype_variant::<JsonFromYaml>().map(|v| v.0)
    }
}

/// A mapping key as the string JSON needs.
fn key_string(k: &serde_yaml::Value) -> String {
    match k {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Null => "null".to_string(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// The YAML crate's words for a key given twice.
fn duplicate_key(k: &serde_yaml::Value) -> String {
    match k {
        serde_yaml::Value::Null => "duplicate entry with null key".to_string(),
        serde_yaml::Value::Bool(b) => format!("duplicate entry with key `{b}`"),
        serde_yaml::Value::Number(n) => format!("duplicate entry with key {n}"),
        serde_yaml::Value::String(s) => format!("duplicate entry with key {s:?}"),
        _ => "duplicate entry in YAML map".to_string(),
    }
}

/// Serialises a value as YAML (for `toyaml`).
pub fn to_string(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap_or_default()
}

/// Finds the 1-based line of `- name: <name>` (or `name: <name>`) in YAML text, for diagnostics
/// that point at an entry in a properties file.
pub fn line_of_name(text: &str, name: &str) -> Option<usize> {
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
        let d = parse("a: 1\nb: 2\na: 3\n", Path::new("d.yml")).unwrap_err();
        assert!(
            d.message.contains("duplicate entry with key \"a\""),
            "{}",
            d.message
        );
        assert!(d.to_string().contains("d.yml"), "{d}");
        let d = parse("a: [1, 2\n", Path::new("bad.yml")).unwrap_err();
        assert!(d.to_string().contains("bad.yml:"), "{d}");
    }
}
