//! Validation of the semantic layer: the rules MetricFlow enforces before it answers a query
//! (unique names, references between metrics, measures, dimensions and entities, entity types,
//! agg time dimensions, granularities, derived expressions, cumulative and conversion parameters,
//! reserved words, one primary entity...). Each problem is one diagnostic on the YAML line of the
//! offending key, with a hint.
//!
//! Design decision: every rule is a small function over the typed [`SemanticLayer`] that pushes
//! diagnostics into one list, rather than stopping at the first error: users fix a broken metrics
//! file in one pass. Filter references are checked with the query planner's own resolver, so a
//! filter that validates is one the planner can render.

use std::collections::{BTreeMap, BTreeSet};

use super::model::*;
use super::plan::{filter_specs, Resolver, Spec, SpecKind};
use super::{diag_at, Step};
use crate::diagnostics::{did_you_mean, Diagnostic};
use crate::project::YamlFile;

/// SQL words MetricFlow refuses as element names.
const RESERVED: &[&str] = &[
    "all",
    "and",
    "any",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "cast",
    "create",
    "cross",
    "current",
    "current_date",
    "current_time",
    "current_timestamp",
    "default",
    "delete",
    "desc",
    "distinct",
    "drop",
    "else",
    "end",
    "exists",
    "false",
    "for",
    "from",
    "full",
    "group",
    "having",
    "in",
    "inner",
    "insert",
    "intersect",
    "interval",
    "into",
    "is",
    "join",
    "left",
    "like",
    "limit",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "outer",
    "over",
    "partition",
    "right",
    "select",
    "table",
    "then",
    "to",
    "true",
    "union",
    "update",
    "using",
    "values",
    "when",
    "where",
    "with",
];

struct Ctx<'a> {
    files: &'a [YamlFile],
    out: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn err(
        &mut self,
        file: &str,
        section: &str,
        steps: &[Step],
        code: &'static str,
        msg: String,
        hint: impl Into<String>,
    ) {
        let mut hint = hint.into();
        // Definitions written on a model (the latest spec) have no measures or `defaults:`:
        // say what those words mean there.
        let on_model = self.files.iter().any(|f| {
            f.original_file_path == file
                && super::latest_spec::locate_on_model(&f.text, &f.value, section, steps).is_some()
        });
        if on_model
            && (hint.contains("measure") || hint.contains("defaults") || msg.contains("measure"))
        {
            hint.push_str(
                " (on a model, a measure is the simple metric of the same name under `metrics:`, \
                 and `defaults: {agg_time_dimension}` is the model's `agg_time_dimension`)",
            );
        }
        self.out
            .push(diag_at(self.files, file, section, steps, code, msg).with_hint(hint));
    }
}

/// All problems of `layer`, in file order.
pub fn validate(layer: &SemanticLayer, files: &[YamlFile]) -> Vec<Diagnostic> {
    let mut c = Ctx {
        files,
        out: Vec::new(),
    };
    unique_names(layer, &mut c);
    for sm in &layer.semantic_models {
        semantic_model(sm, &mut c);
    }
    for m in &layer.metrics {
        metric(layer, m, &mut c);
    }
    metric_cycles(layer, &mut c);
    for q in &layer.saved_queries {
        saved_query(layer, q, &mut c);
    }
    c.out.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            d.location
                .as_ref()
                .map(|l| (l.file.clone(), l.line.unwrap_or(0)))
        };
        key(a).cmp(&key(b))
    });
    c.out
}

fn name_rule(name: &str) -> Option<String> {
    let ok_chars = name
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
    if !ok_chars || !name.starts_with(|ch: char| ch.is_ascii_lowercase()) {
        return Some("names are lower-case letters, digits and `_`, starting with a letter".into());
    }
    if name.contains("__") {
        return Some(
            "`__` separates entities from dimensions in queries, so names cannot contain it".into(),
        );
    }
    if name.ends_with('_') {
        return Some("names cannot end with `_`".into());
    }
    if RESERVED.contains(&name) {
        return Some(format!("`{name}` is a reserved SQL word"));
    }
    if name == "metric_time" {
        return Some("`metric_time` is reserved for the query's time dimension".into());
    }
    None
}

