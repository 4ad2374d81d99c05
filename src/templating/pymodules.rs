//! Python's `datetime`, `pytz` and `re` as dbt exposes them under `modules`: `datetime.datetime`
//! and `datetime.date` (constructors, `now`, `today`, `strptime`, `fromisoformat`, `strftime`,
//! `isoformat`, attributes), `pytz.timezone(name)` / `pytz.utc`, and `re` functions returning
//! match objects (`group`, `groups`, `start`, `end`).
//!
//! Design decision: values are naive `chrono` dates and datetimes carrying the name of the time
//! zone they were given (if any) rather than converting between zones: what packages do with them
//! is format them into SQL, where the warehouse does any zone arithmetic; printing them the way
//! Python prints them is what keeps compiled SQL identical.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use minijinja::value::{Kwargs, Object, Value};
use minijinja::{Error, State};

use super::calls::{err, int_arg, no_method, str_arg, Namespace};

/// `modules`: `modules.datetime`, `modules.pytz`, `modules.re`.
pub fn modules() -> Value {
    Value::from_object(Namespace {
        name: "ModulesObj",
        members: &[
            ("datetime", || {
                Value::from_object(Namespace {
                    name: "DatetimeModule",
                    members: &[
                        ("datetime", || Value::from_object(DateTimeType)),
                        ("date", || Value::from_object(DateType)),
                    ],
                })
            }),
            ("pytz", || Value::from_object(PytzModule)),
            ("re", || Value::from_object(super::pyre::ReModule)),
        ],
    })
}

fn tz_arg(args: &[Value]) -> Option<String> {
    let kw = args.iter().find_map(|a| Kwargs::try_from(a.clone()).ok())?;
    let v = kw.get::<Option<Value>>("tzinfo").ok().flatten()?;
    v.downcast_object_ref::<TzObj>().map(|t| t.0.clone())
}

/// `datetime.datetime`.
#[derive(Debug)]
struct DateTimeType;

impl Object for DateTimeType {
    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let d = NaiveDate::from_ymd_opt(
            int_arg(args, 0, "year", None)? as i32,
            int_arg(args, 1, "month", None)? as u32,
            int_arg(args, 2, "day", None)? as u32,
        )
        .ok_or_else(|| err("day is out of range for month"))?;
        let t = d
            .and_hms_micro_opt(
                int_arg(args, 3, "hour", Some(0))? as u32,
                int_arg(args, 4, "minute", Some(0))? as u32,
                int_arg(args, 5, "second", Some(0))? as u32,
                int_arg(args, 6, "microsecond", Some(0))? as u32,
            )
            .ok_or_else(|| err("time is out of range"))?;
        Ok(PyDateTime::value(t, tz_arg(args)))
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let s = |i: usize| str_arg(args, i).to_string();
        match method {
            "now" | "today" => Ok(PyDateTime::value(chrono::Local::now().naive_local(), None)),
            "utcnow" => Ok(PyDateTime::value(chrono::Utc::now().naive_utc(), None)),
            "strptime" => NaiveDateTime::parse_from_str(&s(0), &s(1))
                .or_else(|_| {
                    NaiveDate::parse_from_str(&s(0), &s(1))
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                })
                .map(|t| PyDateTime::value(t, None))
                .map_err(|e| {
                    err(format!(
                        "time data '{}' does not match format '{}': {e}",
                        s(0),
                        s(1)
                    ))
                }),
            "fromisoformat" => parse_iso(&s(0))
                .map(|t| PyDateTime::value(t, None))
                .ok_or_else(|| err(format!("Invalid isoformat string: '{}'", s(0)))),
            _ => Err(no_method("datetime", method)),
        }
    }
}

fn parse_iso(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
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

/// `datetime.date`.
#[derive(Debug)]
struct DateType;

impl Object for DateType {
    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let d = NaiveDate::from_ymd_opt(
            int_arg(args, 0, "year", None)? as i32,
            int_arg(args, 1, "month", None)? as u32,
            int_arg(args, 2, "day", None)? as u32,
        )
        .ok_or_else(|| err("day is out of range for month"))?;
        Ok(Value::from_object(PyDate(d)))
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "today" => Ok(Value::from_object(PyDate(
                chrono::Local::now().date_naive(),
            ))),
            "fromisoformat" => {
                let s = str_arg(args, 0);
                NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .map(|d| Value::from_object(PyDate(d)))
                    .map_err(|_| err(format!("Invalid isoformat string: '{s}'")))
            }
            _ => Err(no_method("date", method)),
        }
    }
}

/// A `datetime.date`.
#[derive(Debug)]
pub struct PyDate(pub NaiveDate);

