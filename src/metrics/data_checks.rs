//! Definition checks that need data (`sluice metrics validate --data`): a primary or unique
//! entity that is not unique in the built table, a join from a metric's semantic model to a
//! dimension model that multiplies rows (fan-out), and time dimension values outside the time
//! spine. This module writes one SQL query per check and turns its one-row answer into a
//! diagnostic on the semantic model's YAML line; the CLI runs the queries.
//!
//! Design decision: each check is an aggregate that returns exactly one row (`n`, the number of
//! offending keys or rows, plus an example), never the offending rows themselves, so a check on a
//! large table costs one scan and moves one row over the connection. The fan-out check only
//! follows the joins queries actually take: from a semantic model whose measures a metric uses,
//! along one of its entities, to a model where that entity is primary or unique (the only joins
//! the planner makes), and on from there for the second hop. Likewise the time spine check only looks at the time dimensions that
//! queries join to the spine (the aggregation time of cumulative metrics, offsets and
//! `join_to_timespine` measures): a date outside the spine loses rows only there.

use serde_json::Value;

use std::collections::BTreeSet;

use super::model::{DimensionType, EntityType, MetricType, SemanticLayer};
use super::Step;
use crate::sql::Dialect;

/// What a check looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckKind {
    /// Entity `entity` of `model` (primary or unique) has repeated values.
    NotUnique { model: String, entity: String },
    /// Joining `from` to `to` on `entity` matches several rows of `to` for some rows of `from`.
    FanOut {
        from: String,
        to: String,
        entity: String,
    },
    /// Time dimension `dimension` of `model` has dates outside the time spine.
    OutsideSpine { model: String, dimension: String },
}

/// One check: its SQL (one row: `n`, then details) and where its diagnostic points.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub(crate) kind: CheckKind,
    pub(crate) sql: String,
    /// The YAML file of the semantic model the diagnostic points at.
    pub(crate) file: String,
}

impl Check {
    /// The path to the YAML key the diagnostic points at (under `semantic_models:`).
    pub(crate) fn steps(&self) -> Vec<Step<'_>> {
        match &self.kind {
            CheckKind::NotUnique { model, entity } => {
                vec![Step::Name(model), Step::Key("entities"), Step::Name(entity)]
            }
            CheckKind::FanOut { from, entity, .. } => {
                vec![Step::Name(from), Step::Key("entities"), Step::Name(entity)]
            }
            CheckKind::OutsideSpine { model, dimension } => vec![
                Step::Name(model),
                Step::Key("dimensions"),
                Step::Name(dimension),
            ],
        }
    }

    /// The message and hint for the check's answer (`columns`, `row`), or `None` when it passed.
    pub(crate) fn explain(&self, columns: &[String], row: &[Value]) -> Option<(String, String)> {
        let get = |name: &str| {
            columns
                .iter()
                .position(|c| c == name)
                .and_then(|i| row.get(i))
                .map(text)
                .unwrap_or_default()
        };
        let n: u64 = get("n").parse::<f64>().ok().map_or(0, |f| f as u64);
        if n == 0 {
            return None;
        }
        Some(match &self.kind {
            CheckKind::NotUnique { model, entity } => (
                format!(
                    "entity `{entity}` of semantic model `{model}` is not unique in its table: {n} {} (e.g. `{}` is on {} rows)",
                    if n == 1 { "value repeats" } else { "values repeat" },
                    get("example"),
                    get("most")
                ),
                "a primary or unique entity must identify one row: fix the model, or make the entity `foreign` (or `natural`)".into(),
            ),
            CheckKind::FanOut { from, to, entity } => (
                format!(
                    "joining semantic model `{from}` to `{to}` on entity `{entity}` multiplies rows: {n} row{} of `{from}` match several rows of `{to}` (e.g. `{}` matches {}), so metrics grouped by a dimension of `{to}` are overcounted",
                    plural(n),
                    get("example"),
                    get("most")
                ),
                format!("make `{entity}` unique in the table of `{to}`"),
            ),
            CheckKind::OutsideSpine { model, dimension } => (
                format!(
                    "time dimension `{dimension}` of semantic model `{model}` has {n} row{} outside the time spine ({} to {}): from {} to {}",
                    plural(n),
                    get("spine_first"),
                    get("spine_last"),
                    get("first"),
                    get("last")
                ),
                "extend the time spine model to cover every date, or cumulative metrics and offsets lose those rows".into(),
            ),
        })
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => s
            .trim_end_matches(" 00:00:00")
            .trim_end_matches("T00:00:00")
            .to_string(),
        other => other.to_string(),
    }
}

