//! `sluice clone --state DIR`: make the selected models, seeds and snapshots of this target read
//! the relations a previous run built (the state manifest's), as dbt 1.10's `clone` does.
//!
//! Neither DuckDB nor PostgreSQL can clone a table without copying it, so, as dbt-duckdb and
//! dbt-postgres do, each node becomes a view `select * from <state relation>`. A node whose
//! relation already exists here is left alone (`No-op`) unless `--full-refresh`; a node the
//! state manifest lacks is a `No-op` too. dbt's clone prints no line per node, only what the
//! materialization logs and the end-of-run summary; its results go to `run_results.json`.

use std::collections::BTreeSet;

use crate::adapters::Adapter;
use crate::artifacts::{self, RunResult, RunStatus};
use crate::cli::args::RunArgs;
use crate::cli::session;
use crate::cli::{GlobalArgs, Outcome};
use crate::compile::{Materialization, ResourceType};
use crate::diagnostics::{Code, Diagnostic};
use crate::execute::materialize::{self, BuildSpec};
use crate::execute::{Event, NodeResult};

use super::{meta, reporter, warn_unmatched, CmdResult};

pub(super) fn clone(g: &GlobalArgs, a: &RunArgs) -> CmdResult {
    let t0 = std::time::Instant::now();
    if g.settings.state.is_none() && g.settings.defer_state.is_none() {
        return Err(vec![Diagnostic::error(
            Code::Flags,
            "--state or --defer-state are required for deferral, but neither was provided",
        )
        .with_hint("clone copies the relations of a previous run: point --state at the folder of its manifest.json")]);
    }
    let s = session::load_for(g, "clone", a.full_refresh, false)?;
    let state = super::state_manifest(g, &s)?;
    let rep = reporter(g);
    let refable = [
        ResourceType::Model,
        ResourceType::Seed,
        ResourceType::Snapshot,
    ];
    let mut ids = s
        .select(&a.selection.selection(), Some(&refable))
        .map_err(|d| vec![d])?;
    warn_unmatched(g, &s, &a.selection, rep.as_ref())?;
    ids.retain(|id| {
        s.manifest().get(id).is_some_and(|n| {
            refable.contains(&n.resource_type) && n.materialization() != Materialization::Ephemeral
        })
    });
    let adapter = Adapter::connect(&s.target).map_err(|e| vec![e.to_diagnostic(&s.target)])?;
    let mut conn = adapter
        .connection()
        .map_err(|e| vec![e.to_diagnostic(&s.target)])?;
    // Every state relation, whatever exists here: clone always reads the state's.
    let others = crate::session::defer::deferred_relations(
        s.manifest(),
        state,
        &BTreeSet::new(),
        &BTreeSet::new(),
        true,
        |_| true,
    );
    let rebuilt = materialize::Rebuilt::new();
    let mut results = Vec::new();
    for id in &ids {
        let Some(node) = s.manifest().get(id) else {
            continue;
        };
        let started_at = chrono::Utc::now();
        let t = std::time::Instant::now();
        let this = node.relation();
        let d = conn.dialect();
        let outcome: Result<Option<String>, crate::adapters::AdapterError> = (|| {
            let Some(other) = others.get(id) else {
                rep.event(&Event::Info(format!(
                    "No relation found in state manifest for {id}"
                )));
                return Ok(None);
            };
            if conn.relation_kind(&this)?.is_some() && !a.full_refresh {
                rep.event(&Event::Info(format!(
                    "Relation {} already exists",
                    d.rel(&this)
                )));
                return Ok(None);
            }
            materialize::ensure_schema(conn.as_mut(), &this.database, &this.schema)?;
            let sql = format!("select * from {}", d.rel(other));
            let spec = BuildSpec::plain(&this, Materialization::View, &sql, &rebuilt);
            materialize::build(conn.as_mut(), &spec).map(|o| Some(o.message))
        })();
        let (status, message) = match outcome {
            Ok(Some(m)) => (RunStatus::Success, m),
            Ok(None) => (RunStatus::Success, "No-op".to_string()),
            Err(e) => (RunStatus::Error, format!("{} Error: {e}", e.dbt_kind())),
        };
        results.push(NodeResult {
            unique_id: id.clone(),
            status,
            message,
            failures: None,
            execution_time: t.elapsed().as_secs_f64(),
            started_at,
            completed_at: chrono::Utc::now(),
            compiled_code: None,
            thread: 0,
            adapter_response: serde_json::json!({}),
        });
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let m = meta(&s);
    if g.settings.write_json {
        let rr: Vec<RunResult> = results
            .iter()
            .map(|r| RunResult::of(r, s.manifest()))
            .collect();
        // `vars` as dbt writes it: always, `{}` without `--vars`.
        let vars = g
            .vars
            .as_deref()
            .and_then(|v| crate::session::parse_vars(Some(v)).ok())
            .unwrap_or_default();
        let mut args = serde_json::json!({"which": "clone", "select": a.selection.select, "exclude": a.selection.exclude, "full_refresh": a.full_refresh, "vars": vars});
        if let (Some(t), serde_json::Value::Object(m)) = (&g.target, &mut args) {
            m.insert("target".into(), t.clone().into());
        }
        let rv = artifacts::run_results_json(&rr, &m, elapsed, args);
        let _ = artifacts::write_json(&s.target_path.join("run_results.json"), &rv);
        super::write_manifest(&s, &m)?;
    }
    let errors =
        crate::cli::run_summary::print_end_of_run(&s, rep.as_ref(), &ids, &results, 0, elapsed);
    Ok(if errors > 0 {
        Outcome::Failed
    } else {
        Outcome::Ok
    })
}