fn unique_names(layer: &SemanticLayer, c: &mut Ctx) {
    let mut seen: BTreeMap<&str, &Origin> = BTreeMap::new();
    for sm in &layer.semantic_models {
        if let Some(prev) = seen.insert(&sm.name, &sm.origin) {
            c.err(
                &sm.origin.file,
                "semantic_models",
                &[Step::Name(&sm.name)],
                "duplicate-name",
                format!(
                    "semantic model `{}` is defined twice (also in `{}`)",
                    sm.name, prev.file
                ),
                "give each semantic model its own name",
            );
        }
    }
    let mut seen: BTreeMap<&str, &Origin> = BTreeMap::new();
    for m in &layer.metrics {
        if let Some(prev) = seen.insert(&m.name, &m.origin) {
            let created = layer
                .measure(&m.name)
                .is_some_and(|(_, me)| me.create_metric);
            c.err(
                &m.origin.file,
                "metrics",
                &[Step::Name(&m.name)],
                "duplicate-name",
                format!(
                    "metric `{}` is defined twice (also in `{}`)",
                    m.name, prev.file
                ),
                if created {
                    "a measure with `create_metric: true` already defines a metric of this name"
                        .to_string()
                } else {
                    "give each metric its own name".to_string()
                },
            );
        }
    }
    let mut measures: BTreeMap<&str, &str> = BTreeMap::new();
    for sm in &layer.semantic_models {
        for me in &sm.measures {
            if let Some(prev) = measures.insert(&me.name, &sm.name) {
                c.err(
                    &sm.origin.file,
                    "semantic_models",
                    &[
                        Step::Name(&sm.name),
                        Step::Key("measures"),
                        Step::Name(&me.name),
                    ],
                    "duplicate-name",
                    format!(
                        "measure `{}` is defined in semantic models `{prev}` and `{}`",
                        me.name, sm.name
                    ),
                    "measure names are unique across the project; rename one",
                );
            }
        }
    }
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for q in &layer.saved_queries {
        if !seen.insert(&q.name) {
            c.err(
                &q.origin.file,
                "saved_queries",
                &[Step::Name(&q.name)],
                "duplicate-name",
                format!("saved query `{}` is defined twice", q.name),
                "give each saved query its own name",
            );
        }
    }
}

