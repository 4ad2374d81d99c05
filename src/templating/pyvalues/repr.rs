//! How template values print as Python prints them: `repr()` ([`py_repr`], [`str_repr`]),
//! `str()` ([`py_str`]), the `{{ value }}` formatter ([`format_output`]), and the guard that
//! prints `[...]` / `{...}` for a container that contains itself (or nests too deep).
//!
//! Apart from the containers in `mod.rs` because printing covers every kind of value (strings,
//! numbers, datetimes, namespaces, minijinja's own lists and maps), not only this module's.

use std::fmt;

use minijinja::value::Value;
use minijinja::{Error, State};

use super::{err, PyDict, PyList, PySet, PyTuple};

/// How many lists, dicts and namespaces deep printing goes before it writes `...`: a value that
/// contains itself (`{% do l.append(l) %}`, `{% set ns.x = ns %}`) would nest without end.
const MAX_PRINT_DEPTH: usize = 100;

thread_local! {
    /// The containers being printed, outermost first (their addresses; `0` for a namespace,
    /// whose identity minijinja keeps to itself).
    static PRINTING: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One container being printed. Entering fails where Python prints `...`: for a list, dict or
/// set already being printed further out (`[[...]]`), and past [`MAX_PRINT_DEPTH`] levels.
struct PrintLevel;

impl PrintLevel {
    fn enter(addr: usize) -> Option<PrintLevel> {
        PRINTING.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() >= MAX_PRINT_DEPTH || (addr != 0 && p.contains(&addr)) {
                return None;
            }
            p.push(addr);
            Some(PrintLevel)
        })
    }
    /// [`PrintLevel::enter`] for a value (its address when it is one of this module's
    /// containers).
    fn enter_value(v: &Value) -> Option<PrintLevel> {
        let addr = if let Some(l) = v.downcast_object_ref::<PyList>() {
            l as *const PyList as usize
        } else if let Some(d) = v.downcast_object_ref::<PyDict>() {
            d as *const PyDict as usize
        } else if let Some(s) = v.downcast_object_ref::<PySet>() {
            s as *const PySet as usize
        } else {
            0
        };
        Self::enter(addr)
    }
}

impl Drop for PrintLevel {
    fn drop(&mut self) {
        PRINTING.with(|p| {
            p.borrow_mut().pop();
        });
    }
}

/// minijinja's own rendering of a sequence (`[a, b]`), `[...]` for one being printed.
pub(super) fn render_seq(
    addr: usize,
    items: Vec<Value>,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    let Some(_level) = PrintLevel::enter(addr) else {
        return f.write_str("[...]");
    };
    f.debug_list().entries(items).finish()
}

/// minijinja's own rendering of a mapping (`{k: v}`), `{...}` for one being printed.
pub(super) fn render_map(
    addr: usize,
    pairs: Vec<(Value, Value)>,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    let Some(_level) = PrintLevel::enter(addr) else {
        return f.write_str("{...}");
    };
    f.debug_map().entries(pairs).finish()
}

/// Whether `v` nests lists, dicts or namespaces more than `limit` levels deep, which a value
/// that contains itself does. Looks at no more than 100,000 values (a value that wide is taken
/// as shallow enough).
pub(crate) fn nests_deeper_than(v: &Value, limit: usize) -> bool {
    fn walk(v: &Value, left: usize, budget: &mut usize) -> bool {
        use minijinja::value::ValueKind;
        if !matches!(v.kind(), ValueKind::Seq | ValueKind::Map) {
            return false;
        }
        if left == 0 {
            return true;
        }
        let Ok(items) = v.try_iter() else {
            return false;
        };
        let is_map = v.kind() == ValueKind::Map;
        for item in items {
            if *budget == 0 {
                return false;
            }
            *budget -= 1;
            let child = if is_map {
                v.get_item(&item).unwrap_or_default()
            } else {
                item
            };
            if walk(&child, left - 1, budget) {
                return true;
            }
        }
        false
    }
    walk(v, limit, &mut 100_000)
}

/// Whether `v` is a `namespace()` (minijinja's own object, known by its type's name).
fn is_namespace(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.type_name().ends_with("::Namespace"))
}

