//! Python's lists, dicts and tuples for templates written against Jinja2, where `[]` and `{}` are
//! Python objects that `{% do x.append(y) %}` changes in place (`append`, `extend`, `pop`,
//! `update`, `setdefault` ...) and `(a, b)` prints as `(a, b)`.
//!
//! Design decision: minijinja's own sequences and maps are immutable, and there is no hook on
//! literal construction; so [`super::syntax`] rewrites every list, dict and tuple literal into a
//! call that builds one of these objects, and [`rewrite_literals`] turns the value of any
//! `{% set name = expr %}` whose `name` the file mutates into a mutable copy (for lists and dicts
//! that come from elsewhere: a filter, `var()`, a query). Values passed around keep their identity,
//! so a macro that extends a list it was given changes the caller's list, as in Python.
//!
//! How values print (`repr()`, `str()`, the output formatter) is in `repr.rs`.

mod repr;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Arc, LazyLock, Mutex};

use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};
use regex::Regex;

pub(crate) use repr::{format_output, nests_deeper_than, py_repr, py_str};
use repr::{is_container, render_map, render_seq};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// A Python list.
#[derive(Debug, Default)]
pub(crate) struct PyList(Mutex<Vec<Value>>);

impl PyList {
    pub(crate) fn value(items: Vec<Value>) -> Value {
        Value::from_object(PyList(Mutex::new(items)))
    }
    fn items(&self) -> Vec<Value> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
    fn with<T>(&self, f: impl FnOnce(&mut Vec<Value>) -> T) -> Result<T, Error> {
        let mut g = self.0.lock().map_err(|_| err("list poisoned"))?;
        Ok(f(&mut g))
    }
}

fn index(len: usize, i: i64) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

impl Object for PyList {
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        render_seq(Arc::as_ptr(self) as usize, self.items(), f)
    }
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = i64::try_from(key.clone()).ok()?;
        let items = self.items();
        index(items.len(), i).map(|i| items[i].clone())
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.items())
    }
    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        self.0.lock().ok().map(|v| v.len())
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
        match method {
            "append" => self.with(|v| v.push(arg(0))).map(|_| Value::from(())),
            "extend" => {
                let more: Vec<Value> = arg(0).try_iter()?.collect();
                self.with(|v| v.extend(more)).map(|_| Value::from(()))
            }
            "insert" => {
                let at = i64::try_from(arg(0)).unwrap_or(0);
                self.with(|v| {
                    let len = v.len() as i64;
                    let at = if at < 0 {
                        (len + at).max(0)
                    } else {
                        at.min(len)
                    };
                    v.insert(at as usize, arg(1));
                })
                .map(|_| Value::from(()))
            }
            "pop" => self.with(|v| {
                let at = match args.first() {
                    Some(a) => index(v.len(), i64::try_from(a.clone()).unwrap_or(-1)),
                    None => v.len().checked_sub(1),
                };
                at.map(|i| v.remove(i))
                    .ok_or_else(|| err("pop from empty list or index out of range"))
            })?,
            "remove" => self.with(|v| match v.iter().position(|x| x == &arg(0)) {
                Some(i) => {
                    v.remove(i);
                    Ok(Value::from(()))
                }
                None => Err(err("list.remove(x): x not in list")),
            })?,
            "index" => self.with(|v| {
                v.iter()
                    .position(|x| x == &arg(0))
                    .map(Value::from)
                    .ok_or_else(|| err("list.index(x): x not in list"))
            })?,
            "count" => self
                .with(|v| v.iter().filter(|x| *x == &arg(0)).count())
                .map(Value::from),
            "reverse" => self.with(|v| v.reverse()).map(|_| Value::from(())),
            "clear" => self.with(|v| v.clear()).map(|_| Value::from(())),
            "copy" => Ok(PyList::value(self.items())),
            "sort" => self.with(|v| v.sort()).map(|_| Value::from(())),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("list has no method named {method}"),
            )),
        }
    }
}

