//! Running one node: compile it against the warehouse, then build (seed, model) or check (test,
//! unit test) it. Every outcome becomes a [`NodeResult`]; nothing here panics on user input.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;

use super::warehouse::ConnWarehouse;
use super::worker::{NodeOutcome, Shared};
use super::RunStatus;
use super::{materialize, ConnPool, Event, NodeResult};
use crate::adapters::Connection;
use crate::compile::{
    compile_node_blaming, compiled_path, CompileServices, Materialization, Node, ResourceType,
    Warehouse,
};
use crate::sql::{Relation, RelationKind};
use crate::templating::{Phase, RenderCtx};

/// The message of a node skipped because an upstream node failed.
pub(crate) const SKIP_MESSAGE: &str = "SKIP";

pub(crate) fn skipped(id: &str) -> NodeResult {
    let now = chrono::Utc::now();
    NodeResult {
        unique_id: id.to_string(),
        status: RunStatus::Skipped,
        message: SKIP_MESSAGE.into(),
        failures: None,
        execution_time: 0.0,
        started_at: now,
        completed_at: now,
        compiled_code: None,
        thread: 0,
        adapter_response: serde_json::json!({}),
    }
}

fn thread_index() -> usize {
    rayon::current_thread_index().map_or(1, |i| i + 1)
}

/// Runs one node on a pooled connection and reports it.
pub(crate) fn execute(
    shared: &Shared,
    pool: &ConnPool,
    id: &str,
    index: usize,
    total: usize,
) -> NodeResult {
    let started_at = chrono::Utc::now();
    let t0 = Instant::now();
    let outcome = match (shared.manifest.get(id), pool.take()) {
        (None, c) => {
            if let Ok(c) = c {
                pool.give(c);
            }
            NodeOutcome::error(format!("unknown node `{id}`"), None)
        }
        (Some(_), Err(e)) => NodeOutcome::error(
            // The engines scrub the target's secrets from their errors.
            format!("cannot open a warehouse connection: {e}"),
            None,
        ),
        (Some(node), Ok(mut conn)) => {
            let comment = match &shared.comments {
                Some(c) => c.for_node(node),
                None => Ok(None),
            };
            let comment = comment.unwrap_or_else(|e| {
                shared.reporter.event(&Event::Warning(e));
                None
            });
            conn.set_query_context(Some(&node.unique_id), comment);
            let wh = Arc::new(ConnWarehouse {
                conn: Mutex::new(conn),
            });
            let out = run_node(shared, node, &wh);
            if let Ok(w) = Arc::try_unwrap(wh) {
                if let Ok(mut c) = w.conn.into_inner() {
                    c.set_query_context(None, None);
                    pool.give(c);
                }
            }
            out
        }
    };
    let seconds = super::secs(t0);
    let node_ref = super::node_ref_shared(shared, id);
    shared.reporter.event(&Event::NodeDone {
        index,
        total,
        node: node_ref,
        status: outcome.status,
        message: outcome.message.clone(),
        failures: outcome.failures,
        seconds,
        detail: outcome.detail.clone(),
    });
    NodeResult {
        unique_id: id.to_string(),
        status: outcome.status,
        message: outcome.message.clone(),
        failures: outcome.failures,
        execution_time: seconds,
        started_at,
        completed_at: chrono::Utc::now(),
        compiled_code: outcome.compiled_code,
        thread: thread_index(),
        adapter_response: match outcome.rows_affected {
            Some(n) => {
                serde_json::json!({"_message": outcome.message, "code": outcome.message.split(' ').next().unwrap_or("OK"), "rows_affected": n})
            }
            None => serde_json::json!({"_message": outcome.message}),
        },
    }
}

fn services(shared: &Shared, wh: &Arc<ConnWarehouse>) -> Arc<CompileServices> {
    Arc::new(run_services(shared, wh, shared.full_refresh))
}

/// The compile services of a node run on `wh` (`full_refresh` as the node sees it).
fn run_services(shared: &Shared, wh: &Arc<ConnWarehouse>, full_refresh: bool) -> CompileServices {
    let w: Arc<dyn Warehouse> = wh.clone();
    CompileServices::new(
        shared.resolver.clone(),
        Some(w),
        full_refresh,
        shared.dialect,
    )
    .with_empty(shared.empty)
}

fn flush_logs(shared: &Shared, s: &CompileServices) {
    for l in s.take_logs() {
        shared.reporter.event(&Event::Info(l));
    }
}

