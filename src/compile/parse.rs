//! Phase 1: turn a loaded [`Project`] into a [`Manifest`] of parsed nodes.
//!
//! Creates a node per model, seed, snapshot, analysis, singular test, source table, generic test
//! (from properties YAML), unit test and exposure; resolves each node's config (project tree <
//! properties YAML < the file's own `config()`), renders every SQL file once with `execute=false`
//! (in parallel) to record `ref`/`source`/`config` calls, then names each node's relation and
//! resolves its dependencies. Nothing here touches a warehouse. Source tables are built in
//! `super::sources` and generic tests in `super::generic_tests`, from what this module loaded.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use rayon::prelude::*;
use regex::Regex;
use serde_json::{Map, Value};

use super::checks;
use super::configs::{finish_config, forget_merged_configs, merge_into};
use super::dependencies;
use super::file_nodes;
use super::generic_tests::generic_tests;
use super::hooks::{hook_nodes, name_operations, run_hooks};
use super::naming::{name_relation, node_info};
use super::nodes::*;
use super::patches::DocsLookup;
use super::paths::file_stem;
use super::properties::Properties;
use super::resolve::{ParseServices, Resolver};
use super::sources::source_nodes;
use super::versions::{deprecation_warnings, Versions};
use super::yaml_nodes;
use super::yaml_values::{render_column_types, render_config_strings, render_source_names};
use crate::diagnostics::{Code, Diagnostic};
use crate::project::{FileKind, Project, Target};
use crate::templating::{Globals, MacroFile, RenderCtx, Templates};

/// Options that change what is parsed.
#[derive(Debug, Clone, Default)]
pub(crate) struct ParseOptions {
    /// `--vars`, highest precedence.
    pub(crate) cli_vars: Map<String, Value>,
    pub(crate) invocation_id: String,
    pub(crate) run_started_at: chrono::DateTime<chrono::Utc>,
    /// `flags` as templates see them (`FULL_REFRESH`, `STORE_FAILURES`, ...).
    pub(crate) flags: Value,
    /// Leave each node's `ref`s and `source`s unresolved (its `depends_on_nodes` empty): a parse
    /// of a few files whose project is known from elsewhere (`session::partial_parse`).
    pub(crate) skip_dependencies: bool,
}

/// The result of parsing.
pub(crate) struct Parsed {
    pub(crate) manifest: Manifest,
    pub(crate) templates: Arc<Templates>,
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) warnings: Vec<Diagnostic>,
}

static DOCS_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)\{%-?\s*docs\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}(.*?)\{%-?\s*enddocs\s*-?%\}")
        .unwrap()
});

/// The docs blocks of a `.md` file's text: each one's name and contents, in order.
pub(crate) fn docs_blocks(text: &str) -> Vec<(String, String)> {
    DOCS_RE
        .captures_iter(text)
        .map(|c| (c[1].to_string(), c[2].trim().to_string()))
        .collect()
}

/// The target's values as templates see them (secrets redacted).
/// What templates see of dbt's runtime config (`builtins.ref.config`): the project's name,
/// version, profile and target, and every project by name with its version.
fn runtime_config(project: &Project, target: &Target) -> Value {
    let entry = |p: &Project| serde_json::json!({"name": p.config.name, "project_name": p.config.name, "version": p.config.version});
    let dependencies: Map<String, Value> = std::iter::once(project)
        .chain(&project.packages)
        .map(|p| (p.config.name.clone(), entry(p)))
        .collect();
    serde_json::json!({
        "project_name": project.config.name,
        "version": project.config.version,
        "profile_name": target.profile_name,
        "target_name": target.target_name,
        "dependencies": dependencies,
    })
}

pub(crate) fn target_value(target: &Target) -> Value {
    let mut t = target.redacted();
    t.insert("name".into(), Value::String(target.target_name.clone()));
    t.insert(
        "target_name".into(),
        Value::String(target.target_name.clone()),
    );
    t.insert(
        "profile_name".into(),
        Value::String(target.profile_name.clone()),
    );
    t.insert("type".into(), Value::String(target.adapter_type.clone()));
    t.insert("schema".into(), Value::String(target.schema.clone()));
    t.insert("database".into(), Value::String(target.database.clone()));
    t.insert("threads".into(), Value::from(target.threads));
    t.remove("resolved_path");
    Value::Object(t)
}

