//! The query planner: a [`MetricQuery`] (metrics, group-by items, filters, order, limit, time
//! range) becomes one SQL statement over the semantic models' relations.
//!
//! How a query is built, bottom up:
//! 1. every measure a metric needs gets a *flat* subquery: one row per source row of its semantic
//!    model, joined (left outer, on an entity) to the semantic models holding the requested
//!    dimensions, with one column per group-by item or filter reference, named as the user names
//!    it (`metric_time__month`, `account__segment`);
//! 2. filters (`{{ Dimension('account__segment') }} = 'EU'`) become predicates on those columns;
//!    non-additive measures keep only the rows at the last (or first) time of each period;
//! 3. the rows are aggregated by the group-by columns (cumulative metrics and offsets first join the
//!    time spine); ratio and derived metrics combine their inputs' subqueries with full outer joins
//!    on the group-by columns, as MetricFlow does.
//!
//! Design decision: joins only go from a measure's model to a model where the join entity is
//! primary, unique or natural, so a row can never be duplicated (no fan-out); the planner refuses
//! any other join with an error that names both models, instead of silently double-counting.
//!
//! Step 1 and the aggregation of step 3 for one measure are in `measure`; which model and join
//! path a name is read from is `resolve`'s; this module combines metrics.

use std::collections::BTreeMap;

use super::model::*;
pub(crate) use super::plan_error::PlanError;
use super::render;
use super::spec::render_filter;
pub(crate) use super::spec::{filter_specs, Spec, SpecKind};
use crate::sql::Dialect;

mod measure;
mod resolve;

use measure::group_select;
use resolve::JoinKey;
pub(crate) use resolve::Resolver;

type PResult<T> = Result<T, PlanError>;

/// A metric request, as `sluice metrics query` takes it.
#[derive(Debug, Clone, Default)]
pub(crate) struct MetricQuery {
    pub(crate) metrics: Vec<String>,
    pub(crate) group_by: Vec<String>,
    pub(crate) where_: Vec<String>,
    /// Group-by items or metric names, `-` first for descending.
    pub(crate) order_by: Vec<String>,
    pub(crate) limit: Option<u64>,
    pub(crate) start_time: Option<String>,
    pub(crate) end_time: Option<String>,
}

impl MetricQuery {
    /// The query a saved query stands for.
    pub(crate) fn from_saved(q: &SavedQuery) -> MetricQuery {
        MetricQuery {
            metrics: q.query_params.metrics.clone(),
            group_by: q.query_params.group_by.clone(),
            where_: q.query_params.where_.clone(),
            order_by: q.query_params.order_by.clone(),
            limit: q.query_params.limit,
            ..Default::default()
        }
    }
}

/// Offsets of a derived metric's input.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Offset {
    Window(Window),
    ToGrain(Grain),
}

/// The context a metric is computed in: filters inherited from parents, an offset.
#[derive(Debug, Clone, Default)]
struct Ctx {
    filters: Vec<String>,
    offset: Option<Offset>,
}

/// The SQL and the columns of a planned query.
#[derive(Debug, Clone)]
pub(crate) struct QueryPlan {
    pub(crate) sql: String,
    /// Output columns: group-by items, then metrics.
    pub(crate) columns: Vec<String>,
}

pub(crate) struct Planner<'a> {
    layer: &'a SemanticLayer,
    resolver: Resolver<'a>,
    dialect: Dialect,
    /// Group-by items as given (kinds and grains completed per measure).
    specs: Vec<Spec>,
    where_: Vec<String>,
    start: Option<String>,
    end: Option<String>,
}

