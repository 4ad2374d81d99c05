//! Data-quality tests on metrics: the `data_tests:` a metric declares in its YAML (`not_null`,
//! `accepted_range`, `additive_over`, `max_change`, `reconciles_with`, `freshness`) become test
//! nodes of the DAG, each holding SQL that returns the failing rows.
//!
//! Custom kinds are test macros whose first argument is `metric_query` (see [`test_macros`]); the
//! SQL of each built-in kind is in `kinds`. This module reads and checks the definitions, their
//! config, names and windows, and makes the nodes.
//!
//! Inputs: the project's YAML files (the test definitions and the lines diagnostics point at), the
//! loaded [`SemanticLayer`] and the parsed [`Manifest`] (for the models a metric reads). Output:
//! one [`Node`] of type `test` per enabled definition, or one diagnostic per bad definition.
//!
//! Design decision: a metric test compiles, at parse time, to plain SQL over the planner's metric
//! query (the same SQL `sluice metrics query` runs), and is then an ordinary test node: severity,
//! `warn_if`/`error_if`, `store_failures`, selection, skipping after a failed model and the
//! artifacts all come from the existing test machinery instead of a second one. Every assertion
//! returns the same columns (the group-by items, `metric_value`, `expected`, `violation`) so that
//! a failure can be explained row by row without knowing which kind of test produced it.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::model::{Grain, Metric, SemanticLayer};

mod kinds;
use super::plan::{plan, MetricQuery};
use super::{locate, ModelIndex, Step};
use crate::compile::{Manifest, Node, ResourceType};
use crate::diagnostics::{Diagnostic, Location};
use crate::project::config::str_list;
use crate::project::YamlFile;
use crate::sql::{quote, Dialect};

/// The test kinds a metric may declare, and the arguments each takes (besides the common ones).
const KINDS: &[(&str, &[&str])] = &[
    ("not_null", &[]),
    ("accepted_range", &["min", "max", "inclusive"]),
    ("additive_over", &["dimension", "tolerance"]),
    ("max_change", &["grain", "max", "max_percent"]),
    ("reconciles_with", &["metric", "expression", "tolerance"]),
    ("freshness", &["max_lag", "grain"]),
];

/// Arguments every kind takes.
const COMMON: &[&str] = &[
    "group_by",
    "start_time",
    "end_time",
    "last",
    "name",
    "config",
];

/// Test config keys, accepted at the top level of the arguments or under `config:`.
const CONFIG_KEYS: &[&str] = &[
    "severity",
    "warn_if",
    "error_if",
    "where",
    "enabled",
    "tags",
    "store_failures",
    "meta",
    "limit",
];

/// Where the SQL of a test is going and what it may name.
pub struct Target<'a> {
    pub package: &'a str,
    pub database: &'a str,
    pub schema: &'a str,
    pub dialect: Dialect,
    /// The run's start: relative windows (`last: 12 months`) and `freshness` count back from it.
    pub run_started_at: chrono::DateTime<chrono::Utc>,
    /// The project's (and its packages') custom metric test macros.
    pub test_macros: &'a [TestMacro],
}

/// A `{% test name(metric_query, ...) %}` macro: a custom metric test.
#[derive(Debug, Clone)]
pub struct TestMacro {
    pub unique_id: String,
    pub package: String,
    /// `name` of `{% test name(...) %}` (the macro is `test_<name>`).
    pub name: String,
    /// Its arguments after `metric_query`, `metric_name` and `group_by`.
    pub arguments: Vec<String>,
    /// Whether it is a metric test (first argument `metric_query`) rather than a model test.
    pub for_metrics: bool,
}

/// The arguments sluice passes to every custom metric test macro.
const MACRO_ARGS: &[&str] = &["metric_query", "metric_name", "group_by"];

