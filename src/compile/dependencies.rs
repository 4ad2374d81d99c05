//! Each node's dependencies: its recorded `ref`s and `source`s resolved to unique ids (each
//! node its own, in parallel, from the finished manifest). A test whose `ref` names
//! a disabled (or no) node is disabled, as dbt's `process_refs` does: it stays among the nodes
//! with `enabled: false` (a missing target is a warning for a test, an error for anything else).

use serde_json::Value;

use super::nodes::{Manifest, Node, ResourceType};
use super::resolve::Resolver;
use crate::diagnostics::{line_col, Code, Diagnostic, Location};

/// Sets every node's `depends_on_nodes`; returns the errors (warnings go to `warnings`).
pub(super) fn resolve(
    manifest: &mut Manifest,
    resolver: &Resolver,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    use rayon::prelude::*;
    // Every node's dependencies resolve independently, from the resolver built from the finished
    // manifest: each node sets its own, in parallel; the diagnostics are kept in node order.
    // A test whose `ref` names a disabled (or no) node is disabled, as dbt's `process_refs`
    // does: it stays among the nodes with `enabled: false`, depending on what its other refs
    // name (a missing target is a warning for a test, an error for anything else).
    let metrics = metric_ids(manifest);
    let Manifest {
        nodes,
        sources,
        unit_tests,
        exposures,
        ..
    } = manifest;
    let mut all: Vec<&mut Node> = nodes
        .values_mut()
        .map(|n| &mut **n)
        .chain(sources.values_mut())
        .chain(unit_tests.values_mut())
        .chain(exposures.values_mut())
        .collect();
    let diagnostics: Vec<Vec<Diagnostic>> = all
        .par_iter_mut()
        .map(|node| {
            let (deps, errors, disable) = node_dependencies(node, resolver, &metrics);
            // (A source depends on nothing, and keeps what it has.)
            if node.resource_type != ResourceType::Source {
                node.depends_on_nodes = deps;
            }
            if disable {
                node.config_mut()
                    .insert("enabled".into(), Value::Bool(false));
            }
            errors
        })
        .collect();
    let mut dep_errors = Vec::new();
    for d in diagnostics.into_iter().flatten() {
        match d.severity {
            crate::diagnostics::Severity::Warning => warnings.push(d),
            _ => dep_errors.push(d),
        }
    }
    dep_errors
}

/// What `node` depends on (its refs' and sources' ids, sources first, each once), the
/// diagnostics of what it names that does not exist, and whether it is a test to disable.
fn node_dependencies(
    node: &Node,
    resolver: &Resolver,
    metrics: &std::collections::BTreeSet<String>,
) -> (Vec<String>, Vec<Diagnostic>, bool) {
    let mut errors = Vec::new();
    let mut deps: Vec<String> = Vec::new();
    let mut disable = false;
    let is_test = node.resource_type == ResourceType::Test;
    // (A ref made twice is recorded twice: resolved, and reported, once.)
    let mut seen_refs = std::collections::BTreeSet::new();
    for r in node.refs.iter().filter(|r| seen_refs.insert(*r)) {
        match resolver.ref_id(
            &node.package_name,
            r.package.as_deref(),
            &r.name,
            r.version.as_deref(),
        ) {
            Ok(dep) => deps.push(dep),
            Err(miss) => {
                let hint = match &r.version {
                    Some(_) => resolver.hint_versions(&r.name),
                    None => resolver.hint_ref(&r.name),
                };
                let d = located(
                    node,
                    (&format!("ref('{}'", r.name), r.version.as_deref()),
                    Code::UnknownRef,
                    miss.message,
                    hint,
                );
                if is_test {
                    disable = true;
                    if !miss.disabled {
                        let mut d = d;
                        d.severity = crate::diagnostics::Severity::Warning;
                        errors.push(d);
                    }
                } else {
                    errors.push(d);
                }
            }
        }
    }
    // Sources first, then refs (then an exposure's metrics), as dbt resolves them.
    let is_exposure = node.resource_type == ResourceType::Exposure;
    let refs_found = std::mem::take(&mut deps);
    for (s, t) in &node.sources {
        match resolver.source_id(s, t) {
            Ok(dep) => deps.push(dep),
            Err(msg) => errors.push(located(
                node,
                (&format!("source('{s}'"), None),
                Code::UnknownSource,
                msg,
                resolver.hint_source(s, t),
            )),
        }
    }
    deps.extend(refs_found);
    if is_exposure {
        for args in super::yaml_nodes::exposure_metrics(node) {
            match metric_id(metrics, &node.package_name, &args) {
                Some(dep) => deps.push(dep),
                None => errors.push(
                    Diagnostic::error(
                        Code::UnknownMetric,
                        format!(
                            "exposure `{}` depends on a metric named '{}' which was \
                             not found",
                            node.name,
                            args.last().map_or("", String::as_str)
                        ),
                    )
                    .in_file(&node.original_file_path)
                    .with_hint(
                        "name a metric defined under `metrics:` (or a measure's \
                         `create_metric: true`) in `depends_on: [metric('<name>')]`",
                    ),
                ),
            }
        }
    }
    if node.resource_type == ResourceType::UnitTest {
        deps.extend(node.depends_on_nodes.iter().cloned());
    }
    // Each once, first place kept (a node depends on a handful of others: no set needed).
    let mut once: Vec<String> = Vec::with_capacity(deps.len());
    for d in deps {
        if !once.contains(&d) {
            once.push(d);
        }
    }
    (once, errors, disable)
}

