//! Checking one metric test definition before its SQL is made: which kind it is (a built-in
//! kind or a custom test macro), the arguments that kind takes, its test config, and a `last:`
//! window resolved against the run's start.
//!
//! Split from the data tests' `mod.rs` as the first steps of compiling a definition
//! ([`super::build`]): they read only the definition and the test macros, never the planner.

use serde_json::Value;

use super::{back_from, err, parse_lag, Declared, Target, TestMacro, COMMON, CONFIG_KEYS, KINDS};
use crate::compile::ResourceType;
use crate::diagnostics::Diagnostic;
use crate::project::config::str_list;

/// The custom test macro a definition's kind names (`name` or `package.name`; the project's own
/// macro wins over a package's); `None` for a built-in kind, and for an unknown one, which
/// [`check_arguments`] reports.
pub(super) fn custom_macro<'t>(d: &Declared, target: &Target<'t>) -> Option<&'t TestMacro> {
    if KINDS.iter().any(|(k, _)| *k == d.kind) {
        None
    } else {
        let (pkg, name) = match d.kind.split_once('.') {
            Some((p, n)) => (Some(p), n),
            None => (None, d.kind.as_str()),
        };
        let mut found: Vec<&TestMacro> = target
            .test_macros
            .iter()
            .filter(|m| m.for_metrics && m.name == name && pkg.is_none_or(|p| p == m.package))
            .collect();
        // The project's own macro wins over a package's, as dbt resolves names.
        found.sort_by_key(|m| m.package != target.package);
        found.first().copied()
    }
}

/// The kind is known (a built-in kind or `custom`) and takes every argument given.
pub(super) fn check_arguments(
    d: &Declared,
    target: &Target,
    custom: Option<&TestMacro>,
) -> Result<(), Diagnostic> {
    let custom_args: Vec<&str>;
    let allowed: &[&str] = match (KINDS.iter().find(|(k, _)| *k == d.kind), custom) {
        (Some((_, a)), _) => a,
        (None, Some(m)) => {
            custom_args = m.arguments.iter().map(String::as_str).collect();
            &custom_args
        }
        (None, None) if target.test_macros.iter().any(|m| m.name == d.kind) => {
            return Err(err(
                d,
                format!(
                    "`{}` on metric `{}` is a model test, not a metric test",
                    d.kind, d.metric.name
                ),
                format!("a metric test macro takes the metric query first: `{{% test {}(metric_query, metric_name, group_by, ...) %}}`", d.kind),
            ))
        }
        (None, None) => return Err(err(
            d,
            format!(
                "unknown metric test `{}` on metric `{}`",
                d.kind, d.metric.name
            ),
            crate::diagnostics::did_you_mean(
                &d.kind,
                KINDS
                    .iter()
                    .map(|(k, _)| *k)
                    .chain(
                        target
                            .test_macros
                            .iter()
                            .filter(|m| m.for_metrics)
                            .map(|m| m.name.as_str()),
                    ),
            )
            .unwrap_or_else(|| {
                format!(
                    "metric tests are {}, or a custom test macro `{{% test {}(metric_query, metric_name, group_by, ...) %}}`",
                    KINDS
                        .iter()
                        .map(|(k, _)| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    d.kind
                )
            }),
        )),
    };
    for k in d.args.keys() {
        if !allowed.contains(&k.as_str())
            && !COMMON.contains(&k.as_str())
            && !CONFIG_KEYS.contains(&k.as_str())
        {
            let mut known: Vec<&str> = allowed.to_vec();
            known.extend(COMMON);
            return Err(err(
                d,
                format!(
                    "metric test `{}` on metric `{}` has no argument `{k}`",
                    d.kind, d.metric.name
                ),
                crate::diagnostics::did_you_mean(k, known.iter().copied()).unwrap_or_else(|| {
                    format!(
                        "its arguments are {}",
                        known
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
            ));
        }
    }
    Ok(())
}

/// The test config (top-level keys, then `config:`, which wins) and its tags.
pub(super) fn config(
    d: &Declared,
) -> Result<(serde_json::Map<String, Value>, Vec<String>), Diagnostic> {
    // Config: top-level keys, then `config:` (which wins).
    let mut config = crate::compile::default_config(ResourceType::Test);
    for k in CONFIG_KEYS {
        if let Some(v) = d.args.get(*k) {
            config.insert((*k).to_string(), v.clone());
        }
    }
    match d.args.get("config") {
        Some(Value::Object(c)) => {
            for (k, v) in c {
                config.insert(k.clone(), v.clone());
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => {
            return Err(err(
                d,
                "`config` of a metric test must be a mapping",
                "e.g. config: {severity: warn}",
            ))
        }
    }
    if let Some(Value::String(s)) = config.get("severity").cloned() {
        if !s.eq_ignore_ascii_case("warn") && !s.eq_ignore_ascii_case("error") {
            return Err(err(
                d,
                format!("severity `{s}` of a metric test is neither `warn` nor `error`"),
                "severity: warn or severity: error",
            ));
        }
        config.insert("severity".into(), Value::String(s.to_ascii_uppercase()));
    }
    let tags = str_list(config.get("tags"));
    config.insert(
        "tags".into(),
        Value::Array(tags.iter().cloned().map(Value::String).collect()),
    );
    Ok((config, tags))
}

/// `last: 12 months`: the definition with a window ending at the run's start (`None` without
/// `last`); adds the window's name part.
pub(super) fn window<'a>(
    d: &Declared<'a>,
    target: &Target,
    name_parts: &mut Vec<String>,
) -> Result<Option<Declared<'a>>, Diagnostic> {
    let metric = d.metric.name.as_str();
    let v = match d.args.get("last") {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let Some((count, unit)) = v.as_str().and_then(parse_lag) else {
        return Err(err(
            d,
            format!(
                "`last` of metric test `{}` on metric `{metric}` must read like `12 months`, not `{}`",
                d.kind,
                v.as_str().map_or_else(|| v.to_string(), str::to_string)
            ),
            "last: <count> <day|week|month|quarter|year>s",
        ));
    };
    if d.args.contains_key("start_time") || d.args.contains_key("end_time") {
        return Err(err(
            d,
            format!(
                "metric test `{}` on metric `{metric}` has both `last` and `start_time`/`end_time`",
                d.kind
            ),
            "`last` is a window ending at the run's start: keep one of them",
        ));
    }
    if d.kind == "freshness" {
        return Err(err(
            d,
            "metric test `freshness` takes `max_lag`, not `last`",
            "e.g. max_lag: 2 days",
        ));
    }
    name_parts.push(format!("last_{count}_{}s", unit.as_str()));
    Ok(Some(Declared {
        metric: d.metric,
        file: d.file,
        owner: d.owner,
        index: d.index,
        kind: d.kind.clone(),
        args: d.args.clone(),
        window: Some((
            back_from(target.run_started_at, count, unit),
            target
                .run_started_at
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
        )),
    }))
}
