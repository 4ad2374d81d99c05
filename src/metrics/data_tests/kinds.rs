//! The SQL of each built-in metric test kind (`not_null`, `accepted_range`, `additive_over`,
//! `max_change`, `reconciles_with`, `freshness`): the metric query through the planner, wrapped
//! in an assertion that returns the failing rows.
//!
//! One function per kind; [`assertion`] only dispatches on the kind's name.
//!
//! Design decision: every assertion returns the same columns (the group-by items,
//! `metric_value`, `expected`, `violation`), so [`super::explain`] can describe a failing row of
//! any kind without knowing which kind produced it; the kind only words its `violation`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{
    back_from, err, join_on, models_of, num_sql, number, parse_lag, query, select_cols, slug,
    Declared, Target, REF_CALL,
};
use crate::diagnostics::Diagnostic;
use crate::metrics::model::{Grain, SemanticLayer};
use crate::metrics::ModelIndex;
use crate::sql::literal;

/// The assertion SQL of a built-in kind; adds its name parts and the models it reads.
pub(super) fn assertion(
    d: &Declared,
    layer: &SemanticLayer,
    index: &ModelIndex,
    target: &Target,
    group_by: &[String],
    name_parts: &mut Vec<String>,
    models: &mut BTreeSet<String>,
) -> Result<String, Diagnostic> {
    match d.kind.as_str() {
        "not_null" => not_null(d, layer, target, group_by),
        "accepted_range" => accepted_range(d, layer, target, group_by, name_parts),
        "additive_over" => additive_over(d, layer, target, group_by, name_parts),
        "max_change" => max_change(d, layer, target, group_by, name_parts),
        "reconciles_with" => reconciles_with(d, layer, index, target, group_by, name_parts, models),
        "freshness" => freshness(d, layer, target, name_parts),
        other => unreachable!("`{other}` is not a built-in kind: checked by the caller"),
    }
}

/// `not_null`: rows where the metric is null.
fn not_null(
    d: &Declared,
    layer: &SemanticLayer,
    target: &Target,
    group_by: &[String],
) -> Result<String, Diagnostic> {
    let metric = d.metric.name.as_str();
    let (q, cols) = query(d, layer, metric, group_by, target)?;
    let (groups, m) = cols.split_at(cols.len() - 1);
    Ok(format!(
        "select {}q.{m} as metric_value, null as expected, 'is null' as violation\nfrom (\n{q}\n) q\nwhere q.{m} is null",
        select_cols(target.dialect, groups, "q"),
        m = target.dialect.quote(&m[0]),
    ))
}

/// `accepted_range`: rows outside `min`..`max` (inclusive unless `inclusive: false`).
fn accepted_range(
    d: &Declared,
    layer: &SemanticLayer,
    target: &Target,
    group_by: &[String],
    name_parts: &mut Vec<String>,
) -> Result<String, Diagnostic> {
    let metric = d.metric.name.as_str();
    let min = number(d, "min")?;
    let max = number(d, "max")?;
    let inclusive = d
        .args
        .get("inclusive")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if min.is_none() && max.is_none() {
        return Err(err(
            d,
            format!(
                "metric test `accepted_range` on metric `{metric}` has neither `min` nor `max`"
            ),
            "give `min`, `max` or both, e.g. min: 0",
        ));
    }
    if let (Some(a), Some(b)) = (min, max) {
        if a > b {
            return Err(err(
                d,
                format!(
                    "metric test `accepted_range` on metric `{metric}` has min {} above max {}",
                    num_sql(a),
                    num_sql(b)
                ),
                "swap `min` and `max`",
            ));
        }
    }
    let (q, cols) = query(d, layer, metric, group_by, target)?;
    let (groups, m) = cols.split_at(cols.len() - 1);
    let m = format!("q.{}", target.dialect.quote(&m[0]));
    let (lo, hi) = if inclusive { ("<", ">") } else { ("<=", ">=") };
    let mut conds = Vec::new();
    let mut whens = Vec::new();
    let excl = if inclusive { "" } else { " (exclusive)" };
    if let Some(a) = min {
        conds.push(format!("{m} {lo} {}", num_sql(a)));
        whens.push(format!(
            "when {m} {lo} {} then {}",
            num_sql(a),
            literal(&format!("below min {}{excl}", num_sql(a)))
        ));
        name_parts.push(format!("min_{}", slug(&Value::String(num_sql(a)))));
    }
    if let Some(b) = max {
        conds.push(format!("{m} {hi} {}", num_sql(b)));
        whens.push(format!(
            "when {m} {hi} {} then {}",
            num_sql(b),
            literal(&format!("above max {}{excl}", num_sql(b)))
        ));
        name_parts.push(format!("max_{}", slug(&Value::String(num_sql(b)))));
    }
    Ok(format!(
        "select {}{m} as metric_value, null as expected, case {} end as violation\nfrom (\n{q}\n) q\nwhere {}",
        select_cols(target.dialect, groups, "q"),
        whens.join(" "),
        conds.join(" or "),
    ))
}