/// (semantic model, time dimension) pairs that queries join to the time spine.
fn spine_joined(layer: &SemanticLayer) -> BTreeSet<(String, String)> {
    let mut measures: Vec<&str> = Vec::new();
    for m in &layer.metrics {
        let tp = &m.type_params;
        if m.kind == MetricType::Cumulative
            || tp.measure.as_ref().is_some_and(|x| x.join_to_timespine)
        {
            measures.extend(layer.measure_inputs(m).iter().map(|mi| mi.name.as_str()));
        }
        for i in tp.metrics.iter() {
            if i.offset_window.is_some() || i.offset_to_grain.is_some() {
                if let Some(input) = layer.metric(&i.name) {
                    measures.extend(
                        layer
                            .measure_inputs(input)
                            .iter()
                            .map(|mi| mi.name.as_str()),
                    );
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    for name in measures {
        if let Some((sm, measure)) = layer.measure(name) {
            if let Some(dim) = sm.agg_time_of(measure) {
                out.insert((sm.name.clone(), dim.to_string()));
            }
        }
    }
    out
}

/// Every check of `layer`, in a stable order (semantic models by name, then entities and
/// dimensions as written).
pub(crate) fn checks(layer: &SemanticLayer, dialect: Dialect) -> Vec<Check> {
    let mut out = Vec::new();
    let mut models: Vec<_> = layer.semantic_models.iter().collect();
    models.sort_by(|a, b| a.name.cmp(&b.name));
    // Semantic models whose measures some metric reads: where queries start.
    let mut used: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for m in &layer.metrics {
        let tp = &m.type_params;
        let conv = tp.conversion_type_params.as_ref();
        for input in tp.measure.iter().chain(conv.into_iter().flat_map(|c| {
            [&c.base_measure, &c.conversion_measure]
                .into_iter()
                .flatten()
        })) {
            if let Some((sm, _)) = layer.measure(&input.name) {
                used.insert(sm.name.as_str());
            }
        }
    }
    // Queries join up to two hops away: the models one join from where they start are where
    // a second join starts.
    let mut first_hop: Vec<&str> = Vec::new();
    for sm in models.iter().filter(|sm| used.contains(sm.name.as_str())) {
        for e in &sm.entities {
            for to in &models {
                let joinable = to
                    .entity(&e.name)
                    .is_some_and(|t| matches!(t.kind, EntityType::Primary | EntityType::Unique));
                if to.name != sm.name && joinable {
                    first_hop.push(to.name.as_str());
                }
            }
        }
    }
    used.extend(first_hop);
    let joined = spine_joined(layer);
    for sm in &models {
        let Some(rel) = &sm.relation else { continue };
        let rel = dialect.rel(rel);
        for e in &sm.entities {
            if !matches!(e.kind, EntityType::Primary | EntityType::Unique) {
                continue;
            }
            let k = e.sql();
            out.push(Check {
                kind: CheckKind::NotUnique {
                    model: sm.name.clone(),
                    entity: e.name.clone(),
                },
                sql: format!(
                    "select count(*) as n, min(cast(d.k as varchar)) as example, max(d.c) as most\nfrom (select {k} as k, count(*) as c from {rel} where {k} is not null group by {k} having count(*) > 1) as d"
                ),
                file: sm.origin.file.clone(),
            });
        }
        if used.contains(sm.name.as_str()) {
            for e in &sm.entities {
                for to in &models {
                    if to.name == sm.name {
                        continue;
                    }
                    let (Some(target), Some(trel)) = (to.entity(&e.name), &to.relation) else {
                        continue;
                    };
                    if !matches!(target.kind, EntityType::Primary | EntityType::Unique) {
                        continue;
                    }
                    out.push(Check {
                        kind: CheckKind::FanOut {
                            from: sm.name.clone(),
                            to: to.name.clone(),
                            entity: e.name.clone(),
                        },
                        sql: format!(
                            "select count(*) as n, min(cast(s.k as varchar)) as example, max(d.c) as most\nfrom (select {} as k from {rel}) as s\njoin (select {pk} as k, count(*) as c from {trel} where {pk} is not null group by {pk} having count(*) > 1) as d\n  on s.k = d.k",
                            e.sql(),
                            pk = target.sql(),
                            trel = dialect.rel(trel),
                        ),
                        file: sm.origin.file.clone(),
                    });
                }
            }
        }
        if let Some(ts) = &layer.time_spine {
            let spine = dialect.rel(&ts.relation);
            let col = dialect.quote(&ts.column);
            for dim in &sm.dimensions {
                if dim.kind != DimensionType::Time
                    || !joined.contains(&(sm.name.clone(), dim.name.clone()))
                {
                    continue;
                }
                out.push(Check {
                    kind: CheckKind::OutsideSpine {
                        model: sm.name.clone(),
                        dimension: dim.name.clone(),
                    },
                    sql: format!(
                        "select count(*) as n, cast(min(x.t) as varchar) as first, cast(max(x.t) as varchar) as last,\n  (select cast(min(cast({col} as date)) as varchar) from {spine}) as spine_first,\n  (select cast(max(cast({col} as date)) as varchar) from {spine}) as spine_last\nfrom (select cast({} as date) as t from {rel}) as x\nwhere x.t < (select min(cast({col} as date)) from {spine})\n   or x.t > (select max(cast({col} as date)) from {spine})",
                        dim.sql()
                    ),
                    file: sm.origin.file.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_passing_answer_is_no_diagnostic() {
        let c = Check {
            kind: CheckKind::FanOut {
                from: "orders".into(),
                to: "customers".into(),
                entity: "customer".into(),
            },
            sql: String::new(),
            file: "models/semantic.yml".into(),
        };
        let cols: Vec<String> = ["n", "example", "most"].map(String::from).to_vec();
        assert_eq!(
            c.explain(&cols, &[json!(0), Value::Null, Value::Null]),
            None
        );
        let (msg, _) = c
            .explain(&cols, &[json!(3), json!("1"), json!(2)])
            .expect("a failing answer");
        assert!(
            msg.contains(
                "3 rows of `orders` match several rows of `customers` (e.g. `1` matches 2)"
            ),
            "{msg}"
        );
    }
}
