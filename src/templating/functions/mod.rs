//! The global functions of the dbt context: `ref`, `source`, `config`, `var`, `env_var`,
//! `is_incremental`, `return`, `log`, `run_query`, `adapter`, `exceptions`, `modules`, ...
//!
//! They are registered once on the shared environment and find the node being rendered through
//! [`super::current`]; their behaviour depends on the render's [`Phase`].
//!
//! The JSON and YAML conversions (`tojson`, `fromjson`, `toyaml`, `fromyaml`) are in [`json`].

mod json;

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{Kwargs, Object, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State};

use super::adapter::AdapterObj;
use super::calls::{ctx_or_err, err, no_method, str_arg, COMPILER_ERROR};
use super::macros::{do_return, IndexHandle, MacroFn, MacroIndex};
use super::objects::{cte_value, relation_value, TableObj};
use super::{current, Globals, Phase, RefCall};
use crate::diagnostics::Code;
use crate::sql::Relation;
use json::{fromjson, fromyaml, to_json, tojson, tojson_filter, toyaml};

pub(crate) fn register(env: &mut Environment<'static>, index: &Arc<MacroIndex>, globals: &Globals) {
    env.add_global(
        "__sluice_index",
        Value::from_object(IndexHandle(index.clone())),
    );
    for (name, def) in index.global_names() {
        env.add_global(name, Value::from_object(MacroFn { def }));
    }
    for pkg in index.by_package.keys() {
        if let Some(ns) = index.namespace_value(pkg) {
            env.add_global(pkg.clone(), ns);
        }
    }
    // dbt's context functions. A macro of the root project with one of their names overrides
    // it (dbt puts macros over the context's members: a project's own `ref` macro is what
    // every `ref()` calls), and `builtins` keeps the originals (`builtins.ref(name)`).
    let functions: Vec<(&str, Value)> = vec![
        (
            "ref",
            Value::from_object(RefObj {
                func: Value::from_function(ref_fn),
                config: Value::from_serialize(&globals.runtime_config),
            }),
        ),
        ("source", Value::from_function(source_fn)),
        ("config", Value::from_object(ConfigObj)),
        ("var", Value::from_object(VarObj)),
        (
            "env_var",
            Value::from_function(crate::project::profile::env_var_fn),
        ),
        ("is_incremental", Value::from_function(is_incremental)),
        ("return", Value::from_function(do_return)),
        ("log", Value::from_function(log_fn)),
        ("print", Value::from_function(print_fn)),
        ("run_query", Value::from_function(run_query)),
        ("load_result", Value::from_function(load_result)),
        ("store_result", Value::from_function(store_result)),
        ("tojson", Value::from_function(tojson)),
        ("fromjson", Value::from_function(fromjson)),
        ("toyaml", Value::from_function(toyaml)),
        ("fromyaml", Value::from_function(fromyaml)),
        ("zip", Value::from_function(zip_fn)),
        ("set", Value::from_function(set_fn)),
        ("set_strict", Value::from_function(set_strict_fn)),
        ("local_md5", Value::from_function(|s: String| local_md5(&s))),
        (
            "doc",
            Value::from_function(|name: String| -> Result<Value, Error> {
                Err(err(format!(
                    "doc('{name}') can only be used in descriptions"
                )))
            }),
        ),
        (
            "adapter",
            Value::from_object(AdapterObj {
                index: index.clone(),
            }),
        ),
        ("exceptions", Value::from_object(ExceptionsObj)),
        ("api", super::adapter::api()),
        ("modules", super::pymodules::modules()),
    ];
    let mut builtins = BTreeMap::new();
    for (name, value) in functions {
        env.add_global(name, value.clone());
        builtins.insert(name.to_string(), value);
    }
    env.add_function("__sluice_execute", execute_fn);
    register_python(env);
    if let Some(own) = index.by_package.get(&index.root_package) {
        for (name, def) in own {
            if builtins.contains_key(name.as_str()) {
                env.add_global(
                    name.clone(),
                    Value::from_object(MacroFn { def: def.clone() }),
                );
            }
        }
    }
    env.add_global("builtins", Value::from(builtins));
    env.add_filter("as_text", |v: Value| v.to_string());
    env.add_filter("as_bool", |v: Value| -> Value {
        match v.as_str() {
            Some("True" | "true") => Value::from(true),
            Some("False" | "false") => Value::from(false),
            _ => v,
        }
    });
    env.add_filter("as_number", |v: Value| -> Value {
        match v.as_str().map(str::trim) {
            Some(s) => s
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| s.parse::<f64>().map(Value::from))
                .unwrap_or(v.clone()),
            None => v,
        }
    });
    env.add_filter("as_native", |v: Value| v);
}

