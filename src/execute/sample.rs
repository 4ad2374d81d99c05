//! `--sample` (dbt 1.10's sample mode): while models and snapshots compile, every `ref` and
//! `source` whose node has an `event_time` is limited to a window, the same filter a microbatch
//! batch reads its parents through ([`crate::compile::CompileServices::with_batch`]). The window
//! ends now (or `SLUICE_NOW`) and starts `N hours|days|months|years` before, not truncated, as
//! dbt's `offset_timestamp` counts; or it is given as `{start: ..., end: ...}`.

use chrono::{Duration, NaiveDate, NaiveDateTime};

use super::microbatch::{bound, parse_time, BatchSize};

/// The time a `--sample` window counts back from: now, or `SLUICE_NOW` (a timestamp) for
/// reproducible runs and for test harnesses that freeze their own clock.
pub(crate) fn sample_clock() -> NaiveDateTime {
    std::env::var("SLUICE_NOW")
        .ok()
        .and_then(|s| parse_time(&s))
        .unwrap_or_else(|| chrono::Utc::now().naive_utc())
}

/// The window of `spec` (`3 days`, `1 hour`, `2 months`, `1 year`, or `{start: .., end: ..}`)
/// ending at `now`, as (start, end); the message says what does not read.
pub(crate) fn sample_window(
    spec: &str,
    now: NaiveDateTime,
) -> Result<(NaiveDateTime, NaiveDateTime), String> {
    let spec = spec.trim();
    if spec.starts_with('{') {
        let v: serde_json::Value = serde_yaml::from_str(spec)
            .map_err(|e| format!("Cannot load SAMPLE_WINDOW from '{spec}': {e}"))?;
        let at = |k: &str| -> Result<NaiveDateTime, String> {
            let text = match v.get(k) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => return Err(format!("Cannot load SAMPLE_WINDOW from '{spec}': no `{k}`")),
            };
            parse_time(&text)
                .or_else(|| {
                    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                })
                .ok_or_else(|| {
                    format!("Cannot load SAMPLE_WINDOW from '{spec}': `{k}` is not a timestamp")
                })
        };
        return Ok((at("start")?, at("end")?));
    }
    let parts: Vec<&str> = spec.split(' ').collect();
    let [count, grain] = parts[..] else {
        return Err(format!(
            "Cannot load SAMPLE_WINDOW from '{spec}'. Must be of form 'DAYS_INT GRAIN_SIZE'."
        ));
    };
    let n: i32 = count
        .parse()
        .map_err(|_| format!("Unable to convert '{count}' to an integer."))?;
    let grain = grain.to_lowercase();
    let size = BatchSize::parse(grain.trim_end_matches('s')).ok_or_else(|| {
        format!(
            "Invalid grain size '{grain}'. Must be one of ['hour', 'day', 'month', 'year', 'hours', 'days', 'months', 'years']."
        )
    })?;
    let months = |m: i32| {
        let m = chrono::Months::new(m.unsigned_abs());
        if n >= 0 {
            now.checked_sub_months(m)
        } else {
            now.checked_add_months(m)
        }
    };
    let start = match size {
        BatchSize::Hour => Some(now - Duration::hours(n.into())),
        BatchSize::Day => Some(now - Duration::days(n.into())),
        BatchSize::Month => months(n),
        BatchSize::Year => months(n.saturating_mul(12)),
    }
    .ok_or_else(|| format!("the sample window '{spec}' starts out of range"))?;
    Ok((start, now))
}

/// A timestamp as dbt prints a Python `datetime` in an event-time filter: `bound`'s form, with
/// microseconds when it has any.
pub(crate) fn bound_exact(t: NaiveDateTime) -> String {
    match t.and_utc().timestamp_subsec_micros() {
        0 => bound(t),
        us => format!("{}.{us:06}+00:00", t.format("%Y-%m-%d %H:%M:%S")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        parse_time(s).unwrap()
    }

    #[test]
    fn sample_windows_count_back_from_now_as_dbt_counts() {
        let now = t("2024-03-31 16:06:00");
        let w = |spec: &str| sample_window(spec, now).map(|(s, e)| (bound(s), bound(e)));
        assert_eq!(
            w("3 days"),
            Ok((
                "2024-03-28 16:06:00+00:00".into(),
                "2024-03-31 16:06:00+00:00".into()
            ))
        );
        assert_eq!(w("1 Hour").unwrap().0, "2024-03-31 15:06:00+00:00");
        // Months as relativedelta counts them: the day clamped to the month's last.
        assert_eq!(w("1 month").unwrap().0, "2024-02-29 16:06:00+00:00");
        assert_eq!(w("1 year").unwrap().0, "2023-03-31 16:06:00+00:00");
        assert_eq!(
            w("{start: 2025-01-02, end: '2025-01-03 02:03:00'}"),
            Ok((
                "2025-01-02 00:00:00+00:00".into(),
                "2025-01-03 02:03:00+00:00".into()
            ))
        );
        for bad in ["3", "three days", "3 weeks", "{start: 2025-01-02}"] {
            assert!(w(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_time("2025-01-03T02:03:00+00:00").map(bound),
            Some("2025-01-03 02:03:00+00:00".to_string())
        );
        assert_eq!(
            bound_exact(t("2025-01-02 02:03:00.250000")),
            "2025-01-02 02:03:00.250000+00:00"
        );
    }
}
