//! What `build`, `run`, `test`, `seed` and `snapshot` print around the nodes, in dbt 1.10's
//! words and layout: the `Found ...` line, and at the end `Finished running ...`, the
//! `Completed ...` block with each failure and warning, and `Done. PASS=...`. Checked line by
//! line against real dbt on the same projects (`tests/it/features.rs`).

use std::collections::BTreeMap;

use super::session::Session;
use crate::artifacts::RunStatus;
use crate::compile::{compiled_path, ResourceType};
use crate::execute::{Event, NodeResult, Reporter, Tone};

/// Prints the end of a run and returns how many nodes failed (errors and test failures).
pub(super) fn print_end_of_run(
    s: &Session,
    rep: &dyn Reporter,
    ids: &[String],
    results: &[NodeResult],
    hooks_run: usize,
    elapsed: f64,
) -> usize {
    let count = |st: RunStatus| results.iter().filter(|r| r.status == st).count();
    // Failures include a node skipped with an error of its own (an ephemeral parent that did
    // not compile): it fails the run, though `Done.` counts it under SKIP, as dbt does.
    let errors = results.iter().filter(|r| r.is_failure()).count();
    let warns = count(RunStatus::Warn);
    rep.event(&Event::Info(String::new()));
    rep.event(&Event::Info(format!(
        "Finished running {}{}.",
        summary_counts(s, ids, hooks_run),
        humanized(elapsed)
    )));
    // The end-of-run block, laid out as dbt 1.10 lays it out.
    rep.event(&Event::Info(String::new()));
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    rep.event(&if errors > 0 {
        Event::Summary(
            format!(
                "Completed with {}, 0 partial successes, and {}:",
                plural(errors, "error"),
                plural(warns, "warning")
            ),
            Tone::Bad,
        )
    } else if warns > 0 {
        Event::Summary(
            format!("Completed with {}:", plural(warns, "warning")),
            Tone::Warn,
        )
    } else {
        Event::Summary("Completed successfully".into(), Tone::Good)
    });
    let target_rel = s
        .target_path
        .strip_prefix(&s.project.root)
        .unwrap_or(&s.target_path)
        .to_path_buf();
    let target_rel = target_rel.to_string_lossy().replace('\\', "/");
    let problems = results
        .iter()
        .filter(|r| r.is_failure())
        .chain(results.iter().filter(|r| r.status == RunStatus::Warn));
    for r in problems {
        let Some(n) = s.manifest().get(&r.unique_id) else {
            continue;
        };
        let warning = r.status == RunStatus::Warn;
        let tone = if warning { Tone::Warn } else { Tone::Bad };
        rep.event(&Event::Info(String::new()));
        // The report's header and message are at the error (warn) level, as in dbt: they stay
        // under `--quiet`; the blank lines and the compiled code's path do not.
        rep.event(&Event::Problem {
            text: format!(
                "{} in {} {} ({})",
                if warning { "Warning" } else { "Failure" },
                n.resource_type.as_str(),
                n.name,
                n.original_file_path
            ),
            tone,
            header: true,
        });
        for l in r.message.lines() {
            rep.event(&Event::Problem {
                text: if warning {
                    l.to_string()
                } else {
                    format!("  {l}")
                },
                tone,
                header: false,
            });
        }
        if r.compiled_code.is_some() && n.resource_type != ResourceType::Snapshot {
            rep.event(&Event::Info(String::new()));
            rep.event(&Event::Info(format!(
                "  compiled code at {}",
                compiled_path(&target_rel, n)
            )));
        }
    }
    rep.event(&Event::Info(String::new()));
    // Like dbt, the hooks that ran count as passed.
    let pass = count(RunStatus::Success) + count(RunStatus::Pass) + hooks_run;
    rep.event(&Event::Info(format!(
        "Done. PASS={pass} WARN={warns} ERROR={} SKIP={} NO-OP={} TOTAL={}",
        count(RunStatus::Error) + count(RunStatus::Fail),
        count(RunStatus::Skipped),
        count(RunStatus::NoOp),
        results.len() + hooks_run
    )));
    errors
}

