//! Python's `datetime` and `pytz` as dbt exposes them under `modules` (and `run_started_at`):
//! `datetime.datetime`, `datetime.date`, `datetime.time`, `datetime.timedelta`,
//! `datetime.timezone`, `pytz.timezone(name)` / `pytz.utc`, their methods, attributes and
//! arithmetic (`datetime ± timedelta`, `datetime - datetime`, `timedelta * n` ... through
//! [`super::pyformat`]'s `+ - *`), comparisons, and how Python prints them.
//!
//! Design decision: a value is a naive `chrono` date-time (the wall time) plus, when aware, the
//! fixed offset and name it carries, the way a Python `datetime` carries a `tzinfo`. pytz's zones
//! come from `chrono-tz`, with pytz's behaviour: `localize` / `normalize` / `astimezone` / `now(tz)`
//! find the zone's offset at that instant, while `tzinfo=zone` (and `replace(tzinfo=zone)`) attach
//! the zone's first offset (its local mean time, rounded to the minute as pytz does), and
//! arithmetic keeps the offset it had. `strftime` / `strptime` implement Python's (glibc's)
//! directives rather than chrono's, which differ (`%f`, `%z` on naive values, `%-d` ...).
//!
//! The parts: [`tzinfo`] (the tzinfo a value carries), [`tz`] (the tz objects' methods and
//! `modules.pytz`), [`timedelta`], [`dates`] (date, time,
//! datetime values), [`ops`] (their arithmetic), [`format`](mod@format) (strftime / strptime /
//! fromisoformat). This file holds the argument helpers they share and `modules.datetime` with its
//! type objects (constructors and class methods).

mod dates;
mod format;
mod ops;
#[cfg(test)]
mod tests;
mod timedelta;
mod tz;
mod tzinfo;

use std::sync::Arc;

use chrono::{
    DateTime, Datelike, Duration, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike,
    Utc,
};
use minijinja::value::{Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, State};

use super::calls::{err, no_method};
pub(crate) use dates::IsoCalendar;
pub(crate) use dates::{PyDate, PyDateTime, PyTime};
pub(crate) use format::{parse_iso, strptime};
use format::{parse_iso_date, parse_iso_time};
pub(crate) use ops::{binop, divide};
pub(crate) use timedelta::PyTimedelta;
use timedelta::{new_timedelta, round_us, DAY};
pub(crate) use tz::PytzModule;
use tzinfo::tz_of;
pub(crate) use tzinfo::TzInfo;

// ---------------------------------------------------------------------------------------------
// Arguments

fn kwargs_of(args: &[Value]) -> Option<Kwargs> {
    args.last()
        .filter(|a| a.is_kwargs())
        .and_then(|a| Kwargs::try_from(a.clone()).ok())
}

fn positional(args: &[Value]) -> &[Value] {
    match args.last() {
        Some(a) if a.is_kwargs() => &args[..args.len() - 1],
        _ => args,
    }
}

fn kw_or_pos(args: &[Value], i: usize, name: &str) -> Option<Value> {
    if let Some(v) = kwargs_of(args).and_then(|k| k.get::<Option<Value>>(name).ok().flatten()) {
        return Some(v);
    }
    positional(args).get(i).cloned()
}

fn int_arg(args: &[Value], i: usize, name: &str, default: Option<i64>) -> Result<i64, Error> {
    match kw_or_pos(args, i, name) {
        Some(v) if !v.is_none() => {
            i64::try_from(v).map_err(|_| err(format!("TypeError: '{name}' must be an integer")))
        }
        _ => default.ok_or_else(|| {
            err(format!(
                "TypeError: function missing required argument '{name}'"
            ))
        }),
    }
}

fn tz_arg(args: &[Value], i: usize) -> Result<Option<TzInfo>, Error> {
    match kw_or_pos(args, i, "tzinfo").or_else(|| kw_or_pos(args, usize::MAX, "tz")) {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => tz_of(&v)
            .map(Some)
            .ok_or_else(|| err("TypeError: tzinfo argument must be None or of a tzinfo subclass")),
    }
}

