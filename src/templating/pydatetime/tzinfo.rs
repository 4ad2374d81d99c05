//! The `tzinfo` a datetime carries ([`TzInfo`]: an offset and how it is named, with pytz's rules
//! for a zone's offset at an instant), its text (`+05:30`), and the tz object templates hold
//! ([`TzObj`]) as a value: made from a `TzInfo` and read back. The tz object's methods, which take
//! and return datetimes, are in `tz`; the date and time values use only this file.

use chrono::{NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::{OffsetName, Tz};
use minijinja::value::Value;

/// The `tzinfo` a datetime carries: a fixed offset and how it is named.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TzInfo {
    /// Seconds east of UTC.
    pub(crate) offset: i32,
    pub(crate) kind: TzKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TzKind {
    /// `pytz.utc`.
    PytzUtc,
    /// A pytz zone at one of its offsets, with that offset's abbreviation (`EDT`, `LMT`).
    Zone(Tz, String),
    /// `datetime.timezone(offset)` (also `timezone.utc`, and offsets parsed from text).
    Fixed,
}

impl TzInfo {
    pub(crate) fn pytz_utc() -> TzInfo {
        TzInfo {
            offset: 0,
            kind: TzKind::PytzUtc,
        }
    }
    pub(super) fn fixed(offset: i32) -> TzInfo {
        TzInfo {
            offset,
            kind: TzKind::Fixed,
        }
    }
    /// The zone's offset at the UTC instant `utc`.
    fn zone_at_utc(z: Tz, utc: &NaiveDateTime) -> TzInfo {
        let o = z.offset_from_utc_datetime(utc);
        TzInfo {
            offset: o.fix().local_minus_utc(),
            kind: TzKind::Zone(z, o.abbreviation().unwrap_or("").to_string()),
        }
    }
    /// pytz's default tzinfo of a zone: its first offset (local mean time), to the minute.
    pub(super) fn zone_default(z: Tz) -> TzInfo {
        let early = NaiveDate::from_ymd_opt(1000, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default();
        let o = z.offset_from_utc_datetime(&early);
        let secs = o.fix().local_minus_utc();
        TzInfo {
            offset: ((secs as f64) / 60.0).round() as i32 * 60,
            kind: TzKind::Zone(z, o.abbreviation().unwrap_or("LMT").to_string()),
        }
    }
    /// This tz converted to the instant `utc` (for `astimezone`, `normalize`, `now(tz)`).
    pub(super) fn at_utc(&self, utc: &NaiveDateTime) -> TzInfo {
        match &self.kind {
            TzKind::Zone(z, _) => TzInfo::zone_at_utc(*z, utc),
            _ => self.clone(),
        }
    }
    /// `tzname()` / `%Z`.
    pub(super) fn name(&self) -> String {
        match &self.kind {
            TzKind::PytzUtc => "UTC".into(),
            TzKind::Zone(_, abbr) => abbr.clone(),
            TzKind::Fixed if self.offset == 0 => "UTC".into(),
            TzKind::Fixed => format!("UTC{}", offset_text(self.offset, true)),
        }
    }
    /// `str(tzinfo)`.
    pub(super) fn display(&self) -> String {
        match &self.kind {
            TzKind::PytzUtc => "UTC".into(),
            TzKind::Zone(z, _) => z.name().to_string(),
            TzKind::Fixed => self.name(),
        }
    }
}

/// `+05:30` (`colon`) or `+0530`; seconds when there are some.
pub(super) fn offset_text(offset: i32, colon: bool) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let a = offset.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    let sep = if colon { ":" } else { "" };
    if s != 0 {
        format!("{sign}{h:02}{sep}{m:02}{sep}{s:02}")
    } else {
        format!("{sign}{h:02}{sep}{m:02}")
    }
}

/// A tz object: `pytz.timezone(name)`, `pytz.utc`, `datetime.timezone(...)`, `dt.tzinfo`.
#[derive(Debug)]
pub(crate) struct TzObj(pub(crate) TzInfo);

impl TzObj {
    pub(super) fn value(t: TzInfo) -> Value {
        Value::from_object(TzObj(t))
    }
}

pub(super) fn tz_of(v: &Value) -> Option<TzInfo> {
    v.downcast_object_ref::<TzObj>().map(|t| t.0.clone())
}
