//! Running the DAG: seeds, models, snapshots and tests in dependency order on `threads` workers.
//!
//! The scheduler keeps a ready set of nodes whose selected parents are done, ordered by their
//! topological position (so output is stable), and hands them to a rayon pool; each worker takes a
//! warehouse connection from a small pool, compiles the node right before running it (so
//! `is_incremental()` and `run_query` see the warehouse as it is then), and builds or tests it. A
//! failure marks the node's selected descendants as skipped; independent branches carry on.

mod contract;
pub(crate) mod materialize;
mod materialized_view;
mod status;
pub(crate) use status::RunStatus;
mod grants;
mod indexes;
mod metric_unit;
mod microbatch;
mod node;
mod persist_docs;
pub(crate) mod query_comment;
mod report;
pub(crate) mod sample;
mod saved_query;
pub(crate) use saved_query::write_export;
pub(crate) mod snapshot;
mod unit;
mod warehouse;
mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

pub(crate) use report::{
    fancy_line, set_printer_width, Event, JsonReporter, LevelFilter, LogLevel, Reporter,
    TextReporter, Tone,
};
pub(crate) use warehouse::ConnWarehouse;
pub(crate) use warehouse::LazyWarehouse;

use crate::adapters::{Adapter, Connection};
use crate::compile::{Manifest, Resolver, ResourceType, Warehouse};
use crate::graph::Dag;
use crate::templating::Templates;

/// What one invocation runs with.
pub(crate) struct RunContext {
    pub(crate) manifest: Arc<Manifest>,
    pub(crate) templates: Arc<Templates>,
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) adapter: Arc<Adapter>,
    pub(crate) project_root: std::path::PathBuf,
    pub(crate) target_path: std::path::PathBuf,
    pub(crate) full_refresh: bool,
    /// `--empty`: refs and sources render as zero-row subqueries, seeds load no rows.
    pub(crate) empty: bool,
    pub(crate) fail_fast: bool,
    pub(crate) store_failures: bool,
    /// `--warn-error` (or `--warn-error-options` naming `LogTestResult`): tests that would warn
    /// fail instead.
    pub(crate) warn_error_tests: bool,
    pub(crate) threads: usize,
    pub(crate) reporter: Arc<dyn Reporter>,
    /// The query comment of each node's statements.
    pub(crate) comments: Option<Arc<query_comment::NodeComments>>,
    /// `--event-time-start` / `--event-time-end`: the window microbatch models build.
    pub(crate) event_time: (Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>),
    /// `--sample`: the window (start, end) models' and snapshots' parents with an `event_time`
    /// are limited to ([`sample`]).
    pub(crate) sample: Option<(chrono::NaiveDateTime, chrono::NaiveDateTime)>,
}

/// A timestamp (a date, or a timestamp with an optional offset) in UTC: a `--event-time-*`
/// value, a freshness query's result (see [`microbatch::parse_time`]).
pub(crate) fn parse_utc_time(s: &str) -> Option<chrono::NaiveDateTime> {
    microbatch::parse_time(s)
}

/// The result of one node.
#[derive(Debug, Clone)]
pub(crate) struct NodeResult {
    pub(crate) unique_id: String,
    pub(crate) status: RunStatus,
    pub(crate) message: String,
    pub(crate) failures: Option<u64>,
    pub(crate) execution_time: f64,
    pub(crate) started_at: chrono::DateTime<chrono::Utc>,
    pub(crate) completed_at: chrono::DateTime<chrono::Utc>,
    pub(crate) compiled_code: Option<String>,
    pub(crate) thread: usize,
    pub(crate) adapter_response: serde_json::Value,
}

impl NodeResult {
    /// An error or a failed test; also a node skipped with an error of its own (an ephemeral
    /// model it inlines did not compile), which fails the run as in dbt. A node skipped because
    /// an upstream node failed carries the plain message `SKIP` and is not a failure itself.
    pub(crate) fn is_failure(&self) -> bool {
        matches!(self.status, RunStatus::Error | RunStatus::Fail)
            || (self.status == RunStatus::Skipped && self.message != node::SKIP_MESSAGE)
    }
}