fn run_node(shared: &Shared, node: &Node, wh: &Arc<ConnWarehouse>) -> NodeOutcome {
    let outcome = run_node_inner(shared, node, wh);
    if outcome.status == RunStatus::Error {
        // A failed node's session changes (a pre-hook's `set`) must not reach the next node.
        if let Ok(mut c) = wh.conn.lock() {
            let _ = c.reset_session();
        }
    }
    outcome
}

fn run_node_inner(shared: &Shared, node: &Node, wh: &Arc<ConnWarehouse>) -> NodeOutcome {
    match node.resource_type {
        ResourceType::Seed => run_seed(shared, node, wh),
        ResourceType::Model => run_model(shared, node, wh),
        ResourceType::Test => run_test(shared, node, wh),
        ResourceType::UnitTest if node.definition.get("metric_unit_test").is_some() => {
            super::metric_unit::run(node, wh)
        }
        ResourceType::UnitTest => super::unit::run_unit_test(shared, node, wh),
        ResourceType::Snapshot => run_snapshot(shared, node, wh),
        ResourceType::SavedQuery => super::saved_query::run(node, wh),
        // `build` lists exposures, after what they depend on, and does nothing with them.
        ResourceType::Exposure => NodeOutcome {
            status: RunStatus::NoOp,
            message: "NO-OP".into(),
            failures: None,
            compiled_code: None,
            detail: None,
            rows_affected: None,
        },
        _ => NodeOutcome {
            status: RunStatus::Success,
            message: "OK".into(),
            failures: None,
            compiled_code: None,
            detail: None,
            rows_affected: None,
        },
    }
}

fn write_compiled(shared: &Shared, node: &Node, sql: &str) {
    let rel = compiled_path("", node);
    let path = shared.target_path.join(rel.trim_start_matches('/'));
    shared.files.write(path, sql.to_string());
}

/// dbt's error text for a node: `<kind> in <type> <name> (<path>)` and the cause, indented.
fn blame(kind: &str, node: &Node, cause: impl std::fmt::Display) -> String {
    format!(
        "{kind} in {} {} ({})\n  {cause}",
        node.resource_type.as_str(),
        node.name,
        node.original_file_path
    )
}

/// The `indexes` config of `node` (dbt-postgres's `IndexConfigError` when malformed).
fn indexes_of(node: &Node) -> Result<Vec<super::indexes::IndexConfig>, String> {
    super::indexes::configured(node.config.get("indexes"))
        .map_err(|e| blame("Compilation Error", node, e))
}

/// Makes `indexes` on `rel`, which was just created anew for `node` (engines without the
/// config ignore it, as dbt-duckdb's table builds do).
fn create_indexes(
    shared: &Shared,
    node: &Node,
    wh: &ConnWarehouse,
    rel: &Relation,
    indexes: &[super::indexes::IndexConfig],
) -> Result<(), String> {
    if !shared.dialect.has_index_config() || indexes.is_empty() {
        return Ok(());
    }
    with_conn(wh, |c| super::indexes::create_all(c, rel, indexes))?
        .map_err(|e| blame("Database Error", node, e))
}

