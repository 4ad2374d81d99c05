//! Microbatch incremental models (`incremental_strategy='microbatch'`), as dbt 1.9+ builds them:
//! the model runs once per batch of `batch_size` (hour, day, month, year) of its `event_time`,
//! each batch compiled with its parents that have an `event_time` limited to the batch's window,
//! and each batch replacing that window's rows in the table.
//!
//! Which batches (dbt's `MicrobatchBuilder`): the end is the clock (or `--event-time-end`, or
//! `SLUICE_MICROBATCH_END_TIME` for reproducible runs) rounded up to the batch size; the start is
//! `--event-time-start` if given, else on a first build (or `--full-refresh`) the model's
//! `begin`, else the end less `lookback` batches (default 1), one more when the end is on a batch
//! boundary. The first batch of a first build creates the table; every other batch deletes its
//! window (`event_time >= start and event_time < end`) and inserts the batch's rows, in one
//! transaction. Pre-hooks run before the first batch, post-hooks after the last.

use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};

use super::materialize;
use super::node::{flush_logs, run_hooks_for, with_conn, write_compiled};
use super::warehouse::ConnWarehouse;
use super::worker::{NodeOutcome, Shared};
use super::RunStatus;
use crate::compile::{compile_node_blaming, CompileServices, Materialization, Node, Warehouse};

/// Builds a microbatch model: one compile and one build per batch.
pub(super) fn run(shared: &Shared, node: &Node, wh: &Arc<ConnWarehouse>) -> NodeOutcome {
    let fail = |m: String| {
        NodeOutcome::error(
            format!(
                "Compilation Error in model {} ({})\n  Microbatch model '{}' {m}",
                node.name, node.original_file_path, node.name
            ),
            None,
        )
    };
    let Some(size) = node.config_str("batch_size").and_then(BatchSize::parse) else {
        return fail("does not have a 'batch_size' config (one of ['hour', 'day', 'month', 'year']) specificed.".into());
    };
    let Some(column) = node.config_str("event_time").map(str::to_string) else {
        return fail("requires an 'event_time' configuration.".into());
    };
    let begin = match node.config.get("begin") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => match v.as_str().and_then(parse_time) {
            Some(t) => Some(t),
            None => {
                return fail(format!(
                    "has a 'begin' config that is not a date or timestamp: {v}"
                ))
            }
        },
    };
    let lookback = node
        .config
        .get("lookback")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(1) as i32;
    let rel = node.relation();
    let full_refresh = node
        .config_bool("full_refresh")
        .unwrap_or(shared.full_refresh);
    let exists = match with_conn(wh, |c| c.relation_kind(&rel)) {
        Ok(Ok(k)) => k.is_some(),
        Ok(Err(e)) => return NodeOutcome::error(e.to_string(), None),
        Err(e) => return NodeOutcome::error(e, None),
    };
    let incremental = exists && !full_refresh;
    let now = std::env::var("SLUICE_MICROBATCH_END_TIME")
        .ok()
        .and_then(|s| parse_time(&s))
        .unwrap_or_else(|| chrono::Utc::now().naive_utc());
    let end = ceiling(shared.event_time.1.unwrap_or(now), size);
    let start = match start_time(end, size, incremental, shared.event_time.0, begin, lookback) {
        Ok(s) => s,
        Err(m) => return fail(m),
    };
    let batches = batches(start, end, size);
    if let Err(e) = run_hooks_for(shared, node, wh, "pre-hook") {
        return NodeOutcome::error(e, None);
    }
    let mut last_sql = String::new();
    let mut message = String::from("OK");
    for (i, (from, to)) in batches.iter().enumerate() {
        let (from, to) = (bound(*from), bound(*to));
        let svc = Arc::new(
            CompileServices::new(
                shared.resolver.clone(),
                Some(wh.clone() as Arc<dyn Warehouse>),
                full_refresh && i == 0,
                shared.dialect,
            )
            .with_empty(shared.empty)
            .with_batch(from.clone(), to.clone()),
        );
        let sql = match compile_node_blaming(
            &shared.manifest,
            &node.unique_id,
            &shared.templates,
            svc.clone(),
            true,
        ) {
            Ok(s) => s,
            Err((_, d)) => return NodeOutcome::error(d.to_string(), None),
        };
        flush_logs(shared, &svc);
        let condition = format!("{column} >= '{from}' and {column} < '{to}'");
        let first_build = i == 0 && !incremental;
        let res = with_conn(wh, |c| {
            materialize::ensure_schema(c, &rel.database, &rel.schema)?;
            if first_build {
                let spec = materialize::BuildSpec::plain(
                    &rel,
                    Materialization::Table,
                    &sql,
                    &shared.rebuilt,
                );
                materialize::build(c, &spec)
            } else {
                materialize::replace_window(c, &rel, &sql, &condition)
            }
        });
        match res {
            Ok(Ok(o)) => message = o.message,
            Ok(Err(e)) => {
                return NodeOutcome::error(
                    format!(
                        "{} in model {} ({})\n  batch {from} to {to}: {e}",
                        e.dbt_kind(),
                        node.name,
                        node.original_file_path
                    ),
                    Some(sql),
                )
            }
            Err(e) => return NodeOutcome::error(e, Some(sql)),
        }
        last_sql = sql;
    }
    write_compiled(shared, node, &last_sql);
    if let Err(e) = run_hooks_for(shared, node, wh, "post-hook") {
        return NodeOutcome::error(e, Some(last_sql));
    }
    NodeOutcome {
        status: RunStatus::Success,
        message,
        failures: None,
        compiled_code: Some(last_sql),
        detail: None,
        rows_affected: None,
    }
}