/// An error about a call in a node's code, at the call (`needle`: how it starts; `also`: text
/// the call holds, such as a ref's version, to tell it from other calls of the same name).
fn located(
    node: &Node,
    (needle, also): (&str, Option<&str>),
    code: Code,
    msg: String,
    hint: Option<String>,
) -> Diagnostic {
    let d = Diagnostic::error(
        code,
        format!("{} `{}` {msg}", node.resource_type.as_str(), node.name),
    )
    .maybe_hint(hint);
    let needle2 = needle.replace('\'', "\"");
    let raw = &node.raw_code;
    let calls = || {
        raw.match_indices(needle)
            .chain(raw.match_indices(&needle2))
            .map(|(p, _)| p)
    };
    let holding = also.and_then(|a| {
        calls().find(|&p| {
            raw[p + needle.len()..]
                .split(')')
                .next()
                .is_some_and(|call| call.contains(a))
        })
    });
    let pos = holding.or_else(|| calls().min());
    match pos {
        Some(p) if node.test_metadata.is_none() => {
            let (l, c) = line_col(&node.raw_code, p);
            let mut d = d.at(Location::at(&node.original_file_path, l, c));
            d.source_line = node.raw_code.lines().nth(l - 1).map(str::to_string);
            d
        }
        _ => d.in_file(&node.original_file_path),
    }
}

/// The ids of every metric: those defined under `metrics:` and those a semantic model's
/// measure creates (`create_metric: true`).
fn metric_ids(manifest: &Manifest) -> std::collections::BTreeSet<String> {
    let created = manifest.semantic_models.iter().flat_map(|(id, sm)| {
        let package = id.split('.').nth(1).unwrap_or_default().to_string();
        let measures = sm.get("measures").and_then(Value::as_array);
        measures
            .into_iter()
            .flatten()
            .filter(|m| m.get("create_metric").and_then(Value::as_bool) == Some(true))
            .filter_map(move |m| Some(format!("metric.{package}.{}", m.get("name")?.as_str()?)))
    });
    manifest.metrics.keys().cloned().chain(created).collect()
}

/// The metric a `metric(...)` call with `args` (`name`, or `package, name`) in a node of
/// `package` names: the node's package's metric of that name first, else any package's.
fn metric_id(
    metrics: &std::collections::BTreeSet<String>,
    package: &str,
    args: &[String],
) -> Option<String> {
    match args {
        [p, name] => Some(format!("metric.{p}.{name}")).filter(|id| metrics.contains(id)),
        [name] => {
            let own = format!("metric.{package}.{name}");
            if metrics.contains(&own) {
                return Some(own);
            }
            let tail = format!(".{name}");
            metrics
                .iter()
                .find(|id| id.ends_with(&tail) && id.matches('.').count() == 2)
                .cloned()
        }
        _ => None,
    }
}
