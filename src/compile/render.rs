//! Phase 2: render each selected node with refs resolved, giving its compiled SQL.
//!
//! Ephemeral models are not built; their compiled SQL is injected into every node that refs them
//! as `__dbt__cte__<name>` CTEs, flattened and in dependency order, the way dbt does it.
//! Generic tests are compiled by calling their test macro with the test's arguments (rendered:
//! `ref(...)` becomes a relation, Jinja strings are rendered).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use minijinja::value::{Kwargs, Value as JValue};
use serde_json::{Map, Value};

use super::nodes::{Manifest, Materialization, Node, ResourceType};
use super::resolve::Resolver;
use crate::diagnostics::{Code, Diagnostic};
use crate::sql::{Dialect, Relation};
use crate::templating::{Column, NodeInfo, Phase, QueryResult, RenderCtx, Services, Templates};

/// Warehouse access for compile-time introspection (`run_query`, `is_incremental()` ...).
pub(crate) trait Warehouse: Send + Sync {
    fn execute_sql(&self, sql: &str, fetch: bool) -> Result<QueryResult, String>;
    fn get_relation(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<(Relation, String)>, String>;
    fn get_columns(&self, relation: &Relation) -> Result<Vec<Column>, String>;
}

/// Services for the compile phase: the resolver plus, when running, a warehouse.
pub(crate) struct CompileServices {
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) warehouse: Option<Arc<dyn Warehouse>>,
    pub(crate) full_refresh: bool,
    pub(crate) dialect: Dialect,
    /// `log(..., info=True)` / `print()` output, drained by the caller.
    pub(crate) logs: Mutex<Vec<String>>,
    /// `config.set(...)` calls made while compiling, by node id (read by [`Self::set_config_of`]).
    set_configs: Mutex<BTreeMap<String, Map<String, Value>>>,
    /// `--empty` (see [`Services::empty_refs`]).
    empty: bool,
    /// The window of the microbatch being compiled (start, end: `2020-01-01 00:00:00+00:00`).
    batch: Option<(String, String)>,
}

impl CompileServices {
    pub(crate) fn new(
        resolver: Arc<Resolver>,
        warehouse: Option<Arc<dyn Warehouse>>,
        full_refresh: bool,
        dialect: Dialect,
    ) -> Self {
        CompileServices {
            resolver,
            warehouse,
            full_refresh,
            dialect,
            logs: Mutex::new(vec![]),
            set_configs: Mutex::new(BTreeMap::new()),
            empty: false,
            batch: None,
        }
    }
    /// These services compiling one microbatch: parents with an `event_time` are limited to
    /// `[start, end)`, and `is_incremental()` is what the batch says.
    pub(crate) fn with_batch(mut self, start: String, end: String) -> Self {
        self.batch = Some((start, end));
        self
    }
    /// These services with `--empty`'s zero-row refs and sources (or without).
    pub(crate) fn with_empty(mut self, empty: bool) -> Self {
        self.empty = empty;
        self
    }
    /// The value node `node_id` gave `key` with `config.set` as it compiled (e.g. `sql_header`).
    pub(crate) fn set_config_of(&self, node_id: &str, key: &str) -> Option<Value> {
        self.set_configs
            .lock()
            .ok()
            .and_then(|m| m.get(node_id).and_then(|c| c.get(key)).cloned())
    }
    pub(crate) fn take_logs(&self) -> Vec<String> {
        self.logs
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }
}

