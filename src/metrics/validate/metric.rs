//! The rules for one metric: a name and a label, the inputs its type needs (measures, metrics,
//! cumulative and conversion parameters), a derived expression that uses exactly its inputs,
//! aliases on filtered reads of one measure, and filters that resolve from every measure the
//! metric reads.
//!
//! Each group of rules is one function; [`metric`] calls them in the order their diagnostics
//! are reported.
//!
//! Design decision: a metric's filters are checked against each measure it reads, through the
//! measures of its input metrics, with the query planner's own [`Resolver`]: a filter that passes
//! here is one every query of the metric can render, whichever measure the planner starts from.

use std::collections::BTreeSet;

use super::{name_rule, Ctx};
use crate::diagnostics::{did_you_mean, Code};
use crate::metrics::model::*;
use crate::metrics::plan::{filter_specs, PlanError, Resolver, Spec, SpecKind};
use crate::metrics::Step;

/// The path of `type_params.<key>` under a metric.
fn params(key: &str) -> [Step<'_>; 2] {
    [Step::Key("type_params"), Step::Key(key)]
}

/// Every rule of one metric, in the order its diagnostics are reported: its name and label, the
/// parameters of its type, then what applies to every type.
pub(super) fn metric(layer: &SemanticLayer, m: &Metric, c: &mut Ctx) {
    identity(layer, m, c);
    match m.kind {
        MetricType::Simple => {
            check_measure(layer, m, c, &m.type_params.measure, "measure");
        }
        MetricType::Cumulative => cumulative_params(layer, m, c),
        MetricType::Ratio => ratio_params(layer, m, c),
        MetricType::Derived => derived_params(layer, m, c),
        MetricType::Conversion => conversion_params(layer, m, c),
    }
    misplaced_cumulative_params(m, c);
    measure_aliases(layer, m, c);
    filters(layer, m, c);
}

/// The metric's name, and a `label` (dbt requires one, except on a metric created from a
/// measure).
fn identity(layer: &SemanticLayer, m: &Metric, c: &mut Ctx) {
    if let Some(why) = name_rule(&m.name) {
        c.at(
            m,
            &[],
            Code::InvalidName,
            format!("invalid metric name `{}`", m.name),
            why,
        );
    }
    if m.label.is_none()
        && m.origin.line.is_some()
        && layer
            .measure(&m.name)
            .is_none_or(|(_, me)| !me.create_metric)
    {
        c.at(
            m,
            &[],
            Code::MetricLabel,
            format!("metric `{}` has no `label`", m.name),
            "dbt requires a display name for every metric: add `label: ...`",
        );
    }
}

/// The measure at `type_params.<key>` is given and defined by a semantic model; returns it.
fn check_measure<'l>(
    layer: &'l SemanticLayer,
    m: &Metric,
    c: &mut Ctx,
    mi: &Option<MeasureInput>,
    key: &str,
) -> Option<(&'l SemanticModel, &'l Measure)> {
    match mi {
        None => {
            c.at(
                m,
                &[Step::Key("type_params")],
                Code::MetricParams,
                format!("{} metric `{}` has no `{key}`", m.kind.as_str(), m.name),
                format!("add `type_params: {{{key}: <measure name>}}`"),
            );
            None
        }
        Some(mi) => match layer.measure(&mi.name) {
            Some(x) => Some(x),
            None => {
                let all: Vec<&str> = layer
                    .semantic_models
                    .iter()
                    .flat_map(|s| s.measures.iter().map(|x| x.name.as_str()))
                    .collect();
                c.at(
                    m,
                    &params(key),
                    Code::UnknownMeasure,
                    format!(
                        "metric `{}` uses measure `{}`, which no semantic model defines",
                        m.name, mi.name
                    ),
                    did_you_mean(&mi.name, all).unwrap_or_else(|| {
                        "define the measure under a semantic model's `measures:`".into()
                    }),
                );
                None
            }
        },
    }
}

