//! `sluice retry`: run again what failed in the previous command, as dbt 1.10's `retry` does.
//!
//! The previous command's `run_results.json` (in `--state`, else the target path) says which
//! command ran (`args.which`) with which flags, and how each node ended. The nodes that ended in
//! `error`, `fail`, `skipped` (and, under `--warn-error`, `warn`) run again with that command and
//! its flags (`--full-refresh`, `--vars`, `--target`, `--store-failures`, `--empty`); `--vars` and
//! `--threads` given now take precedence, as in dbt. Nothing to retry is a warning, exit code 0.
//! After `run-operation`, retry calls the same macro with the same `--args` again, whether it
//! failed or not, as dbt does (its operation task has no nodes to pick from).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::cli::args::{OperationArgs, RunArgs, SelectArgs};
use crate::cli::GlobalArgs;
use crate::diagnostics::{Code, Diagnostic};

use super::CmdResult;

pub(super) fn retry(g: &GlobalArgs) -> CmdResult {
    let root = crate::cli::session::project_root(g).map_err(|d| vec![d])?;
    let config = crate::project::ProjectConfig::load(&root).map_err(|d| vec![d])?;
    let dir = match &g.settings.state {
        Some(state) => root.join(state),
        None => root.join(g.target_path.clone().unwrap_or(config.target_path.clone())),
    };
    let path = dir.join("run_results.json");
    let previous: Value = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            vec![Diagnostic::error(
                Code::Flags,
                format!(
                    "Could not find previous run in '{}' target directory",
                    dir.display()
                ),
            )
            .with_hint("retry re-runs what failed in the last build, run, seed, snapshot, test or run-operation: run one of those first (or point --state at the folder of its run_results.json)")]
        })?;
    let args = previous.get("args").cloned().unwrap_or_default();
    let which = args.get("which").and_then(Value::as_str).unwrap_or("");
    let which: &'static str = match which {
        "build" => "build",
        "run" => "run",
        "seed" => "seed",
        "snapshot" => "snapshot",
        "test" => "test",
        "run-operation" => return retry_operation(g, &args),
        other => {
            return Err(vec![Diagnostic::error(
                Code::Flags,
                format!("sluice cannot retry `{other}` yet"),
            )
            .with_hint(
                "retry re-runs build, run, seed, snapshot, test and run-operation",
            )])
        }
    };
    let mut statuses = vec![
        "error",
        "fail",
        "skipped",
        "runtime error",
        "partial success",
    ];
    if g.settings
        .warn_error
        .is_error(crate::cli::settings::TEST_WARNING_EVENT, true)
    {
        statuses.push("warn");
    }
    let only: BTreeSet<String> = previous
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| {
            r.get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| statuses.contains(&s))
        })
        .filter_map(|r| r.get("unique_id")?.as_str().map(str::to_string))
        .filter(|id| !id.starts_with("operation."))
        .collect();
    let mut g = g.clone();
    g.settings.which = which;
    if g.vars.is_none() {
        if let Some(v @ Value::Object(_)) = args.get("vars") {
            g.vars = Some(v.to_string());
        }
    }
    if let Some(t) = args.get("target").and_then(Value::as_str) {
        g.target = Some(t.to_string());
    }
    if g.threads.is_none() {
        g.threads = args
            .get("threads")
            .and_then(Value::as_u64)
            .map(|t| t as usize);
    }
    let flag = |k: &str| args.get(k).and_then(Value::as_bool).unwrap_or(false);
    let a = RunArgs {
        selection: SelectArgs::default(),
        full_refresh: flag("full_refresh"),
        store_failures: flag("store_failures"),
        empty: flag("empty"),
        ..RunArgs::default()
    };
    super::build::build_only(&g, &a, which, Some(&only))
}

/// `run-operation` again: the previous macro with its `--args`, `--vars` and `--target` (`--vars`
/// given now win).
fn retry_operation(g: &GlobalArgs, args: &Value) -> CmdResult {
    let Some(macro_name) = args.get("macro").and_then(Value::as_str) else {
        return Err(vec![Diagnostic::error(
            Code::Flags,
            "the previous run-operation's run_results.json names no macro",
        )
        .with_hint(
            "run the operation again with `sluice run-operation MACRO`",
        )]);
    };
    let mut g = g.clone();
    g.settings.which = "run-operation";
    if g.vars.is_none() {
        if let Some(v @ Value::Object(_)) = args.get("vars") {
            g.vars = Some(v.to_string());
        }
    }
    if let Some(t) = args.get("target").and_then(Value::as_str) {
        g.target = Some(t.to_string());
    }
    let a = OperationArgs {
        macro_name: macro_name.to_string(),
        args: args
            .get("args")
            .filter(|v| v.is_object())
            .map(Value::to_string),
    };
    super::operation::run(&g, &a)
}
