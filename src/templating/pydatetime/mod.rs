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

use std::cmp::Ordering;
use std::sync::{Arc, LazyLock};

use chrono::{
    DateTime, Datelike, Duration, Local, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
    Timelike, Utc,
};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use minijinja::value::{DynObject, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, State};

use super::calls::{err, no_method};

// ---------------------------------------------------------------------------------------------
// Time zones

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
    fn fixed(offset: i32) -> TzInfo {
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
    fn at_utc(&self, utc: &NaiveDateTime) -> TzInfo {
        match &self.kind {
            TzKind::Zone(z, _) => TzInfo::zone_at_utc(*z, utc),
            _ => self.clone(),
        }
    }
    /// `tzname()` / `%Z`.
    fn name(&self) -> String {
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
fn offset_text(offset: i32, colon: bool) -> String {
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
    fn value(t: TzInfo) -> Value {
        Value::from_object(TzObj(t))
    }
}

fn tz_of(v: &Value) -> Option<TzInfo> {
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

// ---------------------------------------------------------------------------------------------
// timedelta

const MICROS: i128 = 1_000_000;
const DAY: i128 = 86_400 * MICROS;

/// A `datetime.timedelta`, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PyTimedelta(pub i128);

impl PyTimedelta {
    pub fn value(us: i128) -> Value {
        Value::from_object(PyTimedelta(us))
    }
    fn parts(&self) -> (i128, i128, i128) {
        let days = self.0.div_euclid(DAY);
        let rest = self.0.rem_euclid(DAY);
        (days, rest / MICROS, rest % MICROS)
    }
    /// As a chrono duration; `None` past what one holds (about 292,000 years, beyond any date).
    fn duration(&self) -> Option<Duration> {
        i64::try_from(self.0).ok().map(Duration::microseconds)
    }
    fn text(&self) -> String {
        let (days, secs, us) = self.parts();
        let mut out = String::new();
        if days != 0 {
            out.push_str(&format!(
                "{days} day{}, ",
                if days.abs() != 1 { "s" } else { "" }
            ));
        }
        out.push_str(&format!(
            "{}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        ));
        if us != 0 {
            out.push_str(&format!(".{us:06}"));
        }
        out
    }
    fn repr_text(&self) -> String {
        let (days, secs, us) = self.parts();
        let mut parts = Vec::new();
        if days != 0 {
            parts.push(format!("days={days}"));
        }
        if secs != 0 {
            parts.push(format!("seconds={secs}"));
        }
        if us != 0 {
            parts.push(format!("microseconds={us}"));
        }
        if parts.is_empty() {
            parts.push("0".into());
        }
        format!("datetime.timedelta({})", parts.join(", "))
    }
}

/// Rounds a float number of microseconds as Python does (ties to even).
fn round_us(x: f64) -> i128 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        (r - x.signum()) as i128
    } else {
        r as i128
    }
}

/// `datetime.timedelta(days, seconds, microseconds, milliseconds, minutes, hours, weeks)`.
fn new_timedelta(args: &[Value]) -> Result<Value, Error> {
    const UNITS: [(&str, f64); 7] = [
        ("days", 86_400e6),
        ("seconds", 1e6),
        ("microseconds", 1.0),
        ("milliseconds", 1e3),
        ("minutes", 60e6),
        ("hours", 3_600e6),
        ("weeks", 604_800e6),
    ];
    let mut total: i128 = 0;
    let mut frac = 0.0f64;
    for (i, (name, scale)) in UNITS.iter().enumerate() {
        let Some(v) = kw_or_pos(args, i, name) else {
            continue;
        };
        if v.is_integer() || v.kind() == minijinja::value::ValueKind::Bool {
            let n = i128::try_from(v).map_err(|_| err("OverflowError"))?;
            total += n * (*scale as i128);
        } else {
            let f = f64::try_from(v.clone()).map_err(|_| {
                err(format!(
                    "TypeError: unsupported type for timedelta {name} component: {}",
                    v.kind()
                ))
            })?;
            frac += f * scale;
        }
    }
    Ok(PyTimedelta::value(total + round_us(frac)))
}

impl Object for PyTimedelta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn is_true(self: &Arc<Self>) -> bool {
        self.0 != 0
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let (d, s, us) = self.parts();
        Some(Value::from(match key.as_str()? {
            "days" => d as i64,
            "seconds" => s as i64,
            "microseconds" => us as i64,
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
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "total_seconds" => Ok(Value::from(self.0 as f64 / 1e6)),
            _ => Err(no_method("timedelta", method)),
        }
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

// ---------------------------------------------------------------------------------------------
// date

/// A `datetime.date`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PyDate(pub NaiveDate);

impl PyDate {
    pub fn value(d: NaiveDate) -> Value {
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
pub struct PyTime {
    pub t: NaiveTime,
    pub tz: Option<TzInfo>,
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
pub struct PyDateTime {
    pub t: NaiveDateTime,
    pub tz: Option<TzInfo>,
}

impl PyDateTime {
    pub fn value(t: NaiveDateTime, tz: Option<TzInfo>) -> Value {
        Value::from_object(PyDateTime { t, tz })
    }
    /// An aware UTC datetime (`run_started_at`).
    pub fn utc_value(t: DateTime<Utc>) -> Value {
        PyDateTime::value(t.naive_utc(), Some(TzInfo::pytz_utc()))
    }
    /// The UTC instant of an aware datetime.
    fn utc(&self) -> Option<NaiveDateTime> {
        self.tz
            .as_ref()
            .map(|tz| self.t - Duration::seconds(tz.offset as i64))
    }
    /// Python's `isoformat(sep, timespec)`.
    fn iso(&self, sep: &str, timespec: &str) -> String {
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
    fn repr_text(&self) -> String {
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

fn str_arg(args: &[Value], i: usize, name: &str) -> Result<String, Error> {
    kw_or_pos(args, i, name)
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or_else(|| err(format!("TypeError: {name} must be a string")))
}

// ---------------------------------------------------------------------------------------------
// The module and its types

/// `modules.datetime`.
#[derive(Debug)]
pub struct DatetimeModule;

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

// ---------------------------------------------------------------------------------------------
// Arithmetic

/// `a + b`, `a - b`, `a * b` when a datetime value takes part; `None` when none does.
pub fn binop(op: char, a: &Value, b: &Value) -> Option<Result<Value, Error>> {
    let is_ours = |v: &Value| {
        v.downcast_object_ref::<PyDateTime>().is_some()
            || v.downcast_object_ref::<PyDate>().is_some()
            || v.downcast_object_ref::<PyTimedelta>().is_some()
            || v.downcast_object_ref::<PyTime>().is_some()
    };
    if !is_ours(a) && !is_ours(b) {
        return None;
    }
    let td = |v: &Value| v.downcast_object_ref::<PyTimedelta>().copied();
    let dt = |v: &Value| v.downcast_object_ref::<PyDateTime>().cloned();
    let date = |v: &Value| v.downcast_object_ref::<PyDate>().copied();
    let overflow = || err("OverflowError: date value out of range");
    let shift = |t: NaiveDateTime, d: PyTimedelta| {
        d.duration()
            .and_then(|d| t.checked_add_signed(d))
            .ok_or_else(overflow)
    };
    let shift_date = |x: NaiveDate, d: PyTimedelta| {
        i64::try_from(d.0.div_euclid(DAY))
            .ok()
            .and_then(Duration::try_days)
            .and_then(|d| x.checked_add_signed(d))
            .ok_or_else(overflow)
    };
    let r = match op {
        '+' => match (dt(a), date(a), td(a), dt(b), date(b), td(b)) {
            (Some(x), _, _, _, _, Some(d)) | (_, _, Some(d), Some(x), _, _) => {
                shift(x.t, d).map(|t| PyDateTime::value(t, x.tz))
            }
            (_, Some(x), _, _, _, Some(d)) | (_, _, Some(d), _, Some(x), _) => {
                shift_date(x.0, d).map(PyDate::value)
            }
            (_, _, Some(x), _, _, Some(y)) => Ok(PyTimedelta::value(x.0 + y.0)),
            _ => Err(unsupported('+', a, b)),
        },
        '-' => match (dt(a), date(a), td(a), dt(b), date(b), td(b)) {
            (Some(x), _, _, _, _, Some(d)) => {
                shift(x.t, PyTimedelta(-d.0)).map(|t| PyDateTime::value(t, x.tz))
            }
            (_, Some(x), _, _, _, Some(d)) => shift_date(x.0, PyTimedelta(-d.0)).map(PyDate::value),
            (Some(x), _, _, Some(y), _, _) => match (x.utc(), y.utc()) {
                (Some(p), Some(q)) => Ok(delta_between(p, q)),
                (None, None) => Ok(delta_between(x.t, y.t)),
                _ => Err(err(
                    "TypeError: can't subtract offset-naive and offset-aware datetimes",
                )),
            },
            (_, Some(x), _, _, Some(y), _) => {
                Ok(PyTimedelta::value((x.0 - y.0).num_days() as i128 * DAY))
            }
            (_, _, Some(x), _, _, Some(y)) => Ok(PyTimedelta::value(x.0 - y.0)),
            _ => Err(unsupported('-', a, b)),
        },
        '*' => {
            let (d, n) = match (td(a), td(b)) {
                (Some(d), None) => (d, b),
                (None, Some(d)) => (d, a),
                _ => return Some(Err(unsupported('*', a, b))),
            };
            if n.is_integer() || n.kind() == minijinja::value::ValueKind::Bool {
                i128::try_from(n.clone())
                    .map(|k| PyTimedelta::value(d.0 * k))
                    .map_err(|_| unsupported('*', a, b))
            } else {
                f64::try_from(n.clone())
                    .map(|f| PyTimedelta::value(round_us(d.0 as f64 * f)))
                    .map_err(|_| unsupported('*', a, b))
            }
        }
        _ => Err(unsupported(op, a, b)),
    };
    Some(r)
}

/// `a / b`, `a // b` with a timedelta on the left.
pub fn divide(op: &str, a: &Value, b: &Value) -> Option<Result<Value, Error>> {
    let x = a.downcast_object_ref::<PyTimedelta>()?;
    // Python's floor division and modulo (the remainder takes the divisor's sign).
    let floor = |a: i128, b: i128| {
        let (q, r) = (a / b, a % b);
        if r != 0 && ((r < 0) != (b < 0)) {
            (q - 1, r + b)
        } else {
            (q, r)
        }
    };
    Some(match b.downcast_object_ref::<PyTimedelta>() {
        Some(y) if y.0 == 0 => Err(err("ZeroDivisionError: division by zero")),
        Some(y) if op == "/" => Ok(Value::from(x.0 as f64 / y.0 as f64)),
        Some(y) if op == "%" => Ok(PyTimedelta::value(floor(x.0, y.0).1)),
        Some(y) => Ok(Value::from(floor(x.0, y.0).0 as i64)),
        None if op == "%" => Err(unsupported('%', a, b)),
        None => match (b.is_integer(), f64::try_from(b.clone())) {
            (_, Ok(0.0)) => Err(err("ZeroDivisionError: division by zero")),
            (true, _) if op == "//" => {
                let n = i128::try_from(b.clone()).unwrap_or(1);
                Ok(PyTimedelta::value(floor(x.0, n).0))
            }
            (_, Ok(f)) => Ok(PyTimedelta::value(round_us(x.0 as f64 / f))),
            _ => Err(unsupported(op.chars().next().unwrap_or('/'), a, b)),
        },
    })
}

fn delta_between(a: NaiveDateTime, b: NaiveDateTime) -> Value {
    let d = a - b;
    PyTimedelta::value(
        d.num_microseconds()
            .map(i128::from)
            .unwrap_or((d.num_seconds() as i128) * MICROS),
    )
}

fn type_name(v: &Value) -> String {
    if v.downcast_object_ref::<PyDateTime>().is_some() {
        return "datetime.datetime".into();
    }
    if v.downcast_object_ref::<PyDate>().is_some() {
        return "datetime.date".into();
    }
    if v.downcast_object_ref::<PyTimedelta>().is_some() {
        return "datetime.timedelta".into();
    }
    if v.downcast_object_ref::<PyTime>().is_some() {
        return "datetime.time".into();
    }
    match v.kind() {
        minijinja::value::ValueKind::Number if v.is_integer() => "int".into(),
        minijinja::value::ValueKind::Number => "float".into(),
        minijinja::value::ValueKind::String => "str".into(),
        minijinja::value::ValueKind::None => "NoneType".into(),
        k => k.to_string(),
    }
}

fn unsupported(op: char, a: &Value, b: &Value) -> Error {
    err(format!(
        "TypeError: unsupported operand type(s) for {op}: '{}' and '{}'",
        type_name(a),
        type_name(b)
    ))
}

/// Python's `repr()` of a datetime value, if `v` is one.
pub fn repr(v: &Value) -> Option<String> {
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

// ---------------------------------------------------------------------------------------------
// strftime / strptime / fromisoformat

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Python's `strftime` (glibc's directives in the C locale, `%f` from Python): `%a %A %w %d %b
/// %B %m %y %Y %H %I %p %M %S %f %z %Z %j %U %W %c %x %X %%`, also `%e %u %V %G %g %C %D %F %T %R
/// %r %h %n %t %k %l %s %P`, and the flags `-` (no padding), `_` (spaces) and `0`.
pub fn strftime(t: &NaiveDateTime, tz: Option<&TzInfo>, fmt: &str) -> String {
    let mut out = String::with_capacity(fmt.len() + 16);
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flag = None;
        if let Some(&f) = chars.peek() {
            if matches!(f, '-' | '_' | '0' | '^' | '#') {
                flag = Some(f);
                chars.next();
            }
        }
        let Some(d) = chars.next() else {
            out.push('%');
            break;
        };
        // A number padded to `width` as glibc pads it (`flag` overrides the padding).
        let num = |n: i64, width: usize, pad: char| -> String {
            let pad = match flag {
                Some('-') => return n.to_string(),
                Some('_') => ' ',
                Some('0') => '0',
                _ => pad,
            };
            let s = n.to_string();
            if s.len() >= width {
                s
            } else {
                pad.to_string().repeat(width - s.len()) + &s
            }
        };
        let wd = t.weekday().num_days_from_monday() as usize;
        let hour12 = match t.hour() % 12 {
            0 => 12,
            h => h,
        };
        let text = match d {
            'a' => DAYS[wd][..3].to_string(),
            'A' => DAYS[wd].to_string(),
            'w' => (t.weekday().num_days_from_sunday()).to_string(),
            'u' => (wd + 1).to_string(),
            'd' => num(t.day() as i64, 2, '0'),
            'e' => num(t.day() as i64, 2, ' '),
            'b' | 'h' => MONTHS[t.month0() as usize][..3].to_string(),
            'B' => MONTHS[t.month0() as usize].to_string(),
            'm' => num(t.month() as i64, 2, '0'),
            'y' => num((t.year() % 100) as i64, 2, '0'),
            'Y' => num(t.year() as i64, 1, '0'),
            'C' => num((t.year() / 100) as i64, 2, '0'),
            'G' => num(t.iso_week().year() as i64, 1, '0'),
            'g' => num((t.iso_week().year() % 100) as i64, 2, '0'),
            'V' => num(t.iso_week().week() as i64, 2, '0'),
            'H' => num(t.hour() as i64, 2, '0'),
            'k' => num(t.hour() as i64, 2, ' '),
            'I' => num(hour12 as i64, 2, '0'),
            'l' => num(hour12 as i64, 2, ' '),
            'p' => if t.hour() < 12 { "AM" } else { "PM" }.to_string(),
            'P' => if t.hour() < 12 { "am" } else { "pm" }.to_string(),
            'M' => num(t.minute() as i64, 2, '0'),
            'S' => num(t.second() as i64, 2, '0'),
            'f' => format!("{:06}", micros(&t.time())),
            'j' => num(t.ordinal() as i64, 3, '0'),
            'U' => num(
                (t.ordinal() as i64 + 6 - t.weekday().num_days_from_sunday() as i64) / 7,
                2,
                '0',
            ),
            'W' => num(
                (t.ordinal() as i64 + 6 - t.weekday().num_days_from_monday() as i64) / 7,
                2,
                '0',
            ),
            'z' => tz.map(|z| offset_text(z.offset, false)).unwrap_or_default(),
            'Z' => tz.map(TzInfo::name).unwrap_or_default(),
            's' => {
                let utc = match tz {
                    Some(z) => *t - Duration::seconds(z.offset as i64),
                    None => Local
                        .from_local_datetime(t)
                        .earliest()
                        .map(|l| l.naive_utc())
                        .unwrap_or(*t),
                };
                utc.and_utc().timestamp().to_string()
            }
            'c' => strftime(t, tz, "%a %b %e %H:%M:%S %Y"),
            'x' | 'D' => strftime(t, tz, "%m/%d/%y"),
            'X' | 'T' => strftime(t, tz, "%H:%M:%S"),
            'F' => strftime(t, tz, "%Y-%m-%d"),
            'R' => strftime(t, tz, "%H:%M"),
            'r' => strftime(t, tz, "%I:%M:%S %p"),
            'n' => "\n".into(),
            't' => "\t".into(),
            '%' => "%".into(),
            other => {
                let mut s = String::from('%');
                s.extend(flag);
                s.push(other);
                s
            }
        };
        match flag {
            Some('^') => out.push_str(&text.to_uppercase()),
            _ => out.push_str(&text),
        }
    }
    out
}

static STRPTIME_CACHE: LazyLock<std::sync::Mutex<std::collections::HashMap<String, regex::Regex>>> =
    LazyLock::new(|| std::sync::Mutex::new(std::collections::HashMap::new()));

/// The regular expression Python's `_strptime` builds for a format.
fn strptime_regex(fmt: &str) -> Result<regex::Regex, Error> {
    if let Some(r) = STRPTIME_CACHE.lock().ok().and_then(|c| c.get(fmt).cloned()) {
        return Ok(r);
    }
    let names = |list: &[&str], short: bool| -> String {
        list.iter()
            .map(|n| if short { &n[..3] } else { n })
            .map(|n| n.to_lowercase())
            .collect::<Vec<_>>()
            .join("|")
    };
    let mut re = String::from("(?i)^");
    let mut chars = fmt.chars().peekable();
    let mut seen = std::collections::HashSet::new();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            re.push_str(r"\s+");
            continue;
        }
        if c != '%' {
            re.push_str(&regex::escape(&c.to_string()));
            continue;
        }
        let d = chars
            .next()
            .ok_or_else(|| err("ValueError: stray % in format"))?;
        let group = |name: &str, body: &str| format!("(?P<{name}>{body})");
        let part = match d {
            'd' => group("d", r"3[01]|[12]\d|0[1-9]|[1-9]| [1-9]"),
            'f' => group("f", r"[0-9]{1,6}"),
            'H' => group("H", r"2[0-3]|[0-1]\d|\d"),
            'I' => group("I", r"1[0-2]|0[1-9]|[1-9]"),
            'G' => group("G", r"\d\d\d\d"),
            'j' => group(
                "j",
                r"36[0-6]|3[0-5]\d|[12]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9]",
            ),
            'm' => group("m", r"1[0-2]|0[1-9]|[1-9]"),
            'M' => group("M", r"[0-5]\d|\d"),
            'S' => group("S", r"6[0-1]|[0-5]\d|\d"),
            'U' => group("U", r"5[0-3]|[0-4]\d|\d"),
            'W' => group("W", r"5[0-3]|[0-4]\d|\d"),
            'w' => group("w", r"[0-6]"),
            'u' => group("u", r"[1-7]"),
            'V' => group("V", r"5[0-3]|0[1-9]|[1-4]\d|\d"),
            'y' => group("y", r"\d\d"),
            'Y' => group("Y", r"\d\d\d\d"),
            'z' => group("z", r"[+-]\d\d:?[0-5]\d(?::?[0-5]\d(?:\.\d{1,6})?)?|Z"),
            'A' => group("A", &names(&DAYS, false)),
            'a' => group("a", &names(&DAYS, true)),
            'B' => group("B", &names(&MONTHS, false)),
            'b' | 'h' => group("b", &names(&MONTHS, true)),
            'p' => group("p", "am|pm"),
            'Z' => group("Z", "utc|gmt|[a-z]{3,5}"),
            '%' => "%".to_string(),
            other => {
                return Err(err(format!(
                    "ValueError: '{other}' is a bad directive in format '%{other}'"
                )))
            }
        };
        let key = part.get(4..5).unwrap_or("").to_string();
        if part.starts_with("(?P<") && !seen.insert(key) {
            return Err(err(format!(
                "re.error: redefinition of group name in format '{fmt}'"
            )));
        }
        re.push_str(&part);
    }
    let r = regex::Regex::new(&re).map_err(|e| err(format!("ValueError: {e}")))?;
    if let Ok(mut c) = STRPTIME_CACHE.lock() {
        c.insert(fmt.to_string(), r.clone());
    }
    Ok(r)
}

/// Python's `datetime.strptime(text, format)`.
pub fn strptime(text: &str, fmt: &str) -> Result<(NaiveDateTime, Option<TzInfo>), Error> {
    let re = strptime_regex(fmt)?;
    let nomatch = || {
        err(format!(
            "ValueError: time data '{text}' does not match format '{fmt}'"
        ))
    };
    let c = re.captures(text).ok_or_else(nomatch)?;
    let end = c.get(0).map_or(0, |m| m.end());
    if end != text.len() {
        return Err(err(format!(
            "ValueError: unconverted data remains: {}",
            &text[end..]
        )));
    }
    let get = |k: &str| c.name(k).map(|m| m.as_str().trim());
    let n = |k: &str| get(k).and_then(|v| v.parse::<i64>().ok());
    let mut year = n("Y").unwrap_or_else(|| match n("y") {
        Some(y) if y <= 68 => 2000 + y,
        Some(y) => 1900 + y,
        None => 1900,
    });
    let find = |list: &[&str], v: &str| {
        list.iter()
            .position(|n| n.to_lowercase().starts_with(&v.to_lowercase()))
            .map(|i| i as i64)
    };
    let mut month = n("m")
        .or_else(|| get("B").and_then(|v| find(&MONTHS, v)).map(|i| i + 1))
        .or_else(|| get("b").and_then(|v| find(&MONTHS, v)).map(|i| i + 1))
        .unwrap_or(1);
    let mut day = n("d").unwrap_or(1);
    let mut hour = n("H").unwrap_or(0);
    if let Some(h) = n("I") {
        let pm = get("p").is_some_and(|p| p.eq_ignore_ascii_case("pm"));
        hour = match (h, pm) {
            (12, false) => 0,
            (12, true) => 12,
            (h, true) => h + 12,
            (h, false) => h,
        };
    }
    let minute = n("M").unwrap_or(0);
    let second = n("S").unwrap_or(0).min(59);
    let us = get("f")
        .map(|f| format!("{f:0<6}").parse::<i64>().unwrap_or(0))
        .unwrap_or(0);
    if let Some(j) = n("j") {
        let d = NaiveDate::from_yo_opt(year as i32, j as u32).ok_or_else(nomatch)?;
        month = d.month() as i64;
        day = d.day() as i64;
    } else if let (Some(g), Some(v), Some(u)) = (n("G"), n("V"), n("u")) {
        let d = NaiveDate::from_isoywd_opt(
            g as i32,
            v as u32,
            chrono::Weekday::try_from((u - 1) as u8).map_err(|_| nomatch())?,
        )
        .ok_or_else(nomatch)?;
        year = d.year() as i64;
        month = d.month() as i64;
        day = d.day() as i64;
    }
    let date = date_from(year, month, day)?;
    let time = time_from(hour, minute, second, us)?;
    let tz = match get("z") {
        Some(z) => Some(parse_offset(z).ok_or_else(nomatch)?),
        None => None,
    };
    Ok((date.and_time(time), tz))
}

/// `+05:30`, `-0800`, `+05:30:15.5`, `Z`.
fn parse_offset(z: &str) -> Option<TzInfo> {
    if z.eq_ignore_ascii_case("z") {
        return Some(TzInfo::fixed(0));
    }
    let sign = match z.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = z[1..]
        .chars()
        .take_while(|c| *c != '.')
        .filter(|c| *c != ':')
        .collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4 | 6) {
        return None;
    }
    let part = |i: usize| digits.get(i..i + 2).and_then(|s| s.parse::<i32>().ok());
    let secs = part(0)? * 3600 + part(2).unwrap_or(0) * 60 + part(4).unwrap_or(0);
    if secs >= 86_400 {
        return None;
    }
    Some(TzInfo::fixed(sign * secs))
}

/// `YYYY-MM-DD` or `YYYYMMDD` at the start of `s`, and the rest.
fn parse_iso_date(s: &str) -> Option<(NaiveDate, &str)> {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Option<i64> {
        let part = s.get(from..from + n)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.get(4) == Some(&b'-') {
        let d = date_from(digits(0, 4)?, digits(5, 2)?, digits(8, 2)?).ok()?;
        (b.get(7) == Some(&b'-')).then_some((d, &s[10..]))
    } else {
        let d = date_from(digits(0, 4)?, digits(4, 2)?, digits(6, 2)?).ok()?;
        Some((d, &s[8..]))
    }
}

/// `HH[:MM[:SS[.ffffff]]][offset]` (or without colons).
fn parse_iso_time(s: &str) -> Option<(NaiveTime, Option<TzInfo>)> {
    let split = s.find(['+', '-', 'Z', 'z']).unwrap_or(s.len());
    let (clock, zone) = s.split_at(split);
    let tz = if zone.is_empty() {
        None
    } else {
        Some(parse_offset(zone)?)
    };
    let (hms, frac) = match clock.split_once(['.', ',']) {
        Some((a, f)) => (a, Some(f)),
        None => (clock, None),
    };
    let digits: String = hms.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4 | 6) {
        return None;
    }
    if hms.contains(':') && hms.len() != digits.len() + digits.len() / 2 - 1 {
        return None;
    }
    let part = |i: usize| digits.get(i..i + 2).and_then(|s| s.parse::<i64>().ok());
    let us = match frac {
        Some(f) if !f.is_empty() && f.len() <= 9 && f.chars().all(|c| c.is_ascii_digit()) => {
            format!("{:0<6}", &f[..f.len().min(6)])
                .parse::<i64>()
                .ok()?
        }
        Some(_) => return None,
        None => 0,
    };
    let t = time_from(part(0)?, part(2).unwrap_or(0), part(4).unwrap_or(0), us).ok()?;
    Some((t, tz))
}

/// Python 3.11's `datetime.fromisoformat`.
pub fn parse_iso(s: &str) -> Option<(NaiveDateTime, Option<TzInfo>)> {
    let (date, rest) = parse_iso_date(s)?;
    if rest.is_empty() {
        return Some((date.and_hms_opt(0, 0, 0)?, None));
    }
    let mut chars = rest.chars();
    chars.next()?;
    let (t, tz) = parse_iso_time(chars.as_str())?;
    Some((date.and_time(t), tz))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        super::super::functions::render_python(
            src,
            &[
                ("datetime", Value::from_object(DatetimeModule)),
                ("pytz", Value::from_object(PytzModule)),
            ],
        )
    }

    // Each expected value is what `~/dbtvenv/bin/python` (3.11, pytz) prints for the same
    // expression.
    #[test]
    fn datetime_values_behave_as_python() {
        let cases = [
            ("{{ datetime.timedelta(days=1, hours=2) }}", "1 day, 2:00:00"),
            ("{{ datetime.timedelta(days=-1, hours=2) }}", "-1 day, 2:00:00"),
            ("{{ datetime.timedelta(seconds=-1) }}", "-1 day, 23:59:59"),
            ("{{ datetime.timedelta(weeks=1, minutes=3, seconds=4, microseconds=5) }}", "7 days, 0:03:04.000005"),
            ("{{ datetime.timedelta(milliseconds=1500) }}", "0:00:01.500000"),
            ("{{ datetime.timedelta(hours=1.5) }}", "1:30:00"),
            ("{{ datetime.timedelta(2) }}", "2 days, 0:00:00"),
            ("{{ datetime.timedelta(days=2) * 3 }}", "6 days, 0:00:00"),
            ("{{ datetime.timedelta(hours=1) * 1.5 }}", "1:30:00"),
            ("{{ datetime.timedelta(days=1, seconds=5).total_seconds() }}", "86405.0"),
            ("{{ datetime.timedelta(days=-1, hours=2).days }} {{ datetime.timedelta(days=-1, hours=2).seconds }}", "-1 7200"),
            ("{{ [datetime.timedelta(days=1, seconds=5)] }}", "[datetime.timedelta(days=1, seconds=5)]"),
            ("{{ datetime.datetime(2024, 1, 31, 12) + datetime.timedelta(days=1, hours=13) }}", "2024-02-02 01:00:00"),
            ("{{ datetime.date(2024, 3, 1) - datetime.timedelta(days=1) }}", "2024-02-29"),
            ("{{ datetime.date(2024, 3, 1) - datetime.date(2024, 1, 1) }}", "60 days, 0:00:00"),
            ("{{ datetime.datetime(2024, 3, 1) - datetime.datetime(2024, 1, 1, 6, 30) }}", "59 days, 17:30:00"),
            ("{{ datetime.timedelta(days=1) + datetime.date(2024, 1, 1) }}", "2024-01-02"),
            ("{{ datetime.datetime(2024, 1, 1) < datetime.datetime(2024, 1, 2) }} {{ datetime.date(2024, 1, 1) == datetime.date(2024, 1, 1) }} {{ datetime.timedelta(hours=24) == datetime.timedelta(days=1) }}", "True True True"),
            ("{{ datetime.datetime(2024, 5, 1, 13, 4, 5, 123).strftime('%Y-%m-%d %H:%M:%S.%f %a %A %b %B %y %I %p %j %U %W %w %u %V %G %c %x %X %% %-d %-m %e|%z|%Z') }}", "2024-05-01 13:04:05.000123 Wed Wednesday May May 24 01 PM 122 17 18 3 3 18 2024 Wed May  1 13:04:05 2024 05/01/24 13:04:05 % 1 5  1||"),
            ("{{ datetime.date(2024, 5, 1).strftime('%Y%m%d %H:%M %j') }}", "20240501 00:00 122"),
            ("{{ datetime.datetime.strptime('2024-05-01 13:04:05', '%Y-%m-%d %H:%M:%S') }}", "2024-05-01 13:04:05"),
            ("{{ datetime.datetime.strptime('1/5/24 1:04 PM', '%m/%d/%y %I:%M %p') }}", "2024-01-05 13:04:00"),
            ("{{ datetime.datetime.strptime('01 May 2024', '%d %b %Y') }}", "2024-05-01 00:00:00"),
            ("{{ datetime.datetime.strptime('2024-05-01T10:00:00+0530', '%Y-%m-%dT%H:%M:%S%z') }}", "2024-05-01 10:00:00+05:30"),
            ("{{ datetime.datetime.strptime('2024-05-01 12:00:00.5', '%Y-%m-%d %H:%M:%S.%f') }}", "2024-05-01 12:00:00.500000"),
            ("{{ datetime.datetime.fromisoformat('2026-08-15T12:00:00+00:00') }}", "2026-08-15 12:00:00+00:00"),
            ("{{ datetime.datetime.fromisoformat('2026-08-15 12:00') }}", "2026-08-15 12:00:00"),
            ("{{ datetime.datetime.fromisoformat('2026-08-15') }}", "2026-08-15 00:00:00"),
            ("{{ datetime.datetime.fromisoformat('2026-08-15T12:00:00Z') }}", "2026-08-15 12:00:00+00:00"),
            ("{{ datetime.datetime.fromisoformat('2026-08-15T12:00:00.25-03:00') }}", "2026-08-15 12:00:00.250000-03:00"),
            ("{{ datetime.datetime(2024, 5, 1, 13, 4, 5).replace(day=2, hour=0) }}", "2024-05-02 00:04:05"),
            ("{{ datetime.datetime(2024, 5, 1).weekday() }} {{ datetime.datetime(2024, 5, 1).isoweekday() }} {{ datetime.datetime(2024, 5, 1, 3).date() }}", "2 3 2024-05-01"),
            ("{{ datetime.datetime.combine(datetime.date(2024, 5, 1), datetime.time(3, 4)) }} {{ datetime.time(3, 4, 5) }} {{ datetime.time(3, 4, 5, 6).isoformat() }}", "2024-05-01 03:04:00 03:04:05 03:04:05.000006"),
            ("{{ datetime.datetime(2024, 5, 1, 3).isoformat() }} {{ datetime.datetime(2024, 5, 1, 3, 0, 0, 5).isoformat() }} {{ datetime.datetime(2024, 5, 1, 3).isoformat(' ') }}", "2024-05-01T03:00:00 2024-05-01T03:00:00.000005 2024-05-01 03:00:00"),
            ("{{ datetime.datetime(2024, 5, 1).isocalendar() }} {{ datetime.date(2024, 5, 1).toordinal() }}", "datetime.IsoCalendarDate(year=2024, week=18, weekday=3) 739007"),
            ("{{ datetime.datetime(2024, 5, 1, tzinfo=pytz.utc).timestamp() }} {{ datetime.datetime(2024, 5, 1, tzinfo=pytz.utc) }}", "1714521600.0 2024-05-01 00:00:00+00:00"),
            ("{{ pytz.timezone('America/New_York').localize(datetime.datetime(2024, 7, 1, 12)).astimezone(pytz.utc) }}", "2024-07-01 16:00:00+00:00"),
            ("{{ pytz.utc.localize(datetime.datetime(2024, 7, 1, 12)).astimezone(pytz.timezone('Asia/Kolkata')) }}", "2024-07-01 17:30:00+05:30"),
            ("{{ pytz.timezone('America/New_York').localize(datetime.datetime(2024, 7, 1, 12)).strftime('%Z %z') }}", "EDT -0400"),
            ("{{ pytz.timezone('Europe/Paris').localize(datetime.datetime(2024, 1, 1)) - pytz.utc.localize(datetime.datetime(2024, 1, 1)) }}", "-1 day, 23:00:00"),
            ("{{ datetime.datetime(2024, 5, 1, tzinfo=pytz.timezone('Europe/Paris')) }}", "2024-05-01 00:00:00+00:09"),
            ("{{ datetime.datetime(1997, 9, 29, 6, 14, 0, tzinfo=pytz.timezone('America/Los_Angeles')) }}", "1997-09-29 06:14:00-07:53"),
            ("{{ [datetime.datetime(2024, 5, 1, 3)] }} {{ [datetime.date(2024, 5, 1)] }}", "[datetime.datetime(2024, 5, 1, 3, 0)] [datetime.date(2024, 5, 1)]"),
            ("{{ datetime.datetime.fromisoformat('2024-05-01T00:00:00+05:30').tzinfo }} {{ datetime.datetime.fromisoformat('2024-05-01T00:00:00+00:00').tzinfo }}", "UTC+05:30 UTC"),
            ("{{ datetime.datetime(2024, 5, 1, 3, tzinfo=pytz.timezone('America/New_York')).strftime('%Z %z') }}", "LMT -0456"),
            ("{{ pytz.timezone('America/New_York').localize(datetime.datetime(2024, 3, 10, 2, 30)) }}", "2024-03-10 02:30:00-05:00"),
            ("{{ pytz.timezone('America/New_York').localize(datetime.datetime(2024, 11, 3, 1, 30)) }}", "2024-11-03 01:30:00-05:00"),
            ("{% set ny = pytz.timezone('America/New_York') %}{{ ny.normalize(ny.localize(datetime.datetime(2024, 3, 9, 12)) + datetime.timedelta(days=1)) }} {{ ny.localize(datetime.datetime(2024, 3, 9, 12)) + datetime.timedelta(days=1) }}", "2024-03-10 13:00:00-04:00 2024-03-10 12:00:00-05:00"),
            ("{{ datetime.datetime(2024, 1, 1) + datetime.timedelta(microseconds=1) }} {{ datetime.datetime.fromtimestamp(0, pytz.utc) }} {{ datetime.date(2024, 5, 1).replace(year=2023) }}", "2024-01-01 00:00:00.000001 1970-01-01 00:00:00+00:00 2023-05-01"),
            ("{{ datetime.date(2024, 2, 29).ctime() }} {{ pytz.timezone('America/Los_Angeles') }} {{ pytz.utc }}", "Thu Feb 29 00:00:00 2024 America/Los_Angeles UTC"),
        ];
        let mut bad = Vec::new();
        for (src, want) in cases {
            let got = render(src);
            if got != want {
                bad.push(format!("{src}\n  want {want}\n  got  {got}"));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}
