//! Time zones: the `tzinfo` a datetime carries ([`TzInfo`]), the tz objects templates hold
//! (`pytz.timezone(name)`, `pytz.utc`, `dt.tzinfo`) and `modules.pytz` itself.
//!
//! Kept apart from the date and time values because pytz's rules (localize / normalize, a zone's
//! local-mean-time default offset) are their own subject; the values only carry a [`TzInfo`].

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use minijinja::value::{DynObject, Object, ObjectRepr, Value};
use minijinja::{Error, State};

use super::dates::PyDateTime;
use super::kw_or_pos;
use super::timedelta::{PyTimedelta, MICROS};
use crate::templating::calls::{err, no_method};

/// The `tzinfo` a datetime carries: a fixed offset and how it is named.
#[derive(Debug, Clone, PartialEq)]
pub struct TzInfo {
    /// Seconds east of UTC.
    pub offset: i32,
    pub kind: TzKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TzKind {
    /// `pytz.utc`.
    PytzUtc,
    /// A pytz zone at one of its offsets, with that offset's abbreviation (`EDT`, `LMT`).
    Zone(Tz, String),
    /// `datetime.timezone(offset)` (also `timezone.utc`, and offsets parsed from text).
    Fixed,
}

impl TzInfo {
    pub fn pytz_utc() -> TzInfo {
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
    fn zone_default(z: Tz) -> TzInfo {
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
    fn display(&self) -> String {
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
pub struct TzObj(pub TzInfo);

impl TzObj {
    pub(super) fn value(t: TzInfo) -> Value {
        Value::from_object(TzObj(t))
    }
}

pub(super) fn tz_of(v: &Value) -> Option<TzInfo> {
    v.downcast_object_ref::<TzObj>().map(|t| t.0.clone())
}

impl Object for TzObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "zone" => Some(Value::from(self.0.display())),
            _ => None,
        }
    }
    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let o = other.downcast_ref::<Self>()?;
        (self.0 == o.0).then_some(Ordering::Equal)
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let dt = || -> Result<Arc<PyDateTime>, Error> {
            args.first()
                .and_then(|a| a.downcast_object::<PyDateTime>())
                .ok_or_else(|| err(format!("{method}() needs a datetime")))
        };
        match method {
            "localize" => {
                let d = dt()?;
                if d.tz.is_some() {
                    return Err(err(
                        "ValueError: Not naive datetime (tzinfo is already set)",
                    ));
                }
                let is_dst = kw_or_pos(args, 1, "is_dst").is_some_and(|v| v.is_true());
                Ok(PyDateTime::value(d.t, Some(self.localize(&d.t, is_dst))))
            }
            "normalize" | "fromutc" => {
                let d = dt()?;
                let utc = match (&d.tz, method) {
                    (Some(t), "normalize") => d.t - Duration::seconds(t.offset as i64),
                    _ => d.t,
                };
                let tz = self.0.at_utc(&utc);
                Ok(PyDateTime::value(
                    utc + Duration::seconds(tz.offset as i64),
                    Some(tz),
                ))
            }
            "utcoffset" | "tzname" | "dst" => {
                let tz = match args.first().and_then(|a| a.downcast_object::<PyDateTime>()) {
                    Some(d) if matches!(self.0.kind, TzKind::Zone(..)) => {
                        self.localize(&d.t, false)
                    }
                    _ => self.0.clone(),
                };
                Ok(match method {
                    "utcoffset" => PyTimedelta::value(tz.offset as i128 * MICROS),
                    "tzname" => Value::from(tz.name()),
                    _ => match &tz.kind {
                        TzKind::Zone(z, _) => {
                            let utc = args
                                .first()
                                .and_then(|a| a.downcast_object::<PyDateTime>())
                                .map(|d| d.t - Duration::seconds(tz.offset as i64))
                                .unwrap_or_default();
                            let dst = z.offset_from_utc_datetime(&utc).dst_offset();
                            PyTimedelta::value(dst.num_seconds() as i128 * MICROS)
                        }
                        _ => PyTimedelta::value(0),
                    },
                })
            }
            _ => Err(no_method("timezone", method)),
        }
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.display())
    }
}

impl TzObj {
    /// pytz's `localize(naive, is_dst)`: the zone's offset at that wall time.
    fn localize(&self, t: &NaiveDateTime, is_dst: bool) -> TzInfo {
        let TzKind::Zone(z, _) = &self.0.kind else {
            return self.0.clone();
        };
        let pick = |o: chrono_tz::TzOffset| TzInfo {
            offset: o.fix().local_minus_utc(),
            kind: TzKind::Zone(*z, o.abbreviation().unwrap_or("").to_string()),
        };
        match z.offset_from_local_datetime(t) {
            chrono::LocalResult::Single(o) => pick(o),
            chrono::LocalResult::Ambiguous(a, b) => {
                let dst = |o: &chrono_tz::TzOffset| o.dst_offset().num_seconds() != 0;
                if dst(&a) == is_dst {
                    pick(a)
                } else {
                    pick(b)
                }
            }
            chrono::LocalResult::None => {
                // A time skipped by a change of offset: pytz keeps the offset in force before
                // (`is_dst=False`) or after it.
                let probe = if is_dst {
                    *t + Duration::days(1)
                } else {
                    *t - Duration::days(1)
                };
                match z.offset_from_local_datetime(&probe).earliest() {
                    Some(o) => pick(o),
                    None => self.0.clone(),
                }
            }
        }
    }
}

/// `modules.pytz`.
#[derive(Debug)]
pub struct PytzModule;

impl Object for PytzModule {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "utc" | "UTC" => Some(TzObj::value(TzInfo::pytz_utc())),
            "all_timezones" | "common_timezones" => Some(Value::from(
                chrono_tz::TZ_VARIANTS
                    .iter()
                    .map(|z| Value::from(z.name()))
                    .collect::<Vec<_>>(),
            )),
            _ => None,
        }
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "timezone" => {
                let name = args
                    .first()
                    .and_then(|a| a.as_str())
                    .ok_or_else(|| err("pytz.timezone needs a zone name"))?;
                Ok(TzObj::value(pytz_zone(name)?))
            }
            _ => Err(no_method("pytz", method)),
        }
    }
}

fn pytz_zone(name: &str) -> Result<TzInfo, Error> {
    if name.eq_ignore_ascii_case("utc") {
        return Ok(TzInfo::pytz_utc());
    }
    let z: Tz = match name.parse() {
        Ok(z) => z,
        Err(_) => *chrono_tz::TZ_VARIANTS
            .iter()
            .find(|z| z.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| err(format!("UnknownTimeZoneError: '{name}'")))?,
    };
    Ok(TzInfo::zone_default(z))
}
