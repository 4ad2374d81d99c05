//! A session: what every command needs, loaded once: the project (dbt_project.yml and its
//! files), the profile's target, the parsed manifest with the semantic layer's nodes, and the
//! DAG. Commands then select nodes and act on them. The library's entry point: the CLI turns its
//! arguments into [`LoadOptions`] and prints what comes back; another front end (a server, a
//! test) does the same without the CLI.

pub(crate) mod defer;
pub(crate) mod fingerprint;
pub(crate) mod partial_parse;

use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::compile::{self, Manifest, ParseOptions, Parsed, ResourceType};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{Dag, PreviousArtifacts, SelectContext, SelectExpr, Selectors, StateFacts};
use crate::project::{self, Project, Target};

/// What to load: the project's folder and the command-line choices that shape a session
/// (dbt's flags of the same names).
#[derive(Debug, Clone, Default)]
pub(crate) struct LoadOptions {
    pub(crate) project_dir: Option<PathBuf>,
    pub(crate) profiles_dir: Option<PathBuf>,
    pub(crate) profile: Option<String>,
    pub(crate) target: Option<String>,
    pub(crate) threads: Option<usize>,
    /// `--vars`, YAML or JSON.
    pub(crate) vars: Option<String>,
    pub(crate) target_path: Option<String>,
    /// Enforce `require-dbt-version`.
    pub(crate) version_check: bool,
    /// The command, as `flags.WHICH` says in Jinja (`run`, `build`, `run-operation` ...).
    pub(crate) which: String,
    pub(crate) full_refresh: bool,
    pub(crate) store_failures: bool,
    /// `--state` (`DBT_STATE`): the folder of a previous run's artifacts to compare with.
    pub(crate) state: Option<PathBuf>,
    /// `--defer-state`: the folder whose manifest `--defer` resolves to (else `state`).
    pub(crate) defer_state: Option<PathBuf>,
}

/// Which nodes a command acts on: `--select`, `--exclude`, `--resource-type`,
/// `--exclude-resource-type` (each type may be a comma-separated list).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Selection<'a> {
    pub(crate) select: &'a [String],
    pub(crate) exclude: &'a [String],
    pub(crate) resource_types: &'a [String],
    pub(crate) exclude_resource_types: &'a [String],
    /// `--selector NAME`: a selector of `selectors.yml` (instead of `select` / `exclude`).
    pub(crate) selector: Option<&'a str>,
    /// Nodes chosen by id before anything else (`retry`); `None` for every node.
    pub(crate) only: Option<&'a std::collections::BTreeSet<String>>,
    /// Whether nodes whose SQL file is blank can be selected (`ls` lists them; every command
    /// that runs or compiles leaves them out, as dbt does).
    pub(crate) include_empty: bool,
}

/// Everything loaded for a command.
///
/// A session lives as long as its command, so the project, the parse results and the DAG are
/// never dropped: freeing a 10,000-model manifest node by node costs about a tenth of a parse at
/// exit, and the operating system reclaims the memory at once when the process ends. (The
/// project's YAML trees alone took 20 to 40 ms to free, with the allocator then returning the
/// pages to the system one range at a time.)
pub(crate) struct Session {
    pub(crate) project: ManuallyDrop<Project>,
    pub(crate) target: Target,
    pub(crate) parsed: ManuallyDrop<Parsed>,
    /// Built by [`Session::load`], except for `parse` (which checks the graph without keeping
    /// it): read it through [`Session::dag`].
    dag: OnceLock<ManuallyDrop<Dag>>,
    pub(crate) target_path: PathBuf,
    pub(crate) invocation_id: String,
    pub(crate) started_at: chrono::DateTime<chrono::Utc>,
    pub(crate) parse_seconds: f64,
    /// The project's and the parse's warnings, for the caller to print (or to turn into errors,
    /// as `--warn-error` does).
    pub(crate) warnings: Vec<Diagnostic>,
    /// The named selections of `selectors.yml`.
    pub(crate) selectors: Selectors,
    /// The previous run's artifacts (`--state`), when given.
    pub(crate) previous: Option<PreviousArtifacts>,
    /// What `state:` / `result:` / `source_status:` know, computed on first use.
    state_facts: OnceLock<StateFacts>,
    /// The manifest `--defer` resolves to (`--defer-state`, else `--state`), when given.
    pub(crate) defer_manifest: Option<Value>,
}

