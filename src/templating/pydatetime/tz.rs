//! Time zones: what the tz objects templates hold (`pytz.timezone(name)`, `pytz.utc`,
//! `dt.tzinfo`) do (`localize`, `normalize`, `utcoffset` ...), and `modules.pytz` itself. The
//! `tzinfo` a datetime carries ([`TzInfo`]) and the tz object as a value are in `tzinfo`.
//!
//! Kept apart from the date and time values because pytz's rules (localize / normalize, a zone's
//! local-mean-time default offset) are their own subject; the values only carry a [`TzInfo`].

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::{Duration, NaiveDateTime, Offset, TimeZone};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use minijinja::value::{DynObject, Object, ObjectRepr, Value};
use minijinja::{Error, State};

use super::dates::PyDateTime;
use super::kw_or_pos;
use super::timedelta::{PyTimedelta, MICROS};
use super::tzinfo::{TzInfo, TzKind, TzObj};
use crate::templating::calls::{err, no_method};

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
pub(crate) struct PytzModule;

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
