//! Loading what every command needs: settings (flags + env + dbt_project.yml + profile), the
//! parsed manifest and the DAG. Commands then select nodes and act on them.

use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::args::{GlobalArgs, SelectArgs};
use crate::compile::{self, Manifest, ParseOptions, Parsed, ResourceType};
use crate::diagnostics::Diagnostic;
use crate::graph::Dag;
use crate::project::{self, Project, Target};

/// Everything loaded for a command.
///
/// A session lives as long as its command, so the parse results and the DAG are never dropped:
/// freeing a 10,000-model manifest node by node costs about a tenth of a parse at exit, and the
/// operating system reclaims the memory at once when the process ends.
pub struct Session {
    pub project: Project,
    pub target: Target,
    pub parsed: ManuallyDrop<Parsed>,
    pub dag: ManuallyDrop<Dag>,
    pub target_path: PathBuf,
    pub invocation_id: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub parse_seconds: f64,
}

/// Parses `--vars` (YAML or JSON).
pub fn parse_vars(s: Option<&str>) -> Result<Map<String, Value>, Diagnostic> {
    let Some(s) = s else { return Ok(Map::new()) };
    match project::yaml::parse(s, Path::new("--vars")) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(Diagnostic::error("vars", "`--vars` must be a mapping")
            .with_hint("e.g. --vars '{start_date: 2024-01-01}'")),
        Err(mut d) => {
            d.code = "vars";
            d.location = None;
            Err(d.with_hint("--vars takes YAML or JSON, e.g. --vars '{key: value}'"))
        }
    }
}

pub fn project_root(g: &GlobalArgs) -> Result<PathBuf, Diagnostic> {
    let start = g.project_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    project::find_root(&start)
}

/// Loads the project and its target without parsing nodes.
pub fn load_target(g: &GlobalArgs, root: &Path, project: &Project) -> Result<Target, Diagnostic> {
    let profile = project::profile::find_profile(g.profiles_dir.as_deref(), root)?;
    let name = g
        .profile
        .clone()
        .or(project.config.profile.clone())
        .unwrap_or_else(|| project.config.name.clone());
    let mut target = profile.target(
        &name,
        g.target.as_deref(),
        root,
        &crate::adapters::registry::Registry,
    )?;
    if let Some(t) = g.threads {
        if t == 0 {
            return Err(Diagnostic::error("threads", "`--threads 0`: at least one thread is needed")
                .with_hint("pass `--threads N` with N of 1 or more (dbt: `max_workers must be greater than 0`); runs use at most as many workers as there are nodes to run"));
        }
        target.threads = t;
    }
    Ok(target)
}

impl Session {
    pub fn load(
        g: &GlobalArgs,
        full_refresh: bool,
        store_failures: bool,
    ) -> Result<Session, Vec<Diagnostic>> {
        Session::load_for(g, g.settings.which, full_refresh, store_failures)
    }