/// What Python values and operators need: the functions [`super::syntax`] rewrites literals and
/// operators into, and the filters whose results Python prints differently from minijinja's.
pub(crate) fn register_python(env: &mut Environment<'static>) {
    env.add_function("__sluice_list", super::pyvalues::new_list);
    env.add_function("__sluice_dict", super::pyvalues::new_dict);
    env.add_function("__sluice_mut", super::pyvalues::make_mutable);
    env.add_function("__sluice_tuple", super::pyvalues::new_tuple);
    env.add_function("__sluice_mod", super::pyformat::py_mod);
    env.add_function("__sluice_floordiv", super::pyformat::py_floordiv);
    env.add_function("__sluice_add", super::pyformat::py_add);
    env.add_function("__sluice_sub", super::pyformat::py_sub);
    env.add_function("__sluice_mul", super::pyformat::py_mul);
    env.add_function("__sluice_truediv", super::pyformat::py_truediv);
    env.add_function("__sluice_pow", super::pyformat::py_pow);
    env.add_function("__sluice_do", super::pyformat::py_do);
    env.add_filter("tojson", tojson_filter);
    env.add_filter("int", super::pyformat::int_filter);
    env.add_filter("float", super::pyformat::float_filter);
    env.add_filter("round", super::pyformat::round_filter);
    env.add_filter(
        "dictsort",
        |v: &Value, kwargs: Kwargs| -> Result<Value, Error> {
            pairs_as_tuples(minijinja::filters::dictsort(v, kwargs)?)
        },
    );
    super::pyfilters::register(env);
    // Jinja2's tests that differ from minijinja's: booleans are numbers; strings and dicts are
    // sequences; relations and other objects are not mappings; `none` is not iterable.
    env.add_test("number", |v: Value| {
        matches!(
            v.kind(),
            minijinja::value::ValueKind::Number | minijinja::value::ValueKind::Bool
        )
    });
    env.add_test("sequence", |v: Value| {
        matches!(
            v.kind(),
            minijinja::value::ValueKind::String
                | minijinja::value::ValueKind::Seq
                | minijinja::value::ValueKind::Undefined
        ) || super::pyvalues::is_dict(&v)
    });
    env.add_test("mapping", |v: Value| super::pyvalues::is_dict(&v));
    env.add_test("iterable", |v: Value| !v.is_none() && v.try_iter().is_ok());
    env.add_test("divisibleby", divisible_by);
    env.set_unknown_method_callback(unknown_method);
}

