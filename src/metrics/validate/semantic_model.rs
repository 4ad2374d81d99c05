//! The rules for one semantic model: a reference to a model of the project, valid and unique
//! element names, at most one primary entity, time dimensions with a granularity, validity
//! dimensions of slowly changing tables, agg time dimensions, and aggregation parameters of its
//! measures.
//!
//! Each group of rules is one function; [`semantic_model`] calls them in the order their
//! diagnostics are reported.
//!
//! Design decision: every path to a YAML key is written relative to the semantic model's entry
//! ([`Ctx::at`] prepends it), so a rule names only the keys it is about.

use std::collections::BTreeMap;

use super::{name_rule, Ctx};
use crate::diagnostics::{did_you_mean, Code};
use crate::metrics::model::*;
use crate::metrics::Step;

/// Every rule of one semantic model, in the order its diagnostics are reported.
pub(super) fn semantic_model(sm: &SemanticModel, c: &mut Ctx) {
    identity(sm, c);
    element_names(sm, c);
    entities(sm, c);
    dimensions(sm, c);
    validity(sm, c);
    default_agg_time(sm, c);
    for me in &sm.measures {
        measure_agg_time(sm, me, c);
        agg_params(sm, me, c);
        non_additive_dimension(sm, me, c);
    }
}

/// The semantic model's own name, and the model of the project it reads (`model: ref(...)`).
fn identity(sm: &SemanticModel, c: &mut Ctx) {
    if let Some(why) = name_rule(&sm.name) {
        c.at(
            sm,
            &[],
            Code::InvalidName,
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
        c.at(
            sm,
            &[Step::Key("model")],
            Code::UnknownModel,
            msg,
            "write `model: ref('<model name>')` naming a model of this project",
        );
    }
}

/// Element names (entities, dimensions, measures): valid, and unique within the model.
fn element_names(sm: &SemanticModel, c: &mut Ctx) {
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
                c.at(
                    sm,
                    &[Step::Key(key), Step::Name(n)],
                    Code::InvalidName,
                    format!("invalid name `{n}` in semantic model `{}`", sm.name),
                    why,
                );
            }
            if let Some(prev) = names.insert(n, key) {
                // An entity and a dimension may not share a name; neither may two of a kind.
                c.at(
                    sm,
                    &[Step::Key(key), Step::Name(n)],
                    Code::DuplicateName,
                    format!(
                        "`{n}` is used twice in semantic model `{}` (under `{prev}` and `{key}`)",
                        sm.name
                    ),
                    "element names are unique within a semantic model",
                );
            }
        }
    }
}

/// Entities: at most one primary entity (an entity of type primary or `primary_entity`), and
/// one when the model has dimensions.
fn entities(sm: &SemanticModel, c: &mut Ctx) {
    let primaries: Vec<&Entity> = sm
        .entities
        .iter()
        .filter(|e| e.kind == EntityType::Primary)
        .collect();
    if primaries.len() > 1 {
        c.at(sm, &[Step::Key("entities"), Step::Name(&primaries[1].name)],
            Code::PrimaryEntity,
            format!("semantic model `{}` has {} primary entities (`{}`)", sm.name, primaries.len(),
                primaries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join("`, `")),
            "a semantic model has at most one primary entity; make the others `unique` or `foreign`");
    }
    if let Some(pe) = &sm.primary_entity {
        if !primaries.is_empty() {
            c.at(sm, &[Step::Key("primary_entity")], Code::PrimaryEntity,
                format!("semantic model `{}` sets `primary_entity: {pe}` and also has an entity of type primary", sm.name),
                "use `primary_entity` only when no entity is of type primary");
        }
        if name_rule(pe).is_some() {
            c.at(
                sm,
                &[Step::Key("primary_entity")],
                Code::InvalidName,
                format!("invalid primary entity name `{pe}`"),
                "names are lower-case letters, digits and `_`",
            );
        }
    }
    if !sm.dimensions.is_empty() && sm.primary().is_none() {
        c.at(
            sm,
            &[],
            Code::PrimaryEntity,
            format!(
                "semantic model `{}` has dimensions but no primary entity",
                sm.name
            ),
            "add an entity with `type: primary`, or set `primary_entity: <name>`",
        );
    }
}

