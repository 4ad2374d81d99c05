//! `semantic_manifest.json`: the semantic layer in the shape dbt writes it (dbt-semantic-interfaces'
//! `PydanticSemanticManifest`), so MetricFlow and other tools read sluice's artifact as dbt's.
//!
//! Design decision: built with `serde_json::json!` from the typed definitions rather than by
//! deriving `Serialize` on them: dbt's artifact spells out every optional key as `null`, fills in
//! derived fields (`input_measures`, the legacy and nested cumulative parameters) and names things
//! differently from the YAML, and an explicit mapping keeps both shapes readable.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::model::*;

fn opt<T: ToString>(v: &Option<T>) -> Value {
    v.as_ref()
        .map_or(Value::Null, |x| Value::String(x.to_string()))
}

fn window(w: &Option<Window>) -> Value {
    w.map_or(
        Value::Null,
        |w| json!({"count": w.count, "granularity": w.grain.as_str()}),
    )
}

fn filter(f: &[String]) -> Value {
    if f.is_empty() {
        Value::Null
    } else {
        json!({"where_filters": f.iter().map(|t| json!({"where_sql_template": t})).collect::<Vec<_>>()})
    }
}

fn config(c: &Option<Value>, meta: &Option<Value>) -> Value {
    let mut m = serde_json::Map::new();
    let meta_v = c
        .as_ref()
        .and_then(|c| c.get("meta").cloned())
        .or_else(|| meta.clone())
        .unwrap_or_else(|| json!({}));
    m.insert("meta".into(), meta_v);
    Value::Object(m)
}

fn relation(sm: &SemanticModel) -> Value {
    match &sm.relation {
        Some(r) => json!({
            "alias": r.identifier, "schema_name": r.schema, "database": r.database,
            "relation_name": r.quoted(),
        }),
        None => Value::Null,
    }
}

fn measure_input(mi: &MeasureInput) -> Value {
    json!({
        "name": mi.name, "filter": filter(&mi.filter), "alias": mi.alias,
        "join_to_timespine": mi.join_to_timespine, "fill_nulls_with": mi.fill_nulls_with,
    })
}

fn metric_input(mi: &MetricInput) -> Value {
    json!({
        "name": mi.name, "filter": filter(&mi.filter), "alias": mi.alias,
        "offset_window": window(&mi.offset_window), "offset_to_grain": opt(&mi.offset_to_grain),
    })
}

fn semantic_model(sm: &SemanticModel) -> Value {
    json!({
        "name": sm.name,
        "defaults": sm.defaults.as_ref().map(|d| json!({"agg_time_dimension": d.agg_time_dimension})),
        "description": sm.description,
        "node_relation": relation(sm),
        "primary_entity": sm.primary_entity,
        "entities": sm.entities.iter().map(|e| json!({
            "name": e.name, "description": e.description, "type": e.kind.as_str(), "role": e.role,
            "expr": e.expr, "metadata": null, "label": e.label, "config": config(&e.config, &e.meta),
        })).collect::<Vec<_>>(),
        "measures": sm.measures.iter().map(|m| json!({
            "name": m.name, "agg": m.agg.as_str(), "description": m.description,
            // dbt writes the created metric out and resets the flag.
            "create_metric": false,
            "expr": m.expr.as_ref().map(|_| m.sql()),
            "agg_params": m.agg_params.as_ref().map(|p| json!({
                "percentile": p.percentile, "use_discrete_percentile": p.use_discrete_percentile,
                "use_approximate_percentile": p.use_approximate_percentile,
            })),
            "metadata": null,
            "non_additive_dimension": m.non_additive_dimension.as_ref().map(|n| json!({
                "name": n.name,
                "window_choice": n.window_choice.as_str(),
                "window_groupings": n.window_groupings,
            })),
            "agg_time_dimension": m.agg_time_dimension, "label": m.label,
            "config": config(&m.config, &m.meta),
        })).collect::<Vec<_>>(),
        "dimensions": sm.dimensions.iter().map(|d| json!({
            "name": d.name, "description": d.description,
            "type": d.kind.as_str(),
            "is_partition": d.is_partition,
            "type_params": d.type_params.as_ref().map(|t| json!({
                "time_granularity": opt(&t.time_granularity),
                "validity_params": t.validity_params.as_ref().map(|v| json!({"is_start": v.is_start, "is_end": v.is_end})),
            })),
            "expr": d.expr, "metadata": null, "label": d.label, "config": config(&d.config, &d.meta),
        })).collect::<Vec<_>>(),
        "label": sm.label,
        "metadata": null,
        "config": config(&sm.config, &sm.meta),
    })
}