/// A Python tuple: an immutable sequence that prints as `(a, b)` / `(a,)`.
#[derive(Debug, Default)]
pub(crate) struct PyTuple(pub(crate) Vec<Value>);

impl PyTuple {
    pub(crate) fn value(items: Vec<Value>) -> Value {
        Value::from_object(PyTuple(items))
    }
}

impl Object for PyTuple {
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        render_seq(0, self.0.clone(), f)
    }
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = i64::try_from(key.clone()).ok()?;
        index(self.0.len(), i).map(|i| self.0[i].clone())
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.len())
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let arg = args.first().cloned().unwrap_or_default();
        match method {
            "index" => self
                .0
                .iter()
                .position(|x| x == &arg)
                .map(Value::from)
                .ok_or_else(|| err("tuple.index(x): x not in tuple")),
            "count" => Ok(Value::from(self.0.iter().filter(|x| *x == &arg).count())),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("tuple has no method named {method}"),
            )),
        }
    }
}

/// A Python set (dbt's `set()` / `set_strict()`): unique items in the order they came, equal to
/// any set with the same items; prints as `{1, 2}` (`set()` when empty).
#[derive(Debug, Default)]
pub(crate) struct PySet(Mutex<Vec<Value>>);

impl PySet {
    pub(crate) fn value(items: impl IntoIterator<Item = Value>) -> Value {
        let mut out: Vec<Value> = Vec::new();
        for item in items {
            if !out.contains(&item) {
                out.push(item);
            }
        }
        Value::from_object(PySet(Mutex::new(out)))
    }
    fn items(&self) -> Vec<Value> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Object for PySet {
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        render_seq(Arc::as_ptr(self) as usize, self.items(), f)
    }
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = i64::try_from(key.clone()).ok()?;
        let items = self.items();
        index(items.len(), i).map(|i| items[i].clone())
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.items())
    }
    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        self.0.lock().ok().map(|v| v.len())
    }
    fn custom_cmp(
        self: &Arc<Self>,
        other: &minijinja::value::DynObject,
    ) -> Option<std::cmp::Ordering> {
        let other = other.downcast_ref::<Self>()?.items();
        let mine = self.items();
        (mine.len() == other.len() && mine.iter().all(|x| other.contains(x)))
            .then_some(std::cmp::Ordering::Equal)
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let others = || -> Result<Vec<Value>, Error> {
            let mut all = Vec::new();
            for a in args {
                all.extend(a.try_iter()?);
            }
            Ok(all)
        };
        let mine = self.items();
        match method {
            "add" => {
                let x = args.first().cloned().unwrap_or_default();
                let mut g = self.0.lock().map_err(|_| err("set poisoned"))?;
                if !g.contains(&x) {
                    g.push(x);
                }
                Ok(Value::from(()))
            }
            "update" => {
                let more = others()?;
                let mut g = self.0.lock().map_err(|_| err("set poisoned"))?;
                for x in more {
                    if !g.contains(&x) {
                        g.push(x);
                    }
                }
                Ok(Value::from(()))
            }
            "discard" | "remove" => {
                let x = args.first().cloned().unwrap_or_default();
                let mut g = self.0.lock().map_err(|_| err("set poisoned"))?;
                match g.iter().position(|y| y == &x) {
                    Some(i) => {
                        g.remove(i);
                    }
                    None if method == "remove" => {
                        return Err(err(format!("KeyError: {}", py_repr(&x))))
                    }
                    None => {}
                }
                Ok(Value::from(()))
            }
            "union" => Ok(PySet::value(mine.into_iter().chain(others()?))),
            "intersection" => {
                let o = others()?;
                Ok(PySet::value(mine.into_iter().filter(|x| o.contains(x))))
            }
            "difference" => {
                let o = others()?;
                Ok(PySet::value(mine.into_iter().filter(|x| !o.contains(x))))
            }
            "symmetric_difference" => {
                let o = others()?;
                let left: Vec<Value> = mine.iter().filter(|x| !o.contains(x)).cloned().collect();
                let right: Vec<Value> = o.into_iter().filter(|x| !mine.contains(x)).collect();
                Ok(PySet::value(left.into_iter().chain(right)))
            }
            "issubset" => {
                let o = others()?;
                Ok(Value::from(mine.iter().all(|x| o.contains(x))))
            }
            "issuperset" => Ok(Value::from(others()?.iter().all(|x| mine.contains(x)))),
            "isdisjoint" => Ok(Value::from(!others()?.iter().any(|x| mine.contains(x)))),
            "copy" => Ok(PySet::value(mine)),
            "clear" => {
                if let Ok(mut g) = self.0.lock() {
                    g.clear();
                }
                Ok(Value::from(()))
            }
            "pop" => {
                let mut g = self.0.lock().map_err(|_| err("set poisoned"))?;
                if g.is_empty() {
                    return Err(err("KeyError: 'pop from an empty set'"));
                }
                Ok(g.remove(0))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("set has no method named {method}"),
            )),
        }
    }
}

