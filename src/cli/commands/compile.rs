//! `sluice compile`: compile the selected nodes (or `--inline` SQL) without running them, and write
//! them under `target/compiled`.

use std::sync::Arc;

use crate::cli::args::{SelectArgs, ShowOutput};
use crate::cli::session::{self, Session};
use crate::cli::{GlobalArgs, Outcome};
use crate::compile::{compile_node_in, compiled_path, CompileServices, ResourceType};
use crate::diagnostics::{Code, Diagnostic};
use crate::execute::Event;

use super::{meta, reporter, warn_unmatched, write_manifest, CmdResult};

/// Compiles nodes in parallel without a warehouse and writes them under target/compiled.
pub(super) fn compile(
    g: &GlobalArgs,
    sel: &SelectArgs,
    inline: Option<&str>,
    output: ShowOutput,
) -> CmdResult {
    let mut s = session::load(g, false, false)?;
    let rep = reporter(g);
    let ids = match inline {
        Some(_) => Vec::new(),
        None => {
            let ids = s
                .select(
                    &sel.selection(),
                    Some(&[
                        ResourceType::Model,
                        ResourceType::Test,
                        ResourceType::Analysis,
                        ResourceType::Snapshot,
                    ]),
                )
                .map_err(|d| vec![d])?;
            warn_unmatched(g, &s, sel, rep.as_ref())?;
            let mut ids = ids;
            ids.extend(hook_operations(&s, sel));
            ids
        }
    };
    let resolver = super::deferring_resolver(g, &s, &ids, &Default::default(), None)?;
    let services = Arc::new(CompileServices::new(
        resolver,
        Some(Arc::new(crate::execute::LazyWarehouse::new(&s.target))),
        false,
        s.target.dialect,
    ));
    if let Some(sql) = inline {
        let out = crate::compile::compile_inline(
            s.manifest(),
            sql,
            &s.project.config.name,
            &s.templates(),
            services,
        )
        .map_err(|d| vec![d])?;
        if output == ShowOutput::Json {
            println!(
                "{}",
                super::show::pretty(&serde_json::json!({"compiled": out.trim()}))
            );
        } else {
            println!("{}", out.trim());
        }
        return Ok(Outcome::Ok);
    }
    let t = std::time::Instant::now();
    let target_dir = s.target_path.clone();
    let (_, errors) = compile_into_manifest(&mut s, &ids, &services, Some(&target_dir));
    let (left_out, errors) = needs_warehouse(&s, errors);
    crate::cli::print_diagnostics(g, &left_out);
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
                        super::show::pretty(
                            &serde_json::json!({"node": name, "compiled": code.trim()})
                        )
                    );
                } else {
                    rep.event(&Event::Info(format!("Compiled node '{name}' is:")));
                    println!("{}", code.trim());
                }
            }
        }
    } else {
        let left = match left_out.len() {
            0 => String::new(),
            n => format!(" ({n} left out: they need the warehouse)"),
        };
        rep.event(&Event::Info(format!(
            "Compiled {} nodes into {}{left}",
            ids.len() - left_out.len(),
            target_dir.join("compiled").display()
        )));
    }
    Ok(Outcome::Ok)
}

/// On a compile-only target (a warehouse sluice does not run SQL on), a node that queries the
/// warehouse while it compiles (`run_query`, `adapter.get_columns_in_relation`, packages'
/// `get_column_values` ...) cannot compile offline. Each such node is named in a warning and
/// left out, instead of failing the command (real dbt stops at the first); every other error
/// stays an error. Returns (warnings, errors).
pub(crate) fn needs_warehouse(
    s: &Session,
    errors: Vec<NodeError>,
) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    if !crate::adapters::registry::compiles_only(&s.target) {
        return (Vec::new(), errors.into_iter().map(|(_, d)| d).collect());
    }
    let (offline, errors): (Vec<NodeError>, Vec<NodeError>) = errors
        .into_iter()
        .partition(|(_, d)| crate::adapters::is_offline_refusal(&d.message));
    let errors = errors.into_iter().map(|(_, d)| d).collect();
    // Each warning names the node that failed (an error without a node is a file that could not
    // be written, never a refusal).
    let warnings = offline
        .into_iter()
        .map(|(id, d)| {
            let node = id.and_then(|id| s.manifest().node_or_hook(&id));
            let name = match node {
                Some(n) => format!("{} `{}`", n.resource_type.as_str(), n.name),
                None => "a node".to_string(),
            };
            let mut w = Diagnostic::warning(
                Code::Connection,
                format!(
                    "{name} queries the warehouse while it compiles: left out (sluice compiles `type: {}` projects offline)",
                    s.target.adapter_type
                ),
            )
            .with_hint("its SQL depends on what the warehouse holds, which sluice cannot ask offline; every other node is compiled");
            w.location = d.location;
            w.source_line = d.source_line;
            w
        })
        .collect();
    (warnings, errors)
}

/// The run hooks' operation nodes a compile renders along with the nodes, as dbt's does: all of
/// them when nothing narrows the selection (`--select`, `--exclude`, `--selector`, resource
/// types), none otherwise.
pub(crate) fn hook_operations(s: &Session, sel: &crate::cli::args::SelectArgs) -> Vec<String> {
    let narrowed = !sel.select.is_empty()
        || !sel.exclude.is_empty()
        || sel.selector.is_some()
        || !sel.resource_type.is_empty()
        || !sel.exclude_resource_type.is_empty();
    if narrowed {
        return Vec::new();
    }
    s.manifest().operations.keys().cloned().collect()
}

/// A diagnostic of compiling, with the node it belongs to (none for a file that could not be
/// written).
pub(crate) type NodeError = (Option<String>, Diagnostic);

/// Compiles `ids` in parallel without a warehouse and stores each node's SQL in the manifest;
/// returns the ids that compiled and the diagnostics of those that did not.
pub(crate) fn compile_into_manifest(
    s: &mut Session,
    ids: &[String],
    services: &Arc<CompileServices>,
    files_under: Option<&std::path::Path>,
) -> (Vec<String>, Vec<NodeError>) {
    use rayon::prelude::*;
    let templates = s.templates();
    let ephemeral = crate::compile::has_ephemeral_models(s.manifest());
    // Each node's file is written by the task that compiled it: the disk work overlaps the
    // rendering of other nodes instead of waiting for all of them.
    let results: Vec<(&String, Result<String, Diagnostic>, Option<Diagnostic>)> = ids
        .par_iter()
        .map(|id| {
            let sql = compile_node_in(s.manifest(), id, &templates, services.clone(), ephemeral);
            let written = match (&sql, files_under, s.manifest().node_or_hook(id)) {
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
        errors.extend(written.map(|d| (None, d)));
        match r {
            Ok(sql) => {
                if let Some(n) = s.parsed.manifest.node_or_hook_mut(id) {
                    n.compiled_code = Some(sql);
                    compiled.push(id.clone());
                }
            }
            Err(d) => errors.push((Some(id.clone()), d)),
        }
    }
    (compiled, errors)
}

/// Writes a compiled file (and its folder) unless it already holds `sql`.
pub(super) fn write_if_changed(path: &std::path::Path, sql: &str) -> Option<Diagnostic> {
    crate::compile::write_if_changed(path, sql)
        .err()
        .map(|e| Diagnostic::error(Code::Io, format!("cannot write `{}`: {e}", path.display())))
}