/// The test macros of `manifest` (macros of sluice's built-in library excluded); those whose first
/// argument is `metric_query` are the custom metric tests a metric may declare.
pub fn test_macros(manifest: &Manifest) -> Vec<TestMacro> {
    manifest
        .macros
        .values()
        .filter(|m| m.package != crate::templating::BUILTIN_PACKAGE)
        .filter_map(|m| {
            Some(TestMacro {
                unique_id: m.unique_id.clone(),
                package: m.package.clone(),
                name: m.name.strip_prefix("test_")?.to_string(),
                arguments: m
                    .arguments
                    .iter()
                    .filter(|a| !MACRO_ARGS.contains(&a.as_str()))
                    .cloned()
                    .collect(),
                for_metrics: m.arguments.first().map(String::as_str) == Some("metric_query"),
            })
        })
        .collect()
}

/// True when any metric of the project declares `data_tests:` (the cheap check before loading
/// the semantic layer).
pub fn any_declared(files: &[YamlFile]) -> bool {
    files.iter().any(|f| {
        declared_metrics(f)
            .iter()
            .any(|(_, m)| m.get("data_tests").is_some())
    })
}

/// The metrics a YAML file declares, each with the model it is written under (the latest spec's
/// `models: - metrics:`), or `None` for the top-level `metrics:`.
fn declared_metrics(f: &YamlFile) -> Vec<(Option<&str>, &Value)> {
    let mut out: Vec<(Option<&str>, &Value)> = Vec::new();
    if let Some(Value::Array(ms)) = f.value.get("metrics") {
        out.extend(ms.iter().map(|m| (None, m)));
    }
    if let Some(Value::Array(models)) = f.value.get("models") {
        for model in models {
            let owner = model.get("name").and_then(Value::as_str);
            if let (Some(owner), Some(Value::Array(ms))) = (owner, model.get("metrics")) {
                out.extend(ms.iter().map(|m| (Some(owner), m)));
            }
        }
    }
    out
}

/// Loads the semantic layer and adds the test node of every metric's `data_tests:` and of every
/// `metric_unit_tests:` entry to `manifest` (nothing to do, and nothing loaded, when there are
/// none).
pub fn attach(
    files: &[YamlFile],
    manifest: &mut Manifest,
    target: &crate::project::Target,
    package: &str,
    run_started_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), Vec<Diagnostic>> {
    if !any_declared(files) && !super::unit_tests::any_declared(files) {
        return Ok(());
    }
    let index = ModelIndex::from_manifest(manifest);
    let (layer, mut errors) = super::load_indexed(files, &index);
    if errors.is_empty() {
        errors = super::validate::validate(&layer, files);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let t = Target {
        package,
        database: &target.database,
        schema: &target.schema,
        dialect: target.dialect,
        run_started_at,
        test_macros: &test_macros(manifest),
    };
    let tests = test_nodes(files, &layer, &index, &t);
    let units = super::unit_tests::unit_test_nodes(files, &layer, &index, &t);
    match (tests, units) {
        (Ok(tests), Ok(units)) => {
            for node in tests {
                manifest
                    .nodes
                    .insert(node.unique_id.clone(), Box::new(node));
            }
            let mut errors = Vec::new();
            for node in units {
                if manifest.unit_tests.contains_key(&node.unique_id) {
                    errors.push(
                        Diagnostic::error(
                            "metric-unit-test",
                            format!(
                                "metric unit test `{}` has the id of a unit test of a model: `{}`",
                                node.name, node.unique_id
                            ),
                        )
                        .in_file(&node.original_file_path)
                        .with_hint("rename one of them"),
                    );
                    continue;
                }
                manifest.unit_tests.insert(node.unique_id.clone(), node);
            }
            if errors.is_empty() {
                Ok(())
            } else {
                Err(errors)
            }
        }
        (tests, units) => Err(tests
            .err()
            .into_iter()
            .chain(units.err())
            .flatten()
            .collect()),
    }
}

/// One definition as written: which metric, which file, which list item.
struct Declared<'a> {
    metric: &'a Metric,
    file: &'a YamlFile,
    /// The model the metric is written under (latest spec), if any.
    owner: Option<&'a str>,
    index: usize,
    kind: String,
    args: Map<String, Value>,
    /// `last: 12 months` resolved against the run's start: (start_time, end_time).
    window: Option<(String, String)>,
}

