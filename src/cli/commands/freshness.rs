//! `sluice source freshness`: how old the newest row of each source with a `freshness:` rule is,
//! judged against its `warn_after` / `error_after`, written to `sources.json` (schema v3), as dbt
//! 1.10 does it.
//!
//! Per selected source that has a rule (`warn_after` or `error_after` with `count` and `period`):
//! `select max(<loaded_at_field>) as max_loaded_at, current_timestamp as snapshotted_at from
//! <source> [where <filter>]` (dbt's `collect_freshness`), or the source's `loaded_at_query` as
//! dbt's `collect_freshness_custom_sql` wraps it; the age is `snapshotted_at -
//! max_loaded_at` (a naive timestamp counts as UTC; an empty table is infinitely old). `error`
//! when older than `error_after`, else `warn` when older than `warn_after`, else `pass`; a
//! query that fails, or a source with no `loaded_at_field` (neither DuckDB nor PostgreSQL has
//! metadata-based freshness), is a `runtime error`: printed, and left out of `sources.json`, as
//! dbt leaves it out. Exit code 1 when a source is `error` or `runtime error`; warnings keep 0.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::adapters::Adapter;
use crate::cli::args::SelectArgs;
use crate::cli::session;
use crate::cli::{GlobalArgs, Outcome};
use crate::compile::ResourceType;
use crate::diagnostics::{Code, Diagnostic};
use crate::execute::{fancy_line, Event};

use super::{reporter, warn_unmatched, CmdResult};

/// dbt's freshness statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pass,
    Warn,
    Error,
    RuntimeError,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Error => "error",
            Status::RuntimeError => "runtime error",
        }
    }
}

pub(super) fn freshness(g: &GlobalArgs, sel: &SelectArgs, output: Option<&str>) -> CmdResult {
    let t0 = std::time::Instant::now();
    let s = session::load_for(g, "freshness", false, false)?;
    let rep = reporter(g);
    let ids = s
        .select(&sel.selection(), Some(&[ResourceType::Source]))
        .map_err(|d| vec![d])?;
    warn_unmatched(g, &s, sel, rep.as_ref())?;
    let sources: Vec<&crate::compile::Node> = ids
        .iter()
        .filter_map(|id| s.manifest().sources.get(id))
        .filter(|n| n.source.as_ref().is_some_and(|i| has_rule(&i.freshness)))
        .collect();
    let adapter = Adapter::connect(&s.target).map_err(|e| vec![e.to_diagnostic(&s.target)])?;
    let mut conn = adapter
        .connection()
        .map_err(|e| vec![e.to_diagnostic(&s.target)])?;
    rep.event(&Event::Info(format!(
        "Concurrency: {} threads (target='{}')",
        s.target.threads, s.target.target_name
    )));
    rep.event(&Event::Info(String::new()));
    let total = sources.len();
    let mut results = Vec::new();
    let mut failures = Vec::new();
    let mut runtime_errors = 0;
    for (i, node) in sources.iter().enumerate() {
        let info = node.source.as_ref().expect("filtered on source info");
        let what = format!("freshness of {}.{}", info.source_name, node.name);
        rep.event(&Event::Info(fancy_line(
            &format!("{} of {total} START {what}", i + 1),
            "RUN",
        )));
        let started = Utc::now();
        let t = std::time::Instant::now();
        let measured = measure(conn.as_mut(), node, info, &s.target.adapter_type);
        let seconds = t.elapsed().as_secs_f64();
        let timing = json!([{"name": "execute", "started_at": crate::artifacts::format_ts(&started), "completed_at": crate::artifacts::format_ts(&Utc::now())}]);
        let status = match &measured {
            Ok((max_loaded_at, snapshotted_at)) => {
                let age = (*snapshotted_at - *max_loaded_at).num_milliseconds() as f64 / 1000.0;
                let status = judge(&info.freshness, age);
                results.push(json!({
                    "unique_id": node.unique_id,
                    "max_loaded_at": iso(max_loaded_at),
                    "snapshotted_at": iso(snapshotted_at),
                    "max_loaded_at_time_ago_in_s": age,
                    "status": status.as_str(),
                    "criteria": criteria(&info.freshness),
                    "adapter_response": {},
                    "timing": timing,
                    "thread_id": "Thread-1",
                    "execution_time": seconds,
                }));
                status
            }
            Err(message) => {
                // dbt prints it and fails, but leaves it out of sources.json (its artifact keeps
                // only the sources whose freshness was measured).
                runtime_errors += 1;
                failures.push(format!(
                    "Runtime Error in source {} ({})\n  {message}",
                    node.name, node.original_file_path
                ));
                Status::RuntimeError
            }
        };
        let word = match status {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Error => "ERROR STALE",
            Status::RuntimeError => "ERROR",
        };
        let line = fancy_line(
            &format!("{} of {total} {word} {what}", i + 1),
            &format!("{word} in {seconds:.2}s"),
        );
        rep.event(&Event::Info(line));
    }
    let elapsed = t0.elapsed().as_secs_f64();
    rep.event(&Event::Info(String::new()));
    rep.event(&Event::Info(format!(
        "Finished running {total} source{} in {elapsed:.2}s.",
        if total == 1 { "" } else { "s" }
    )));
    for f in &failures {
        rep.event(&Event::Problem {
            text: f.clone(),
            tone: crate::execute::Tone::Bad,
            header: true,
        });
    }
    rep.event(&Event::Info("Done.".into()));
    if g.settings.write_json {
        let started = s.started_at;
        let artifact = json!({
            "metadata": {
                "dbt_schema_version": "https://schemas.getdbt.com/dbt/sources/v3.json",
                "dbt_version": crate::artifacts::DBT_VERSION,
                "generated_at": crate::artifacts::format_ts(&Utc::now()),
                "invocation_id": s.invocation_id,
                "invocation_started_at": crate::artifacts::format_ts(&started),
                "env": crate::artifacts::metadata_env(),
            },
            "results": results,
            "elapsed_time": elapsed,
        });
        let path = match output {
            Some(p) => std::path::PathBuf::from(p),
            None => s.target_path.join("sources.json"),
        };
        crate::artifacts::write_json(&path, &artifact).map_err(|e| {
            vec![Diagnostic::error(
                Code::Io,
                format!("cannot write `{}`: {e}", path.display()),
            )]
        })?;
    }
    let stale = runtime_errors > 0
        || results
            .iter()
            .any(|r| r.get("status").and_then(Value::as_str) == Some("error"));
    Ok(if stale { Outcome::Failed } else { Outcome::Ok })
}

