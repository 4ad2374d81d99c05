//! One measure in SQL: its *flat* rows (one per source row of its semantic model, left-joined
//! to the models holding the requested dimensions, filtered, non-additive measures cut to the
//! last or first time of each period) and their aggregation at the group-by grain (through the
//! time spine for cumulative metrics and offsets).
//!
//! Design decision: the rows and the aggregation are separate steps ([`Planner::measure_rows`],
//! [`Planner::aggregate_rows`]) because conversion metrics need the rows of two measures before
//! either is aggregated; simple, cumulative and ratio inputs go through both at once
//! ([`Planner::measure_sql`]).

use super::*;

impl<'a> Planner<'a> {
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
            inner.extend(
                cols.iter()
                    .map(|(e, c)| format!("{e} as {}", self.dialect.quote(c))),
            );
            return Ok(format!("(select {} from {})", inner.join(", "), d.rel(r1)));
        };
        let (t2, r2) = model(m2)?;
        let key2 = t2.entity(e2).expect("resolved").sql();
        let mut inner2 = vec![format!("{key2} as __key2")];
        inner2.extend(
            cols.iter()
                .map(|(e, c)| format!("{e} as {}", self.dialect.quote(c))),
        );
        let mut outer = vec![format!("{key1} as __key")];
        outer.extend(
            cols.iter()
                .map(|(_, c)| format!("h.{}", self.dialect.quote(c))),
        );
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
            self.dialect.quote(&entity.name),
            self.dialect.quote(&m.name),
            indent(&sql)
        ))
    }

    /// Aggregates one measure at the group-by grain into column `out`.
    pub(super) fn measure_sql(
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
    pub(super) fn measure_rows(
        &self,
        measure_name: &str,
        specs: &[Spec],
        ctx: &Ctx,
        extra: &[(String, String)],
        apply_where: bool,
    ) -> PResult<MeasureRows<'a>> {
        let d = self.dialect;
        let (sm, measure, rel) = self.measure_source(measure_name)?;
        // Complete the group-by items for this measure, then the filter references.
        let gspecs = self.group_specs(sm, measure, specs)?;
        let (fspecs, filters) = self.completed_filters(sm, measure, ctx, &gspecs, apply_where)?;
        // Columns of the flat subquery.
        let FlatColumns {
            mut select,
            joins,
            metric_joins,
        } = self.flat_columns(sm, measure, &gspecs, &fspecs)?;
        let time_col = sm.agg_time_of(measure).and_then(|a| sm.dimension(a));
        let time_expr = time_col.map(|t| t.sql().to_string());
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
        let nad_cols = self.non_additive_columns(sm, measure, &gspecs, &mut select)?;
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
            flat.push_str(&self.time_range(&time_expr));
        }
        let rows = filtered_rows(&flat, &filters, measure, &nad_cols);
        Ok(MeasureRows {
            rows,
            gspecs,
            measure,
        })
    }

    /// The semantic model defining a measure, the measure, and the relation the model reads.
    fn measure_source(
        &self,
        measure_name: &str,
    ) -> PResult<(&'a SemanticModel, &'a Measure, &'a crate::sql::Relation)> {
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
        Ok((sm, measure, rel))
    }

    /// The query's group-by items completed for this measure, at the grains `specs` ask for.
    fn group_specs(
        &self,
        sm: &SemanticModel,
        measure: &Measure,
        specs: &[Spec],
    ) -> PResult<Vec<Spec>> {
        let mut gspecs = Vec::new();
        for (s, want) in self.specs.iter().zip(specs) {
            let mut c = self.resolver.complete(s, sm, measure)?;
            if c.kind == SpecKind::MetricTime || c.grain.is_some() {
                c.grain = want.grain.or(c.grain);
            }
            gspecs.push(c);
        }
        Ok(gspecs)
    }

    /// The filters on the measure's rows (the query's `where`, if `apply_where`, then the
    /// inherited ones), rendered, and the items they read that are not group-by items.
    fn completed_filters(
        &self,
        sm: &SemanticModel,
        measure: &Measure,
        ctx: &Ctx,
        gspecs: &[Spec],
        apply_where: bool,
    ) -> PResult<(Vec<Spec>, Vec<String>)> {
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
        Ok((fspecs, filters))
    }

    /// The flat subquery's columns of the group-by and filter items, with the models joined in
    /// for them and the metrics computed per entity for `{{ Metric(...) }}` items.
    fn flat_columns(
        &self,
        sm: &SemanticModel,
        measure: &Measure,
        gspecs: &[Spec],
        fspecs: &[Spec],
    ) -> PResult<FlatColumns> {
        let d = self.dialect;
        let mut joins: BTreeMap<JoinKey, (String, Vec<(String, String)>)> = BTreeMap::new();
        let mut select = Vec::new();
        let mut metric_joins = Vec::new();
        for s in gspecs.iter().chain(fspecs.iter()) {
            if s.kind == SpecKind::Metric {
                let alias = format!("jm{}", metric_joins.len());
                select.push(format!(
                    "{alias}.__value as {}",
                    self.dialect.quote(&s.column())
                ));
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
                    format!("{}.{}", entry.0, self.dialect.quote(&inner_col))
                }
            };
            let value = match src.grain {
                Some(g) => render::date_trunc(d, g, &value),
                None => value,
            };
            select.push(format!("{value} as {}", self.dialect.quote(&col)));
        }
        Ok(FlatColumns {
            select,
            joins,
            metric_joins,
        })
    }

    /// For a non-additive measure, adds the columns its rows are cut by (`__nad`, the window
    /// groupings `__wg<i>`) to `select`, and returns the partition of the cut.
    fn non_additive_columns(
        &self,
        sm: &SemanticModel,
        measure: &Measure,
        gspecs: &[Spec],
        select: &mut Vec<String>,
    ) -> PResult<Vec<String>> {
        let d = self.dialect;
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
                nad_cols.push(self.dialect.quote(&s.column()));
            }
        }
        Ok(nad_cols)
    }

    /// The `where` of the query's time range on source rows (empty without one).
    fn time_range(&self, time_expr: &str) -> String {
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
        if conds.is_empty() {
            String::new()
        } else {
            format!("\nwhere {}", conds.join(" and "))
        }
    }

    /// Aggregates a measure's rows at the group-by grain (through the spine for cumulative
    /// metrics and offsets) into the value column `out`.
    pub(super) fn aggregate_rows(
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
        let gcols: Vec<String> = gspecs
            .iter()
            .map(|s| self.dialect.quote(&s.column()))
            .collect();
        let has_time = gspecs.iter().any(|s| s.kind == SpecKind::MetricTime);
        let spine_needed = (cumulative.is_some() || ctx.offset.is_some()) && has_time;
        if !spine_needed {
            return Ok(group_select(d, &gcols, &agg, out, &rows, "r"));
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
                    self.dialect.quote(&s.column())
                ));
            } else {
                sel.push(format!("r.{}", self.dialect.quote(&s.column())));
            }
        }
        let spine = format!(
            "(select {} as __ds from {}) as s",
            render::date_trunc(d, Grain::Day, &self.dialect.quote(&ts.column)),
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
                self.dialect.quote(out),
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
                self.dialect.quote(out),
                indent(&daily)
            ));
        }
        Ok(match period_agg {
            PeriodAgg::Average => format!(
                "select {gl}, avg(__v) as {}\nfrom (\n{}\n) as c\ngroup by {gl}",
                self.dialect.quote(out),
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
                    self.dialect.quote(out),
                    indent(&indent(&daily))
                )
            }
        })
    }
}