/// Parses the project.
pub(crate) fn parse(
    project: &Project,
    target: &Target,
    opts: &ParseOptions,
) -> Result<Parsed, Vec<Diagnostic>> {
    let parsed = parse_project(project, target, opts);
    forget_merged_configs();
    parsed
}

fn parse_project(
    project: &Project,
    target: &Target,
    opts: &ParseOptions,
) -> Result<Parsed, Vec<Diagnostic>> {
    let mut warnings = Vec::new();
    let mut t = std::time::Instant::now();

    // The template environment and the properties files' entries need nothing of each other.
    let (env, props) = rayon::join(
        || template_env(project, target, opts),
        || collect_properties(project, &mut warnings),
    );
    let (templates, services) = env?;
    let all_props = props?;
    crate::timing("parse: templates env and props", t);
    let props = &all_props[0].1;
    let mut errors: Vec<Diagnostic> = Vec::new();
    let mut manifest = new_manifest(project, target);
    docs_and_macros(project, &templates, &mut manifest, &mut errors);
    crate::timing("parse: templates", t);
    t = std::time::Instant::now();
    let docs = DocsLookup {
        blocks: &manifest.docs,
        root: &project.config.name,
    };
    super::patches::patch_macros(
        all_props.iter().map(|(proj, props, _)| (*proj, props)),
        &mut manifest.macros,
        &docs,
        project.config.flags.get("validate_macro_args") == Some(&Value::Bool(true)),
    );
    let nodes = file_nodes::file_nodes(project, &all_props, &docs);

    crate::timing("parse: nodes", t);
    t = std::time::Instant::now();
    let nodes = render_nodes(
        nodes,
        project,
        &manifest,
        (&templates, &services),
        target,
        &mut errors,
    );
    crate::timing("parse: render", t);
    t = std::time::Instant::now();
    add_sources(
        &all_props,
        project,
        target,
        (&templates, &services),
        &mut manifest,
        &mut errors,
    );
    place_nodes(
        nodes,
        target,
        (&templates, &services),
        &mut manifest,
        &mut errors,
    );
    name_operations(&mut manifest, target, &templates, &services, &mut errors);

    // A properties entry that describes no node is a warning, as in dbt.
    warnings.extend(checks::entries_for_no_node(
        all_props.iter().map(|(proj, props, _)| (*proj, props)),
        &manifest,
    ));
    crate::timing("parse: relations", t);
    t = std::time::Instant::now();
    // Generic tests from properties YAML.
    let mut test_nodes = Vec::new();
    for (proj, props, versions) in &all_props {
        test_nodes.extend(generic_tests(
            (props, versions),
            &manifest,
            (project, proj),
            target,
            &templates,
            &services,
            &mut errors,
        ));
    }
    // The enabled ones join the nodes as one sorted run (a later test of the same id replaces
    // an earlier one, as inserting each would).
    let mut enabled = Vec::with_capacity(test_nodes.len());
    for t in test_nodes {
        if t.is_enabled() {
            enabled.push((t.unique_id.clone(), t));
        } else {
            manifest
                .disabled
                .entry(t.unique_id.clone())
                .or_default()
                .push(*t);
        }
    }
    let mut enabled: std::collections::BTreeMap<_, _> = enabled.into_iter().collect();
    manifest.nodes.append(&mut enabled);

    crate::timing("parse: generic tests", t);
    t = std::time::Instant::now();
    yaml_nodes::yaml_nodes(project, props, &mut manifest, &mut errors);
    // An exposure's description calls docs blocks as a node's does (dbt renders the enabled
    // ones'); its `meta` may hold Jinja (`{{ env_var('BUCKET') }}`): dbt renders it.
    let docs = DocsLookup {
        blocks: &manifest.docs,
        root: &project.config.name,
    };
    for e in manifest.exposures.values_mut() {
        if e.description.contains("doc(") {
            e.description = docs.render(&e.description, &e.package_name).0;
        }
        if e.meta.values().any(super::yaml_values::value_has_jinja) {
            match render_config_strings(e, &templates, &services, target) {
                Ok(()) => {
                    if let Some(Value::Object(m)) = e.config.get("meta") {
                        e.meta = m.clone();
                    }
                }
                Err(d) => errors.push(d),
            }
        }
    }
    for (proj, props, _) in &all_props[1..] {
        yaml_nodes::unit_tests(proj, props, &mut manifest, &mut errors);
    }

    if !errors.is_empty() {
        return Err(errors);
    }

    crate::timing("parse: unit tests etc", t);
    t = std::time::Instant::now();
    // Quoting: the adapter's policy, with the root project's `quoting:` over it; a node's or a
    // source's own `quoting` config overrides both.
    let project_quoting = target
        .dialect
        .quote_policy()
        .overridden_by(Some(&Value::Object(project.config.quoting.clone())));
    let needs_policy = project_quoting != crate::sql::QuotePolicy::default();
    // (A microbatch model's `begin` is normalised in the same pass over the nodes.)
    let mut nodes: Vec<&mut Node> = manifest
        .nodes
        .values_mut()
        .map(|b| &mut **b)
        .chain(manifest.sources.values_mut())
        .collect();
    nodes.par_iter_mut().for_each(|n| {
        let own = n.config.get("quoting");
        if needs_policy || own.is_some_and(|q| q.as_object().is_some_and(|m| !m.is_empty())) {
            n.quote_policy = project_quoting.overridden_by(own);
        }
        if n.resource_type != ResourceType::Source {
            super::configs::normalize_microbatch_begin(n);
        }
    });
    // Dependencies.
    let resolver = Arc::new(Resolver::build(
        &manifest,
        services.as_ref().clone(),
        target,
    ));
    let dep_errors = match opts.skip_dependencies {
        true => Vec::new(),
        false => dependencies::resolve(&mut manifest, &resolver, &mut warnings),
    };
    if !dep_errors.is_empty() {
        return Err(dep_errors);
    }
    crate::timing("parse: dependencies", t);
    // A unit test's schema is its model's, as dbt records it.
    let schemas: Vec<(String, String)> = manifest
        .unit_tests
        .values()
        .filter(|u| u.schema.is_empty())
        .filter_map(|u| {
            let model = manifest.nodes.get(u.attached_node.as_deref()?)?;
            Some((u.unique_id.clone(), model.schema.clone()))
        })
        .collect();
    for (id, schema) in schemas {
        if let Some(u) = manifest.unit_tests.get_mut(&id) {
            u.schema = schema;
        }
    }
    manifest.macro_files_elsewhere = match crate::templating::macro_ran_unattributed() {
        true => None,
        false => services
            .macro_files_elsewhere
            .lock()
            .ok()
            .map(|f| f.clone()),
    };
    manifest.test_macro_files = services
        .test_macro_files
        .lock()
        .map(|f| f.clone())
        .unwrap_or_default();
    warnings.extend(deprecation_warnings(&manifest, opts.run_started_at));
    Ok(Parsed {
        manifest,
        templates,
        resolver,
        warnings,
    })
}