/// Measures a metric reads, in the order MetricFlow lists them: its own, then each one its input
/// metrics read that is not listed yet.
fn input_measures(layer: &SemanticLayer, m: &Metric) -> Vec<Value> {
    let mut out: Vec<Value> = m.own_measures().map(measure_input).collect();
    for input in m.input_metrics() {
        if let Some(child) = layer.metric(&input.name) {
            for v in layer.measure_inputs(child).into_iter().map(measure_input) {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
    }
    out
}

fn metric(layer: &SemanticLayer, m: &Metric) -> Value {
    let tp = &m.type_params;
    let cumulative = (m.kind == MetricType::Cumulative).then(|| {
        json!({
            "window": window(&m.window()), "grain_to_date": opt(&m.grain_to_date()),
            "period_agg": m.period_agg().as_str(),
        })
    });
    json!({
        "name": m.name,
        "description": m.description.clone().unwrap_or_default(),
        "type": m.kind.as_str(),
        "type_params": {
            "measure": tp.measure.as_ref().map(measure_input),
            "numerator": tp.numerator.as_ref().map(metric_input),
            "denominator": tp.denominator.as_ref().map(metric_input),
            "expr": m.expr(),
            // The legacy places hold what was written there; the nested params hold the result.
            "window": window(&tp.window),
            "grain_to_date": opt(&tp.grain_to_date),
            "metrics": tp.metrics.iter().map(metric_input).collect::<Vec<_>>(),
            "conversion_type_params": tp.conversion_type_params.as_ref().map(|c| json!({
                "base_measure": c.base_measure.as_ref().map(measure_input),
                "conversion_measure": c.conversion_measure.as_ref().map(measure_input),
                "entity": c.entity,
                "calculation": c.calculation.as_str(),
                "window": window(&c.window),
                "constant_properties": if c.constant_properties.is_empty() { Value::Null } else {
                    Value::Array(c.constant_properties.iter().map(|p| json!({
                        "base_property": p.base_property, "conversion_property": p.conversion_property,
                    })).collect())
                },
            })),
            "cumulative_type_params": cumulative,
            "input_measures": input_measures(layer, m),
        },
        "filter": filter(&m.filter),
        "metadata": null,
        "label": m.label.clone().unwrap_or_else(|| m.name.clone()),
        "config": config(&m.config, &m.meta),
        // Kept as written (`MONTH`), as dbt writes it.
        "time_granularity": m.time_granularity.as_ref().map(|g| g.written.clone()),
    })
}

fn saved_query(q: &SavedQuery, default_schema: &str) -> Value {
    json!({
        "name": q.name,
        "query_params": {
            "metrics": q.query_params.metrics,
            "group_by": q.query_params.group_by,
            "order_by": q.query_params.order_by,
            "limit": q.query_params.limit,
            "where": filter(&q.query_params.where_),
        },
        "description": q.description,
        "metadata": null,
        "label": q.label,
        "exports": q.exports.iter().map(|e| json!({
            "name": e.name,
            "config": {
                "export_as": export_as(e),
                "schema_name": e.config.get("schema").and_then(Value::as_str).unwrap_or(default_schema),
                "alias": e.config.get("alias").and_then(Value::as_str).unwrap_or(&e.name),
            },
        })).collect::<Vec<_>>(),
        "tags": q.tags.clone().unwrap_or_else(|| json!([])),
    })
}

/// An export's `export_as`, lower case as dbt writes it (`TABLE` -> `table`).
fn export_as(e: &Export) -> String {
    e.config
        .get("export_as")
        .and_then(Value::as_str)
        .unwrap_or("table")
        .to_ascii_lowercase()
}

/// The semantic manifest lower-cases a metric's `offset_to_grain` and cumulative
/// `grain_to_date`; dbt's `manifest.json` keeps them as written (`MONTH`).
fn written_grains(m: &Metric, tp: &mut Map<String, Value>) {
    let tpm = &m.type_params;
    let inputs = [
        ("numerator", tpm.numerator.iter().collect::<Vec<_>>()),
        ("denominator", tpm.denominator.iter().collect()),
        ("metrics", tpm.metrics.iter().collect()),
    ];
    for (key, written) in inputs {
        let slots: Vec<&mut Value> = match tp.get_mut(key) {
            Some(Value::Array(a)) => a.iter_mut().collect(),
            Some(v @ Value::Object(_)) => vec![v],
            _ => vec![],
        };
        for (slot, input) in slots.into_iter().zip(written) {
            if let (Some(g), Value::Object(o)) = (&input.offset_to_grain, slot) {
                o.insert("offset_to_grain".into(), json!(g.written));
            }
        }
    }
    if let (Some(g), Some(Value::Object(c))) =
        (m.grain_to_date_text(), tp.get_mut("cumulative_type_params"))
    {
        c.insert("grain_to_date".into(), json!(g.written));
    }
}

/// The whole artifact. `default_schema` is the target schema (for exports without `schema`).
pub(crate) fn semantic_manifest(layer: &SemanticLayer, default_schema: &str) -> Value {
    let spine = layer.time_spine.as_ref();
    json!({
        "semantic_models": layer.semantic_models.iter().map(semantic_model).collect::<Vec<_>>(),
        "metrics": layer.metrics.iter().map(|m| metric(layer, m)).collect::<Vec<_>>(),
        "project_configuration": {
            "time_spine_table_configurations": spine.filter(|t| t.legacy).map(|t| vec![json!({
                "location": t.relation.quoted(), "column_name": t.column, "grain": t.grain.as_str(),
            })]).unwrap_or_default(),
            "metadata": null,
            "dsi_package_version": {"major_version": "0", "minor_version": "9", "patch_version": "0"},
            "time_spines": spine.filter(|t| !t.legacy).map(|t| vec![json!({
                "node_relation": {
                    "alias": t.relation.identifier, "schema_name": t.relation.schema,
                    "database": t.relation.database, "relation_name": t.relation.quoted(),
                },
                "primary_column": {"name": t.column, "time_granularity": t.grain.as_str()},
                "custom_granularities": t.custom_granularities,
            })]).unwrap_or_default(),
        },
        "saved_queries": layer.saved_queries.iter().map(|q| saved_query(q, default_schema)).collect::<Vec<_>>(),
    })
}

/// What the `manifest.json` entries of the semantic layer need from the project and target.
pub(crate) struct EntryEnv<'a> {
    pub(crate) package: &'a str,
    pub(crate) project: &'a crate::project::Project,
    /// The target's database (export relations name it).
    pub(crate) database: &'a str,
    pub(crate) default_schema: &'a str,
}

/// The semantic layer's entries of `manifest.json` (`metrics`, `semantic_models`,
/// `saved_queries`) in dbt 1.10's node shape, by unique id: the semantic manifest's object for
/// each, plus the node fields dbt adds (ids, paths, fqn, config, `depends_on` ...). `created_at`
/// is left null for the writer to fill in. dbt's key order is kept, so the entries read like
/// dbt's side by side.
pub(crate) fn manifest_entries(layer: &SemanticLayer, env: &EntryEnv) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for sm in &layer.semantic_models {
        let (id, mut entry) = semantic_model_entry(sm, env);
        for key in ["entities", "dimensions", "measures"] {
            if let Some(items) = entry.get_mut(key) {
                drop_rendered_newline(items);
            }
        }
        out.insert(id, entry);
    }
    for m in &layer.metrics {
        let (id, entry) = metric_entry(layer, m, env);
        out.insert(id, entry);
    }
    for q in &layer.saved_queries {
        let (id, entry) = saved_query_entry(q, env);
        out.insert(id, entry);
    }
    out
}