fn semantic_model(sm: &SemanticModel, c: &mut Ctx) {
    let f = sm.origin.file.as_str();
    if let Some(why) = name_rule(&sm.name) {
        c.err(
            f,
            "semantic_models",
            &[Step::Name(&sm.name)],
            "invalid-name",
            format!("invalid semantic model name `{}`", sm.name),
            why,
        );
    }
    if sm.relation.is_none() {
        let msg = match sm.model_name() {
            Some(n) => format!(
                "semantic model `{}` refers to `{n}`, which is not a model of the project",
                sm.name
            ),
            None => format!(
                "semantic model `{}` has `model: {}`, which is not a ref",
                sm.name, sm.model
            ),
        };
        c.err(
            f,
            "semantic_models",
            &[Step::Name(&sm.name), Step::Key("model")],
            "unknown-model",
            msg,
            "write `model: ref('<model name>')` naming a model of this project",
        );
    }
    // Element names: unique within the model, valid.
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    let groups: [(&str, Vec<&str>); 3] = [
        (
            "entities",
            sm.entities.iter().map(|e| e.name.as_str()).collect(),
        ),
        (
            "dimensions",
            sm.dimensions.iter().map(|d| d.name.as_str()).collect(),
        ),
        (
            "measures",
            sm.measures.iter().map(|m| m.name.as_str()).collect(),
        ),
    ];
    for (key, list) in &groups {
        for n in list {
            if let Some(why) = name_rule(n) {
                c.err(
                    f,
                    "semantic_models",
                    &[Step::Name(&sm.name), Step::Key(key), Step::Name(n)],
                    "invalid-name",
                    format!("invalid name `{n}` in semantic model `{}`", sm.name),
                    why,
                );
            }
            if let Some(prev) = names.insert(n, key) {
                // An entity and a dimension may not share a name; neither may two of a kind.
                c.err(
                    f,
                    "semantic_models",
                    &[Step::Name(&sm.name), Step::Key(key), Step::Name(n)],
                    "duplicate-name",
                    format!(
                        "`{n}` is used twice in semantic model `{}` (under `{prev}` and `{key}`)",
                        sm.name
                    ),
                    "element names are unique within a semantic model",
                );
            }
        }
    }
    // Entities.
    let primaries: Vec<&Entity> = sm
        .entities
        .iter()
        .filter(|e| e.kind == EntityType::Primary)
        .collect();
    if primaries.len() > 1 {
        c.err(f, "semantic_models", &[Step::Name(&sm.name), Step::Key("entities"), Step::Name(&primaries[1].name)],
            "primary-entity",
            format!("semantic model `{}` has {} primary entities (`{}`)", sm.name, primaries.len(),
                primaries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join("`, `")),
            "a semantic model has at most one primary entity; make the others `unique` or `foreign`");
    }
    if let Some(pe) = &sm.primary_entity {
        if !primaries.is_empty() {
            c.err(f, "semantic_models", &[Step::Name(&sm.name), Step::Key("primary_entity")], "primary-entity",
                format!("semantic model `{}` sets `primary_entity: {pe}` and also has an entity of type primary", sm.name),
                "use `primary_entity` only when no entity is of type primary");
        }
        if name_rule(pe).is_some() {
            c.err(
                f,
                "semantic_models",
                &[Step::Name(&sm.name), Step::Key("primary_entity")],
                "invalid-name",
                format!("invalid primary entity name `{pe}`"),
                "names are lower-case letters, digits and `_`",
            );
        }
    }
    if !sm.dimensions.is_empty() && sm.primary().is_none() {
        c.err(
            f,
            "semantic_models",
            &[Step::Name(&sm.name)],
            "primary-entity",
            format!(
                "semantic model `{}` has dimensions but no primary entity",
                sm.name
            ),
            "add an entity with `type: primary`, or set `primary_entity: <name>`",
        );
    }
    // Dimensions.
    for d in &sm.dimensions {
        let steps = [
            Step::Name(&sm.name),
            Step::Key("dimensions"),
            Step::Name(&d.name),
        ];
        match d.kind {
            DimensionType::Time if d.grain().is_none() => c.err(
                f,
                "semantic_models",
                &steps,
                "time-granularity",
                format!(
                    "time dimension `{}` of `{}` has no granularity",
                    d.name, sm.name
                ),
                "add `type_params: {time_granularity: day}` (or week, month, quarter, year)",
            ),
            DimensionType::Categorical
                if d.type_params
                    .as_ref()
                    .is_some_and(|t| t.time_granularity.is_some()) =>
            {
                c.err(
                    f,
                    "semantic_models",
                    &steps,
                    "time-granularity",
                    format!(
                        "categorical dimension `{}` of `{}` has a time granularity",
                        d.name, sm.name
                    ),
                    "only `type: time` dimensions take `time_granularity`",
                )
            }
            _ => {}
        }
    }
    let validity: Vec<&Dimension> = sm
        .dimensions
        .iter()
        .filter(|d| {
            d.type_params
                .as_ref()
                .and_then(|t| t.validity_params.as_ref())
                .is_some()
        })
        .collect();
    if !validity.is_empty() {
        let starts = validity
            .iter()
            .filter(|d| {
                d.type_params
                    .as_ref()
                    .and_then(|t| t.validity_params.as_ref())
                    .is_some_and(|v| v.is_start)
            })
            .count();
        let ends = validity
            .iter()
            .filter(|d| {
                d.type_params
                    .as_ref()
                    .and_then(|t| t.validity_params.as_ref())
                    .is_some_and(|v| v.is_end)
            })
            .count();
        if starts != 1 || ends != 1 {
            c.err(f, "semantic_models", &[Step::Name(&sm.name), Step::Key("dimensions"), Step::Name(&validity[0].name)], "validity-params",
                format!("semantic model `{}` needs exactly one `is_start` and one `is_end` validity dimension (has {starts} and {ends})", sm.name),
                "a slowly changing dimension marks one time dimension `is_start: true` and one `is_end: true`");
        }
        if !sm.entities.iter().any(|e| e.kind == EntityType::Natural) {
            c.err(
                f,
                "semantic_models",
                &[Step::Name(&sm.name), Step::Key("entities")],
                "validity-params",
                format!(
                    "semantic model `{}` has validity dimensions but no natural entity",
                    sm.name
                ),
                "slowly changing dimension tables key their rows by an entity of `type: natural`",
            );
        }
    }
    // Defaults.
    if let Some(at) = sm.default_agg_time() {
        match sm.dimension(at) {
            Some(d) if d.kind == DimensionType::Time => {}
            Some(_) => c.err(
                f,
                "semantic_models",
                &[
                    Step::Name(&sm.name),
                    Step::Key("defaults"),
                    Step::Key("agg_time_dimension"),
                ],
                "agg-time-dimension",
                format!(
                    "default agg time dimension `{at}` of `{}` is not a time dimension",
                    sm.name
                ),
                "point `agg_time_dimension` at a dimension with `type: time`",
            ),
            None => c.err(
                f,
                "semantic_models",
                &[
                    Step::Name(&sm.name),
                    Step::Key("defaults"),
                    Step::Key("agg_time_dimension"),
                ],
                "agg-time-dimension",
                format!(
                    "default agg time dimension `{at}` is not a dimension of `{}`",
                    sm.name
                ),
                did_you_mean(
                    at,
                    sm.dimensions
                        .iter()
                        .filter(|d| d.kind == DimensionType::Time)
                        .map(|d| d.name.as_str()),
                )
                .unwrap_or_else(|| "add the time dimension to `dimensions:`".into()),
            ),
        }
    }
    // Measures.
    for me in &sm.measures {
        let steps = [
            Step::Name(&sm.name),
            Step::Key("measures"),
            Step::Name(&me.name),
        ];
        match sm.agg_time_of(me) {
            None => c.err(f, "semantic_models", &steps, "agg-time-dimension",
                format!("measure `{}` has no agg time dimension", me.name),
                "set `defaults: {agg_time_dimension: <time dimension>}` on the semantic model or `agg_time_dimension` on the measure"),
            Some(at) if me.agg_time_dimension.is_some() => match sm.dimension(at) {
                Some(d) if d.kind == DimensionType::Time => {}
                _ => c.err(f, "semantic_models", &[Step::Name(&sm.name), Step::Key("measures"), Step::Name(&me.name), Step::Key("agg_time_dimension")],
                    "agg-time-dimension",
                    format!("agg time dimension `{at}` of measure `{}` is not a time dimension of `{}`", me.name, sm.name),
                    did_you_mean(at, sm.dimensions.iter().filter(|d| d.kind == DimensionType::Time).map(|d| d.name.as_str()))
                        .unwrap_or_else(|| "name a dimension with `type: time`".into())),
            },
            _ => {}
        }
        let p = me.agg_params.as_ref();
        match me.agg {
            Agg::Percentile => match p.and_then(|p| p.percentile) {
                Some(q) if q > 0.0 && q < 1.0 => {}
                Some(q) => c.err(
                    f,
                    "semantic_models",
                    &steps,
                    "agg-params",
                    format!(
                        "percentile {q} of measure `{}` is not between 0 and 1",
                        me.name
                    ),
                    "write e.g. `agg_params: {percentile: 0.9}`",
                ),
                None => c.err(
                    f,
                    "semantic_models",
                    &steps,
                    "agg-params",
                    format!(
                        "percentile measure `{}` has no `agg_params.percentile`",
                        me.name
                    ),
                    "add `agg_params: {percentile: 0.9}`",
                ),
            },
            Agg::Median
                if p.is_some_and(|p| {
                    p.percentile.is_some_and(|q| q != 0.5)
                        || p.use_discrete_percentile
                        || p.use_approximate_percentile
                }) =>
            {
                c.err(
                    f,
                    "semantic_models",
                    &steps,
                    "agg-params",
                    format!(
                        "median measure `{}` cannot set percentile parameters",
                        me.name
                    ),
                    "use `agg: percentile` to choose the percentile",
                )
            }
            Agg::Median => {}
            _ if p.is_some() => c.err(
                f,
                "semantic_models",
                &steps,
                "agg-params",
                format!(
                    "measure `{}` has `agg_params` but `agg: {}` takes none",
                    me.name,
                    me.agg.as_str()
                ),
                "`agg_params` is for `percentile` measures only",
            ),
            _ => {}
        }
        if let Some(nad) = &me.non_additive_dimension {
            let nsteps = [
                Step::Name(&sm.name),
                Step::Key("measures"),
                Step::Name(&me.name),
                Step::Key("non_additive_dimension"),
            ];
            match sm.dimension(&nad.name) {
                Some(d) if d.kind == DimensionType::Time => {
                    let agg_grain = sm.agg_time_of(me).and_then(|a| sm.dimension(a)).and_then(|d| d.grain());
                    if let (Some(ag), Some(ng)) = (agg_grain, d.grain()) {
                        if ag != ng {
                            c.err(f, "semantic_models", &nsteps, "non-additive-dimension",
                                format!("non-additive dimension `{}` of measure `{}` is by {ng} but its agg time dimension is by {ag}", nad.name, me.name),
                                "use time dimensions of the same granularity");
                        }
                    }
                }
                _ => c.err(f, "semantic_models", &nsteps, "non-additive-dimension",
                    format!("non-additive dimension `{}` of measure `{}` is not a time dimension of `{}`", nad.name, me.name, sm.name),
                    did_you_mean(&nad.name, sm.dimensions.iter().filter(|d| d.kind == DimensionType::Time).map(|d| d.name.as_str()))
                        .unwrap_or_else(|| "name a dimension with `type: time` of the same semantic model".into())),
            }
            for wg in &nad.window_groupings {
                if sm.entity(wg).is_none() {
                    c.err(
                        f,
                        "semantic_models",
                        &nsteps,
                        "non-additive-dimension",
                        format!(
                            "window grouping `{wg}` of measure `{}` is not an entity of `{}`",
                            me.name, sm.name
                        ),
                        did_you_mean(wg, sm.entities.iter().map(|e| e.name.as_str()))
                            .unwrap_or_else(|| "list entities of the semantic model".into()),
                    );
                }
            }
        }
    }
}