    /// [`Session::load`] for the command `which` (what `flags.WHICH` says in Jinja).
    pub fn load_for(
        g: &GlobalArgs,
        which: &str,
        full_refresh: bool,
        store_failures: bool,
    ) -> Result<Session, Vec<Diagnostic>> {
        let started_at = chrono::Utc::now();
        let t0 = std::time::Instant::now();
        let root = project_root(g).map_err(|d| vec![d])?;
        let t = std::time::Instant::now();
        let project = project::load(&root)?;
        if g.settings.version_check {
            for p in std::iter::once(&project).chain(&project.packages) {
                p.config.check_dbt_version().map_err(|d| {
                    let file = p.root.join("dbt_project.yml");
                    let shown = file.strip_prefix(&root).unwrap_or(&file).to_path_buf();
                    vec![d.in_file(shown)]
                })?;
            }
        }
        super::timing("load project", t);
        let target = load_target(g, &root, &project).map_err(|d| vec![d])?;
        let cli_vars = parse_vars(g.vars.as_deref()).map_err(|d| vec![d])?;
        let invocation_id = crate::artifacts::new_invocation_id();
        let opts = ParseOptions {
            cli_vars,
            full_refresh,
            invocation_id: invocation_id.clone(),
            run_started_at: started_at,
            flags: serde_json::json!({
                "FULL_REFRESH": full_refresh, "STORE_FAILURES": store_failures, "WHICH": which,
            }),
        };
        let t = std::time::Instant::now();
        let mut parsed = compile::parse(&project, &target, &opts)?;
        // Metric tests (`data_tests:` under a metric) become test nodes before the DAG is built.
        crate::metrics::data_tests::attach(
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
        super::timing("parse: metric tests", t);
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
            parsed.manifest.saved_query_nodes = crate::metrics::nodes::saved_query_nodes(
                &project.yaml_files,
                &parsed.manifest,
                &target,
            )
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
        super::timing("parse: semantic nodes", t_sq);
        crate::artifacts::set_flat_graph(&parsed, &project, &opts);
        super::timing("parse", t);
        let t = std::time::Instant::now();
        let dag = Dag::build(compile::graph_nodes(&parsed.manifest)).map_err(|d| vec![d])?;
        super::timing("dag", t);
        let target_path = root.join(
            g.target_path
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
        // `--warn-error` / `--warn-error-options` make some of them errors (exit code 2).
        let warnings = g.settings.warn_error.apply(warnings);
        if warnings
            .iter()
            .any(|d| d.severity == crate::diagnostics::Severity::Error)
        {
            return Err(warnings);
        }
        super::print_diagnostics(g, &warnings);
        Ok(Session {
            project,
            target,
            parsed: ManuallyDrop::new(parsed),
            dag: ManuallyDrop::new(dag),
            target_path,
            invocation_id,
            started_at,
            parse_seconds: t0.elapsed().as_secs_f64(),
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.parsed.manifest
    }

    /// The selected node ids, in DAG order.
    pub fn select(
        &self,
        sel: &SelectArgs,
        default_types: Option<&[ResourceType]>,
    ) -> Result<Vec<String>, Diagnostic> {
        let chosen = self.dag.select(&sel.select, &sel.exclude)?;
        let types: Vec<String> = if !sel.resource_type.is_empty() {
            sel.resource_type
                .iter()
                .flat_map(|t| t.split(',').map(str::trim).map(str::to_string))
                .collect()
        } else {
            default_types
                .map(|d| d.iter().map(|t| t.as_str().to_string()).collect())
                .unwrap_or_default()
        };
        let excluded: Vec<String> = sel
            .exclude_resource_type
            .iter()
            .flat_map(|t| t.split(',').map(str::trim).map(str::to_string))
            .collect();
        let filtered = chosen
            .into_iter()
            .filter(|id| {
                let Some(n) = self.manifest().get(id) else {
                    return types.is_empty();
                };
                let kind = n.resource_type.as_str();
                (types.is_empty() || types.iter().any(|t| t == kind || t == "all"))
                    && !excluded.iter().any(|t| t == kind)
            })
            .collect();
        Ok(self.dag.topo_order(Some(&filtered)))
    }

    /// Warnings for selectors that match nothing.
    pub fn unmatched(&self, sel: &SelectArgs) -> Vec<String> {
        self.dag.unmatched(&sel.select).unwrap_or_default()
    }

    pub fn templates(&self) -> Arc<crate::templating::Templates> {
        self.parsed.templates.clone()
    }
}

/// True for resource types dbt counts as nodes in `ls` by default.
pub fn ls_default_types() -> Vec<ResourceType> {
    vec![
        ResourceType::Model,
        ResourceType::Seed,
        ResourceType::Snapshot,
        ResourceType::Test,
        ResourceType::Source,
        ResourceType::Exposure,
        ResourceType::UnitTest,
        ResourceType::Analysis,
        ResourceType::SavedQuery,
    ]
}
