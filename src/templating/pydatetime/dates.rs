//! The calendar values: `datetime.date` ([`PyDate`], with its `isocalendar()` tuple),
//! `datetime.time` ([`PyTime`]) and `datetime.datetime` ([`PyDateTime`]): attributes, methods,
//! comparisons and how they print.
//!
//! One module for the three because they share the text helpers (`time_text`, ISO output) and
//! convert into one another (`dt.date()`, `dt.timetz()`); their constructors live with the
//! module's type objects in `mod.rs`, their arithmetic in `ops`.

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::{
    DateTime, Datelike, Duration, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike,
    Utc,
};
use minijinja::value::{DynObject, Object, ObjectRepr, Value};
use minijinja::{Error, State};

use super::format::strftime;
use super::timedelta::{PyTimedelta, MICROS};
use super::tzinfo::{offset_text, tz_of, TzInfo, TzKind, TzObj};
use super::{date_from, int_arg, kw_or_pos, kwargs_of, micros, str_arg, time_from};
use crate::templating::calls::{err, no_method};

// ---------------------------------------------------------------------------------------------
// date

/// A `datetime.date`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PyDate(pub(crate) NaiveDate);

impl PyDate {
    pub(crate) fn value(d: NaiveDate) -> Value {
        Value::from_object(PyDate(d))
    }
}

impl Object for PyDate {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(Value::from(match key.as_str()? {
            "year" => self.0.year() as i64,
            "month" => self.0.month() as i64,
            "day" => self.0.day() as i64,
            _ => return None,
        }))
    }
    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        Some(self.0.cmp(&other.downcast_ref::<Self>()?.0))
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let d = self.0;
        let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        match method {
            "strftime" => Ok(Value::from(strftime(
                &midnight,
                None,
                &str_arg(args, 0, "format")?,
            ))),
            "isoformat" | "__str__" => Ok(Value::from(d.format("%Y-%m-%d").to_string())),
            "weekday" => Ok(Value::from(d.weekday().num_days_from_monday() as i64)),
            "isoweekday" => Ok(Value::from(d.weekday().number_from_monday() as i64)),
            "isocalendar" => Ok(iso_calendar(&d)),
            "toordinal" => Ok(Value::from(d.num_days_from_ce() as i64)),
            "ctime" => Ok(Value::from(strftime(&midnight, None, "%c"))),
            "replace" => Ok(PyDate::value(date_from(
                int_arg(args, 0, "year", Some(d.year() as i64))?,
                int_arg(args, 1, "month", Some(d.month() as i64))?,
                int_arg(args, 2, "day", Some(d.day() as i64))?,
            )?)),
            _ => Err(no_method("date", method)),
        }
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

fn iso_calendar(d: &NaiveDate) -> Value {
    let w = d.iso_week();
    Value::from_object(IsoCalendar([
        w.year() as i64,
        w.week() as i64,
        d.weekday().number_from_monday() as i64,
    ]))
}

/// `isocalendar()`: a named tuple (year, week, weekday).
#[derive(Debug)]
pub(crate) struct IsoCalendar([i64; 3]);

impl Object for IsoCalendar {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = match key.as_str() {
            Some("year") => 0,
            Some("week") => 1,
            Some("weekday") => 2,
            Some(_) => return None,
            None => {
                let i = i64::try_from(key.clone()).ok()?;
                if i < 0 {
                    (3 + i).max(-1) as usize
                } else {
                    i as usize
                }
            }
        };
        self.0.get(i).map(|v| Value::from(*v))
    }
    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Seq(3)
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [y, w, d] = self.0;
        write!(
            f,
            "datetime.IsoCalendarDate(year={y}, week={w}, weekday={d})"
        )
    }
}

// ---------------------------------------------------------------------------------------------
// time

/// A `datetime.time`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PyTime {
    pub(crate) t: NaiveTime,
    pub(crate) tz: Option<TzInfo>,
}

impl PyTime {
    fn text(&self, timespec: &str) -> String {
        let mut s = time_text(&self.t, timespec);
        if let Some(tz) = &self.tz {
            s.push_str(&offset_text(tz.offset, true));
        }
        s
    }
}

fn time_text(t: &NaiveTime, timespec: &str) -> String {
    let us = micros(t);
    match timespec {
        "hours" => format!("{:02}", t.hour()),
        "minutes" => format!("{:02}:{:02}", t.hour(), t.minute()),
        "seconds" => format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
        "milliseconds" => format!(
            "{:02}:{:02}:{:02}.{:03}",
            t.hour(),
            t.minute(),
            t.second(),
            us / 1000
        ),
        "microseconds" => format!(
            "{:02}:{:02}:{:02}.{us:06}",
            t.hour(),
            t.minute(),
            t.second()
        ),
        _ if us != 0 => format!(
            "{:02}:{:02}:{:02}.{us:06}",
            t.hour(),
            t.minute(),
            t.second()
        ),
        _ => format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
    }
}

