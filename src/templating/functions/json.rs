//! JSON and YAML for templates: `tojson` (function and Jinja2's HTML-safe filter),
//! `fromjson`, `toyaml`, `fromyaml`, and [`to_json`], the conversion the other globals use
//! (`config(meta=...)`, ...). Output is what Python's `json.dumps` writes: its separators,
//! `ensure_ascii` escapes and float text.
//!
//! Apart from the dbt globals in `mod.rs` because it is one self-contained serializer, with
//! its own depth limit for values that contain themselves.

use std::collections::BTreeMap;

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, ErrorKind};

use crate::templating::calls::err;

/// How deep `tojson` and the other conversions to JSON go (Python's `json.dumps` stops at its
/// recursion limit, about 1,000; a value that contains itself never ends).
const MAX_JSON_DEPTH: usize = 256;

/// minijinja value -> JSON (`null` for a value nested deeper than JSON conversion goes).
pub(crate) fn to_json(v: &Value) -> serde_json::Value {
    if crate::templating::pyvalues::nests_deeper_than(v, MAX_JSON_DEPTH) {
        return serde_json::Value::Null;
    }
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// Refuses a value `tojson` cannot write: one that contains itself (or nests that deep).
fn json_depth_ok(v: &Value) -> Result<(), Error> {
    if crate::templating::pyvalues::nests_deeper_than(v, MAX_JSON_DEPTH) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("tojson: the value nests more than {MAX_JSON_DEPTH} levels deep (does a list, dict or namespace contain itself?)"),
        ));
    }
    Ok(())
}

pub(super) fn tojson(v: Value, kwargs: Kwargs) -> Result<String, Error> {
    json_depth_ok(&v)?;
    let sort: bool = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
    let j = to_json(&v);
    let j = if sort { sort_json(j) } else { j };
    let mut out = String::new();
    python_json(&j, None, 0, &mut out);
    Ok(out)
}

/// The `tojson` filter as Jinja2 has it: keys sorted (`json.dumps_kwargs`), `<`, `>`, `&` and `'`
/// escaped for HTML, `indent=` as `json.dumps` takes it.
pub(super) fn tojson_filter(
    v: Value,
    indent: Option<usize>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    json_depth_ok(&v)?;
    let indent = match indent {
        Some(i) => Some(i),
        None => kwargs.get::<Option<usize>>("indent")?,
    };
    let mut out = String::new();
    python_json(&sort_json(to_json(&v)), indent, 0, &mut out);
    let out = out
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027");
    Ok(Value::from_safe_string(out))
}

/// JSON as Python's `json.dumps` writes it by default: `", "` and `": "` separators (`","` and
/// newlines with `indent`), non-ASCII characters as `\uXXXX`, floats as Python prints them.
fn python_json(v: &serde_json::Value, indent: Option<usize>, level: usize, out: &mut String) {
    let newline = |out: &mut String, level: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n * level));
        }
    };
    let sep = if indent.is_some() { "," } else { ", " };
    match v {
        serde_json::Value::Array(a) if !a.is_empty() => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, level + 1);
                python_json(x, indent, level + 1, out);
            }
            newline(out, level);
            out.push(']');
        }
        serde_json::Value::Object(m) if !m.is_empty() => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, level + 1);
                json_string(k, out);
                out.push_str(": ");
                python_json(x, indent, level + 1, out);
            }
            newline(out, level);
            out.push('}');
        }
        serde_json::Value::String(s) => json_string(s, out),
        serde_json::Value::Number(n) if n.is_f64() => out.push_str(
            &crate::templating::pyformat::py_float(n.as_f64().unwrap_or(0.0)),
        ),
        other => out.push_str(&other.to_string()),
    }
}

/// A JSON string with Python's `ensure_ascii` escapes.
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn sort_json(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let sorted: BTreeMap<String, serde_json::Value> =
                m.into_iter().map(|(k, v)| (k, sort_json(v))).collect();
            serde_json::Value::Object(sorted.into_iter().collect())
        }
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(sort_json).collect())
        }
        o => o,
    }
}

pub(super) fn fromjson(s: String, default: Option<Value>) -> Result<Value, Error> {
    match serde_json::from_str::<serde_json::Value>(&s) {
        Ok(v) => Ok(Value::from_serialize(v)),
        Err(e) => default.ok_or_else(|| err(format!("fromjson: {e}"))),
    }
}

pub(super) fn toyaml(v: Value) -> String {
    crate::project::yaml::to_string(&to_json(&v))
}

pub(super) fn fromyaml(s: String, default: Option<Value>) -> Result<Value, Error> {
    match crate::project::yaml::parse(&s, std::path::Path::new("<fromyaml>")) {
        Ok(v) => Ok(Value::from_serialize(v)),
        Err(e) => default.ok_or_else(|| err(format!("fromyaml: {}", e.message))),
    }
}