/// An input metric at `type_params.<key>` is defined, with at most one offset, and an offset
/// only on the input of a derived metric.
fn check_metric_input(
    layer: &SemanticLayer,
    m: &Metric,
    c: &mut Ctx,
    input: &MetricInput,
    key: &str,
) {
    if layer.metric(&input.name).is_none() {
        c.at(
            m,
            &params(key),
            Code::UnknownMetric,
            format!(
                "metric `{}` uses metric `{}`, which is not defined",
                m.name, input.name
            ),
            did_you_mean(&input.name, layer.metrics.iter().map(|x| x.name.as_str()))
                .unwrap_or_else(|| "define it under `metrics:`".into()),
        );
    }
    if input.offset_window.is_some() && input.offset_to_grain.is_some() {
        c.at(
            m,
            &params(key),
            Code::MetricParams,
            format!(
                "input `{}` of metric `{}` sets both `offset_window` and `offset_to_grain`",
                input.name, m.name
            ),
            "keep one of the two offsets",
        );
    }
    if (input.offset_window.is_some() || input.offset_to_grain.is_some())
        && m.kind != MetricType::Derived
    {
        c.at(
            m,
            &params(key),
            Code::MetricParams,
            format!(
                "input `{}` of {} metric `{}` has an offset",
                input.name,
                m.kind.as_str(),
                m.name
            ),
            "offsets are for the inputs of derived metrics",
        );
    }
}

/// A cumulative metric: its measure, a window or a grain to date (not both), and a time spine
/// to accumulate over.
fn cumulative_params(layer: &SemanticLayer, m: &Metric, c: &mut Ctx) {
    let tp = &m.type_params;
    check_measure(layer, m, c, &tp.measure, "measure");
    if m.window().is_some() && m.grain_to_date().is_some() {
        c.at(m, &[Step::Key("type_params")], Code::MetricParams,
            format!("cumulative metric `{}` sets both `window` and `grain_to_date`", m.name),
            "a cumulative metric accumulates over a trailing window or from the start of a period, not both");
    }
    if layer.time_spine.is_none() {
        c.at(m, &[], Code::TimeSpine,
            format!("cumulative metric `{}` needs a time spine and the project has none", m.name),
            "add a day-grain model `metricflow_time_spine` with a `date_day` column, or `time_spine:` properties on a model");
    }
}

/// A ratio metric: a numerator and a denominator, each a defined metric.
fn ratio_params(layer: &SemanticLayer, m: &Metric, c: &mut Ctx) {
    let tp = &m.type_params;
    match &tp.numerator {
        Some(n) => check_metric_input(layer, m, c, n, "numerator"),
        None => c.at(
            m,
            &[Step::Key("type_params")],
            Code::MetricParams,
            format!("ratio metric `{}` has no `numerator`", m.name),
            "add `numerator: <metric name>`",
        ),
    }
    match &tp.denominator {
        Some(d) => check_metric_input(layer, m, c, d, "denominator"),
        None => c.at(
            m,
            &[Step::Key("type_params")],
            Code::MetricParams,
            format!("ratio metric `{}` has no `denominator`", m.name),
            "add `denominator: <metric name>`",
        ),
    }
}

/// A derived metric: input metrics under distinct names, and an expression that is valid SQL
/// using exactly those inputs.
fn derived_params(layer: &SemanticLayer, m: &Metric, c: &mut Ctx) {
    let tp = &m.type_params;
    if tp.metrics.is_empty() {
        c.at(
            m,
            &[Step::Key("type_params")],
            Code::MetricParams,
            format!("derived metric `{}` lists no input `metrics`", m.name),
            "add `metrics: [{name: <metric>}]` for every metric used in `expr`",
        );
    }
    for input in &tp.metrics {
        check_metric_input(layer, m, c, input, "metrics");
    }
    let mut cols = BTreeSet::new();
    for input in &tp.metrics {
        if !cols.insert(input.column()) {
            c.at(
                m,
                &params("metrics"),
                Code::MetricParams,
                format!(
                    "derived metric `{}` uses `{}` twice without distinct aliases",
                    m.name,
                    input.column()
                ),
                "give repeated inputs an `alias:`",
            );
        }
    }
    match m.expr() {
        None => c.at(
            m,
            &[Step::Key("type_params")],
            Code::MetricParams,
            format!("derived metric `{}` has no `expr`", m.name),
            "add `expr:` combining the input metrics, e.g. `a / b`",
        ),
        Some(expr) if sql_expr_error(&expr, c.sql_dialect).is_some() => {
            c.at(
                m,
                &params("expr"),
                Code::DerivedExpr,
                format!(
                    "the expression of derived metric `{}` is not valid SQL: {}",
                    m.name,
                    sql_expr_error(&expr, c.sql_dialect).unwrap_or_default()
                ),
                "write a SQL expression over the input metrics, e.g. `(a - b) / a`",
            );
        }
        Some(expr) => {
            let words = identifiers(&expr);
            for w in &words {
                if !cols.contains(w.as_str())
                    && !SQL_WORDS.contains(&w.to_ascii_lowercase().as_str())
                {
                    c.at(m, &params("expr"), Code::DerivedExpr,
                        format!("`{w}` in the expression of derived metric `{}` is not one of its input metrics", m.name),
                        did_you_mean(w, cols.iter().copied()).unwrap_or_else(|| format!("list `{w}` under `type_params.metrics` (or use its alias)")));
                }
            }
            let unknown = words.iter().any(|w| {
                !cols.contains(w.as_str()) && !SQL_WORDS.contains(&w.to_ascii_lowercase().as_str())
            });
            for col in cols.iter().filter(|_| !unknown) {
                if !words.iter().any(|w| w == col) {
                    c.at(
                        m,
                        &params("metrics"),
                        Code::DerivedExpr,
                        format!(
                            "input `{col}` of derived metric `{}` is not used in its expression",
                            m.name
                        ),
                        "remove it or use it in `expr`",
                    );
                }
            }
        }
    }
}

