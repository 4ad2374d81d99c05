//! Which entries of a properties file changed between two versions of it, and whether
//! [`super::tests_edit`] can patch what they changed: entries paired by name (models and seeds,
//! added or removed too) or by position (sources and exposures), the rules each kind of edit
//! must keep (no Jinja outside tests and descriptions, the same tables, the same `depends_on`),
//! and the helpers that read an entry's Jinja and columns.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The positions of the `models:` and `sources:` entries that changed from `old` to `new`;
/// `None` when anything else changed, or an entry changed in a way [`patch`] cannot follow.
pub(super) fn changed_entries(old: &Value, new: &Value) -> Option<Changed> {
    let (Value::Object(o), Value::Object(n)) = (old, new) else {
        return None;
    };
    // (`version:` changes nothing a parse writes.)
    let listed = ["models", "seeds", "sources", "exposures", "version"];
    if (o.keys().chain(n.keys())).any(|k| !listed.contains(&k.as_str()) && o.get(k) != n.get(k)) {
        return None;
    }
    let positions = |key: &str, allowed: fn(&Value, &Value) -> bool| -> Option<Vec<usize>> {
        let (om, nm) = match (o.get(key), n.get(key)) {
            (None, None) => return Some(Vec::new()),
            (Some(a), Some(b)) => (a.as_array()?, b.as_array()?),
            _ => return None,
        };
        if om.len() != nm.len() {
            return None;
        }
        let mut changed = Vec::new();
        for (i, (a, b)) in om.iter().zip(nm).enumerate() {
            if a == b {
                continue;
            }
            if !allowed(a, b) {
                return None;
            }
            changed.push(i);
        }
        Some(changed)
    };
    let by_name = |key: &str| -> Option<Vec<(Option<usize>, Option<usize>)>> {
        let empty = Vec::new();
        let (a, b) = match (o.get(key), n.get(key)) {
            (None, None) => return Some(Vec::new()),
            (a, b) => (
                a.map_or(Some(&empty), Value::as_array)?,
                b.map_or(Some(&empty), Value::as_array)?,
            ),
        };
        paired_entries(a, b)
    };
    Some(Changed {
        models: by_name("models")?,
        seeds: by_name("seeds")?,
        sources: positions("sources", source_edit_allowed)?,
        exposures: positions("exposures", exposure_edit_allowed)?,
    })
}

/// The positions of the changed entries of a properties file, by top-level key: for models and
/// seeds, as it was and as it is (`None`: an entry added or removed).
pub(super) struct Changed {
    pub(super) models: Vec<(Option<usize>, Option<usize>)>,
    pub(super) seeds: Vec<(Option<usize>, Option<usize>)>,
    pub(super) sources: Vec<usize>,
    pub(super) exposures: Vec<usize>,
}

/// The model or seed entries `old` edited into `new`, paired by name: the positions of each
/// name that changed, was added or removed; `None` when an edit is not one [`patch`] can follow
/// (a name twice, entries that stay put in another order, see [`entry_edit_allowed`] and
/// [`entry_alone_allowed`]).
fn paired_entries(old: &[Value], new: &[Value]) -> Option<Vec<(Option<usize>, Option<usize>)>> {
    let names = |list: &[Value]| -> Option<BTreeMap<String, usize>> {
        let mut names = BTreeMap::new();
        for (i, e) in list.iter().enumerate() {
            let name = e.get("name")?.as_str()?.to_string();
            names.insert(name, i).is_none().then_some(())?;
        }
        Some(names)
    };
    let (o, n) = (names(old)?, names(new)?);
    // The names in both, in the order of each.
    let kept = |list: &[Value], other: &BTreeMap<String, usize>| -> Vec<String> {
        (list.iter())
            .filter_map(|e| e.get("name")?.as_str())
            .filter(|name| other.contains_key(*name))
            .map(String::from)
            .collect()
    };
    if kept(old, &n) != kept(new, &o) {
        return None;
    }
    let mut changed = Vec::new();
    for name in o.keys().chain(n.keys().filter(|k| !o.contains_key(*k))) {
        match (o.get(name), n.get(name)) {
            (Some(&a), Some(&b)) if old[a] == new[b] => {}
            (Some(&a), Some(&b)) => {
                entry_edit_allowed(&old[a], &new[b]).then_some(())?;
                changed.push((Some(a), Some(b)));
            }
            (Some(&a), None) => {
                entry_alone_allowed(&old[a]).then_some(())?;
                changed.push((Some(a), None));
            }
            (None, Some(&b)) => {
                entry_alone_allowed(&new[b]).then_some(())?;
                changed.push((None, Some(b)));
            }
            (None, None) => {}
        }
    }
    Some(changed)
}

/// Whether a model or seed entry added or removed is one [`patch`] can follow: no versions or
/// time spine, and no Jinja outside its tests (its descriptions' `doc()` calls would need the
/// docs blocks).
fn entry_alone_allowed(e: &Value) -> bool {
    let reaches_others = ["versions", "latest_version", "time_spine"]
        .iter()
        .any(|k| e.get(k).is_some());
    !reaches_others
        && jinja_descriptions(e).is_empty()
        && jinja_strings(&without_tests_and_descriptions(e)).is_empty()
}