impl Object for PyTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "hour" => Value::from(self.t.hour() as i64),
            "minute" => Value::from(self.t.minute() as i64),
            "second" => Value::from(self.t.second() as i64),
            "microsecond" => Value::from(micros(&self.t)),
            "tzinfo" => self.tz.clone().map_or(Value::from(()), TzObj::value),
            _ => return None,
        })
    }
    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        Some(self.t.cmp(&other.downcast_ref::<Self>()?.t))
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "isoformat" => {
                let spec = kw_or_pos(args, 0, "timespec");
                Ok(Value::from(self.text(
                    spec.as_ref().and_then(|v| v.as_str()).unwrap_or("auto"),
                )))
            }
            "strftime" => {
                let dt = NaiveDate::from_ymd_opt(1900, 1, 1)
                    .unwrap_or_default()
                    .and_time(self.t);
                Ok(Value::from(strftime(
                    &dt,
                    self.tz.as_ref(),
                    &str_arg(args, 0, "format")?,
                )))
            }
            "replace" => Ok(Value::from_object(PyTime {
                t: time_from(
                    int_arg(args, 0, "hour", Some(self.t.hour() as i64))?,
                    int_arg(args, 1, "minute", Some(self.t.minute() as i64))?,
                    int_arg(args, 2, "second", Some(self.t.second() as i64))?,
                    int_arg(args, 3, "microsecond", Some(micros(&self.t)))?,
                )?,
                tz: match kwargs_of(args).and_then(|k| k.get::<Option<Value>>("tzinfo").ok()) {
                    Some(Some(v)) if !v.is_none() => tz_of(&v),
                    Some(_) => None,
                    None => self.tz.clone(),
                },
            })),
            _ => Err(no_method("time", method)),
        }
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text("auto"))
    }
}

// ---------------------------------------------------------------------------------------------
// datetime

/// A `datetime.datetime`: the wall time, and the tzinfo when aware.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PyDateTime {
    pub(crate) t: NaiveDateTime,
    pub(crate) tz: Option<TzInfo>,
}

impl PyDateTime {
    pub(crate) fn value(t: NaiveDateTime, tz: Option<TzInfo>) -> Value {
        Value::from_object(PyDateTime { t, tz })
    }
    /// An aware UTC datetime (`run_started_at`).
    pub(crate) fn utc_value(t: DateTime<Utc>) -> Value {
        PyDateTime::value(t.naive_utc(), Some(TzInfo::pytz_utc()))
    }
    /// The UTC instant of an aware datetime.
    pub(super) fn utc(&self) -> Option<NaiveDateTime> {
        self.tz
            .as_ref()
            .map(|tz| self.t - Duration::seconds(tz.offset as i64))
    }
    /// Python's `isoformat(sep, timespec)`.
    pub(super) fn iso(&self, sep: &str, timespec: &str) -> String {
        let mut s = format!(
            "{}{sep}{}",
            self.t.format("%Y-%m-%d"),
            time_text(&self.t.time(), timespec)
        );
        if let Some(tz) = &self.tz {
            s.push_str(&offset_text(tz.offset, true));
        }
        s
    }
    pub(super) fn repr_text(&self) -> String {
        let t = &self.t;
        let mut parts = vec![
            t.year().to_string(),
            t.month().to_string(),
            t.day().to_string(),
            t.hour().to_string(),
            t.minute().to_string(),
        ];
        let us = micros(&t.time());
        if t.second() != 0 || us != 0 {
            parts.push(t.second().to_string());
        }
        if us != 0 {
            parts.push(us.to_string());
        }
        if let Some(tz) = &self.tz {
            parts.push(format!(
                "tzinfo={}",
                match &tz.kind {
                    TzKind::PytzUtc => "<UTC>".to_string(),
                    TzKind::Fixed if tz.offset == 0 => "datetime.timezone.utc".to_string(),
                    TzKind::Fixed => format!(
                        "datetime.timezone({})",
                        PyTimedelta(tz.offset as i128 * MICROS).repr_text()
                    ),
                    TzKind::Zone(z, abbr) => format!("<DstTzInfo '{}' {abbr}>", z.name()),
                }
            ));
        }
        format!("datetime.datetime({})", parts.join(", "))
    }
    /// POSIX timestamp; a naive value is local time, as in Python.
    fn timestamp(&self) -> f64 {
        let utc = match self.utc() {
            Some(u) => u,
            None => match Local.from_local_datetime(&self.t).earliest() {
                Some(l) => l.naive_utc(),
                None => self.t,
            },
        };
        let secs = utc.and_utc().timestamp() as f64;
        secs + micros(&utc.time()) as f64 / 1e6
    }
}