/// dbt 1.10's count of what ran: one entry per kind (`<materialization> model`, then the
/// resource type), in the order of the kinds' names, a kind of one node in the singular (`1
/// test`) and otherwise dbt's plural (`2 data tests`, `2 saved queries`, `2 analyses`).
pub(super) fn summary_counts(s: &Session, ids: &[String], hooks: usize) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    if hooks > 0 {
        // Each `on-run-start` / `on-run-end` entry that ran.
        counts.insert("project hook".into(), hooks);
    }
    for id in ids {
        if let Some(n) = s.manifest().get(id) {
            let kind = match n.resource_type {
                ResourceType::Model => format!("{} model", n.materialized()),
                t => t.as_str().to_string(),
            };
            *counts.entry(kind).or_default() += 1;
        }
    }
    if counts.is_empty() {
        return "nothing to do".into();
    }
    counts_line(counts.iter().map(|(kind, &n)| (kind.as_str(), n)))
}

/// dbt 1.10's `Found ...` line: what the project defines, by kind, in the order dbt's parsers
/// meet them (models, snapshots, analyses, singular tests, seeds, project hooks, generic tests,
/// then sources, exposures, metrics, macros, groups, semantic models, saved queries, unit tests).
pub(super) fn project_stats(s: &Session) -> String {
    let m = s.manifest();
    let count = |t: ResourceType| m.nodes.values().filter(|n| n.resource_type == t).count();
    let singular = m
        .nodes
        .values()
        .any(|n| n.resource_type == ResourceType::Test && n.test_metadata.is_none());
    let hooks = m.on_run_start.len() + m.on_run_end.len();
    let mut kinds: Vec<(&str, usize)> = vec![
        ("model", count(ResourceType::Model)),
        ("snapshot", count(ResourceType::Snapshot)),
        ("analysis", count(ResourceType::Analysis)),
    ];
    if singular {
        kinds.push(("test", count(ResourceType::Test)));
    }
    kinds.push(("seed", count(ResourceType::Seed)));
    kinds.push(("operation", hooks));
    if !singular {
        kinds.push(("test", count(ResourceType::Test)));
    }
    kinds.extend([
        ("source", m.sources.len()),
        ("exposure", m.exposures.len()),
        ("metric", m.all_metrics().len()),
        ("macro", m.macros.len()),
        ("group", m.groups.len()),
        ("semantic_model", m.semantic_models.len()),
        ("saved_query", m.saved_queries.len()),
        ("unit_test", m.unit_tests.len()),
    ]);
    counts_line(kinds.into_iter().filter(|(_, n)| *n > 0))
}

/// `3 models, 1 seed, 2 data tests`: each kind counted in dbt's words, a kind of one node in the
/// singular (`1 test`), otherwise dbt's plural (`data tests`, `analyses`, `saved queries`).
fn counts_line<'a>(kinds: impl Iterator<Item = (&'a str, usize)>) -> String {
    kinds
        .map(|(kind, n)| {
            let word = match (kind, n) {
                (k, 1) => k.to_string(),
                ("analysis", _) => "analyses".into(),
                ("saved_query", _) => "saved_queries".into(),
                ("test", _) => "data_tests".into(),
                (k, _) => format!("{k}s"),
            };
            format!("{n} {}", word.replace('_', " "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// dbt's wording of a run's wall time: ` in 0 hours 1 minutes and 2.34 seconds (62.34s)`.
fn humanized(elapsed: f64) -> String {
    let minutes = (elapsed / 60.0).floor();
    let seconds = elapsed - minutes * 60.0;
    let hours = (minutes / 60.0).floor();
    let minutes = minutes - hours * 60.0;
    format!(" in {hours} hours {minutes} minutes and {seconds:.2} seconds ({elapsed:.2}s)")
}