impl Services for CompileServices {
    fn resolve_ref(
        &self,
        node: &NodeInfo,
        package: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<Relation, String> {
        let (rel, ephemeral, _) =
            self.resolver
                .ref_relation(&node.package, package, name, version)?;
        if ephemeral {
            return Ok(Relation::new("__ephemeral__", "", rel.identifier));
        }
        Ok(rel)
    }
    fn resolve_source(
        &self,
        _node: &NodeInfo,
        source: &str,
        table: &str,
    ) -> Result<Relation, String> {
        self.resolver.source_relation(source, table)
    }
    fn var(&self, package: &str, name: &str) -> Option<Value> {
        self.resolver.vars.lookup_var(package, name)
    }
    fn execute_sql(&self, sql: &str, fetch: bool) -> Result<QueryResult, String> {
        match &self.warehouse {
            Some(w) => w.execute_sql(sql, fetch),
            None => Err(
                "this command has no warehouse connection; `run_query` needs `sluice run`/`build`"
                    .into(),
            ),
        }
    }
    fn get_relation(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<(Relation, String)>, String> {
        match &self.warehouse {
            Some(w) => w.get_relation(database, schema, identifier),
            None => Ok(None),
        }
    }
    fn get_columns(&self, relation: &Relation) -> Result<Vec<Column>, String> {
        match &self.warehouse {
            Some(w) => w.get_columns(relation),
            None => Ok(vec![]),
        }
    }
    fn is_incremental(&self, node: &NodeInfo) -> bool {
        let incremental = node.config.materialization() == super::Materialization::Incremental;
        let full_refresh = match node.config.get("full_refresh") {
            Some(Value::Bool(b)) => *b,
            _ => self.full_refresh,
        };
        if !incremental || full_refresh {
            return false;
        }
        let (Some(w), Some(this)) = (&self.warehouse, &node.this) else {
            return false;
        };
        matches!(w.get_relation(&this.database, &this.schema, &this.identifier), Ok(Some((_, kind))) if kind == "table")
    }
    fn log(&self, message: &str, info: bool) {
        if info {
            if let Ok(mut l) = self.logs.lock() {
                l.push(message.to_string());
            }
        }
    }
    fn event_time_filter(&self, rel: &Relation) -> Option<String> {
        let (start, end) = self.batch.as_ref()?;
        let col = self.resolver.event_time_of(rel)?;
        Some(format!("{col} >= '{start}' and {col} < '{end}'"))
    }
    fn empty_refs(&self) -> bool {
        self.empty
    }
    fn set_config(&self, node_id: &str, key: &str, value: Value) {
        if let Ok(mut m) = self.set_configs.lock() {
            m.entry(node_id.to_string())
                .or_default()
                .insert(key.to_string(), value);
        }
    }
    fn dialect(&self) -> Dialect {
        self.dialect
    }
}

/// The render-time view of a node.
pub(crate) use super::naming::render_node_info as node_info;

/// Compiles one node's SQL (without ephemeral CTEs).
pub(crate) fn render_node(
    node: &Node,
    templates: &Templates,
    services: Arc<dyn Services>,
) -> Result<String, Diagnostic> {
    if let Some(sql) = native_test(node, templates, services.as_ref())? {
        return Ok(sql);
    }
    let ctx = Arc::new(RenderCtx::new(Phase::Compile, node_info(node), services));
    if let Some(meta) = &node.test_metadata {
        let mut kwargs: Vec<(String, JValue)> = Vec::new();
        for (k, v) in &meta.kwargs {
            let val = if k == "column_name" {
                // dbt keeps the column name as written.
                JValue::from_serialize(v)
            } else {
                test_kwarg(templates, &node.original_file_path, &ctx, v)?
            };
            kwargs.push((k.clone(), val));
        }
        let name = match &meta.namespace {
            Some(ns) => format!("{ns}.test_{}", meta.name),
            None => format!("test_{}", meta.name),
        };
        let kw: Kwargs = kwargs.into_iter().collect();
        let out = templates
            .call_macro(&name, vec![JValue::from(kw)], &ctx)
            .map_err(|mut d| {
                if d.location.is_none() {
                    d = d.in_file(&node.original_file_path);
                }
                d
            })?;
        return Ok(out.to_string());
    }
    let code = if node.resource_type == ResourceType::Seed {
        ""
    } else {
        node.raw_code.as_str()
    };
    templates.render(&node.original_file_path, code, &ctx)
}

/// A generic test's argument as dbt renders it (`add_rendered_test_kwargs`): every string in it,
/// also inside lists and dicts, that calls `ref` / `source` / `var` / `env_var` / `doc` or holds
/// Jinja is rendered; a lone `{{ expr }}` keeps its value (dbt renders natively), so `model` is
/// the relation object `get_where_subquery` returns.
fn test_kwarg(
    templates: &Templates,
    file: &str,
    ctx: &Arc<RenderCtx>,
    v: &Value,
) -> Result<JValue, Diagnostic> {
    Ok(match v {
        Value::String(s) if is_call(s) => templates.eval_expr(file, s, ctx)?,
        Value::String(s) if lone_expression(s).is_some() => {
            templates.eval_expr(file, lone_expression(s).unwrap_or_default(), ctx)?
        }
        Value::String(s) if s.contains("{{") || s.contains("{%") => {
            JValue::from_safe_string(templates.render(file, s, ctx)?)
        }
        Value::Array(items) => JValue::from(
            items
                .iter()
                .map(|x| test_kwarg(templates, file, ctx, x))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Value::Object(map) if map.values().any(has_jinja) => {
            let mut out = indexmap::IndexMap::new();
            for (k, x) in map {
                out.insert(
                    JValue::from(k.as_str()),
                    test_kwarg(templates, file, ctx, x)?,
                );
            }
            JValue::from(out)
        }
        other => JValue::from_serialize(other),
    })
}

/// Whether a value holds a string [`test_kwarg`] would render.
fn has_jinja(v: &Value) -> bool {
    match v {
        Value::String(s) => is_call(s) || super::yaml_values::has_jinja(s),
        Value::Array(items) => items.iter().any(has_jinja),
        Value::Object(map) => map.values().any(has_jinja),
        _ => false,
    }
}

/// The expression of a string that is exactly one `{{ expr }}`.
fn lone_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then(|| inner.trim())
}

/// dbt's `looks_like_func`: `^\s*(env_var|ref|var|source|doc)\s*\(.+\)\s*$`.
fn is_call(s: &str) -> bool {
    let t = s.trim();
    ["env_var", "ref", "var", "source", "doc"].iter().any(|f| {
        t.strip_prefix(f)
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('('))
            .is_some_and(|r| r.len() > 1 && r.ends_with(')'))
    })
}

/// Compiles a node with its ephemeral ancestors injected as CTEs.
pub(crate) fn compile_node(
    manifest: &Manifest,
    id: &str,
    templates: &Templates,
    services: Arc<dyn Services>,
) -> Result<String, Diagnostic> {
    compile_node_in(manifest, id, templates, services, true)
}

/// Whether any enabled model is ephemeral (when none is, compiling can skip looking for them).
pub(crate) fn has_ephemeral_models(manifest: &Manifest) -> bool {
    manifest.nodes.values().any(|n| {
        n.resource_type == ResourceType::Model && n.materialization() == Materialization::Ephemeral
    })
}

/// [`compile_node`], told whether the project has ephemeral models at all
/// ([`has_ephemeral_models`], computed once for many nodes).
pub(crate) fn compile_node_in(
    manifest: &Manifest,
    id: &str,
    templates: &Templates,
    services: Arc<dyn Services>,
    any_ephemeral: bool,
) -> Result<String, Diagnostic> {
    compile_node_blaming(manifest, id, templates, services, any_ephemeral).map_err(|(_, d)| d)
}

/// [`compile_node_in`], saying which node failed to compile: the node itself (`None`) or one
/// of the ephemeral models it inlines (its id); dbt skips a node whose ephemeral parent fails.
pub(crate) fn compile_node_blaming(
    manifest: &Manifest,
    id: &str,
    templates: &Templates,
    services: Arc<dyn Services>,
    any_ephemeral: bool,
) -> Result<String, (Option<String>, Diagnostic)> {
    let node = manifest.node_or_hook(id).ok_or_else(|| {
        (
            None,
            Diagnostic::error(Code::Internal, format!("unknown node `{id}`")),
        )
    })?;
    let sql = render_node(node, templates, services.clone()).map_err(|d| (None, d))?;
    if !any_ephemeral {
        return Ok(sql);
    }
    let ephemerals = ephemeral_ancestors(manifest, node);
    with_ephemeral_ctes(manifest, sql, ephemerals, templates, services)
        .map_err(|(eid, d)| (Some(eid), d))
}

/// `sql` with the CTEs of the ephemeral models `ephemerals` (in that order: each after the ones
/// it reads) put in front.
fn with_ephemeral_ctes(
    manifest: &Manifest,
    sql: String,
    ephemerals: Vec<String>,
    templates: &Templates,
    services: Arc<dyn Services>,
) -> Result<String, (String, Diagnostic)> {
    if ephemerals.is_empty() {
        return Ok(sql);
    }
    let mut ctes = Vec::new();
    for eid in ephemerals {
        let e = &manifest.nodes[&eid];
        let esql = render_node(e, templates, services.clone()).map_err(|d| (eid.clone(), d))?;
        ctes.push(format!("__dbt__cte__{} as (\n{}\n)", e.alias, esql.trim()));
    }
    Ok(inject_ctes(&sql, &ctes))
}

/// The ephemeral models that compiling `ids` inlined, each compiled on its own (its own
/// ephemeral parents injected): dbt records their SQL in the manifest as it compiles the nodes
/// that read them.
pub(crate) fn compile_ephemeral_ancestors(
    manifest: &Manifest,
    ids: &[&str],
    templates: &Templates,
    services: Arc<dyn Services>,
) -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeSet::new();
    for id in ids {
        if let Some(n) = manifest.nodes.get(*id) {
            seen.extend(ephemeral_ancestors(manifest, n));
        }
    }
    seen.into_iter()
        .filter_map(|eid| {
            let sql = compile_node_in(manifest, &eid, templates, services.clone(), true).ok()?;
            Some((eid, sql))
        })
        .collect()
}