/// At most this many workers run at once, whatever `--threads` or the profile asks for: each
/// holds a warehouse connection and a thread with a render-sized stack.
pub(crate) const MAX_WORKERS: usize = 64;

/// How many workers a run of `runnable` nodes gets for `requested` threads: never more than
/// there are nodes to run, nor [`MAX_WORKERS`], nor fewer than one.
pub(crate) fn worker_count(requested: usize, runnable: usize) -> usize {
    requested.min(runnable).clamp(1, MAX_WORKERS)
}

/// Warehouse connections shared by the workers, opened on demand: a worker takes a free one or
/// opens a new one, so a run never holds more connections than it has nodes in flight.
pub(crate) struct ConnPool {
    adapter: Arc<Adapter>,
    conns: Mutex<Vec<Box<dyn Connection>>>,
}

impl ConnPool {
    fn take(&self) -> Result<Box<dyn Connection>, crate::adapters::AdapterError> {
        let free = self.conns.lock().ok().and_then(|mut v| v.pop());
        match free {
            Some(c) => Ok(c),
            None => self.adapter.connection(),
        }
    }
    fn give(&self, c: Box<dyn Connection>) {
        if let Ok(mut v) = self.conns.lock() {
            v.push(c);
        }
    }
}

/// Runs `ids` (already in topological order) and returns their results in that order.
pub(crate) fn run(
    ctx: &RunContext,
    dag: &Dag,
    ids: &[String],
) -> Result<Vec<NodeResult>, crate::adapters::AdapterError> {
    let threads = worker_count(ctx.threads, ids.len());
    // One connection up front, so that a target that cannot be reached fails the run before any
    // node starts; the others open as workers need them.
    let pool = Arc::new(ConnPool {
        adapter: ctx.adapter.clone(),
        conns: Mutex::new(vec![ctx.adapter.connection()?]),
    });
    let selected: BTreeSet<String> = ids.iter().cloned().collect();
    let order: BTreeMap<String, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), i))
        .collect();
    let waits = node_waits(ctx, dag, &selected);
    let mut children_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut indegree: BTreeMap<String, usize> = BTreeMap::new();
    for id in ids {
        let ps = waits.get(id).cloned().unwrap_or_default();
        indegree.insert(id.clone(), ps.len());
        for p in ps {
            children_of.entry(p).or_default().push(id.clone());
        }
    }
    let mut ready: BTreeSet<(usize, String)> = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(id, _)| (order[id], id.clone()))
        .collect();
    let total = ids.len();
    let mut results: BTreeMap<String, NodeResult> = BTreeMap::new();
    let mut skip_reason: BTreeMap<String, String> = BTreeMap::new();
    let mut started = 0usize;
    let mut in_flight = 0usize;
    let mut stop = false;
    let (tx, rx) = mpsc::channel::<NodeResult>();
    // One worker runs each node here, on the scheduling thread (which has a render-sized stack):
    // handing every node to a pool thread and waiting for its answer costs two thread wake-ups
    // per node, which on a build of many small models is a visible share of the wall time.
    let rayon_pool = if threads > 1 {
        let pool = crate::render_pool()
            .num_threads(threads)
            .thread_name(|i| format!("Thread-{}", i + 1))
            .build()
            .map_err(|e| crate::adapters::AdapterError::Database {
                message: e.to_string(),
            })?;
        Some(pool)
    } else {
        None
    };
    let mut shared = worker::Shared::from(ctx);
    shared.rebuilt = selected
        .iter()
        .filter_map(|id| ctx.manifest.nodes.get(id))
        .filter(|n| {
            matches!(
                n.resource_type,
                ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
            ) && n.materialization() != crate::compile::Materialization::Ephemeral
        })
        .map(|n| materialize::rebuilt_key(&n.relation()))
        .collect();
    shared.files = worker::FileWriter::background();
    let shared = Arc::new(shared);

    loop {
        while in_flight < threads {
            let Some((_, id)) = ready.pop_first() else {
                break;
            };
            started += 1;
            let index = started;
            if stop || skip_reason.contains_key(&id) {
                let r = node::skipped(&id);
                ctx.reporter.event(&Event::NodeSkipped {
                    index,
                    total,
                    node: node_ref(ctx, &id),
                });
                finish(
                    &id,
                    r,
                    &children_of,
                    &mut indegree,
                    &mut ready,
                    &order,
                    &mut results,
                );
                continue;
            }
            ctx.reporter.event(&Event::NodeStart {
                index,
                total,
                node: node_ref(ctx, &id),
            });
            in_flight += 1;
            let Some(rayon_pool) = &rayon_pool else {
                let _ = tx.send(node::execute(&shared, &pool, &id, index, total));
                continue;
            };
            let tx = tx.clone();
            let shared = shared.clone();
            let pool = pool.clone();
            rayon_pool.spawn(move || {
                let r = node::execute(&shared, &pool, &id, index, total);
                let _ = tx.send(r);
            });
        }
        if in_flight == 0 {
            break;
        }
        let Ok(r) = rx.recv() else { break };
        in_flight -= 1;
        let id = r.unique_id.clone();
        if r.is_failure() {
            skip_below(ctx, dag, &selected, &id, &mut skip_reason);
            // A target that cannot be reached any more: the nodes not started yet are skipped
            // (one clear error, as an orchestrator expects), instead of each failing alike.
            if ctx.fail_fast || crate::adapters::AdapterError::is_unreachable_message(&r.message) {
                stop = true;
            }
        }
        finish(
            &id,
            r,
            &children_of,
            &mut indegree,
            &mut ready,
            &order,
            &mut results,
        );
    }
    shared.files.finish();
    Ok(ids.iter().filter_map(|id| results.remove(id)).collect())
}