/// What follows the build of `node`'s relation, as dbt's materializations end: its `grants`
/// applied, then its `persist_docs` comments (warning about documented columns the relation
/// lacks).
fn grants_and_docs(
    shared: &Shared,
    node: &Node,
    wh: &ConnWarehouse,
    rel: &Relation,
    kind: RelationKind,
) -> Result<(), String> {
    let done = with_conn(wh, |c| {
        super::grants::apply(c, &node.config, rel)?;
        super::persist_docs::apply(c, node, rel, kind)
    })?;
    match done {
        Ok(Some(warning)) => {
            shared.reporter.event(&Event::Warning(warning));
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(blame("Database Error", node, e)),
    }
}

fn with_conn<T>(wh: &ConnWarehouse, f: impl FnOnce(&mut dyn Connection) -> T) -> Result<T, String> {
    let mut c = wh
        .conn
        .lock()
        .map_err(|_| "connection poisoned".to_string())?;
    Ok(f(c.as_mut()))
}

/// The quote character DuckDB's CSV sniffer finds in a seed file (`None`: none found, or the
/// sniffer failed; the file is then read with `"`).
fn sniffed_quote(wh: &ConnWarehouse, path: &std::path::Path, delimiter: u8) -> Option<u8> {
    let file = path.to_string_lossy().replace('\'', "''");
    let delim = char::from(delimiter).to_string().replace('\'', "''");
    let sql = format!("select Quote from sniff_csv('{file}', delim = '{delim}', header = true)");
    let res = with_conn(wh, |c| c.query(&sql)).ok()?.ok()?;
    match res.rows.first()?.first()?.as_str()?.as_bytes() {
        [q] => Some(*q),
        _ => None,
    }
}

fn run_seed(shared: &Shared, node: &Node, wh: &Arc<ConnWarehouse>) -> NodeOutcome {
    let path = match shared.manifest.package_roots.get(&node.package_name) {
        Some(pkg_root) => pkg_root.join(&node.original_file_path),
        None => shared.project_root.join(&node.original_file_path),
    };
    let mut column_types = std::collections::BTreeMap::new();
    if let Some(Value::Object(ct)) = node.config.get("column_types") {
        for (k, v) in ct {
            if let Some(s) = v.as_str() {
                column_types.insert(k.clone(), s.to_string());
            }
        }
    }
    // dbt (agate's CSV reader) takes exactly one character; anything else is its compilation
    // error, before the seed is read.
    let delimiter = match node.config_str("delimiter") {
        None => b',',
        Some(d) if d.len() == 1 => d.as_bytes()[0],
        Some(d) => {
            return NodeOutcome::error(
                format!(
                    "Compilation Error in seed {} ({})\n  `delimiter` must be a 1-character string, not {d:?}",
                    node.name, node.original_file_path
                ),
                None,
            )
        }
    };
    // Where the engine's `COPY` sniffs the file (DuckDB), values are read with the quote
    // character its sniffer finds, as dbt-duckdb's `COPY` reads them.
    let quote = if shared.dialect.sniffs_csv_quote() {
        sniffed_quote(wh, &path, delimiter).unwrap_or(b'"')
    } else {
        b'"'
    };
    let opts = crate::project::seeds::SeedOptions {
        delimiter,
        column_types,
        nulls: shared.dialect.csv_nulls(),
        quote,
    };
    let mut table = match crate::project::seeds::read_seed(&path, &node.original_file_path, &opts) {
        Ok(t) => t,
        Err(d) => return NodeOutcome::error(d.to_string(), None),
    };
    if shared.empty {
        // `--empty`: the table as the file types it, without its rows.
        table.rows.clear();
    }
    let quote_columns = node.config_bool("quote_columns").unwrap_or(false);
    let rel = node.relation();
    // A seed's hooks run around its load, as dbt's seed materialization runs them.
    if let Err(e) = run_hooks_for(shared, node, wh, "pre-hook") {
        return NodeOutcome::error(e, None);
    }
    let res = with_conn(wh, |c| {
        materialize::ensure_schema(c, &rel.database, &rel.schema)?;
        materialize::build_seed(
            c,
            &rel,
            &table,
            quote_columns,
            shared.full_refresh,
            &shared.rebuilt,
        )
    });
    let res = match res {
        Ok(Ok((n, created))) => if created {
            indexes_of(node).and_then(|i| create_indexes(shared, node, wh, &rel, &i))
        } else {
            Ok(())
        }
        .and_then(|()| grants_and_docs(shared, node, wh, &rel, RelationKind::Table))
        .and_then(|()| run_hooks_for(shared, node, wh, "post-hook"))
        .map(|()| Ok(n)),
        Ok(Err(e)) => Ok(Err(e)),
        Err(e) => Err(e),
    };
    match res {
        Ok(Ok(n)) => NodeOutcome {
            status: RunStatus::Success,
            message: format!("INSERT {n}"),
            failures: None,
            compiled_code: None,
            detail: None,
            rows_affected: Some(n as u64),
        },
        Ok(Err(e)) => NodeOutcome::error(format!("seed `{}` failed: {e}", node.name), None),
        Err(e) => NodeOutcome::error(e, None),
    }
}

/// Renders a project hook statement in the context of the project (root or package) that has it.
pub(crate) fn render_hook(
    shared: &Shared,
    wh: &Arc<ConnWarehouse>,
    hook: &str,
    name: &str,
    package: &str,
) -> Result<String, String> {
    // The hook's macros may query the warehouse (`run_query`), on the hooks' connection.
    let s = services(shared, wh);
    let info = crate::templating::NodeInfo {
        unique_id: format!("operation.{package}.{name}"),
        name: name.to_string(),
        // A package's hook sees its package's vars and macros, as dbt renders its operation.
        package: package.to_string(),
        resource_type: "operation".into(),
        original_file_path: "dbt_project.yml".into(),
        ..Default::default()
    };
    let ctx = Arc::new(RenderCtx::new(Phase::Compile, info, s));
    shared
        .templates
        .render("dbt_project.yml", hook, &ctx)
        .map_err(|d| d.to_string())
}

fn hook_sqls(node: &Node, key: &str) -> Vec<String> {
    crate::project::config::as_list(node.config.get(key))
        .into_iter()
        .filter_map(|h| match h {
            Value::String(s) => Some(s),
            Value::Object(m) => m.get("sql").and_then(Value::as_str).map(str::to_string),
            _ => None,
        })
        .collect()
}

fn run_hooks_for(
    shared: &Shared,
    node: &Node,
    wh: &Arc<ConnWarehouse>,
    key: &str,
) -> Result<(), String> {
    for h in hook_sqls(node, key) {
        let svc = services(shared, wh);
        let ctx = Arc::new(RenderCtx::new(
            Phase::Compile,
            crate::compile::node_info(node),
            svc.clone(),
        ));
        let sql = shared
            .templates
            .render(&node.original_file_path, &h, &ctx)
            .map_err(|d| d.to_string())?;
        flush_logs(shared, &svc);
        if sql.trim().is_empty() {
            continue;
        }
        with_conn(wh, |c| {
            c.execute(&sql).map_err(|e| format!("{key} failed: {e}"))
        })??;
    }
    Ok(())
}

/// Compiles a node against the warehouse (so `is_incremental()` sees it as it is now), passes
/// on its `log()` output and writes the SQL under `<target-path>/compiled`.
fn compile_for_run(
    shared: &Shared,
    node: &Node,
    wh: &Arc<ConnWarehouse>,
) -> Result<String, NodeOutcome> {
    compile_with_header(shared, node, wh).map(|(sql, _)| sql)
}

/// [`compile_for_run`], with the node's `sql_header` (`{% call set_sql_header(config) %}` while
/// it compiled, else the `sql_header` config), which dbt's materializations put before the
/// statement that creates the relation.
fn compile_with_header(
    shared: &Shared,
    node: &Node,
    wh: &Arc<ConnWarehouse>,
) -> Result<(String, Option<String>), NodeOutcome> {
    // `--sample`: a model's or snapshot's parents with an `event_time` are limited to the window.
    let sampled = matches!(
        node.resource_type,
        ResourceType::Model | ResourceType::Snapshot
    );
    let svc = match shared.sample {
        Some((start, end)) if sampled => {
            Arc::new(run_services(shared, wh, shared.full_refresh).with_batch(
                super::sample::bound_exact(start),
                super::sample::bound_exact(end),
            ))
        }
        _ => services(shared, wh),
    };
    let sql = compile_node_blaming(
        &shared.manifest,
        &node.unique_id,
        &shared.templates,
        svc.clone(),
        true,
    )
    .map_err(|(ephemeral, d)| match ephemeral {
        None => NodeOutcome::error(d.to_string(), None),
        // As dbt reports it: skipped, with the error (and the run fails).
        Some(eid) => NodeOutcome {
            status: RunStatus::Skipped,
            message: format!(
                "Compilation Error in {}, caused by compilation error in referenced ephemeral model {eid}",
                node.unique_id
            ),
            detail: Some(d.to_string()),
            failures: None,
            compiled_code: None,
            rows_affected: None,
        },
    })?;
    flush_logs(shared, &svc);
    write_compiled(shared, node, &sql);
    let header = svc
        .set_config_of(&node.unique_id, "sql_header")
        .or_else(|| node.config.get("sql_header").cloned())
        .and_then(|v| v.as_str().map(str::to_string))
        .filter(|h| !h.trim().is_empty());
    Ok((sql, header))
}

/// The compiled file as messages name it: `<target-path>/compiled/...`, relative.
fn shown_compiled_path(shared: &Shared, node: &Node) -> String {
    let target = shared
        .target_path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    compiled_path(&target, node)
}

/// A microbatch model: one compile and one build per batch (see [`super::microbatch`]).
fn run_microbatch(shared: &Shared, node: &Node, wh: &Arc<ConnWarehouse>) -> NodeOutcome {
    use super::microbatch as mb;
    let fail = |m: String| {
        NodeOutcome::error(
            format!(
                "Compilation Error in model {} ({})\n  Microbatch model '{}' {m}",
                node.name, node.original_file_path, node.name
            ),
            None,
        )
    };
    let Some(size) = node.config_str("batch_size").and_then(mb::BatchSize::parse) else {
        return fail("does not have a 'batch_size' config (one of ['hour', 'day', 'month', 'year']) specificed.".into());
    };
    let Some(column) = node.config_str("event_time").map(str::to_string) else {
        return fail("requires an 'event_time' configuration.".into());
    };
    let begin = match node.config.get("begin") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => match v.as_str().and_then(mb::parse_time) {
            Some(t) => Some(t),
            None => {
                return fail(format!(
                    "has a 'begin' config that is not a date or timestamp: {v}"
                ))
            }
        },
    };
    let lookback = node
        .config
        .get("lookback")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(1) as i32;
    let rel = node.relation();
    let full_refresh = node
        .config_bool("full_refresh")
        .unwrap_or(shared.full_refresh);
    let exists = match with_conn(wh, |c| c.relation_kind(&rel)) {
        Ok(Ok(k)) => k.is_some(),
        Ok(Err(e)) => return NodeOutcome::error(e.to_string(), None),
        Err(e) => return NodeOutcome::error(e, None),
    };
    let incremental = exists && !full_refresh;
    let now = std::env::var("SLUICE_MICROBATCH_END_TIME")
        .ok()
        .and_then(|s| mb::parse_time(&s))
        .unwrap_or_else(|| chrono::Utc::now().naive_utc());
    let end = mb::ceiling(shared.event_time.1.unwrap_or(now), size);
    let start = match mb::start_time(end, size, incremental, shared.event_time.0, begin, lookback) {
        Ok(s) => s,
        Err(m) => return fail(m),
    };
    let batches = mb::batches(start, end, size);
    if let Err(e) = run_hooks_for(shared, node, wh, "pre-hook") {
        return NodeOutcome::error(e, None);
    }
    let mut last_sql = String::new();
    let mut message = String::from("OK");
    for (i, (from, to)) in batches.iter().enumerate() {
        // With `--sample`, the parents are read in the batch's window narrowed to the sample's,
        // as dbt narrows it; the batch still replaces its own window.
        let read = match shared.sample {
            Some((start, end)) => (
                super::sample::bound_exact((*from).max(start)),
                super::sample::bound_exact((*to).min(end)),
            ),
            None => (mb::bound(*from), mb::bound(*to)),
        };
        let (from, to) = (mb::bound(*from), mb::bound(*to));
        let svc =
            Arc::new(run_services(shared, wh, full_refresh && i == 0).with_batch(read.0, read.1));
        let sql = match compile_node_blaming(
            &shared.manifest,
            &node.unique_id,
            &shared.templates,
            svc.clone(),
            true,
        ) {
            Ok(s) => s,
            Err((_, d)) => return NodeOutcome::error(d.to_string(), None),
        };
        flush_logs(shared, &svc);
        let condition = format!("{column} >= '{from}' and {column} < '{to}'");
        let first_build = i == 0 && !incremental;
        let res = with_conn(wh, |c| {
            materialize::ensure_schema(c, &rel.database, &rel.schema)?;
            if first_build {
                let spec = materialize::BuildSpec::plain(
                    &rel,
                    Materialization::Table,
                    &sql,
                    &shared.rebuilt,
                );
                materialize::build(c, &spec)
            } else {
                materialize::replace_window(c, &rel, &sql, &condition)
            }
        });
        match res {
            Ok(Ok(o)) => message = o.message,
            Ok(Err(e)) => {
                return NodeOutcome::error(
                    format!(
                        "{} in model {} ({})\n  batch {from} to {to}: {e}",
                        e.dbt_kind(),
                        node.name,
                        node.original_file_path
                    ),
                    Some(sql),
                )
            }
            Err(e) => return NodeOutcome::error(e, Some(sql)),
        }
        last_sql = sql;
    }
    write_compiled(shared, node, &last_sql);
    if let Err(e) = run_hooks_for(shared, node, wh, "post-hook") {
        return NodeOutcome::error(e, Some(last_sql));
    }
    NodeOutcome {
        status: RunStatus::Success,
        message,
        failures: None,
        compiled_code: Some(last_sql),
        detail: None,
        rows_affected: None,
    }
}