/// A conversion metric: base and conversion measures that count events, an entity in both
/// of their semantic models, and constant properties that are dimensions or entities there.
fn conversion_params(layer: &SemanticLayer, m: &Metric, c: &mut Ctx) {
    let tp = &m.type_params;
    match &tp.conversion_type_params {
        None => c.at(
            m,
            &[Step::Key("type_params")],
            Code::MetricParams,
            format!(
                "conversion metric `{}` has no `conversion_type_params`",
                m.name
            ),
            "add `conversion_type_params` with `base_measure`, `conversion_measure` and `entity`",
        ),
        Some(cp) => {
            let base = check_measure(layer, m, c, &cp.base_measure, "conversion_type_params");
            let conv = check_measure(
                layer,
                m,
                c,
                &cp.conversion_measure,
                "conversion_type_params",
            );
            for (which, x) in [("base", base), ("conversion", conv)] {
                if which == "conversion" && base.map(|b| &b.0.name) == conv.map(|c| &c.0.name) {
                    continue;
                }
                if let Some((sm, _)) = x {
                    if sm.entity(&cp.entity).is_none() {
                        c.at(m, &params("conversion_type_params"), Code::ConversionParams,
                            format!("entity `{}` of conversion metric `{}` is not in semantic model `{}` of its {which} measure", cp.entity, m.name, sm.name),
                            "the entity links base and conversion events; both semantic models need it");
                    }
                }
            }
            for (which, x) in [("base", base), ("conversion", conv)] {
                if let Some((_, me)) = x {
                    if !matches!(me.agg, Agg::Count | Agg::CountDistinct | Agg::Sum) {
                        c.at(m, &params("conversion_type_params"), Code::ConversionParams,
                            format!("{which} measure `{}` of conversion metric `{}` has `agg: {}`", me.name, m.name, me.agg.as_str()),
                            "conversion measures count events: use `count`, `count_distinct` or `sum`");
                    }
                }
            }
            for cprop in &cp.constant_properties {
                for (prop, x) in [
                    (&cprop.base_property, base),
                    (&cprop.conversion_property, conv),
                ] {
                    if let Some((sm, _)) = x {
                        if sm.dimension(prop).is_none() && sm.entity(prop).is_none() {
                            c.at(m, &params("conversion_type_params"), Code::ConversionParams,
                                format!("constant property `{prop}` is not a dimension or entity of `{}`", sm.name),
                                "name a dimension or entity of the measure's semantic model");
                        }
                    }
                }
            }
        }
    }
}

/// Only a cumulative metric takes cumulative parameters.
fn misplaced_cumulative_params(m: &Metric, c: &mut Ctx) {
    let tp = &m.type_params;
    if m.kind != MetricType::Cumulative
        && (tp.window.is_some()
            || tp.grain_to_date.is_some()
            || tp.cumulative_type_params.is_some())
    {
        c.at(
            m,
            &[Step::Key("type_params")],
            Code::MetricParams,
            format!(
                "{} metric `{}` has cumulative parameters",
                m.kind.as_str(),
                m.name
            ),
            "`window` and `grain_to_date` are for `type: cumulative` metrics",
        );
    }
}

/// The same measure read with different filters needs an alias on each filtered read.
fn measure_aliases(layer: &SemanticLayer, m: &Metric, c: &mut Ctx) {
    let reads: Vec<&MeasureInput> = layer
        .metrics_read(m)
        .into_iter()
        .flat_map(|x| x.type_params.measure.iter())
        .collect();
    for r in &reads {
        let differs = reads
            .iter()
            .any(|o| o.name == r.name && o.filter != r.filter);
        if differs && !r.filter.is_empty() && r.alias.is_none() {
            c.at(m, &[], Code::MeasureAlias,
                format!("metric `{}` reads measure `{}` with different filters, and the filtered read has no alias", m.name, r.name),
                format!("add `alias: <name>` next to the `filter` of measure `{}`", r.name));
            break;
        }
    }
}