/// A model's `batch_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchSize {
    Hour,
    Day,
    Month,
    Year,
}

impl BatchSize {
    pub(crate) fn parse(s: &str) -> Option<BatchSize> {
        match s {
            "hour" => Some(BatchSize::Hour),
            "day" => Some(BatchSize::Day),
            "month" => Some(BatchSize::Month),
            "year" => Some(BatchSize::Year),
            _ => None,
        }
    }
}

/// `t` cut down to the start of its batch.
pub(crate) fn truncate(t: NaiveDateTime, size: BatchSize) -> NaiveDateTime {
    let d = t.date();
    let date = match size {
        BatchSize::Hour | BatchSize::Day => d,
        BatchSize::Month => NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d),
        BatchSize::Year => NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d),
    };
    let hour = if size == BatchSize::Hour { t.hour() } else { 0 };
    date.and_hms_opt(hour, 0, 0).unwrap_or(t)
}

/// The start of the batch `offset` batches from `t`'s (dbt's `offset_timestamp`).
pub(crate) fn offset(t: NaiveDateTime, size: BatchSize, offset: i32) -> NaiveDateTime {
    let start = truncate(t, size);
    match size {
        BatchSize::Hour => start + Duration::hours(offset.into()),
        BatchSize::Day => start + Duration::days(offset.into()),
        BatchSize::Month => {
            let months = start.year() * 12 + start.month0() as i32 + offset;
            NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .unwrap_or(start)
        }
        BatchSize::Year => NaiveDate::from_ymd_opt(start.year() + offset, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or(start),
    }
}

/// `t` rounded up to a batch boundary (dbt's `ceiling_timestamp`).
pub(crate) fn ceiling(t: NaiveDateTime, size: BatchSize) -> NaiveDateTime {
    let start = truncate(t, size);
    if start == t {
        t
    } else {
        offset(t, size, 1)
    }
}

/// The first batch's start (dbt's `build_start_time`, with the end as the checkpoint).
pub(crate) fn start_time(
    end: NaiveDateTime,
    size: BatchSize,
    incremental: bool,
    event_time_start: Option<NaiveDateTime>,
    begin: Option<NaiveDateTime>,
    lookback: i32,
) -> Result<NaiveDateTime, String> {
    if let Some(s) = event_time_start {
        return Ok(truncate(s, size));
    }
    if !incremental {
        return begin
            .map(|b| truncate(b, size))
            .ok_or_else(|| "requires a 'begin' configuration".to_string());
    }
    let lookback = if end == truncate(end, size) {
        lookback + 1
    } else {
        lookback
    };
    Ok(offset(end, size, -lookback))
}

/// The batches `[start, end)` from `start` to `end`, the last one ending at `end`.
pub(crate) fn batches(
    start: NaiveDateTime,
    end: NaiveDateTime,
    size: BatchSize,
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let mut out = vec![(start, offset(start, size, 1))];
    while out.last().is_some_and(|b| b.1 < end) {
        let from = out.last().expect("one batch").1;
        out.push((from, offset(from, size, 1)));
    }
    if let Some(last) = out.last_mut() {
        last.1 = end;
    }
    out
}

/// A timestamp as dbt prints a batch bound in SQL (`2020-01-01 00:00:00+00:00`).
pub(crate) fn bound(t: NaiveDateTime) -> String {
    format!("{}+00:00", t.format("%Y-%m-%d %H:%M:%S"))
}

/// A `begin`, `--event-time-*` or clock value: a date, or a timestamp with an optional `T`,
/// fraction and UTC offset (taken as UTC).
pub(crate) fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    let s = s
        .strip_suffix("+00:00")
        .or_else(|| s.strip_suffix('Z'))
        .unwrap_or(s);
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        parse_time(s).unwrap()
    }

    #[test]
    fn offsets_and_ceilings_follow_dbts_examples() {
        let x = t("2024-09-17 16:06:00");
        assert_eq!(offset(x, BatchSize::Hour, -1), t("2024-09-17 15:00:00"));
        assert_eq!(offset(x, BatchSize::Day, 1), t("2024-09-18 00:00:00"));
        assert_eq!(offset(x, BatchSize::Month, -1), t("2024-08-01 00:00:00"));
        assert_eq!(offset(x, BatchSize::Month, 4), t("2025-01-01 00:00:00"));
        assert_eq!(offset(x, BatchSize::Year, 1), t("2025-01-01 00:00:00"));
        assert_eq!(ceiling(x, BatchSize::Day), t("2024-09-18"));
        assert_eq!(ceiling(t("2024-09-18"), BatchSize::Day), t("2024-09-18"));
    }

    #[test]
    fn batches_of_a_first_and_of_a_later_run() {
        let end = ceiling(t("2020-01-03 13:57:00"), BatchSize::Day);
        let begin = Some(t("2020-01-01"));
        let first = start_time(end, BatchSize::Day, false, None, begin, 1).unwrap();
        let b = batches(first, end, BatchSize::Day);
        assert_eq!(b.len(), 3);
        assert_eq!((b[0].0, b[2].1), (t("2020-01-01"), t("2020-01-04")));
        // Later: the end is on a boundary, so the lookback of one reaches two batches back.
        let later = start_time(end, BatchSize::Day, true, None, begin, 1).unwrap();
        assert_eq!(batches(later, end, BatchSize::Day).len(), 2);
        assert!(start_time(end, BatchSize::Day, false, None, None, 1).is_err());
    }
}
