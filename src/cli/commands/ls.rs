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
        .select(&sel.selection(), Some(&ls_default_types()))
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
        // `--explain`: why the comparison with `--state` counts the node as new or modified.
        if let Some(facts) = s.state_facts().filter(|_| explain) {
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
