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

use std::collections::BTreeMap;

use super::model::*;
use super::render;
use super::spec::render_filter;
pub use super::spec::{filter_specs, Spec, SpecKind};
use crate::sql::{quote, Dialect};

/// Why a query cannot be planned, with a hint for the user.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PlanError {
    pub message: String,
    pub hint: String,
}

impl PlanError {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        PlanError {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

type PResult<T> = Result<T, PlanError>;

/// A metric request, as `sluice metrics query` takes it.
#[derive(Debug, Clone, Default)]
pub struct MetricQuery {
    pub metrics: Vec<String>,
    pub group_by: Vec<String>,
    pub where_: Vec<String>,
    /// Group-by items or metric names, `-` first for descending.
    pub order_by: Vec<String>,
    pub limit: Option<u64>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

impl MetricQuery {
    /// The query a saved query stands for.
    pub fn from_saved(q: &SavedQuery) -> MetricQuery {
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

/// Where a group-by item's value comes from, for one measure.
#[derive(Debug, Clone)]
struct Source {
    /// `None`: an expression over the measure's own model; else the joined model it is read from.
    join: Option<JoinKey>,
    /// The expression, in the model it belongs to.
    expr: String,
    /// Time items: truncate the value to this grain.
    grain: Option<Grain>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct JoinKey {
    /// (entity, semantic model) per hop.
    path: Vec<(String, String)>,
}

/// Resolves names against the semantic layer.
pub struct Resolver<'a> {
    pub layer: &'a SemanticLayer,
}

impl<'a> Resolver<'a> {
    pub fn new(layer: &'a SemanticLayer) -> Self {
        Resolver { layer }
    }

    /// Fills in the default grain of a time item (metric_time: the measure's agg time grain).
    pub fn complete(&self, spec: &Spec, sm: &SemanticModel, measure: &Measure) -> PResult<Spec> {
        let mut s = spec.clone();
        if s.kind == SpecKind::Metric {
            if self.layer.metric(&s.name).is_none() {
                return Err(PlanError::new(
                    format!("unknown metric `{}` in a filter", s.name),
                    crate::diagnostics::did_you_mean(
                        &s.name,
                        self.layer.metrics.iter().map(|m| m.name.as_str()),
                    )
                    .unwrap_or_else(|| "see `sluice metrics list metrics`".into()),
                ));
            }
            if sm.entity(&s.links[0]).is_none() {
                return Err(self.no_entity(&s, sm, &s.links[0]));
            }
            return Ok(s);
        }
        if s.kind == SpecKind::Dimension && s.links.is_empty() {
            return Err(PlanError::new(
                format!("`{}` needs the entity it belongs to", s.name),
                match self.layer.semantic_models.iter().find_map(|m| {
                    m.dimension(&s.name)?;
                    let e = if m.name == sm.name {
                        m.primary()?
                    } else {
                        m.entities
                            .iter()
                            .find(|e| e.kind.is_unique() && sm.entity(&e.name).is_some())?
                            .name
                            .as_str()
                    };
                    Some(format!("{e}__{}", s.name))
                }) {
                    Some(item) => format!("write `{item}`"),
                    None => format!("write `<entity>__{}`", s.name),
                },
            ));
        }
        if s.kind == SpecKind::Entity && sm.entity(&s.name).is_none() && s.name != "metric_time" {
            // A bare name that is no entity of the model: maybe a dimension without prefix.
            if sm.dimension(&s.name).is_some() {
                s.kind = SpecKind::Dimension;
                return self.complete(&s, sm, measure);
            }
        }
        let (dim_grain, dim_is_time) = match s.kind {
            SpecKind::MetricTime => {
                let at = sm.agg_time_of(measure).unwrap_or_default();
                let g = sm
                    .dimension(at)
                    .and_then(|d| d.grain())
                    .unwrap_or(Grain::Day);
                (Some(g), true)
            }
            SpecKind::Dimension => {
                let (_, _, dim) = self.dimension_model(&s, sm)?;
                (dim.grain(), dim.kind == DimensionType::Time)
            }
            SpecKind::Entity | SpecKind::Metric => (None, false),
        };
        if dim_is_time {
            let g = dim_grain.unwrap_or(Grain::Day);
            match s.grain {
                None => s.grain = Some(g),
                Some(want) if want < g => {
                    return Err(PlanError::new(
                        format!(
                            "`{}` is recorded by {g}, so it cannot be grouped by {want}",
                            spec.column()
                        ),
                        format!("use a grain of {g} or coarser"),
                    ))
                }
                _ => {}
            }
        } else if s.grain.is_some() {
            return Err(PlanError::new(
                format!("`{}` is not a time dimension and has no grain", s.name),
                "drop the `__<grain>` suffix",
            ));
        }
        Ok(s)
    }

    /// The join path (entity, semantic model per hop), semantic model and dimension a
    /// `links__name` item points at, seen from `sm`: one hop (`account__region`) or two
    /// (`user__account__region`: to the model where `user` is unique, then on to `account`).
    fn dimension_model<'s>(
        &'s self,
        s: &Spec,
        sm: &'s SemanticModel,
    ) -> PResult<(Vec<(String, String)>, &'s SemanticModel, &'s Dimension)> {
        let dim = |m: &'s SemanticModel| m.dimension(&s.name).expect("resolved on it");
        match s.links.as_slice() {
            [e1] => {
                let m = self.one_hop(sm, e1, s)?;
                let path = if m.name == sm.name {
                    vec![]
                } else {
                    vec![(e1.clone(), m.name.clone())]
                };
                Ok((path, m, dim(m)))
            }
            [e1, e2] => {
                if sm.entity(e1).is_none() {
                    return Err(self.no_entity(s, sm, e1));
                }
                let mids: Vec<&SemanticModel> = self
                    .layer
                    .semantic_models
                    .iter()
                    .filter(|m| {
                        m.name != sm.name
                            && m.entity(e1).is_some_and(|e| e.kind.is_unique())
                            && m.entity(e2).is_some()
                    })
                    .collect();
                let mid = match mids.as_slice() {
                    [m] => *m,
                    // A model that has both entities, but not `e1` as a key: the first join
                    // would duplicate rows.
                    [] if let Some(m) = self.layer.semantic_models.iter().find(|m| {
                        m.name != sm.name && m.entity(e1).is_some() && m.entity(e2).is_some()
                    }) =>
                    {
                        return Err(fan_out(sm, m, e1));
                    }
                    [] => {
                        return Err(PlanError::new(
                            format!(
                            "`{}`: no semantic model where `{e1}` is unique has an entity `{e2}`",
                            s.column()
                        ),
                            self.nearest_item(&s.column(), sm),
                        ))
                    }
                    many => {
                        return Err(PlanError::new(
                            format!(
                                "`{}` is ambiguous: it can go through {}",
                                s.column(),
                                many.iter()
                                    .map(|m| format!("`{}`", m.name))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            "keep entity names unique across semantic models",
                        ))
                    }
                };
                let m = self.one_hop(mid, e2, s)?;
                let mut path = vec![(e1.clone(), mid.name.clone())];
                if m.name != mid.name {
                    path.push((e2.clone(), m.name.clone()));
                }
                Ok((path, m, dim(m)))
            }
            _ => Err(PlanError::new(
                format!("`{}` needs joins over more than two entities", s.column()),
                "group by a dimension at most two entities away",
            )),
        }
    }

    fn no_entity(&self, s: &Spec, sm: &SemanticModel, entity: &str) -> PlanError {
        PlanError::new(
            format!(
                "`{}` cannot be reached from semantic model `{}`: it has no entity `{entity}`",
                s.column(),
                sm.name
            ),
            match sm.primary() {
                Some(p) if sm.dimension(&s.name).is_some() => {
                    format!("did you mean `{p}__{}`?", s.name)
                }
                _ => format!(
                    "entities of `{}`: {}",
                    sm.name,
                    sm.entities
                        .iter()
                        .map(|e| e.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        )
    }

    /// The semantic model holding dimension `s.name` one join on `entity` away from `from` (or
    /// `from` itself for its own dimensions), refusing joins that would fan out.
    fn one_hop<'s>(
        &'s self,
        from: &'s SemanticModel,
        entity: &str,
        s: &Spec,
    ) -> PResult<&'s SemanticModel> {
        if let (Some(_), Some(e)) = (from.dimension(&s.name), from.entity(entity)) {
            if e.kind.is_unique() || from.primary() == Some(entity) {
                return Ok(from);
            }
        }
        if from.entity(entity).is_none() {
            return Err(self.no_entity(s, from, entity));
        }
        let holders: Vec<&SemanticModel> = self
            .layer
            .semantic_models
            .iter()
            .filter(|m| m.dimension(&s.name).is_some() && m.entity(entity).is_some())
            .collect();
        let unique: Vec<&SemanticModel> = holders
            .iter()
            .copied()
            .filter(|m| m.entity(entity).is_some_and(|e| e.kind.is_unique()))
            .collect();
        match unique.as_slice() {
            [m] => Ok(m),
            [] => match holders.first() {
                Some(m) => Err(fan_out(from, m, entity)),
                None => Err(PlanError::new(
                    format!("unknown dimension `{}`", s.column()),
                    self.nearest_item(&s.column(), from),
                )),
            },
            many => Err(PlanError::new(
                format!(
                    "`{}` is ambiguous: semantic models {} all define it",
                    s.column(),
                    many.iter()
                        .map(|m| format!("`{}`", m.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "rename one of the dimensions",
            )),
        }
    }

    /// The semantic model and dimension a dimension item names, seen from `sm`.
    pub fn dimension_of<'s>(
        &'s self,
        s: &Spec,
        sm: &'s SemanticModel,
    ) -> Option<(&'s SemanticModel, &'s Dimension)> {
        if s.kind != SpecKind::Dimension || s.links.is_empty() {
            return None;
        }
        self.dimension_model(s, sm).ok().map(|(_, m, d)| (m, d))
    }

    fn nearest_item(&self, wanted: &str, sm: &SemanticModel) -> String {
        let items = self.group_by_items(sm);
        crate::diagnostics::did_you_mean(wanted, items.iter().map(String::as_str))
            .unwrap_or_else(|| "see `sluice metrics list dimensions`".to_string())
    }

    /// Every group-by item reachable from `sm` (one join away), sorted.
    pub fn group_by_items(&self, sm: &SemanticModel) -> Vec<String> {
        let mut out = vec!["metric_time".to_string()];
        for e in &sm.entities {
            out.push(e.name.clone());
            for m in &self.layer.semantic_models {
                let Some(me) = m.entity(&e.name) else {
                    continue;
                };
                let local = m.name == sm.name;
                if !(me.kind.is_unique() || (local && m.primary() == Some(e.name.as_str()))) {
                    continue;
                }
                for d in &m.dimensions {
                    out.push(format!("{}__{}", e.name, d.name));
                }
                // A second hop from a joined model.
                if local {
                    continue;
                }
                for e2 in m.entities.iter().filter(|x| x.name != e.name) {
                    for m2 in &self.layer.semantic_models {
                        if m2.name == m.name || m2.name == sm.name {
                            continue;
                        }
                        if m2.entity(&e2.name).is_some_and(|x| x.kind.is_unique()) {
                            for d in &m2.dimensions {
                                out.push(format!("{}__{}__{}", e.name, e2.name, d.name));
                            }
                        }
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn source(&self, s: &Spec, sm: &SemanticModel, measure: &Measure) -> PResult<Source> {
        let (expr, grain, key) = match s.kind {
            SpecKind::MetricTime => {
                let at = sm.agg_time_of(measure).unwrap_or_default();
                let d = sm.dimension(at).ok_or_else(|| {
                    PlanError::new(
                        format!("measure `{}` has no agg time dimension", measure.name),
                        "set `defaults.agg_time_dimension` on its semantic model",
                    )
                })?;
                (d.sql().to_string(), s.grain, None)
            }
            SpecKind::Dimension => {
                let (path, _, d) = self.dimension_model(s, sm)?;
                let g = if d.kind == DimensionType::Time {
                    s.grain
                } else {
                    None
                };
                let key = (!path.is_empty()).then_some(JoinKey { path });
                (d.sql().to_string(), g, key)
            }
            SpecKind::Metric => {
                return Err(PlanError::new(
                    format!("`{}` is a metric, not a group-by item", s.name),
                    "use metrics in --metrics, or in filters as {{ Metric('name', group_by=['entity']) }}",
                ))
            }
            SpecKind::Entity => {
                let e = sm.entity(&s.name).ok_or_else(|| {
                    PlanError::new(
                        format!("entity `{}` is not in semantic model `{}`", s.name, sm.name),
                        self.nearest_item(&s.name, sm),
                    )
                })?;
                (e.sql().to_string(), None, None)
            }
        };
        Ok(Source {
            join: key,
            expr,
            grain,
        })
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
pub struct QueryPlan {
    pub sql: String,
    /// Output columns: group-by items, then metrics.
    pub columns: Vec<String>,
}

pub struct Planner<'a> {
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
pub fn plan(layer: &SemanticLayer, q: &MetricQuery, dialect: Dialect) -> PResult<QueryPlan> {
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

    /// Every measure a metric reads, recursively.
    fn measures_of(&self, m: &Metric) -> Vec<(&'a SemanticModel, &'a Measure)> {
        let mut out = Vec::new();
        self.collect_measures(m, &mut out, 0);
        out
    }

    fn collect_measures(
        &self,
        m: &Metric,
        out: &mut Vec<(&'a SemanticModel, &'a Measure)>,
        depth: usize,
    ) {
        if depth > 20 {
            return;
        }
        let tp = &m.type_params;
        for mi in tp.measure.iter().chain(
            tp.conversion_type_params
                .iter()
                .flat_map(|c| c.base_measure.iter().chain(c.conversion_measure.iter())),
        ) {
            if let Some(x) = self.layer.measure(&mi.name) {
                out.push(x);
            }
        }
        for input in m.input_metrics() {
            if let Some(child) = self.layer.metric(&input.name) {
                self.collect_measures(child, out, depth + 1);
            }
        }
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
                .map(|(c, n)| format!("{c} as {}", quote(n)))
                .collect()
        });
        // Time range on metric_time in the output (whole periods, like MetricFlow).
        let mut conds = Vec::new();
        for s in specs.iter().filter(|s| s.kind == SpecKind::MetricTime) {
            let g = s.grain.unwrap_or(Grain::Day);
            if let Some(st) = &self.start {
                conds.push(format!(
                    "{} >= {}",
                    quote(&s.column()),
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
                    quote(&s.column()),
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
                quote(&col),
                if desc { " desc" } else { "" }
            ));
        }
        if order.is_empty() {
            order = gb.iter().map(|c| quote(c)).collect();
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
                        Some(f) => format!("coalesce(v.{}, {f})", quote(&m.name)),
                        None => format!("v.{}", quote(&m.name)),
                    };
                    return Ok(format!(
                        "select s.{c}, {val} as {n}\nfrom (select distinct {t} as {c} from {rel}) as s\nleft outer join (\n{inner}\n) as v on {on}",
                        c = quote(col),
                        n = quote(&m.name),
                        t = render::date_trunc(self.dialect, g, &quote(&ts.column)),
                        rel = self.dialect.rel(&ts.relation),
                        inner = indent(&inner),
                        on = render::same(self.dialect, &format!("s.{}", quote(col)), &format!("v.{}", quote(col))),
                    ));
                }
                if let Some(f) = fill {
                    let cols: Vec<String> = gb.iter().map(|c| quote(c)).collect();
                    let mut sel = cols.clone();
                    sel.push(format!("coalesce({n}, {f}) as {n}", n = quote(&m.name)));
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
                            quote(&name)
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
                    vec![format!("{e} as {}", quote(&name))]
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
        let offset = match (input.offset_window, input.offset_to_grain) {
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
        let mut sel: Vec<String> = specs.iter().map(|s| quote(&s.column())).collect();
        sel.push(format!("{} as {}", quote(&child.name), quote(col)));
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
        let gcols: Vec<String> = b.gspecs.iter().map(|s| quote(&s.column())).collect();
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
  select r.*, row_number() over () as __id
  from (
{}
  ) as r
) as c
  on {}",
            picks.join(", "),
            indent(&b.rows),
            indent(&indent(&c.rows)),
            on.join(" and ")
        );
        let conv_agg = group_select(
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
                        format!("{} as {}", cols[1].0, quote(&name))
                    }
                    ConversionCalculation::ConversionRate => format!(
                        "{} / {} as {}",
                        render::cast_double(d, &format!("coalesce({}, 0)", cols[1].0)),
                        render::cast_double(d, &format!("nullif({}, 0)", cols[0].0)),
                        quote(&name)
                    ),
                }]
            },
        ))
    }

    /// The subquery a measure's rows are left-joined to for the columns `cols` ((expression,
    /// alias) in the last model of `path`): its first column `__key` is the first hop's entity.
    /// A second hop is itself a subquery joined inside, so column names never clash.
    fn joined_subquery(
        &self,
        path: &[(String, String)],
        cols: &[(String, String)],
    ) -> PResult<String> {
        let d = self.dialect;
        let model = |name: &str| -> PResult<(&SemanticModel, &crate::sql::Relation)> {
            let m = self.layer.semantic_model(name).expect("resolved");
            let rel = m.relation.as_ref().ok_or_else(|| {
                PlanError::new(
                    format!(
                        "semantic model `{}` refers to a model that does not exist",
                        m.name
                    ),
                    "point `model:` at an existing model",
                )
            })?;
            Ok((m, rel))
        };
        let (e1, m1) = &path[0];
        let (t1, r1) = model(m1)?;
        let key1 = t1.entity(e1).expect("resolved").sql();
        let Some((e2, m2)) = path.get(1) else {
            let mut inner = vec![format!("{key1} as __key")];
            inner.extend(cols.iter().map(|(e, c)| format!("{e} as {}", quote(c))));
            return Ok(format!("(select {} from {})", inner.join(", "), d.rel(r1)));
        };
        let (t2, r2) = model(m2)?;
        let key2 = t2.entity(e2).expect("resolved").sql();
        let mut inner2 = vec![format!("{key2} as __key2")];
        inner2.extend(cols.iter().map(|(e, c)| format!("{e} as {}", quote(c))));
        let mut outer = vec![format!("{key1} as __key")];
        outer.extend(cols.iter().map(|(_, c)| format!("h.{}", quote(c))));
        Ok(format!(
            "(select {} from {} left outer join (select {} from {}) as h on {} = h.__key2)",
            outer.join(", "),
            d.rel(r1),
            inner2.join(", "),
            d.rel(r2),
            t1.entity(e2).expect("resolved").sql(),
        ))
    }

    /// A metric computed per entity, for a `{{ Metric(...) }}` filter: columns `__key` (the
    /// entity) and `__value`. Planned like a query grouped by that entity alone, without the
    /// outer query's filters or time range.
    fn metric_per_entity(&self, spec: &Spec) -> PResult<String> {
        let entity = Spec {
            kind: SpecKind::Entity,
            links: vec![],
            name: spec.links[0].clone(),
            grain: None,
        };
        let sub = Planner {
            layer: self.layer,
            resolver: Resolver::new(self.layer),
            dialect: self.dialect,
            specs: vec![entity.clone()],
            where_: vec![],
            start: None,
            end: None,
        };
        let m = self.layer.metric(&spec.name).expect("completed");
        let sql = sub.metric_sql(m, std::slice::from_ref(&entity), &Ctx::default(), 0)?;
        Ok(format!(
            "select {} as __key, {} as __value\nfrom (\n{}\n) as mv",
            quote(&entity.name),
            quote(&m.name),
            indent(&sql)
        ))
    }

    /// Aggregates one measure at the group-by grain into column `out`.
    fn measure_sql(
        &self,
        measure_name: &str,
        specs: &[Spec],
        ctx: &Ctx,
        cumulative: Option<(Option<Window>, Option<Grain>, PeriodAgg)>,
        out: &str,
    ) -> PResult<String> {
        let d = self.dialect;
        let MeasureRows {
            rows,
            gspecs,
            measure,
        } = self.measure_rows(measure_name, specs, ctx, &[], true)?;
        self.aggregate_rows(d, rows, gspecs, measure, ctx, cumulative, out)
    }

    /// The filtered source rows of a measure: group-by columns, `__t` (the agg time by day),
    /// `__m` (the measure's expression), plus `extra` (expression, alias) columns of its model.
    fn measure_rows(
        &self,
        measure_name: &str,
        specs: &[Spec],
        ctx: &Ctx,
        extra: &[(String, String)],
        apply_where: bool,
    ) -> PResult<MeasureRows<'a>> {
        let d = self.dialect;
        let (sm, measure) = self.layer.measure(measure_name).ok_or_else(|| {
            PlanError::new(
                format!("unknown measure `{measure_name}`"),
                "check the metric with `sluice metrics validate`",
            )
        })?;
        let rel = sm.relation.as_ref().ok_or_else(|| {
            PlanError::new(
                format!(
                    "semantic model `{}` refers to a model that does not exist: `{}`",
                    sm.name, sm.model
                ),
                "point `model:` at an existing model with ref('name')",
            )
        })?;
        // Complete the group-by items for this measure, then the filter references.
        let mut gspecs = Vec::new();
        for (s, want) in self.specs.iter().zip(specs) {
            let mut c = self.resolver.complete(s, sm, measure)?;
            if c.kind == SpecKind::MetricTime || c.grain.is_some() {
                c.grain = want.grain.or(c.grain);
            }
            gspecs.push(c);
        }
        let mut filters = Vec::new();
        let mut fspecs: Vec<Spec> = Vec::new();
        let query_where: &[String] = if apply_where { &self.where_ } else { &[] };
        for f in query_where.iter().chain(ctx.filters.iter()) {
            for s in filter_specs(f)? {
                let c = self.resolver.complete(&s, sm, measure)?;
                if !gspecs.contains(&c) && !fspecs.contains(&c) {
                    fspecs.push(c);
                }
            }
            let resolver = &self.resolver;
            let completed = |s: &Spec| {
                resolver
                    .complete(s, sm, measure)
                    .unwrap_or_else(|_| s.clone())
            };
            filters.push(render_filter(f, &completed)?);
        }
        // Columns of the flat subquery.
        let mut joins: BTreeMap<JoinKey, (String, Vec<(String, String)>)> = BTreeMap::new();
        let mut select = Vec::new();
        let time_col = sm.agg_time_of(measure).and_then(|a| sm.dimension(a));
        let time_expr = time_col.map(|t| t.sql().to_string());
        let mut metric_joins = Vec::new();
        for s in gspecs.iter().chain(fspecs.iter()) {
            if s.kind == SpecKind::Metric {
                let alias = format!("jm{}", metric_joins.len());
                select.push(format!("{alias}.__value as {}", quote(&s.column())));
                metric_joins.push((alias, s.clone()));
                continue;
            }
            let src = self.resolver.source(s, sm, measure)?;
            let col = s.column();
            let value = match &src.join {
                None => src.expr.clone(),
                Some(key) => {
                    // The raw expression goes in the joined subquery, truncation outside it.
                    let n = joins.len();
                    let entry = joins
                        .entry(key.clone())
                        .or_insert_with(|| (format!("j{n}"), Vec::new()));
                    let inner_col = format!("__c{}", entry.1.len());
                    entry.1.push((src.expr.clone(), inner_col.clone()));
                    format!("{}.{}", entry.0, quote(&inner_col))
                }
            };
            let value = match src.grain {
                Some(g) => render::date_trunc(d, g, &value),
                None => value,
            };
            select.push(format!("{value} as {}", quote(&col)));
        }
        let Some(time_expr) = time_expr else {
            return Err(PlanError::new(
                format!(
                    "measure `{}` has no agg time dimension in semantic model `{}`",
                    measure.name, sm.name
                ),
                "set `defaults.agg_time_dimension` or the measure's `agg_time_dimension`",
            ));
        };
        select.push(format!(
            "{} as __t",
            render::date_trunc(d, Grain::Day, &time_expr)
        ));
        select.push(format!("{} as __m", measure.sql()));
        for (e, alias) in extra {
            select.push(format!("{e} as {alias}"));
        }
        let mut nad_cols = Vec::new();
        if let Some(nad) = &measure.non_additive_dimension {
            let nd = sm.dimension(&nad.name).ok_or_else(|| {
                PlanError::new(
                    format!(
                        "non-additive dimension `{}` is not a dimension of `{}`",
                        nad.name, sm.name
                    ),
                    "name a time dimension of the same semantic model",
                )
            })?;
            select.push(format!(
                "{} as __nad",
                render::date_trunc(d, Grain::Day, nd.sql())
            ));
            for (i, wg) in nad.window_groupings.iter().enumerate() {
                let e = sm.entity(wg).ok_or_else(|| {
                    PlanError::new(
                        format!("window grouping `{wg}` is not an entity of `{}`", sm.name),
                        "window_groupings lists entities of the measure's semantic model",
                    )
                })?;
                select.push(format!("{} as __wg{i}", e.sql()));
                nad_cols.push(format!("__wg{i}"));
            }
            for s in gspecs.iter().filter(|s| s.kind == SpecKind::MetricTime) {
                nad_cols.push(quote(&s.column()));
            }
        }
        let mut from = format!("{} as b", d.rel(rel));
        for (key, (alias, cols)) in &joins {
            from.push_str(&format!(
                "\nleft outer join {} as {alias}\n  on {} = {alias}.__key",
                self.joined_subquery(&key.path, cols)?,
                sm.entity(&key.path[0].0).expect("resolved").sql(),
            ));
        }
        for (alias, spec) in &metric_joins {
            from.push_str(&format!(
                "\nleft outer join (\n{}\n) as {alias}\n  on {} = {alias}.__key",
                indent(&self.metric_per_entity(spec)?),
                sm.entity(&spec.links[0]).expect("completed").sql(),
            ));
        }
        let mut flat = format!("select\n  {}\nfrom {from}", select.join(",\n  "));
        // Without metric_time in the output, the time range applies to source rows.
        if !gspecs.iter().any(|s| s.kind == SpecKind::MetricTime) {
            let mut conds = Vec::new();
            if let Some(st) = &self.start {
                conds.push(format!(
                    "{} >= cast({} as timestamp)",
                    time_expr,
                    crate::sql::literal(st)
                ));
            }
            if let Some(en) = &self.end {
                conds.push(format!(
                    "{} <= cast({} as timestamp)",
                    time_expr,
                    crate::sql::literal(en)
                ));
            }
            if !conds.is_empty() {
                flat.push_str(&format!("\nwhere {}", conds.join(" and ")));
            }
        }
        let mut rows = format!("select *\nfrom (\n{}\n) as f", indent(&flat));
        if !filters.is_empty() {
            rows.push_str(&format!("\nwhere {}", filters.join("\n  and ")));
        }
        if let Some(nad) = &measure.non_additive_dimension {
            let pick = match nad.window_choice {
                WindowChoice::Max => "max",
                WindowChoice::Min => "min",
            };
            let part = if nad_cols.is_empty() {
                String::new()
            } else {
                format!("partition by {}", nad_cols.join(", "))
            };
            rows = format!(
                "select *\nfrom (\n  select r.*, {pick}(__nad) over ({part}) as __nad_pick\n  from (\n{}\n  ) as r\n) as n\nwhere __nad = __nad_pick",
                indent(&indent(&rows))
            );
        }
        Ok(MeasureRows {
            rows,
            gspecs,
            measure,
        })
    }

    /// Aggregates a measure's rows at the group-by grain (through the spine for cumulative
    /// metrics and offsets) into the value column `out`.
    fn aggregate_rows(
        &self,
        d: Dialect,
        rows: String,
        gspecs: Vec<Spec>,
        measure: &Measure,
        ctx: &Ctx,
        cumulative: Option<(Option<Window>, Option<Grain>, PeriodAgg)>,
        out: &str,
    ) -> PResult<String> {
        let agg = render::aggregate(d, measure.agg, measure.agg_params.as_ref(), "__m")?;
        let gcols: Vec<String> = gspecs.iter().map(|s| quote(&s.column())).collect();
        let has_time = gspecs.iter().any(|s| s.kind == SpecKind::MetricTime);
        let spine_needed = (cumulative.is_some() || ctx.offset.is_some()) && has_time;
        if !spine_needed {
            return Ok(group_select(&gcols, &agg, out, &rows, "r"));
        }
        let ts = self.layer.time_spine.as_ref().ok_or_else(|| {
            PlanError::new(
                "this metric needs a time spine and the project has none",
                "add a model `metricflow_time_spine` (one row per day, column `date_day`) or a model with `time_spine:` in its properties",
            )
        })?;
        // The spine side: metric_time columns come from the spine day `s.__ds`.
        let mut sel = Vec::new();
        for s in &gspecs {
            if s.kind == SpecKind::MetricTime {
                let g = s.grain.unwrap_or(Grain::Day);
                sel.push(format!(
                    "{} as {}",
                    render::date_trunc(d, g, "s.__ds"),
                    quote(&s.column())
                ));
            } else {
                sel.push(format!("r.{}", quote(&s.column())));
            }
        }
        let spine = format!(
            "(select {} as __ds from {}) as s",
            render::date_trunc(d, Grain::Day, &quote(&ts.column)),
            d.rel(&ts.relation)
        );
        let on = match (ctx.offset, cumulative) {
            (Some(Offset::Window(w)), _) => {
                format!("r.__t = {}", render::minus_interval(d, "s.__ds", w))
            }
            (Some(Offset::ToGrain(g)), _) => {
                format!("r.__t = {}", render::date_trunc(d, g, "s.__ds"))
            }
            (None, Some((Some(w), _, _))) => format!(
                "r.__t <= s.__ds and r.__t > {}",
                render::minus_interval(d, "s.__ds", w)
            ),
            (None, Some((None, Some(g), _))) => format!(
                "r.__t <= s.__ds and r.__t >= {}",
                render::date_trunc(d, g, "s.__ds")
            ),
            _ => "r.__t <= s.__ds".to_string(),
        };
        let joined = format!("(\n{}\n) as r\ninner join {spine} on {on}", indent(&rows));
        let Some((_, _, period_agg)) = cumulative else {
            // Offset: re-aggregate the shifted rows at the requested grain.
            let mut s2 = sel.clone();
            s2.push(format!(
                "{agg_r} as {}",
                quote(out),
                agg_r = agg.replace("__m", "r.__m")
            ));
            let groups: Vec<String> = (1..=sel.len()).map(|i| i.to_string()).collect();
            return Ok(format!(
                "select {}\nfrom {joined}{}",
                s2.join(", "),
                if groups.is_empty() {
                    String::new()
                } else {
                    format!("\ngroup by {}", groups.join(", "))
                }
            ));
        };
        // Cumulative: one value per spine day, then one per period (period_agg).
        let all_day = gspecs
            .iter()
            .filter(|s| s.kind == SpecKind::MetricTime)
            .all(|s| s.grain == Some(Grain::Day));
        let mut s2 = sel.clone();
        s2.push("s.__ds as __ds".to_string());
        s2.push(format!("{} as __v", agg.replace("__m", "r.__m")));
        let groups: Vec<String> = (1..=sel.len() + 1).map(|i| i.to_string()).collect();
        let daily = format!(
            "select {}\nfrom {joined}\ngroup by {}",
            s2.join(", "),
            groups.join(", ")
        );
        let gl = gcols.join(", ");
        if all_day {
            return Ok(format!(
                "select {gl}, __v as {}\nfrom (\n{}\n) as c",
                quote(out),
                indent(&daily)
            ));
        }
        Ok(match period_agg {
            PeriodAgg::Average => format!(
                "select {gl}, avg(__v) as {}\nfrom (\n{}\n) as c\ngroup by {gl}",
                quote(out),
                indent(&daily)
            ),
            PeriodAgg::First | PeriodAgg::Last => {
                let dir = if period_agg == PeriodAgg::First {
                    ""
                } else {
                    " desc"
                };
                format!(
                    "select {gl}, __v as {}\nfrom (\n  select c.*, row_number() over (partition by {gl} order by __ds{dir}) as __rn\n  from (\n{}\n  ) as c\n) as p\nwhere __rn = 1",
                    quote(out),
                    indent(&indent(&daily))
                )
            }
        })
    }
}

/// What [`Planner::measure_rows`] returns.
struct MeasureRows<'a> {
    rows: String,
    gspecs: Vec<Spec>,
    measure: &'a Measure,
}

// Base-model expressions stay unqualified, as written in the YAML: the joined models sit in
// subqueries whose columns all start with `__`, so no name is ambiguous.

/// The refusal of a join from `from` to `to` on `entity`, which is not a key of `to`.
fn fan_out(from: &SemanticModel, to: &SemanticModel, entity: &str) -> PlanError {
    PlanError::new(
        format!(
            "joining `{}` to `{}` on `{entity}` would fan out: `{entity}` is {} in `{}`",
            from.name,
            to.name,
            to.entity(entity).map_or("foreign", |e| e.kind.as_str()),
            to.name
        ),
        format!(
            "dimensions are joined only from a model where `{entity}` is primary, unique or natural"
        ),
    )
}

fn group_select(gcols: &[String], agg: &str, out: &str, rows: &str, alias: &str) -> String {
    let mut sel = gcols.to_vec();
    sel.push(format!("{agg} as {}", quote(out)));
    let mut s = format!(
        "select {}\nfrom (\n{}\n) as {alias}",
        sel.join(", "),
        indent(rows)
    );
    if !gcols.is_empty() {
        s.push_str(&format!("\ngroup by {}", gcols.join(", ")));
    }
    s
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
            format!("m0.{}", quote(c))
        } else {
            format!(
                "coalesce({})",
                aliases[..upto]
                    .iter()
                    .map(|a| format!("{a}.{}", quote(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    let mut sel: Vec<String> = gb
        .iter()
        .map(|c| format!("{} as {}", key(c, parts.len()), quote(c)))
        .collect();
    let cols: Vec<(String, String)> = parts
        .iter()
        .zip(&aliases)
        .map(|((_, n), a)| (format!("{a}.{}", quote(n)), n.clone()))
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
                .map(|c| render::same(d, &key(c, i), &format!("{a}.{}", quote(c))))
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