/// Whether the source entry `a` edited into `b` is one [`patch`] can follow: the same name and
/// tables, in order, no override of a package's source, and no Jinja outside tests (a
/// description's `doc()` would need the docs blocks).
fn source_edit_allowed(a: &Value, b: &Value) -> bool {
    let tables = |e: &Value| -> Option<Vec<Value>> {
        let names = e.get("tables").map_or(Some(Vec::new()), |t| {
            t.as_array()?
                .iter()
                .map(|t| t.get("name").cloned())
                .collect::<Option<Vec<Value>>>()
        });
        names
    };
    let plain =
        |e: &Value| e.get("overrides").is_none() && jinja_strings(&without_tests(e)).is_empty();
    a.get("name") == b.get("name")
        && tables(a).is_some()
        && tables(a) == tables(b)
        && plain(a)
        && plain(b)
}

/// Whether the exposure entry `a` edited into `b` is one [`patch`] can follow: the same name
/// and `depends_on` (what it reads reaches the graph), and no Jinja elsewhere in either (a
/// description's `doc()` would need the docs blocks).
fn exposure_edit_allowed(a: &Value, b: &Value) -> bool {
    let plain = |e: &Value| {
        let mut e = e.clone();
        if let Some(m) = e.as_object_mut() {
            m.remove("depends_on");
        }
        jinja_strings(&e).is_empty()
    };
    a.get("name") == b.get("name")
        && a.get("depends_on") == b.get("depends_on")
        && plain(a)
        && plain(b)
}

/// A source entry without the tests of its tables and their columns.
fn without_tests(source: &Value) -> Value {
    let mut e = source.clone();
    if let Some(Value::Array(tables)) = e.get_mut("tables") {
        for t in tables.iter_mut().filter_map(Value::as_object_mut) {
            with_columns(t, |m| {
                m.remove("data_tests");
                m.remove("tests");
            });
        }
    }
    e
}

/// A copy of the entry `v` (a model's, a source table's), `f` applied to it and to each of its
/// columns.
fn with_columns_of(v: &Value, f: impl Fn(&mut Map<String, Value>)) -> Value {
    let mut e = v.clone();
    if let Some(m) = e.as_object_mut() {
        with_columns(m, f);
    }
    e
}

/// Applies `f` to the entry `m` and to each of its columns.
fn with_columns(m: &mut Map<String, Value>, f: impl Fn(&mut Map<String, Value>)) {
    f(m);
    if let Some(Value::Array(columns)) = m.get_mut("columns") {
        columns
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(f);
    }
}

/// Whether the model entry `a` edited into `b` is one [`patch`] can follow: the same name, no
/// versions or time spine (they reach other nodes and the semantic layer), the same
/// descriptions with Jinja (by place), and the same Jinja elsewhere outside tests (what a
/// render of it runs is recorded by the full parse).
fn entry_edit_allowed(a: &Value, b: &Value) -> bool {
    let reaches_others = |e: &Value| {
        ["versions", "latest_version", "time_spine"]
            .iter()
            .any(|k| e.get(k).is_some())
    };
    a.get("name") == b.get("name")
        && !reaches_others(a)
        && !reaches_others(b)
        && jinja_descriptions(a) == jinja_descriptions(b)
        && jinja_strings(&without_tests_and_descriptions(a))
            == jinja_strings(&without_tests_and_descriptions(b))
}

/// Whether `text` holds Jinja.
fn has_jinja(text: &str) -> bool {
    ["{{", "{%", "{#"].iter().any(|d| text.contains(d))
}

/// A description that holds Jinja.
fn jinja_description(e: &Value) -> Option<&str> {
    e.get("description")
        .and_then(Value::as_str)
        .filter(|t| has_jinja(t))
}

/// The descriptions of a model entry and its columns that hold Jinja, by place (`None`: the
/// model's; else the column's name).
pub(super) fn jinja_descriptions(entry: &Value) -> Vec<(Option<&str>, &str)> {
    let model = jinja_description(entry).map(|t| (None, t));
    let columns = entry
        .get("columns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(move |c| Some((Some(c.get("name")?.as_str()?), jinja_description(c)?)));
    model.into_iter().chain(columns).collect()
}

/// Every string with Jinja in `v`, in order.
fn jinja_strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) if has_jinja(s) => vec![s],
        Value::Array(a) => a.iter().flat_map(jinja_strings).collect(),
        Value::Object(m) => m.values().flat_map(jinja_strings).collect(),
        _ => Vec::new(),
    }
}

/// A model entry without its tests and its columns' (`data_tests:`, `tests:`), and without their
/// descriptions.
fn without_tests_and_descriptions(entry: &Value) -> Value {
    with_columns_of(entry, |m| {
        for key in ["data_tests", "tests", "description"] {
            m.remove(key);
        }
    })
}

/// A model entry without the descriptions of it and its columns that hold Jinja (a `doc()` in
/// one would need the docs blocks).
pub(super) fn without_jinja_descriptions(entry: &Value) -> Value {
    with_columns_of(entry, |m| {
        if m.get("description")
            .and_then(Value::as_str)
            .is_some_and(has_jinja)
        {
            m.remove("description");
        }
    })
}
