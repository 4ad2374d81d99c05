//! `sluice ls`: list the selected nodes.

use std::io::Write;

use serde_json::Value;

use crate::cli::args::{LsOutput, SelectArgs};
use crate::cli::session::{self, ls_default_types};
use crate::cli::{GlobalArgs, Outcome};
use crate::compile::ResourceType;
use crate::diagnostics::{Code, Diagnostic};

use super::CmdResult;

pub(super) fn ls(
    g: &GlobalArgs,
    sel: &SelectArgs,
    output: LsOutput,
    keys: &[String],
    explain: bool,
) -> CmdResult {
    let s = session::load(g, false, false)?;
    let ids = s
        .select_types(
            &crate::session::Selection {
                include_empty: true,
                ..sel.selection()
            },
            Some(&ls_default_types()),
        )
        .map_err(|d| vec![d])?;
    // A selector that matches nothing (misspelt, or malformed like `tag:` or `a,,b`) is a
    // warning, as in dbt; on stderr, so that the listing on stdout stays clean for scripts.
    if !g
        .settings
        .warn_error
        .is_silenced("NoNodesForSelectionCriteria")
    {
        for u in s.unmatched(&sel.select) {
            let msg = format!("The selection criterion '{u}' does not match any enabled nodes");
            if g.settings
                .warn_error
                .is_error("NoNodesForSelectionCriteria", true)
            {
                return Err(vec![Diagnostic::error(Code::Select, msg)
                    .with_hint("check the selector; an error because of --warn-error")]);
            }
            eprintln!("warning: {msg}");
        }
    }
    if explain && s.state_facts().is_none() {
        return Err(vec![Diagnostic::error(
            Code::Flags,
            "`--explain` says why nodes count as modified, and needs --state",
        )
        .with_hint(
            "e.g. sluice ls -s state:modified+ --state prod-artifacts/ --explain",
        )]);
    }
    let mut ids = ids;
    ids.sort();
    // Like dbt, nodes are printed in the order of their unique ids.
    let mut lines: Vec<String> = Vec::new();
    for id in &ids {
        let Some(n) = s.manifest().get(id) else {
            // A metric or a semantic model: its manifest entry.
            if let Some(e) = s.manifest().semantic_entries.get(id) {
                lines.push(semantic_line(e, output, keys));
                explain_lines(&s, id, explain, &mut lines);
            }
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
        explain_lines(&s, id, explain, &mut lines);
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

/// `--explain`: why the comparison with `--state` counts node `id` as new or modified.
fn explain_lines(s: &session::Session, id: &str, explain: bool, lines: &mut Vec<String>) {
    let Some(facts) = s.state_facts().filter(|_| explain) else {
        return;
    };
    let reasons = facts.reasons(id);
    if reasons.is_empty() {
        lines.push(
            "  (not itself new or modified: selected through a graph operator or as a test of a selected node)".into(),
        );
    }
    for r in reasons {
        lines.push(format!("  {r}"));
    }
}

/// The `ls` line of a metric or semantic model, from its manifest entry, as dbt prints it.
fn semantic_line(e: &Value, output: LsOutput, keys: &[String]) -> String {
    let text = |k: &str| {
        e.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let fqn: Vec<&str> = e
        .get("fqn")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match output {
        LsOutput::Name => text("name"),
        LsOutput::Path => text("original_file_path"),
        LsOutput::Selector => format!("{}:{}", text("resource_type"), fqn.join(".")),
        LsOutput::Json => {
            let mut v = serde_json::json!({
                "name": text("name"), "resource_type": text("resource_type"),
                "package_name": text("package_name"), "original_file_path": text("original_file_path"),
                "unique_id": text("unique_id"), "config": e.get("config"), "tags": e.get("tags").cloned().unwrap_or(serde_json::json!([])),
                "depends_on": e.get("depends_on"),
            });
            if let (false, Value::Object(all)) = (keys.is_empty(), &mut v) {
                let wanted: Vec<&str> = keys.iter().flat_map(|k| k.split_whitespace()).collect();
                all.retain(|k, _| wanted.contains(&k.as_str()));
            }
            v.to_string()
        }
    }
}