/// Plans `q` into SQL for `dialect`.
pub(crate) fn plan(layer: &SemanticLayer, q: &MetricQuery, dialect: Dialect) -> PResult<QueryPlan> {
    if q.metrics.is_empty() {
        return Err(PlanError::new(
            "no metric to query",
            "pass --metrics a,b (see `sluice metrics list`)",
        ));
    }
    let mut specs = Vec::new();
    for g in &q.group_by {
        let s = Spec::parse(g)?;
        if s.kind == SpecKind::Metric {
            return Err(PlanError::new(
                format!("cannot group by a metric: `{g}`"),
                "group by dimensions, entities or metric_time",
            ));
        }
        if !specs.contains(&s) {
            specs.push(s);
        }
    }
    for m in &q.metrics {
        if layer.metric(m).is_none() {
            return Err(PlanError::new(
                format!("unknown metric `{m}`"),
                crate::diagnostics::did_you_mean(m, layer.metrics.iter().map(|x| x.name.as_str()))
                    .unwrap_or_else(|| "see `sluice metrics list metrics`".into()),
            ));
        }
    }
    for w in &q.where_ {
        filter_specs(w)?;
    }
    let planner = Planner {
        layer,
        resolver: Resolver::new(layer),
        dialect,
        specs,
        where_: q.where_.clone(),
        start: q.start_time.clone(),
        end: q.end_time.clone(),
    };
    planner.build(q)
}

impl<'a> Planner<'a> {
    /// The group-by specs completed for the query (grains of metric_time from the first measure).
    fn output_specs(&self, metrics: &[String]) -> PResult<Vec<Spec>> {
        let mut out = Vec::new();
        let first = metrics
            .iter()
            .filter_map(|m| self.layer.metric(m))
            .find_map(|m| self.measures_of(m).into_iter().next());
        for s in &self.specs {
            let done = match first {
                Some((sm, me)) => self.resolver.complete(s, sm, me)?,
                None => s.clone(),
            };
            out.push(done);
        }
        // Metric time without grain: the finest default grain over all measures.
        for (i, s) in self.specs.iter().enumerate() {
            if s.kind == SpecKind::MetricTime && s.grain.is_none() {
                let g = metrics
                    .iter()
                    .filter_map(|m| self.layer.metric(m))
                    .flat_map(|m| self.measures_of(m))
                    .filter_map(|(sm, me)| {
                        sm.agg_time_of(me)
                            .and_then(|a| sm.dimension(a))
                            .and_then(|d| d.grain())
                    })
                    .min()
                    .unwrap_or(Grain::Day);
                out[i].grain = Some(g);
            }
        }
        Ok(out)
    }

    /// The (semantic model, measure) of every measure `m` reads, through its input metrics.
    fn measures_of(&self, m: &'a Metric) -> Vec<(&'a SemanticModel, &'a Measure)> {
        let layer: &'a SemanticLayer = self.layer;
        layer
            .measure_inputs(m)
            .into_iter()
            .filter_map(|mi| layer.measure(&mi.name))
            .collect()
    }

    fn build(&self, q: &MetricQuery) -> PResult<QueryPlan> {
        let specs = self.output_specs(&q.metrics)?;
        let gb: Vec<String> = specs.iter().map(Spec::column).collect();
        let mut parts = Vec::new();
        for name in &q.metrics {
            let m = self.layer.metric(name).expect("checked");
            let sql = self.metric_sql(m, &specs, &Ctx::default(), 0)?;
            parts.push((sql, name.clone()));
        }
        let mut sql = combine(self.dialect, &parts, &gb, |cols| {
            cols.iter()
                .map(|(c, n)| format!("{c} as {}", self.dialect.quote(n)))
                .collect()
        });
        // Time range on metric_time in the output (whole periods, like MetricFlow).
        let mut conds = Vec::new();
        for s in specs.iter().filter(|s| s.kind == SpecKind::MetricTime) {
            let g = s.grain.unwrap_or(Grain::Day);
            if let Some(st) = &self.start {
                conds.push(format!(
                    "{} >= {}",
                    self.dialect.quote(&s.column()),
                    render::date_trunc(
                        self.dialect,
                        g,
                        &format!("cast({} as timestamp)", crate::sql::literal(st))
                    )
                ));
            }
            if let Some(en) = &self.end {
                conds.push(format!(
                    "{} <= cast({} as timestamp)",
                    self.dialect.quote(&s.column()),
                    crate::sql::literal(en)
                ));
            }
        }
        let mut order = Vec::new();
        for o in &q.order_by {
            let (desc, name) = match o.trim().strip_prefix('-') {
                Some(n) => (true, n.trim()),
                None => (false, o.trim()),
            };
            let col = self.order_column(name, &specs, &q.metrics)?;
            order.push(format!(
                "{}{}",
                self.dialect.quote(&col),
                if desc { " desc" } else { "" }
            ));
        }
        if order.is_empty() {
            order = gb.iter().map(|c| self.dialect.quote(c)).collect();
        }
        let mut outer = format!("select *\nfrom (\n{}\n) as q", indent(&sql));
        if !conds.is_empty() {
            outer.push_str(&format!("\nwhere {}", conds.join("\n  and ")));
        }
        if !order.is_empty() {
            outer.push_str(&format!("\norder by {}", order.join(", ")));
        }
        if let Some(l) = q.limit {
            outer.push_str(&format!("\nlimit {l}"));
        }
        sql = outer;
        let mut columns = gb;
        columns.extend(q.metrics.iter().cloned());
        Ok(QueryPlan { sql, columns })
    }