fn ref_fn(args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let ctx = ctx_or_err()?;
    let version: Option<Value> = kwargs
        .get("version")
        .ok()
        .flatten()
        .or(kwargs.get("v").ok().flatten());
    let version_quoted = version.as_ref().is_some_and(|v| v.as_str().is_some());
    let version = version.map(|v| v.to_string());
    let strs: Vec<String> = args
        .iter()
        .map(|a| {
            a.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| a.to_string())
        })
        .collect();
    let (package, name) = match strs.as_slice() {
        [name] => (None, name.clone()),
        [pkg, name] => (Some(pkg.clone()), name.clone()),
        _ => {
            return Err(err(format!(
                "ref() takes 1 or 2 arguments, got {}",
                strs.len()
            )))
        }
    };
    kwargs.assert_all_used().ok();
    match ctx.phase {
        Phase::Parse => {
            if let Ok(mut r) = ctx.recorded.lock() {
                let call = RefCall {
                    package: package.clone(),
                    name: name.clone(),
                    version: version.clone(),
                    version_quoted,
                };
                // Every call, as dbt records them (a ref made twice is listed twice; a source
                // once).
                r.refs.push(call);
            }
            let db = ctx
                .node
                .this
                .as_ref()
                .map(|t| t.database.clone())
                .unwrap_or_default();
            let schema = ctx
                .node
                .this
                .as_ref()
                .map(|t| t.schema.clone())
                .unwrap_or_default();
            Ok(relation_value(Relation::new(db, schema, name)))
        }
        Phase::Compile => {
            let rel = ctx
                .services
                .resolve_ref(&ctx.node, package.as_deref(), &name, version.as_deref())
                .map_err(err)?;
            if rel.database == "__ephemeral__" {
                // `--empty` limits an ephemeral parent's CTE too, as dbt does.
                if ctx.services.empty_refs() {
                    return Ok(super::objects::empty_cte_value(
                        rel,
                        ctx.services.dialect().subquery_needs_alias(),
                    ));
                }
                return Ok(cte_value(rel));
            }
            Ok(maybe_empty(&ctx, rel))
        }
    }
}

/// A `ref`/`source` relation, rendered as a zero-row subquery under `--empty`, and limited to
/// the window of the microbatch being compiled.
fn maybe_empty(ctx: &super::RenderCtx, rel: Relation) -> Value {
    if let Some(condition) = ctx.services.event_time_filter(&rel) {
        super::objects::filtered_relation_value(
            rel,
            condition,
            ctx.services.dialect().subquery_needs_alias(),
        )
    } else if ctx.services.empty_refs() {
        super::objects::empty_relation_value(rel, ctx.services.dialect().subquery_needs_alias())
    } else {
        relation_value(rel)
    }
}

fn source_fn(source: String, table: String) -> Result<Value, Error> {
    let ctx = ctx_or_err()?;
    match ctx.phase {
        Phase::Parse => {
            if let Ok(mut r) = ctx.recorded.lock() {
                let call = (source.clone(), table.clone());
                if !r.sources.contains(&call) {
                    r.sources.push(call);
                }
            }
            Ok(relation_value(Relation::new("", source, table)))
        }
        Phase::Compile => {
            let rel = ctx
                .services
                .resolve_source(&ctx.node, &source, &table)
                .map_err(err)?;
            Ok(maybe_empty(&ctx, rel))
        }
    }
}

/// `config(...)`, `config.get(...)`, `config.require(...)`.
#[derive(Debug)]
struct ConfigObj;

