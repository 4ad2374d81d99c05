//! `sluice build`, `run`, `seed`, `snapshot` and `test`: select, run in the warehouse, report, and
//! write the artifacts.

use std::sync::Arc;

use crate::adapters::Adapter;
use crate::artifacts::{self, RunResult};
use crate::cli::args::RunArgs;
use crate::cli::session;
use crate::cli::{print_diagnostics, GlobalArgs, Outcome};
use crate::compile::{CompileServices, ResourceType};
use crate::diagnostics::{Code, Diagnostic};
use crate::execute::{self, Event, RunContext};

use super::{meta, reporter, warn_unmatched, CmdResult};

pub(super) fn default_types(which: &str) -> Vec<ResourceType> {
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

pub(super) fn build(g: &GlobalArgs, a: &RunArgs, which: &str) -> CmdResult {
    build_only(g, a, which, None)
}

/// [`build`] of the nodes `only` names (`retry`), or of the selection when `None`.
pub(super) fn build_only(
    g: &GlobalArgs,
    a: &RunArgs,
    which: &str,
    only: Option<&std::collections::BTreeSet<String>>,
) -> CmdResult {
    let t0 = std::time::Instant::now();
    let s = session::load_for(g, which, a.full_refresh, a.store_failures)?;
    let rep = reporter(g);
    let mut selection = a.selection.selection();
    selection.only = only;
    let mut ids = s
        .select(&selection, Some(&default_types(which)))
        .map_err(|d| vec![d])?;
    if only.is_some_and(|o| o.is_empty()) {
        rep.event(&Event::Warning(
            "Nothing to do. Try checking your model configs and model specification args".into(),
        ));
    }
    warn_unmatched(g, &s, &a.selection, rep.as_ref())?;
    // Ephemeral models are not run (they are inlined into their children), as in dbt.
    ids.retain(|id| {
        s.manifest().get(id).is_some_and(|n| {
            n.resource_type != ResourceType::Model
                || n.materialization() != crate::compile::Materialization::Ephemeral
        })
    });
    let comments = execute::query_comment::NodeComments::new(
        &s.project.config.query_comment,
        &s.target,
        s.templates(),
        s.parsed.resolver.clone(),
    )
    .map_err(|e| vec![Diagnostic::error(Code::Project, e).in_file("dbt_project.yml")])?;
    let adapter = Adapter::connect(&s.target)
        .map_err(|e| vec![e.to_diagnostic(&s.target)])?
        .with_query_comments(crate::adapters::comment::CommentSettings {
            comment: comments.run_comment(),
            append: s.project.config.query_comment.append,
            observer: debug_observer(g, &rep),
        });
    let built: std::collections::BTreeSet<String> = ids
        .iter()
        .filter(|id| {
            s.manifest().get(id).is_some_and(|n| {
                matches!(
                    n.resource_type,
                    ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
                )
            })
        })
        .cloned()
        .collect();
    let resolver = super::deferring_resolver(g, &s, &ids, &built, Some(&adapter))?;
    let ctx = RunContext {
        manifest: Arc::new(s.manifest().clone()),
        templates: s.templates(),
        resolver,
        adapter: Arc::new(adapter),
        project_root: s.project.root.clone(),
        target_path: s.target_path.clone(),
        full_refresh: a.full_refresh,
        empty: a.empty,
        fail_fast: g.settings.fail_fast,
        store_failures: a.store_failures,
        warn_error_tests: g
            .settings
            .warn_error
            .is_error(crate::cli::settings::TEST_WARNING_EVENT, true),
        threads: s.target.threads,
        reporter: rep.clone(),
        comments: Some(Arc::new(comments)),
        sample: a.sample_window,
        event_time: (
            a.event_time_start
                .as_deref()
                .and_then(crate::execute::parse_utc_time),
            a.event_time_end
                .as_deref()
                .and_then(crate::execute::parse_utc_time),
        ),
    };
    let dag = if which == "build" && !s.manifest().unit_tests.is_empty() {
        crate::graph::with_unit_tests_first(
            crate::compile::graph_nodes(s.manifest()),
            &crate::compile::unit_test_models(s.manifest()),
        )
    } else {
        None
    };
    let dag_ref = match &dag {
        Some(d) => d,
        None => s.dag().map_err(|d| vec![d])?,
    };
    let ids = if dag.is_some() {
        dag_ref.topo_order(Some(&ids.iter().cloned().collect()))
    } else {
        ids
    };
    rep.event(&Event::Info(format!(
        "Found {}",
        crate::cli::run_summary::project_stats(&s)
    )));
    rep.event(&Event::Info(String::new()));
    rep.event(&Event::Info(format!(
        "Concurrency: {} threads (target='{}')",
        ctx.threads, s.target.target_name
    )));
    rep.event(&Event::Info(String::new()));
    // Hooks report in run_results.json like nodes: on-run-start first, on-run-end last.
    let mut hook_results = Vec::new();
    if !ids.is_empty() && !s.manifest().on_run_start.is_empty() {
        let nodes = ids.iter().filter_map(|id| s.manifest().nodes.get(id));
        if let Err(e) = execute::create_schemas(&ctx, nodes.map(|n| &**n)) {
            return Err(vec![
                Diagnostic::error(Code::Hook, e).in_file("dbt_project.yml")
            ]);
        }
    }
    if !ids.is_empty() {
        match execute::run_hooks(&ctx, &s.manifest().on_run_start) {
            Ok(rs) if rs.is_empty() => {}
            Ok(rs) => {
                hook_results = rs;
                rep.event(&Event::Info(String::new()));
            }
            Err(e) => {
                return Err(vec![
                    Diagnostic::error(Code::Hook, e).in_file("dbt_project.yml")
                ])
            }
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
    let manifest = manifest_with_compiled_code(&s, [&hook_results, &results, &end_results]);
    if g.settings.write_json {
        let _ = artifacts::write_with(&s.target_path.join("manifest.json"), |w| {
            artifacts::write_manifest(&manifest, &m, w)
        });
        super::metrics::write_with_manifest(&s);
    }
    let hooks_and_nodes = hook_results.iter().chain(&results).chain(&end_results);
    let rr: Vec<RunResult> = hooks_and_nodes
        .map(|r| RunResult::of(r, &manifest))
        .collect();
    let mut args = serde_json::json!({"which": which, "select": a.selection.select, "exclude": a.selection.exclude, "full_refresh": a.full_refresh, "threads": ctx.threads});
    // What `retry` needs to run the same command again.
    if let serde_json::Value::Object(m) = &mut args {
        if let Some(sel) = &a.selection.selector {
            m.insert("selector".into(), sel.clone().into());
        }
        if let Some(t) = &g.target {
            m.insert("target".into(), t.clone().into());
        }
        // As dbt, always (`{}` without `--vars`).
        let vars = crate::session::parse_vars(g.vars.as_deref()).unwrap_or_default();
        m.insert("vars".into(), serde_json::Value::Object(vars));
        for (k, on) in [("store_failures", a.store_failures), ("empty", a.empty)] {
            if on {
                m.insert(k.into(), true.into());
            }
        }
    }
    let rv = artifacts::run_results_json(&rr, &m, elapsed, args);
    if g.settings.write_json {
        let _ = artifacts::write_json(&s.target_path.join("run_results.json"), &rv);
    }

    write_ci_output(g, &s, &results, elapsed)?;
    let errors = crate::cli::run_summary::print_end_of_run(
        &s,
        rep.as_ref(),
        &ids,
        &results,
        hooks_run,
        elapsed,
    );
    let _ = print_diagnostics;
    Ok(if errors > 0 {
        Outcome::Failed
    } else {
        Outcome::Ok
    })
}

/// `--junit-xml FILE` and `--log-format github`: the tests' results for CI systems.
pub(super) fn write_ci_output(
    g: &GlobalArgs,
    s: &crate::cli::session::Session,
    results: &[execute::NodeResult],
    elapsed: f64,
) -> Result<(), Vec<Diagnostic>> {
    if let Some(path) = &g.junit_xml {
        let xml = crate::cli::ci_output::junit_xml(
            results,
            s.manifest(),
            &s.project.config.name,
            elapsed,
            &crate::artifacts::format_ts(&s.started_at),
        );
        std::fs::write(path, xml).map_err(|e| {
            vec![
                Diagnostic::error(Code::Io, format!("cannot write `{}`: {e}", path.display()))
                    .with_hint("--junit-xml names the file to write the test report to"),
            ]
        })?;
    }
    if g.settings.github {
        for line in crate::cli::ci_output::result_annotations(results, s.manifest()) {
            println!("{line}");
        }
    }
    Ok(())
}

/// The manifest as the run leaves it: each node's (and hook's) compiled code, and the compiled
/// code of the ephemeral models the run's nodes inlined, as dbt's manifest after a run has it.
/// `results` are the on-run-start hooks', the nodes' and the on-run-end hooks'.
fn manifest_with_compiled_code(
    s: &crate::cli::session::Session,
    results: [&Vec<execute::NodeResult>; 3],
) -> crate::compile::Manifest {
    let mut manifest = s.manifest().clone();
    for r in results.iter().flat_map(|rs| rs.iter()) {
        if let (Some(n), Some(code)) = (manifest.node_or_hook_mut(&r.unique_id), &r.compiled_code) {
            n.compiled_code = Some(code.clone());
        }
    }
    if crate::compile::has_ephemeral_models(&manifest) {
        let compiled: Vec<&str> = results[1]
            .iter()
            .filter(|r| r.compiled_code.is_some())
            .map(|r| r.unique_id.as_str())
            .collect();
        let services = Arc::new(CompileServices::new(
            s.parsed.resolver.clone(),
            Some(Arc::new(crate::execute::LazyWarehouse::new(&s.target))),
            false,
            s.target.dialect,
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
    manifest
}

/// Under `--debug` (log level debug), each statement sent to the warehouse is shown, as dbt's
/// debug log shows it (`On <node>: <sql>`).
fn debug_observer(
    g: &GlobalArgs,
    rep: &Arc<dyn execute::Reporter>,
) -> Option<crate::adapters::comment::StatementObserver> {
    if g.settings.log_level > execute::LogLevel::Debug {
        return None;
    }
    let rep = rep.clone();
    Some(Arc::new(move |node: Option<&str>, sql: &str| {
        let name = node.unwrap_or("master");
        rep.event(&Event::Debug(format!("On {name}: {sql}")));
    }))
}