    fn order_column(&self, name: &str, specs: &[Spec], metrics: &[String]) -> PResult<String> {
        if metrics.iter().any(|m| m == name) {
            return Ok(name.to_string());
        }
        let want = Spec::parse(name)?;
        let hit = specs.iter().find(|s| {
            s.column() == name
                || (s.kind == want.kind
                    && s.name == want.name
                    && s.links == want.links
                    && (want.grain.is_none() || want.grain == s.grain))
        });
        hit.map(Spec::column).ok_or_else(|| {
            PlanError::new(
                format!(
                    "cannot order by `{name}`: it is not a metric or group-by item of the query"
                ),
                "order by one of the --metrics or --group-by items (prefix `-` for descending)",
            )
        })
    }

    /// A subquery with the group-by columns and one value column named after the metric.
    fn metric_sql(&self, m: &Metric, specs: &[Spec], ctx: &Ctx, depth: usize) -> PResult<String> {
        if depth > 20 {
            return Err(PlanError::new(
                format!("metric `{}` refers to itself", m.name),
                "remove the cycle between derived metrics",
            ));
        }
        let mut ctx = ctx.clone();
        ctx.filters.extend(m.filter.iter().cloned());
        let gb: Vec<String> = specs.iter().map(Spec::column).collect();
        match m.kind {
            MetricType::Simple | MetricType::Cumulative => {
                let mi = m.type_params.measure.as_ref().ok_or_else(|| {
                    PlanError::new(
                        format!("metric `{}` has no measure", m.name),
                        "set `type_params.measure`",
                    )
                })?;
                let mut c = ctx.clone();
                c.filters.extend(mi.filter.iter().cloned());
                let cumulative = (m.kind == MetricType::Cumulative)
                    .then(|| (m.window(), m.grain_to_date(), m.period_agg()));
                if cumulative.is_some() && ctx.offset.is_some() {
                    return Err(PlanError::new(
                        format!("cumulative metric `{}` is offset in time by a derived metric", m.name),
                        "offsetting a cumulative metric is not supported yet; offset a simple metric",
                    ));
                }
                let inner = self.measure_sql(&mi.name, specs, &c, cumulative, &m.name)?;
                let fill = mi.fill_nulls_with.as_ref().map(|v| match v {
                    serde_json::Value::String(s) => crate::sql::literal(s),
                    o => o.to_string(),
                });
                let spine = mi.join_to_timespine
                    && specs.len() == 1
                    && specs[0].kind == SpecKind::MetricTime
                    && self.layer.time_spine.is_some();
                if spine {
                    let ts = self.layer.time_spine.as_ref().expect("checked");
                    let col = &gb[0];
                    let g = specs[0].grain.unwrap_or(Grain::Day);
                    let val = match &fill {
                        Some(f) => format!("coalesce(v.{}, {f})", self.dialect.quote(&m.name)),
                        None => format!("v.{}", self.dialect.quote(&m.name)),
                    };
                    return Ok(format!(
                        "select s.{c}, {val} as {n}\nfrom (select distinct {t} as {c} from {rel}) as s\nleft outer join (\n{inner}\n) as v on {on}",
                        c = self.dialect.quote(col),
                        n = self.dialect.quote(&m.name),
                        t = render::date_trunc(self.dialect, g, &self.dialect.quote(&ts.column)),
                        rel = self.dialect.rel(&ts.relation),
                        inner = indent(&inner),
                        on = render::same(self.dialect, &format!("s.{}", self.dialect.quote(col)), &format!("v.{}", self.dialect.quote(col))),
                    ));
                }
                if let Some(f) = fill {
                    let cols: Vec<String> = gb.iter().map(|c| self.dialect.quote(c)).collect();
                    let mut sel = cols.clone();
                    sel.push(format!(
                        "coalesce({n}, {f}) as {n}",
                        n = self.dialect.quote(&m.name)
                    ));
                    return Ok(format!(
                        "select {}\nfrom (\n{}\n) as v",
                        sel.join(", "),
                        indent(&inner)
                    ));
                }
                Ok(inner)
            }
            MetricType::Ratio => {
                let (Some(num), Some(den)) = (&m.type_params.numerator, &m.type_params.denominator)
                else {
                    return Err(PlanError::new(
                        format!(
                            "ratio metric `{}` needs a numerator and a denominator",
                            m.name
                        ),
                        "set `type_params.numerator` and `type_params.denominator`",
                    ));
                };
                let n = self.input_sql(num, specs, &ctx, depth, "__num")?;
                let d = self.input_sql(den, specs, &ctx, depth, "__den")?;
                let name = m.name.clone();
                let dialect = self.dialect;
                Ok(combine(
                    self.dialect,
                    &[(n, "__num".into()), (d, "__den".into())],
                    &gb,
                    move |cols| {
                        vec![format!(
                            "{} / {} as {}",
                            render::cast_double(dialect, &cols[0].0),
                            render::cast_double(dialect, &format!("nullif({}, 0)", cols[1].0)),
                            self.dialect.quote(&name)
                        )]
                    },
                ))
            }
            MetricType::Derived => {
                let expr = m.expr().ok_or_else(|| {
                    PlanError::new(
                        format!("derived metric `{}` has no `expr`", m.name),
                        "set `type_params.expr`",
                    )
                })?;
                let mut parts = Vec::new();
                for input in &m.type_params.metrics {
                    let col = input.column().to_string();
                    parts.push((self.input_sql(input, specs, &ctx, depth, &col)?, col));
                }
                let name = m.name.clone();
                Ok(combine(self.dialect, &parts, &gb, move |cols| {
                    // Inputs are referred to by name in `expr`: point each at its column.
                    let names: BTreeMap<String, String> =
                        cols.iter().map(|(c, n)| (n.clone(), c.clone())).collect();
                    let e = replace_words(&expr, &names);
                    vec![format!("{e} as {}", self.dialect.quote(&name))]
                }))
            }
            MetricType::Conversion => self.conversion_sql(m, specs, &ctx),
        }
    }

