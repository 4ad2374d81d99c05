//! Metric unit tests: the `metric_unit_tests:` entries of properties YAML. Each gives rows for the
//! models a metric reads (`given`), a metric query (`query`: group_by, where, start_time,
//! end_time) and the metric values it must return (`expect`), like a dbt unit test does for a
//! model. This module checks a definition and compiles it to the SQL that loads the fixtures and
//! the metric query over them; `diff` compares the rows a run returns with the expected ones (the
//! diff a user reads). Running the SQL is the executor's job (`execute::metric_unit`).
//!
//! ```yaml
//! metric_unit_tests:
//!   - name: revenue_by_month
//!     metric: revenue
//!     given:
//!       - input: ref('orders')
//!         rows:
//!           - {order_id: 1, ordered_at: 2025-01-05, amount: 100}
//!     query:
//!       group_by: [metric_time__month]
//!     expect:
//!       rows:
//!         - {metric_time__month: 2025-01-01, revenue: 100}
//! ```
//!
//! Design decision: the fixtures do not replace table names in SQL text. The semantic layer is
//! cloned with each given model's relation pointed at its fixture table, and the ordinary planner
//! plans the query on that clone. Every metric type (joins to dimension models, the time spine of
//! cumulative metrics, conversions) then reads the fixtures with no string surgery, and the SQL a
//! unit test runs is exactly the SQL `sluice metrics query` would run. By default the fixtures are
//! loaded into a fresh in-memory DuckDB (no warehouse, nothing built: milliseconds); with
//! `config: {engine: target}` they are temporary tables on the target's own connection, so the
//! test checks the SQL of the target's engine (e.g. PostgreSQL).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::data_tests::Target;
use super::model::{parse_ref, SemanticLayer};
use super::plan::{plan, MetricQuery};
use super::{locate, ModelIndex, Step};
use crate::compile::{Node, ResourceType};
use crate::diagnostics::{did_you_mean, Diagnostic, Location};
use crate::project::config::str_list;
use crate::project::YamlFile;
use crate::sql::quote;

mod diff;
mod fixtures;
pub use diff::{compare, Difference};
use fixtures::{
    create_table, fixture_relation, fixture_rows, rows_select, sql_rows, DATE, TIMESTAMP,
};

/// The top-level key of the definitions.
pub const SECTION: &str = "metric_unit_tests";

const KEYS: &[&str] = &[
    "name",
    "metric",
    "description",
    "given",
    "query",
    "expect",
    "config",
];
const QUERY_KEYS: &[&str] = &["metrics", "group_by", "where", "start_time", "end_time"];
const CONFIG_KEYS: &[&str] = &["tags", "meta", "enabled", "engine"];
const GIVEN_KEYS: &[&str] = &["input", "rows", "format"];
const EXPECT_KEYS: &[&str] = &["rows", "format", "tolerance"];

/// Where a metric unit test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// A fresh in-memory DuckDB per test (the default).
    Duckdb,
    /// Temporary tables on the target's connection.
    Target,
}

/// A compiled metric unit test: what the executor runs and compares. Kept in the node's
/// `definition.metric_unit_test`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Compiled {
    pub metric: String,
    pub engine: Engine,
    /// Statements that create the fixture tables, in order.
    pub setup: Vec<String>,
    /// Statements that drop them (target engine only; an in-memory database just goes away).
    pub teardown: Vec<String>,
    /// The metric query over the fixtures.
    pub sql: String,
    /// The columns compared, in the query's order (group-by items, then the metric).
    pub columns: Vec<String>,
    /// Which of `columns` hold metric values (compared within `tolerance`).
    pub metric_columns: Vec<String>,
    pub expected: Vec<Map<String, Value>>,
    /// With `format: sql`, the select of the expected rows (run on the same engine; then
    /// `expected` is empty and `columns` are narrowed to the select's at run time).
    #[serde(default)]
    pub expected_sql: Option<String>,
    pub tolerance: f64,
}

/// True when a YAML file declares metric unit tests.
pub fn any_declared(files: &[YamlFile]) -> bool {
    files.iter().any(|f| f.value.get(SECTION).is_some())
}

/// One entry being compiled: where it is written, for diagnostics.
struct Entry<'a> {
    file: &'a YamlFile,
    name: String,
    v: &'a Map<String, Value>,
}