/// The columns of a measure's flat subquery for its group-by and filter items
/// ([`Planner::flat_columns`]).
struct FlatColumns {
    /// `<expression> as <column>`, in item order.
    select: Vec<String>,
    /// The models joined in, by join path: their alias and (expression, column) pairs.
    joins: BTreeMap<JoinKey, (String, Vec<(String, String)>)>,
    /// The metrics computed per entity, by alias.
    metric_joins: Vec<(String, Spec)>,
}

/// The flat rows filtered, and for a non-additive measure cut to the rows at the last (or
/// first) `__nad` of each partition `nad_cols`.
fn filtered_rows(flat: &str, filters: &[String], measure: &Measure, nad_cols: &[String]) -> String {
    let mut rows = format!("select *\nfrom (\n{}\n) as f", indent(flat));
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
    rows
}

/// What [`Planner::measure_rows`] returns.
pub(super) struct MeasureRows<'a> {
    pub(super) rows: String,
    pub(super) gspecs: Vec<Spec>,
    pub(super) measure: &'a Measure,
}

// Base-model expressions stay unqualified, as written in the YAML: the joined models sit in
// subqueries whose columns all start with `__`, so no name is ambiguous.

pub(super) fn group_select(
    d: Dialect,
    gcols: &[String],
    agg: &str,
    out: &str,
    rows: &str,
    alias: &str,
) -> String {
    let mut sel = gcols.to_vec();
    sel.push(format!("{agg} as {}", d.quote(out)));
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