/// A mapping for Jinja2's tests: a template's dict, minijinja's map, or a relation (dbt's
/// relations are mappings); not other objects with attributes (datetimes, `model`).
pub(crate) fn is_dict(v: &Value) -> bool {
    v.kind() == minijinja::value::ValueKind::Map
        && (is_container(v)
            || v.downcast_object_ref::<super::objects::RelationObj>()
                .is_some())
}

/// `__sluice_tuple(a, b, ...)`.
pub(crate) fn new_tuple(items: minijinja::value::Rest<Value>) -> Value {
    PyTuple::value(items.0)
}

/// Dict keys compare by value; objects (relations) by what they render as.
fn same_key(a: &Value, b: &Value) -> bool {
    match (a.as_object().is_some(), b.as_object().is_some()) {
        (false, false) => a == b,
        (true, true) => a.to_string() == b.to_string(),
        _ => false,
    }
}

/// A list or dict literal stored in a dict becomes mutable too (`d.update({k: []})` then
/// `d[k].append(x)`).
fn mutable(v: Value) -> Value {
    if let Some(items) = v.downcast_object_ref::<Vec<Value>>() {
        return PyList::value(items.clone());
    }
    if let Some(m) = v.downcast_object_ref::<indexmap::IndexMap<Value, Value>>() {
        return PyDict::value(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    }
    v
}

/// A Python dict (insertion-ordered).
#[derive(Debug, Default)]
pub(crate) struct PyDict(Mutex<Vec<(Value, Value)>>);

impl PyDict {
    pub(crate) fn value(items: Vec<(Value, Value)>) -> Value {
        Value::from_object(PyDict(Mutex::new(items)))
    }
    fn items(&self) -> Vec<(Value, Value)> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
    fn set(&self, k: Value, val: Value) {
        let val = mutable(val);
        if let Ok(mut g) = self.0.lock() {
            match g.iter_mut().find(|(key, _)| same_key(key, &k)) {
                Some(slot) => slot.1 = val,
                None => g.push((k, val)),
            }
        }
    }
    fn get(&self, k: &Value) -> Option<Value> {
        self.0
            .lock()
            .ok()?
            .iter()
            .find(|(key, _)| same_key(key, k))
            .map(|(_, v)| v.clone())
    }
    /// Adds every pair of a mapping (or of keyword arguments).
    fn update_from(&self, v: &Value) -> Result<(), Error> {
        if let Ok(kw) = Kwargs::try_from(v.clone()) {
            for k in kw.args() {
                self.set(Value::from(k), kw.get::<Value>(k)?);
            }
            return Ok(());
        }
        for k in v.try_iter()? {
            let val = v.get_item(&k)?;
            self.set(k, val);
        }
        Ok(())
    }
}

impl Object for PyDict {
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        render_map(Arc::as_ptr(self) as usize, self.items(), f)
    }
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get(key)
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.items().into_iter().map(|(k, _)| k).collect())
    }
    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        self.0.lock().ok().map(|v| v.len())
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
        match method {
            "update" => {
                for a in args {
                    self.update_from(a)?;
                }
                Ok(Value::from(()))
            }
            "get" => Ok(self.get(&arg(0)).unwrap_or_else(|| arg(1))),
            "setdefault" => Ok(match self.get(&arg(0)) {
                Some(v) => v,
                None => {
                    self.set(arg(0), arg(1));
                    arg(1)
                }
            }),
            "pop" => {
                let mut g = self.0.lock().map_err(|_| err("dict poisoned"))?;
                match g.iter().position(|(k, _)| k == &arg(0)) {
                    Some(i) => Ok(g.remove(i).1),
                    None if args.len() > 1 => Ok(arg(1)),
                    None => Err(err(format!("KeyError: {}", arg(0)))),
                }
            }
            "keys" => Ok(Value::from(
                self.items().into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )),
            "values" => Ok(Value::from(
                self.items().into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
            )),
            "items" => Ok(Value::from(
                self.items()
                    .into_iter()
                    .map(|(k, v)| PyTuple::value(vec![k, v]))
                    .collect::<Vec<_>>(),
            )),
            "copy" => Ok(PyDict::value(self.items())),
            "clear" => {
                if let Ok(mut g) = self.0.lock() {
                    g.clear();
                }
                Ok(Value::from(()))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("dict has no method named {method}"),
            )),
        }
    }
}

