//! One function per command.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use serde_json::Value;

use super::args::{Command, LsOutput, RunArgs, SelectArgs, ShowOutput};
use super::session::{self, ls_default_types, Session};
use super::{print_diagnostics, use_color, GlobalArgs, LogFormat, Outcome};
use crate::adapters::Adapter;
use crate::artifacts::{self, ArtifactMeta, RunResult, RunStatus, Timing};
use crate::compile::{compile_node, compile_node_in, compiled_path, CompileServices, ResourceType};
use crate::diagnostics::Diagnostic;
use crate::execute::{
    self, Event, JsonReporter, LevelFilter, LogLevel, Reporter, RunContext, TextReporter,
};

type CmdResult = Result<Outcome, Vec<Diagnostic>>;

pub fn run(cli: &super::Cli) -> CmdResult {
    let g = &cli.global;
    match &cli.command {
        Command::Parse => parse(g),
        Command::Compile {
            selection,
            inline,
            preview,
            ..
        } => compile(g, selection, inline.as_deref(), preview.output),
        Command::Ls {
            selection,
            output,
            output_keys,
        } => ls(g, selection, *output, output_keys),
        Command::Debug { config_dir, .. } => debug(g, *config_dir),
        Command::Clean { .. } => clean(g),
        Command::Deps { lock, .. } => super::deps::run(g, *lock),
        Command::Docs { command } => super::docs::run(g, command),
        Command::Build(a) => build(g, a, "build"),
        Command::Run(a) => build(g, a, "run"),
        Command::Seed(a) => build(g, a, "seed"),
        Command::Snapshot(a) => build(g, a, "snapshot"),
        Command::Test(a) => build(g, a, "test"),
        Command::Show {
            selection,
            inline,
            inline_direct,
            limit,
            preview,
        } => {
            let query = match (inline, inline_direct) {
                (Some(q), _) => Some(Inline::Jinja(q)),
                (None, Some(q)) => Some(Inline::Direct(q)),
                _ => None,
            };
            show(g, selection, query, *limit, preview.output)
        }
        Command::Metrics(a) => super::metrics::run(g, a),
        Command::RunOperation(a) => super::operation::run(g, a),
    }
}

/// The event printer `--log-format` asks for, showing what `--log-level` / `--quiet` let through.
pub(super) fn reporter(g: &GlobalArgs) -> Arc<dyn Reporter> {
    let inner: Arc<dyn Reporter> = match g.log_format {
        LogFormat::Json => Arc::new(JsonReporter::new(Box::new(std::io::stdout()))),
        LogFormat::Text => {
            let live = std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("CI").is_none();
            Arc::new(
                TextReporter::new(Box::new(std::io::stdout()), use_color(g), g.quiet)
                    .with_live_progress(live && g.settings.log_level <= LogLevel::Info),
            )
        }
    };
    Arc::new(LevelFilter::new(inner, g.settings.log_level))
}

pub(super) fn meta(s: &Session) -> ArtifactMeta {
    let mut m = ArtifactMeta::new(
        &s.project.config.name,
        &s.target.adapter_type,
        s.project.config.target_path.clone(),
    );
    m.invocation_id = s.invocation_id.clone();
    m.invocation_started_at = s.started_at;
    m.project_root = s.project.root.clone();
    m
}

pub(super) fn write_manifest(s: &Session, meta: &ArtifactMeta) -> Result<(), Vec<Diagnostic>> {
    let t = std::time::Instant::now();
    let path = s.target_path.join("manifest.json");
    let written =
        artifacts::write_with(&path, |w| artifacts::write_manifest(s.manifest(), meta, w));
    crate::cli::timing("manifest", t);
    written.map_err(|e| {
        vec![Diagnostic::error(
            "io",
            format!("cannot write `{}`: {e}", path.display()),
        )]
    })
}