fn run_model(shared: &Shared, node: &Node, wh: &Arc<ConnWarehouse>) -> NodeOutcome {
    if node.materialization() == Materialization::Incremental
        && node.config_str("incremental_strategy") == Some("microbatch")
    {
        return run_microbatch(shared, node, wh);
    }
    let (sql, sql_header) = match compile_with_header(shared, node, wh) {
        Ok(s) => s,
        Err(o) => return o,
    };
    let mat = node.materialization();
    let builds = match mat {
        Materialization::View
        | Materialization::Table
        | Materialization::Incremental
        | Materialization::Ephemeral => true,
        Materialization::MaterializedView => shared.dialect.has_materialized_views(),
        _ => false,
    };
    if !builds {
        let kind = shared.dialect.name();
        return NodeOutcome::error(
            format!(
                "Compilation Error in model {} ({})\n  No materialization '{}' was found for adapter {kind}! (searched types 'default' and '{kind}')\n  hint: use one of view, table, incremental, ephemeral",
                node.name,
                node.original_file_path,
                node.materialized(),
            ),
            Some(sql),
        );
    }
    if mat == Materialization::Ephemeral {
        return NodeOutcome {
            status: RunStatus::Success,
            message: "OK".into(),
            failures: None,
            compiled_code: Some(sql),
            detail: None,
            rows_affected: None,
        };
    }
    if let Err(e) = run_hooks_for(shared, node, wh, "pre-hook") {
        return NodeOutcome::error(e, Some(sql));
    }
    let rel = node.relation();
    let contract = match super::contract::Contract::of(node, &shared.resolver, shared.dialect) {
        Ok(c) => c,
        Err(e) => return NodeOutcome::error(blame("Compilation Error", node, e), Some(sql)),
    };
    // dbt's preflight check of an enforced contract: the query's columns are the contract's.
    if contract.is_some()
        && matches!(
            mat,
            Materialization::Table | Materialization::View | Materialization::Incremental
        )
    {
        let checked = with_conn(wh, |c| super::contract::preflight(c, node, &sql));
        if let Err(e) | Ok(Err(e)) = checked {
            return NodeOutcome::error(
                format!(
                    "Compilation Error in model {} ({})\n  {}",
                    node.name,
                    node.original_file_path,
                    e.replace('\n', "\n  ")
                ),
                Some(sql),
            );
        }
    }
    // An empty `unique_key` ('' or ['']) is no key, as dbt's `{% if unique_key %}` reads it.
    let mut unique_key = crate::project::config::str_list(node.config.get("unique_key"));
    unique_key.retain(|k| !k.trim().is_empty());
    let full_refresh = node
        .config_bool("full_refresh")
        .unwrap_or(shared.full_refresh);
    let indexes = match indexes_of(node) {
        Ok(i) => i,
        Err(e) => return NodeOutcome::error(e, Some(sql)),
    };
    let config = |key: &str| node.config.get(key).cloned();
    let table_options = match shared.dialect.table_options(&rel.identifier, &config) {
        Ok(o) => o,
        Err(e) => return NodeOutcome::error(blame("Compilation Error", node, e), Some(sql)),
    };
    let spec = materialize::BuildSpec {
        relation: &rel,
        materialization: mat,
        sql: &sql,
        unique_key,
        incremental_strategy: node.config_str("incremental_strategy"),
        full_refresh,
        on_schema_change: node.config_str("on_schema_change"),
        incremental_predicates: crate::project::config::as_list(
            node.config.get("incremental_predicates"),
        )
        .into_iter()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect(),
        merge_update_columns: crate::project::config::str_list(
            node.config.get("merge_update_columns"),
        ),
        merge_exclude_columns: crate::project::config::str_list(
            node.config.get("merge_exclude_columns"),
        ),
        rebuilt: &shared.rebuilt,
        contract: contract.as_ref(),
        sql_header: sql_header.as_deref(),
        indexes: &indexes,
        on_configuration_change: node.config_str("on_configuration_change"),
        unlogged: node.config_bool("unlogged").unwrap_or(false),
        table_options,
        partition_by: crate::project::config::str_list(node.config.get("partition_by")),
    };
    let res = with_conn(wh, |c| {
        materialize::ensure_schema(c, &rel.database, &rel.schema)?;
        if mat == Materialization::MaterializedView {
            // (Built on top of the table and view machinery, in its own module.)
            super::materialized_view::build(c, &spec)
        } else {
            materialize::build(c, &spec)
        }
    });
    let outcome = match res {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            let kind = e.dbt_kind();
            // The end-of-run summary adds the `compiled code at` line, as dbt's does.
            return NodeOutcome::error(blame(kind, node, e), Some(sql));
        }
        Err(e) => return NodeOutcome::error(e, Some(sql)),
    };
    if let Some(main) = &outcome.main_sql {
        // `target/run/<package>/<path>`: the statement that built the relation, as dbt keeps it.
        let rel_path = compiled_path("", node).replacen("/compiled/", "/run/", 1);
        let path = shared.target_path.join(rel_path.trim_start_matches('/'));
        shared.files.write(path, format!("{};", main.trim_end()));
    }
    for line in &outcome.log {
        shared.reporter.event(&Event::Debug(line.clone()));
    }
    if let Some(warning) = &outcome.warning {
        shared.reporter.event(&Event::Warning(warning.clone()));
    }
    let kind = match mat {
        Materialization::View => RelationKind::View,
        Materialization::MaterializedView => RelationKind::MaterializedView,
        _ => RelationKind::Table,
    };
    if outcome.created {
        if let Err(e) = create_indexes(shared, node, wh, &rel, &indexes) {
            return NodeOutcome::error(e, Some(sql));
        }
    }
    if let Err(e) = grants_and_docs(shared, node, wh, &rel, kind) {
        return NodeOutcome::error(e, Some(sql));
    }
    if let Err(e) = run_hooks_for(shared, node, wh, "post-hook") {
        return NodeOutcome::error(e, Some(sql));
    }
    NodeOutcome {
        status: RunStatus::Success,
        message: outcome.message,
        failures: None,
        compiled_code: Some(sql),
        detail: None,
        rows_affected: outcome.rows_affected,
    }
}

