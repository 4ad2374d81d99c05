//! `sluice metrics list` (metrics, dimensions, entities, saved queries, as a table or JSON) and
//! `sluice metrics dimension-values` (a dimension's values, read through a metric's joins).

use super::*;
use crate::diagnostics::Code;

pub(super) fn list(
    g: &GlobalArgs,
    layer: &SemanticLayer,
    what: ListWhat,
    only: &[String],
) -> CmdResult {
    let resolver = plan::Resolver::new(layer);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let header: Vec<&str>;
    // Semantic models the chosen metrics read (all when none chosen).
    let models: Vec<&metrics::SemanticModel> = if only.is_empty() {
        layer.semantic_models.iter().collect()
    } else {
        let mut v = Vec::new();
        for name in only {
            let Some(m) = layer.metric(name) else {
                return Err(vec![Diagnostic::error(
                    Code::MetricQuery,
                    format!("unknown metric `{name}`"),
                )
                .with_hint(
                    crate::diagnostics::did_you_mean(
                        name,
                        layer.metrics.iter().map(|m| m.name.as_str()),
                    )
                    .unwrap_or_else(|| "see `sluice metrics list metrics`".into()),
                )]);
            };
            for (sm, _) in measures_of(layer, m) {
                if !v
                    .iter()
                    .any(|x: &&metrics::SemanticModel| x.name == sm.name)
                {
                    v.push(sm);
                }
            }
        }
        v
    };
    match what {
        ListWhat::Metrics => {
            header = vec!["metric", "type", "label", "dimensions"];
            for m in &layer.metrics {
                let dims: Vec<String> = {
                    let mut sets: Option<Vec<String>> = None;
                    for (sm, _) in measures_of(layer, m) {
                        let items = resolver.group_by_items(sm);
                        sets = Some(match sets {
                            None => items,
                            Some(prev) => prev.into_iter().filter(|i| items.contains(i)).collect(),
                        });
                    }
                    sets.unwrap_or_default()
                };
                let shown = if dims.len() > 4 {
                    format!("{} and {} more", dims[..4].join(", "), dims.len() - 4)
                } else {
                    dims.join(", ")
                };
                rows.push(vec![
                    m.name.clone(),
                    m.kind.as_str().into(),
                    m.label.clone().unwrap_or_default(),
                    shown,
                ]);
            }
        }
        ListWhat::Dimensions => {
            header = vec!["dimension", "type", "semantic model"];
            let mut seen = std::collections::BTreeMap::new();
            for sm in &models {
                for item in resolver.group_by_items(sm) {
                    let spec = plan::Spec::parse(&item).ok();
                    let (kind, owner) = match &spec {
                        Some(s) if s.kind == plan::SpecKind::MetricTime => {
                            ("time".to_string(), String::new())
                        }
                        Some(s) if s.kind == plan::SpecKind::Dimension => {
                            let owner = resolver.dimension_of(s, sm);
                            let kind = owner
                                .map(|(_, d)| match d.kind {
                                    metrics::DimensionType::Time => format!(
                                        "time ({})",
                                        d.grain().map_or("day", |g| g.as_str())
                                    ),
                                    metrics::DimensionType::Categorical => "categorical".into(),
                                })
                                .unwrap_or_default();
                            (kind, owner.map(|(m, _)| m.name.clone()).unwrap_or_default())
                        }
                        _ => continue,
                    };
                    seen.entry(item).or_insert((kind, owner));
                }
            }
            for (k, (t, o)) in seen {
                rows.push(vec![k, t, o]);
            }
        }
        ListWhat::Entities => {
            header = vec!["entity", "type", "semantic model"];
            for sm in &models {
                for e in &sm.entities {
                    rows.push(vec![
                        e.name.clone(),
                        e.kind.as_str().into(),
                        sm.name.clone(),
                    ]);
                }
            }
            rows.sort();
        }
        ListWhat::SavedQueries => {
            header = vec!["saved query", "metrics", "group by", "exports"];
            for q in &layer.saved_queries {
                rows.push(vec![
                    q.name.clone(),
                    q.query_params.metrics.join(", "),
                    q.query_params.group_by.join(", "),
                    q.exports
                        .iter()
                        .map(|e| e.name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                ]);
            }
        }
    }
    if g.log_format == LogFormat::Json {
        let items: Vec<Value> = rows
            .iter()
            .map(|r| {
                Value::Object(
                    header
                        .iter()
                        .map(|h| h.to_string())
                        .zip(r.iter().map(|c| Value::String(c.clone())))
                        .collect(),
                )
            })
            .collect();
        println!("{}", Value::Array(items));
        return Ok(Outcome::Ok);
    }
    let cols: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let vals: Vec<Vec<Value>> = rows
        .into_iter()
        .map(|r| r.into_iter().map(Value::String).collect())
        .collect();
    print!("{}", crate::cli::commands::render_table(&cols, &vals));
    Ok(Outcome::Ok)
}

fn measures_of<'a>(
    layer: &'a SemanticLayer,
    m: &metrics::Metric,
) -> Vec<(&'a metrics::SemanticModel, &'a metrics::Measure)> {
    fn go<'a>(
        layer: &'a SemanticLayer,
        m: &metrics::Metric,
        out: &mut Vec<(&'a metrics::SemanticModel, &'a metrics::Measure)>,
        depth: usize,
    ) {
        if depth > 20 {
            return;
        }
        if let Some(mi) = &m.type_params.measure {
            out.extend(layer.measure(&mi.name));
        }
        for i in m.input_metrics() {
            if let Some(c) = layer.metric(&i.name) {
                go(layer, c, out, depth + 1);
            }
        }
    }
    let mut out = Vec::new();
    go(layer, m, &mut out, 0);
    out
}