fn date_from(y: i64, m: i64, d: i64) -> Result<NaiveDate, Error> {
    if !(1..=9999).contains(&y) {
        return Err(err(format!("ValueError: year {y} is out of range")));
    }
    if !(1..=12).contains(&m) {
        return Err(err("ValueError: month must be in 1..12"));
    }
    NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)
        .ok_or_else(|| err("ValueError: day is out of range for month"))
}

fn time_from(h: i64, mi: i64, s: i64, us: i64) -> Result<NaiveTime, Error> {
    let check = |v: i64, hi: i64, what: &str| {
        if (0..hi).contains(&v) {
            Ok(v as u32)
        } else {
            Err(err(format!("ValueError: {what} must be in 0..{}", hi - 1)))
        }
    };
    NaiveTime::from_hms_micro_opt(
        check(h, 24, "hour")?,
        check(mi, 60, "minute")?,
        check(s, 60, "second")?,
        check(us, 1_000_000, "microsecond")?,
    )
    .ok_or_else(|| err("ValueError: time is out of range"))
}

fn micros(t: &NaiveTime) -> i64 {
    (t.nanosecond() / 1000) as i64
}

fn str_arg(args: &[Value], i: usize, name: &str) -> Result<String, Error> {
    kw_or_pos(args, i, name)
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or_else(|| err(format!("TypeError: {name} must be a string")))
}

// ---------------------------------------------------------------------------------------------
// The module and its types

/// `modules.datetime`.
#[derive(Debug)]
pub(crate) struct DatetimeModule;

impl Object for DatetimeModule {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "datetime" => Value::from_object(TypeObj::DateTime),
            "date" => Value::from_object(TypeObj::Date),
            "time" => Value::from_object(TypeObj::Time),
            "timedelta" => Value::from_object(TypeObj::Timedelta),
            "tzinfo" => Value::from_object(TypeObj::Tzinfo),
            _ => return None,
        })
    }
}

/// A type of the `datetime` module: callable, with class methods and attributes.
#[derive(Debug)]
enum TypeObj {
    DateTime,
    Date,
    Time,
    Timedelta,
    /// `datetime.tzinfo`, the base class (dbt exposes it, not `datetime.timezone`).
    Tzinfo,
}

fn now_utc() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn aware_from_utc(utc: NaiveDateTime, tz: TzInfo) -> Value {
    let tz = tz.at_utc(&utc);
    PyDateTime::value(utc + Duration::seconds(tz.offset as i64), Some(tz))
}

fn from_timestamp(ts: f64) -> Result<NaiveDateTime, Error> {
    let us = round_us(ts * 1e6);
    DateTime::from_timestamp_micros(us as i64)
        .map(|d| d.naive_utc())
        .ok_or_else(|| err("ValueError: year is out of range"))
}

