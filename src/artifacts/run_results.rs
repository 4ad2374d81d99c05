//! `run_results.json` in dbt's v6 shape, both ways: [`RunResults`] is the document, written by
//! [`run_results_json`] and read back (sluice's or dbt's) by [`RunResults::read`]; one
//! [`RunResult`] per executed (or skipped) node, in the order the caller gives them.
//!
//! Decision: results keep the caller's order instead of dbt's completion order; with several
//! threads completion order changes from run to run, and the caller can sort (e.g. by DAG
//! position) to get byte-stable artifacts.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{timestamp, ArtifactError, ArtifactMeta, DBT_VERSION};
use crate::execute::NodeResult;
pub(crate) use crate::execute::RunStatus;

/// The `run_results.json` schema sluice writes.
pub(crate) const RUN_RESULTS_SCHEMA: &str = "https://schemas.getdbt.com/dbt/run-results/v6.json";

/// One timed phase of a node (`compile` or `execute`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Timing {
    pub(crate) name: String,
    #[serde(with = "timestamp")]
    pub(crate) started_at: DateTime<Utc>,
    #[serde(with = "timestamp")]
    pub(crate) completed_at: DateTime<Utc>,
}

impl Timing {
    pub(crate) fn new(name: &str, started_at: DateTime<Utc>, completed_at: DateTime<Utc>) -> Self {
        Timing {
            name: name.to_string(),
            started_at,
            completed_at,
        }
    }
}

/// One entry of `results`, fields in dbt's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub status: RunStatus,
    /// Empty for skipped nodes.
    #[serde(default)]
    pub(crate) timing: Vec<Timing>,
    /// `Thread-1 (worker)`, or `main` for project hooks.
    #[serde(default)]
    pub(crate) thread_id: String,
    #[serde(default, with = "seconds")]
    pub(crate) execution_time: f64,
    /// `{"_message": "OK"}`, `{"_message", "code", "rows_affected"}`, or `{}`.
    #[serde(default)]
    pub(crate) adapter_response: Value,
    /// e.g. `INSERT 100` for seeds, `OK` for models, the error text on errors, None for tests
    /// that pass.
    #[serde(default)]
    pub message: Option<String>,
    /// Test failure count (0 for passing tests, None for non-tests).
    #[serde(default)]
    pub failures: Option<u64>,
    pub unique_id: String,
    /// `Some(true)` once compiled; `Some(false)` for skipped sql nodes; None for seeds,
    /// unit tests and exposures.
    #[serde(default)]
    pub(crate) compiled: Option<bool>,
    #[serde(default)]
    pub(crate) compiled_code: Option<String>,
    #[serde(default)]
    pub(crate) relation_name: Option<String>,
    /// Microbatch models' per-batch results (sluice writes null).
    #[serde(default)]
    pub(crate) batch_results: Option<Value>,
}

/// `metadata` of `run_results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunResultsMetadata {
    pub(crate) dbt_schema_version: String,
    pub(crate) dbt_version: String,
    #[serde(with = "timestamp")]
    pub(crate) generated_at: DateTime<Utc>,
    pub(crate) invocation_id: Option<String>,
    #[serde(default, with = "timestamp::option")]
    pub(crate) invocation_started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(crate) env: Map<String, Value>,
}

/// The whole `run_results.json` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResults {
    pub(crate) metadata: RunResultsMetadata,
    pub results: Vec<RunResult>,
    #[serde(with = "seconds")]
    pub(crate) elapsed_time: f64,
    /// The invocation's flags as dbt writes them (`which`, `select`, ...); never secrets.
    #[serde(default)]
    pub args: Value,
}

impl RunResults {
    /// Reads a `run_results.json` written by sluice or by dbt (schema v6; the fields dbt added
    /// over versions default when missing).
    pub fn read(path: &Path) -> Result<Self, ArtifactError> {
        super::read_json(path, "run_results.json")
    }

    /// The result of `unique_id`, if the run had one.
    #[cfg(test)]
    pub(crate) fn get(&self, unique_id: &str) -> Option<&RunResult> {
        self.results.iter().find(|r| r.unique_id == unique_id)
    }
}

impl RunResult {
    /// A result with no timing, message or adapter response.
    /// The entry of a node (or hook) the scheduler ran, in `manifest`.
    pub(crate) fn of(r: &NodeResult, manifest: &crate::compile::Manifest) -> Self {
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
        // dbt writes no message for a test that passes.
        x.message = (r.status != RunStatus::Pass).then(|| r.message.clone());
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

    pub(crate) fn new(unique_id: impl Into<String>, status: RunStatus) -> Self {
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
            batch_results: None,
        }
    }
}

/// Seconds as dbt prints them: a whole zero is `0`, anything else a float.
mod seconds {
    pub(crate) fn serialize<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if *v == 0.0 {
            s.serialize_u64(0)
        } else {
            s.serialize_f64(*v)
        }
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        <f64 as serde::Deserialize>::deserialize(d)
    }
}

/// The whole `run_results.json` document. `args` is the invocation's flags as dbt writes them
/// (`which`, `select`, ...); it must not hold secrets.
pub(crate) fn run_results_json(
    results: &[RunResult],
    meta: &ArtifactMeta,
    elapsed: f64,
    args: Value,
) -> Value {
    let doc = RunResults {
        metadata: RunResultsMetadata {
            dbt_schema_version: RUN_RESULTS_SCHEMA.to_string(),
            dbt_version: DBT_VERSION.to_string(),
            generated_at: meta.generated_at,
            invocation_id: Some(meta.invocation_id.clone()),
            invocation_started_at: Some(meta.invocation_started_at),
            env: super::metadata_env(),
        },
        results: results.to_vec(),
        elapsed_time: elapsed,
        args,
    };
    // The document is plain data: serialising it cannot fail.
    serde_json::to_value(&doc).unwrap_or_default()
}
