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

mod definition;
mod kinds;
mod node;
use super::plan::{plan, MetricQuery};
use super::{locate, ModelIndex, Step};
use crate::compile::{Manifest, Node};
use crate::diagnostics::{Code, Diagnostic, Location};
use crate::project::config::str_list;
use crate::project::YamlFile;
use crate::sql::Dialect;

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
pub(crate) struct Target<'a> {
    pub(crate) package: &'a str,
    pub(crate) database: &'a str,
    pub(crate) schema: &'a str,
    pub(crate) dialect: Dialect,
    /// The run's start: relative windows (`last: 12 months`) and `freshness` count back from it.
    pub(crate) run_started_at: chrono::DateTime<chrono::Utc>,
    /// The project's (and its packages') custom metric test macros.
    pub(crate) test_macros: &'a [TestMacro],
}

/// A `{% test name(metric_query, ...) %}` macro: a custom metric test.
#[derive(Debug, Clone)]
pub(crate) struct TestMacro {
    pub(crate) unique_id: String,
    pub(crate) package: String,
    /// `name` of `{% test name(...) %}` (the macro is `test_<name>`).
    pub(crate) name: String,
    /// Its arguments after `metric_query`, `metric_name` and `group_by`.
    pub(crate) arguments: Vec<String>,
    /// Whether it is a metric test (first argument `metric_query`) rather than a model test.
    pub(crate) for_metrics: bool,
}

/// The arguments sluice passes to every custom metric test macro.
const MACRO_ARGS: &[&str] = &["metric_query", "metric_name", "group_by"];

/// The test macros of `manifest` (macros of sluice's built-in library excluded); those whose first
/// argument is `metric_query` are the custom metric tests a metric may declare.
pub(crate) fn test_macros(manifest: &Manifest) -> Vec<TestMacro> {
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
pub(crate) fn any_declared(files: &[YamlFile]) -> bool {
    // (A file that does not say `metrics` declares none: most files, read at a glance instead
    // of entry by entry.)
    files.iter().any(|f| {
        f.text.contains("metrics")
            && declared_metrics(f)
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
pub(crate) fn test_nodes(
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
                        Code::MetricTest,
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
                                    at_test(f, owner, name, Some(i), Code::MetricTest, format!("the arguments of metric test `{k}` must be a mapping"))
                                        .with_hint("e.g. accepted_range: {min: 0, group_by: [metric_time__month]}"),
                                );
                                continue;
                            }
                        }
                    }
                    _ => {
                        errors.push(
                            at_test(f, owner, name, Some(i), Code::MetricTest, "a metric test is a name or a mapping of one test name to its arguments")
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
                                    Code::MetricTest,
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
    code: Code,
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
        Code::MetricTest,
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
fn join_on(d: Dialect, cols: &[String], a: &str, b: &str) -> String {
    if cols.is_empty() {
        return "1 = 1".into();
    }
    cols.iter()
        .map(|c| format!("{a}.{} is not distinct from {b}.{}", d.quote(c), d.quote(c)))
        .collect::<Vec<_>>()
        .join(" and ")
}

fn select_cols(d: Dialect, cols: &[String], alias: &str) -> String {
    cols.iter()
        .map(|c| format!("{alias}.{}, ", d.quote(c)))
        .collect()
}

/// Compiles one definition; `None` when it is disabled. The steps run in the order their errors
/// are reported: the kind and its arguments, the config, the `last` window, the SQL (a built-in
/// kind's assertion or a custom macro's query); `enabled: false` is looked at last, so a disabled
/// test is still checked.
fn build(
    d: &Declared,
    layer: &SemanticLayer,
    index: &ModelIndex,
    target: &Target,
) -> Result<Option<Node>, Diagnostic> {
    let custom = definition::custom_macro(d, target);
    definition::check_arguments(d, target, custom)?;
    let (config, tags) = definition::config(d)?;
    let group_by = str_list(d.args.get("group_by"));
    let metric = d.metric.name.as_str();
    let mut models = BTreeSet::new();
    models_of(layer, d.metric, &mut models, 0);
    let mut name_parts = vec![format!("metric_{}", d.kind), metric.to_string()];
    // `last: 12 months`: a window ending at the run's start.
    let resolved = definition::window(d, target, &mut name_parts)?;
    let d = resolved.as_ref().unwrap_or(d);
    let (sql, custom) = match custom {
        None => {
            let sql = kinds::assertion(
                d,
                layer,
                index,
                target,
                &group_by,
                &mut name_parts,
                &mut models,
            )?;
            (sql, None)
        }
        // A custom test macro: it receives the metric query and returns the failing rows.
        Some(m) => {
            let (sql, kwargs) = node::custom_call(d, layer, &group_by, target, &mut name_parts)?;
            (sql, Some((m, kwargs)))
        }
    };
    if !group_by.is_empty() {
        name_parts.push(format!(
            "by_{}",
            slug(&Value::Array(
                group_by.iter().cloned().map(Value::String).collect()
            ))
        ));
    }
    node::joined_models(target.dialect, layer, &sql, &mut models);
    if config.get("enabled") == Some(&Value::Bool(false)) {
        return Ok(None);
    }
    let compiled = node::Compiled {
        sql,
        name_parts,
        models,
        config,
        tags,
        custom,
    };
    Ok(Some(node::node(d, target, compiled)))
}

/// Rows shown under a failing metric test.
pub(crate) const SHOWN_ROWS: usize = 5;

/// Explains a failing metric test's rows (as its SQL returns them: group-by items, then
/// `metric_value`, `expected`, `violation`), one line per row:
/// `customer__segment=smb: revenue = 200 (outside [0, 150])`.
pub(crate) fn explain(
    metric: &str,
    columns: &[String],
    rows: &[Vec<Value>],
    failures: u64,
) -> String {
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
