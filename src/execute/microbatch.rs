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

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};

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

/// A timestamp as engines, configs and flags write it, in UTC: a date, or a timestamp with an
/// optional `T`, fraction and UTC offset (`+00`, `+02:00`, `Z`); a naive one counts as UTC, as
/// dbt's `_utc` takes it. (A `begin`, `--event-time-*`, the clock, a freshness query's values.)
pub(crate) fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    let s = s.strip_suffix('Z').unwrap_or(s);
    // `+02` (as PostgreSQL and DuckDB print an offset) is `+02:00` to chrono.
    let bytes = s.as_bytes();
    let with_colon = if s.len() > 3 && matches!(bytes[s.len() - 3], b'+' | b'-') {
        format!("{s}:00")
    } else {
        s.to_string()
    };
    for f in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(&with_colon, f) {
            return Some(t.naive_utc());
        }
    }
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