/// dbt's `NoNodesForSelectionCriteria` warning for each selector that selects nothing: an error
/// (exit code 2) under `--warn-error`, nothing when silenced.
fn warn_unmatched(
    g: &GlobalArgs,
    s: &Session,
    sel: &SelectArgs,
    rep: &dyn Reporter,
) -> Result<(), Vec<Diagnostic>> {
    let options = &g.settings.warn_error;
    let event = "NoNodesForSelectionCriteria";
    let mut errors = Vec::new();
    for u in s.unmatched(sel) {
        let msg = format!("The selection criterion '{u}' does not match any enabled nodes");
        if options.is_silenced(event) {
            continue;
        }
        if options.is_error(event, true) {
            errors.push(Diagnostic::error("select", msg).with_hint(format!(
                "check the selector; an error because of --warn-error ({event})"
            )));
        } else {
            rep.event(&Event::Warning(msg));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn parse(g: &GlobalArgs) -> CmdResult {
    let s = Session::load(g, false, false)?;
    if g.settings.write_json {
        write_manifest(&s, &meta(&s))?;
    }
    super::metrics::on_parse(&s, g)?;
    let rep = reporter(g);
    let m = s.manifest();
    let wrote = if g.settings.write_json {
        format!("; wrote {}", s.target_path.join("manifest.json").display())
    } else {
        String::new()
    };
    rep.event(&Event::Info(format!(
        "Parsed {} nodes ({} models, {} tests, {} seeds, {} sources, {} macros) in {:.2}s{wrote}",
        m.nodes.len() + m.sources.len() + m.unit_tests.len(),
        m.nodes
            .values()
            .filter(|n| n.resource_type == ResourceType::Model)
            .count(),
        m.nodes
            .values()
            .filter(|n| n.resource_type == ResourceType::Test)
            .count(),
        m.nodes
            .values()
            .filter(|n| n.resource_type == ResourceType::Seed)
            .count(),
        m.sources.len(),
        m.macros.len(),
        s.parse_seconds,
    )));
    Ok(Outcome::Ok)
}

/// Compiles nodes in parallel without a warehouse and writes them under target/compiled.
fn compile(
    g: &GlobalArgs,
    sel: &SelectArgs,
    inline: Option<&str>,
    output: ShowOutput,
) -> CmdResult {
    let mut s = Session::load(g, false, false)?;
    let rep = reporter(g);
    let services = Arc::new(CompileServices::new(
        s.parsed.resolver.clone(),
        Some(Arc::new(crate::execute::LazyWarehouse::new(&s.target))),
        false,
        &s.target.adapter_type,
    ));
    if let Some(sql) = inline {
        let info = crate::templating::NodeInfo {
            unique_id: "sql_operation.inline".into(),
            name: "inline".into(),
            package: s.project.config.name.clone(),
            resource_type: "sql_operation".into(),
            original_file_path: "<inline>".into(),
            ..Default::default()
        };
        let ctx = Arc::new(crate::templating::RenderCtx::new(
            crate::templating::Phase::Compile,
            info,
            services,
        ));
        let out = s
            .templates()
            .render("<inline>", sql, &ctx)
            .map_err(|d| vec![d])?;
        if output == ShowOutput::Json {
            println!("{}", pretty(&serde_json::json!({"compiled": out.trim()})));
        } else {
            println!("{}", out.trim());
        }
        return Ok(Outcome::Ok);
    }
    let ids = s
        .select(
            sel,
            Some(&[
                ResourceType::Model,
                ResourceType::Test,
                ResourceType::Analysis,
                ResourceType::Snapshot,
            ]),
        )
        .map_err(|d| vec![d])?;
    warn_unmatched(g, &s, sel, rep.as_ref())?;
    let t = std::time::Instant::now();
    let target_dir = s.target_path.clone();
    let (_, errors) = compile_into_manifest(&mut s, &ids, &services, Some(&target_dir));
    if !errors.is_empty() {
        // dbt's compile stops at an error and leaves the manifest as parsed: no compiled code.
        for n in s.parsed.manifest.nodes.values_mut() {
            n.compiled_code = None;
        }
    }
    crate::timing("compile nodes and files", t);
    let mut m = meta(&s);
    m.built = ids.iter().cloned().collect();
    let manifest = if g.settings.write_json {
        super::metrics::write_with_manifest(&s);
        write_manifest(&s, &m)
    } else {
        Ok(())
    };
    for l in services.take_logs() {
        rep.event(&Event::Info(l));
    }
    manifest?;
    if !errors.is_empty() {
        return Err(errors);
    }
    // Like dbt, print the SQL when exactly one node was selected explicitly.
    if !sel.select.is_empty() {
        let models: Vec<&String> = ids
            .iter()
            .filter(|id| id.starts_with("model.") || id.starts_with("analysis."))
            .collect();
        let shown: Vec<&String> = if models.len() == 1 {
            models
        } else if ids.len() == 1 {
            ids.iter().collect()
        } else {
            vec![]
        };
        if let Some(id) = shown.first() {
            if let Some(code) = s
                .manifest()
                .nodes
                .get(*id)
                .and_then(|n| n.compiled_code.clone())
            {
                let name = &s.manifest().nodes[*id].name;
                if output == ShowOutput::Json {
                    println!(
                        "{}",
                        pretty(&serde_json::json!({"node": name, "compiled": code.trim()}))
                    );
                } else {
                    rep.event(&Event::Info(format!("Compiled node '{name}' is:")));
                    println!("{}", code.trim());
                }
            }
        }
    } else {
        rep.event(&Event::Info(format!(
            "Compiled {} nodes into {}",
            ids.len(),
            target_dir.join("compiled").display()
        )));
    }
    Ok(Outcome::Ok)
}

fn ls(g: &GlobalArgs, sel: &SelectArgs, output: LsOutput, keys: &[String]) -> CmdResult {
    let s = Session::load(g, false, false)?;
    let ids = s
        .select(sel, Some(&ls_default_types()))
        .map_err(|d| vec![d])?;
    // A selector that matches nothing (misspelt, or malformed like `tag:` or `a,,b`) is a
    // warning, as in dbt; on stderr, so that the listing on stdout stays clean for scripts.
    if !g
        .settings
        .warn_error
        .is_silenced("NoNodesForSelectionCriteria")
    {
        for u in s.unmatched(sel) {
            let msg = format!("The selection criterion '{u}' does not match any enabled nodes");
            if g.settings
                .warn_error
                .is_error("NoNodesForSelectionCriteria", true)
            {
                return Err(vec![Diagnostic::error("select", msg)
                    .with_hint("check the selector; an error because of --warn-error")]);
            }
            eprintln!("warning: {msg}");
        }
    }
    let mut ids = ids;
    ids.sort();
    // Like dbt, nodes are printed in the order of their unique ids.
    let mut lines: Vec<String> = Vec::new();
    for id in &ids {
        let Some(n) = s.manifest().get(id) else {
            continue;
        };
        let line = match output {
            LsOutput::Name => n.name.clone(),
            LsOutput::Path => n.original_file_path.clone(),
            LsOutput::Selector => match n.resource_type {
                ResourceType::Source => format!("source:{}", n.fqn.join(".")),
                ResourceType::Exposure => format!("exposure:{}", n.fqn.join(".")),
                ResourceType::UnitTest => format!("unit_test:{}", n.fqn.join(".")),
                ResourceType::SavedQuery => format!("saved_query:{}", n.fqn.join(".")),
                _ => n.fqn.join("."),
            },
            LsOutput::Json => {
                let mut v = serde_json::json!({
                    "name": n.name, "resource_type": n.resource_type.as_str(), "package_name": n.package_name,
                    "original_file_path": n.original_file_path, "unique_id": n.unique_id, "alias": n.alias,
                    "config": n.config, "tags": n.tags, "depends_on": {"nodes": if n.resource_type == ResourceType::SavedQuery { crate::metrics::nodes::node_metrics(n) } else { n.depends_on_nodes.clone() }, "macros": n.depends_on_macros},
                });
                // `--output-keys name resource_type`: only those keys, in dbt's order.
                if let (false, Value::Object(all)) = (keys.is_empty(), &mut v) {
                    let wanted: Vec<&str> =
                        keys.iter().flat_map(|k| k.split_whitespace()).collect();
                    all.retain(|k, _| wanted.contains(&k.as_str()));
                }
                v.to_string()
            }
        };
        lines.push(line);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    Ok(Outcome::Ok)
}

fn debug(g: &GlobalArgs, config_dir: bool) -> CmdResult {
    if config_dir {
        // dbt prints a command that opens the folder profiles.yml is looked for in.
        let dir = g.profiles_dir.clone().or_else(|| {
            let root = session::project_root(g).ok()?;
            crate::project::profile::search_dirs(None, &root)
                .into_iter()
                .find(|d| d.join("profiles.yml").is_file())
        });
        let dir = dir.map_or_else(|| "~/.dbt".to_string(), |d| d.display().to_string());
        println!("To view your profiles.yml file, run:\n\nxdg-open {dir}");
        return Ok(Outcome::Ok);
    }
    let root = session::project_root(g).map_err(|d| vec![d])?;
    let project = crate::project::load_without_packages(&root)?;
    let target = session::load_target(g, &root, &project).map_err(|d| vec![d])?;
    // Through the reporter, so that `--log-format json` gives one JSON event per line.
    let rep = reporter(g);
    let say = |line: String| rep.event(&Event::Info(line));
    say(format!("sluice {}", env!("CARGO_PKG_VERSION")));
    say(format!(
        "project: {} ({})",
        project.config.name,
        root.join("dbt_project.yml").display()
    ));
    say(format!("profiles.yml: {}", target.profiles_path.display()));
    say(format!(
        "profile: {}  target: {}",
        target.profile_name, target.target_name
    ));
    let redacted = target.redacted();
    for (k, v) in &redacted {
        if k == "resolved_path" {
            continue;
        }
        say(format!(
            "  {k}: {}",
            match v {
                Value::String(s) => s.clone(),
                o => o.to_string(),
            }
        ));
    }
    match Adapter::connect(&target).and_then(|a| a.connection().map(|_| ())) {
        Ok(()) => {
            say("Connection test: OK connection ok".into());
            Ok(Outcome::Ok)
        }
        Err(e) => {
            say(format!(
                "Connection test: ERROR {}",
                target.scrub(&e.to_string())
            ));
            Ok(Outcome::Failed)
        }
    }
}

fn clean(g: &GlobalArgs) -> CmdResult {
    let root = session::project_root(g).map_err(|d| vec![d])?;
    let project = crate::project::load_without_packages(&root)?;
    let mut targets = project.config.clean_targets.clone();
    if targets.is_empty() {
        targets.push(project.config.target_path.clone());
    }
    for t in targets {
        let p = root.join(&t);
        if !p.starts_with(&root) || p == root {
            return Err(vec![Diagnostic::error(
                "clean",
                format!("refusing to delete `{t}`: it is not inside the project"),
            )
            .in_file("dbt_project.yml")]);
        }
        if p.exists() {
            std::fs::remove_dir_all(&p).map_err(|e| {
                vec![Diagnostic::error(
                    "io",
                    format!("cannot delete `{}`: {e}", p.display()),
                )]
            })?;
            println!("Cleaned {t}/");
        }
    }
    Ok(Outcome::Ok)
}

fn default_types(which: &str) -> Vec<ResourceType> {
    match which {
        "run" => vec![ResourceType::Model],
        "seed" => vec![ResourceType::Seed],
        "snapshot" => vec![ResourceType::Snapshot],
        "test" => vec![ResourceType::Test, ResourceType::UnitTest],
        _ => vec![
            ResourceType::Model,
            ResourceType::Seed,
            ResourceType::Snapshot,
            ResourceType::Test,
            ResourceType::UnitTest,
            ResourceType::SavedQuery,
            ResourceType::Exposure,
        ],
    }
}

fn build(g: &GlobalArgs, a: &RunArgs, which: &str) -> CmdResult {
    let t0 = std::time::Instant::now();
    let s = Session::load(g, a.full_refresh, a.store_failures)?;
    let rep = reporter(g);
    let mut ids = s
        .select(&a.selection, Some(&default_types(which)))
        .map_err(|d| vec![d])?;
    warn_unmatched(g, &s, &a.selection, rep.as_ref())?;
    // Ephemeral models are not run (they are inlined into their children), as in dbt.
    ids.retain(|id| {
        s.manifest().get(id).is_some_and(|n| {
            n.resource_type != ResourceType::Model
                || n.materialization() != crate::compile::Materialization::Ephemeral
        })
    });
    let adapter = Adapter::connect(&s.target).map_err(|e| vec![e.to_diagnostic(&s.target)])?;
    let ctx = RunContext {
        manifest: Arc::new(s.manifest().clone()),
        templates: s.templates(),
        resolver: s.parsed.resolver.clone(),
        adapter: Arc::new(adapter),
        project_root: s.project.root.clone(),
        target_path: s.target_path.clone(),
        full_refresh: a.full_refresh,
        fail_fast: g.settings.fail_fast,
        store_failures: a.store_failures,
        warn_error_tests: g
            .settings
            .warn_error
            .is_error(super::flags::TEST_WARNING_EVENT, true),
        threads: s.target.threads,
        reporter: rep.clone(),
    };
    let dag = if which == "build" {
        unit_test_dag(&s)
    } else {
        None
    };
    let dag_ref = dag.as_ref().unwrap_or(&s.dag);
    let ids = if dag.is_some() {
        dag_ref.topo_order(Some(&ids.iter().cloned().collect()))
    } else {
        ids
    };
    rep.event(&Event::Info(format!(
        "Found {}",
        super::run_summary::project_stats(&s)
    )));
    rep.event(&Event::Info(String::new()));
    rep.event(&Event::Info(format!(
        "Concurrency: {} threads (target='{}')",
        ctx.threads, s.target.target_name
    )));
    rep.event(&Event::Info(String::new()));
    // Hooks report in run_results.json like nodes: on-run-start first, on-run-end last.
    let mut hook_results = Vec::new();
    if !ids.is_empty() {
        match execute::run_hooks(&ctx, &s.manifest().on_run_start) {
            Ok(rs) if rs.is_empty() => {}
            Ok(rs) => {
                hook_results = rs;
                rep.event(&Event::Info(String::new()));
            }
            Err(e) => return Err(vec![Diagnostic::error("hook", e).in_file("dbt_project.yml")]),
        }
    }
    let results =
        execute::run(&ctx, dag_ref, &ids).map_err(|e| vec![e.to_diagnostic(&s.target)])?;
    let mut end_results = Vec::new();
    if !ids.is_empty() {
        if !s.manifest().on_run_end.is_empty() {
            rep.event(&Event::Info(String::new()));
        }
        match execute::run_hooks(&ctx, &s.manifest().on_run_end) {
            Ok(rs) => end_results = rs,
            Err(e) => rep.event(&Event::Warning(e)),
        }
    }
    let hooks_run = hook_results.len() + end_results.len();
    let elapsed = t0.elapsed().as_secs_f64();
    if std::env::var_os("SLUICE_TIMINGS").is_some() {
        let db = crate::adapters::db_seconds();
        eprintln!(
            "timing: wall {elapsed:.3}s, inside the warehouse {db:.3}s summed over {} workers (busy wall >= {:.3}s)",
            ctx.threads,
            db / ctx.threads as f64
        );
    }
    // Artifacts.
    let mut m = meta(&s);
    m.built = ids.iter().cloned().collect();
    let mut manifest = s.manifest().clone();
    for r in hook_results.iter().chain(&results).chain(&end_results) {
        let node = match manifest.nodes.get_mut(&r.unique_id) {
            Some(n) => Some(&mut **n),
            None => manifest.operations.get_mut(&r.unique_id),
        };
        if let (Some(n), Some(code)) = (node, &r.compiled_code) {
            n.compiled_code = Some(code.clone());
        }
    }
    if crate::compile::has_ephemeral_models(&manifest) {
        let compiled: Vec<&str> = results
            .iter()
            .filter(|r| r.compiled_code.is_some())
            .map(|r| r.unique_id.as_str())
            .collect();
        let services = Arc::new(CompileServices::new(
            s.parsed.resolver.clone(),
            Some(Arc::new(crate::execute::LazyWarehouse::new(&s.target))),
            false,
            &s.target.adapter_type,
        ));
        let ephemerals = crate::compile::compile_ephemeral_ancestors(
            &manifest,
            &compiled,
            &s.templates(),
            services,
        );
        for (id, sql) in ephemerals {
            if let Some(n) = manifest.nodes.get_mut(&id) {
                n.compiled_code = Some(sql);
            }
        }
    }
    if g.settings.write_json {
        let _ = artifacts::write_with(&s.target_path.join("manifest.json"), |w| {
            artifacts::write_manifest(&manifest, &m, w)
        });
        super::metrics::write_with_manifest(&s);
    }
    let hooks_and_nodes = hook_results.iter().chain(&results).chain(&end_results);
    let rr: Vec<RunResult> = hooks_and_nodes
        .map(|r| {
            let mut x = RunResult::new(r.unique_id.clone(), r.status);
            x.timing = vec![
                Timing::new("compile", r.started_at, r.started_at),
                Timing::new("execute", r.started_at, r.completed_at),
            ];
            x.thread_id = if manifest.operations.contains_key(&r.unique_id) {
                "main".into()
            } else {
                format!("Thread-{} (worker)", r.thread)
            };
            x.execution_time = r.execution_time;
            x.message = Some(r.message.clone());
            x.failures = r.failures;
            x.adapter_response = r.adapter_response.clone();
            // A saved query with nothing to export is a no-op with nothing compiled, as in dbt.
            let no_op = r.status == RunStatus::NoOp;
            x.compiled = (!no_op).then_some(r.compiled_code.is_some());
            if no_op {
                x.failures = Some(0);
                x.adapter_response = serde_json::json!({});
            }
            x.compiled_code = r.compiled_code.clone();
            x.relation_name = manifest.get(&r.unique_id).and_then(|n| n.relation_name());
            x
        })
        .collect();
    let args = serde_json::json!({"which": which, "select": a.selection.select, "exclude": a.selection.exclude, "full_refresh": a.full_refresh, "threads": ctx.threads});
    let rv = artifacts::run_results_json(&rr, &m, elapsed, args);
    if g.settings.write_json {
        let _ = artifacts::write_json(&s.target_path.join("run_results.json"), &rv);
    }

    let errors =
        super::run_summary::print_end_of_run(&s, rep.as_ref(), &ids, &results, hooks_run, elapsed);
    let _ = print_diagnostics;
    Ok(if errors > 0 {
        Outcome::Failed
    } else {
        Outcome::Ok
    })
}

/// In `build`, a model waits for its unit tests: add edges unit_test -> model.
fn unit_test_dag(s: &Session) -> Option<crate::graph::Dag> {
    if s.manifest().unit_tests.is_empty() {
        return None;
    }
    let mut nodes = session::graph_nodes(s.manifest());
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for u in s.manifest().unit_tests.values() {
        if let Some(m) = &u.attached_node {
            extra
                .entry(m.clone())
                .or_default()
                .push(u.unique_id.clone());
        }
    }
    let parents_of: BTreeMap<String, Vec<String>> = nodes
        .iter()
        .map(|n| (n.unique_id.clone(), n.depends_on.clone()))
        .collect();
    for n in &mut nodes {
        if let Some(us) = extra.get(&n.unique_id) {
            n.depends_on.extend(us.iter().cloned());
        }
        // A unit test waits for its model's parents (their columns type the fixtures), not the model.
        if n.resource_type == "unit_test" {
            let model: Vec<String> = n.depends_on.clone();
            n.depends_on = model
                .iter()
                .flat_map(|m| parents_of.get(m).cloned().unwrap_or_default())
                .collect();
        }
    }
    crate::graph::Dag::build(nodes).ok()
}

/// `show --inline` SQL: rendered as Jinja, or run as written (`--inline-direct`).
enum Inline<'a> {
    Jinja(&'a str),
    Direct(&'a str),
}

/// JSON with two-space indentation, as dbt prints `--output json`.
fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn show(
    g: &GlobalArgs,
    sel: &SelectArgs,
    inline: Option<Inline>,
    limit: usize,
    output: ShowOutput,
) -> CmdResult {
    let s = Session::load(g, false, false)?;
    let adapter = Adapter::connect(&s.target).map_err(|e| vec![e.to_diagnostic(&s.target)])?;
    let mut conn = adapter
        .connection()
        .map_err(|e| vec![e.to_diagnostic(&s.target)])?;
    let services = Arc::new(CompileServices::new(
        s.parsed.resolver.clone(),
        None,
        false,
        &s.target.adapter_type,
    ));
    let (title, sql) = match inline {
        Some(Inline::Direct(q)) => ("inline".to_string(), q.to_string()),
        Some(Inline::Jinja(q)) => {
            let info = crate::templating::NodeInfo {
                name: "inline".into(),
                package: s.project.config.name.clone(),
                ..Default::default()
            };
            let ctx = Arc::new(crate::templating::RenderCtx::new(
                crate::templating::Phase::Compile,
                info,
                services,
            ));
            (
                "inline".to_string(),
                s.templates()
                    .render("<inline>", q, &ctx)
                    .map_err(|d| vec![d])?,
            )
        }
        None => {
            let ids = s
                .select(
                    sel,
                    Some(&[
                        ResourceType::Model,
                        ResourceType::Seed,
                        ResourceType::Snapshot,
                        ResourceType::Analysis,
                    ]),
                )
                .map_err(|d| vec![d])?;
            let Some(id) = ids.first() else {
                return Err(vec![Diagnostic::error(
                    "select",
                    "`show` needs --select MODEL or --inline SQL",
                )
                .with_hint("e.g. sluice show --select orders")]);
            };
            let name = s
                .manifest()
                .get(id)
                .map(|n| n.name.clone())
                .unwrap_or_default();
            (
                name,
                compile_node(s.manifest(), id, &s.templates(), services).map_err(|d| vec![d])?,
            )
        }
    };
    let q = format!(
        "select * from (\n{}\n) as __sluice_show limit {limit}",
        sql.trim_end().trim_end_matches(';')
    );
    let t = conn
        .query(&q)
        .map_err(|e| vec![Diagnostic::error("sql", format!("query failed: {e}"))])?;
    let is_inline = inline.is_some();
    if output == ShowOutput::Json || g.log_format == LogFormat::Json {
        let rows: Vec<Value> = t
            .rows
            .iter()
            .map(|r| {
                Value::Object(
                    t.column_names
                        .iter()
                        .cloned()
                        .zip(r.iter().cloned())
                        .collect(),
                )
            })
            .collect();
        if output == ShowOutput::Json {
            // dbt's `show --output json`.
            let v = if is_inline {
                serde_json::json!({"show": rows})
            } else {
                serde_json::json!({"node": title, "show": rows})
            };
            println!("{}", pretty(&v));
        } else {
            println!("{}", serde_json::json!({"node": title, "rows": rows}));
        }
        return Ok(Outcome::Ok);
    }
    // Like dbt: the table alone under --quiet.
    if !g.quiet {
        if is_inline {
            println!("Previewing inline node:");
        } else {
            println!("Previewing node '{title}':");
        }
    }
    print!("{}", render_table(&t.column_names, &t.rows));
    Ok(Outcome::Ok)
}

/// A plain text table like dbt's `show` output.
/// Compiles `ids` in parallel without a warehouse and stores each node's SQL in the manifest;
/// returns the ids that compiled and the diagnostics of those that did not.
pub(super) fn compile_into_manifest(
    s: &mut Session,
    ids: &[String],
    services: &Arc<CompileServices>,
    files_under: Option<&std::path::Path>,
) -> (Vec<String>, Vec<Diagnostic>) {
    use rayon::prelude::*;
    let templates = s.templates();
    let ephemeral = crate::compile::has_ephemeral_models(s.manifest());
    // Each node's file is written by the task that compiled it: the disk work overlaps the
    // rendering of other nodes instead of waiting for all of them.
    let results: Vec<(&String, Result<String, Diagnostic>, Option<Diagnostic>)> = ids
        .par_iter()
        .map(|id| {
            let sql = compile_node_in(s.manifest(), id, &templates, services.clone(), ephemeral);
            let written = match (&sql, files_under, s.manifest().nodes.get(id)) {
                (Ok(sql), Some(dir), Some(n)) => {
                    write_if_changed(&dir.join(compiled_path("", n).trim_start_matches('/')), sql)
                }
                _ => None,
            };
            (id, sql, written)
        })
        .collect();
    let mut compiled = Vec::new();
    let mut errors = Vec::new();
    for (id, r, written) in results {
        errors.extend(written);
        match r {
            Ok(sql) => {
                if let Some(n) = s.parsed.manifest.nodes.get_mut(id) {
                    n.compiled_code = Some(sql);
                    compiled.push(id.clone());
                }
            }
            Err(d) => errors.push(d),
        }
    }
    (compiled, errors)
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

/// Writes a compiled file (and its folder) unless it already holds `sql`: rewriting 40,000
/// unchanged files costs far more than reading them.
fn write_if_changed(path: &std::path::Path, sql: &str) -> Option<Diagnostic> {
    if holds(path, sql.as_bytes()) {
        return None;
    }
    let mut result = std::fs::write(path, sql);
    if result
        .as_ref()
        .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    {
        if let Some(dir) = path.parent() {
            result = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(path, sql));
        }
    }
    result
        .err()
        .map(|e| Diagnostic::error("io", format!("cannot write `{}`: {e}", path.display())))
}

pub fn render_table(cols: &[String], rows: &[Vec<Value>]) -> String {
    let cell = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        o => o.to_string(),
    };
    let mut widths: Vec<usize> = cols.iter().map(|c| c.chars().count()).collect();
    for r in rows {
        for (i, v) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell(v).chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>| -> String {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!(" {:<w$} ", c, w = widths[i]))
            .collect();
        format!("|{}|\n", parts.join("|"))
    };
    out.push_str(&line(cols.to_vec()));
    out.push_str(&format!(
        "|{}|\n",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("+")
    ));
    for r in rows {
        out.push_str(&line(r.iter().map(cell).collect()));
    }
    out
}
