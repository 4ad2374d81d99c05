//! The metric query of a metric unit test and the SQL it runs: the `query` block read into a
//! [`MetricQuery`], planned by the ordinary planner over the semantic layer re-pointed at the
//! fixture tables, with the statements that create and drop those tables (a generated time
//! spine among them when the query needs one and no rows were given for it).
//!
//! Split from the unit tests' `mod.rs` as the step between the inputs and the expected rows:
//! it alone calls the planner, and what it returns (the SQL and its columns) is what the
//! expected rows are checked against.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::fixtures::{create_table, fixture_relation, rows_select, DATE, TIMESTAMP};
use super::given::Given;
use super::{unknown_key, Engine, Entry, QUERY_KEYS};
use crate::diagnostics::{did_you_mean, Diagnostic};
use crate::metrics::model::SemanticLayer;
use crate::metrics::plan::{plan, MetricQuery};
use crate::project::config::str_list;
use crate::sql::{quote, Dialect};

/// The entry's `query`: the metric under test first, then any others it asks for.
pub(super) fn query(
    e: &Entry,
    layer: &SemanticLayer,
    metric: &str,
) -> Result<MetricQuery, Diagnostic> {
    let name = &e.name;
    let q = match e.v.get("query") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(q)) => {
            unknown_key(e, Some("query"), "`query`", q, QUERY_KEYS)?;
            q.clone()
        }
        Some(_) => {
            return Err(e.err(
                Some("query"),
                format!("`query` of metric unit test `{name}` must be a mapping"),
                "e.g. query: {group_by: [metric_time__month]}",
            ))
        }
    };
    // The metric under test first, then any others the query asks for.
    let mut metrics = vec![metric.to_string()];
    for m in str_list(q.get("metrics")) {
        if layer.metric(&m).is_none() {
            return Err(e.err(
                Some("query"),
                format!("metric unit test `{name}` queries unknown metric `{m}`"),
                did_you_mean(&m, layer.metrics.iter().map(|x| x.name.as_str()))
                    .unwrap_or_else(|| "see `sluice metrics list metrics`".into()),
            ));
        }
        if !metrics.contains(&m) {
            metrics.push(m);
        }
    }
    Ok(MetricQuery {
        metrics,
        group_by: str_list(q.get("group_by")),
        where_: str_list(q.get("where")),
        start_time: q.get("start_time").map(scalar_text),
        end_time: q.get("end_time").map(scalar_text),
        ..Default::default()
    })
}

/// A time bound as text (YAML may read `2025-01-01` as a string or, unquoted in some forms, as
/// another scalar).
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Where a test's fixture tables are created: the engine, its dialect, and the tag that makes
/// their names the test's own on a shared connection.
#[derive(Clone, Copy)]
pub(super) struct Place<'a> {
    pub(super) engine: Engine,
    pub(super) dialect: Dialect,
    pub(super) tag: &'a str,
}

/// The query of a unit test planned over its fixtures.
pub(super) struct Planned {
    /// The metric query, without a trailing `;`.
    pub(super) sql: String,
    /// The columns it returns (group-by items, then the metrics).
    pub(super) columns: Vec<String>,
    /// Statements that create the fixture tables, in order.
    pub(super) setup: Vec<String>,
    /// Statements that drop them.
    pub(super) teardown: Vec<String>,
}

