//! The latest semantic layer YAML spec (dbt Core 1.12, Fusion), where semantics sit on the model:
//! `semantic_model: true` (or a mapping with `enabled`, `name`, `group`, `config`) on a model's
//! properties, `agg_time_dimension` and `primary_entity` beside it, `entity:` / `dimension:` /
//! `granularity:` on columns, `derived_semantics:` for expression entities and dimensions, and
//! `metrics:` under the model (simple metrics carry `agg`, `expr`, `percentile`, ... themselves);
//! top-level metrics lose `type_params` (`numerator`, `input_metrics`, `input_metric`, `window`,
//! `base_metric` ... are keys of the metric).
//!
//! Source of the shape: dbt's docs "Migrate to the latest YAML spec" (docs/build/latest-metrics-spec)
//! and "Semantic model properties" (reference/semantic-model-properties), checked against the
//! column and model property types of dbt-fusion (`ColumnProperties.entity` / `.dimension` /
//! `.granularity`, `ModelProperties.semantic_model` / `agg_time_dimension` / `derived_semantics`).
//!
//! Design decision: the latest spec is rewritten here, as YAML values, into the legacy shape
//! (`semantic_models:` entries with measures, `metrics:` entries with `type_params`) before the
//! one deserializer reads it: a simple metric becomes a measure of the same name plus a simple
//! metric over that measure, exactly what a legacy author writes. Validation, planning, the query
//! cache and `semantic_manifest.json` then see one internal model and need no second code path.

use serde_json::{json, Map, Value};

/// Whether a model's properties enable a semantic model (`semantic_model: true`, or a mapping
/// whose `enabled` is not false).
pub(crate) fn enabled(model: &Value) -> bool {
    match model.get("semantic_model") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Object(m)) => m.get("enabled").and_then(Value::as_bool).unwrap_or(true),
        _ => false,
    }
}