/// Compiles an inline query (`compile --inline`, `show --inline`) of the root package: renders
/// it as a `sql_operation` node and, as for a node, puts the CTEs of the ephemeral models it
/// reads (and of theirs) in front.
pub(crate) fn compile_inline(
    manifest: &Manifest,
    sql: &str,
    package: &str,
    templates: &Templates,
    services: Arc<dyn Services>,
) -> Result<String, Diagnostic> {
    let info = NodeInfo {
        unique_id: "sql_operation.inline".into(),
        name: "inline".into(),
        package: package.to_string(),
        resource_type: "sql_operation".into(),
        original_file_path: "<inline>".into(),
        ..Default::default()
    };
    let ctx = Arc::new(RenderCtx::new(Phase::Compile, info, services.clone()));
    let out = templates.render("<inline>", sql, &ctx)?;
    // The query names an ephemeral model by its CTE, which `ref` rendered.
    let names_cte = |alias: &str| {
        let name = format!("__dbt__cte__{alias}");
        out.match_indices(&name).any(|(i, _)| {
            out[i + name.len()..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
        })
    };
    let mut ephemerals: Vec<String> = Vec::new();
    for n in manifest.nodes.values() {
        let ephemeral = n.resource_type == ResourceType::Model
            && n.materialization() == Materialization::Ephemeral;
        if ephemeral && names_cte(&n.alias) {
            for id in ephemeral_ancestors(manifest, n)
                .into_iter()
                .chain([n.unique_id.clone()])
            {
                if !ephemerals.contains(&id) {
                    ephemerals.push(id);
                }
            }
        }
    }
    with_ephemeral_ctes(manifest, out, ephemerals, templates, services).map_err(|(_, d)| d)
}

/// Ephemeral ancestors reachable through ephemeral parents, dependencies first.
fn ephemeral_ancestors(manifest: &Manifest, node: &Node) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    fn visit(manifest: &Manifest, n: &Node, out: &mut Vec<String>, depth: usize) {
        if depth > 100 {
            return;
        }
        for p in &n.depends_on_nodes {
            // Only models can be ephemeral: skip seeds and sources without a lookup.
            if !p.starts_with("model.") {
                continue;
            }
            if let Some(pn) = manifest.nodes.get(p) {
                if pn.materialization() == Materialization::Ephemeral {
                    visit(manifest, pn, out, depth + 1);
                    if !out.contains(p) {
                        out.push(p.clone());
                    }
                }
            }
        }
    }
    visit(manifest, node, &mut out, 0);
    out
}