/// Python's `repr()` of a value: strings in single quotes, `None`, `True`, lists and dicts.
pub(crate) fn py_repr(v: &Value) -> String {
    if v.is_none() || v.is_undefined() {
        return "None".into();
    }
    if let Some(r) = crate::templating::pydatetime::repr(v) {
        return r;
    }
    match v.kind() {
        minijinja::value::ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        minijinja::value::ValueKind::String => str_repr(v.as_str().unwrap_or("")),
        minijinja::value::ValueKind::Number if !v.is_integer() => f64::try_from(v.clone())
            .map(crate::templating::pyformat::py_float)
            .unwrap_or_else(|_| v.to_string()),
        _ if is_container(v) || is_namespace(v) => py_str(v),
        _ => v.to_string(),
    }
}

/// Python's `repr()` of a string: single quotes unless it holds only single quotes, backslash
/// escapes for the quote, backslashes and control characters.
pub(crate) fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (0x80..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A mapping's `key: value` pairs as Python's `repr()` writes them, comma-separated.
fn dict_items(v: &Value) -> String {
    let items: Vec<String> = v
        .try_iter()
        .map(|it| {
            it.map(|k| {
                let val = v.get_item(&k).unwrap_or_default();
                format!("{}: {}", py_repr(&k), py_repr(&val))
            })
            .collect()
        })
        .unwrap_or_default();
    items.join(", ")
}

/// Python's `str()` of a value: like [`py_repr`] except that a string is itself.
pub(crate) fn py_str(v: &Value) -> String {
    if let Some(s) = v.as_str() {
        return s.to_string();
    }
    if is_namespace(v) {
        // Jinja2's `<Namespace {...}>`.
        let Some(_level) = PrintLevel::enter(0) else {
            return "<Namespace {...}>".into();
        };
        return format!("<Namespace {{{}}}>", dict_items(v));
    }
    if is_container(v) {
        let Some(_level) = PrintLevel::enter_value(v) else {
            return if v.kind() == minijinja::value::ValueKind::Map {
                "{...}".into()
            } else {
                "[...]".into()
            };
        };
        if v.kind() == minijinja::value::ValueKind::Map {
            return format!("{{{}}}", dict_items(v));
        }
        let items: Vec<String> = v
            .try_iter()
            .map(|it| it.map(|x| py_repr(&x)).collect())
            .unwrap_or_default();
        if v.downcast_object_ref::<PySet>().is_some() {
            if items.is_empty() {
                return "set()".into();
            }
            return format!("{{{}}}", items.join(", "));
        }
        if v.downcast_object_ref::<PyTuple>().is_some() {
            return match items.as_slice() {
                [one] => format!("({one},)"),
                _ => format!("({})", items.join(", ")),
            };
        }
        return format!("[{}]", items.join(", "));
    }
    py_repr(v)
}

/// A list, tuple or dict (made by a template or by minijinja: a filter's result, a map's items),
/// not an object with its own rendering (a relation, a query result).
pub(super) fn is_container(v: &Value) -> bool {
    use crate::templating::objects::{ColumnsObj, RowObj, TableObj};
    use minijinja::value::ValueKind;
    match v.kind() {
        ValueKind::Seq | ValueKind::Iterable => {
            v.downcast_object_ref::<RowObj>().is_none()
                && v.downcast_object_ref::<ColumnsObj>().is_none()
                && v.downcast_object_ref::<crate::templating::pydatetime::IsoCalendar>()
                    .is_none()
                && v.downcast_object_ref::<TableObj>().is_none()
        }
        ValueKind::Map => {
            v.downcast_object_ref::<indexmap::IndexMap<Value, Value>>()
                .is_some()
                || v.downcast_object_ref::<PyDict>().is_some()
                || v.downcast_object_ref::<std::collections::BTreeMap<String, Value>>()
                    .is_some()
                || v.downcast_object_ref::<std::collections::BTreeMap<Value, Value>>()
                    .is_some()
                || v.downcast_object_ref::<std::collections::HashMap<String, Value>>()
                    .is_some()
        }
        _ => false,
    }
}

/// The output formatter: `{{ value }}` prints what Python's `str()` prints.
pub(crate) fn format_output(
    out: &mut minijinja::Output,
    state: &State,
    v: &Value,
) -> Result<(), Error> {
    if is_container(v)
        || is_namespace(v)
        || (v.kind() == minijinja::value::ValueKind::Number && !v.is_integer())
    {
        return out
            .write_str(&py_str(v))
            .map_err(|_| err("cannot write output"));
    }
    minijinja::escape_formatter(out, state, v)
}