impl Object for TypeObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str()?;
        match (&**self, k) {
            (TypeObj::DateTime, "min") => Some(PyDateTime::value(
                NaiveDateTime::MIN.max(NaiveDate::from_ymd_opt(1, 1, 1)?.and_hms_opt(0, 0, 0)?),
                None,
            )),
            (TypeObj::DateTime, "max") => Some(PyDateTime::value(
                NaiveDate::from_ymd_opt(9999, 12, 31)?.and_hms_micro_opt(23, 59, 59, 999_999)?,
                None,
            )),
            (TypeObj::Date, "min") => Some(PyDate::value(NaiveDate::from_ymd_opt(1, 1, 1)?)),
            (TypeObj::Date, "max") => Some(PyDate::value(NaiveDate::from_ymd_opt(9999, 12, 31)?)),
            (TypeObj::Timedelta, "min") => Some(PyTimedelta::value(-999_999_999 * DAY)),
            (TypeObj::Timedelta, "max") => Some(PyTimedelta::value(999_999_999 * DAY + DAY - 1)),
            (TypeObj::Timedelta, "resolution") => Some(PyTimedelta::value(1)),
            _ => None,
        }
    }
    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        match &**self {
            TypeObj::DateTime => {
                let d = date_from(
                    int_arg(args, 0, "year", None)?,
                    int_arg(args, 1, "month", None)?,
                    int_arg(args, 2, "day", None)?,
                )?;
                let t = time_from(
                    int_arg(args, 3, "hour", Some(0))?,
                    int_arg(args, 4, "minute", Some(0))?,
                    int_arg(args, 5, "second", Some(0))?,
                    int_arg(args, 6, "microsecond", Some(0))?,
                )?;
                Ok(PyDateTime::value(d.and_time(t), tz_arg(args, 7)?))
            }
            TypeObj::Date => Ok(PyDate::value(date_from(
                int_arg(args, 0, "year", None)?,
                int_arg(args, 1, "month", None)?,
                int_arg(args, 2, "day", None)?,
            )?)),
            TypeObj::Time => Ok(Value::from_object(PyTime {
                t: time_from(
                    int_arg(args, 0, "hour", Some(0))?,
                    int_arg(args, 1, "minute", Some(0))?,
                    int_arg(args, 2, "second", Some(0))?,
                    int_arg(args, 3, "microsecond", Some(0))?,
                )?,
                tz: tz_arg(args, 4)?,
            })),
            TypeObj::Timedelta => new_timedelta(args),
            TypeObj::Tzinfo => Err(err(
                "NotImplementedError: a tzinfo subclass must implement utcoffset()",
            )),
        }
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let s = |i: usize, name: &str| str_arg(args, i, name);
        match (&**self, method) {
            (TypeObj::DateTime, "now") => Ok(
                match tz_arg(args, usize::MAX)?
                    .or(kw_or_pos(args, 0, "tz").as_ref().and_then(tz_of))
                {
                    Some(tz) => aware_from_utc(now_utc(), tz),
                    None => PyDateTime::value(Local::now().naive_local(), None),
                },
            ),
            (TypeObj::DateTime, "today") => Ok(PyDateTime::value(Local::now().naive_local(), None)),
            (TypeObj::DateTime, "utcnow") => Ok(PyDateTime::value(now_utc(), None)),
            (TypeObj::DateTime, "strptime") => {
                let (t, tz) = strptime(&s(0, "date_string")?, &s(1, "format")?)?;
                Ok(PyDateTime::value(t, tz))
            }
            (TypeObj::DateTime, "fromisoformat") => {
                let text = s(0, "date_string")?;
                let (t, tz) = parse_iso(&text).ok_or_else(|| {
                    err(format!("ValueError: Invalid isoformat string: '{text}'"))
                })?;
                Ok(PyDateTime::value(t, tz))
            }
            (TypeObj::DateTime, "combine") => {
                let d = kw_or_pos(args, 0, "date")
                    .and_then(|v| {
                        v.downcast_object_ref::<PyDate>()
                            .map(|d| d.0)
                            .or_else(|| v.downcast_object_ref::<PyDateTime>().map(|d| d.t.date()))
                    })
                    .ok_or_else(|| err("TypeError: combine() argument 1 must be a date"))?;
                let t = kw_or_pos(args, 1, "time")
                    .and_then(|v| v.downcast_object_ref::<PyTime>().cloned())
                    .ok_or_else(|| err("TypeError: combine() argument 2 must be a time"))?;
                let tz = match kw_or_pos(args, 2, "tzinfo") {
                    Some(v) if v.is_none() => None,
                    Some(v) => tz_of(&v),
                    None => t.tz.clone(),
                };
                Ok(PyDateTime::value(d.and_time(t.t), tz))
            }
            (TypeObj::DateTime, "fromtimestamp" | "utcfromtimestamp") => {
                let ts = kw_or_pos(args, 0, "timestamp")
                    .and_then(|v| f64::try_from(v).ok())
                    .ok_or_else(|| err("TypeError: a number is required"))?;
                let utc = from_timestamp(ts)?;
                let tz = kw_or_pos(args, 1, "tz").as_ref().and_then(tz_of);
                Ok(match (method, tz) {
                    ("utcfromtimestamp", _) => PyDateTime::value(utc, None),
                    (_, Some(tz)) => aware_from_utc(utc, tz),
                    (_, None) => {
                        PyDateTime::value(Local.from_utc_datetime(&utc).naive_local(), None)
                    }
                })
            }
            (TypeObj::DateTime | TypeObj::Date, "fromordinal") => {
                let n = int_arg(args, 0, "ordinal", None)?;
                let d = NaiveDate::from_num_days_from_ce_opt(n as i32)
                    .ok_or_else(|| err("ValueError: ordinal must be >= 1"))?;
                Ok(match &**self {
                    TypeObj::Date => PyDate::value(d),
                    _ => PyDateTime::value(d.and_hms_opt(0, 0, 0).unwrap_or_default(), None),
                })
            }
            (TypeObj::Date, "today") => Ok(PyDate::value(Local::now().date_naive())),
            (TypeObj::Date, "fromisoformat") => {
                let text = s(0, "date_string")?;
                parse_iso_date(text.trim())
                    .filter(|(_, rest)| rest.is_empty())
                    .map(|(d, _)| PyDate::value(d))
                    .ok_or_else(|| err(format!("ValueError: Invalid isoformat string: '{text}'")))
            }
            (TypeObj::Date, "fromtimestamp") => {
                let ts = kw_or_pos(args, 0, "timestamp")
                    .and_then(|v| f64::try_from(v).ok())
                    .ok_or_else(|| err("TypeError: a number is required"))?;
                Ok(PyDate::value(
                    Local.from_utc_datetime(&from_timestamp(ts)?).date_naive(),
                ))
            }
            (TypeObj::Time, "fromisoformat") => {
                let text = s(0, "time_string")?;
                let (t, tz) = parse_iso_time(&text).ok_or_else(|| {
                    err(format!("ValueError: Invalid isoformat string: '{text}'"))
                })?;
                Ok(Value::from_object(PyTime { t, tz }))
            }
            (_, m) => Err(no_method("type", m)),
        }
    }
}