impl Object for PyDateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let t = &self.t;
        Some(match key.as_str()? {
            "year" => Value::from(t.year() as i64),
            "month" => Value::from(t.month() as i64),
            "day" => Value::from(t.day() as i64),
            "hour" => Value::from(t.hour() as i64),
            "minute" => Value::from(t.minute() as i64),
            "second" => Value::from(t.second() as i64),
            "microsecond" => Value::from(micros(&t.time())),
            "tzinfo" => self.tz.clone().map_or(Value::from(()), TzObj::value),
            "fold" => Value::from(0),
            _ => return None,
        })
    }
    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let o = other.downcast_ref::<Self>()?;
        match (self.utc(), o.utc()) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            (None, None) => Some(self.t.cmp(&o.t)),
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
            "strftime" => Ok(Value::from(strftime(
                &self.t,
                self.tz.as_ref(),
                &str_arg(args, 0, "format")?,
            ))),
            "isoformat" => {
                let sep = kw_or_pos(args, 0, "sep");
                let spec = kw_or_pos(args, 1, "timespec");
                Ok(Value::from(self.iso(
                    sep.as_ref().and_then(|v| v.as_str()).unwrap_or("T"),
                    spec.as_ref().and_then(|v| v.as_str()).unwrap_or("auto"),
                )))
            }
            "ctime" => Ok(Value::from(strftime(&self.t, None, "%c"))),
            "date" => Ok(PyDate::value(self.t.date())),
            "time" => Ok(Value::from_object(PyTime {
                t: self.t.time(),
                tz: None,
            })),
            "timetz" => Ok(Value::from_object(PyTime {
                t: self.t.time(),
                tz: self.tz.clone(),
            })),
            "weekday" => Ok(Value::from(self.t.weekday().num_days_from_monday() as i64)),
            "isoweekday" => Ok(Value::from(self.t.weekday().number_from_monday() as i64)),
            "isocalendar" => Ok(iso_calendar(&self.t.date())),
            "toordinal" => Ok(Value::from(self.t.date().num_days_from_ce() as i64)),
            "timestamp" => Ok(Value::from(self.timestamp())),
            "utcoffset" => Ok(match &self.tz {
                Some(tz) => PyTimedelta::value(tz.offset as i128 * MICROS),
                None => Value::from(()),
            }),
            "tzname" => Ok(match &self.tz {
                Some(tz) => Value::from(tz.name()),
                None => Value::from(()),
            }),
            "replace" => {
                let t = &self.t;
                let d = date_from(
                    int_arg(args, 0, "year", Some(t.year() as i64))?,
                    int_arg(args, 1, "month", Some(t.month() as i64))?,
                    int_arg(args, 2, "day", Some(t.day() as i64))?,
                )?;
                let time = time_from(
                    int_arg(args, 3, "hour", Some(t.hour() as i64))?,
                    int_arg(args, 4, "minute", Some(t.minute() as i64))?,
                    int_arg(args, 5, "second", Some(t.second() as i64))?,
                    int_arg(args, 6, "microsecond", Some(micros(&t.time())))?,
                )?;
                let tz = match kw_or_pos(args, 7, "tzinfo") {
                    Some(v) if v.is_none() => None,
                    Some(v) => Some(tz_of(&v).ok_or_else(|| err("TypeError: bad tzinfo"))?),
                    None => self.tz.clone(),
                };
                Ok(PyDateTime::value(d.and_time(time), tz))
            }
            "astimezone" => {
                let utc = match self.utc() {
                    Some(u) => u,
                    None => Local
                        .from_local_datetime(&self.t)
                        .earliest()
                        .map(|l| l.naive_utc())
                        .unwrap_or(self.t),
                };
                let tz = match kw_or_pos(args, 0, "tz") {
                    Some(v) if !v.is_none() => tz_of(&v)
                        .ok_or_else(|| err("TypeError: astimezone() argument 1 must be a tzinfo"))?
                        .at_utc(&utc),
                    _ => TzInfo::fixed(Local.offset_from_utc_datetime(&utc).local_minus_utc()),
                };
                Ok(PyDateTime::value(
                    utc + Duration::seconds(tz.offset as i64),
                    Some(tz),
                ))
            }
            _ => Err(no_method("datetime", method)),
        }
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.iso(" ", "auto"))
    }
}
