//! The semantic layer: semantic models, metrics and saved queries read from properties YAML
//! ([`model`]), checked with MetricFlow's rules ([`validate`]), planned into one SQL query per
//! metric request ([`plan`]) through the target's dialect ([`render`]), and written out as dbt's
//! `semantic_manifest.json` ([`manifest`]).
//!
//! Inputs: the project's YAML files (for the definitions and the lines diagnostics point at) and
//! the parsed [`Manifest`] (to resolve `ref('model')` to relations). Output: a [`SemanticLayer`].
//!
//! Design decision: definitions are re-read from the YAML files rather than from the manifest's
//! raw values, because every validation error must name the file and line of the offending key,
//! and only the file text knows lines. Reading a few YAML values twice costs microseconds.

pub(crate) mod data_checks;
pub(crate) mod data_tests;
pub(crate) mod latest_spec;
pub(crate) mod manifest;
pub(crate) mod metric_tests;
pub(crate) mod model;
pub(crate) mod nodes;
pub(crate) mod plan;
pub(crate) mod plan_error;
pub(crate) mod render;
pub(crate) mod spec;
pub(crate) mod unit_tests;
pub mod validate;

use serde_json::Value;

pub(crate) use model::*;
pub(crate) use plan::MetricQuery;

use crate::compile::{Manifest, ResourceType};
use crate::diagnostics::{Code, Diagnostic, Location};
use crate::project::YamlFile;

/// One step of a path to a YAML key: an entry of a list by its `name:`, or a mapping key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    Name(&'a str),
    Key(&'a str),
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// A line's content after an optional `- ` list marker, and the column where it starts.
fn content_of(line: &str) -> (&str, usize) {
    let ind = indent_of(line);
    let t = &line[ind..];
    match t.strip_prefix("- ") {
        Some(rest) => {
            let r = rest.trim_start();
            (r, line.len() - r.len())
        }
        None => (t, ind),
    }
}

/// 1-based (line, column) of the key reached by `steps` under the top-level `section:` of a YAML
/// text, or of the deepest step found. Text-based, so it works on any YAML dbt accepts.
pub(crate) fn locate(text: &str, section: &str, steps: &[Step]) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let header = format!("{section}:");
    let mut best: Option<(usize, usize)> = None;
    for (i, l) in lines.iter().enumerate() {
        if indent_of(l) != 0 || l.trim_end() != header {
            continue;
        }
        // The section's lines: until the next top-level key.
        let mut end = i + 1;
        while end < lines.len() {
            let x = lines[end];
            if !is_blank(x) && indent_of(x) == 0 && !x.starts_with("- ") {
                break;
            }
            end += 1;
        }
        let (mut start, mut stop) = (i + 1, end);
        let mut found = (i + 1, 1);
        let mut complete = true;
        for step in steps {
            // The column of keys (or list items' first keys) at this level.
            let Some(level) = (start..stop)
                .find(|&j| !is_blank(lines[j]))
                .map(|j| content_of(lines[j]).1)
            else {
                complete = false;
                break;
            };
            let hit = (start..stop).find(|&j| {
                let (c, col) = content_of(lines[j]);
                col == level
                    && match step {
                        Step::Name(n) => c.strip_prefix("name:").is_some_and(|v| {
                            v.trim().trim_matches(|q| q == '"' || q == '\'') == *n
                        }),
                        Step::Key(k) => c.strip_prefix(k).is_some_and(|r| r.starts_with(':')),
                    }
            });
            let Some(j) = hit else {
                complete = false;
                break;
            };
            let col = content_of(lines[j]).1;
            found = (j + 1, col + 1);
            match step {
                Step::Name(_) => {
                    // The list item holding `name:`: back to its `- ` line, on to the next item.
                    let mut s0 = j;
                    while !lines[s0][indent_of(lines[s0])..].starts_with("- ") && s0 > start {
                        s0 -= 1;
                    }
                    let mut e0 = j + 1;
                    while e0 < stop {
                        let x = lines[e0];
                        if !is_blank(x) && indent_of(x) < col {
                            break;
                        }
                        e0 += 1;
                    }
                    // Keys of the item are at `col`; the `- ` line holds the first one.
                    start = s0;
                    stop = e0;
                    // Items' own keys start at `col` on the `- ` line too, so `level` is right.
                }
                Step::Key(_) => {
                    let mut e0 = j + 1;
                    while e0 < stop {
                        let x = lines[e0];
                        if !is_blank(x) {
                            let ind = indent_of(x);
                            if ind < col || (ind == col && !x[ind..].starts_with("- ")) {
                                break;
                            }
                        }
                        e0 += 1;
                    }
                    start = j + 1;
                    stop = e0;
                }
            }
        }
        if complete {
            return Some(found);
        }
        if best.is_none_or(|b| found.0 > b.0) {
            best = Some(found);
        }
    }
    best
}

