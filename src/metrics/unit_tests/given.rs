//! The `given` inputs of a metric unit test: each a `ref()` of a model that a semantic model (or
//! the time spine) reads, given once, with rows to load into its fixture table.
//!
//! Split from the unit tests' `mod.rs` as one step of compiling an entry: what an input may be
//! is the longest list of checks of an entry, and the only one that reads the project's models.

use serde_json::{Map, Value};

use super::fixtures::{fixture_rows, sql_rows};
use super::{unknown_key, Entry, GIVEN_KEYS};
use crate::diagnostics::{did_you_mean, Diagnostic};
use crate::metrics::model::{parse_ref, SemanticLayer};
use crate::metrics::ModelIndex;

/// One given input, checked.
pub(super) struct Given {
    pub(super) model_id: String,
    pub(super) model: String,
    pub(super) rows: Vec<Map<String, Value>>,
    /// The select of `format: sql` (then `rows` is empty).
    pub(super) sql: Option<String>,
}

/// The entry's `given` inputs, checked in order (at least one).
pub(super) fn given(
    e: &Entry,
    layer: &SemanticLayer,
    index: &ModelIndex,
) -> Result<Vec<Given>, Diagnostic> {
    let name = &e.name;
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
        let checked = input(e, g, layer, index, &given)?;
        given.push(checked);
    }
    Ok(given)
}

/// One `given` input, checked (`before`: the inputs before it, which it may not repeat).
fn input(
    e: &Entry,
    g: &Value,
    layer: &SemanticLayer,
    index: &ModelIndex,
    before: &[Given],
) -> Result<Given, Diagnostic> {
    let name = &e.name;
    let Value::Object(g) = g else {
        return Err(e.err(
            Some("given"),
            format!(
                "each `given` of metric unit test `{name}` is a mapping with `input` and `rows`"
            ),
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
            format!(
                "metric unit test `{name}` gives rows for `{model}`, which no semantic model reads"
            ),
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
            .unwrap_or_else(|| {
                "give rows for the models of the semantic models the metric uses".into()
            }),
        ));
    }
    if before.iter().any(|x| x.model == model) {
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
    Ok(Given {
        model_id: model_id.clone(),
        model,
        rows,
        sql,
    })
}