/// Plans `query` on a clone of `layer` whose given models (and time spine) read the fixture
/// tables, and checks that every model the SQL reads was given.
pub(super) fn planned(
    e: &Entry,
    layer: &SemanticLayer,
    given: &[Given],
    query: &MetricQuery,
    metric: &str,
    at: Place,
) -> Result<Planned, Diagnostic> {
    let name = &e.name;
    let Place {
        engine,
        dialect,
        tag,
    } = at;
    // The layer, re-pointed at the fixtures.
    let mut fixtures = layer.clone();
    let mut setup = Vec::new();
    let mut teardown = Vec::new();
    for g in given {
        let rel = fixture_relation(engine, dialect, tag, &g.model);
        for sm in &mut fixtures.semantic_models {
            if sm.depends_on.as_deref() == Some(g.model_id.as_str()) {
                sm.relation = Some(rel.clone());
            }
        }
        if let Some(ts) = &mut fixtures.time_spine {
            if ts.model == g.model_id {
                ts.relation = rel.clone();
            }
        }
        let select = match &g.sql {
            Some(sql) => sql.clone(),
            None => rows_select(&g.rows),
        };
        setup.push(create_table(engine, dialect, &rel, &select));
        teardown.push(format!("drop table if exists {}", dialect.rel(&rel)));
    }
    let spine_rel = fixture_relation(engine, dialect, tag, "time_spine");
    let spine = match &mut fixtures.time_spine {
        Some(ts) if !given.iter().any(|g| g.model_id == ts.model) => {
            ts.relation = spine_rel.clone();
            Some(ts.column.clone())
        }
        _ => None,
    };
    let p = plan(&fixtures, query, dialect).map_err(|pe| {
        e.err(
            Some("query"),
            format!("metric unit test `{name}`: {}", pe.message),
            pe.hint.clone(),
        )
    })?;
    let sql = p.sql.trim().trim_end_matches(';').to_string();
    every_model_given(e, layer, given, &sql, metric, dialect)?;
    // A time spine the query needs, over the dates of the fixtures.
    if let Some(column) = spine {
        if sql.contains(&dialect.rel(&spine_rel)) {
            let select = spine_select(e, given, query, metric, &column)?;
            setup.push(create_table(engine, dialect, &spine_rel, &select));
            teardown.push(format!("drop table if exists {}", dialect.rel(&spine_rel)));
        }
    }
    Ok(Planned {
        sql,
        columns: p.columns,
        setup,
        teardown,
    })
}

/// Every model the query reads must be given.
fn every_model_given(
    e: &Entry,
    layer: &SemanticLayer,
    given: &[Given],
    sql: &str,
    metric: &str,
    dialect: Dialect,
) -> Result<(), Diagnostic> {
    let name = &e.name;
    for sm in &layer.semantic_models {
        let (Some(rel), Some(id)) = (&sm.relation, &sm.depends_on) else {
            continue;
        };
        if !given.iter().any(|g| &g.model_id == id) && sql.contains(&dialect.rel(rel)) {
            let model = sm.model_name().unwrap_or_else(|| sm.name.clone());
            return Err(e.err(
                Some("given"),
                format!("metric unit test `{name}`: the query of `{metric}` reads `{model}` (semantic model `{}`), which has no `given` rows", sm.name),
                format!("add `- input: ref('{model}')` with its rows under `given:`"),
            ));
        }
    }
    Ok(())
}

/// The select of a generated time spine: one row per day from the first to the last date of the
/// given rows and the query's time bounds.
fn spine_select(
    e: &Entry,
    given: &[Given],
    query: &MetricQuery,
    metric: &str,
    column: &str,
) -> Result<String, Diagnostic> {
    let name = &e.name;
    let mut dates: BTreeSet<String> = BTreeSet::new();
    for g in given {
        for r in &g.rows {
            for v in r.values() {
                if let Value::String(s) = v {
                    if DATE.is_match(s.trim()) || TIMESTAMP.is_match(s.trim()) {
                        dates.insert(s.trim()[..10].to_string());
                    }
                }
            }
        }
    }
    for t in query.start_time.iter().chain(query.end_time.iter()) {
        if let Some(day) = t.get(..10).filter(|d| DATE.is_match(d)) {
            dates.insert(day.to_string());
        }
    }
    let (Some(first), Some(last)) = (dates.first(), dates.last()) else {
        return Err(e.err(
            Some("given"),
            format!("metric unit test `{name}`: `{metric}` needs a time spine and the given rows have no dates to span"),
            "give dates (YYYY-MM-DD) in the rows, a query start_time/end_time, or rows for the time spine model",
        ));
    };
    Ok(format!(
        "select cast(d as date) as {} from generate_series(cast({} as timestamp), cast({} as timestamp), interval '1 day') as t(d)",
        quote(column),
        crate::sql::literal(first),
        crate::sql::literal(last)
    ))
}