/// Parses `--vars` (YAML or JSON).
pub(crate) fn parse_vars(s: Option<&str>) -> Result<Map<String, Value>, Diagnostic> {
    let Some(s) = s else { return Ok(Map::new()) };
    match project::yaml::parse(s, Path::new("--vars")) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(Diagnostic::error(Code::Vars, "`--vars` must be a mapping")
            .with_hint("e.g. --vars '{start_date: 2024-01-01}'")),
        Err(mut d) => {
            d.code = Code::Vars;
            d.location = None;
            Err(d.with_hint("--vars takes YAML or JSON, e.g. --vars '{key: value}'"))
        }
    }
}

/// The project's root: `project_dir` (else the working folder) or the nearest folder above it
/// with a `dbt_project.yml`.
pub(crate) fn project_root(project_dir: Option<&Path>) -> Result<PathBuf, Diagnostic> {
    let start = project_dir.map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    project::find_root(&start)
}

/// Loads the project and its target without parsing nodes.
pub(crate) fn load_target(
    opts: &LoadOptions,
    root: &Path,
    project: &Project,
) -> Result<Target, Diagnostic> {
    load_profile_target(opts, root, &profile_name(opts, &project.config))
}

/// The profile a project's target comes from: `--profile`, else `profile:` in
/// `dbt_project.yml`, else the project's name.
pub(crate) fn profile_name(opts: &LoadOptions, config: &project::ProjectConfig) -> String {
    opts.profile
        .clone()
        .or(config.profile.clone())
        .unwrap_or_else(|| config.name.clone())
}

/// The target of profile `name` (what `--target` or the profile's `target:` names).
pub(crate) fn load_profile_target(
    opts: &LoadOptions,
    root: &Path,
    name: &str,
) -> Result<Target, Diagnostic> {
    let profile = project::profile::find_profile(opts.profiles_dir.as_deref(), root)?;
    let mut target = profile.target(
        name,
        opts.target.as_deref(),
        root,
        &crate::adapters::registry::Registry,
    )?;
    if let Some(t) = opts.threads {
        if t == 0 {
            return Err(Diagnostic::error(Code::Threads, "`--threads 0`: at least one thread is needed")
                .with_hint("pass `--threads N` with N of 1 or more (dbt: `max_workers must be greater than 0`); runs use at most as many workers as there are nodes to run"));
        }
        target.threads = t;
    }
    Ok(target)
}