/// `__sluice_list(items?)`.
pub(crate) fn new_list(items: Option<Value>) -> Result<Value, Error> {
    Ok(PyList::value(match items {
        Some(v) if !v.is_undefined() && !v.is_none() => v.try_iter()?.collect(),
        _ => vec![],
    }))
}

/// `__sluice_dict(mapping?)`.
pub(crate) fn new_dict(items: Option<Value>) -> Result<Value, Error> {
    let d = PyDict::default();
    if let Some(v) = items.filter(|v| !v.is_undefined() && !v.is_none()) {
        d.update_from(&v)?;
    }
    Ok(Value::from_object(d))
}

static MUTATED_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*(?:append|extend|insert|pop|remove|update|setdefault|clear)\s*\(",
    )
    .unwrap()
});
static SET_ANY_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\{%-?\s*set\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*)(.+?)(\s*-?%\})").unwrap()
});

/// Rewrites any `{% set x = expr %}` whose `x` the template later mutates (`x.append(...)`, as
/// in `{% set cols = group_by_columns | list %}{% do cols.append(c) %}`) so that `x` holds a
/// mutable list or dict (the same object when it is one already).
pub(crate) fn rewrite_literals(src: &str) -> std::borrow::Cow<'_, str> {
    if !src.contains("set") {
        return std::borrow::Cow::Borrowed(src);
    }
    let s = std::borrow::Cow::Borrowed(src);
    let mutated: std::collections::BTreeSet<&str> = MUTATED_RE
        .captures_iter(&s)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect();
    if mutated.is_empty() {
        return s;
    }
    let wrapped = SET_ANY_RE.replace_all(&s, |c: &regex::Captures| {
        let expr = &c[3];
        if mutated.contains(&c[2]) && !expr.starts_with("__sluice_") {
            format!("{}__sluice_mut({expr}){}", &c[1], &c[4])
        } else {
            c[0].to_string()
        }
    });
    match wrapped {
        std::borrow::Cow::Borrowed(_) => s,
        std::borrow::Cow::Owned(o) => std::borrow::Cow::Owned(o),
    }
}

/// `__sluice_mut(value)`: a list or dict as a mutable copy; anything else (including lists and
/// dicts that are mutable already, so aliasing holds) unchanged.
pub(crate) fn make_mutable(v: Value) -> Value {
    mutable(v)
}
