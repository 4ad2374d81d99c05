//! Generic test nodes from properties YAML (`data_tests:` / `tests:` on models, seeds, snapshots,
//! sources and their columns): names exactly as dbt names them, configs, the refs they depend on,
//! and the parse-phase render of a test macro for the `config()` calls it makes (its macro's side
//! is `test_macros`). Split out of parse because tests are built after every other node exists,
//! from those nodes.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::{Map, Value};

use super::configs::{default_config_shared, finish_config, merge_into, package_cfgs};
use super::naming::{name_relation, node_info};
use super::nodes::*;
use super::paths::{dirs_of, relative_to_resource};
use super::properties::{entry_tests, Entry, Properties};
use super::resolve::ParseServices;
use super::test_macros::{check_test_macro, is_dbt_static, parse_render_test_macro, MacroMemo};
use super::test_names::{TestDefinition, TestTarget};
use super::versions::{has_versions, Versions};
use super::yaml_values::{parse_call, render_config_strings, value_has_jinja};
use crate::diagnostics::{Code, Diagnostic};
use crate::project::config::str_list;
use crate::project::{Project, Target};
use crate::templating::{RenderCtx, Templates};

pub(super) fn find_refable(
    manifest: &Manifest,
    pkg: &str,
    package: Option<&str>,
    name: &str,
) -> Option<String> {
    let mut found: Option<&Node> = None;
    for n in manifest.nodes.values() {
        if n.resource_type.is_refable()
            && n.name == name
            && (n.version.is_none() || n.is_latest_version())
            && package.is_none_or(|p| p == n.package_name)
            && (found.is_none() || n.package_name == pkg)
        {
            found = Some(n);
        }
    }
    found.map(|n| n.unique_id.clone())
}

/// What every generic test of a project is built with.
struct TestEnv<'a> {
    pkg: &'a String,
    root: &'a Project,
    project: &'a Project,
    target: &'a Target,
    templates: &'a Templates,
    services: &'a Arc<ParseServices>,
}

/// A properties entry (a model, seed, snapshot or source table) whose tests are built.
struct Attach<'a> {
    entry: &'a Map<String, Value>,
    file: &'a str,
    key: &'static str,
    target: TestTarget<'a>,
    attached: Option<String>,
    resource_folder_path: String,
    /// Tags its tests carry before their column's: a source table's are its source's and its
    /// own top-level `tags:` (dbt's source test parser passes them on).
    inherited_tags: Vec<String>,
}

