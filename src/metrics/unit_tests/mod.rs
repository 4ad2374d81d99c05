//! Metric unit tests: the `metric_unit_tests:` entries of properties YAML. Each gives rows for the
//! models a metric reads (`given`), a metric query (`query`: group_by, where, start_time,
//! end_time) and the metric values it must return (`expect`), like a dbt unit test does for a
//! model. This module checks a definition and compiles it to the SQL that loads the fixtures and
//! the metric query over them; `diff` compares the rows a run returns with the expected ones (the
//! diff a user reads). Running the SQL is the executor's job (`execute::metric_unit`).
//!
//! Compiling one entry (`build`) runs in steps, each in its own file: the entry's own keys
//! (here), the `given` inputs (`given`), the `query` planned over the fixtures (`query`), the
//! `expect` block (`expect`) and the node (`node`); `fixtures` turns rows into the SQL of the
//! fixture tables.
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

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::data_tests::Target;
use super::model::SemanticLayer;
use super::{locate, ModelIndex, Step};
use crate::compile::Node;
use crate::diagnostics::{did_you_mean, Code, Diagnostic, Location};
use crate::project::YamlFile;

mod diff;
mod expect;
mod fixtures;
mod given;
mod node;
mod query;
pub(crate) use diff::compare;

/// The top-level key of the definitions.
pub(crate) const SECTION: &str = "metric_unit_tests";

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
pub(crate) enum Engine {
    /// A fresh in-memory DuckDB per test (the default).
    Duckdb,
    /// Temporary tables on the target's connection.
    Target,
}

/// A compiled metric unit test: what the executor runs and compares. Kept in the node's
/// `definition.metric_unit_test`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Compiled {
    pub(crate) metric: String,
    pub(crate) engine: Engine,
    /// Statements that create the fixture tables, in order.
    pub(crate) setup: Vec<String>,
    /// Statements that drop them (target engine only; an in-memory database just goes away).
    pub(crate) teardown: Vec<String>,
    /// The metric query over the fixtures.
    pub(crate) sql: String,
    /// The columns compared, in the query's order (group-by items, then the metric).
    pub(crate) columns: Vec<String>,
    /// Which of `columns` hold metric values (compared within `tolerance`).
    pub(crate) metric_columns: Vec<String>,
    pub(crate) expected: Vec<Map<String, Value>>,
    /// With `format: sql`, the select of the expected rows (run on the same engine; then
    /// `expected` is empty and `columns` are narrowed to the select's at run time).
    #[serde(default)]
    pub(crate) expected_sql: Option<String>,
    pub(crate) tolerance: f64,
}

/// True when a YAML file declares metric unit tests.
pub(crate) fn any_declared(files: &[YamlFile]) -> bool {
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
        let d = Diagnostic::error(Code::MetricUnitTest, msg).with_hint(hint);
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
pub(crate) fn unit_test_nodes(
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
                Code::MetricUnitTest,
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
                    Code::MetricUnitTest,
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

/// What an entry's own keys say: the metric under test, the `config`, and the engine.
struct Header<'a> {
    metric: &'a str,
    config: Map<String, Value>,
    engine: Engine,
}

/// Reads and checks the entry's own keys (`metric`, `config`), before its inputs.
fn header<'a>(e: &Entry<'a>, layer: &SemanticLayer) -> Result<Header<'a>, Diagnostic> {
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
    Ok(Header {
        metric,
        config,
        engine,
    })
}

/// Compiles one entry; `None` when it is disabled. The steps run in the order their errors are
/// reported: the entry's own keys, the `given` inputs, the `query` (planned over the fixtures),
/// the `expect` block; `enabled: false` is looked at last, so a disabled test is still checked.
fn build(
    e: &Entry,
    layer: &SemanticLayer,
    index: &ModelIndex,
    target: &Target,
) -> Result<Option<Node>, Diagnostic> {
    let Header {
        metric,
        config,
        engine,
    } = header(e, layer)?;
    let dialect = match engine {
        Engine::Duckdb => crate::adapters::IN_MEMORY_DIALECT,
        Engine::Target => target.dialect,
    };
    let unique_id = format!("unit_test.{}.{metric}.{}", target.package, e.name);
    let tag = crate::templating::local_md5(&unique_id)[..8].to_string();
    let given = given::given(e, layer, index)?;
    let query = query::query(e, layer, metric)?;
    let place = query::Place {
        engine,
        dialect,
        tag: &tag,
    };
    let planned = query::planned(e, layer, &given, &query, metric, place)?;
    let expected = expect::expected(e, &planned.columns, &query.metrics)?;
    if config.get("enabled") == Some(&Value::Bool(false)) {
        return Ok(None);
    }
    let compiled = Compiled {
        metric: metric.to_string(),
        engine,
        setup: planned.setup,
        teardown: if engine == Engine::Target {
            planned.teardown
        } else {
            vec![]
        },
        sql: planned.sql,
        columns: expected.columns,
        metric_columns: expected.metric_columns,
        expected: expected.rows,
        expected_sql: expected.sql,
        tolerance: expected.tolerance,
    };
    Ok(Some(node::node(
        e,
        target,
        unique_id,
        &config,
        &compiled,
        &query.metrics,
    )))
}