/// Renders a node's `pre-hook`s and `post-hook`s while parsing, as dbt does, so the macros and
/// refs they use count among the node's dependencies. What they render is discarded, and so is
/// a failure (they run, and report errors, when the node runs).
fn render_hooks(node: &Node, templates: &Templates, ctx: &Arc<RenderCtx>) {
    for key in ["pre-hook", "post-hook"] {
        for h in crate::project::config::as_list(node.config.get(key)) {
            let sql = match &h {
                Value::String(s) => s.as_str(),
                Value::Object(m) => m.get("sql").and_then(Value::as_str).unwrap_or(""),
                _ => "",
            };
            if sql.contains("{{") || sql.contains("{%") {
                let _ = templates.render(&node.original_file_path, sql, ctx);
            }
        }
    }
}

/// The root project, then its installed packages.
fn all_projects(project: &Project) -> impl Iterator<Item = &Project> {
    std::iter::once(project).chain(project.packages.iter())
}

/// The template environment (every package's macros, `dispatch:`, the parse-phase globals) and
/// the services templates call while parsing (vars, the root package, the adapter).
pub(crate) fn template_env(
    project: &Project,
    target: &Target,
    opts: &ParseOptions,
) -> Result<(Arc<Templates>, Arc<ParseServices>), Vec<Diagnostic>> {
    let pkg = project.config.name.clone();
    let macro_files: Vec<MacroFile> = all_projects(project)
        .flat_map(|p| {
            p.sql_files
                .iter()
                .filter(|f| f.kind == FileKind::Macro)
                .map(|f| MacroFile {
                    package: p.config.name.clone(),
                    original_file_path: f.original_file_path.clone(),
                    contents: f.contents.clone(),
                })
        })
        .collect();
    let dispatch = project
        .config
        .dispatch
        .iter()
        .map(|d| (d.macro_namespace.clone(), d.search_order.clone()))
        .collect();
    let globals = Globals {
        project_name: pkg.clone(),
        target: target_value(target),
        invocation_id: opts.invocation_id.clone(),
        run_started_at: opts.run_started_at,
        flags: opts.flags.clone(),
        graph: minijinja::Value::from(()),
        runtime_config: runtime_config(project, target),
    };
    let templates = Arc::new(Templates::new(
        &pkg,
        target.dialect,
        macro_files,
        dispatch,
        globals,
    )?);
    let services = Arc::new(ParseServices {
        cli_vars: opts.cli_vars.clone(),
        project_vars: project.config.vars.clone(),
        root_package: pkg.clone(),
        dialect: target.dialect,
        package_vars: project
            .packages
            .iter()
            .map(|p| (p.config.name.clone(), p.config.vars.clone()))
            .collect(),
        macro_files_elsewhere: Default::default(),
        test_macro_files: Default::default(),
    });
    Ok((templates, services))
}

