//! `datetime.timedelta`: a signed count of microseconds, how Python prints it, and its
//! constructor's keyword arithmetic (days, seconds, ..., weeks, with float parts rounded as
//! Python rounds them).
//!
//! Its own module because every other part (arithmetic, `utcoffset()`, `timedelta.min`) builds
//! on it while it depends on nothing but the argument helpers.

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::Duration;
use minijinja::value::{DynObject, Object, ObjectRepr, Value};
use minijinja::{Error, State};

use super::kw_or_pos;
use crate::templating::calls::{err, no_method};

pub(super) const MICROS: i128 = 1_000_000;
pub(super) const DAY: i128 = 86_400 * MICROS;

/// A `datetime.timedelta`, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PyTimedelta(pub(crate) i128);

impl PyTimedelta {
    pub(crate) fn value(us: i128) -> Value {
        Value::from_object(PyTimedelta(us))
    }
    fn parts(&self) -> (i128, i128, i128) {
        let days = self.0.div_euclid(DAY);
        let rest = self.0.rem_euclid(DAY);
        (days, rest / MICROS, rest % MICROS)
    }
    /// As a chrono duration; `None` past what one holds (about 292,000 years, beyond any date).
    pub(super) fn duration(&self) -> Option<Duration> {
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
    pub(super) fn repr_text(&self) -> String {
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
pub(super) fn round_us(x: f64) -> i128 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        (r - x.signum()) as i128
    } else {
        r as i128
    }
}

/// `datetime.timedelta(days, seconds, microseconds, milliseconds, minutes, hours, weeks)`.
pub(super) fn new_timedelta(args: &[Value]) -> Result<Value, Error> {
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