impl Session {
    /// Loads and parses the project `opts` names. Errors are the diagnostics that stop it;
    /// warnings are kept in [`Session::warnings`].
    pub(crate) fn load(opts: &LoadOptions) -> Result<Session, Vec<Diagnostic>> {
        let (full_refresh, store_failures, which) =
            (opts.full_refresh, opts.store_failures, opts.which.as_str());
        let started_at = chrono::Utc::now();
        let t0 = std::time::Instant::now();
        let root = project_root(opts.project_dir.as_deref()).map_err(|d| vec![d])?;
        let t = std::time::Instant::now();
        let project = project::load(&root)?;
        if opts.version_check {
            for p in std::iter::once(&project).chain(&project.packages) {
                p.config.check_dbt_version().map_err(|d| {
                    let file = p.root.join("dbt_project.yml");
                    let shown = file.strip_prefix(&root).unwrap_or(&file).to_path_buf();
                    vec![d.in_file(shown)]
                })?;
            }
        }
        crate::timing("load project", t);
        let target = load_target(opts, &root, &project).map_err(|d| vec![d])?;
        let cli_vars = parse_vars(opts.vars.as_deref()).map_err(|d| vec![d])?;
        let invocation_id = crate::artifacts::new_invocation_id();
        let parse_opts = ParseOptions {
            cli_vars,
            invocation_id: invocation_id.clone(),
            run_started_at: started_at,
            flags: serde_json::json!({
                "FULL_REFRESH": full_refresh, "STORE_FAILURES": store_failures, "WHICH": which,
            }),
            skip_dependencies: false,
        };
        let t = std::time::Instant::now();
        let mut parsed = compile::parse(&project, &target, &parse_opts)?;
        // Metric tests (`data_tests:` under a metric) become test nodes before the DAG is built.
        crate::metrics::metric_tests::attach(
            &project.yaml_files,
            &mut parsed.manifest,
            &target,
            &project.config.name,
            started_at,
        )
        .map_err(|ds| {
            ds.into_iter()
                .map(|d| d.with_source_from(&project.root))
                .collect::<Vec<_>>()
        })?;
        crate::timing("parse: metric tests", t);
        let t_sq = std::time::Instant::now();
        // Semantic models and metrics written on models (the latest spec) join the legacy ones.
        let (sms, metrics) = crate::metrics::latest_spec::manifest_entries(&project.yaml_files);
        let pkg = &project.config.name;
        for (name, v) in sms {
            let id = format!("semantic_model.{pkg}.{name}");
            parsed.manifest.semantic_models.entry(id).or_insert(v);
        }
        for v in parsed.manifest.metrics.values_mut() {
            *v = crate::metrics::latest_spec::metric(v);
        }
        for (name, v) in metrics {
            let id = format!("metric.{pkg}.{name}");
            parsed.manifest.metrics.entry(id).or_insert(v);
        }
        // Saved queries become nodes `build` runs (after the models they read).
        if !parsed.manifest.saved_queries.is_empty() {
            parsed.manifest.saved_query_nodes =
                crate::metrics::nodes::saved_query_nodes(&project, &parsed.manifest, &target)
                    .map_err(|d| vec![d])?;
        }
        // The semantic layer's manifest.json entries in dbt's node shape (definitions that do
        // not parse keep their raw entry; the commands that use the layer report them).
        if !(parsed.manifest.metrics.is_empty()
            && parsed.manifest.semantic_models.is_empty()
            && parsed.manifest.saved_queries.is_empty())
        {
            let (layer, _) = crate::metrics::load(&project.yaml_files, &parsed.manifest);
            let env = crate::metrics::manifest::EntryEnv {
                package: pkg,
                project: &project,
                database: &target.database,
                default_schema: &target.schema,
            };
            parsed.manifest.semantic_entries =
                crate::metrics::manifest::manifest_entries(&layer, &env);
        }
        crate::timing("parse: semantic nodes", t_sq);
        crate::artifacts::set_flat_graph(&parsed, &project, &parse_opts);
        crate::timing("parse", t);
        let t = std::time::Instant::now();
        let dag = OnceLock::new();
        if opts.which == "parse" {
            // `parse` selects nothing: it only reports a cycle or an id used twice, which the
            // ids and edges alone tell, without building a graph (a tenth of a large project's
            // parse). When they tell of one, the graph of them is built to name it.
            if !crate::graph::is_sound(&compile::graph_edges(&parsed.manifest)) {
                std::mem::forget(
                    dag_of(&parsed.manifest, compile::Detail::Edges).map_err(|d| vec![d])?,
                );
            }
        } else {
            let full = dag_of(&parsed.manifest, compile::Detail::Full).map_err(|d| vec![d])?;
            let _ = dag.set(ManuallyDrop::new(full));
        }
        crate::timing("dag", t);
        let target_path = root.join(
            opts.target_path
                .clone()
                .unwrap_or_else(|| project.config.target_path.clone()),
        );
        let warnings: Vec<Diagnostic> = project
            .warnings
            .iter()
            .cloned()
            .chain(std::mem::take(&mut parsed.warnings))
            .map(|d| d.with_source_from(&project.root))
            .collect();
        let (selectors, written) = load_selectors(&project, &parse_opts.cli_vars, &target)?;
        parsed.manifest.selectors = written;
        // As dbt, state folders are relative to the project (an absolute one stays as it is).
        let previous = opts
            .state
            .as_deref()
            .map(|d| read_previous(&root.join(d)))
            .transpose()?;
        let mut warnings = warnings;
        if let Some(state) = &opts.state {
            let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
                (Ok(a), Ok(b)) => a == b,
                _ => a == b,
            };
            if same(&root.join(state), &target_path) {
                warnings.push(Diagnostic::warning(
                    Code::Flags,
                    format!(
                        "Warning: The state and target directories are the same: '{}'. This could lead to missing changes due to overwritten state including non-idempotent retries.",
                        state.display()
                    ),
                ));
            }
        }
        let defer_manifest = match &opts.defer_state {
            Some(dir) => read_previous(&root.join(dir))?.manifest,
            None => previous.as_ref().and_then(|p| p.manifest.clone()),
        };
        Ok(Session {
            project: ManuallyDrop::new(project),
            target,
            parsed: ManuallyDrop::new(parsed),
            dag,
            target_path,
            invocation_id,
            started_at,
            parse_seconds: t0.elapsed().as_secs_f64(),
            warnings,
            selectors,
            previous,
            state_facts: OnceLock::new(),
            defer_manifest,
        })
    }

    pub(crate) fn manifest(&self) -> &Manifest {
        &self.parsed.manifest
    }

    /// The project's DAG (built here when [`Session::load`] did not keep one).
    pub(crate) fn dag(&self) -> Result<&Dag, Diagnostic> {
        if let Some(dag) = self.dag.get() {
            return Ok(dag);
        }
        let full = dag_of(self.manifest(), compile::Detail::Full)?;
        Ok(self.dag.get_or_init(|| ManuallyDrop::new(full)))
    }

    /// The selected node ids, in DAG order.
    pub(crate) fn select(
        &self,
        sel: &Selection,
        default_types: Option<&[ResourceType]>,
    ) -> Result<Vec<String>, Diagnostic> {
        let names: Option<Vec<&str>> =
            default_types.map(|d| d.iter().map(|t| t.as_str()).collect());
        self.select_types(sel, names.as_deref())
    }

    /// [`Session::select`] with the default resource types by name (`metric` and
    /// `semantic_model` are graph nodes without a [`ResourceType`]).
    pub(crate) fn select_types(
        &self,
        sel: &Selection,
        default_types: Option<&[&str]>,
    ) -> Result<Vec<String>, Diagnostic> {
        let from_cli;
        let expr = match (sel.selector, self.selectors.default_name()) {
            (Some(name), _) => self.selectors.get(name)?,
            (None, Some(name))
                if sel.select.is_empty() && sel.exclude.is_empty() && sel.only.is_none() =>
            {
                self.selectors.get(name)?
            }
            _ => {
                from_cli = SelectExpr::from_cli(sel.select, sel.exclude)?;
                &from_cli
            }
        };
        let ctx = SelectContext {
            include_empty: sel.include_empty,
            ..self.select_context()
        };
        let dag = self.dag()?;
        let mut chosen = dag.select_expr(expr, &ctx)?;
        if let Some(only) = sel.only {
            chosen.retain(|id| only.contains(id));
        }
        let types: Vec<String> = if !sel.resource_types.is_empty() {
            sel.resource_types
                .iter()
                .flat_map(|t| t.split(',').map(str::trim).map(str::to_string))
                .collect()
        } else {
            default_types
                .map(|d| d.iter().map(|t| t.to_string()).collect())
                .unwrap_or_default()
        };
        let excluded: Vec<String> = sel
            .exclude_resource_types
            .iter()
            .flat_map(|t| t.split(',').map(str::trim).map(str::to_string))
            .collect();
        let filtered = chosen
            .into_iter()
            .filter(|id| {
                let kind = match self.manifest().get(id) {
                    Some(n) => n.resource_type.as_str(),
                    None => match id.split('.').next() {
                        Some(k @ ("metric" | "semantic_model")) => k,
                        _ => return types.is_empty(),
                    },
                };
                (types.is_empty() || types.iter().any(|t| t == kind || t == "all"))
                    && !excluded.iter().any(|t| t == kind)
            })
            .collect();
        Ok(dag.topo_order(Some(&filtered)))
    }

    /// Warnings for `--select` selectors that match nothing.
    pub(crate) fn unmatched(&self, select: &[String]) -> Vec<String> {
        self.dag()
            .and_then(|dag| dag.unmatched(select, &self.select_context()))
            .unwrap_or_default()
    }

    /// What selection methods know beyond the graph (the `--state` comparison).
    fn select_context(&self) -> SelectContext<'_> {
        SelectContext {
            state: self.state_facts(),
            include_empty: false,
        }
    }

    /// The comparison with the `--state` artifacts (None without `--state`), computed once.
    pub(crate) fn state_facts(&self) -> Option<&StateFacts> {
        let previous = self.previous.as_ref()?;
        Some(self.state_facts.get_or_init(|| {
            let t = std::time::Instant::now();
            let mut meta = crate::artifacts::ArtifactMeta::new(
                &self.project.config.name,
                &self.target.adapter_type,
                self.project.config.target_path.clone(),
            );
            meta.project_root = self.project.root.clone();
            let current = crate::artifacts::manifest_json(self.manifest(), &meta);
            let sources = read_json(&self.target_path.join("sources.json"));
            let facts = StateFacts::compare(previous, &current, sources.as_ref());
            crate::timing("state comparison", t);
            facts
        }))
    }

    pub(crate) fn templates(&self) -> Arc<crate::templating::Templates> {
        self.parsed.templates.clone()
    }
}