impl Object for ConfigObj {
    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let ctx = ctx_or_err()?;
        let mut map = serde_json::Map::new();
        for a in args {
            if let Ok(kw) = Kwargs::try_from(a.clone()) {
                for k in kw.args() {
                    let v: Value = kw.get(k)?;
                    map.insert(k.to_string(), to_json(&v));
                }
            } else if a.kind() == minijinja::value::ValueKind::Map {
                if let serde_json::Value::Object(m) = to_json(a) {
                    map.extend(m);
                }
            }
        }
        // `pre_hook` and `pre-hook` name one config: one call giving both is ambiguous, and
        // dbt refuses it.
        for (a, b) in [("pre_hook", "pre-hook"), ("post_hook", "post-hook")] {
            if map.contains_key(a) && map.contains_key(b) {
                return Err(err(format!(
                    "{COMPILER_ERROR}Got duplicate keys: ({a}, {b}) all map to \"{a}\"\n  \
                     hint: keep one spelling of the key in the config() call"
                )));
            }
        }
        if ctx.phase == Phase::Parse {
            if let Ok(mut r) = ctx.recorded.lock() {
                crate::project::config::merge(&mut r.config, &map);
                // As written, merged as dbt merges config calls: the first call's as it is,
                // then each call's keys over the last's, lists (`tags`, hooks) appended.
                let first = r.config_written.is_empty();
                for (k, v) in map {
                    let appended = matches!(
                        crate::project::config::normalize_key(&k),
                        "tags" | "pre-hook" | "post-hook"
                    );
                    if appended && !first {
                        let mut list = crate::project::config::as_list(r.config_written.get(&k));
                        list.extend(crate::project::config::as_list(Some(&v)));
                        r.config_written.insert(k, serde_json::Value::Array(list));
                    } else {
                        r.config_written.insert(k, v);
                    }
                }
            }
        }
        Ok(Value::from(""))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let ctx = ctx_or_err()?;
        let key = str_arg(args, 0).to_string();
        let config = ctx.effective_config();
        let found = config
            .get(&key)
            .or_else(|| config.get(&key.replace('_', "-")))
            .filter(|v| !v.is_null());
        match method {
            "get" => {
                let default = args.get(1).filter(|a| !a.is_kwargs()).cloned().or_else(|| {
                    args.iter()
                        .find_map(|a| Kwargs::try_from(a.clone()).ok())
                        .and_then(|kw| kw.get::<Value>("default").ok())
                });
                Ok(found
                    .map(Value::from_serialize)
                    .or(default)
                    .unwrap_or(Value::from(())))
            }
            "require" => match found {
                Some(v) => Ok(Value::from_serialize(v)),
                None if ctx.phase == Phase::Parse => Ok(Value::from(())),
                None => Err(err(format!(
                    "{COMPILER_ERROR}missing config: `{key}` is required for `{}`",
                    ctx.node.name
                ))),
            },
            "set" => {
                let value = to_json(args.get(1).unwrap_or(&Value::from(())));
                if ctx.phase == Phase::Parse {
                    if let Ok(mut r) = ctx.recorded.lock() {
                        r.config.insert(key, value);
                    }
                } else {
                    ctx.services.set_config(&ctx.node.unique_id, &key, value);
                }
                // dbt's `config.set` renders as nothing.
                Ok(Value::from(""))
            }
            "persist_relation_docs" | "persist_column_docs" => Ok(Value::from(false)),
            _ => Err(no_method("config", method)),
        }
    }
}

/// `ref`: the function, and `ref.config`, the project's runtime config as dbt's resolver
/// carries it (`builtins.ref.config.dependencies[name].version`).
#[derive(Debug)]
struct RefObj {
    func: Value,
    config: Value,
}

impl Object for RefObj {
    fn call(self: &Arc<Self>, state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        self.func.call(state, args)
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        (key.as_str() == Some("config")).then(|| self.config.clone())
    }
}

/// `var('name', default)`.
#[derive(Debug)]
struct VarObj;

impl Object for VarObj {
    fn call(self: &Arc<Self>, state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let ctx = ctx_or_err()?;
        let name = args
            .first()
            .and_then(|a| a.as_str())
            .ok_or_else(|| err("var() needs a name"))?;
        match ctx.services.var(&ctx.node.package, name) {
            // A text value with Jinja (`max_depth: "{{ 9 if target.type == 'bigquery' else 4
            // }}"`) is rendered where it is read, to text, as dbt's `var()` renders it.
            // Written in dbt's Python-flavoured Jinja like any template (`now() -
            // timedelta(days=7)`, `x in['a']`): prepared as templates are.
            Some(serde_json::Value::String(s)) if s.contains("{{") || s.contains("{%") => {
                let prepared = crate::templating::macros::preprocess_node(&s);
                state
                    .env()
                    .render_str(&prepared, ctx.jinja_ctx())
                    .map(Value::from)
            }
            Some(v) => Ok(Value::from_serialize(&v)),
            None => match args.get(1) {
                Some(d) => Ok(d.clone()),
                None if ctx.missing_vars_are_none => Ok(Value::from(())),
                None => Err(err(format!(
                    "required var `{name}` is not defined (used by `{}`)",
                    ctx.node.name
                ))
                .with_source(VarMissing(name.to_string()))),
            },
        }
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let ctx = ctx_or_err()?;
        let name = str_arg(args, 0);
        match method {
            "has_var" => Ok(Value::from(
                ctx.services.var(&ctx.node.package, name).is_some(),
            )),
            _ => Err(no_method("var", method)),
        }
    }
}

