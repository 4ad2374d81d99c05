//! Name resolution for the planner: which semantic model a group-by item or filter reference
//! is read from for a given measure, through which chain of entity joins, and with which
//! expression and grain ([`Resolver`]). The validator uses the same resolver, so a filter that
//! validates is one the planner can render.
//!
//! Design decision: a join path is searched hop by hop from the measure's model and a hop is
//! taken only onto a model where the entity is primary, unique or natural ([`fan_out`] refuses
//! the others): resolution itself guarantees that no join the planner writes can duplicate rows.

use super::{PResult, PlanError, Spec, SpecKind};
use crate::metrics::model::*;

/// Where a group-by item's value comes from, for one measure.
#[derive(Debug, Clone)]
pub(super) struct Source {
    /// `None`: an expression over the measure's own model; else the joined model it is read from.
    pub(super) join: Option<JoinKey>,
    /// The expression, in the model it belongs to.
    pub(super) expr: String,
    /// Time items: truncate the value to this grain.
    pub(super) grain: Option<Grain>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct JoinKey {
    /// (entity, semantic model) per hop.
    pub(super) path: Vec<(String, String)>,
}

/// Resolves names against the semantic layer.
pub(crate) struct Resolver<'a> {
    pub(crate) layer: &'a SemanticLayer,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(layer: &'a SemanticLayer) -> Self {
        Resolver { layer }
    }

    /// Fills in the default grain of a time item (metric_time: the measure's agg time grain).
    pub(crate) fn complete(
        &self,
        spec: &Spec,
        sm: &SemanticModel,
        measure: &Measure,
    ) -> PResult<Spec> {
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
    pub(crate) fn dimension_of<'s>(
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
    pub(crate) fn group_by_items(&self, sm: &SemanticModel) -> Vec<String> {
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

    pub(super) fn source(
        &self,
        s: &Spec,
        sm: &SemanticModel,
        measure: &Measure,
    ) -> PResult<Source> {
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