/// What each selected node waits for: its nearest selected ancestors (also through nodes this
/// run does not run: an unselected or ephemeral model between two selected ones), never a test
/// for another test, plus the waits `add_test_waits` adds.
fn node_waits(
    ctx: &RunContext,
    dag: &Dag,
    selected: &BTreeSet<String>,
) -> BTreeMap<String, BTreeSet<String>> {
    // A node waits for its nearest selected ancestors, also those reached through nodes that are
    // not run (an unselected or ephemeral model between two selected ones).
    let t = Instant::now();
    let mut waits = selected_parents(dag, selected);
    // A test never waits for another test, data or unit (the graph reaches a model's unit tests
    // above its data tests): a failing test skips what is built below it, never another test,
    // as in dbt's `test`.
    let is_test =
        |id: &str| ctx.manifest.unit_tests.contains_key(id) || is_data_test(&ctx.manifest, id);
    for (id, ps) in waits.iter_mut() {
        if is_test(id) {
            ps.retain(|p| !is_test(p));
        }
    }
    add_test_waits(&ctx.manifest, dag, selected, &mut waits);
    crate::timing("schedule", t);
    waits
}

/// After `id` failed: the selected nodes below it are skipped, and for a failing data test
/// what is built on the model it tests (not its sibling tests).
fn skip_below(
    ctx: &RunContext,
    dag: &Dag,
    selected: &BTreeSet<String>,
    id: &str,
    skip_reason: &mut BTreeMap<String, String>,
) {
    for d in dag.descendants(id, None) {
        if selected.contains(&d) {
            skip_reason.entry(d).or_insert_with(|| id.to_string());
        }
    }
    // A failing data test stops what is built on the model it tests (not its sibling tests).
    if is_data_test(&ctx.manifest, id) {
        for p in dag.parents(id) {
            let siblings: BTreeSet<&str> = dag.children(p).into_iter().collect();
            for d in dag.descendants(p, None) {
                // Sibling tests run regardless; so does a test of nodes that this run
                // does not build (`sluice test`), as in dbt. A test of a node being built
                // is skipped with it.
                let spared = is_data_test(&ctx.manifest, &d)
                    && (siblings.contains(d.as_str())
                        || !dag.parents(&d).iter().any(|q| selected.contains(*q)));
                if selected.contains(&d) && !spared {
                    skip_reason.entry(d).or_insert_with(|| id.to_string());
                }
            }
        }
    }
}