#[derive(Debug)]
struct VarMissing(String);
impl std::fmt::Display for VarMissing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "define it under `vars:` in dbt_project.yml or pass --vars '{{{}: ...}}'",
            self.0
        )
    }
}
impl std::error::Error for VarMissing {}

fn is_incremental() -> Result<bool, Error> {
    let ctx = ctx_or_err()?;
    // dbt's `is_incremental` is a macro: a node that calls it depends on it.
    if ctx.macro_depth.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        if let Ok(mut r) = ctx.recorded.lock() {
            let id = "macro.dbt.is_incremental";
            if !r.macros.iter().any(|m| m == id) {
                r.macros.push(id.to_string());
            }
        }
    }
    Ok(ctx.phase == Phase::Compile && ctx.services.is_incremental(&ctx.node))
}

fn log_fn(msg: Value, kwargs: Kwargs) -> Result<String, Error> {
    let info: bool = kwargs.get::<Option<bool>>("info")?.unwrap_or(false);
    if let Some(ctx) = current() {
        ctx.services.log(&msg.to_string(), info);
    }
    Ok(String::new())
}

/// `--print` / `--no-print`: whether `print()` in Jinja prints (set once per invocation).
static PRINT_ENABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Sets whether Jinja's `print()` prints (`--no-print` turns it off).
pub(crate) fn set_print_enabled(on: bool) {
    PRINT_ENABLED.store(on, std::sync::atomic::Ordering::Relaxed);
}

fn print_fn(msg: Value) -> Result<String, Error> {
    if !PRINT_ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(String::new());
    }
    if let Some(ctx) = current() {
        ctx.services.print(&msg.to_string());
    }
    Ok(String::new())
}

fn run_query(sql: String) -> Result<Value, Error> {
    let ctx = ctx_or_err()?;
    if ctx.phase == Phase::Parse {
        return Ok(Value::from(()));
    }
    let r = ctx
        .services
        .execute_sql(&sql, true)
        .map_err(database_error)?;
    Ok(Value::from_object(TableObj(r)))
}

/// Backs the built-in `statement` macro: runs SQL and stores the result under `name`.
fn execute_fn(name: String, sql: String, fetch: bool) -> Result<Value, Error> {
    let ctx = ctx_or_err()?;
    if ctx.phase == Phase::Parse {
        return Ok(Value::from(""));
    }
    let r = ctx
        .services
        .execute_sql(&sql, fetch)
        .map_err(database_error)?;
    let n = r.rows.len();
    let value = Value::from_serialize(serde_json::json!({
        "response": {"code": "OK", "rows_affected": n, "_message": "OK"},
    }));
    let table = Value::from_object(TableObj(r.clone()));
    let data: Vec<Value> = r.rows.iter().map(Value::from_serialize).collect();
    let mut m: BTreeMap<String, Value> = BTreeMap::new();
    m.insert(
        "response".into(),
        value.get_attr("response").unwrap_or_default(),
    );
    m.insert("table".into(), table);
    m.insert("data".into(), Value::from(data));
    if let Ok(mut results) = ctx.results.lock() {
        results.insert(name, Value::from(m));
    }
    Ok(Value::from(""))
}

/// A statement the warehouse rejected, as dbt raises it (`Database Error`).
fn database_error(e: String) -> Error {
    err(format!("Database Error: {e}"))
}

fn load_result(name: String) -> Result<Value, Error> {
    let ctx = ctx_or_err()?;
    Ok(ctx
        .results
        .lock()
        .ok()
        .and_then(|r| r.get(&name).cloned())
        .unwrap_or_default())
}