    /// A ratio or derived input: the child metric with the input's filter and offset, its value
    /// column renamed to `col`.
    fn input_sql(
        &self,
        input: &MetricInput,
        specs: &[Spec],
        ctx: &Ctx,
        depth: usize,
        col: &str,
    ) -> PResult<String> {
        let child = self.layer.metric(&input.name).ok_or_else(|| {
            PlanError::new(
                format!("unknown metric `{}`", input.name),
                "check the metric's inputs with `sluice metrics validate`",
            )
        })?;
        let mut c = ctx.clone();
        c.filters.extend(input.filter.iter().cloned());
        let offset = match (
            input.offset_window,
            input.offset_to_grain.as_ref().map(|g| g.grain),
        ) {
            (Some(w), _) => Some(Offset::Window(w)),
            (None, Some(g)) => Some(Offset::ToGrain(g)),
            _ => None,
        };
        if offset.is_some() {
            if ctx.offset.is_some() {
                return Err(PlanError::new(
                    format!("metric `{}` nests one offset in another", input.name),
                    "offset only one level of a derived metric",
                ));
            }
            if !specs.iter().any(|s| s.kind == SpecKind::MetricTime) {
                return Err(PlanError::new(
                    format!(
                        "input `{}` is offset in time, so the query must group by metric_time",
                        input.column()
                    ),
                    "add --group-by metric_time__<grain>",
                ));
            }
            c.offset = offset;
        }
        let inner = self.metric_sql(child, specs, &c, depth + 1)?;
        let mut sel: Vec<String> = specs
            .iter()
            .map(|s| self.dialect.quote(&s.column()))
            .collect();
        sel.push(format!(
            "{} as {}",
            self.dialect.quote(&child.name),
            self.dialect.quote(col)
        ));
        Ok(format!(
            "select {}\nfrom (\n{}\n) as i",
            sel.join(", "),
            indent(&inner)
        ))
    }