/// dbt renders a semantic model's YAML strings through Jinja, which drops one trailing newline
/// (a block scalar's `expr: |` ends without it in dbt's manifest): the same for its entities',
/// dimensions' and measures' strings.
fn drop_rendered_newline(v: &mut Value) {
    match v {
        Value::String(s) if s.ends_with('\n') => {
            s.pop();
        }
        Value::Array(items) => items.iter_mut().for_each(drop_rendered_newline),
        Value::Object(m) => m.values_mut().for_each(drop_rendered_newline),
        _ => {}
    }
}

/// The unique id of the semantic model defining `measure`.
fn semantic_model_of(layer: &SemanticLayer, pkg: &str, measure: &str) -> Option<String> {
    layer
        .semantic_models
        .iter()
        .find(|sm| sm.measure(measure).is_some())
        .map(|sm| format!("semantic_model.{pkg}.{}", sm.name))
}

/// The `manifest.json` entry of a semantic model, by unique id.
fn semantic_model_entry(sm: &SemanticModel, env: &EntryEnv) -> (String, Value) {
    let pkg = env.package;
    let id = format!("semantic_model.{pkg}.{}", sm.name);
    let mut sem = semantic_model(sm);
    for list in ["entities", "measures"] {
        // dbt's manifest writes these without the semantic manifest's `metadata`.
        if let Some(Value::Array(items)) = sem.get_mut(list) {
            for item in items {
                if let Value::Object(o) = item {
                    o.remove("metadata");
                }
            }
        }
    }
    let model = sm.model_name();
    let mut e = node_head(env, "semantic_model", &id, &sm.name, &sm.origin);
    e.insert("model".into(), json!(sm.model));
    move_keys(
        &mut e,
        &mut sem,
        &["node_relation", "description", "label", "defaults"],
    );
    move_keys(
        &mut e,
        &mut sem,
        &["entities", "measures", "dimensions", "metadata"],
    );
    e.insert(
        "depends_on".into(),
        json!({"macros": [], "nodes": sm.depends_on.iter().collect::<Vec<_>>()}),
    );
    e.insert(
        "refs".into(),
        json!(model
            .iter()
            .map(|name| json!({"name": name, "package": null, "version": null}))
            .collect::<Vec<_>>()),
    );
    e.insert("created_at".into(), Value::Null);
    e.insert("config".into(), node_config(&sem, &sm.config));
    e.insert("unrendered_config".into(), written_config(&sm.config));
    move_keys(&mut e, &mut sem, &["primary_entity"]);
    e.insert("group".into(), Value::Null);
    (id, Value::Object(e))
}