fn run_snapshot(shared: &Shared, node: &Node, wh: &Arc<ConnWarehouse>) -> NodeOutcome {
    let sql = match compile_for_run(shared, node, wh) {
        Ok(s) => s,
        Err(o) => return o,
    };
    let rel = node.relation();
    let spec =
        match super::snapshot::SnapshotSpec::from_config(rel.clone(), sql.clone(), &node.config) {
            Ok(s) => s,
            Err(e) => return NodeOutcome::error(blame("Compilation Error", node, e), Some(sql)),
        };
    if let Err(e) = run_hooks_for(shared, node, wh, "pre-hook") {
        return NodeOutcome::error(e, Some(sql));
    }
    let dialect = shared.dialect;
    let res = with_conn(wh, |c| {
        materialize::ensure_schema(c, &rel.database, &rel.schema)?;
        let existed = c.relation_kind(&rel)?.is_some();
        super::snapshot::run(c, &spec, |r, s| dialect.create_table_as(r, s)).map(|o| (o, existed))
    });
    let ((message, rows), existed) = match res {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            let kind = e.dbt_kind();
            return NodeOutcome::error(blame(kind, node, e), Some(sql));
        }
        Err(e) => return NodeOutcome::error(e, Some(sql)),
    };
    // A snapshot's table is made on its first run only; its indexes then.
    if !existed {
        if let Err(e) = indexes_of(node).and_then(|i| create_indexes(shared, node, wh, &rel, &i)) {
            return NodeOutcome::error(e, Some(sql));
        }
    }
    if let Err(e) = grants_and_docs(shared, node, wh, &rel, RelationKind::Table) {
        return NodeOutcome::error(e, Some(sql));
    }
    if let Err(e) = run_hooks_for(shared, node, wh, "post-hook") {
        return NodeOutcome::error(e, Some(sql));
    }
    NodeOutcome {
        status: RunStatus::Success,
        message,
        failures: None,
        compiled_code: Some(sql),
        detail: None,
        rows_affected: rows,
    }
}

