//! `semantic_manifest.json`: the semantic layer in the shape dbt writes it (dbt-semantic-interfaces'
//! `PydanticSemanticManifest`), so MetricFlow and other tools read sluice's artifact as dbt's.
//!
//! Design decision: built with `serde_json::json!` from the typed definitions rather than by
//! deriving `Serialize` on them: dbt's artifact spells out every optional key as `null`, fills in
//! derived fields (`input_measures`, the legacy and nested cumulative parameters) and names things
//! differently from the YAML, and an explicit mapping keeps both shapes readable.

use serde_json::{json, Value};

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
                "window_choice": match n.window_choice { WindowChoice::Max => "max", WindowChoice::Min => "min" },
                "window_groupings": n.window_groupings,
            })),
            "agg_time_dimension": m.agg_time_dimension, "label": m.label,
            "config": config(&m.config, &m.meta),
        })).collect::<Vec<_>>(),
        "dimensions": sm.dimensions.iter().map(|d| json!({
            "name": d.name, "description": d.description,
            "type": match d.kind { DimensionType::Time => "time", DimensionType::Categorical => "categorical" },
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

/// Measures a metric reads, in the order MetricFlow lists them.
fn input_measures(layer: &SemanticLayer, m: &Metric, depth: usize) -> Vec<Value> {
    if depth > 20 {
        return vec![];
    }
    let tp = &m.type_params;
    let mut out = Vec::new();
    if let Some(mi) = &tp.measure {
        out.push(measure_input(mi));
    }
    if let Some(cp) = &tp.conversion_type_params {
        for mi in cp.base_measure.iter().chain(cp.conversion_measure.iter()) {
            out.push(measure_input(mi));
        }
    }
    for input in m.input_metrics() {
        if let Some(child) = layer.metric(&input.name) {
            for v in input_measures(layer, child, depth + 1) {
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
                "calculation": match c.calculation {
                    ConversionCalculation::Conversions => "conversions",
                    ConversionCalculation::ConversionRate => "conversion_rate",
                },
                "window": window(&c.window),
                "constant_properties": if c.constant_properties.is_empty() { Value::Null } else {
                    Value::Array(c.constant_properties.iter().map(|p| json!({
                        "base_property": p.base_property, "conversion_property": p.conversion_property,
                    })).collect())
                },
            })),
            "cumulative_type_params": cumulative,
            "input_measures": input_measures(layer, m, 0),
        },
        "filter": filter(&m.filter),
        "metadata": null,
        "label": m.label.clone().unwrap_or_else(|| m.name.clone()),
        "config": config(&m.config, &m.meta),
        "time_granularity": opt(&m.time_granularity),
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
                "export_as": e.config.get("export_as").and_then(Value::as_str).unwrap_or("table"),
                "schema_name": e.config.get("schema").and_then(Value::as_str).unwrap_or(default_schema),
                "alias": e.config.get("alias").and_then(Value::as_str).unwrap_or(&e.name),
            },
        })).collect::<Vec<_>>(),
        "tags": q.tags.clone().unwrap_or_else(|| json!([])),
    })
}

/// The whole artifact. `default_schema` is the target schema (for exports without `schema`).
pub fn semantic_manifest(layer: &SemanticLayer, default_schema: &str) -> Value {
    let spine = layer.time_spine.as_ref();
    json!({
        "semantic_models": layer.semantic_models.iter().map(semantic_model).collect::<Vec<_>>(),
        "metrics": layer.metrics.iter().map(|m| metric(layer, m)).collect::<Vec<_>>(),
        "project_configuration": {
            "time_spine_table_configurations": spine.map(|t| vec![json!({
                "location": t.relation.quoted(), "column_name": t.column, "grain": t.grain.as_str(),
            })]).unwrap_or_default(),
            "metadata": null,
            "dsi_package_version": {"major_version": "0", "minor_version": "9", "patch_version": "0"},
            "time_spines": spine.map(|t| vec![json!({
                "node_relation": {
                    "alias": t.relation.identifier, "schema_name": t.relation.schema,
                    "database": t.relation.database, "relation_name": t.relation.quoted(),
                },
                "primary_column": {"name": t.column, "time_granularity": t.grain.as_str()},
                "custom_granularities": [],
            })]).unwrap_or_default(),
        },
        "saved_queries": layer.saved_queries.iter().map(|q| saved_query(q, default_schema)).collect::<Vec<_>>(),
    })
}