fn finish(
    id: &str,
    r: NodeResult,
    children_of: &BTreeMap<String, Vec<String>>,
    indegree: &mut BTreeMap<String, usize>,
    ready: &mut BTreeSet<(usize, String)>,
    order: &BTreeMap<String, usize>,
    results: &mut BTreeMap<String, NodeResult>,
) {
    results.insert(id.to_string(), r);
    for c in children_of.get(id).map(Vec::as_slice).unwrap_or_default() {
        if let Some(d) = indegree.get_mut(c) {
            *d = d.saturating_sub(1);
            if *d == 0 {
                ready.insert((order[c], c.to_string()));
            }
        }
    }
}

/// For each selected node, its nearest selected ancestors (looking through unselected nodes).
fn selected_parents(dag: &Dag, selected: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    fn nearest(
        dag: &Dag,
        id: &str,
        selected: &BTreeSet<String>,
        memo: &mut BTreeMap<String, BTreeSet<String>>,
    ) -> BTreeSet<String> {
        if let Some(m) = memo.get(id) {
            return m.clone();
        }
        let mut out = BTreeSet::new();
        for p in dag.parents(id) {
            if selected.contains(p) {
                out.insert(p.to_string());
            } else {
                out.extend(nearest(dag, p, selected, memo));
            }
        }
        memo.insert(id.to_string(), out.clone());
        out
    }
    let mut memo = BTreeMap::new();
    selected
        .iter()
        .map(|id| (id.clone(), nearest(dag, id, selected, &mut memo)))
        .collect()
}

fn is_data_test(manifest: &crate::compile::Manifest, id: &str) -> bool {
    manifest
        .nodes
        .get(id)
        .is_some_and(|n| n.resource_type == ResourceType::Test)
}

/// `build` runs a model, seed or snapshot only after the data tests of what it is built from
/// (dbt's test edges: bad data does not flow downstream). A selected data test is waited for by
/// each selected model, seed or snapshot that has all of the test's parents upstream: for a test
/// of one node, by the nearest such nodes below it (everything further down waits on those); for
/// a test of several nodes (`relationships`), by every such node below all of them.
fn add_test_waits(
    manifest: &crate::compile::Manifest,
    dag: &Dag,
    selected: &BTreeSet<String>,
    waits: &mut BTreeMap<String, BTreeSet<String>>,
) {
    let kind = |id: &str| manifest.nodes.get(id).map(|n| n.resource_type);
    let gated = |id: &str| {
        matches!(
            kind(id),
            Some(ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot)
        )
    };
    let tests: Vec<&String> = selected
        .iter()
        .filter(|id| kind(id) == Some(ResourceType::Test))
        .collect();
    if tests.is_empty() || !selected.iter().any(|id| gated(id)) {
        return;
    }
    let mut below: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in tests {
        let parents = dag.parents(t);
        let mut gate = |n: &str| {
            if selected.contains(n) && gated(n) {
                if let Some(w) = waits.get_mut(n) {
                    w.insert(t.clone());
                }
            }
        };
        match parents.as_slice() {
            [] => {}
            [p] => {
                // Down from the tested node to the first selected nodes on each path.
                let mut stack: Vec<&str> = dag.children(p);
                let mut seen: BTreeSet<&str> = BTreeSet::new();
                while let Some(n) = stack.pop() {
                    if !seen.insert(n) {
                        continue;
                    }
                    if selected.contains(n) && gated(n) {
                        gate(n);
                    } else if kind(n) != Some(ResourceType::Test) {
                        stack.extend(dag.children(n));
                    }
                }
            }
            many => {
                let mut common: Option<BTreeSet<String>> = None;
                for p in many {
                    let d = below
                        .entry(p.to_string())
                        .or_insert_with(|| dag.descendants(p, None));
                    common = Some(match common {
                        None => d.clone(),
                        Some(c) => c.intersection(d).cloned().collect(),
                    });
                }
                for n in common.unwrap_or_default() {
                    gate(&n);
                }
            }
        }
    }
}

/// How a node is described in progress lines.
#[derive(Debug, Clone)]
pub(crate) struct NodeRef {
    pub(crate) unique_id: String,
    pub(crate) name: String,
    pub(crate) resource_type: ResourceType,
    pub(crate) materialized: String,
    pub(crate) relation: String,
}