fn run_test(shared: &Shared, node: &Node, wh: &Arc<ConnWarehouse>) -> NodeOutcome {
    let sql = match compile_for_run(shared, node, wh) {
        Ok(s) => s,
        Err(o) => return o,
    };
    let fail_calc = node.config_str("fail_calc").unwrap_or("count(*)");
    let warn_if = node.config_str("warn_if").unwrap_or("!= 0");
    let error_if = node.config_str("error_if").unwrap_or("!= 0");
    let limit = match node.config.get("limit") {
        Some(Value::Number(n)) => format!("\n    limit {n}"),
        _ => String::new(),
    };
    if let Some(kind) = node.stores_failures(shared.store_failures) {
        let rel = shared.dialect.truncated(&node.relation());
        let res = with_conn(wh, |c| -> Result<(), crate::adapters::AdapterError> {
            materialize::ensure_schema(c, &rel.database, &rel.schema)?;
            // Whichever kind a previous run left there goes.
            if let Some(old) = c.relation_kind(&rel)? {
                c.execute(&format!(
                    "drop {} if exists {}",
                    old.keyword(),
                    shared.dialect.rel(&rel)
                ))?;
            }
            // The stored rows are the ones the test counts: at most `limit` of them.
            let stored = if limit.is_empty() {
                sql.clone()
            } else {
                format!(
                    "select * from (\n{}\n) dbt_internal_test{limit}",
                    sql.trim_end().trim_end_matches(';')
                )
            };
            c.execute(&match kind {
                // (`store_failures_as` is `table` or `view`.)
                RelationKind::View | RelationKind::MaterializedView => {
                    shared.dialect.create_view_as(&rel, &stored)
                }
                RelationKind::Table => shared.dialect.create_table_as(&rel, &stored),
            })?;
            Ok(())
        });
        if let Ok(Err(e)) | Err(e) =
            res.map_err(|s| crate::adapters::AdapterError::Database { message: s })
        {
            return NodeOutcome::error(
                format!("storing failures of {} failed: {e}", node.name),
                Some(sql),
            );
        }
    }
    let wrapped = format!(
        "select\n    {fail_calc} as failures,\n    {fail_calc} {warn_if} as should_warn,\n    {fail_calc} {error_if} as should_error\nfrom (\n{}{limit}\n) dbt_internal_test",
        sql.trim_end().trim_end_matches(';')
    );
    let res = with_conn(wh, |c| c.query(&wrapped));
    let table = match res {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            return NodeOutcome::error(
                format!(
                    "Database Error in test {} ({})\n  {e}",
                    node.name, node.original_file_path
                ),
                Some(sql),
            );
        }
        Err(e) => return NodeOutcome::error(e, Some(sql)),
    };
    let row = table.rows.first().cloned().unwrap_or_default();
    let failures = row
        .first()
        .and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(0.0) as u64;
    let truthy = |v: Option<&Value>| matches!(v, Some(Value::Bool(true)));
    let should_warn = truthy(row.get(1));
    let should_error = truthy(row.get(2));
    let severity = node
        .config_str("severity")
        .unwrap_or("ERROR")
        .to_ascii_uppercase();
    // As dbt decides: `error_if` counts only at severity error; a passing test reports no
    // failures, whatever `fail_calc` returned.
    let status = if severity == "ERROR" && should_error {
        RunStatus::Fail
    } else if should_warn {
        RunStatus::Warn
    } else {
        RunStatus::Pass
    };
    let failures = if status == RunStatus::Pass {
        0
    } else {
        failures
    };
    // Under --warn-error a warning fails, with dbt's message: "configured to fail if" the
    // warn_if condition.
    let escalated = status == RunStatus::Warn && shared.warn_error_tests;
    let status = if escalated { RunStatus::Fail } else { status };
    let message = match status {
        RunStatus::Pass => "PASS".to_string(),
        _ => format!(
            "Got {failures} result{}, configured to {} if {}",
            if failures == 1 { "" } else { "s" },
            if status == RunStatus::Fail {
                "fail"
            } else {
                "warn"
            },
            if status == RunStatus::Fail && !escalated {
                error_if
            } else {
                warn_if
            }
        ),
    };
    let detail = if status == RunStatus::Pass {
        None
    } else {
        let path = shown_compiled_path(shared, node);
        let rows = metric_test_rows(node, &sql, failures, wh);
        Some(format!("{message}\n{rows}  compiled code at {path}"))
    };
    NodeOutcome {
        status,
        message,
        failures: Some(failures),
        compiled_code: Some(sql),
        detail,
        rows_affected: None,
    }
}

/// For a failing metric test: its first failing rows, explained (group, value, bound), each on
/// a line; empty for other tests or when the rows cannot be read.
fn metric_test_rows(node: &Node, sql: &str, failures: u64, wh: &Arc<ConnWarehouse>) -> String {
    let Some(metric) = node
        .definition
        .get("metric_test")
        .and_then(|m| m.get("metric"))
        .and_then(Value::as_str)
    else {
        return String::new();
    };
    let q = format!(
        "select * from (\n{}\n) dbt_internal_test limit {}",
        sql.trim_end().trim_end_matches(';'),
        crate::metrics::data_tests::SHOWN_ROWS
    );
    match with_conn(wh, |c| c.query(&q)) {
        Ok(Ok(t)) => {
            let text =
                crate::metrics::data_tests::explain(metric, &t.column_names, &t.rows, failures);
            if text.is_empty() {
                text
            } else {
                format!("{text}\n")
            }
        }
        _ => String::new(),
    }
}