/// Filters: references must resolve from every measure of the metric.
fn filters(layer: &SemanticLayer, m: &Metric, c: &mut Ctx) {
    let tp = &m.type_params;
    let mut templates: Vec<(&str, String)> =
        m.filter.iter().map(|t| ("filter", t.clone())).collect();
    if let Some(mi) = &tp.measure {
        templates.extend(mi.filter.iter().map(|t| ("type_params", t.clone())));
    }
    for input in m.input_metrics() {
        templates.extend(input.filter.iter().map(|t| ("type_params", t.clone())));
    }
    let resolver = Resolver::new(layer);
    let measures: Vec<(&SemanticModel, &Measure)> = layer
        .metrics_read(m)
        .into_iter()
        .filter_map(|x| x.type_params.measure.as_ref())
        .filter_map(|mi| layer.measure(&mi.name))
        .collect();
    for (key, t) in templates {
        let steps = [Step::Key(key)];
        match filter_specs(&t) {
            Err(e) => c.at(
                m,
                &steps,
                Code::Filter,
                format!("filter of metric `{}`: {}", m.name, e.message),
                e.hint,
            ),
            Ok(specs) => {
                for s in specs {
                    for (sm, me) in &measures {
                        if let Err(e) = resolve_spec(&resolver, &s, sm, me) {
                            c.at(
                                m,
                                &steps,
                                Code::Filter,
                                format!("filter of metric `{}`: {}", m.name, e.message),
                                e.hint,
                            );
                            break;
                        }
                    }
                }
            }
        }
    }
}

fn resolve_spec(r: &Resolver, s: &Spec, sm: &SemanticModel, me: &Measure) -> Result<(), PlanError> {
    let done = r.complete(s, sm, me)?;
    if done.kind == SpecKind::Entity && sm.entity(&done.name).is_none() {
        return Err(PlanError::new(
            format!(
                "entity `{}` is not in semantic model `{}`",
                done.name, sm.name
            ),
            "filter on an entity of the metric's semantic model",
        ));
    }
    Ok(())
}

/// Words allowed in a derived expression besides input names.
const SQL_WORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "case",
    "when",
    "then",
    "else",
    "end",
    "null",
    "is",
    "coalesce",
    "nullif",
    "cast",
    "as",
    "double",
    "float",
    "integer",
    "int",
    "decimal",
    "numeric",
    "round",
    "abs",
    "greatest",
    "least",
    "true",
    "false",
    "in",
    "between",
    "precision",
    "bigint",
    "ln",
    "exp",
    "power",
    "sqrt",
    "floor",
    "ceil",
];

/// Why `expr` is not one SQL expression (unbalanced parentheses, a dangling operator, trailing
/// text) as `dialect` (a `sqlparser` dialect's name: `snowflake`, `bigquery` ...; unknown
/// names read as generic SQL) reads it, or `None` when it parses.
pub fn sql_expr_error(expr: &str, dialect: &str) -> Option<String> {
    use sqlparser::dialect::{dialect_from_str, GenericDialect};
    use sqlparser::parser::Parser;
    use sqlparser::tokenizer::Token;
    let dialect = dialect_from_str(dialect).unwrap_or_else(|| Box::new(GenericDialect {}));
    let mut parser = match Parser::new(dialect.as_ref()).try_with_sql(expr) {
        Ok(p) => p,
        Err(e) => return Some(e.to_string()),
    };
    if let Err(e) = parser.parse_expr() {
        return Some(e.to_string());
    }
    match parser.peek_token().token {
        Token::EOF => None,
        t => Some(format!("unexpected `{t}` after the expression")),
    }
}

/// Identifiers of a SQL expression, outside string literals.
pub(super) fn identifiers(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_quote = false;
    let mut cur = String::new();
    let mut prev_dot = false;
    for ch in expr.chars().chain(std::iter::once(' ')) {
        if ch == '\'' {
            in_quote = !in_quote;
            cur.clear();
            continue;
        }
        if in_quote {
            continue;
        }
        if ch.is_ascii_alphanumeric() || ch == '_' {
            cur.push(ch);
        } else {
            if !cur.is_empty() && !cur.starts_with(|c: char| c.is_ascii_digit()) && !prev_dot {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
            prev_dot = ch == '.';
        }
    }
    out.dedup();
    out
}