/// The `manifest.json` entry of a metric, by unique id.
fn metric_entry(layer: &SemanticLayer, m: &Metric, env: &EntryEnv) -> (String, Value) {
    let pkg = env.package;
    let id = format!("metric.{pkg}.{}", m.name);
    let mut sem = metric(layer, m);
    let mut e = node_head(env, "metric", &id, &m.name, &m.origin);
    move_keys(&mut e, &mut sem, &["description", "label", "type"]);
    if let Some(Value::Object(mut tp)) = sem.get_mut("type_params").map(Value::take) {
        let mut ordered = Map::new();
        move_keys(
            &mut ordered,
            &mut tp,
            &["measure", "input_measures", "numerator"],
        );
        move_keys(&mut ordered, &mut tp, &["denominator", "expr", "window"]);
        move_keys(&mut ordered, &mut tp, &["grain_to_date", "metrics"]);
        move_keys(&mut ordered, &mut tp, &["conversion_type_params"]);
        move_keys(&mut ordered, &mut tp, &["cumulative_type_params"]);
        if let Some(Value::Object(c)) = ordered.get_mut("cumulative_type_params") {
            // The manifest's cumulative parameters name the metric they apply to (unset).
            c.insert("metric".into(), Value::Null);
        }
        ordered.insert("metric_aggregation_params".into(), Value::Null);
        written_grains(m, &mut ordered);
        e.insert("type_params".into(), Value::Object(ordered));
    }
    move_keys(
        &mut e,
        &mut sem,
        &["filter", "metadata", "time_granularity"],
    );
    let config = node_config(&sem, &m.config);
    e.insert("meta".into(), config["meta"].clone());
    e.insert(
        "tags".into(),
        json!(crate::project::config::str_list(m.tags.as_ref())),
    );
    e.insert("config".into(), config);
    let mut unrendered = written_config(&m.config);
    let created = layer
        .semantic_models
        .iter()
        .any(|sm| sm.measure(&m.name).is_some_and(|me| me.create_metric));
    if m.config.is_none() && created {
        // dbt records the implicit `enabled` of a metric it created from a measure.
        unrendered = json!({"enabled": true});
    }
    e.insert("unrendered_config".into(), unrendered);
    e.insert("sources".into(), json!([]));
    let mut parents: Vec<String> = Vec::new();
    let tp = &m.type_params;
    let measures = tp.measure.iter().chain(
        tp.conversion_type_params
            .iter()
            .flat_map(|c| c.base_measure.iter().chain(c.conversion_measure.iter())),
    );
    for mi in measures {
        if let Some(sm) = semantic_model_of(layer, pkg, &mi.name) {
            if !parents.contains(&sm) {
                parents.push(sm);
            }
        }
    }
    for input in m.input_metrics() {
        let mid = format!("metric.{pkg}.{}", input.name);
        if !parents.contains(&mid) {
            parents.push(mid);
        }
    }
    e.insert("depends_on".into(), json!({"macros": [], "nodes": parents}));
    e.insert("refs".into(), json!([]));
    e.insert("metrics".into(), json!([]));
    e.insert("created_at".into(), Value::Null);
    e.insert("group".into(), Value::Null);
    (id, Value::Object(e))
}