/// Every project's properties entries and model versions, the root project first.
fn collect_properties<'a>(
    project: &'a Project,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<(&'a Project, Properties<'a>, Versions)>, Vec<Diagnostic>> {
    let mut all_props = Vec::new();
    for p in all_projects(project) {
        let mut props = Properties::collect(&p.yaml_files)?;
        warnings.append(&mut props.warnings);
        let model_files = p
            .sql_files
            .iter()
            .filter(|f| f.kind == FileKind::Model)
            .map(|f| file_stem(&f.path))
            .collect();
        let versions = Versions::collect(&props, &p.yaml_files, &model_files)?;
        all_props.push((p, props, versions));
    }
    Ok(all_props)
}

/// An empty manifest with the project's run hooks (as operation nodes) and package roots.
fn new_manifest(project: &Project, target: &Target) -> Manifest {
    let pkg = project.config.name.clone();
    let mut manifest = Manifest {
        project_name: pkg.clone(),
        adapter_type: target.adapter_type.clone(),
        on_run_start: run_hooks(project, "on-run-start", |c| &c.on_run_start),
        on_run_end: run_hooks(project, "on-run-end", |c| &c.on_run_end),
        package_roots: project
            .packages
            .iter()
            .map(|p| (p.config.name.clone(), p.root.clone()))
            .collect(),
        ..Default::default()
    };
    manifest.operations = hook_nodes(
        project,
        target,
        &manifest
            .on_run_start
            .iter()
            .chain(&manifest.on_run_end)
            .collect::<Vec<_>>(),
    );
    manifest
}