/// The DAG of `m`'s nodes, in `detail`: an error when they depend on each other in a cycle.
/// Metrics that do are left to the semantic layer's own check, which reports them on their YAML
/// line: the graph leaves those edges out.
fn dag_of(m: &Manifest, detail: compile::Detail) -> Result<Dag, Diagnostic> {
    match Dag::build(compile::graph_nodes_with(m, detail)) {
        Err(d) if d.code == Code::Cycle && is_metric_cycle(&d.message) => {
            Dag::build(compile::graph_nodes_without_metric_cycles(m, detail))
        }
        built => built,
    }
}

/// Whether a cycle diagnostic's path (`a -> b -> a`) runs through metrics only.
fn is_metric_cycle(message: &str) -> bool {
    message
        .rsplit_once(": ")
        .is_some_and(|(_, path)| path.split(" -> ").all(|id| id.starts_with("metric.")))
}

/// Reads the artifacts of the `--state` folder. A missing folder is an error; a missing file is
/// not (the selection method that needs it says so).
fn read_previous(dir: &Path) -> Result<PreviousArtifacts, Vec<Diagnostic>> {
    if !dir.is_dir() {
        return Err(vec![Diagnostic::error(
            Code::Flags,
            format!("Invalid value for '--state': Path '{}' does not exist.", dir.display()),
        )
        .with_hint("--state (DBT_STATE) names the folder holding a previous run's manifest.json, e.g. the target/ folder of a production run")]);
    }
    let mut out = PreviousArtifacts::default();
    for (name, slot) in [
        ("manifest.json", &mut out.manifest),
        ("run_results.json", &mut out.run_results),
        ("sources.json", &mut out.sources),
    ] {
        let path = dir.join(name);
        if path.is_file() {
            *slot = Some(read_json(&path).ok_or_else(|| {
                vec![Diagnostic::error(
                    Code::Flags,
                    format!("the state file {} is not valid JSON", path.display()),
                )
                .with_hint("point --state at the folder a previous run wrote its artifacts to")]
            })?);
        }
    }
    Ok(out)
}

fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// `selectors.yml` of the project, its strings rendered (`env_var()`, `var()`, `target`) as dbt
/// renders them; and its selectors by name as the manifest records them (each as written, its
/// text as dbt's renderer leaves it).
fn load_selectors(
    project: &Project,
    cli_vars: &Map<String, Value>,
    target: &Target,
) -> Result<(Selectors, Map<String, Value>), Vec<Diagnostic>> {
    let path = project.root.join("selectors.yml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok((Selectors::default(), Map::new()));
    };
    let shown = Path::new("selectors.yml");
    let doc = project::yaml::parse(&text, shown).map_err(|d| vec![d])?;
    let mut env = minijinja::Environment::new();
    env.add_function("env_var", project::profile::env_var_fn);
    let vars = cli_vars.clone();
    let project_vars = project.config.vars.clone();
    env.add_function(
        "var",
        move |name: String, default: Option<minijinja::Value>| match vars
            .get(&name)
            .or_else(|| project_vars.get(&name))
        {
            Some(v) => Ok(minijinja::Value::from_serialize(v)),
            None => default.ok_or_else(|| {
                minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("Required var '{name}' not found in config"),
                )
            }),
        },
    );
    env.add_global(
        "target",
        minijinja::Value::from_serialize(serde_json::json!({
            "name": target.target_name, "type": target.adapter_type,
            "schema": target.schema, "database": target.database,
        })),
    );
    let doc = render_strings(&doc, &env).map_err(|e| {
        vec![Diagnostic::error(Code::Selector, format!("selectors.yml: {e}")).in_file(shown)]
    })?;
    let selectors = Selectors::parse(&doc, shown).map_err(|d| vec![d])?;
    let written = doc
        .get("selectors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let name = s.get("name")?.as_str()?;
            Some((name.to_string(), compile::rendered_text(s)))
        })
        .collect();
    Ok((selectors, written))
}

