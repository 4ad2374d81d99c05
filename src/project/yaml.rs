//! The only file that names the YAML crate: parse YAML text into `serde_json::Value` (ordered),
//! with errors that point at the file, line and column.
//!
//! Why JSON values: every later stage (config merging, Jinja contexts, manifest output) wants one
//! dynamic value type, and `serde_json::Value` with `preserve_order` keeps the user's key order.

use std::path::Path;

use serde_json::Value;

use crate::diagnostics::{Diagnostic, Location};

/// Parses one YAML document. An empty document is `null`.
pub fn parse(text: &str, path: &Path) -> Result<Value, Diagnostic> {
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let mut d = Diagnostic::error("yaml", format!("invalid YAML: {}", strip_location(&e)));
        d = match e.location() {
            Some(loc) => d.at(Location::at(path, loc.line(), loc.column())),
            None => d.in_file(path),
        };
        d.with_hint("check the indentation and that every `key: value` pair is well formed")
    })?;
    Ok(to_json(value))
}

fn strip_location(e: &serde_yaml::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn to_json(v: serde_yaml::Value) -> Value {
    match v {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64().map(Value::from).unwrap_or(Value::Null)
            }
        }
        serde_yaml::Value::String(s) => Value::String(s),
        serde_yaml::Value::Sequence(seq) => Value::Array(seq.into_iter().map(to_json).collect()),
        serde_yaml::Value::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = match k {
                    serde_yaml::Value::String(s) => s,
                    serde_yaml::Value::Bool(b) => b.to_string(),
                    serde_yaml::Value::Number(n) => n.to_string(),
                    serde_yaml::Value::Null => "null".to_string(),
                    other => serde_yaml::to_string(&other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                out.insert(key, to_json(v));
            }
            Value::Object(out)
        }
        serde_yaml::Value::Tagged(t) => to_json(t.value),
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