impl Entry<'_> {
    /// A diagnostic at `key` of this entry (or at the entry's name).
    fn err(
        &self,
        key: Option<&str>,
        msg: impl Into<String>,
        hint: impl Into<String>,
    ) -> Diagnostic {
        self.err_near(key, None, msg, hint)
    }

    /// A diagnostic at the first line under `key` of this entry that contains `needle` (an
    /// input's `ref('orders')`), else at `key`.
    fn err_near(
        &self,
        key: Option<&str>,
        needle: Option<&str>,
        msg: impl Into<String>,
        hint: impl Into<String>,
    ) -> Diagnostic {
        let mut steps = vec![Step::Name(&self.name)];
        if let Some(k) = key {
            steps.push(Step::Key(k));
        }
        let d = Diagnostic::error("metric-unit-test", msg).with_hint(hint);
        let at = locate(&self.file.text, SECTION, &steps).map(|(l, c)| {
            needle
                .filter(|n| !n.is_empty())
                .and_then(|n| {
                    self.file
                        .text
                        .lines()
                        .enumerate()
                        .skip(l - 1)
                        .find_map(|(i, t)| t.find(n).map(|col| (i + 1, col + 1)))
                })
                .unwrap_or((l, c))
        });
        match at {
            Some((l, c)) => d.at(Location::at(&self.file.original_file_path, l, c)),
            None => d.in_file(&self.file.original_file_path),
        }
    }
}

fn listed(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first key of `m` not in `allowed`, as a diagnostic.
fn unknown_key(
    e: &Entry,
    at: Option<&str>,
    what: &str,
    m: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), Diagnostic> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(e.err(
            at.or(Some(k.as_str())),
            format!("metric unit test `{}`: {what} has no key `{k}`", e.name),
            did_you_mean(k, allowed.iter().copied())
                .unwrap_or_else(|| format!("its keys are {}", listed(allowed))),
        )),
    }
}

/// The compiled node of every enabled `metric_unit_tests:` entry, sorted by id, or one diagnostic
/// per bad entry.
pub fn unit_test_nodes(
    files: &[YamlFile],
    layer: &SemanticLayer,
    index: &ModelIndex,
    target: &Target,
) -> Result<Vec<Node>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut out: Vec<Node> = Vec::new();
    for f in files {
        let Some(section) = f.value.get(SECTION) else {
            continue;
        };
        let Value::Array(entries) = section else {
            let d = Diagnostic::error(
                "metric-unit-test",
                format!("`{SECTION}` must be a list of unit tests"),
            )
            .with_hint("e.g. metric_unit_tests:\n  - name: revenue_by_month\n    metric: revenue");
            errors.push(match locate(&f.text, SECTION, &[]) {
                Some((l, c)) => d.at(Location::at(&f.original_file_path, l, c)),
                None => d.in_file(&f.original_file_path),
            });
            continue;
        };
        for (i, v) in entries.iter().enumerate() {
            let (Value::Object(v), Some(name)) = (v, v.get("name").and_then(Value::as_str)) else {
                let d = Diagnostic::error(
                    "metric-unit-test",
                    "a metric unit test is a mapping with a `name`",
                )
                .with_hint("e.g. - name: revenue_by_month\n    metric: revenue");
                errors.push(match locate(&f.text, SECTION, &[]) {
                    Some((l, c)) => d.at(Location::at(&f.original_file_path, l, c)),
                    None => d.in_file(&f.original_file_path),
                });
                continue;
            };
            let e = Entry {
                file: f,
                name: name.to_string(),
                v,
            };
            match build(&e, layer, index, target) {
                Ok(Some(node)) => {
                    if out.iter().any(|n| n.unique_id == node.unique_id) {
                        // Point at this entry: the how-many-th of its name in the file.
                        let nth = entries[..i]
                            .iter()
                            .filter(|x| x.get("name").and_then(Value::as_str) == Some(name))
                            .count();
                        let mut d = e.err(
                            None,
                            format!(
                                "two metric unit tests of metric `{}` are named `{name}`",
                                node.fqn[1]
                            ),
                            "rename one of them",
                        );
                        if let Some(line) = nth_name_line(&f.text, name, nth) {
                            d.location = Some(Location::at(&f.original_file_path, line.0, line.1));
                        }
                        errors.push(d);
                    } else {
                        out.push(node);
                    }
                }
                Ok(None) => {}
                Err(d) => errors.push(d),
            }
        }
    }
    if errors.is_empty() {
        out.sort_by(|a, b| a.unique_id.cmp(&b.unique_id));
        Ok(out)
    } else {
        Err(errors)
    }
}