/// Docs blocks (an unclosed `{% docs %}` or `{% snapshot %}` block is an error), descriptions'
/// `{{ doc(..) }}` calls checked against them, and every macro, into `manifest`.
fn docs_and_macros(
    project: &Project,
    templates: &Templates,
    manifest: &mut Manifest,
    errors: &mut Vec<Diagnostic>,
) {
    // Blocks opened and never closed would silently lose their content.
    for proj in all_projects(project) {
        for f in &proj.docs_files {
            errors.extend(checks::unclosed_block(
                &f.contents,
                &f.original_file_path,
                "docs",
            ));
        }
        for f in proj
            .sql_files
            .iter()
            .filter(|f| f.kind == FileKind::Snapshot)
        {
            errors.extend(checks::unclosed_block(
                &f.contents,
                &f.original_file_path,
                "snapshot",
            ));
        }
    }
    // Docs blocks.
    for (proj, f) in all_projects(project).flat_map(|p| p.docs_files.iter().map(move |f| (p, f))) {
        let pkg = &proj.config.name;
        for (name, block_contents) in docs_blocks(&f.contents) {
            let id = format!("doc.{pkg}.{name}");
            manifest.docs.insert(
                id.clone(),
                DocBlock {
                    unique_id: id,
                    name,
                    package_name: pkg.clone(),
                    original_file_path: f.original_file_path.clone(),
                    block_contents,
                },
            );
        }
    }
    // `{{ doc('name') }}` in a description must name a docs block (dbt: a compilation error).
    // (The common case, every call naming a known block, is read from the text alone; only a
    // file with an unknown name is walked for the description that holds it.)
    let doc_names: HashSet<String> = manifest
        .docs
        .values()
        .flat_map(|d| [d.name.clone(), format!("{}.{}", d.package_name, d.name)])
        .collect();
    for proj in all_projects(project) {
        for f in proj.yaml_files.iter().filter(|f| f.text.contains("doc(")) {
            if checks::doc_calls_known(&f.text, &doc_names) {
                continue;
            }
            checks::missing_docs(&f.value, f, &manifest.docs, errors);
        }
    }
    // Each macro with the macros it calls (read from its text, in parallel).
    let index = &templates.index;
    let macros: Vec<crate::templating::MacroDef> = index
        .by_package
        .values()
        .flat_map(|defs| defs.values())
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|d| crate::templating::MacroDef {
            depends_on: index.dependencies(d),
            ..(**d).clone()
        })
        .collect();
    for d in macros {
        manifest.macros.insert(d.unique_id.clone(), d);
    }
}