/// The `manifest.json` entry of a saved query, by unique id.
fn saved_query_entry(q: &SavedQuery, env: &EntryEnv) -> (String, Value) {
    let pkg = env.package;
    let id = format!("saved_query.{pkg}.{}", q.name);
    let mut sem = saved_query(q, env.default_schema);
    let mut e = node_head(env, "saved_query", &id, &q.name, &q.origin);
    if let Some(Value::Object(mut qp)) = sem.get_mut("query_params").map(Value::take) {
        let mut ordered = Map::new();
        move_keys(
            &mut ordered,
            &mut qp,
            &["metrics", "group_by", "where", "order_by"],
        );
        move_keys(&mut ordered, &mut qp, &["limit"]);
        e.insert("query_params".into(), Value::Object(ordered));
    }
    let exports: Vec<Value> = q
        .exports
        .iter()
        .map(|x| {
            json!({
                "name": x.name,
                "config": {
                    "export_as": export_as(x),
                    "schema_name": x.config.get("schema").and_then(Value::as_str).unwrap_or(env.default_schema),
                    "alias": x.config.get("alias").and_then(Value::as_str).unwrap_or(&x.name),
                    "database": env.database,
                },
                "unrendered_config": x.config,
            })
        })
        .collect();
    e.insert("exports".into(), json!(exports));
    move_keys(&mut e, &mut sem, &["description", "label", "metadata"]);
    // (dbt's `unrendered_config` of a saved query holds its own `config:` only.)
    let mut config = q.resolved_config(env.project);
    config.insert("meta".into(), node_config(&sem, &q.config)["meta"].clone());
    e.insert("config".into(), Value::Object(config));
    e.insert("unrendered_config".into(), written_config(&q.config));
    e.insert("group".into(), Value::Null);
    e.insert(
        "depends_on".into(),
        json!({"macros": [], "nodes": q.metric_ids(pkg)}),
    );
    e.insert("created_at".into(), Value::Null);
    e.insert("refs".into(), json!([]));
    e.insert(
        "tags".into(),
        json!(crate::project::config::str_list(q.tags.as_ref())),
    );
    (id, Value::Object(e))
}

/// The fields every manifest node starts with.
fn node_head(
    env: &EntryEnv,
    resource_type: &str,
    id: &str,
    name: &str,
    o: &Origin,
) -> Map<String, Value> {
    let path = crate::compile::relative_to_resource(&o.file, env.project);
    let mut fqn = vec![env.package.to_string()];
    fqn.extend(crate::compile::dirs_of(&path));
    fqn.push(name.to_string());
    let mut e = Map::new();
    e.insert("name".into(), json!(name));
    e.insert("resource_type".into(), json!(resource_type));
    e.insert("package_name".into(), json!(env.package));
    e.insert("path".into(), json!(path));
    e.insert("original_file_path".into(), json!(o.file));
    e.insert("unique_id".into(), json!(id));
    e.insert("fqn".into(), json!(fqn));
    e
}

/// Moves `keys` of `from` (an object) into `to`, in that order.
fn move_keys(to: &mut Map<String, Value>, from: &mut impl KeySource, keys: &[&str]) {
    for k in keys {
        to.insert((*k).to_string(), from.take_key(k));
    }
}

trait KeySource {
    fn take_key(&mut self, k: &str) -> Value;
}

impl KeySource for Value {
    fn take_key(&mut self, k: &str) -> Value {
        self.get_mut(k).map(Value::take).unwrap_or(Value::Null)
    }
}

impl KeySource for Map<String, Value> {
    fn take_key(&mut self, k: &str) -> Value {
        self.get_mut(k).map(Value::take).unwrap_or(Value::Null)
    }
}

/// dbt's resolved `config` of a semantic node: enabled, group, meta (from the semantic
/// manifest's `config.meta`), then any other keys as written.
fn node_config(sem: &Value, written: &Option<Value>) -> Value {
    let mut c = Map::new();
    c.insert("enabled".into(), json!(true));
    c.insert("group".into(), Value::Null);
    c.insert(
        "meta".into(),
        sem.pointer("/config/meta")
            .cloned()
            .unwrap_or_else(|| json!({})),
    );
    if let Some(Value::Object(w)) = written {
        for (k, v) in w {
            if k != "meta" {
                c.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(c)
}

fn written_config(c: &Option<Value>) -> Value {
    match c {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => json!({}),
    }
}