fn store_result(name: String, kwargs: Kwargs) -> Result<Value, Error> {
    let ctx = ctx_or_err()?;
    let mut m: BTreeMap<String, Value> = BTreeMap::new();
    for k in ["response", "agate_table"] {
        if let Ok(Some(v)) = kwargs.get::<Option<Value>>(k) {
            m.insert(
                if k == "agate_table" {
                    "table".into()
                } else {
                    k.to_string()
                },
                v,
            );
        }
    }
    if let Ok(mut results) = ctx.results.lock() {
        results.insert(name, Value::from(m));
    }
    Ok(Value::from(""))
}
fn zip_fn(args: Rest<Value>) -> Result<Value, Error> {
    let lists: Vec<Vec<Value>> = args
        .iter()
        .map(|a| a.try_iter().map(|i| i.collect()).unwrap_or_default())
        .collect();
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(Value::from(
        (0..n)
            .map(|i| super::pyvalues::PyTuple::value(lists.iter().map(|l| l[i].clone()).collect()))
            .collect::<Vec<_>>(),
    ))
}

/// dbt's `set(value)` / `set_strict(value)`: a Python set of the items (`set_strict` fails where
/// `set` gives `None`: on a value that is not iterable).
fn set_fn(v: Value) -> Result<Value, Error> {
    match v.try_iter() {
        Ok(items) => Ok(super::pyvalues::PySet::value(items)),
        Err(_) => Ok(Value::from(())),
    }
}

fn set_strict_fn(v: Value) -> Result<Value, Error> {
    Ok(super::pyvalues::PySet::value(v.try_iter()?))
}

pub(crate) fn local_md5(s: &str) -> String {
    use md5::{Digest, Md5};
    crate::project::lower_hex(&Md5::digest(s.as_bytes()))
}

/// `exceptions.raise_compiler_error(msg)`, `exceptions.warn(msg)`.
#[derive(Debug)]
struct ExceptionsObj;

impl Object for ExceptionsObj {
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let msg = args.first().map(|a| a.to_string()).unwrap_or_default();
        match method {
            "raise_compiler_error" | "raise_not_implemented" | "raise_fail_fast_error" => {
                Err(err(format!("{COMPILER_ERROR}{msg}")))
            }
            "warn" => {
                if let Some(ctx) = current() {
                    ctx.services.log(&format!("Warning: {msg}"), true);
                }
                Ok(Value::from(""))
            }
            _ => Err(no_method("exceptions", method)),
        }
    }
}

/// Python methods on values that dbt packages call (`.items()`, `.get()`, `.split()` ...).
pub(crate) fn unknown_method(
    state: &State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    match (value.kind(), method) {
        (minijinja::value::ValueKind::Map, "items") if args.is_empty() => {
            let mut pairs = Vec::new();
            for k in value.try_iter()? {
                let v = value.get_item(&k)?;
                pairs.push(super::pyvalues::PyTuple::value(vec![k, v]));
            }
            Ok(Value::from(pairs))
        }
        // Lists minijinja made (a filter's result): the methods whose result does not depend on
        // changing them (`(xs | list).pop()`; a name the template mutates holds a mutable list).
        (minijinja::value::ValueKind::Seq, "pop" | "index" | "count" | "copy") => {
            let items: Vec<Value> = value.try_iter()?.collect();
            let arg = args.first().cloned().unwrap_or_default();
            match method {
                "pop" => {
                    let len = items.len() as i64;
                    let i = args.first().and_then(|a| a.as_i64()).map_or(len - 1, |i| {
                        if i < 0 {
                            len + i
                        } else {
                            i
                        }
                    });
                    items
                        .get(usize::try_from(i).unwrap_or(usize::MAX))
                        .cloned()
                        .ok_or_else(|| err("IndexError: pop index out of range"))
                }
                "index" => items
                    .iter()
                    .position(|x| x == &arg)
                    .map(Value::from)
                    .ok_or_else(|| err("ValueError: x not in list")),
                "count" => Ok(Value::from(items.iter().filter(|x| *x == &arg).count())),
                _ => Ok(super::pyvalues::PyList::value(items)),
            }
        }
        (minijinja::value::ValueKind::Map, "copy") if args.is_empty() => {
            let mut pairs = Vec::new();
            for k in value.try_iter()? {
                let v = value.get_item(&k)?;
                pairs.push((k, v));
            }
            Ok(super::pyvalues::PyDict::value(pairs))
        }
        (minijinja::value::ValueKind::String, _) => {
            match super::pystr::call(state, value.as_str().unwrap_or(""), method, args) {
                Some(r) => r,
                None => {
                    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
                }
            }
        }
        _ => minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args),
    }
}