/// 1-based (line, column) of the `nth` (0-based) `name: <name>` line of a YAML text.
fn nth_name_line(text: &str, name: &str, nth: usize) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let t = l.trim_start();
            let t2 = t.strip_prefix("- ").unwrap_or(t).trim_start();
            let value = t2.strip_prefix("name:")?.trim();
            (value.trim_matches(|c| c == '"' || c == '\'') == name)
                .then(|| (i + 1, l.len() - t2.len() + 1))
        })
        .nth(nth)
}

/// One given input, checked.
struct Given {
    model_id: String,
    model: String,
    rows: Vec<Map<String, Value>>,
    /// The select of `format: sql` (then `rows` is empty).
    sql: Option<String>,
}

fn build(
    e: &Entry,
    layer: &SemanticLayer,
    index: &ModelIndex,
    target: &Target,
) -> Result<Option<Node>, Diagnostic> {
    let name = &e.name;
    unknown_key(e, None, "the entry", e.v, KEYS)?;
    // The metric.
    let Some(metric) = e.v.get("metric").and_then(Value::as_str) else {
        return Err(e.err(
            None,
            format!("metric unit test `{name}` names no `metric`"),
            "e.g. metric: revenue",
        ));
    };
    if layer.metric(metric).is_none() {
        return Err(e.err(
            Some("metric"),
            format!("metric unit test `{name}` tests unknown metric `{metric}`"),
            did_you_mean(metric, layer.metrics.iter().map(|m| m.name.as_str()))
                .unwrap_or_else(|| "see `sluice metrics list metrics`".into()),
        ));
    }
    // Config.
    let config = match e.v.get("config") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(c)) => {
            unknown_key(e, Some("config"), "`config`", c, CONFIG_KEYS)?;
            c.clone()
        }
        Some(_) => {
            return Err(e.err(
                Some("config"),
                format!("`config` of metric unit test `{name}` must be a mapping"),
                "e.g. config: {tags: [metrics], engine: target}",
            ))
        }
    };
    let engine = match config.get("engine").and_then(Value::as_str) {
        None | Some("duckdb") => Engine::Duckdb,
        Some("target") => Engine::Target,
        Some(other) => {
            return Err(e.err(
                Some("config"),
                format!("metric unit test `{name}`: unknown engine `{other}`"),
                "engine: duckdb (an in-memory DuckDB, the default) or engine: target (the target's connection)",
            ))
        }
    };
    let dialect = match engine {
        Engine::Duckdb => crate::adapters::IN_MEMORY_DIALECT,
        Engine::Target => target.dialect,
    };
    let unique_id = format!("unit_test.{}.{metric}.{name}", target.package);
    let tag = crate::templating::local_md5(&unique_id)[..8].to_string();

    // Given inputs.
    let given_v = match e.v.get("given") {
        Some(Value::Array(g)) if !g.is_empty() => g,
        _ => {
            return Err(e.err(
                Some("given"),
                format!("metric unit test `{name}` has no `given` inputs"),
                "give rows for each model the metric reads, e.g. given:\n  - input: ref('orders')\n    rows: [{order_id: 1, amount: 10}]",
            ))
        }
    };
    let mut given: Vec<Given> = Vec::new();
    for g in given_v {
        let Value::Object(g) = g else {
            return Err(e.err(
                Some("given"),
                format!("each `given` of metric unit test `{name}` is a mapping with `input` and `rows`"),
                "e.g. - input: ref('orders')\n    rows: [{order_id: 1}]",
            ));
        };
        unknown_key(e, Some("given"), "a `given` input", g, GIVEN_KEYS)?;
        let input = g.get("input").and_then(Value::as_str).unwrap_or("");
        let Some(model) = parse_ref(input) else {
            return Err(e.err_near(
                Some("given"),
                Some(input),
                format!("metric unit test `{name}`: input `{input}` is not `ref('<model>')`"),
                "metric unit tests give rows for the models semantic models read, e.g. input: ref('orders')",
            ));
        };
        let Some((model_id, ..)) = index.nodes.get(&model) else {
            return Err(e.err_near(
                Some("given"),
                Some(input),
                format!("metric unit test `{name}` gives rows for unknown model `{model}`"),
                did_you_mean(&model, index.nodes.keys().map(String::as_str))
                    .unwrap_or_else(|| "ref() a model of the project".into()),
            ));
        };
        let read = layer
            .semantic_models
            .iter()
            .any(|sm| sm.depends_on.as_deref() == Some(model_id.as_str()))
            || layer
                .time_spine
                .as_ref()
                .is_some_and(|t| &t.model == model_id);
        if !read {
            return Err(e.err_near(
                Some("given"),
                Some(input),
                format!("metric unit test `{name}` gives rows for `{model}`, which no semantic model reads"),
                did_you_mean(
                    &model,
                    layer
                        .semantic_models
                        .iter()
                        .filter_map(|sm| sm.model_name())
                        .collect::<Vec<_>>()
                        .iter()
                        .map(String::as_str),
                )
                .unwrap_or_else(|| "give rows for the models of the semantic models the metric uses".into()),
            ));
        }
        if given.iter().any(|x| x.model == model) {
            return Err(e.err_near(
                Some("given"),
                Some(input),
                format!("metric unit test `{name}` gives rows for `{model}` twice"),
                "put all of a model's rows under one input",
            ));
        }
        // `format: sql`: a select of the rows, typed by the SQL itself.
        let sql = sql_rows(g).map_err(|m| {
            e.err_near(
                Some("given"),
                Some(input),
                format!("metric unit test `{name}`, input `{input}`: {m}"),
                "with format: sql, `rows` is one select, e.g. rows: \"select 1 as order_id, cast('2025-01-05' as date) as ordered_at\"",
            )
        })?;
        let rows = fixture_rows(g).map_err(|m| {
            e.err_near(
                Some("given"),
                Some(input),
                format!("metric unit test `{name}`, input `{input}`: {m}"),
                "rows: [{column: value, ...}], format: csv with CSV text, or format: sql with a select",
            )
        })?;
        if sql.is_none() && (rows.is_empty() || rows.iter().all(Map::is_empty)) {
            return Err(e.err_near(
                Some("given"),
                Some(input),
                format!("metric unit test `{name}`: input `{input}` has no rows"),
                "give at least one row (its columns type the fixture table)",
            ));
        }
        given.push(Given {
            model_id: model_id.clone(),
            model,
            rows,
            sql,
        });
    }

    // The query.
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
    let start_time = q.get("start_time").map(scalar_text);
    let end_time = q.get("end_time").map(scalar_text);
    let query = MetricQuery {
        metrics: metrics.clone(),
        group_by: str_list(q.get("group_by")),
        where_: str_list(q.get("where")),
        start_time: start_time.clone(),
        end_time: end_time.clone(),
        ..Default::default()
    };

    // The layer, re-pointed at the fixtures.
    let mut fixtures = layer.clone();
    let mut setup = Vec::new();
    let mut teardown = Vec::new();
    for g in &given {
        let rel = fixture_relation(engine, dialect, &tag, &g.model);
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
    let spine_rel = fixture_relation(engine, dialect, &tag, "time_spine");
    let spine = match &mut fixtures.time_spine {
        Some(ts) if !given.iter().any(|g| g.model_id == ts.model) => {
            ts.relation = spine_rel.clone();
            Some(ts.column.clone())
        }
        _ => None,
    };
    let p = plan(&fixtures, &query, dialect).map_err(|pe| {
        e.err(
            Some("query"),
            format!("metric unit test `{name}`: {}", pe.message),
            pe.hint.clone(),
        )
    })?;
    let sql = p.sql.trim().trim_end_matches(';').to_string();
    // Every model the query reads must be given.
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
    // A time spine the query needs, over the dates of the fixtures.
    if let Some(column) = spine {
        if sql.contains(&dialect.rel(&spine_rel)) {
            let mut dates: BTreeSet<String> = BTreeSet::new();
            for g in &given {
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
            for t in start_time.iter().chain(end_time.iter()) {
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
            let select = format!(
                "select cast(d as date) as {} from generate_series(cast({} as timestamp), cast({} as timestamp), interval '1 day') as t(d)",
                quote(&column),
                crate::sql::literal(first),
                crate::sql::literal(last)
            );
            setup.push(create_table(engine, dialect, &spine_rel, &select));
            teardown.push(format!("drop table if exists {}", dialect.rel(&spine_rel)));
        }
    }

    // Expected rows.
    let expect = match e.v.get("expect") {
        Some(Value::Object(x)) => {
            unknown_key(e, Some("expect"), "`expect`", x, EXPECT_KEYS)?;
            x.clone()
        }
        _ => {
            return Err(e.err(
                Some("expect"),
                format!("metric unit test `{name}` has no `expect` rows"),
                format!(
                    "e.g. expect:\n  rows:\n    - {{{}: 100}}",
                    p.columns.join(": ..., ")
                ),
            ))
        }
    };
    let expected_sql = sql_rows(&expect).map_err(|m| {
        e.err(
            Some("expect"),
            format!("metric unit test `{name}`, expect: {m}"),
            "with format: sql, `rows` is one select of the expected rows",
        )
    })?;
    let expected = fixture_rows(&expect).map_err(|m| {
        e.err(
            Some("expect"),
            format!("metric unit test `{name}`, expect: {m}"),
            "rows: [{column: value, ...}], format: csv with CSV text, or format: sql with a select",
        )
    })?;
    let tolerance = match expect.get("tolerance") {
        None | Some(Value::Null) => 0.0,
        Some(Value::Number(n)) if n.as_f64().is_some_and(|t| t >= 0.0) => n.as_f64().unwrap_or(0.0),
        Some(other) => {
            return Err(e.err(
                Some("expect"),
                format!(
                    "metric unit test `{name}`: `tolerance` must be a number >= 0, not `{other}`"
                ),
                "e.g. tolerance: 0.0001",
            ))
        }
    };
    let mut named: Vec<&String> = Vec::new();
    for r in &expected {
        for k in r.keys() {
            if !p.columns.contains(k) {
                return Err(e.err(
                    Some("expect"),
                    format!("metric unit test `{name}` expects column `{k}`, which the query does not return"),
                    format!(
                        "the query returns {}",
                        p.columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if !named.contains(&k) {
                named.push(k);
            }
        }
    }
    let columns: Vec<String> = if named.is_empty() {
        p.columns.clone()
    } else {
        p.columns
            .iter()
            .filter(|c| named.contains(c))
            .cloned()
            .collect()
    };
    let metric_columns: Vec<String> = columns
        .iter()
        .filter(|c| metrics.contains(c))
        .cloned()
        .collect();

    if config.get("enabled") == Some(&Value::Bool(false)) {
        return Ok(None);
    }
    let compiled = Compiled {
        metric: metric.to_string(),
        engine,
        setup,
        teardown: if engine == Engine::Target {
            teardown
        } else {
            vec![]
        },
        sql: sql.clone(),
        columns,
        metric_columns,
        expected,
        expected_sql,
        tolerance,
    };
    let pkg = target.package;
    let mut node = Node::new(
        unique_id,
        ResourceType::UnitTest,
        name.clone(),
        pkg.to_string(),
    );
    node.original_file_path = e.file.original_file_path.clone();
    node.path = e
        .file
        .original_file_path
        .split_once('/')
        .map(|(_, rest)| rest.to_string())
        .unwrap_or_else(|| e.file.original_file_path.clone());
    node.fqn = vec![pkg.to_string(), metric.to_string(), name.clone()];
    node.database = target.database.to_string();
    node.schema = target.schema.to_string();
    node.alias = name.clone();
    node.description =
        e.v.get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
    node.tags = str_list(config.get("tags"));
    let mut cfg = Map::new();
    cfg.insert(
        "tags".into(),
        Value::Array(node.tags.iter().cloned().map(Value::String).collect()),
    );
    cfg.insert(
        "meta".into(),
        config
            .get("meta")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new())),
    );
    cfg.insert("enabled".into(), Value::Bool(true));
    cfg.insert(
        "engine".into(),
        Value::String(
            match engine {
                Engine::Duckdb => "duckdb",
                Engine::Target => "target",
            }
            .into(),
        ),
    );
    node.config = cfg.into();
    node.raw_code = sql;
    node.checksum = {
        let def = Value::Object(e.v.clone()).to_string();
        crate::templating::local_md5(&def)
    };
    node.depends_on_nodes = metrics
        .iter()
        .map(|m| format!("metric.{pkg}.{m}"))
        .collect();
    node.definition = serde_json::json!({
        "model": Value::Null,
        "metric": metric,
        "given": e.v.get("given").cloned().unwrap_or(Value::Null),
        "expect": e.v.get("expect").cloned().unwrap_or(Value::Null),
        "overrides": Value::Null,
        "metric_unit_test": serde_json::to_value(&compiled).unwrap_or(Value::Null),
    });
    Ok(Some(node))
}

/// A time bound as text (YAML may read `2025-01-01` as a string or, unquoted in some forms, as
/// another scalar).
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