fn render_strings(v: &Value, env: &minijinja::Environment) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) if s.contains("{{") || s.contains("{%") => {
            let out = env
                .render_str(s, minijinja::context! {})
                .map_err(|e| e.detail().unwrap_or("invalid Jinja").to_string())?;
            Value::String(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| render_strings(i, env))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, i)| Ok((k.clone(), render_strings(i, env)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// The resource types `ls` lists by default, as dbt's (`analysis` only with `--resource-type
/// analysis` or `all`).
pub(crate) fn ls_default_types() -> Vec<&'static str> {
    vec![
        "model",
        "snapshot",
        "seed",
        "test",
        "source",
        "exposure",
        "metric",
        "saved_query",
        "semantic_model",
        "unit_test",
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `parse` checks the graph without keeping it: a session loaded for it still selects what
    /// one loaded for a command that selects does, the DAG built when first asked for.
    #[test]
    fn a_session_loaded_for_parse_builds_its_dag_when_a_selection_needs_it() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop");
        let load = |which: &str| {
            Session::load(&LoadOptions {
                project_dir: Some(root.clone()),
                profiles_dir: Some(root.clone()),
                which: which.into(),
                ..Default::default()
            })
            .unwrap_or_else(|d| panic!("{d:?}"))
        };
        let (parsed, listed) = (load("parse"), load("ls"));
        assert!(parsed.dag.get().is_none(), "parse keeps no DAG");
        assert!(listed.dag.get().is_some());
        for select in [["+orders"], ["stg_orders+"]] {
            let select = select.map(String::from);
            let sel = Selection {
                select: &select,
                ..Default::default()
            };
            let from_parse = parsed.select(&sel, None).unwrap();
            assert!(from_parse.contains(&"model.shop.orders".to_string()));
            assert_eq!(from_parse, listed.select(&sel, None).unwrap());
        }
        assert!(parsed.dag.get().is_some(), "built for the selection");
    }
}
