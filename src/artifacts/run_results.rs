//! `run_results.json` in dbt's v6 shape: one [`RunResult`] per executed (or skipped) node, in
//! the order the caller gives them.
//!
//! Decision: results keep the caller's order instead of dbt's completion order; with several
//! threads completion order changes from run to run, and the caller can sort (e.g. by DAG
//! position) to get byte-stable artifacts.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{format_ts, ArtifactMeta, DBT_VERSION};
use crate::execute::NodeResult;
pub use crate::execute::RunStatus;

/// One timed phase of a node (`compile` or `execute`).
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
}

impl Timing {
    pub fn new(name: &str, started_at: DateTime<Utc>, completed_at: DateTime<Utc>) -> Self {
        Timing {
            name: name.to_string(),
            started_at,
            completed_at,
        }
    }
}

/// One entry of `results`.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub unique_id: String,
    pub status: RunStatus,
    /// Empty for skipped nodes.
    pub timing: Vec<Timing>,
    /// `Thread-1 (worker)`, or `main` for project hooks.
    pub thread_id: String,
    pub execution_time: f64,
    /// e.g. `INSERT 100` for seeds, `OK` for models, the error text on errors, None for tests
    /// that pass.
    pub message: Option<String>,
    /// Test failure count (0 for passing tests, None for non-tests).
    pub failures: Option<u64>,
    /// `{"_message": "OK"}`, `{"_message", "code", "rows_affected"}`, or `{}`.
    pub adapter_response: Value,
    /// `Some(true)` once compiled; `Some(false)` for skipped sql nodes; None for seeds,
    /// unit tests and exposures.
    pub compiled: Option<bool>,
    pub compiled_code: Option<String>,
    pub relation_name: Option<String>,
}

impl RunResult {
    /// A result with no timing, message or adapter response.
    /// The entry of a node (or hook) the scheduler ran, in `manifest`.
    pub fn of(r: &NodeResult, manifest: &crate::compile::Manifest) -> Self {
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
    }

    pub fn new(unique_id: impl Into<String>, status: RunStatus) -> Self {
        RunResult {
            unique_id: unique_id.into(),
            status,
            timing: vec![],
            thread_id: "Thread-1 (worker)".to_string(),
            execution_time: 0.0,
            message: None,
            failures: None,
            adapter_response: json!({}),
            compiled: None,
            compiled_code: None,
            relation_name: None,
        }
    }

    /// The result's JSON object, keys in dbt's order.
    pub fn to_json(&self) -> Value {
        let timing: Vec<Value> = self
            .timing
            .iter()
            .map(|t| {
                json!({
                    "name": t.name,
                    "started_at": format_ts(&t.started_at),
                    "completed_at": format_ts(&t.completed_at),
                })
            })
            .collect();
        json!({
            "status": self.status.as_str(),
            "timing": timing,
            "thread_id": self.thread_id,
            "execution_time": seconds(self.execution_time),
            "adapter_response": self.adapter_response,
            "message": self.message,
            "failures": self.failures,
            "unique_id": self.unique_id,
            "compiled": self.compiled,
            "compiled_code": self.compiled_code,
            "relation_name": self.relation_name,
            "batch_results": null,
        })
    }
}

/// Seconds as dbt prints them: a whole zero is `0`, anything else a float.
fn seconds(s: f64) -> Value {
    if s == 0.0 {
        json!(0)
    } else {
        json!(s)
    }
}

/// The whole `run_results.json` document. `args` is the invocation's flags as dbt writes them
/// (`which`, `select`, ...); it must not hold secrets.
pub fn run_results_json(
    results: &[RunResult],
    meta: &ArtifactMeta,
    elapsed: f64,
    args: Value,
) -> Value {
    json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": DBT_VERSION,
            "generated_at": format_ts(&meta.generated_at),
            "invocation_id": meta.invocation_id,
            "invocation_started_at": format_ts(&meta.invocation_started_at),
            "env": {},
        },
        "results": results.iter().map(RunResult::to_json).collect::<Vec<_>>(),
        "elapsed_time": seconds(elapsed),
        "args": args,
    })
}