/// The value or key a serde error complains about (`unknown variant `summ``).
fn offending_token(msg: &str) -> Option<String> {
    for lead in [
        "unknown variant `",
        "unknown field `",
        "invalid window `",
        "unknown time granularity `",
    ] {
        if let Some(rest) = msg.split(lead).nth(1) {
            return rest.split('`').next().map(str::to_string);
        }
    }
    None
}

/// 1-based (line, column) of `token` as a whole word in the list entry starting at line `start`.
fn find_in_entry(text: &str, start: usize, token: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.get(start.checked_sub(1)?)?;
    let entry_indent = indent_of(first);
    for (i, l) in lines.iter().enumerate().skip(start - 1) {
        if i >= start && !is_blank(l) && indent_of(l) <= entry_indent.saturating_sub(2) {
            break;
        }
        if i >= start && l.trim_start().starts_with("- ") && indent_of(l) + 2 == entry_indent {
            break;
        }
        let mut from = 0;
        while let Some(p) = l[from..].find(token) {
            let at = from + p;
            let before = l[..at].chars().next_back();
            let after = l[at + token.len()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            if !word(before) && !word(after) {
                return Some((i + 1, at + 1));
            }
            from = at + token.len();
        }
    }
    None
}

/// A diagnostic pointing at `steps` under `section:` of `file` (line found in `files`).
pub(crate) fn diag_at(
    files: &[YamlFile],
    file: &str,
    section: &str,
    steps: &[Step],
    code: Code,
    msg: impl Into<String>,
) -> Diagnostic {
    let d = Diagnostic::error(code, msg);
    let f = files.iter().find(|f| f.original_file_path == file);
    // The latest spec defines semantic models and metrics on `models:` entries instead.
    let found = f.and_then(|f| {
        latest_spec::locate_on_model(&f.text, &f.value, section, steps)
            .or_else(|| locate(&f.text, section, steps))
    });
    match found {
        Some((line, col)) => d.at(Location::at(file, line, col)),
        None if !file.is_empty() => d.in_file(file),
        None => d,
    }
}

/// What the semantic layer needs from the manifest: every refable node's relation by name.
/// Serialisable, so `metrics query` can cache it instead of reparsing the project; it records
/// the names the layer looked up, and the cache keeps only those ([`ModelIndex::asked_only`]).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ModelIndex {
    /// name -> (unique_id, database, schema, identifier, is a model). Loading the layer reads it
    /// through [`ModelIndex::get`] only, so that the cache holds all it read; the metric tests
    /// (never loaded from the cache) read it directly.
    pub nodes: std::collections::BTreeMap<String, (String, String, String, String, bool)>,
    /// The names [`ModelIndex::get`] was asked for, found or not.
    #[serde(skip)]
    asked: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl ModelIndex {
    pub(crate) fn from_manifest(manifest: &Manifest) -> Self {
        use rayon::prelude::*;
        // The entries are copied in parallel, then the map is built from them at once (sorted
        // stably by name: of two nodes of one name the last in id order is kept, as inserting
        // them one by one kept it).
        let nodes: Vec<&crate::compile::Node> = manifest.nodes.values().map(|n| &**n).collect();
        let mut entries: Vec<(String, (String, String, String, String, bool))> = nodes
            .par_iter()
            .filter(|n| n.resource_type.is_refable() && n.is_enabled())
            .map(|n| {
                (
                    n.name.clone(),
                    (
                        n.unique_id.clone(),
                        n.database.clone(),
                        n.schema.clone(),
                        n.alias.clone(),
                        n.resource_type == ResourceType::Model,
                    ),
                )
            })
            .collect();
        entries.par_sort_by(|a, b| a.0.cmp(&b.0));
        ModelIndex {
            nodes: entries.into_iter().collect(),
            asked: Default::default(),
        }
    }

    /// The entries of the names looked up so far: all that loading the same definitions
    /// against this index again reads of it (a name it lacked stays missing).
    pub(crate) fn asked_only(&self) -> ModelIndex {
        let asked = self.asked.lock().map(|a| a.clone()).unwrap_or_default();
        let nodes = asked
            .iter()
            .filter_map(|name| Some((name.clone(), self.nodes.get(name)?.clone())))
            .collect();
        ModelIndex {
            nodes,
            asked: std::sync::Mutex::new(asked),
        }
    }

    fn get(&self, name: &str) -> Option<(String, crate::sql::Relation, bool)> {
        if let Ok(mut asked) = self.asked.lock() {
            if !asked.contains(name) {
                asked.insert(name.to_string());
            }
        }
        self.nodes.get(name).map(|(id, db, sc, ident, model)| {
            (id.clone(), crate::sql::Relation::new(db, sc, ident), *model)
        })
    }
}

/// Reads the semantic layer from the project's YAML files; refs are resolved against `manifest`.
/// Returns the definitions that parsed and one diagnostic per entry that did not.
pub(crate) fn load(files: &[YamlFile], manifest: &Manifest) -> (SemanticLayer, Vec<Diagnostic>) {
    load_indexed(files, &ModelIndex::from_manifest(manifest))
}

/// [`load`] against a [`ModelIndex`].
pub fn load_indexed(files: &[YamlFile], index: &ModelIndex) -> (SemanticLayer, Vec<Diagnostic>) {
    let mut layer = SemanticLayer::default();
    let mut errors = Vec::new();
    for f in files {
        let Value::Object(top) = &f.value else {
            continue;
        };
        for (section, items) in top {
            let Value::Array(items) = items else { continue };
            if section == "models" {
                load_model_semantics(f, items, index, &mut layer, &mut errors);
                continue;
            }
            for item in items {
                // Top-level metrics may be written in the latest spec (no `type_params`).
                let normalised;
                let item = if section == "metrics" {
                    normalised = latest_spec::metric(item);
                    &normalised
                } else {
                    item
                };
                let name = item.get("name").and_then(Value::as_str).unwrap_or("");
                let origin = |f: &YamlFile| Origin {
                    file: f.original_file_path.clone(),
                    line: locate(&f.text, section, &[Step::Name(name)]).map(|(l, _)| l),
                };
                let bad = |e: serde_json::Error, what: &str| {
                    let mut d = diag_at(
                        files,
                        &f.original_file_path,
                        section,
                        &[Step::Name(name)],
                        Code::SemanticYaml,
                        format!("invalid {what} `{name}`: {e}"),
                    );
                    // Point at the offending key or value when serde names it.
                    if let (Some(tok), Some(loc)) =
                        (offending_token(&e.to_string()), d.location.as_mut())
                    {
                        if let Some(start) = loc.line {
                            if let Some((l, c)) = find_in_entry(&f.text, start, &tok) {
                                loc.line = Some(l);
                                loc.column = Some(c);
                            }
                        }
                    }
                    d.with_hint(format!(
                        "see the dbt docs on {what}s for the keys and values it accepts"
                    ))
                };
                match section.as_str() {
                    "semantic_models" => {
                        match serde_json::from_value::<SemanticModel>(item.clone()) {
                            Ok(mut sm) => {
                                sm.origin = origin(f);
                                resolve_model(&mut sm, index);
                                layer.semantic_models.push(sm);
                            }
                            Err(e) => errors.push(bad(e, "semantic model")),
                        }
                    }
                    "metrics" => match serde_json::from_value::<Metric>(item.clone()) {
                        Ok(mut m) => {
                            m.origin = origin(f);
                            layer.metrics.push(m);
                        }
                        Err(e) => errors.push(bad(e, "metric")),
                    },
                    "saved_queries" => match serde_json::from_value::<SavedQuery>(item.clone()) {
                        Ok(mut q) => {
                            q.origin = origin(f);
                            layer.saved_queries.push(q);
                        }
                        Err(e) => errors.push(bad(e, "saved query")),
                    },
                    _ => {}
                }
            }
        }
    }
    add_created_metrics(&mut layer);
    layer.semantic_models.sort_by(|a, b| a.name.cmp(&b.name));
    layer.metrics.sort_by(|a, b| a.name.cmp(&b.name));
    layer.saved_queries.sort_by(|a, b| a.name.cmp(&b.name));
    layer.time_spine = find_time_spine(index, files);
    (layer, errors)
}

/// The latest spec: semantic models and metrics defined on the models of one file's `models:`.
/// They point at the model's entry (diagnostics and `origin`), as the definitions live there.
fn load_model_semantics(
    f: &YamlFile,
    models: &[Value],
    index: &ModelIndex,
    layer: &mut SemanticLayer,
    errors: &mut Vec<Diagnostic>,
) {
    for model in models {
        let Some((sm, metrics)) = latest_spec::from_model(model) else {
            continue;
        };
        let model_name = model.get("name").and_then(Value::as_str).unwrap_or("");
        let at = locate(&f.text, "models", &[Step::Name(model_name)]);
        let origin = Origin {
            file: f.original_file_path.clone(),
            line: at.map(|(l, _)| l),
        };
        let bad = |e: serde_json::Error, what: &str, name: &str| {
            let d = Diagnostic::error(
                Code::SemanticYaml,
                format!("invalid {what} `{name}` on model `{model_name}`: {e}"),
            );
            // Point at the offending key or value when serde names it.
            let at = match (at, offending_token(&e.to_string())) {
                (Some((l, _)), Some(tok)) => find_in_entry(&f.text, l, &tok).or(at),
                _ => at,
            };
            match at {
                Some((l, c)) => d.at(Location::at(&f.original_file_path, l, c)),
                None => d.in_file(&f.original_file_path),
            }
            .with_hint(format!(
                "see the dbt docs on the latest YAML spec for the keys and values {what}s accept"
            ))
        };
        let sm_name = sm
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match serde_json::from_value::<SemanticModel>(sm) {
            Ok(mut sm) => {
                sm.origin = origin.clone();
                resolve_model(&mut sm, index);
                layer.semantic_models.push(sm);
            }
            Err(e) => errors.push(bad(e, "semantic model", &sm_name)),
        }
        for m in metrics {
            let name = m
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            match serde_json::from_value::<Metric>(m) {
                Ok(mut m) => {
                    m.origin = origin.clone();
                    layer.metrics.push(m);
                }
                Err(e) => errors.push(bad(e, "metric", &name)),
            }
        }
    }
}

fn resolve_model(sm: &mut SemanticModel, index: &ModelIndex) {
    let Some(name) = sm.model_name() else { return };
    if let Some((id, rel, _)) = index.get(&name) {
        sm.relation = Some(rel);
        sm.depends_on = Some(id);
    }
}

/// `create_metric: true` measures become simple metrics of the same name.
fn add_created_metrics(layer: &mut SemanticLayer) {
    let mut created = Vec::new();
    for sm in &layer.semantic_models {
        for m in sm.measures.iter().filter(|m| m.create_metric) {
            created.push(Metric {
                name: m.name.clone(),
                kind: MetricType::Simple,
                type_params: MetricTypeParams {
                    measure: Some(MeasureInput {
                        name: m.name.clone(),
                        ..Default::default()
                    }),
                    expr: Some(Value::String(m.name.clone())),
                    ..Default::default()
                },
                label: Some(m.label.clone().unwrap_or_else(|| m.name.clone())),
                description: Some(
                    m.description
                        .clone()
                        .filter(|d| !d.is_empty())
                        .unwrap_or_else(|| format!("Metric created from measure {}", m.name)),
                ),
                filter: vec![],
                time_granularity: None,
                config: None,
                meta: None,
                tags: None,
                _data_tests: None,
                origin: sm.origin.clone(),
            });
        }
    }
    layer.metrics.extend(created);
}

/// The time spine: a model with `time_spine:` in its properties, else the legacy
/// `metricflow_time_spine` model (column `date_day`).
fn find_time_spine(index: &ModelIndex, files: &[YamlFile]) -> Option<TimeSpine> {
    for f in files {
        let Some(Value::Array(models)) = f.value.get("models") else {
            continue;
        };
        for m in models {
            let Some(ts) = m.get("time_spine") else {
                continue;
            };
            let name = m.get("name").and_then(Value::as_str)?;
            let column = ts
                .get("standard_granularity_column")
                .and_then(Value::as_str)
                .unwrap_or("date_day")
                .to_string();
            let grain = m
                .get("columns")
                .and_then(Value::as_array)
                .and_then(|cols| {
                    cols.iter()
                        .find(|c| c.get("name").and_then(Value::as_str) == Some(column.as_str()))
                })
                .and_then(|c| c.get("granularity").and_then(Value::as_str))
                .and_then(Grain::parse)
                .unwrap_or(Grain::Day);
            let custom_granularities = ts
                .get("custom_granularities")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .map(|g| {
                            serde_json::json!({
                                "name": g.get("name"),
                                "column_name": g.get("column_name"),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            if let Some((id, relation, true)) = index.get(name) {
                return Some(TimeSpine {
                    model: id,
                    relation,
                    column,
                    grain,
                    legacy: false,
                    custom_granularities,
                });
            }
        }
    }
    match index.get("metricflow_time_spine") {
        Some((id, relation, true)) => Some(TimeSpine {
            model: id,
            relation,
            column: "date_day".into(),
            grain: Grain::Day,
            legacy: true,
            custom_granularities: Vec::new(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "version: 2

models:
  - name: mrr

semantic_models:
  - name: orders
    model: ref('orders')
    measures:
      - name: total
        agg: sum
      - name: mrr
        agg: summ
  - name: mrr
    entities:
      - type: primary
        name: account

metrics:
  - name: mrr
    type: simple
";

    #[test]
    fn locates_nested_keys() {
        assert_eq!(locate(YAML, "metrics", &[Step::Name("mrr")]), Some((20, 5)));
        assert_eq!(
            locate(YAML, "semantic_models", &[Step::Name("mrr")]),
            Some((14, 5))
        );
        assert_eq!(
            locate(
                YAML,
                "semantic_models",
                &[
                    Step::Name("orders"),
                    Step::Key("measures"),
                    Step::Name("mrr"),
                    Step::Key("agg")
                ]
            ),
            Some((13, 9))
        );
        assert_eq!(
            locate(
                YAML,
                "semantic_models",
                &[
                    Step::Name("mrr"),
                    Step::Key("entities"),
                    Step::Name("account")
                ]
            ),
            Some((17, 9))
        );
        assert_eq!(
            locate(
                YAML,
                "semantic_models",
                &[Step::Name("orders"), Step::Key("model")]
            ),
            Some((8, 5))
        );
    }
}