/// Dimensions: time dimensions have a granularity, categorical ones none.
fn dimensions(sm: &SemanticModel, c: &mut Ctx) {
    for d in &sm.dimensions {
        let steps = [Step::Key("dimensions"), Step::Name(&d.name)];
        match d.kind {
            DimensionType::Time if d.grain().is_none() => c.at(
                sm,
                &steps,
                Code::TimeGranularity,
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
                c.at(
                    sm,
                    &steps,
                    Code::TimeGranularity,
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
}

/// Validity dimensions of a slowly changing dimension table: one start, one end, and a natural
/// entity keying the rows.
fn validity(sm: &SemanticModel, c: &mut Ctx) {
    let validity: Vec<&Dimension> = sm
        .dimensions
        .iter()
        .filter(|d| d.validity().is_some())
        .collect();
    if !validity.is_empty() {
        let starts = validity
            .iter()
            .filter(|d| d.validity().is_some_and(|v| v.is_start))
            .count();
        let ends = validity
            .iter()
            .filter(|d| d.validity().is_some_and(|v| v.is_end))
            .count();
        if starts != 1 || ends != 1 {
            c.at(sm, &[Step::Key("dimensions"), Step::Name(&validity[0].name)], Code::ValidityParams,
                format!("semantic model `{}` needs exactly one `is_start` and one `is_end` validity dimension (has {starts} and {ends})", sm.name),
                "a slowly changing dimension marks one time dimension `is_start: true` and one `is_end: true`");
        }
        if !sm.entities.iter().any(|e| e.kind == EntityType::Natural) {
            c.at(
                sm,
                &[Step::Key("entities")],
                Code::ValidityParams,
                format!(
                    "semantic model `{}` has validity dimensions but no natural entity",
                    sm.name
                ),
                "slowly changing dimension tables key their rows by an entity of `type: natural`",
            );
        }
    }
}

/// The default agg time dimension is a time dimension of the model.
fn default_agg_time(sm: &SemanticModel, c: &mut Ctx) {
    if let Some(at) = sm.default_agg_time() {
        match sm.dimension(at) {
            Some(d) if d.kind == DimensionType::Time => {}
            Some(_) => c.at(
                sm,
                &[Step::Key("defaults"), Step::Key("agg_time_dimension")],
                Code::AggTimeDimension,
                format!(
                    "default agg time dimension `{at}` of `{}` is not a time dimension",
                    sm.name
                ),
                "point `agg_time_dimension` at a dimension with `type: time`",
            ),
            None => c.at(
                sm,
                &[Step::Key("defaults"), Step::Key("agg_time_dimension")],
                Code::AggTimeDimension,
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
}

/// A measure has an agg time dimension (its own or the model's default), and its own names a
/// time dimension of the model.
fn measure_agg_time(sm: &SemanticModel, me: &Measure, c: &mut Ctx) {
    let steps = [Step::Key("measures"), Step::Name(&me.name)];
    match sm.agg_time_of(me) {
        None => c.at(sm, &steps, Code::AggTimeDimension,
            format!("measure `{}` has no agg time dimension", me.name),
            "set `defaults: {agg_time_dimension: <time dimension>}` on the semantic model or `agg_time_dimension` on the measure"),
        Some(at) if me.agg_time_dimension.is_some() => match sm.dimension(at) {
            Some(d) if d.kind == DimensionType::Time => {}
            _ => c.at(sm, &[Step::Key("measures"), Step::Name(&me.name), Step::Key("agg_time_dimension")],
                Code::AggTimeDimension,
                format!("agg time dimension `{at}` of measure `{}` is not a time dimension of `{}`", me.name, sm.name),
                did_you_mean(at, sm.dimensions.iter().filter(|d| d.kind == DimensionType::Time).map(|d| d.name.as_str()))
                    .unwrap_or_else(|| "name a dimension with `type: time`".into())),
        },
        _ => {}
    }
}

/// Aggregation parameters fit the measure's `agg`: a percentile between 0 and 1 for
/// `percentile`, none for `median` (beyond 0.5) and the other aggregations.
fn agg_params(sm: &SemanticModel, me: &Measure, c: &mut Ctx) {
    let steps = [Step::Key("measures"), Step::Name(&me.name)];
    let p = me.agg_params.as_ref();
    match me.agg {
        Agg::Percentile => match p.and_then(|p| p.percentile) {
            Some(q) if q > 0.0 && q < 1.0 => {}
            Some(q) => c.at(
                sm,
                &steps,
                Code::AggParams,
                format!(
                    "percentile {q} of measure `{}` is not between 0 and 1",
                    me.name
                ),
                "write e.g. `agg_params: {percentile: 0.9}`",
            ),
            None => c.at(
                sm,
                &steps,
                Code::AggParams,
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
            c.at(
                sm,
                &steps,
                Code::AggParams,
                format!(
                    "median measure `{}` cannot set percentile parameters",
                    me.name
                ),
                "use `agg: percentile` to choose the percentile",
            )
        }
        Agg::Median => {}
        _ if p.is_some() => c.at(
            sm,
            &steps,
            Code::AggParams,
            format!(
                "measure `{}` has `agg_params` but `agg: {}` takes none",
                me.name,
                me.agg.as_str()
            ),
            "`agg_params` is for `percentile` measures only",
        ),
        _ => {}
    }
}

/// A non-additive dimension is a time dimension of the model at the measure's agg time
/// granularity, and its window groupings are entities of the model.
fn non_additive_dimension(sm: &SemanticModel, me: &Measure, c: &mut Ctx) {
    if let Some(nad) = &me.non_additive_dimension {
        let nsteps = [
            Step::Key("measures"),
            Step::Name(&me.name),
            Step::Key("non_additive_dimension"),
        ];
        match sm.dimension(&nad.name) {
            Some(d) if d.kind == DimensionType::Time => {
                let agg_grain = sm
                    .agg_time_of(me)
                    .and_then(|a| sm.dimension(a))
                    .and_then(|d| d.grain());
                if let (Some(ag), Some(ng)) = (agg_grain, d.grain()) {
                    if ag != ng {
                        c.at(sm, &nsteps, Code::NonAdditiveDimension,
                            format!("non-additive dimension `{}` of measure `{}` is by {ng} but its agg time dimension is by {ag}", nad.name, me.name),
                            "use time dimensions of the same granularity");
                    }
                }
            }
            _ => c.at(
                sm,
                &nsteps,
                Code::NonAdditiveDimension,
                format!(
                    "non-additive dimension `{}` of measure `{}` is not a time dimension of `{}`",
                    nad.name, me.name, sm.name
                ),
                did_you_mean(
                    &nad.name,
                    sm.dimensions
                        .iter()
                        .filter(|d| d.kind == DimensionType::Time)
                        .map(|d| d.name.as_str()),
                )
                .unwrap_or_else(|| {
                    "name a dimension with `type: time` of the same semantic model".into()
                }),
            ),
        }
        for wg in &nad.window_groupings {
            if sm.entity(wg).is_none() {
                c.at(
                    sm,
                    &nsteps,
                    Code::NonAdditiveDimension,
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