    /// A conversion metric: each conversion event is attributed to the latest base event of
    /// the same entity before it (within the window, with equal constant properties); the
    /// group-by values are the base event's. `conversions` counts (aggregates) the attributed
    /// conversion events; `conversion_rate` divides them by the base measure.
    fn conversion_sql(&self, m: &Metric, specs: &[Spec], ctx: &Ctx) -> PResult<String> {
        let d = self.dialect;
        let cp = m
            .type_params
            .conversion_type_params
            .as_ref()
            .ok_or_else(|| {
                PlanError::new(
                    format!(
                        "conversion metric `{}` has no `conversion_type_params`",
                        m.name
                    ),
                    "run `sluice metrics validate`",
                )
            })?;
        let (Some(base), Some(conv)) = (&cp.base_measure, &cp.conversion_measure) else {
            return Err(PlanError::new(
                format!(
                    "conversion metric `{}` needs a base and a conversion measure",
                    m.name
                ),
                "run `sluice metrics validate`",
            ));
        };
        let entity_expr = |measure: &str| -> PResult<String> {
            let (sm, _) = self.layer.measure(measure).ok_or_else(|| {
                PlanError::new(
                    format!("unknown measure `{measure}`"),
                    "run `sluice metrics validate`",
                )
            })?;
            sm.entity(&cp.entity)
                .map(|e| e.sql().to_string())
                .ok_or_else(|| {
                    PlanError::new(
                        format!(
                            "entity `{}` is not in semantic model `{}`",
                            cp.entity, sm.name
                        ),
                        "run `sluice metrics validate`",
                    )
                })
        };
        let prop_expr = |measure: &str, prop: &str| -> String {
            self.layer
                .measure(measure)
                .and_then(|(sm, _)| {
                    sm.dimension(prop)
                        .map(|x| x.sql().to_string())
                        .or_else(|| sm.entity(prop).map(|e| e.sql().to_string()))
                })
                .unwrap_or_else(|| prop.to_string())
        };
        let mut base_extra = vec![(entity_expr(&base.name)?, "__ent".to_string())];
        let mut conv_extra = vec![(entity_expr(&conv.name)?, "__ent".to_string())];
        for (i, p) in cp.constant_properties.iter().enumerate() {
            base_extra.push((prop_expr(&base.name, &p.base_property), format!("__p{i}")));
            conv_extra.push((
                prop_expr(&conv.name, &p.conversion_property),
                format!("__p{i}"),
            ));
        }
        let mut bctx = ctx.clone();
        bctx.filters.extend(base.filter.iter().cloned());
        let mut cctx = Ctx::default();
        cctx.filters.extend(conv.filter.iter().cloned());
        let b = self.measure_rows(&base.name, specs, &bctx, &base_extra, true)?;
        let c = self.measure_rows(&conv.name, &[], &cctx, &conv_extra, false)?;
        // Opportunities: the base measure, aggregated as usual.
        let opps = self.aggregate_rows(
            d,
            b.rows.clone(),
            b.gspecs.clone(),
            b.measure,
            ctx,
            None,
            "__opps",
        )?;
        // Conversions: conversion rows numbered, joined to earlier base rows of the same entity.
        let mut on = vec![
            "b.__ent = c.__ent".to_string(),
            "b.__t <= c.__t".to_string(),
        ];
        if let Some(w) = cp.window {
            on.push(format!("b.__t > {}", render::minus_interval(d, "c.__t", w)));
        }
        for i in 0..cp.constant_properties.len() {
            on.push(format!("b.__p{i} = c.__p{i}"));
        }
        let gcols: Vec<String> = b
            .gspecs
            .iter()
            .map(|s| self.dialect.quote(&s.column()))
            .collect();
        let mut picks: Vec<String> = gcols
            .iter()
            .map(|g| {
                format!("first_value(b.{g}) over (partition by c.__id order by b.__t desc) as {g}")
            })
            .collect();
        picks.push("c.__id".to_string());
        picks.push("c.__m".to_string());
        let matched = format!(
            "select distinct {}
from (
{}
) as b
inner join (
  select r.*, {} as __id
  from (
{}
  ) as r
) as c
  on {}",
            picks.join(", "),
            indent(&b.rows),
            self.dialect.row_id(),
            indent(&indent(&c.rows)),
            on.join(" and ")
        );
        let conv_agg = group_select(
            d,
            &gcols,
            &render::aggregate(d, c.measure.agg, c.measure.agg_params.as_ref(), "__m")?,
            "__conv",
            &matched,
            "x",
        );
        let gb: Vec<String> = specs.iter().map(Spec::column).collect();
        let name = m.name.clone();
        let calc = cp.calculation;
        Ok(combine(
            d,
            &[(opps, "__opps".into()), (conv_agg, "__conv".into())],
            &gb,
            move |cols| {
                vec![match calc {
                    ConversionCalculation::Conversions => {
                        format!("{} as {}", cols[1].0, self.dialect.quote(&name))
                    }
                    ConversionCalculation::ConversionRate => format!(
                        "{} / {} as {}",
                        render::cast_double(d, &format!("coalesce({}, 0)", cols[1].0)),
                        render::cast_double(d, &format!("nullif({}, 0)", cols[0].0)),
                        self.dialect.quote(&name)
                    ),
                }]
            },
        ))
    }
}