/// The parse-phase render of every node from a file, in parallel: the `config()`, `ref` and
/// `source` calls and the macros each uses are recorded, and its configs are rendered, checked
/// and finished. Nodes that fail are left out, their diagnostics in `errors`.
#[allow(clippy::vec_box)] // (see `file_nodes`)
fn render_nodes(
    nodes: Vec<Box<Node>>,
    project: &Project,
    manifest: &Manifest,
    (templates, services): (&Templates, &Arc<ParseServices>),
    target: &Target,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Box<Node>> {
    let package_root = |pkg: &str| {
        if *pkg == project.config.name {
            Some(project.root.as_path())
        } else {
            manifest.package_roots.get(pkg).map(|p| p.as_path())
        }
    };
    // Parse-phase render of every SQL node, in parallel.
    let rendered: Vec<Result<Box<Node>, Diagnostic>> = nodes
        .into_par_iter()
        .map(|mut node| {
            let info = node_info(&node, target);
            let ctx = Arc::new(RenderCtx::node_parse(info, services.clone()));
            if node.resource_type == ResourceType::Seed {
                render_hooks(&node, templates, &ctx);
                let rec = ctx.recorded();
                if !rec.refs.is_empty() || !rec.sources.is_empty() {
                    // Seeds are the DAG's roots: dbt refuses a hook that would make one depend.
                    return Err(Diagnostic::error(
                        Code::Seed,
                        format!(
                            "Parsing Error: Seeds cannot depend on other nodes. A pre- or post-hook of \
                             seed `{}` calls 'ref' or 'source', directly or through a macro.",
                            node.name
                        ),
                    )
                    .in_file(&node.original_file_path)
                    .with_hint("run that SQL from a model's hook, or from on-run-end"));
                }
                node.depends_on_macros = rec.macros;
                super::configs::root_config_wins(&mut node, project, false);
                render_config_strings(&mut node, templates, services, target)?;
                entry_keys_rendered(&mut node, &Map::new());
                render_column_types(&mut node, templates, services, target)?;
                checks::config_types(&node, package_root(&node.package_name))?;
                finish_config(&mut node);
                return Ok(node);
            }
            ctx.set_file_render(true);
            let rendered = templates.render(&node.original_file_path, &node.raw_code, &ctx);
            ctx.set_file_render(false);
            rendered?;
            let rec = ctx.recorded();
            node.file_render = super::nodes::FileRender::of(&rec).map(Arc::new);
            merge_into(&mut node.config, &rec.config);
            super::configs::add_unrendered(&mut node.unrendered_config, &rec.config_written);
            super::configs::root_config_wins(&mut node, project, false);
            render_hooks(&node, templates, &ctx);
            let rec = ctx.recorded();
            node.refs = rec.refs;
            node.sources = rec.sources;
            node.depends_on_macros = rec.macros;
            render_config_strings(&mut node, templates, services, target)?;
            entry_keys_rendered(&mut node, &rec.config_written);
            render_column_types(&mut node, templates, services, target)?;
            checks::config_types(&node, package_root(&node.package_name))?;
            finish_config(&mut node);
            Ok(node)
        })
        .collect();
    let mut nodes = Vec::new();
    for r in rendered {
        match r {
            Ok(n) => nodes.push(n),
            Err(d) => errors.push(d),
        }
    }
    nodes
}

/// `unrendered_config` records the node's properties `config:` values as rendered, as dbt's
/// does (unless the node's own `config(...)` call set the key since).
fn entry_keys_rendered(node: &mut Node, written: &Map<String, Value>) {
    for k in std::mem::take(&mut node.rendered_entry_keys) {
        if written.contains_key(&k) {
            continue;
        }
        if let Some(v) = node.config.get(&k) {
            node.unrendered_config.insert(k, v.clone());
        }
    }
}

/// Every project's sources (their names rendered), into `manifest` (disabled ones aside).
fn add_sources(
    all_props: &[(&Project, Properties<'_>, Versions)],
    project: &Project,
    target: &Target,
    (templates, services): (&Templates, &Arc<ParseServices>),
    manifest: &mut Manifest,
    errors: &mut Vec<Diagnostic>,
) {
    for (proj, entry) in all_props
        .iter()
        .flat_map(|(p, props, _)| props.sources.iter().map(move |e| (*p, e)))
    {
        match source_nodes(
            entry,
            &proj.config.name,
            (project, proj),
            target,
            &DocsLookup {
                blocks: &manifest.docs,
                root: &project.config.name,
            },
        ) {
            Ok(srcs) => {
                for mut s in srcs {
                    if let Err(d) = render_source_names(&mut s, target, templates, services) {
                        errors.push(d);
                    }
                    if s.is_enabled() {
                        manifest.sources.insert(s.unique_id.clone(), s);
                    } else {
                        manifest
                            .disabled
                            .entry(s.unique_id.clone())
                            .or_default()
                            .push(s);
                    }
                }
            }
            Err(d) => errors.push(d),
        }
    }
}

/// Names each node's relation (`generate_schema_name` & friends, in parallel) and puts it in
/// `manifest`: disabled nodes aside, two enabled nodes with one id an error.
#[allow(clippy::vec_box)] // (see `file_nodes`)
fn place_nodes(
    mut nodes: Vec<Box<Node>>,
    target: &Target,
    (templates, services): (&Templates, &Arc<ParseServices>),
    manifest: &mut Manifest,
    errors: &mut Vec<Diagnostic>,
) {
    // Relations for refable nodes (generate_schema_name & friends), in parallel.
    let naming_errors: Vec<Diagnostic> = nodes
        .par_iter_mut()
        .filter_map(|node| {
            let named = name_relation(node, target, templates, services).err();
            node.schema = target.dialect.schema_as_kept(&node.schema);
            if node.resource_type == ResourceType::Snapshot {
                // Legacy `target_schema` / `target_database` name the snapshot's schema verbatim.
                if let Some(s) = node.config_str("target_schema").map(str::to_string) {
                    node.schema = s;
                }
                if let Some(d) = node.config_str("target_database").map(str::to_string) {
                    node.database = d;
                }
            }
            named
        })
        .collect();
    errors.extend(naming_errors);
    for node in nodes {
        if !node.is_enabled() {
            manifest
                .disabled
                .entry(node.unique_id.clone())
                .or_default()
                .push(*node);
            continue;
        }
        if manifest.nodes.contains_key(&node.unique_id) {
            let prev = &manifest.nodes[&node.unique_id];
            errors.push(
                Diagnostic::error(
                    Code::DuplicateNode,
                    format!(
                        "two {}s are named `{}`",
                        node.resource_type.as_str(),
                        node.name
                    ),
                )
                .in_file(&node.original_file_path)
                .with_hint(format!(
                    "the other one is `{}`; rename one of them",
                    prev.original_file_path
                )),
            );
            continue;
        }
        manifest.nodes.insert(node.unique_id.clone(), node);
    }
}