pub(crate) fn node_ref(ctx: &RunContext, id: &str) -> NodeRef {
    describe_node(&ctx.manifest, id)
}

pub(crate) fn node_ref_shared(shared: &worker::Shared, id: &str) -> NodeRef {
    describe_node(&shared.manifest, id)
}

fn describe_node(manifest: &Manifest, id: &str) -> NodeRef {
    let n = manifest.get(id);
    NodeRef {
        unique_id: id.to_string(),
        name: n.map(|n| n.name.clone()).unwrap_or_default(),
        resource_type: n.map(|n| n.resource_type).unwrap_or(ResourceType::Model),
        materialized: n.map(|n| n.materialized().to_string()).unwrap_or_default(),
        relation: n.map(|n| n.relation().display_name()).unwrap_or_default(),
    }
}

/// Creates the schemas the selected models, seeds and snapshots are built in, before the
/// `on-run-start` hooks run, as dbt does (a hook may create a table in `target.schema`).
pub(crate) fn create_schemas<'a>(
    ctx: &RunContext,
    nodes: impl Iterator<Item = &'a crate::compile::Node>,
) -> Result<(), String> {
    use crate::compile::ResourceType;
    use crate::project::node_config::Materialization;
    let schemas: std::collections::BTreeSet<(String, String)> = nodes
        .filter(|n| {
            matches!(
                n.resource_type,
                ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
            ) && n.materialization() != Materialization::Ephemeral
        })
        .map(|n| (n.database.clone(), n.schema.clone()))
        .collect();
    if schemas.is_empty() {
        return Ok(());
    }
    let mut conn = ctx.adapter.connection().map_err(|e| e.to_string())?;
    for (database, schema) in &schemas {
        materialize::ensure_schema(conn.as_mut(), database, schema).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Runs project hooks in order (one connection, one statement each), printing dbt's
/// `1 of 2 START hook: <package>.on-run-start.<n>` lines (`n` counts across the projects), and
/// returns one result per hook for run_results.json (as dbt reports them: `success`, no
/// failures, `<package>.on-run-start.<n> passed`). The first failing hook stops them with its
/// error.
pub(crate) fn run_hooks(
    ctx: &RunContext,
    hooks: &[crate::compile::ProjectHook],
) -> Result<Vec<NodeResult>, String> {
    if hooks.is_empty() {
        return Ok(Vec::new());
    }
    let conn = ctx.adapter.connection().map_err(|e| e.to_string())?;
    let wh = Arc::new(warehouse::ConnWarehouse {
        conn: std::sync::Mutex::new(conn),
    });
    let shared = worker::Shared::from(ctx);
    let total = hooks.len();
    let mut out = Vec::with_capacity(total);
    for (i, h) in hooks.iter().enumerate() {
        let shown = format!("{}.{}.{i}", h.package, h.which);
        ctx.reporter.event(&Event::Info(report::fancy_line(
            &format!("{} of {total} START hook: {shown}", i + 1),
            "RUN",
        )));
        let t = Instant::now();
        let started_at = chrono::Utc::now();
        let sql = node::render_hook(&shared, &wh, &h.sql, &h.name(), &h.package)?;
        if !sql.trim().is_empty() {
            wh.execute_sql(&sql, false)
                .map_err(|e| format!("Database Error in {} hook {shown}: {e}", h.which))?;
        }
        out.push(NodeResult {
            unique_id: h.unique_id(),
            status: RunStatus::Success,
            message: format!("{shown} passed"),
            failures: Some(0),
            execution_time: secs(t),
            started_at,
            completed_at: chrono::Utc::now(),
            compiled_code: Some(sql),
            thread: 0,
            adapter_response: serde_json::json!({}),
        });
        ctx.reporter.event(&Event::Info(report::fancy_line(
            &format!("{} of {total} OK hook: {shown}", i + 1),
            &format!("OK in {:.2}s", secs(t)),
        )));
    }
    Ok(out)
}

/// Elapsed seconds since `t`.
pub(crate) fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}