/// Joins subqueries (each with the group-by columns and one value column) on the group-by
/// columns with full outer joins; `values` builds the value select items from
/// `(qualified value column, value column name)` pairs.
fn combine(
    d: Dialect,
    parts: &[(String, String)],
    gb: &[String],
    values: impl Fn(&[(String, String)]) -> Vec<String>,
) -> String {
    let aliases: Vec<String> = (0..parts.len()).map(|i| format!("m{i}")).collect();
    let key = |c: &str, upto: usize| -> String {
        if upto == 1 {
            format!("m0.{}", d.quote(c))
        } else {
            format!(
                "coalesce({})",
                aliases[..upto]
                    .iter()
                    .map(|a| format!("{a}.{}", d.quote(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    let mut sel: Vec<String> = gb
        .iter()
        .map(|c| format!("{} as {}", key(c, parts.len()), d.quote(c)))
        .collect();
    let cols: Vec<(String, String)> = parts
        .iter()
        .zip(&aliases)
        .map(|((_, n), a)| (format!("{a}.{}", d.quote(n)), n.clone()))
        .collect();
    sel.extend(values(&cols));
    let mut from = format!("(\n{}\n) as m0", indent(&parts[0].0));
    for (i, (sql, _)) in parts.iter().enumerate().skip(1) {
        let a = &aliases[i];
        if gb.is_empty() {
            from.push_str(&format!("\ncross join (\n{}\n) as {a}", indent(sql)));
        } else {
            let on: Vec<String> = gb
                .iter()
                .map(|c| render::same(d, &key(c, i), &format!("{a}.{}", d.quote(c))))
                .collect();
            from.push_str(&format!(
                "\nfull outer join (\n{}\n) as {a}\n  on {}",
                indent(sql),
                on.join(" and ")
            ));
        }
    }
    format!("select {}\nfrom {from}", sel.join(", "))
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("  {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Replaces whole words of `text` found in `names` by their value, in one pass and outside
/// single-quoted strings (so a replacement is never itself rewritten).
fn replace_words(text: &str, names: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let mut in_quote = false;
    let flush = |word: &mut String, out: &mut String| {
        match names.get(word.as_str()) {
            Some(v) => out.push_str(v),
            None => out.push_str(word),
        }
        word.clear();
    };
    for ch in text.chars() {
        if !in_quote && (ch.is_ascii_alphanumeric() || ch == '_') {
            word.push(ch);
            continue;
        }
        flush(&mut word, &mut out);
        if ch == '\'' {
            in_quote = !in_quote;
        }
        out.push(ch);
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_replaced_outside_quotes() {
        let names: BTreeMap<String, String> = [("mrr", "m0.\"mrr\""), ("mrr_prev", "m1.\"mrr\"")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(
            replace_words("mrr - mrr_prev + 'mrr' + x.mrr2", &names),
            "m0.\"mrr\" - m1.\"mrr\" + 'mrr' + x.mrr2"
        );
    }
}