/// Adds CTEs in front of a query: merged into its `with` clause when it has one, as dbt does:
/// the first `with` (or `with recursive`) at the top level of the first statement, after any
/// comments and whatever else precedes it there; otherwise a new `with` in front.
pub fn inject_ctes(sql: &str, ctes: &[String]) -> String {
    let joined = ctes.join(",\n");
    match top_level_with(sql) {
        Some(end) => format!("{} {joined},\n{}", &sql[..end], sql[end..].trim_start()),
        None => {
            let trimmed = sql.trim_start();
            let lead = &sql[..sql.len() - trimmed.len()];
            format!("{lead}with {joined}\n{trimmed}")
        }
    }
}

/// The byte offset just after the first top-level `with` (or `with recursive`) keyword of the
/// first statement of `sql`: outside strings, quoted names, comments and parentheses.
fn top_level_with(sql: &str) -> Option<usize> {
    let b = sql.as_bytes();
    let word_at = |i: usize, w: &str| {
        b.len() >= i + w.len()
            // Bytes, not a `str` slice: `i + w.len()` may fall inside a multi-byte character.
            && b[i..i + w.len()].eq_ignore_ascii_case(w.as_bytes())
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            && b.get(i + w.len())
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
    };
    let (mut i, mut depth) = (0usize, 0i32);
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'(' => depth += 1,
            b')' => depth -= 1,
            b';' if depth == 0 => return None,
            b'w' | b'W' if depth == 0 && word_at(i, "with") => {
                let end = i + 4;
                let rest = &sql[end..];
                let next = end + (rest.len() - rest.trim_start().len());
                if word_at(next, "recursive") {
                    return Some(next + "recursive".len());
                }
                return Some(end);
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Whether the file at `path` holds exactly `expected`. Reads at most one byte more than that,
/// into a buffer sized up front (`std::fs::read` asks the file's size first: one more system
/// call per file, a tenth of checking 40,000 of them).
fn holds(path: &std::path::Path, expected: &[u8]) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut old = Vec::with_capacity(expected.len() + 1);
    match file.take(expected.len() as u64 + 1).read_to_end(&mut old) {
        Ok(_) => old == expected,
        Err(_) => false,
    }
}

/// Writes a file sluice keeps (a node's compiled SQL, partial parsing's copy of a properties
/// file), creating its folder, unless it already holds `text`: rewriting an unchanged file
/// costs some 20 times reading it (0.29 ms against 0.015 ms here), which on 40,000 compiled
/// files, or on every node of a build, adds up.
pub(crate) fn write_if_changed(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    if holds(path, text.as_bytes()) {
        return Ok(());
    }
    match std::fs::write(path, text) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match path.parent() {
            Some(dir) => std::fs::create_dir_all(dir).and_then(|()| std::fs::write(path, text)),
            None => Err(e),
        },
        other => other,
    }
}