/// The test nodes of every metric's `data_tests:`.
pub fn test_nodes(
    files: &[YamlFile],
    layer: &SemanticLayer,
    index: &ModelIndex,
    target: &Target,
) -> Result<Vec<Node>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut out: Vec<Node> = Vec::new();
    for f in files {
        for (owner, m) in declared_metrics(f) {
            let Some(tests) = m.get("data_tests") else {
                continue;
            };
            let name = m.get("name").and_then(Value::as_str).unwrap_or("");
            let Some(metric) = layer.metric(name) else {
                continue;
            };
            let Value::Array(tests) = tests else {
                errors.push(
                    at_test(
                        f,
                        owner,
                        name,
                        None,
                        "metric-test",
                        "`data_tests` must be a list",
                    )
                    .with_hint("e.g. data_tests: [not_null]"),
                );
                continue;
            };
            for (i, t) in tests.iter().enumerate() {
                let (kind, args) = match t {
                    Value::String(s) => (s.clone(), Map::new()),
                    Value::Object(o) if o.len() == 1 => {
                        let (k, v) = o
                            .iter()
                            .next()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .unwrap_or_default();
                        match v {
                            Value::Object(a) => (k, a),
                            Value::Null => (k, Map::new()),
                            _ => {
                                errors.push(
                                    at_test(f, owner, name, Some(i), "metric-test", format!("the arguments of metric test `{k}` must be a mapping"))
                                        .with_hint("e.g. accepted_range: {min: 0, group_by: [metric_time__month]}"),
                                );
                                continue;
                            }
                        }
                    }
                    _ => {
                        errors.push(
                            at_test(f, owner, name, Some(i), "metric-test", "a metric test is a name or a mapping of one test name to its arguments")
                                .with_hint("e.g. - not_null  or  - accepted_range: {min: 0}"),
                        );
                        continue;
                    }
                };
                let d = Declared {
                    metric,
                    file: f,
                    owner,
                    index: i,
                    kind,
                    args,
                    window: None,
                };
                match build(&d, layer, index, target) {
                    Ok(Some(node)) => {
                        if out.iter().any(|n| n.unique_id == node.unique_id) {
                            errors.push(
                                at_test(
                                    f,
                                    owner,
                                    name,
                                    Some(i),
                                    "metric-test",
                                    format!("two metric tests are named `{}`", node.name),
                                )
                                .with_hint("give one of them a `name:`"),
                            );
                        } else {
                            out.push(node);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => errors.push(e),
                }
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

/// A diagnostic at the `index`-th entry of `metric`'s `data_tests:` (or at the metric).
fn at_test(
    f: &YamlFile,
    owner: Option<&str>,
    metric: &str,
    index: Option<usize>,
    code: &'static str,
    msg: impl Into<String>,
) -> Diagnostic {
    let d = Diagnostic::error(code, msg);
    match test_location(&f.text, owner, metric, index) {
        Some((l, c)) => d.at(Location::at(&f.original_file_path, l, c)),
        None => d.in_file(&f.original_file_path),
    }
}

/// 1-based (line, column) of the `index`-th item under `data_tests:` of `metric` (written under
/// model `owner`, or at the top level).
fn test_location(
    text: &str,
    owner: Option<&str>,
    metric: &str,
    index: Option<usize>,
) -> Option<(usize, usize)> {
    let key = match owner {
        None => locate(
            text,
            "metrics",
            &[Step::Name(metric), Step::Key("data_tests")],
        )?,
        Some(model) => locate(
            text,
            "models",
            &[
                Step::Name(model),
                Step::Key("metrics"),
                Step::Name(metric),
                Step::Key("data_tests"),
            ],
        )?,
    };
    let Some(index) = index else {
        return Some(key);
    };
    let lines: Vec<&str> = text.lines().collect();
    let base = key.1 - 1;
    let mut item_indent = None;
    let mut n = 0;
    for (j, l) in lines.iter().enumerate().skip(key.0) {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let ind = l.len() - t.len();
        if ind < base || (ind == base && !t.starts_with("- ")) {
            break;
        }
        if t.starts_with("- ") && *item_indent.get_or_insert(ind) == ind {
            if n == index {
                return Some((j + 1, ind + 3));
            }
            n += 1;
        }
    }
    Some(key)
}

fn err(d: &Declared, msg: impl Into<String>, hint: impl Into<String>) -> Diagnostic {
    at_test(
        d.file,
        d.owner,
        &d.metric.name,
        Some(d.index),
        "metric-test",
        msg,
    )
    .with_hint(hint)
}

fn number(d: &Declared, key: &str) -> Result<Option<f64>, Diagnostic> {
    match d.args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) if s.trim().parse::<f64>().is_ok() => Ok(s.trim().parse().ok()),
        Some(other) => Err(err(
            d,
            format!(
                "`{key}` of metric test `{}` must be a number, not `{other}`",
                d.kind
            ),
            format!("e.g. {key}: 0"),
        )),
    }
}

/// A number as SQL (integers without a fraction).
fn num_sql(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// `3 days`, `1 month`, `12 hours` -> (3, Day)...
fn parse_lag(s: &str) -> Option<(u32, Grain)> {
    let mut it = s.split_whitespace();
    let count: u32 = it.next()?.parse().ok()?;
    let unit = it.next()?.trim_end_matches('s');
    if it.next().is_some() {
        return None;
    }
    Some((count, Grain::parse_exact(unit)?))
}

/// The date `count` `unit`s before `at` (calendar months for month, quarter and year), as
/// `YYYY-MM-DD`.
fn back_from(at: chrono::DateTime<chrono::Utc>, count: u32, unit: Grain) -> String {
    use chrono::{Days, Months};
    let day = at.date_naive();
    let back = match unit {
        Grain::Day => day.checked_sub_days(Days::new(u64::from(count))),
        Grain::Week => day.checked_sub_days(Days::new(7 * u64::from(count))),
        Grain::Month => day.checked_sub_months(Months::new(count)),
        Grain::Quarter => day.checked_sub_months(Months::new(3 * count)),
        Grain::Year => day.checked_sub_months(Months::new(12 * count)),
    };
    back.unwrap_or(day).format("%Y-%m-%d").to_string()
}

/// The SQL test's name part for an argument value.
fn slug(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(slug).collect::<Vec<_>>().join("_"),
        o => o.to_string(),
    };
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect::<String>()
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Every model `metric` reads, through its input metrics and measures.
fn models_of(layer: &SemanticLayer, metric: &Metric, out: &mut BTreeSet<String>, depth: usize) {
    if depth > 20 {
        return;
    }
    let tp = &metric.type_params;
    let mut measures: Vec<&str> = Vec::new();
    if let Some(m) = &tp.measure {
        measures.push(&m.name);
    }
    if let Some(c) = &tp.conversion_type_params {
        for m in [&c.base_measure, &c.conversion_measure]
            .into_iter()
            .flatten()
        {
            measures.push(&m.name);
        }
    }
    for name in measures {
        if let Some((sm, _)) = layer.measure(name) {
            if let Some(id) = &sm.depends_on {
                out.insert(id.clone());
            }
        }
    }
    let inputs = tp
        .metrics
        .iter()
        .chain(tp.numerator.iter())
        .chain(tp.denominator.iter());
    for i in inputs {
        if let Some(m) = layer.metric(&i.name) {
            models_of(layer, m, out, depth + 1);
        }
    }
    // Metrics named in filters: `{{ Metric('x', ...) }}`.
    for f in &metric.filter {
        for cap in METRIC_IN_FILTER.captures_iter(f) {
            if let Some(m) = layer.metric(&cap[1]) {
                models_of(layer, m, out, depth + 1);
            }
        }
    }
}

static METRIC_IN_FILTER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"Metric\(\s*['"]([^'"]+)['"]"#).expect("valid regex")
});
static REF_CALL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"ref\(\s*['"]([^'"]+)['"]\s*\)"#).expect("valid regex")
});

/// The planned SQL of `metric` grouped by `group_by`, and its columns (group items, then the
/// metric).
fn query(
    d: &Declared,
    layer: &SemanticLayer,
    metric: &str,
    group_by: &[String],
    target: &Target,
) -> Result<(String, Vec<String>), Diagnostic> {
    let q = MetricQuery {
        metrics: vec![metric.to_string()],
        group_by: group_by.to_vec(),
        where_: str_list(
            d.args
                .get("where")
                .or_else(|| d.args.get("config").and_then(|c| c.get("where"))),
        ),
        start_time: match &d.window {
            Some((start, _)) => Some(start.clone()),
            None => d
                .args
                .get("start_time")
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        end_time: match &d.window {
            Some((_, end)) => Some(end.clone()),
            None => d
                .args
                .get("end_time")
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        ..Default::default()
    };
    let p = plan(layer, &q, target.dialect).map_err(|e| {
        err(
            d,
            format!(
                "metric test `{}` on metric `{}`: {}",
                d.kind, d.metric.name, e.message
            ),
            e.hint.clone(),
        )
    })?;
    Ok((p.sql.trim().trim_end_matches(';').to_string(), p.columns))
}

/// `a.x is not distinct from b.x and ...` over the group columns (`true` with none).
fn join_on(cols: &[String], a: &str, b: &str) -> String {
    if cols.is_empty() {
        return "1 = 1".into();
    }
    cols.iter()
        .map(|c| format!("{a}.{} is not distinct from {b}.{}", quote(c), quote(c)))
        .collect::<Vec<_>>()
        .join(" and ")
}

fn select_cols(cols: &[String], alias: &str) -> String {
    cols.iter()
        .map(|c| format!("{alias}.{}, ", quote(c)))
        .collect()
}

/// Compiles one definition; `None` when it is disabled.
fn build(
    d: &Declared,
    layer: &SemanticLayer,
    index: &ModelIndex,
    target: &Target,
) -> Result<Option<Node>, Diagnostic> {
    // A built-in kind, else a custom test macro (`name` or `package.name`).
    let custom = if KINDS.iter().any(|(k, _)| *k == d.kind) {
        None
    } else {
        let (pkg, name) = match d.kind.split_once('.') {
            Some((p, n)) => (Some(p), n),
            None => (None, d.kind.as_str()),
        };
        let mut found: Vec<&TestMacro> = target
            .test_macros
            .iter()
            .filter(|m| m.for_metrics && m.name == name && pkg.is_none_or(|p| p == m.package))
            .collect();
        // The project's own macro wins over a package's, as dbt resolves names.
        found.sort_by_key(|m| m.package != target.package);
        found.first().copied()
    };
    let custom_args: Vec<&str>;
    let allowed: &[&str] = match (KINDS.iter().find(|(k, _)| *k == d.kind), custom) {
        (Some((_, a)), _) => a,
        (None, Some(m)) => {
            custom_args = m.arguments.iter().map(String::as_str).collect();
            &custom_args
        }
        (None, None) if target.test_macros.iter().any(|m| m.name == d.kind) => {
            return Err(err(
                d,
                format!(
                    "`{}` on metric `{}` is a model test, not a metric test",
                    d.kind, d.metric.name
                ),
                format!("a metric test macro takes the metric query first: `{{% test {}(metric_query, metric_name, group_by, ...) %}}`", d.kind),
            ))
        }
        (None, None) => return Err(err(
            d,
            format!(
                "unknown metric test `{}` on metric `{}`",
                d.kind, d.metric.name
            ),
            crate::diagnostics::did_you_mean(
                &d.kind,
                KINDS
                    .iter()
                    .map(|(k, _)| *k)
                    .chain(
                        target
                            .test_macros
                            .iter()
                            .filter(|m| m.for_metrics)
                            .map(|m| m.name.as_str()),
                    ),
            )
            .unwrap_or_else(|| {
                format!(
                    "metric tests are {}, or a custom test macro `{{% test {}(metric_query, metric_name, group_by, ...) %}}`",
                    KINDS
                        .iter()
                        .map(|(k, _)| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    d.kind
                )
            }),
        )),
    };
    for k in d.args.keys() {
        if !allowed.contains(&k.as_str())
            && !COMMON.contains(&k.as_str())
            && !CONFIG_KEYS.contains(&k.as_str())
        {
            let mut known: Vec<&str> = allowed.to_vec();
            known.extend(COMMON);
            return Err(err(
                d,
                format!(
                    "metric test `{}` on metric `{}` has no argument `{k}`",
                    d.kind, d.metric.name
                ),
                crate::diagnostics::did_you_mean(k, known.iter().copied()).unwrap_or_else(|| {
                    format!(
                        "its arguments are {}",
                        known
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
            ));
        }
    }
    // Config: top-level keys, then `config:` (which wins).
    let mut config = crate::compile::default_config(ResourceType::Test);
    for k in CONFIG_KEYS {
        if let Some(v) = d.args.get(*k) {
            config.insert((*k).to_string(), v.clone());
        }
    }
    match d.args.get("config") {
        Some(Value::Object(c)) => {
            for (k, v) in c {
                config.insert(k.clone(), v.clone());
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => {
            return Err(err(
                d,
                "`config` of a metric test must be a mapping",
                "e.g. config: {severity: warn}",
            ))
        }
    }
    if let Some(Value::String(s)) = config.get("severity").cloned() {
        if !s.eq_ignore_ascii_case("warn") && !s.eq_ignore_ascii_case("error") {
            return Err(err(
                d,
                format!("severity `{s}` of a metric test is neither `warn` nor `error`"),
                "severity: warn or severity: error",
            ));
        }
        config.insert("severity".into(), Value::String(s.to_ascii_uppercase()));
    }
    let tags = str_list(config.get("tags"));
    config.insert(
        "tags".into(),
        Value::Array(tags.iter().cloned().map(Value::String).collect()),
    );

    let group_by = str_list(d.args.get("group_by"));
    let metric = d.metric.name.as_str();
    let mut models = BTreeSet::new();
    models_of(layer, d.metric, &mut models, 0);
    let mut name_parts = vec![format!("metric_{}", d.kind), metric.to_string()];
    let mut custom_kwargs: Option<Map<String, Value>> = None;
    // `last: 12 months`: a window ending at the run's start.
    let resolved;
    let d = match d.args.get("last") {
        None | Some(Value::Null) => d,
        Some(v) => {
            let Some((count, unit)) = v.as_str().and_then(parse_lag) else {
                return Err(err(
                    d,
                    format!(
                        "`last` of metric test `{}` on metric `{metric}` must read like `12 months`, not `{}`",
                        d.kind,
                        v.as_str().map_or_else(|| v.to_string(), str::to_string)
                    ),
                    "last: <count> <day|week|month|quarter|year>s",
                ));
            };
            if d.args.contains_key("start_time") || d.args.contains_key("end_time") {
                return Err(err(
                    d,
                    format!("metric test `{}` on metric `{metric}` has both `last` and `start_time`/`end_time`", d.kind),
                    "`last` is a window ending at the run's start: keep one of them",
                ));
            }
            if d.kind == "freshness" {
                return Err(err(
                    d,
                    "metric test `freshness` takes `max_lag`, not `last`",
                    "e.g. max_lag: 2 days",
                ));
            }
            name_parts.push(format!("last_{count}_{}s", unit.as_str()));
            resolved = Declared {
                metric: d.metric,
                file: d.file,
                owner: d.owner,
                index: d.index,
                kind: d.kind.clone(),
                args: d.args.clone(),
                window: Some((
                    back_from(target.run_started_at, count, unit),
                    target
                        .run_started_at
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string(),
                )),
            };
            &resolved
        }
    };
    let sql = if custom.is_none() {
        kinds::assertion(
            d,
            layer,
            index,
            target,
            &group_by,
            &mut name_parts,
            &mut models,
        )?
    } else {
        // A custom test macro: it receives the metric query and returns the failing rows.
        let (q, cols) = query(d, layer, metric, &group_by, target)?;
        let mut kwargs = Map::new();
        for (k, v) in &d.args {
            if !COMMON.contains(&k.as_str()) && !CONFIG_KEYS.contains(&k.as_str()) {
                kwargs.insert(k.clone(), v.clone());
            }
        }
        kwargs.insert(
            "group_by".into(),
            Value::Array(
                cols[..cols.len() - 1]
                    .iter()
                    .cloned()
                    .map(Value::String)
                    .collect(),
            ),
        );
        kwargs.insert("metric_name".into(), Value::String(metric.to_string()));
        kwargs.insert("metric_query".into(), Value::String(q.clone()));
        custom_kwargs = Some(kwargs);
        let kind = slug(&Value::String(d.kind.clone()));
        name_parts[0] = if kind.starts_with("metric_") {
            kind
        } else {
            format!("metric_{kind}")
        };
        q
    };
    if !group_by.is_empty() {
        name_parts.push(format!(
            "by_{}",
            slug(&Value::Array(
                group_by.iter().cloned().map(Value::String).collect()
            ))
        ));
    }
    // Models joined in for a dimension (`account__segment` from `dim_accounts`) are read too.
    for sm in &layer.semantic_models {
        if let (Some(rel), Some(id)) = (&sm.relation, &sm.depends_on) {
            if sql.contains(&format!(
                "{}.{}",
                quote(&rel.schema),
                quote(&rel.identifier)
            )) {
                models.insert(id.clone());
            }
        }
    }
    if config.get("enabled") == Some(&Value::Bool(false)) {
        return Ok(None);
    }
    let name = match d.args.get("name").and_then(Value::as_str) {
        Some(n) => n.to_string(),
        None => name_parts.join("_"),
    };
    let hash = {
        use md5::{Digest, Md5};
        let def = serde_json::json!({"metric": metric, "kind": d.kind, "args": d.args});
        let h = Md5::digest(def.to_string().as_bytes());
        h.iter().map(|b| format!("{b:02x}")).collect::<String>()[..10].to_string()
    };
    let pkg = target.package;
    let mut node = Node::new(
        format!("test.{pkg}.{name}.{hash}"),
        ResourceType::Test,
        name.clone(),
        pkg.to_string(),
    );
    node.alias = config
        .get("alias")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| name.clone());
    node.path = format!("{}.sql", node.alias);
    node.original_file_path = d.file.original_file_path.clone();
    node.patch_path = None;
    node.fqn = vec![
        pkg.to_string(),
        "metrics".into(),
        metric.to_string(),
        name.clone(),
    ];
    node.database = target.database.to_string();
    node.schema = format!("{}_dbt_test__audit", target.schema);
    node.raw_code = sql;
    node.checksum = hash.clone();
    node.tags = tags;
    node.config = config.into();
    node.file_key_name = Some(format!("metrics.{metric}"));
    node.depends_on_nodes = models.into_iter().collect();
    node.depends_on_nodes.push(format!("metric.{pkg}.{metric}"));
    node.definition = serde_json::json!({
        "metric_test": {"metric": metric, "kind": d.kind, "args": d.args}
    });
    if let (Some(m), Some(kwargs)) = (custom, custom_kwargs) {
        // Rendered like a generic test: the macro called with these kwargs.
        let namespace = (m.package != target.package).then(|| m.package.clone());
        node.raw_code = match &namespace {
            Some(ns) => format!("{{{{ {ns}.test_{}(**_dbt_generic_test_kwargs) }}}}", m.name),
            None => format!("{{{{ test_{}(**_dbt_generic_test_kwargs) }}}}", m.name),
        };
        node.depends_on_macros = vec![m.unique_id.clone()];
        node.test_metadata = Some(crate::compile::TestMetadata {
            name: m.name.clone(),
            namespace,
            kwargs,
        });
    }
    Ok(Some(node))
}

/// Rows shown under a failing metric test.
pub const SHOWN_ROWS: usize = 5;

/// Explains a failing metric test's rows (as its SQL returns them: group-by items, then
/// `metric_value`, `expected`, `violation`), one line per row:
/// `customer__segment=smb: revenue = 200 (outside [0, 150])`.
pub fn explain(metric: &str, columns: &[String], rows: &[Vec<Value>], failures: u64) -> String {
    let show = |v: &Value| match v {
        Value::Null => "null".to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            Some(f) => {
                let s = format!("{f:.6}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            }
            None => n.to_string(),
        },
        Value::String(s) => s
            .trim_end_matches("T00:00:00")
            .trim_end_matches(" 00:00:00")
            .to_string(),
        o => o.to_string(),
    };
    let pos = |name: &str| columns.iter().position(|c| c == name);
    let (Some(vi), Some(ei), Some(wi)) = (pos("metric_value"), pos("expected"), pos("violation"))
    else {
        return String::new();
    };
    let mut out = Vec::new();
    for r in rows.iter().take(SHOWN_ROWS) {
        let groups: Vec<String> = columns
            .iter()
            .enumerate()
            .filter(|(i, _)| ![vi, ei, wi].contains(i))
            .map(|(i, c)| format!("{c}={}", r.get(i).map(show).unwrap_or_default()))
            .collect();
        let lead = if groups.is_empty() {
            "overall".to_string()
        } else {
            groups.join(", ")
        };
        let value = r.get(vi).map(show).unwrap_or_default();
        let violation = r.get(wi).map(show).unwrap_or_default();
        let expected = match r.get(ei) {
            Some(Value::Null) | None => String::new(),
            Some(e) => format!(", expected {}", show(e)),
        };
        out.push(format!(
            "  {lead}: {metric} = {value} ({violation}{expected})"
        ));
    }
    if failures as usize > rows.len().min(SHOWN_ROWS) {
        out.push(format!(
            "  ... and {} more",
            failures as usize - rows.len().min(SHOWN_ROWS)
        ));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lags_and_slugs() {
        assert_eq!(parse_lag("3 days"), Some((3, Grain::Day)));
        assert_eq!(parse_lag("1 month"), Some((1, Grain::Month)));
        assert_eq!(parse_lag("three days"), None);
        assert_eq!(
            slug(&Value::String("customer__segment".into())),
            "customer_segment"
        );
        assert_eq!(num_sql(0.5), "0.5");
        assert_eq!(num_sql(10.0), "10");
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-31T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(back_from(at, 1, Grain::Month), "2026-02-28");
        assert_eq!(back_from(at, 2, Grain::Week), "2026-03-17");
        assert_eq!(back_from(at, 1, Grain::Quarter), "2025-12-31");
        assert_eq!(back_from(at, 12, Grain::Month), "2025-03-31");
    }

    #[test]
    fn locates_the_nth_test() {
        let text = "metrics:\n  - name: arr\n    type: simple\n    data_tests:\n      - not_null\n      - accepted_range:\n          min: 0\n  - name: b\n";
        assert_eq!(test_location(text, None, "arr", Some(0)), Some((5, 9)));
        assert_eq!(test_location(text, None, "arr", Some(1)), Some((6, 9)));
        assert_eq!(test_location(text, None, "arr", None), Some((4, 5)));
        let nested = "models:\n  - name: orders\n    metrics:\n      - name: revenue\n        data_tests:\n          - not_null\n";
        assert_eq!(
            test_location(nested, Some("orders"), "revenue", Some(0)),
            Some((6, 13))
        );
    }
}