pub(super) fn dimension_values(
    g: &GlobalArgs,
    s: &Ctx,
    layer: &SemanticLayer,
    dimension: &str,
    metric_names: &[String],
) -> CmdResult {
    // The values of a dimension are the group-by values of a metric query by that dimension.
    let metric = match metric_names.first() {
        Some(m) => m.clone(),
        None => {
            let spec = plan::Spec::parse(dimension).map_err(plan_error)?;
            layer
                .metrics
                .iter()
                .find(|m| {
                    measures_of(layer, m)
                        .iter()
                        .all(|(sm, me)| plan::Resolver::new(layer).complete(&spec, sm, me).is_ok())
                        && !measures_of(layer, m).is_empty()
                        && matches!(m.kind, metrics::MetricType::Simple)
                })
                .map(|m| m.name.clone())
                .ok_or_else(|| {
                    vec![Diagnostic::error(
                        Code::MetricQuery,
                        format!("no metric can be grouped by `{dimension}`"),
                    )
                    .with_hint("pass --metrics NAME, or see `sluice metrics list dimensions`")]
                })?
        }
    };
    let q = MetricQuery {
        metrics: vec![metric],
        group_by: vec![dimension.to_string()],
        ..Default::default()
    };
    let p = plan::plan(layer, &q, dialect(s)?).map_err(plan_error)?;
    let col = p.columns[0].clone();
    let sql = format!(
        "select distinct {c} from (\n{}\n) as v order by {c}",
        p.sql,
        c = crate::sql::quote(&col)
    );
    let mut conn = connect(s)?;
    let r = conn.query(&sql).map_err(|e| {
        vec![Diagnostic::error(
            Code::Sql,
            format!("query failed: {}", s.target.scrub(&e.to_string())),
        )]
    })?;
    let mut out = std::io::stdout().lock();
    for row in &r.rows {
        let v = row.first().map(cell).unwrap_or_default();
        if g.log_format == LogFormat::Json {
            let _ = writeln!(out, "{}", serde_json::json!({ col.clone(): row.first() }));
        } else {
            let _ = writeln!(out, "{v}");
        }
    }
    Ok(Outcome::Ok)
}