/// `target/compiled/<project>/<original_file_path>` for a node (tests from YAML get a folder
/// named after the YAML file, as in dbt).
pub(crate) fn compiled_path(target_path: &str, node: &Node) -> String {
    // Tests defined in YAML (generic tests, metric tests): one file per test under the YAML's.
    // A run hook's operation node: `<pkg>/./dbt_project.yml/hooks/<name>.sql`, as dbt has it.
    if node.test_metadata.is_some()
        || node.test_type() == Some("metric")
        || node.resource_type == ResourceType::Operation
    {
        format!(
            "{target_path}/compiled/{}/{}/{}",
            node.package_name, node.original_file_path, node.path
        )
    } else {
        format!(
            "{target_path}/compiled/{}/{}",
            node.package_name, node.original_file_path
        )
    }
}

/// The four built-in generic tests rendered natively, byte for byte as the built-in macros in
/// `templating/builtins/tests.sql` render them, when the project does not override them. Why:
/// a project has thousands of these tests and calling their macros through Jinja dominates
/// compile time. `SLUICE_NO_NATIVE_TESTS=1` turns this off (the tests compare both paths).
fn native_test(
    node: &Node,
    templates: &Templates,
    services: &dyn Services,
) -> Result<Option<String>, Diagnostic> {
    let Some(meta) = &node.test_metadata else {
        return Ok(None);
    };
    if meta.namespace.is_some() || std::env::var_os("SLUICE_NO_NATIVE_TESTS").is_some() {
        return Ok(None);
    }
    let name = meta.name.as_str();
    if !matches!(
        name,
        "not_null" | "unique" | "accepted_values" | "relationships"
    ) {
        return Ok(None);
    }
    let index = &templates.index;
    // The engine's own version (`bigquery__test_unique`) or a project's renders through Jinja.
    let engine_versions: Vec<String> = index
        .dispatch_prefixes
        .iter()
        .filter(|p| *p != "default")
        .map(|p| format!("{p}__test_{name}"))
        .collect();
    let overridden = index.dispatch.contains_key("dbt")
        || index
            .by_package
            .get("dbt")
            .is_some_and(|defs| engine_versions.iter().any(|m| defs.contains_key(m)))
        || index.by_package.iter().any(|(pkg, defs)| {
            pkg != "dbt"
                && [
                    format!("test_{name}"),
                    format!("default__test_{name}"),
                    "get_where_subquery".to_string(),
                    "should_store_failures".to_string(),
                ]
                .iter()
                .chain(&engine_versions)
                .any(|m| defs.contains_key(m))
        });
    if overridden {
        return Ok(None);
    }
    let info = node_info(node);
    let relation = |call: &str| -> Option<Result<String, Diagnostic>> {
        let c = call.trim();
        let inner = c
            .strip_prefix("{{ get_where_subquery(")
            .and_then(|r| r.strip_suffix(") }}"));
        let expr = inner.unwrap_or(c);
        let (kind, args) = parse_static_call(expr)?;
        let rel = match kind.as_str() {
            "ref" if !expr.contains('=') => {
                let (pkg, nm) = match args.as_slice() {
                    [n] => (None, n.as_str()),
                    [p, n] => (Some(p.as_str()), n.as_str()),
                    _ => return None,
                };
                services.resolve_ref(&info, pkg, nm, None)
            }
            "source" if args.len() == 2 => services.resolve_source(&info, &args[0], &args[1]),
            _ => return None,
        };
        let rel = match rel {
            Ok(r) => r,
            Err(e) => {
                return Some(Err(
                    Diagnostic::error(Code::UnknownRef, e).in_file(&node.original_file_path)
                ))
            }
        };
        let text = if rel.database == "__ephemeral__" {
            format!("__dbt__cte__{}", rel.identifier)
        } else {
            rel.quoted()
        };
        if inner.is_none() {
            return Some(Ok(text));
        }
        let where_ = node.config.get("where").filter(|v| !v.is_null());
        Some(Ok(match where_ {
            Some(Value::String(w)) if w.contains("{{") || w.contains("{%") => return None,
            Some(w) if !matches!(w, Value::Bool(false)) && w.as_str() != Some("") => {
                format!(
                    "(select * from {text} where {}) dbt_subquery",
                    JValue::from_serialize(w)
                )
            }
            _ => text,
        }))
    };
    let arg = |k: &str| {
        meta.kwargs
            .get(k)
            .map(|v| JValue::from_serialize(v).to_string())
    };
    let Some(model) = meta
        .kwargs
        .get("model")
        .and_then(Value::as_str)
        .and_then(relation)
    else {
        return Ok(None);
    };
    let model = model?;
    let Some(col) = arg("column_name") else {
        return Ok(None);
    };
    let sql = match name {
        "not_null" => {
            let store = node.config_bool("store_failures").unwrap_or(false)
                || templates.globals().flags.get("STORE_FAILURES").and_then(Value::as_bool).unwrap_or(false);
            let selected = if store { "*".to_string() } else { col.clone() };
            format!("\n    \nselect {selected}\nfrom {model}\nwhere {col} is null\n\n")
        }
        "unique" => format!(
            "\n    \nselect\n    {col} as unique_field,\n    count(*) as n_records\nfrom {model}\nwhere {col} is not null\ngroup by {col}\nhaving count(*) > 1\n\n"
        ),
        "accepted_values" => {
            let Some(Value::Array(values)) = meta.kwargs.get("values") else { return Ok(None) };
            let quote = match meta.kwargs.get("quote") {
                None => true,
                Some(v) => JValue::from_serialize(v).is_true(),
            };
            let vals: Vec<String> = values
                .iter()
                .map(|v| {
                    let t = JValue::from_serialize(v).to_string();
                    if quote { format!("'{t}'") } else { t }
                })
                .collect();
            format!(
                "\n    \nwith all_values as (\n    select {col} as value_field, count(*) as n_records\n    from {model}\n    group by {col}\n)\nselect *\nfrom all_values\nwhere value_field not in ({})\n\n",
                vals.join(", ")
            )
        }
        _ => {
            let Some(field) = arg("field") else { return Ok(None) };
            let Some(to) = meta.kwargs.get("to").and_then(Value::as_str).and_then(relation) else { return Ok(None) };
            let to = to?;
            format!(
                "\n    \nwith child as (\n    select {col} as from_field\n    from {model}\n    where {col} is not null\n),\nparent as (\n    select {field} as to_field\n    from {to}\n)\nselect from_field\nfrom child\nleft join parent on child.from_field = parent.to_field\nwhere parent.to_field is null\n\n"
            )
        }
    };
    Ok(Some(sql))
}