impl Object for PyDate {
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
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let d = self.0;
        match method {
            "strftime" => Ok(Value::from(
                d.format(args.first().and_then(|a| a.as_str()).unwrap_or("%Y-%m-%d"))
                    .to_string(),
            )),
            "isoformat" => Ok(Value::from(d.format("%Y-%m-%d").to_string())),
            "weekday" => Ok(Value::from(d.weekday().num_days_from_monday() as i64)),
            "isoweekday" => Ok(Value::from(d.weekday().number_from_monday() as i64)),
            "replace" => NaiveDate::from_ymd_opt(
                int_arg(args, 9, "year", Some(d.year() as i64))? as i32,
                int_arg(args, 9, "month", Some(d.month() as i64))? as u32,
                int_arg(args, 9, "day", Some(d.day() as i64))? as u32,
            )
            .map(|d| Value::from_object(PyDate(d)))
            .ok_or_else(|| err("day is out of range for month")),
            _ => Err(no_method("date", method)),
        }
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// A `datetime.datetime`, naive or labelled with a time zone name.
#[derive(Debug)]
pub struct PyDateTime {
    pub t: NaiveDateTime,
    pub tz: Option<String>,
}

impl PyDateTime {
    pub fn value(t: NaiveDateTime, tz: Option<String>) -> Value {
        Value::from_object(PyDateTime { t, tz })
    }
    fn offset(&self) -> &'static str {
        match self.tz.as_deref() {
            Some("UTC") | Some("utc") => "+00:00",
            _ => "",
        }
    }
    /// Python's `str()`: `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    fn python_str(&self, sep: char) -> String {
        let frac = if self.t.nanosecond() / 1000 != 0 {
            format!(".{:06}", self.t.nanosecond() / 1000)
        } else {
            String::new()
        };
        format!(
            "{}{sep}{}{frac}{}",
            self.t.format("%Y-%m-%d"),
            self.t.format("%H:%M:%S"),
            self.offset()
        )
    }
}

impl Object for PyDateTime {
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
            "microsecond" => Value::from((t.nanosecond() / 1000) as i64),
            "tzinfo" => match &self.tz {
                Some(z) => Value::from_object(TzObj(z.clone())),
                None => Value::from(()),
            },
            _ => return None,
        })
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "strftime" => Ok(Value::from(
                self.t
                    .format(
                        args.first()
                            .and_then(|a| a.as_str())
                            .unwrap_or("%Y-%m-%d %H:%M:%S"),
                    )
                    .to_string(),
            )),
            "isoformat" => Ok(Value::from(self.python_str('T'))),
            "date" => Ok(Value::from_object(PyDate(self.t.date()))),
            "weekday" => Ok(Value::from(self.t.weekday().num_days_from_monday() as i64)),
            "isoweekday" => Ok(Value::from(self.t.weekday().number_from_monday() as i64)),
            "replace" => {
                let d = NaiveDate::from_ymd_opt(
                    int_arg(args, 9, "year", Some(self.t.year() as i64))? as i32,
                    int_arg(args, 9, "month", Some(self.t.month() as i64))? as u32,
                    int_arg(args, 9, "day", Some(self.t.day() as i64))? as u32,
                )
                .ok_or_else(|| err("day is out of range for month"))?;
                let t = d
                    .and_hms_micro_opt(
                        int_arg(args, 9, "hour", Some(self.t.hour() as i64))? as u32,
                        int_arg(args, 9, "minute", Some(self.t.minute() as i64))? as u32,
                        int_arg(args, 9, "second", Some(self.t.second() as i64))? as u32,
                        int_arg(
                            args,
                            9,
                            "microsecond",
                            Some((self.t.nanosecond() / 1000) as i64),
                        )? as u32,
                    )
                    .ok_or_else(|| err("time is out of range"))?;
                Ok(PyDateTime::value(
                    t,
                    tz_arg(args).or_else(|| self.tz.clone()),
                ))
            }
            "astimezone" => Ok(PyDateTime::value(
                self.t,
                tz_arg(args).or_else(|| {
                    args.first()
                        .and_then(|a| a.downcast_object_ref::<TzObj>().map(|t| t.0.clone()))
                }),
            )),
            _ => Err(no_method("datetime", method)),
        }
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.python_str(' '))
    }
}

/// `modules.pytz`.
#[derive(Debug)]
pub struct PytzModule;

impl Object for PytzModule {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "utc" | "UTC" => Some(Value::from_object(TzObj("UTC".into()))),
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
            "timezone" => Ok(Value::from_object(TzObj(
                args.first()
                    .and_then(|a| a.as_str())
                    .ok_or_else(|| err("pytz.timezone needs a zone name"))?
                    .to_string(),
            ))),
            _ => Err(no_method("pytz", method)),
        }
    }
}

/// A time zone by name.
#[derive(Debug)]
pub struct TzObj(pub String);

impl Object for TzObj {
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "zone" => Some(Value::from(self.0.clone())),
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
            "localize" => {
                let dt = args
                    .first()
                    .and_then(|a| a.downcast_object_ref::<PyDateTime>().map(|d| d.t))
                    .ok_or_else(|| err("localize needs a datetime"))?;
                Ok(PyDateTime::value(dt, Some(self.0.clone())))
            }
            _ => Err(no_method("timezone", method)),
        }
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