/// A rule with a threshold (dbt's `FreshnessThreshold.__bool__`).
fn has_rule(freshness: &Value) -> bool {
    ["warn_after", "error_after"]
        .iter()
        .any(|k| threshold_seconds(freshness.get(*k)).is_some())
}

/// `{count, period}` in seconds, when both are set.
fn threshold_seconds(t: Option<&Value>) -> Option<f64> {
    let t = t?;
    let count = t.get("count").and_then(Value::as_f64)?;
    let unit = match t.get("period").and_then(Value::as_str)? {
        "minute" => 60.0,
        "hour" => 3600.0,
        "day" => 86400.0,
        _ => return None,
    };
    Some(count * unit)
}

fn judge(freshness: &Value, age: f64) -> Status {
    let exceeded = |k: &str| threshold_seconds(freshness.get(k)).is_some_and(|limit| age > limit);
    if exceeded("error_after") {
        Status::Error
    } else if exceeded("warn_after") {
        Status::Warn
    } else {
        Status::Pass
    }
}

/// The rule as `sources.json` records it.
fn criteria(freshness: &Value) -> Value {
    let time = |k: &str| match freshness.get(k) {
        Some(t) if !t.is_null() => json!({"count": t.get("count"), "period": t.get("period")}),
        _ => json!({"count": null, "period": null}),
    };
    json!({
        "warn_after": time("warn_after"),
        "error_after": time("error_after"),
        "filter": freshness.get("filter").cloned().unwrap_or(Value::Null),
    })
}