/// `ref('a')` / `source('a', 'b')` with literal arguments -> ("ref", ["a"]).
fn parse_static_call(s: &str) -> Option<(String, Vec<String>)> {
    let s = s.trim();
    let (kind, rest) = s.split_once('(')?;
    let kind = kind.trim();
    if kind != "ref" && kind != "source" {
        return None;
    }
    let body = rest.strip_suffix(')')?;
    let mut args = Vec::new();
    for a in body.split(',') {
        let a = a.trim();
        let unq = a
            .strip_prefix('\'')
            .and_then(|x| x.strip_suffix('\''))
            .or_else(|| a.strip_prefix('"').and_then(|x| x.strip_suffix('"')))?;
        if unq.contains(['\'', '"', '{', '}']) {
            return None;
        }
        args.push(unq.to_string());
    }
    Some((kind.to_string(), args))
}

#[cfg(test)]
mod tests {
    use super::inject_ctes;

    /// Found by the fuzzer: a `w` followed by a multi-byte character within four bytes.
    #[test]
    fn a_multibyte_character_after_a_w_is_not_a_with() {
        let cte = ["e as (select 1)".to_string()];
        assert_eq!(
            inject_ctes("case wh\u{fffd} end", &cte),
            "with e as (select 1)\ncase wh\u{fffd} end"
        );
        assert_eq!(
            inject_ctes("WI\u{feff}H x", &cte),
            "with e as (select 1)\nWI\u{feff}H x"
        );
    }

    /// Where dbt (`inject_ctes_into_sql`, with sqlparse) puts ephemeral CTEs, up to whitespace.
    #[test]
    fn ctes_join_the_first_top_level_with_clause() {
        let cte = ["__dbt__cte__e as (\nselect 1 as x\n)".to_string()];
        let squash = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
        for (sql, want) in [
            (
                "select * from t",
                "with __dbt__cte__e as ( select 1 as x ) select * from t",
            ),
            (
                "-- setup\n\nwith a as (select 1) select * from a",
                "-- setup with __dbt__cte__e as ( select 1 as x ), a as (select 1) select * from a",
            ),
            (
                "/* c; */ WITH RECURSIVE a as (select 1) select 1",
                "/* c; */ WITH RECURSIVE __dbt__cte__e as ( select 1 as x ), a as (select 1) select 1",
            ),
            (
                "select 'with' as with_x from (with b as (select 1) select * from b)",
                "with __dbt__cte__e as ( select 1 as x ) select 'with' as with_x from (with b as (select 1) select * from b)",
            ),
        ] {
            assert_eq!(squash(inject_ctes(sql, &cte)), want, "{sql}");
        }
    }
}