fn put(out: &mut Map<String, Value>, key: &str, v: Option<&Value>) {
    if let Some(v) = v.filter(|v| !v.is_null()) {
        out.insert(key.to_string(), v.clone());
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Whether a metric's `type:` is `kind`, in any case (MetricFlow reads `type: SIMPLE`).
fn type_is(v: &Value, kind: &str) -> bool {
    str_of(v, "type").is_some_and(|t| t.eq_ignore_ascii_case(kind))
}

/// The legacy `semantic_models:` entry and `metrics:` entries a model's properties define.
pub(crate) fn from_model(model: &Value) -> Option<(Value, Vec<Value>)> {
    if !enabled(model) {
        return None;
    }
    let model_name = str_of(model, "name")?;
    let spec = model.get("semantic_model");
    let mut sm = Map::new();
    let name = spec
        .and_then(|s| str_of(s, "name"))
        .unwrap_or(model_name)
        .to_string();
    sm.insert("name".into(), json!(name));
    sm.insert("model".into(), json!(format!("ref('{model_name}')")));
    put(&mut sm, "description", model.get("description"));
    if let Some(Value::Object(s)) = spec {
        put(&mut sm, "label", s.get("label"));
        let mut config = s
            .get("config")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(g) = s.get("group").filter(|g| !g.is_null()) {
            config.insert("group".into(), g.clone());
        }
        if !config.is_empty() {
            sm.insert("config".into(), Value::Object(config));
        }
    }
    if let Some(t) = model.get("agg_time_dimension").filter(|t| !t.is_null()) {
        sm.insert("defaults".into(), json!({ "agg_time_dimension": t }));
    }
    put(&mut sm, "primary_entity", model.get("primary_entity"));

    let mut entities = Vec::new();
    let mut dimensions = Vec::new();
    for col in model
        .get("columns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(cname) = str_of(col, "name") else {
            continue;
        };
        if let Some(e) = col.get("entity") {
            entities.push(column_element(e, cname, None));
        }
        if let Some(d) = col.get("dimension") {
            dimensions.push(column_element(d, cname, col.get("granularity")));
        }
    }
    let derived = model.get("derived_semantics");
    for e in derived
        .and_then(|d| d.get("entities"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        entities.push(e.clone());
    }
    for d in derived
        .and_then(|d| d.get("dimensions"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut d = d.as_object().cloned().unwrap_or_default();
        let granularity = d.remove("granularity");
        if let Some(g) = granularity.filter(|g| !g.is_null()) {
            d.insert("type_params".into(), json!({ "time_granularity": g }));
        }
        dimensions.push(Value::Object(d));
    }
    if !entities.is_empty() {
        sm.insert("entities".into(), Value::Array(entities));
    }
    if !dimensions.is_empty() {
        sm.insert("dimensions".into(), Value::Array(dimensions));
    }

    let mut measures = Vec::new();
    let mut metrics = Vec::new();
    for m in model
        .get("metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if type_is(m, "simple") && m.get("type_params").is_none() {
            let (measure, metric) = simple_metric(m);
            measures.push(measure);
            metrics.push(metric);
        } else {
            metrics.push(metric(m));
        }
    }
    if !measures.is_empty() {
        sm.insert("measures".into(), Value::Array(measures));
    }
    Some((Value::Object(sm), metrics))
}

/// A column's `entity:` or `dimension:` as a legacy entity or dimension: the shorthand
/// (`entity: primary`) or the mapping; the name defaults to the column's, and the column becomes
/// `expr` when the name differs. A time dimension takes the column's `granularity`.
fn column_element(v: &Value, column: &str, granularity: Option<&Value>) -> Value {
    let mut out = match v {
        Value::String(kind) => {
            let mut m = Map::new();
            m.insert("type".into(), json!(kind));
            m
        }
        Value::Object(m) => m.clone(),
        other => {
            // Left for the deserializer to reject with its own message.
            let mut m = Map::new();
            m.insert("type".into(), other.clone());
            m
        }
    };
    let name = out
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(column)
        .to_string();
    out.insert("name".into(), json!(name));
    if name != column && !out.contains_key("expr") {
        out.insert("expr".into(), json!(column));
    }
    let validity = out.remove("validity_params");
    let is_time = out.get("type").and_then(Value::as_str) == Some("time");
    if is_time || validity.is_some() {
        let mut tp = Map::new();
        if let Some(g) = granularity.filter(|g| !g.is_null()) {
            tp.insert("time_granularity".into(), g.clone());
        }
        if let Some(v) = validity.filter(|v| !v.is_null()) {
            tp.insert("validity_params".into(), v);
        }
        if !tp.is_empty() {
            out.insert("type_params".into(), Value::Object(tp));
        }
    }
    Value::Object(out)
}

/// Keys a metric keeps as they are in both specs.
const METRIC_KEYS: &[&str] = &[
    "name",
    "type",
    "label",
    "description",
    "filter",
    "time_granularity",
    "config",
    "meta",
    "tags",
    "data_tests",
];

/// A simple metric under a model: the measure it aggregates (same name) and the metric.
fn simple_metric(m: &Value) -> (Value, Value) {
    let name = m.get("name").cloned().unwrap_or(Value::Null);
    let mut measure = Map::new();
    measure.insert("name".into(), name.clone());
    put(&mut measure, "agg", m.get("agg"));
    put(&mut measure, "expr", m.get("expr"));
    put(
        &mut measure,
        "agg_time_dimension",
        m.get("agg_time_dimension"),
    );
    if let Some(p) = m.get("percentile").filter(|p| !p.is_null()) {
        let mut ap = Map::new();
        ap.insert("percentile".into(), p.clone());
        if str_of(m, "percentile_type") == Some("discrete") {
            ap.insert("use_discrete_percentile".into(), json!(true));
        }
        measure.insert("agg_params".into(), Value::Object(ap));
    }
    if let Some(n) = m.get("non_additive_dimension").and_then(Value::as_object) {
        let mut nad = Map::new();
        put(&mut nad, "name", n.get("name"));
        put(&mut nad, "window_choice", n.get("window_agg"));
        put(&mut nad, "window_groupings", n.get("group_by"));
        measure.insert("non_additive_dimension".into(), Value::Object(nad));
    }
    let mut metric = Map::new();
    for k in METRIC_KEYS {
        put(&mut metric, k, m.get(*k));
    }
    let mut input = Map::new();
    input.insert("name".into(), name);
    put(&mut input, "fill_nulls_with", m.get("fill_nulls_with"));
    put(&mut input, "join_to_timespine", m.get("join_to_timespine"));
    // The short form `measure: name` unless the input has options, as one writes it.
    let input = if input.len() == 1 {
        input.remove("name").unwrap_or(Value::Null)
    } else {
        Value::Object(input)
    };
    metric.insert("type_params".into(), json!({ "measure": input }));
    (Value::Object(measure), Value::Object(metric))
}

/// A metric in the latest spec (no `type_params`) in the legacy shape; legacy metrics, and
/// anything that is not a mapping, are returned unchanged.
pub(crate) fn metric(m: &Value) -> Value {
    let Some(obj) = m.as_object() else {
        return m.clone();
    };
    if obj.contains_key("type_params") {
        return m.clone();
    }
    let mut out = Map::new();
    let mut tp = Map::new();
    for (k, v) in obj {
        if METRIC_KEYS.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
            continue;
        }
        match k.as_str() {
            "numerator" | "denominator" | "expr" => {
                tp.insert(k.clone(), v.clone());
            }
            "input_metrics" => {
                tp.insert("metrics".into(), v.clone());
            }
            // Cumulative metrics read a simple metric, whose measure has the same name.
            "input_metric" => {
                tp.insert("measure".into(), v.clone());
            }
            "window" | "grain_to_date" | "period_agg" if type_is(m, "cumulative") => {
                cumulative(&mut tp).insert(k.clone(), v.clone());
            }
            "entity" | "calculation" | "window" | "constant_properties" => {
                conversion(&mut tp).insert(k.clone(), v.clone());
            }
            "base_metric" => {
                conversion(&mut tp).insert("base_measure".into(), v.clone());
            }
            "conversion_metric" => {
                conversion(&mut tp).insert("conversion_measure".into(), v.clone());
            }
            // Unknown keys stay where the deserializer will name them.
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if !tp.is_empty() {
        out.insert("type_params".into(), Value::Object(tp));
    }
    Value::Object(out)
}

fn sub<'a>(tp: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = tp
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    v.as_object_mut().expect("just made an object")
}

fn cumulative(tp: &mut Map<String, Value>) -> &mut Map<String, Value> {
    sub(tp, "cumulative_type_params")
}

fn conversion(tp: &mut Map<String, Value>) -> &mut Map<String, Value> {
    sub(tp, "conversion_type_params")
}

/// Where a definition the latest spec wrote on a model sits in its file: `steps` under
/// `semantic_models:` or `metrics:` (the legacy path validation names) translated to the
/// model's entry under `models:` (its `columns:`, `derived_semantics:` and `metrics:`).
pub(crate) fn locate_on_model(
    text: &str,
    value: &Value,
    section: &str,
    steps: &[super::Step],
) -> Option<(usize, usize)> {
    use super::Step;
    let models = value.get("models")?.as_array()?;
    let (first, rest) = steps.split_first()?;
    let Step::Name(wanted) = first else {
        return None;
    };
    let sm_name = |m: &Value| {
        m.get("semantic_model")
            .and_then(|s| str_of(s, "name"))
            .or_else(|| str_of(m, "name"))
            .map(str::to_string)
    };
    let model_metric = |m: &Value, name: &str| {
        m.get("metrics")
            .and_then(Value::as_array)
            .is_some_and(|ms| ms.iter().any(|x| str_of(x, "name") == Some(name)))
    };
    let model = models.iter().find(|m| {
        enabled(m)
            && match section {
                "semantic_models" => sm_name(m).as_deref() == Some(*wanted),
                "metrics" => model_metric(m, wanted),
                _ => false,
            }
    })?;
    let model_name = str_of(model, "name")?;
    let mut path: Vec<(bool, String)> = vec![(true, model_name.to_string())];
    if section == "metrics" {
        path.push((false, "metrics".into()));
        path.push((true, wanted.to_string()));
        path.extend(rest.iter().map(|s| match s {
            Step::Name(n) => (true, n.to_string()),
            Step::Key(k) => (false, k.to_string()),
        }));
    } else {
        // The column (or derived element) defining an entity or dimension of that name.
        let column_of = |kind: &str, name: &str| -> Vec<(bool, String)> {
            let cols = model.get("columns").and_then(Value::as_array);
            let col = cols.into_iter().flatten().find(|c| {
                let n = str_of(c, "name").unwrap_or("");
                match c.get(kind) {
                    Some(Value::Object(o)) => {
                        o.get("name").and_then(Value::as_str).unwrap_or(n) == name
                    }
                    Some(_) => n == name,
                    None => false,
                }
            });
            match col.and_then(|c| str_of(c, "name")) {
                Some(c) => vec![(false, "columns".into()), (true, c.to_string())],
                None => vec![
                    (false, "derived_semantics".into()),
                    (false, format!("{kind}s")),
                    (true, name.to_string()),
                ],
            }
        };
        let mut it = rest.iter();
        while let Some(s) = it.next() {
            match s {
                Step::Key("measures") => path.push((false, "metrics".into())),
                Step::Key("defaults") => {}
                Step::Key(k @ ("entities" | "dimensions")) => {
                    let kind = if *k == "entities" {
                        "entity"
                    } else {
                        "dimension"
                    };
                    match it.next() {
                        Some(Step::Name(n)) => path.extend(column_of(kind, n)),
                        _ => path.push((false, "columns".into())),
                    }
                }
                Step::Key(k) => path.push((false, k.to_string())),
                Step::Name(n) => path.push((true, n.to_string())),
            }
        }
    }
    let steps: Vec<Step> = path
        .iter()
        .map(|(name, s)| if *name { Step::Name(s) } else { Step::Key(s) })
        .collect();
    super::locate(text, "models", &steps)
}

/// The semantic models and metrics the latest spec defines on the models of `files`, in the
/// legacy shape, by name: what `semantic_models:` / `metrics:` entries give manifest.json and the
/// documentation site for definitions written the legacy way.
pub(crate) fn manifest_entries(
    files: &[crate::project::YamlFile],
) -> (Vec<(String, Value)>, Vec<(String, Value)>) {
    let mut sms = Vec::new();
    let mut metrics = Vec::new();
    // (A file that does not say `semantic_model` defines none on its models: most files, read
    // at a glance instead of model by model.)
    for f in files.iter().filter(|f| f.text.contains("semantic_model")) {
        for model in f
            .value
            .get("models")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some((sm, ms)) = from_model(model) else {
                continue;
            };
            if let Some(n) = str_of(&sm, "name") {
                sms.push((n.to_string(), sm.clone()));
            }
            for m in ms {
                if let Some(n) = str_of(&m, "name") {
                    metrics.push((n.to_string(), m.clone()));
                }
            }
        }
    }
    (sms, metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Value {
        crate::project::yaml::parse(s, std::path::Path::new("t.yml")).expect("yaml")
    }

    #[test]
    fn a_model_with_semantics_becomes_a_semantic_model_and_metrics() {
        let model = yaml(
            "
name: orders
semantic_model: true
agg_time_dimension: ordered_at
columns:
  - name: order_id
    entity: {type: primary, name: order}
  - name: customer_id
    entity: foreign
  - name: ordered_at
    granularity: day
    dimension: time
  - name: status
    dimension: {type: categorical, label: Status}
derived_semantics:
  dimensions:
    - {name: is_large, type: categorical, expr: amount > 50}
metrics:
  - name: revenue
    type: simple
    agg: sum
    expr: amount
    fill_nulls_with: 0
  - name: p90
    type: simple
    agg: percentile
    expr: amount
    percentile: 0.9
    percentile_type: discrete
",
        );
        let (sm, metrics) = from_model(&model).expect("enabled");
        assert_eq!(
            sm,
            yaml(
                "
name: orders
model: ref('orders')
defaults: {agg_time_dimension: ordered_at}
entities:
  - {type: primary, name: order, expr: order_id}
  - {type: foreign, name: customer_id}
dimensions:
  - {type: time, name: ordered_at, type_params: {time_granularity: day}}
  - {type: categorical, label: Status, name: status}
  - {name: is_large, type: categorical, expr: amount > 50}
measures:
  - {name: revenue, agg: sum, expr: amount}
  - {name: p90, agg: percentile, expr: amount, agg_params: {percentile: 0.9, use_discrete_percentile: true}}
"
            )
        );
        assert_eq!(
            metrics,
            vec![
                yaml("{name: revenue, type: simple, type_params: {measure: {name: revenue, fill_nulls_with: 0}}}"),
                yaml("{name: p90, type: simple, type_params: {measure: p90}}"),
            ]
        );
    }

    #[test]
    fn latest_metric_keys_move_into_type_params() {
        assert_eq!(
            metric(&yaml(
                "{name: r, type: ratio, numerator: a, denominator: {name: b, filter: x}, label: R}"
            )),
            yaml("{name: r, type: ratio, label: R, type_params: {numerator: a, denominator: {name: b, filter: x}}}")
        );
        assert_eq!(
            metric(&yaml(
                "{name: d, type: derived, expr: a - b, input_metrics: [{name: a}, {name: b}]}"
            )),
            yaml("{name: d, type: derived, type_params: {expr: a - b, metrics: [{name: a}, {name: b}]}}")
        );
        assert_eq!(
            metric(&yaml(
                "{name: c, type: cumulative, input_metric: a, window: 7 days, period_agg: last}"
            )),
            yaml("{name: c, type: cumulative, type_params: {measure: a, cumulative_type_params: {window: 7 days, period_agg: last}}}")
        );
        assert_eq!(
            metric(&yaml("{name: v, type: conversion, entity: user, base_metric: s, conversion_metric: p, window: 7 days}")),
            yaml("{name: v, type: conversion, type_params: {conversion_type_params: {entity: user, base_measure: s, conversion_measure: p, window: 7 days}}}")
        );
        let legacy = yaml("{name: m, type: simple, type_params: {measure: m}}");
        assert_eq!(metric(&legacy), legacy);
    }

    #[test]
    fn disabled_or_absent_semantic_models_are_ignored() {
        assert!(from_model(&yaml("{name: a}")).is_none());
        assert!(from_model(&yaml("{name: a, semantic_model: false}")).is_none());
        assert!(from_model(&yaml("{name: a, semantic_model: {enabled: false}}")).is_none());
        let (sm, _) = from_model(&yaml("{name: a, semantic_model: {enabled: true, name: b}}"))
            .expect("enabled");
        assert_eq!(sm["name"], "b");
    }
}