fn metric_steps<'a>(m: &'a Metric, key: &'a str) -> Vec<Step<'a>> {
    vec![
        Step::Name(&m.name),
        Step::Key("type_params"),
        Step::Key(key),
    ]
}

fn metric(layer: &SemanticLayer, m: &Metric, c: &mut Ctx) {
    let f = m.origin.file.as_str();
    let here = [Step::Name(&m.name)];
    if let Some(why) = name_rule(&m.name) {
        c.err(
            f,
            "metrics",
            &here,
            "invalid-name",
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
        c.err(
            f,
            "metrics",
            &here,
            "metric-label",
            format!("metric `{}` has no `label`", m.name),
            "dbt requires a display name for every metric: add `label: ...`",
        );
    }
    let tp = &m.type_params;
    let check_measure =
        |c: &mut Ctx, mi: &Option<MeasureInput>, key: &str| -> Option<(&SemanticModel, &Measure)> {
            match mi {
                None => {
                    c.err(
                        f,
                        "metrics",
                        &[Step::Name(&m.name), Step::Key("type_params")],
                        "metric-params",
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
                        c.err(
                            f,
                            "metrics",
                            &metric_steps(m, key),
                            "unknown-measure",
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
        };
    let check_metric_input = |c: &mut Ctx, input: &MetricInput, key: &str| {
        if layer.metric(&input.name).is_none() {
            c.err(
                f,
                "metrics",
                &metric_steps(m, key),
                "unknown-metric",
                format!(
                    "metric `{}` uses metric `{}`, which is not defined",
                    m.name, input.name
                ),
                did_you_mean(&input.name, layer.metrics.iter().map(|x| x.name.as_str()))
                    .unwrap_or_else(|| "define it under `metrics:`".into()),
            );
        }
        if input.offset_window.is_some() && input.offset_to_grain.is_some() {
            c.err(
                f,
                "metrics",
                &metric_steps(m, key),
                "metric-params",
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
            c.err(
                f,
                "metrics",
                &metric_steps(m, key),
                "metric-params",
                format!(
                    "input `{}` of {} metric `{}` has an offset",
                    input.name,
                    m.kind.as_str(),
                    m.name
                ),
                "offsets are for the inputs of derived metrics",
            );
        }
    };
    match m.kind {
        MetricType::Simple => {
            check_measure(c, &tp.measure, "measure");
        }
        MetricType::Cumulative => {
            check_measure(c, &tp.measure, "measure");
            if m.window().is_some() && m.grain_to_date().is_some() {
                c.err(f, "metrics", &[Step::Name(&m.name), Step::Key("type_params")], "metric-params",
                    format!("cumulative metric `{}` sets both `window` and `grain_to_date`", m.name),
                    "a cumulative metric accumulates over a trailing window or from the start of a period, not both");
            }
            if layer.time_spine.is_none() {
                c.err(f, "metrics", &here, "time-spine",
                    format!("cumulative metric `{}` needs a time spine and the project has none", m.name),
                    "add a day-grain model `metricflow_time_spine` with a `date_day` column, or `time_spine:` properties on a model");
            }
        }
        MetricType::Ratio => {
            match &tp.numerator {
                Some(n) => check_metric_input(c, n, "numerator"),
                None => c.err(f, "metrics", &[Step::Name(&m.name), Step::Key("type_params")], "metric-params",
                    format!("ratio metric `{}` has no `numerator`", m.name), "add `numerator: <metric name>`"),
            }
            match &tp.denominator {
                Some(d) => check_metric_input(c, d, "denominator"),
                None => c.err(f, "metrics", &[Step::Name(&m.name), Step::Key("type_params")], "metric-params",
                    format!("ratio metric `{}` has no `denominator`", m.name), "add `denominator: <metric name>`"),
            }
        }
        MetricType::Derived => {
            if tp.metrics.is_empty() {
                c.err(f, "metrics", &[Step::Name(&m.name), Step::Key("type_params")], "metric-params",
                    format!("derived metric `{}` lists no input `metrics`", m.name),
                    "add `metrics: [{name: <metric>}]` for every metric used in `expr`");
            }
            for input in &tp.metrics {
                check_metric_input(c, input, "metrics");
            }
            let mut cols = BTreeSet::new();
            for input in &tp.metrics {
                if !cols.insert(input.column()) {
                    c.err(f, "metrics", &metric_steps(m, "metrics"), "metric-params",
                        format!("derived metric `{}` uses `{}` twice without distinct aliases", m.name, input.column()),
                        "give repeated inputs an `alias:`");
                }
            }
            match m.expr() {
                None => c.err(f, "metrics", &[Step::Name(&m.name), Step::Key("type_params")], "metric-params",
                    format!("derived metric `{}` has no `expr`", m.name), "add `expr:` combining the input metrics, e.g. `a / b`"),
                Some(expr) => {
                    let words = identifiers(&expr);
                    for w in &words {
                        if !cols.contains(w.as_str()) && !SQL_WORDS.contains(&w.to_ascii_lowercase().as_str()) {
                            c.err(f, "metrics", &metric_steps(m, "expr"), "derived-expr",
                                format!("`{w}` in the expression of derived metric `{}` is not one of its input metrics", m.name),
                                did_you_mean(w, cols.iter().copied()).unwrap_or_else(|| format!("list `{w}` under `type_params.metrics` (or use its alias)")));
                        }
                    }
                    let unknown = words.iter().any(|w| !cols.contains(w.as_str()) && !SQL_WORDS.contains(&w.to_ascii_lowercase().as_str()));
                    for col in cols.iter().filter(|_| !unknown) {
                        if !words.iter().any(|w| w == col) {
                            c.err(f, "metrics", &metric_steps(m, "metrics"), "derived-expr",
                                format!("input `{col}` of derived metric `{}` is not used in its expression", m.name),
                                "remove it or use it in `expr`");
                        }
                    }
                }
            }
        }
        MetricType::Conversion => match &tp.conversion_type_params {
            None => c.err(f, "metrics", &[Step::Name(&m.name), Step::Key("type_params")], "metric-params",
                format!("conversion metric `{}` has no `conversion_type_params`", m.name),
                "add `conversion_type_params` with `base_measure`, `conversion_measure` and `entity`"),
            Some(cp) => {
                let base = check_measure(c, &cp.base_measure, "conversion_type_params");
                let conv = check_measure(c, &cp.conversion_measure, "conversion_type_params");
                for (which, x) in [("base", base), ("conversion", conv)] {
                    if which == "conversion" && base.map(|b| &b.0.name) == conv.map(|c| &c.0.name) {
                        continue;
                    }
                    if let Some((sm, _)) = x {
                        if sm.entity(&cp.entity).is_none() {
                            c.err(f, "metrics", &metric_steps(m, "conversion_type_params"), "conversion-params",
                                format!("entity `{}` of conversion metric `{}` is not in semantic model `{}` of its {which} measure", cp.entity, m.name, sm.name),
                                "the entity links base and conversion events; both semantic models need it");
                        }
                    }
                }
                for (which, x) in [("base", base), ("conversion", conv)] {
                    if let Some((_, me)) = x {
                        if !matches!(me.agg, Agg::Count | Agg::CountDistinct | Agg::Sum) {
                            c.err(f, "metrics", &metric_steps(m, "conversion_type_params"), "conversion-params",
                                format!("{which} measure `{}` of conversion metric `{}` has `agg: {}`", me.name, m.name, me.agg.as_str()),
                                "conversion measures count events: use `count`, `count_distinct` or `sum`");
                        }
                    }
                }
                for cprop in &cp.constant_properties {
                    for (prop, x) in [(&cprop.base_property, base), (&cprop.conversion_property, conv)] {
                        if let Some((sm, _)) = x {
                            if sm.dimension(prop).is_none() && sm.entity(prop).is_none() {
                                c.err(f, "metrics", &metric_steps(m, "conversion_type_params"), "conversion-params",
                                    format!("constant property `{prop}` is not a dimension or entity of `{}`", sm.name),
                                    "name a dimension or entity of the measure's semantic model");
                            }
                        }
                    }
                }
            }
        },
    }
    if m.kind != MetricType::Cumulative
        && (tp.window.is_some()
            || tp.grain_to_date.is_some()
            || tp.cumulative_type_params.is_some())
    {
        c.err(
            f,
            "metrics",
            &[Step::Name(&m.name), Step::Key("type_params")],
            "metric-params",
            format!(
                "{} metric `{}` has cumulative parameters",
                m.kind.as_str(),
                m.name
            ),
            "`window` and `grain_to_date` are for `type: cumulative` metrics",
        );
    }
    // The same measure read with different filters needs an alias on each filtered read.
    let mut reads: Vec<&MeasureInput> = Vec::new();
    measure_reads(layer, m, &mut reads, 0);
    for r in &reads {
        let differs = reads
            .iter()
            .any(|o| o.name == r.name && o.filter != r.filter);
        if differs && !r.filter.is_empty() && r.alias.is_none() {
            c.err(f, "metrics", &here, "measure-alias",
                format!("metric `{}` reads measure `{}` with different filters, and the filtered read has no alias", m.name, r.name),
                format!("add `alias: <name>` next to the `filter` of measure `{}`", r.name));
            break;
        }
    }
    // Filters: references must resolve from every measure of the metric.
    let mut templates: Vec<(&str, String)> =
        m.filter.iter().map(|t| ("filter", t.clone())).collect();
    if let Some(mi) = &tp.measure {
        templates.extend(mi.filter.iter().map(|t| ("type_params", t.clone())));
    }
    for input in m.input_metrics() {
        templates.extend(input.filter.iter().map(|t| ("type_params", t.clone())));
    }
    let resolver = Resolver::new(layer);
    let measures: Vec<(&SemanticModel, &Measure)> = measure_inputs(layer, m, 0);
    for (key, t) in templates {
        let steps = [Step::Name(&m.name), Step::Key(key)];
        match filter_specs(&t) {
            Err(e) => c.err(
                f,
                "metrics",
                &steps,
                "filter",
                format!("filter of metric `{}`: {}", m.name, e.message),
                e.hint,
            ),
            Ok(specs) => {
                for s in specs {
                    for (sm, me) in &measures {
                        if let Err(e) = resolve_spec(&resolver, &s, sm, me) {
                            c.err(
                                f,
                                "metrics",
                                &steps,
                                "filter",
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

fn measure_reads<'a>(
    layer: &'a SemanticLayer,
    m: &'a Metric,
    out: &mut Vec<&'a MeasureInput>,
    depth: usize,
) {
    if depth > 20 {
        return;
    }
    out.extend(m.type_params.measure.iter());
    for input in m.input_metrics() {
        if let Some(child) = layer.metric(&input.name) {
            measure_reads(layer, child, out, depth + 1);
        }
    }
}

fn resolve_spec(
    r: &Resolver,
    s: &Spec,
    sm: &SemanticModel,
    me: &Measure,
) -> Result<(), super::plan::PlanError> {
    let done = r.complete(s, sm, me)?;
    if done.kind == SpecKind::Entity && sm.entity(&done.name).is_none() {
        return Err(super::plan::PlanError::new(
            format!(
                "entity `{}` is not in semantic model `{}`",
                done.name, sm.name
            ),
            "filter on an entity of the metric's semantic model",
        ));
    }
    Ok(())
}

fn measure_inputs<'a>(
    layer: &'a SemanticLayer,
    m: &Metric,
    depth: usize,
) -> Vec<(&'a SemanticModel, &'a Measure)> {
    if depth > 20 {
        return vec![];
    }
    let mut out = Vec::new();
    if let Some(mi) = &m.type_params.measure {
        out.extend(layer.measure(&mi.name));
    }
    for input in m.input_metrics() {
        if let Some(child) = layer.metric(&input.name) {
            out.extend(measure_inputs(layer, child, depth + 1));
        }
    }
    out
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

/// Identifiers of a SQL expression, outside string literals.
fn identifiers(expr: &str) -> Vec<String> {
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

fn metric_cycles(layer: &SemanticLayer, c: &mut Ctx) {
    fn visit<'a>(
        layer: &'a SemanticLayer,
        name: &'a str,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| *n == name) {
            let mut cyc: Vec<String> = stack[i..].iter().map(|s| s.to_string()).collect();
            cyc.push(name.to_string());
            return Some(cyc);
        }
        let m = layer.metric(name)?;
        stack.push(name);
        for input in m.input_metrics() {
            if let Some(cyc) = visit(layer, &input.name, stack) {
                return Some(cyc);
            }
        }
        stack.pop();
        None
    }
    let mut reported = BTreeSet::new();
    for m in &layer.metrics {
        if let Some(cyc) = visit(layer, &m.name, &mut Vec::new()) {
            let key: BTreeSet<String> = cyc.iter().cloned().collect();
            if cyc.first() == Some(&m.name) && reported.insert(key) {
                c.err(
                    &m.origin.file,
                    "metrics",
                    &[Step::Name(&m.name)],
                    "metric-cycle",
                    format!(
                        "metric `{}` is defined in terms of itself: {}",
                        m.name,
                        cyc.join(" -> ")
                    ),
                    "break the cycle between these metrics",
                );
            }
        }
    }
}

fn saved_query(layer: &SemanticLayer, q: &SavedQuery, c: &mut Ctx) {
    let f = q.origin.file.as_str();
    let steps = [Step::Name(&q.name), Step::Key("query_params")];
    if q.query_params.metrics.is_empty() {
        c.err(
            f,
            "saved_queries",
            &steps,
            "saved-query",
            format!("saved query `{}` lists no metrics", q.name),
            "add `query_params: {metrics: [...]}`",
        );
    }
    for m in &q.query_params.metrics {
        if layer.metric(m).is_none() {
            c.err(
                f,
                "saved_queries",
                &[
                    Step::Name(&q.name),
                    Step::Key("query_params"),
                    Step::Key("metrics"),
                ],
                "unknown-metric",
                format!(
                    "saved query `{}` uses metric `{m}`, which is not defined",
                    q.name
                ),
                did_you_mean(m, layer.metrics.iter().map(|x| x.name.as_str()))
                    .unwrap_or_else(|| "define it under `metrics:`".into()),
            );
        }
    }
    for g in &q.query_params.group_by {
        if let Err(e) = Spec::parse(g) {
            c.err(
                f,
                "saved_queries",
                &[
                    Step::Name(&q.name),
                    Step::Key("query_params"),
                    Step::Key("group_by"),
                ],
                "saved-query",
                format!("saved query `{}`: {}", q.name, e.message),
                e.hint,
            );
        }
    }
    for e in &q.exports {
        if let Some(v) = e.config.get("export_as").and_then(|v| v.as_str()) {
            if v != "table" && v != "view" {
                c.err(
                    f,
                    "saved_queries",
                    &[Step::Name(&q.name), Step::Key("exports")],
                    "saved-query",
                    format!(
                        "export `{}` of saved query `{}` has `export_as: {v}`",
                        e.name, q.name
                    ),
                    "use `export_as: table` or `export_as: view`",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_identifiers() {
        assert!(name_rule("mrr").is_none());
        assert!(name_rule("Mrr").is_some());
        assert!(name_rule("a__b").is_some());
        assert!(name_rule("select").is_some());
        assert_eq!(
            identifiers("a / nullif(b_2, 0) + 'x y'"),
            vec!["a", "nullif", "b_2"]
        );
    }
}