/// `datetime.fromisoformat(text).isoformat()`: how dbt records a microbatch model's `begin`
/// written as text (`2024-01-01` is `2024-01-01T00:00:00`); `None` when it is no ISO date.
pub(crate) fn iso_datetime_text(text: &str) -> Option<String> {
    let (t, tz) = parse_iso(text)?;
    Some(PyDateTime { t, tz }.iso("T", "auto"))
}

/// Python's `repr()` of a datetime value, if `v` is one.
pub(crate) fn repr(v: &Value) -> Option<String> {
    if let Some(d) = v.downcast_object_ref::<PyDateTime>() {
        return Some(d.repr_text());
    }
    if let Some(d) = v.downcast_object_ref::<PyDate>() {
        return Some(format!(
            "datetime.date({}, {}, {})",
            d.0.year(),
            d.0.month(),
            d.0.day()
        ));
    }
    if let Some(d) = v.downcast_object_ref::<PyTimedelta>() {
        return Some(d.repr_text());
    }
    if let Some(t) = v.downcast_object_ref::<PyTime>() {
        let mut parts = vec![t.t.hour().to_string(), t.t.minute().to_string()];
        let us = micros(&t.t);
        if t.t.second() != 0 || us != 0 {
            parts.push(t.t.second().to_string());
        }
        if us != 0 {
            parts.push(us.to_string());
        }
        return Some(format!("datetime.time({})", parts.join(", ")));
    }
    None
}