/// `additive_over`: groups whose sum over `dimension` differs from the total by more than
/// `tolerance`.
fn additive_over(
    d: &Declared,
    layer: &SemanticLayer,
    target: &Target,
    group_by: &[String],
    name_parts: &mut Vec<String>,
) -> Result<String, Diagnostic> {
    let metric = d.metric.name.as_str();
    let Some(dim) = d.args.get("dimension").and_then(Value::as_str) else {
        return Err(err(
            d,
            format!("metric test `additive_over` on metric `{metric}` needs a `dimension`"),
            "e.g. dimension: customer__segment",
        ));
    };
    if group_by.iter().any(|g| g == dim) {
        return Err(err(d, format!("metric test `additive_over` on metric `{metric}` groups by its own dimension `{dim}`"), "remove it from `group_by`"));
    }
    let tol = number(d, "tolerance")?.unwrap_or(0.0);
    name_parts.push(slug(&Value::String(dim.to_string())));
    let mut with_dim = group_by.to_vec();
    with_dim.push(dim.to_string());
    let (parts, pcols) = query(d, layer, metric, &with_dim, target)?;
    let (total, tcols) = query(d, layer, metric, group_by, target)?;
    let groups = &tcols[..tcols.len() - 1];
    let pm = target.dialect.quote(&pcols[pcols.len() - 1]);
    let tm = target.dialect.quote(&tcols[tcols.len() - 1]);
    let gl: String = groups
        .iter()
        .map(|c| format!("{}, ", target.dialect.quote(c)))
        .collect();
    let gb = if groups.is_empty() {
        String::new()
    } else {
        format!(
            "\n    group by {}",
            groups
                .iter()
                .map(|c| target.dialect.quote(c))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Ok(format!(
        "with parts as (\n{parts}\n), total as (\n{total}\n), summed as (\n    select {gl}sum({pm}) as metric_value from parts{gb}\n)\nselect {}s.metric_value, t.{tm} as expected, {} as violation\nfrom summed s\njoin total t on {}\nwhere abs(coalesce(s.metric_value, 0) - coalesce(t.{tm}, 0)) > {}",
        select_cols(target.dialect, groups, "s"),
        literal(&format!("sum over {dim} differs from the total")),
        join_on(target.dialect, groups, "s", "t"),
        num_sql(tol),
    ))
}

/// `max_change`: periods of `grain` whose value moved from the previous one by more than `max`
/// (absolute) or `max_percent`.
fn max_change(
    d: &Declared,
    layer: &SemanticLayer,
    target: &Target,
    group_by: &[String],
    name_parts: &mut Vec<String>,
) -> Result<String, Diagnostic> {
    let metric = d.metric.name.as_str();
    let Some(grain) = d.args.get("grain").and_then(Value::as_str) else {
        return Err(err(
            d,
            format!("metric test `max_change` on metric `{metric}` needs a `grain`"),
            "e.g. grain: month",
        ));
    };
    if Grain::parse_exact(grain).is_none() {
        return Err(err(
            d,
            format!("unknown grain `{grain}` in metric test `max_change` on metric `{metric}`"),
            "one of day, week, month, quarter, year",
        ));
    }
    let max = number(d, "max")?;
    let pct = number(d, "max_percent")?;
    let limit = match (max, pct) {
        (Some(a), None) => {
            name_parts.push(format!("{grain}_{}", slug(&Value::String(num_sql(a)))));
            (a, false)
        }
        (None, Some(p)) => {
            name_parts.push(format!("{grain}_{}_pct", slug(&Value::String(num_sql(p)))));
            (p, true)
        }
        _ => return Err(err(d, format!("metric test `max_change` on metric `{metric}` needs one of `max` (absolute) and `max_percent`"), "e.g. max_percent: 50")),
    };
    if limit.0 < 0.0 {
        return Err(err(
            d,
            "a `max_change` limit cannot be negative",
            "the change is compared in absolute value",
        ));
    }
    let time = format!("metric_time__{grain}");
    let others: Vec<String> = group_by.iter().filter(|g| **g != time).cloned().collect();
    let mut gb = vec![time.clone()];
    gb.extend(others.iter().cloned());
    let (q, cols) = query(d, layer, metric, &gb, target)?;
    let (groups, m) = cols.split_at(cols.len() - 1);
    let m = target.dialect.quote(&m[0]);
    let part = if groups.len() > 1 {
        format!(
            "partition by {} ",
            groups[1..]
                .iter()
                .map(|c| target.dialect.quote(c))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    let cond = if limit.1 {
        format!(
            "abs(c.metric_value - c.expected) > {} * abs(c.expected) / 100.0",
            num_sql(limit.0)
        )
    } else {
        format!("abs(c.metric_value - c.expected) > {}", num_sql(limit.0))
    };
    let what = if limit.1 {
        format!(
            "changed more than {}% from the previous {grain}",
            num_sql(limit.0)
        )
    } else {
        format!(
            "changed more than {} from the previous {grain}",
            num_sql(limit.0)
        )
    };
    Ok(format!(
        "with changes as (\n    select {}q.{m} as metric_value, lag(q.{m}) over ({part}order by q.{}) as expected\n    from (\n{q}\n    ) q\n)\nselect {}c.metric_value, c.expected, {} as violation\nfrom changes c\nwhere c.expected is not null and c.metric_value is not null and {cond}",
        select_cols(target.dialect, groups, "q"),
        target.dialect.quote(&groups[0]),
        select_cols(target.dialect, groups, "c"),
        literal(&what),
    ))
}

/// `reconciles_with`: groups where the metric differs from another `metric`, or from a SQL
/// `expression`, by more than `tolerance`; adds the models the other side reads.
fn reconciles_with(
    d: &Declared,
    layer: &SemanticLayer,
    index: &ModelIndex,
    target: &Target,
    group_by: &[String],
    name_parts: &mut Vec<String>,
    models: &mut BTreeSet<String>,
) -> Result<String, Diagnostic> {
    let metric = d.metric.name.as_str();
    let tol = number(d, "tolerance")?.unwrap_or(0.0);
    let (q, cols) = query(d, layer, metric, group_by, target)?;
    let (groups, m) = cols.split_at(cols.len() - 1);
    let m = target.dialect.quote(&m[0]);
    Ok(match (
        d.args.get("metric").and_then(Value::as_str),
        d.args.get("expression").and_then(Value::as_str),
    ) {
        (Some(other), None) => {
            let Some(om) = layer.metric(other) else {
                return Err(err(
                    d,
                    format!("metric test `reconciles_with` on metric `{metric}` names unknown metric `{other}`"),
                    crate::diagnostics::did_you_mean(other, layer.metrics.iter().map(|x| x.name.as_str()))
                        .unwrap_or_else(|| "see `sluice metrics list metrics`".into()),
                ));
            };
            models_of(layer, om, models, 0);
            name_parts.push(other.to_string());
            let (oq, ocols) = query(d, layer, other, group_by, target)?;
            let om = target.dialect.quote(&ocols[ocols.len() - 1]);
            let gl = groups.iter().map(|c| target.dialect.quote(c)).collect::<Vec<_>>().join(", ");
            let keys = if groups.is_empty() {
                "select 1 as one".to_string()
            } else {
                format!("select {gl} from a union select {gl} from b")
            };
            format!(
                "with a as (\n{q}\n), b as (\n{oq}\n), k as (\n    {keys}\n)\nselect {}a.{m} as metric_value, b.{om} as expected, {} as violation\nfrom k\nleft join a on {}\nleft join b on {}\nwhere a.{m} is null and b.{om} is not null or a.{m} is not null and b.{om} is null\n   or abs(a.{m} - b.{om}) > {}",
                select_cols(target.dialect, groups, "k"),
                literal(&format!("differs from metric {other} by more than {}", num_sql(tol))),
                join_on(target.dialect, groups, "k", "a"),
                join_on(target.dialect, groups, "k", "b"),
                num_sql(tol),
            )
        }
        (None, Some(expr)) => {
            for cap in REF_CALL.captures_iter(expr) {
                match index.nodes.get(&cap[1]) {
                    Some((id, ..)) => {
                        models.insert(id.clone());
                    }
                    None => {
                        return Err(err(
                            d,
                            format!("the expression of metric test `reconciles_with` on metric `{metric}` refers to unknown model `{}`", &cap[1]),
                            crate::diagnostics::did_you_mean(&cap[1], index.nodes.keys().map(String::as_str))
                                .unwrap_or_else(|| "ref() a model, seed or snapshot of the project".into()),
                        ))
                    }
                }
            }
            name_parts.push("expression".into());
            format!(
                "select {}q.{m} as metric_value, e.expected, {} as violation\nfrom (\n{q}\n) q\ncross join (select ({expr}) as expected) e\nwhere q.{m} is null and e.expected is not null or q.{m} is not null and e.expected is null\n   or abs(q.{m} - e.expected) > {}",
                select_cols(target.dialect, groups, "q"),
                literal(&format!("differs from the expression by more than {}", num_sql(tol))),
                num_sql(tol),
            )
        }
        _ => return Err(err(d, format!("metric test `reconciles_with` on metric `{metric}` needs exactly one of `metric` and `expression`"), "e.g. metric: arr_from_invoices, tolerance: 0.01")),
    })
}

/// `freshness`: a row when the latest `grain` period with data is older than `max_lag` before
/// the run's start.
fn freshness(
    d: &Declared,
    layer: &SemanticLayer,
    target: &Target,
    name_parts: &mut Vec<String>,
) -> Result<String, Diagnostic> {
    let metric = d.metric.name.as_str();
    let lag = d.args.get("max_lag").and_then(Value::as_str);
    let Some((count, unit)) = lag.and_then(parse_lag) else {
        return Err(err(
            d,
            format!("metric test `freshness` on metric `{metric}` needs `max_lag` like `3 days`"),
            "max_lag: <count> <day|week|month|quarter|year>",
        ));
    };
    name_parts.push(format!("{count}_{}", unit.as_str()));
    let grain = d.args.get("grain").and_then(Value::as_str).unwrap_or("day");
    if Grain::parse_exact(grain).is_none() {
        return Err(err(
            d,
            format!("unknown grain `{grain}` in metric test `freshness` on metric `{metric}`"),
            "one of day, week, month, quarter, year",
        ));
    }
    let time = format!("metric_time__{grain}");
    let (q, cols) = query(d, layer, metric, std::slice::from_ref(&time), target)?;
    let m = target.dialect.quote(&cols[cols.len() - 1]);
    let t = target.dialect.quote(&cols[0]);
    // Counted back from the run's start (not the database's clock), so every test of a
    // run uses the same instant and the compiled SQL shows it.
    let cutoff = format!(
        "cast({} as date)",
        literal(&back_from(target.run_started_at, count, unit))
    );
    Ok(format!(
        "select l.latest as metric_value, {cutoff} as expected, {} as violation\nfrom (\n    select max(q.{t}) as latest from (\n{q}\n    ) q where q.{m} is not null\n) l\nwhere l.latest is null or l.latest < {cutoff}",
        literal(&format!(
            "latest {time} with data is older than {count} {}{}",
            unit.as_str(),
            if count == 1 { "" } else { "s" }
        )),
    ))
}