/// A filter's `[key, value]` pairs as Python's tuples.
fn pairs_as_tuples(v: Value) -> Result<Value, Error> {
    Ok(Value::from(
        v.try_iter()?
            .map(|p| match p.try_iter() {
                Ok(items) => super::pyvalues::PyTuple::value(items.collect()),
                Err(_) => p,
            })
            .collect::<Vec<_>>(),
    ))
}

/// A short stable code for a template error.
pub(crate) fn error_code(e: &Error) -> Code {
    let d = e.detail().unwrap_or("");
    if d.starts_with(COMPILER_ERROR) {
        return Code::CompilerError;
    }
    if d.starts_with("required var") {
        return Code::MissingVar;
    }
    match e.kind() {
        ErrorKind::SyntaxError => Code::JinjaSyntax,
        ErrorKind::UnknownFunction => Code::UnknownFunction,
        ErrorKind::UndefinedError => Code::Undefined,
        _ if d.contains("ref(") || d.contains("was not found") => Code::UnknownRef,
        _ => Code::Jinja,
    }
}

/// A hint for common template errors.
pub(crate) fn hint_for(e: &Error) -> Option<String> {
    match e.kind() {
        ErrorKind::SyntaxError => {
            Some("check that every `{{`, `{%` and block tag is closed".into())
        }
        ErrorKind::UnknownFunction => {
            Some("define it as a macro under `macro-paths` or check its spelling".into())
        }
        _ => {
            let mut c = std::error::Error::source(e);
            while let Some(src) = c {
                if let Some(v) = src.downcast_ref::<VarMissing>() {
                    return Some(v.to_string());
                }
                c = src.source();
            }
            None
        }
    }
}

/// Renders `src` with the Python layer alone (values, operators, str methods, filters) and the
/// given globals, as the Python-module tests compare with what Python prints.
#[cfg(test)]
pub(crate) fn render_python(src: &str, globals: &[(&str, Value)]) -> String {
    let mut env = minijinja::Environment::new();
    for (name, v) in globals {
        env.add_global(name.to_string(), v.clone());
    }
    register_python(&mut env);
    env.set_formatter(super::pyvalues::format_output);
    let src = super::syntax::rewrite(src).into_owned();
    env.render_str(&src, ())
        .unwrap_or_else(|e| format!("ERR {e:#}"))
}

/// Jinja2's `divisibleby` test (`value % num == 0`): by zero it is Python's ZeroDivisionError
/// (minijinja's own test divides by zero and panics; found by the fuzzer).
fn divisible_by(v: Value, num: Value) -> Result<bool, Error> {
    if let (Ok(a), Ok(b)) = (i128::try_from(v.clone()), i128::try_from(num.clone())) {
        return match b {
            0 => Err(err("ZeroDivisionError: integer division or modulo by zero")),
            // (`i128::MIN % -1` overflows; every number is divisible by -1.)
            _ => Ok(a.checked_rem(b).is_none_or(|r| r == 0)),
        };
    }
    match (f64::try_from(v), f64::try_from(num)) {
        (Ok(_), Ok(0.0)) => Err(err("ZeroDivisionError: float modulo")),
        (Ok(a), Ok(b)) => Ok(a % b == 0.0),
        _ => Ok(false),
    }
}
