//! Arithmetic on datetime values, as Python's operators do it: `datetime ± timedelta`,
//! `date ± timedelta`, `datetime - datetime` (naive or aware, never mixed), `timedelta * n`,
//! `timedelta / x`, `//` and `%`, with Python's `TypeError` texts for the rest.
//!
//! [`crate::templating::pyformat`]'s `+ - * / // %` ask here first ([`binop`], [`divide`]); apart
//! from the values because the operators combine every kind of them.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use minijinja::{Error, Value};

use super::dates::{PyDate, PyDateTime, PyTime};
use super::timedelta::{round_us, PyTimedelta, DAY, MICROS};
use crate::templating::calls::err;

/// `a + b`, `a - b`, `a * b` when a datetime value takes part; `None` when none does.
pub(crate) fn binop(op: char, a: &Value, b: &Value) -> Option<Result<Value, Error>> {
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
pub(crate) fn divide(op: &str, a: &Value, b: &Value) -> Option<Result<Value, Error>> {
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