/// Runs dbt's `collect_freshness` query: the newest `loaded_at_field` and the warehouse's clock.
fn measure(
    conn: &mut dyn crate::adapters::Connection,
    node: &crate::compile::Node,
    info: &crate::compile::SourceInfo,
    adapter_type: &str,
) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let (sql, field) = if let Some(query) = &info.loaded_at_query {
        // dbt's `collect_freshness_custom_sql`: the query's one value is the newest load.
        let sql = format!(
            "with source_query as (\n  {query}\n)\nselect\n  (select * from source_query) as max_loaded_at,\n  current_timestamp as snapshotted_at"
        );
        (sql, "loaded_at_query".to_string())
    } else if let Some(field) = &info.loaded_at_field {
        let d = conn.dialect();
        let mut sql = format!(
            "select\n  max({field}) as max_loaded_at,\n  current_timestamp as snapshotted_at\nfrom {}",
            d.rel(&node.relation())
        );
        if let Some(filter) = info.freshness.get("filter").and_then(Value::as_str) {
            sql.push_str(&format!("\nwhere {filter}"));
        }
        (sql, format!("max({field})"))
    } else {
        return Err(format!(
            "Could not compute freshness for source {}: no 'loaded_at_field' provided and {} adapter does not support metadata-based freshness checks.",
            node.name, adapter_type
        ));
    };
    let t = conn
        .query(&sql)
        .map_err(|e| format!("Database Error\n  {e}"))?;
    let row = t
        .rows
        .first()
        .ok_or("the freshness query returned no row")?;
    let cell = |i: usize| row.get(i).cloned().unwrap_or(Value::Null);
    // An empty table (or only nulls) is infinitely old, as dbt reads it: loaded at
    // 0001-01-01T00:00:00Z (Python's `datetime.min`), which also sets its age.
    let max_loaded_at = match cell(0) {
        Value::Null => infinitely_old(),
        v => parse_time(&v).ok_or_else(|| format!("`{field}` is not a timestamp: {v}"))?,
    };
    let snapshotted_at =
        parse_time(&cell(1)).ok_or("the warehouse's current_timestamp could not be read")?;
    Ok((max_loaded_at, snapshotted_at))
}

/// A timestamp cell of the freshness query, in UTC.
fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    crate::execute::parse_utc_time(v.as_str()?).map(|t| t.and_utc())
}

/// dbt's time of an empty source's newest row: `datetime(1, 1, 1, tzinfo=UTC)`.
fn infinitely_old() -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("0001-01-01 is a date")
        .and_utc()
}

/// Python's `datetime.isoformat()` of a UTC time, as dbt writes these fields.
fn iso(t: &DateTime<Utc>) -> String {
    let micros = t.timestamp_subsec_micros();
    if micros == 0 {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_as_the_engines_print_them() {
        let t = |s: &str| parse_time(&json!(s)).map(|t| iso(&t));
        assert_eq!(
            t("2024-01-02 03:04:05+00").as_deref(),
            Some("2024-01-02T03:04:05+00:00")
        );
        assert_eq!(
            t("2024-01-02 03:04:05.5+02").as_deref(),
            Some("2024-01-02T01:04:05.500000+00:00")
        );
        assert_eq!(
            t("2024-01-02T03:04:05").as_deref(),
            Some("2024-01-02T03:04:05+00:00")
        );
        assert_eq!(
            t("2024-01-02").as_deref(),
            Some("2024-01-02T00:00:00+00:00")
        );
        assert_eq!(t("soon"), None);
        // An empty table: dbt's `datetime.min`, and an age counted from it (about 63.9e9 s).
        assert_eq!(iso(&infinitely_old()), "0001-01-01T00:00:00+00:00");
        let now = parse_time(&json!("2025-01-01 00:00:00")).unwrap();
        assert_eq!((now - infinitely_old()).num_seconds(), 63_871_286_400);
    }

    #[test]
    fn rules_judge_the_age_as_dbt() {
        let rule = json!({"warn_after": {"count": 1, "period": "hour"}, "error_after": {"count": 1, "period": "day"}});
        assert_eq!(judge(&rule, 60.0), Status::Pass);
        assert_eq!(judge(&rule, 3601.0), Status::Warn);
        assert_eq!(judge(&rule, 86401.0), Status::Error);
        assert!(has_rule(&rule));
        assert!(!has_rule(
            &json!({"warn_after": {"count": null, "period": null}})
        ));
    }
}
