//! The metrics catalog's view of the semantic layer: semantic models and metrics, read from the
//! YAML-shaped values the manifest keeps, normalised into what a docs page shows (type,
//! definition, inputs, filters, dimensions to group by, and the semantic models and models
//! behind a metric).
//!
//! Decision: read the manifest's raw values defensively (a measure may be a string or an
//! object, a semantic model names its model with `ref('x')` or through `depends_on`) instead of
//! depending on the query engine's typed model: the docs must render whatever parsed, including
//! definitions the engine would reject, and must not wait for that engine to exist.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::compile::{Manifest, ResourceType};

/// `ref('orders')` / `ref("orders")` / `ref('pkg', 'orders')` -> `orders`.
pub(crate) fn ref_target(s: &str) -> Option<String> {
    let s = s.trim();
    let inner = s.strip_prefix("ref(")?.strip_suffix(')')?;
    let last = inner.split(',').next_back()?.trim();
    let last = last.trim_matches(|c| c == '\'' || c == '"');
    (!last.is_empty()).then(|| last.to_string())
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

fn list(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    }
}

/// Filters: a string, a list of strings, or dbt's `{where_filters: [{where_sql_template}]}`.
fn filters(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().flat_map(|x| filters(Some(x))).collect(),
        Some(Value::Object(o)) => {
            if let Some(w) = o.get("where_filters") {
                filters(Some(w))
            } else if let Some(t) = o.get("where_sql_template") {
                filters(Some(t))
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

/// A metric input given as `name` or `{name, filter, alias, ...}`.
fn input(v: &Value, kind: &str, role: &str) -> Option<Value> {
    let (name, obj) = match v {
        Value::String(s) => (s.clone(), Map::new()),
        Value::Object(o) => (text(o.get("name")), o.clone()),
        _ => return None,
    };
    if name.is_empty() {
        return None;
    }
    let mut out = json!({"kind": kind, "role": role, "name": name});
    for k in [
        "alias",
        "offset_window",
        "offset_to_grain",
        "fill_nulls_with",
    ] {
        if let Some(x) = obj.get(k).filter(|x| !x.is_null()) {
            out[k] = Value::String(text(Some(x)));
        }
    }
    let f = filters(obj.get("filter"));
    if !f.is_empty() {
        out["filter"] = json!(f);
    }
    Some(out)
}

/// The normalised semantic layer: per id, the page data, and per id, its parents in lineage.
#[derive(Debug, Default)]
pub(crate) struct SemanticDocs {
    pub(crate) pages: BTreeMap<String, Value>,
    pub(crate) parents: BTreeMap<String, Vec<String>>,
    pub(crate) descriptions: BTreeMap<String, String>,
    pub(crate) labels: BTreeMap<String, String>,
}

pub(crate) fn semantic_docs(m: &Manifest) -> SemanticDocs {
    let mut out = SemanticDocs::default();
    let model_ids: BTreeMap<&str, &str> = m
        .nodes
        .values()
        .filter(|n| n.resource_type == ResourceType::Model)
        .map(|n| (n.name.as_str(), n.unique_id.as_str()))
        .collect();
    let metrics = m.all_metrics();
    let metric_ids: BTreeMap<String, String> = metrics
        .iter()
        .map(|(id, v)| (text(v.get("name")), (*id).clone()))
        .collect();
    let SemanticModelIndex {
        measure_owner,
        sm_dims,
        sm_model,
    } = semantic_model_pages(m, &model_ids, &mut out);
    for (&id, &v) in &metrics {
        let ty = text(v.get("type"));
        let tp = v.get("type_params").cloned().unwrap_or(Value::Null);
        let (mut inputs, definition) = metric_inputs(&ty, &tp);
        // Resolve inputs to ids; a ratio input may be a metric (dbt >= 1.6) or a measure.
        let mut parents: Vec<String> = Vec::new();
        let mut sms: Vec<String> = Vec::new();
        for i in &mut inputs {
            let name = text(i.get("name"));
            if i["kind"] == "metric" {
                if let Some(mid) = metric_ids.get(&name) {
                    i["id"] = json!(mid);
                    parents.push(mid.clone());
                    continue;
                }
                i["kind"] = json!("measure");
            }
            if let Some(sm) = measure_owner.get(&name) {
                i["semantic_model"] = json!(sm);
                parents.push(sm.clone());
                sms.push(sm.clone());
            }
        }
        parents.sort();
        parents.dedup();
        sms.sort();
        sms.dedup();
        out.parents.insert(id.clone(), parents);
        out.descriptions
            .insert(id.clone(), text(v.get("description")));
        out.labels.insert(id.clone(), text(v.get("label")));
        out.pages.insert(
            id.clone(),
            json!({
                "type": ty, "label": text(v.get("label")), "inputs": inputs,
                "definition": definition, "filters": filters(v.get("filter")),
                "semantic_models": sms,
                "time_granularity": text(v.get("time_granularity")),
            }),
        );
    }
    let ids: Vec<String> = metrics.keys().map(|id| (*id).clone()).collect();
    inherit_semantic_models(&mut out, &ids);
    models_and_dimensions(&mut out, &ids, &sm_model, &sm_dims);
    out
}

/// What metric pages need of the semantic models: measure name -> semantic model id; semantic
/// model id -> its dimensions (as group-by names) and its model's id.
#[derive(Default)]
struct SemanticModelIndex {
    measure_owner: BTreeMap<String, String>,
    sm_dims: BTreeMap<String, Vec<String>>,
    sm_model: BTreeMap<String, String>,
}

/// Each semantic model's page (entities, dimensions, measures), parent and labels.
fn semantic_model_pages(
    m: &Manifest,
    model_ids: &BTreeMap<&str, &str>,
    out: &mut SemanticDocs,
) -> SemanticModelIndex {
    let mut index = SemanticModelIndex::default();
    let SemanticModelIndex {
        measure_owner,
        sm_dims,
        sm_model,
    } = &mut index;
    for (id, v) in &m.semantic_models {
        let model = ref_target(&text(v.get("model")))
            .and_then(|name| model_ids.get(name.as_str()).map(|s| s.to_string()))
            .or_else(|| {
                v.pointer("/depends_on/nodes/0")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        let entities: Vec<Value> = list(v.get("entities"))
            .iter()
            .map(|e| {
                json!({"name": text(e.get("name")), "type": text(e.get("type")),
                       "expr": text(e.get("expr"))})
            })
            .collect();
        let primary = entities
            .iter()
            .find(|e| e["type"] == "primary" || e["type"] == "natural")
            .map(|e| text(e.get("name")))
            .or_else(|| {
                v.pointer("/primary_entity")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        let dimensions: Vec<Value> = list(v.get("dimensions"))
            .iter()
            .map(|d| {
                let grain = d
                    .pointer("/type_params/time_granularity")
                    .map(|g| text(Some(g)))
                    .unwrap_or_default();
                json!({"name": text(d.get("name")), "type": text(d.get("type")),
                       "expr": text(d.get("expr")), "description": text(d.get("description")),
                       "time_granularity": grain})
            })
            .collect();
        let measures: Vec<Value> = list(v.get("measures"))
            .iter()
            .map(|x| {
                json!({"name": text(x.get("name")), "agg": text(x.get("agg")),
                       "expr": text(x.get("expr")), "description": text(x.get("description")),
                       "agg_time_dimension": text(x.get("agg_time_dimension"))})
            })
            .collect();
        for x in &measures {
            measure_owner.insert(text(x.get("name")), id.clone());
        }
        let mut dims = vec!["metric_time".to_string()];
        for d in &dimensions {
            let n = text(d.get("name"));
            dims.push(match &primary {
                Some(p) => format!("{p}__{n}"),
                None => n,
            });
        }
        sm_dims.insert(id.clone(), dims);
        if let Some(model) = &model {
            sm_model.insert(id.clone(), model.clone());
            out.parents.insert(id.clone(), vec![model.clone()]);
        } else {
            out.parents.insert(id.clone(), Vec::new());
        }
        out.descriptions
            .insert(id.clone(), text(v.get("description")));
        out.labels.insert(id.clone(), text(v.get("label")));
        out.pages.insert(
            id.clone(),
            json!({
                "model": model, "model_ref": text(v.get("model")),
                "agg_time_dimension": text(v.pointer("/defaults/agg_time_dimension")),
                "entities": entities, "dimensions": dimensions, "measures": measures,
            }),
        );
    }
    index
}

/// A metric's inputs (metrics or measures, each with its role) and the rest of its definition,
/// by metric type.
fn metric_inputs(ty: &str, tp: &Value) -> (Vec<Value>, Map<String, Value>) {
    let mut inputs: Vec<Value> = Vec::new();
    let mut definition = Map::new();
    match ty {
        "ratio" => {
            for role in ["numerator", "denominator"] {
                if let Some(i) = tp.get(role).and_then(|x| input(x, "metric", role)) {
                    inputs.push(i);
                }
            }
        }
        "derived" => {
            definition.insert("expr".into(), json!(text(tp.get("expr"))));
            for x in list(tp.get("metrics")) {
                inputs.extend(input(&x, "metric", "input"));
            }
        }
        "conversion" => {
            let c = tp
                .get("conversion_type_params")
                .cloned()
                .unwrap_or(Value::Null);
            for (k, role) in [
                ("base_measure", "base"),
                ("conversion_measure", "conversion"),
            ] {
                inputs.extend(c.get(k).and_then(|x| input(x, "measure", role)));
            }
            for k in ["entity", "calculation", "window"] {
                if let Some(x) = c.get(k).filter(|x| !x.is_null()) {
                    definition.insert(k.into(), json!(text(Some(x))));
                }
            }
        }
        _ => {
            // simple, cumulative (and anything unknown with a measure).
            inputs.extend(
                tp.get("measure")
                    .and_then(|x| input(x, "measure", "measure")),
            );
            let cum = tp
                .get("cumulative_type_params")
                .cloned()
                .unwrap_or(Value::Null);
            for k in ["window", "grain_to_date", "period_agg"] {
                if let Some(x) = tp.get(k).or_else(|| cum.get(k)).filter(|x| !x.is_null()) {
                    definition.insert(k.into(), json!(text(Some(x))));
                }
            }
        }
    }
    (inputs, definition)
}

/// Metrics built on other metrics inherit their semantic models (to a depth of 8).
fn inherit_semantic_models(out: &mut SemanticDocs, ids: &[String]) {
    for _ in 0..8 {
        let mut changed = false;
        for id in ids {
            let inherited: Vec<String> = out.pages[id]["inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i.get("id").and_then(Value::as_str))
                .flat_map(|mid| {
                    out.pages[mid]["semantic_models"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let page = out.pages.get_mut(id).expect("metric page");
            let mut sms: Vec<String> = page["semantic_models"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let before = sms.len();
            sms.extend(inherited);
            sms.sort();
            sms.dedup();
            if sms.len() != before {
                changed = true;
                page["semantic_models"] = json!(sms);
            }
        }
        if !changed {
            break;
        }
    }
}

/// Each metric page's models and dimensions, from its semantic models.
fn models_and_dimensions(
    out: &mut SemanticDocs,
    ids: &[String],
    sm_model: &BTreeMap<String, String>,
    sm_dims: &BTreeMap<String, Vec<String>>,
) {
    for id in ids {
        let page = out.pages.get_mut(id).expect("metric page");
        let sms: Vec<String> = page["semantic_models"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let mut models: Vec<String> = sms
            .iter()
            .filter_map(|s| sm_model.get(s).cloned())
            .collect();
        models.sort();
        models.dedup();
        let mut dims: Vec<String> = sms
            .iter()
            .flat_map(|s| sm_dims.get(s).cloned().unwrap_or_default())
            .collect();
        dims.sort();
        dims.dedup();
        page["models"] = json!(models);
        page["dimensions"] = json!(dims);
    }
}

#[cfg(test)]
mod tests {
    use super::ref_target;

    #[test]
    fn ref_targets() {
        assert_eq!(ref_target("ref('orders')").as_deref(), Some("orders"));
        assert_eq!(ref_target(" ref(\"orders\") ").as_deref(), Some("orders"));
        assert_eq!(
            ref_target("ref('pkg', 'orders')").as_deref(),
            Some("orders")
        );
        assert_eq!(ref_target("orders"), None);
    }
}