/// Builds generic test nodes from properties YAML. Boxed: they go into the manifest's node map
/// as boxes, and moving 1.2 KB nodes around twice more showed in parse profiles.
#[allow(clippy::vec_box)]
pub(super) fn generic_tests(
    (props, versions): (&Properties, &Versions),
    manifest: &Manifest,
    (root, project): (&Project, &Project),
    target: &Target,
    templates: &Templates,
    services: &Arc<ParseServices>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Box<Node>> {
    let env = TestEnv {
        pkg: &project.config.name,
        root,
        project,
        target,
        templates,
        services,
    };
    let source_tables = source_tables(props);
    let source_names: Vec<(String, String)> = source_tables
        .iter()
        .map(|(s, tm, ..)| {
            (
                s.clone(),
                tm.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    let mut attaches = node_attaches(props, versions, manifest, project);
    for (i, (_, tm, file, source_tags)) in source_tables.iter().enumerate() {
        let (s, t) = &source_names[i];
        let mut inherited_tags = source_tags.clone();
        inherited_tags.extend(str_list(tm.get("tags")));
        attaches.push(Attach {
            entry: tm,
            file,
            key: "sources",
            target: TestTarget::Source {
                source: s,
                table: t,
            },
            attached: None,
            resource_folder_path: relative_to_resource(file, project),
            inherited_tags,
        });
    }
    // Each entry's tests are independent of every other entry's: build them in parallel, then
    // keep the entries' order.
    // (Each worker looks up each test macro once: see `MacroMemo`.)
    let built: Vec<(Vec<Box<Node>>, Vec<Diagnostic>)> = attaches
        .par_iter()
        .map_init(
            || MacroMemo::new(env.pkg, env.templates, env.services),
            |memo, a| entry_test_nodes(a, &env, memo),
        )
        .collect();
    let mut out = Vec::new();
    for (nodes, errs) in built {
        out.extend(nodes);
        errors.extend(errs);
    }
    out
}

/// The models', seeds' and snapshots' entries (each version of a versioned model on its own).
fn node_attaches<'a>(
    props: &'a Properties,
    versions: &'a Versions,
    manifest: &Manifest,
    project: &Project,
) -> Vec<Attach<'a>> {
    let pkg = &project.config.name;
    let refable: BTreeMap<&str, &str> = manifest
        .nodes
        .values()
        .filter(|n| n.resource_type.is_refable() && &n.package_name == pkg)
        .map(|n| (n.name.as_str(), n.unique_id.as_str()))
        .collect();
    // The entries in order; each entry's attaches are made in parallel, then kept in order.
    let entries: Vec<(&'static str, &'a String, &'a Entry)> = [
        ("models", &props.models),
        ("seeds", &props.seeds),
        ("snapshots", &props.snapshots),
    ]
    .into_iter()
    .flat_map(|(kind, map)| map.iter().map(move |(name, entry)| (kind, name, entry)))
    .collect();
    let of_entry = |&(kind, name, entry): &(&'static str, &'a String, &'a Entry)| {
        let folder = relative_to_resource(entry.file, project);
        let attach = |tests: &'a Map<String, Value>, version: Option<&'a str>, attached| Attach {
            entry: tests,
            file: entry.file,
            key: kind,
            target: TestTarget::Node { name, version },
            attached,
            resource_folder_path: folder.clone(),
            inherited_tags: Vec::new(),
        };
        if kind == "models" && has_versions(entry.value) {
            // dbt's `parse_versioned_tests`: each version's columns and tests, on it.
            return versions
                .of_model(name)
                .filter_map(|p| {
                    let id = p.unique_id(pkg);
                    let known =
                        manifest.nodes.contains_key(&id) || manifest.disabled.contains_key(&id);
                    known.then(|| attach(&p.entry, Some(p.v.as_str()), Some(id)))
                })
                .collect();
        }
        // A test of a disabled model, or of one that does not exist, is still built: like
        // dbt, it stays among the nodes (attached to the disabled model) and is disabled
        // when its `ref` is resolved.
        let id = refable
            .get(name.as_str())
            .map(|id| id.to_string())
            .or_else(|| {
                manifest
                    .disabled
                    .iter()
                    .find(|(k, list)| {
                        k.ends_with(&format!(".{name}"))
                            && list
                                .iter()
                                .any(|n| n.resource_type.is_refable() && &n.package_name == pkg)
                    })
                    .map(|(k, _)| k.clone())
            });
        vec![attach(entry.value, None, id)]
    };
    let made: Vec<Vec<Attach<'a>>> = entries.par_iter().map(of_entry).collect();
    made.into_iter().flatten().collect()
}

/// A source table entry: its source's name, the entry, its file, its source's `tags:`.
type SourceTable<'a> = (String, Map<String, Value>, &'a str, Vec<String>);

/// Every source table entry.
fn source_tables<'a>(props: &'a Properties<'a>) -> Vec<SourceTable<'a>> {
    let mut source_tables = Vec::new();
    for entry in &props.sources {
        if let Some(Value::Array(tables)) = entry.value.get("tables") {
            let tags = str_list(entry.value.get("tags"));
            for t in tables {
                if let Value::Object(tm) = t {
                    let name = entry.name().to_string();
                    source_tables.push((name, tm.clone(), entry.file, tags.clone()));
                }
            }
        }
    }
    source_tables
}

/// The test nodes of one entry: its own tests, then each column's.
#[allow(clippy::vec_box)]
fn entry_test_nodes(
    a: &Attach,
    env: &TestEnv,
    memo: &mut MacroMemo,
) -> (Vec<Box<Node>>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    // Each test with its column (quoted as its `quote:` says) and the column's tags, which its
    // tests carry (dbt's `column_tags`: `tags:` and `config: tags:`).
    let mut defs: Vec<(Option<String>, Vec<String>, &Value)> = entry_tests(a.entry)
        .map(|t| (None, a.inherited_tags.clone(), t))
        .collect();
    if let Some(Value::Array(cols)) = a.entry.get("columns") {
        for c in cols {
            let Some(cname) = c.get("name").and_then(Value::as_str) else {
                continue;
            };
            let quoted = c.get("quote").and_then(Value::as_bool).unwrap_or(false);
            let cname = if quoted {
                crate::sql::quote(cname)
            } else {
                cname.to_string()
            };
            let mut tags = a.inherited_tags.clone();
            for t in str_list(c.get("tags"))
                .into_iter()
                .chain(str_list(c.get("config").and_then(|cfg| cfg.get("tags"))))
            {
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            if let Value::Object(cm) = c {
                for t in entry_tests(cm) {
                    defs.push((Some(cname.clone()), tags.clone(), t));
                }
            }
        }
    }
    for (col, col_tags, def) in defs {
        let td = match TestDefinition::parse(def, col.as_deref(), &a.target) {
            Ok(td) => td,
            Err(msg) => {
                errors.push(
                    Diagnostic::error(Code::TestDefinition, format!("invalid test: {msg}"))
                        .in_file(a.file),
                );
                continue;
            }
        };
        if let Some(node) = test_node(a, env, memo, col, &col_tags, td, &mut errors) {
            out.push(node);
        }
    }

    (out, errors)
}

/// One generic test's node: names, config (the project's `data_tests:` and the test's own,
/// Jinja rendered), the refs and sources its arguments use, its macro dependencies.
fn test_node(
    a: &Attach,
    env: &TestEnv,
    memo: &mut MacroMemo,
    col: Option<String>,
    col_tags: &[String],
    definition: TestDefinition,
    errors: &mut Vec<Diagnostic>,
) -> Option<Box<Node>> {
    let td = &definition;
    let TestEnv {
        pkg,
        root,
        project,
        target,
        templates,
        services,
    } = *env;
    let super::test_names::GenericTestName {
        name,
        alias,
        unique_id,
    } = td.names(pkg, &a.target);
    let mut node = Node::new(unique_id, ResourceType::Test, name, pkg.clone());
    node.alias = alias.clone();
    // (Strings joined rather than formatted: this runs once for each of a project's tests.)
    node.path = [alias.as_str(), ".sql"].concat();
    node.original_file_path = a.file.to_string();
    let mut fqn = vec![pkg.clone()];
    fqn.extend(dirs_of(&a.resource_folder_path));
    fqn.push(node.name.clone());
    node.fqn = fqn;
    node.config = default_config_shared(ResourceType::Test);
    let (project_cfg, unrendered) =
        package_cfgs(root, project, &project.config.data_tests, &node.fqn, |c| {
            &c.data_tests
        });
    merge_into(&mut node.config, &project_cfg);
    merge_into(&mut node.config, &td.config);
    node.unrendered_config = unrendered;
    super::configs::add_unrendered(&mut node.unrendered_config, &td.config);
    super::configs::root_config_wins(&mut node, root, true);
    // A synthesized name too long for a relation gets its hashed short form as the config's
    // alias, as dbt sets it (a `name:` or an `alias` the test sets stays).
    if td.custom_name.is_none() && !td.config.contains_key("alias") && alias != node.name {
        let alias = Value::String(alias.clone());
        node.config_mut().insert("alias".into(), alias.clone());
        node.unrendered_config.insert("alias".into(), alias);
    }
    // (The defaults hold no Jinja: only what was merged in can.)
    let config_has_jinja =
        project_cfg.values().any(value_has_jinja) || td.config.values().any(value_has_jinja);
    // The test's own `config:` values may be Jinja (`enabled: "{{ target.type ==
    // 'duckdb' }}"`, `severity: "{{ 'warn' if ... }}"`): rendered while parsing, as
    // dbt renders them, with the renderer of other nodes' configs (before the config
    // is normalised).
    // So may the project's (`+enabled: "{{ ... }}"` under `data_tests:`).
    let render_config = |node: &mut Node, errors: &mut Vec<Diagnostic>| {
        if let Err(d) = render_config_strings(node, templates, services, target) {
            errors.push(d);
        }
    };
    if config_has_jinja {
        render_config(&mut node, errors);
        // dbt records the test's own config values rendered (its test builder renders them
        // before they reach the config).
        for k in td.config.keys() {
            if k != "tags" && k != "meta" && td.config.get(k).is_some_and(value_has_jinja) {
                if let Some(v) = node.config.get(k.as_str()) {
                    node.unrendered_config.insert(k.clone(), v.clone());
                }
            }
        }
    }
    finish_config(&mut node);
    let test_macro = memo.test_macro(td);
    let macro_name = test_macro.call.as_str();
    node.raw_code = [
        "{{ ",
        macro_name,
        "(**_dbt_generic_test_kwargs) }}",
        &raw_code_config(td, &node),
    ]
    .concat();
    node.column_name = col.clone();
    // A `description:` written among the test's arguments (dbt's builder takes it out of them).
    if let Some(d) = &td.description {
        node.description = d.clone();
    }
    node.file_key_name = Some(match a.target {
        TestTarget::Source { source, .. } => ["sources.", source].concat(),
        TestTarget::Node { name, .. } => [a.key, ".", name].concat(),
    });
    // dbt 1.10 attaches a test to the model, seed or snapshot it tests, never to a source.
    node.attached_node = a.attached.clone();
    // Record the refs and sources the kwargs use (the `model` kwarg first, as dbt does).
    // The render context is only built for a test that needs one (most need none).
    let mut ctx: Option<Arc<RenderCtx>> = None;
    let (mut static_refs, mut static_sources) =
        kwarg_dependencies(td, a.file, &node, env, &mut ctx, errors);
    // dbt reads the refs and sources of the arguments, not the macros they call.
    if let Some(c) = &ctx {
        if let Ok(mut r) = c.recorded.lock() {
            r.macros.clear();
        }
    }
    if node.is_enabled() {
        if let Some(d) = check_test_macro(
            td,
            test_macro.def.as_deref(),
            macro_name,
            a.file,
            project,
            templates,
        ) {
            errors.push(d);
            return None;
        }
    }
    // A package's test macro may call `config(...)` (e.g. `fail_calc`): render it once
    // here, as dbt does while parsing, to record those calls. The YAML `config:` wins.
    if test_macro.own_calls_config {
        let ctx = ctx.get_or_insert_with(|| parse_ctx(&node, env));
        parse_render_test_macro(macro_name, &td.kwargs, a.file, templates, ctx);
    }
    let rec = ctx.map(|c| c.recorded()).unwrap_or_default();
    if !rec.config.is_empty() {
        // dbt records what the macro's `config()` sets (`fail_calc`) among the unrendered
        // config too, after what the project and the test set (which win).
        let from_macro: Map<String, Value> = rec
            .config
            .iter()
            .filter(|(k, _)| {
                !td.config.contains_key(k.as_str())
                    && !node.unrendered_config.contains_key(k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        super::configs::add_unrendered(&mut node.unrendered_config, &from_macro);
        merge_into(&mut node.config, &rec.config);
        merge_into(&mut node.config, &td.config);
        super::configs::root_config_wins(&mut node, root, true);
        render_config(&mut node, errors);
        finish_config(&mut node);
    }
    for r in rec.refs.iter() {
        if !static_refs.contains(r) {
            static_refs.push(r.clone());
        }
    }
    for src in rec.sources.iter() {
        if !static_sources.contains(src) {
            static_sources.push(src.clone());
        }
    }
    node.refs = static_refs;
    node.sources = static_sources;
    node.depends_on_macros = test_macro.dependencies(
        td,
        || memo.where_subquery().to_string(),
        rec.macros,
        &mut node.refs,
    );
    if let Err(d) = name_relation(&mut node, target, templates, services) {
        errors.push(d);
    }
    node.alias = alias;
    // (The first macro recorded is the test's, as dbt resolves it.)
    let dbt_static = node
        .depends_on_macros
        .first()
        .is_some_and(|m| is_dbt_static(m));
    test_tags(&mut node, td, col_tags, dbt_static);
    // (Last: the definition's name and arguments move into the node, uncopied.)
    node.test_metadata = Some(TestMetadata {
        name: definition.test_name,
        namespace: definition.namespace,
        kwargs: definition.kwargs,
    });
    Some(Box::new(node))
}

/// A generic test's tags as dbt 1.10 sets them. Its node's `tags` are the column's and the
/// test's own, sorted and once each, then any other its config adds (the project's). A test
/// whose macro is not dbt's `unique` or `not_null` records its own tags twice in `config` and
/// `unrendered_config` (dbt adds the test's config, then renders the test's `raw_code`, whose
/// `config(...)` call adds its tags again).
fn test_tags(node: &mut Node, td: &TestDefinition, col_tags: &[String], dbt_static: bool) {
    let own = str_list(td.config.get("tags"));
    if !dbt_static && !own.is_empty() {
        let doubled: Vec<Value> = own
            .iter()
            .chain(&own)
            .map(|t| Value::String(t.clone()))
            .collect();
        let mut tags = crate::project::config::as_list(node.config.get("tags"));
        tags.extend(own.iter().map(|t| Value::String(t.clone())));
        node.config_mut().insert("tags".into(), Value::Array(tags));
        node.unrendered_config
            .insert("tags".into(), Value::Array(doubled));
    }
    let mut tags: Vec<String> = col_tags.iter().chain(&own).cloned().collect();
    tags.sort();
    tags.dedup();
    for t in str_list(node.config.get("tags")) {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    node.tags = tags;
}

/// The parse-phase render context of a test node (built only for a test that needs one).
fn parse_ctx(node: &Node, env: &TestEnv) -> Arc<RenderCtx> {
    let info = node_info(node, env.target);
    Arc::new(RenderCtx::node_parse(info, env.services.clone()))
}

/// The refs and sources a test's arguments use, the `model` argument first, as dbt records
/// them: `ref('x')`, `source('a', 'b')` and the `model` argument read without rendering (the
/// common case, and by far the cheapest), anything else rendered in `ctx`.
fn kwarg_dependencies(
    td: &TestDefinition,
    file: &str,
    node: &Node,
    env: &TestEnv,
    ctx: &mut Option<Arc<RenderCtx>>,
    errors: &mut Vec<Diagnostic>,
) -> (Vec<crate::templating::RefCall>, Vec<(String, String)>) {
    let kw_order: Vec<&String> = td.kwargs.keys().collect();
    // (Most tests read one model: room for one ref, not the four a first push makes.)
    let mut static_refs = Vec::with_capacity(1);
    let mut static_sources = Vec::new();
    for k in kw_order {
        let Some(Value::String(s)) = td.kwargs.get(k) else {
            continue;
        };
        // `ref('x')`, `source('a', 'b')` and the `model` argument are read without
        // rendering (the common case, and by far the cheapest).
        let wrapped = s
            .trim()
            .strip_prefix("{{ get_where_subquery(")
            .and_then(|r| r.strip_suffix(") }}"));
        let inner = wrapped.unwrap_or(s);
        let call = parse_call(inner);
        if let Some((kind, args)) = &call {
            if *kind == "ref" && !args.is_empty() && !inner.contains('=') {
                static_refs.push(crate::templating::RefCall {
                    package: if args.len() > 1 {
                        Some(args[0].clone())
                    } else {
                        None
                    },
                    name: args[args.len() - 1].clone(),
                    version: None,
                    version_quoted: false,
                });
                continue;
            }
            if *kind == "source" && args.len() == 2 {
                static_sources.push((args[0].clone(), args[1].clone()));
                continue;
            }
        }
        // A call written bare (any other is Jinja already) is rendered as an expression.
        let src = match (wrapped, call) {
            (None, Some(_)) => std::borrow::Cow::Owned(format!("{{{{ {s} }}}}")),
            _ => std::borrow::Cow::Borrowed(s.as_str()),
        };
        if src.contains("{{") {
            let ctx = ctx.get_or_insert_with(|| parse_ctx(node, env));
            if let Err(d) = env.templates.render(file, &src, ctx) {
                errors.push(d);
            }
        }
    }
    (static_refs, static_sources)
}

/// The `{{ config(...) }}` dbt appends to a generic test's `raw_code`: the test's own configs
/// (legacy top-level keys, then `config:`, Jinja rendered) and the `alias` of a name too long
/// for a relation, written as dbt's `construct_config` writes them (strings in double quotes,
/// anything else as Python prints it).
fn raw_code_config(td: &TestDefinition, node: &Node) -> String {
    let mut parts: Vec<String> = td
        .config
        .iter()
        .map(|(k, v)| {
            let v = if value_has_jinja(v) {
                node.config.get(k).cloned().unwrap_or(Value::Null)
            } else {
                v.clone()
            };
            format!("{k}={}", py_config_value(&v))
        })
        .collect();
    if !td.config.contains_key("alias") {
        if let Some(alias) = node.unrendered_config.get("alias") {
            parts.push(format!("alias={}", py_config_value(alias)));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{{ config({}) }}}}", parts.join(","))
    }
}

/// A config value as dbt writes it into a test's `raw_code`.
fn py_config_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{}\"", s.replace('"', "\\\"")),
        other => py_repr(other),
    }
}

/// Python's `repr` of a YAML value.
fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if s.contains('\'') && !s.contains('"') {
                format!("\"{s}\"")
            } else {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", py_repr(&Value::String(k.clone())), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
