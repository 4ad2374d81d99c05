//! Python's numbers as templates see them in Jinja2: how floats print (`repr`), `%` (string
//! formatting, and modulo with the divisor's sign) and `//` (floor division), which
//! [`super::syntax`] rewrites into `__sluice_mod` / `__sluice_floordiv` calls.
//!
//! Printf-style formatting (`"%05.2f" % x`) is in `percent.rs` and how a float prints in
//! `float_repr.rs`; this file holds the numbers, the operators and the `int` / `float` / `round`
//! filters.

mod float_repr;
mod percent;
#[cfg(test)]
mod tests;

use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Error, ErrorKind};

use super::pyvalues::{py_str, PyList, PyTuple};

pub(crate) use float_repr::py_float;
pub(crate) use percent::float_conv;
pub(crate) use percent::percent_format;

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// A number operand.
#[derive(Clone, Copy)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

pub(crate) fn num(v: &Value) -> Option<Num> {
    match v.kind() {
        ValueKind::Bool => Some(Num::Int(v.is_true() as i128)),
        ValueKind::Number if v.is_integer() => i128::try_from(v.clone()).ok().map(Num::Int),
        ValueKind::Number => f64::try_from(v.clone()).ok().map(Num::Float),
        _ => None,
    }
}

pub(crate) fn as_f64(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    }
}

fn int_value(i: i128) -> Value {
    match i64::try_from(i) {
        Ok(i) => Value::from(i),
        Err(_) => Value::from(i),
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::Undefined => "Undefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Seq => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

/// CPython's float modulo and floor division (`float_divmod`).
fn float_divmod(vx: f64, wx: f64) -> (f64, f64) {
    let mut m = vx % wx;
    let mut div = (vx - m) / wx;
    if m != 0.0 {
        if (wx < 0.0) != (m < 0.0) {
            m += wx;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(wx);
    }
    let floordiv = if div != 0.0 {
        let f = div.floor();
        if div - f > 0.5 {
            f + 1.0
        } else {
            f
        }
    } else {
        0.0f64.copysign(vx / wx)
    };
    (floordiv, m)
}

fn int_divmod(a: i128, b: i128) -> (i128, i128) {
    let (mut q, mut r) = (a / b, a % b);
    if r != 0 && ((r < 0) != (b < 0)) {
        q -= 1;
        r += b;
    }
    (q, r)
}

/// `a % b` as Python evaluates it.
pub(crate) fn py_mod(a: Value, b: Value) -> Result<Value, Error> {
    if let Some(fmt) = a.as_str() {
        return percent_format(fmt, &b).map(Value::from);
    }
    if let Some(r) = super::pydatetime::divide("%", &a, &b) {
        return r;
    }
    match (num(&a), num(&b)) {
        (Some(Num::Int(_)), Some(Num::Int(0))) => Err(err("integer modulo by zero")),
        (Some(Num::Int(x)), Some(Num::Int(y))) => Ok(int_value(int_divmod(x, y).1)),
        (Some(_), Some(y)) if as_f64(y) == 0.0 => Err(err("float modulo by zero")),
        (Some(x), Some(y)) => Ok(Value::from(float_divmod(as_f64(x), as_f64(y)).1)),
        _ => Err(err(format!(
            "unsupported operand type(s) for %: '{}' and '{}'",
            type_name(&a),
            type_name(&b)
        ))),
    }
}

/// `a // b` as Python evaluates it.
pub(crate) fn py_floordiv(a: Value, b: Value) -> Result<Value, Error> {
    if let Some(r) = super::pydatetime::divide("//", &a, &b) {
        return r;
    }
    match (num(&a), num(&b)) {
        (Some(Num::Int(_)), Some(Num::Int(0))) => Err(err("integer division or modulo by zero")),
        (Some(Num::Int(x)), Some(Num::Int(y))) => Ok(int_value(int_divmod(x, y).0)),
        (Some(_), Some(y)) if as_f64(y) == 0.0 => Err(err("float floor division by zero")),
        (Some(x), Some(y)) => Ok(Value::from(float_divmod(as_f64(x), as_f64(y)).0)),
        _ => Err(err(format!(
            "unsupported operand type(s) for //: '{}' and '{}'",
            type_name(&a),
            type_name(&b)
        ))),
    }
}

/// `a / b` as Python evaluates it (a zero divisor fails; a timedelta divides).
pub(crate) fn py_truediv(a: Value, b: Value) -> Result<Value, Error> {
    if let Some(r) = super::pydatetime::divide("/", &a, &b) {
        return r;
    }
    match (num(&a), num(&b)) {
        (Some(_), Some(y)) if as_f64(y) == 0.0 => Err(err("ZeroDivisionError: division by zero")),
        (Some(x), Some(y)) => Ok(Value::from(as_f64(x) / as_f64(y))),
        _ => Err(unsupported("/", &a, &b)),
    }
}

/// `a ** b` as Python evaluates it (a negative integer exponent gives a float).
pub(crate) fn py_pow(a: Value, b: Value) -> Result<Value, Error> {
    match (num(&a), num(&b)) {
        (Some(Num::Int(x)), Some(Num::Int(y))) if y >= 0 => u32::try_from(y)
            .ok()
            .and_then(|y| x.checked_pow(y))
            .map(int_value)
            .ok_or_else(|| err("OverflowError: integer too large")),
        (Some(Num::Int(0)), Some(Num::Int(_))) => Err(err(
            "ZeroDivisionError: 0.0 cannot be raised to a negative power",
        )),
        (Some(x), Some(y)) => Ok(Value::from(as_f64(x).powf(as_f64(y)))),
        _ => Err(unsupported("**", &a, &b)),
    }
}

/// `a + b` as Python evaluates it: numbers, strings, lists and tuples (a new list or tuple),
/// dates and times with timedeltas.
pub(crate) fn py_add(a: Value, b: Value) -> Result<Value, Error> {
    if let Some(r) = super::pydatetime::binop('+', &a, &b) {
        return r;
    }
    match (num(&a), num(&b)) {
        (Some(Num::Int(x)), Some(Num::Int(y))) => {
            return x
                .checked_add(y)
                .map(int_value)
                .ok_or_else(|| err("OverflowError: integer too large"))
        }
        (Some(x), Some(y)) => return Ok(Value::from(as_f64(x) + as_f64(y))),
        _ => {}
    }
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        return Ok(Value::from(format!("{x}{y}")));
    }
    if a.as_str().is_some() && !b.is_undefined() {
        return Err(err(format!(
            "TypeError: can only concatenate str (not \"{}\") to str",
            type_name(&b)
        )));
    }
    if is_sequence(&a) && is_sequence(&b) {
        let mut items: Vec<Value> = a.try_iter()?.collect();
        items.extend(b.try_iter()?);
        let tuples = a.downcast_object_ref::<PyTuple>().is_some()
            && b.downcast_object_ref::<PyTuple>().is_some();
        return Ok(if tuples {
            PyTuple::value(items)
        } else {
            PyList::value(items)
        });
    }
    Err(unsupported("+", &a, &b))
}

/// `a - b` as Python evaluates it: numbers, dates and times.
pub(crate) fn py_sub(a: Value, b: Value) -> Result<Value, Error> {
    if let Some(r) = super::pydatetime::binop('-', &a, &b) {
        return r;
    }
    match (num(&a), num(&b)) {
        (Some(Num::Int(x)), Some(Num::Int(y))) => x
            .checked_sub(y)
            .map(int_value)
            .ok_or_else(|| err("OverflowError: integer too large")),
        (Some(x), Some(y)) => Ok(Value::from(as_f64(x) - as_f64(y))),
        _ => Err(unsupported("-", &a, &b)),
    }
}

/// `a * b` as Python evaluates it: numbers, a string, list or tuple repeated, a timedelta scaled.
pub(crate) fn py_mul(a: Value, b: Value) -> Result<Value, Error> {
    if let Some(r) = super::pydatetime::binop('*', &a, &b) {
        return r;
    }
    match (num(&a), num(&b)) {
        (Some(Num::Int(x)), Some(Num::Int(y))) => {
            return x
                .checked_mul(y)
                .map(int_value)
                .ok_or_else(|| err("OverflowError: integer too large"))
        }
        (Some(x), Some(y)) => return Ok(Value::from(as_f64(x) * as_f64(y))),
        _ => {}
    }
    let (seq, n) = match (num(&a), num(&b)) {
        (None, Some(Num::Int(n))) => (&a, n),
        (Some(Num::Int(n)), None) => (&b, n),
        _ => return Err(unsupported("*", &a, &b)),
    };
    let n = n.max(0) as usize;
    if let Some(s) = seq.as_str() {
        return Ok(Value::from(s.repeat(n)));
    }
    if is_sequence(seq) {
        let items: Vec<Value> = seq.try_iter()?.collect();
        let repeated: Vec<Value> = std::iter::repeat_n(items, n).flatten().collect();
        return Ok(if seq.downcast_object_ref::<PyTuple>().is_some() {
            PyTuple::value(repeated)
        } else {
            PyList::value(repeated)
        });
    }
    Err(unsupported("*", &a, &b))
}

fn is_sequence(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable)
}

fn unsupported(op: &str, a: &Value, b: &Value) -> Error {
    err(format!(
        "TypeError: unsupported operand type(s) for {op}: '{}' and '{}'",
        type_name(a),
        type_name(b)
    ))
}

/// Python's `int(text, base)`: surrounding whitespace, a sign, `_` between digits, and with base 0
/// or a matching base the `0x` / `0o` / `0b` prefixes.
fn parse_int(text: &str, base: u32) -> Option<i128> {
    let t = text.trim();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = t.to_ascii_lowercase();
    let (base, digits) = match (base, lower.get(..2)) {
        (0 | 16, Some("0x")) => (16, &t[2..]),
        (0 | 8, Some("0o")) => (8, &t[2..]),
        (0 | 2, Some("0b")) => (2, &t[2..]),
        (0, _) if t.len() > 1 && t.starts_with('0') && t.trim_start_matches('0').is_empty() => {
            (10, t)
        }
        (0, _) if t.starts_with('0') && t.len() > 1 => return None,
        (0, _) => (10, t),
        (b, _) => (b, t),
    };
    let digits = digits.strip_prefix('_').unwrap_or(digits);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !(2..=36).contains(&base)
    {
        return None;
    }
    let n = i128::from_str_radix(&digits.replace('_', ""), base).ok()?;
    Some(if neg { -n } else { n })
}

/// Python's `float(text)`: whitespace, `_` between digits, `inf`, `nan`, exponents.
fn parse_float(text: &str) -> Option<f64> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if matches!(body, "inf" | "infinity" | "nan") {
        return lower.parse::<f64>().ok().or(Some(if body == "nan" {
            f64::NAN
        } else if lower.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }));
    }
    if t.contains("__") || t.starts_with('_') || t.ends_with('_') {
        return None;
    }
    let cleaned = t.replace('_', "");
    if cleaned.is_empty()
        || !cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    cleaned.parse::<f64>().ok()
}

/// Jinja2's `int` filter: `int(value, base)`, else `int(float(value))`, else `default` (0).
pub(crate) fn int_filter(
    value: Value,
    default: Option<Value>,
    base: Option<u32>,
) -> Result<Value, Error> {
    let default = default.unwrap_or(Value::from(0));
    let from_float = |f: f64| -> Result<Value, Error> {
        if f.is_infinite() {
            return Err(err("cannot convert float infinity to integer"));
        }
        if f.is_nan() {
            return Ok(default.clone());
        }
        Ok(int_value(f.trunc() as i128))
    };
    if let Some(s) = value.as_str() {
        if let Some(i) = parse_int(s, base.unwrap_or(10)) {
            return Ok(int_value(i));
        }
        return match parse_float(s) {
            Some(f) => from_float(f),
            None => Ok(default),
        };
    }
    match num(&value) {
        Some(Num::Int(i)) => Ok(int_value(i)),
        Some(Num::Float(f)) => from_float(f),
        None => Ok(default),
    }
}

/// Jinja2's `float` filter: `float(value)`, else `default` (0.0).
pub(crate) fn float_filter(value: Value, default: Option<Value>) -> Value {
    let default = default.unwrap_or(Value::from(0.0));
    if let Some(s) = value.as_str() {
        return parse_float(s).map(Value::from).unwrap_or(default);
    }
    match num(&value) {
        Some(n) => Value::from(as_f64(n)),
        None => default,
    }
}

/// Jinja2's `round` filter: `common` is Python's `round(value, precision)` (ties to even, on the
/// float's exact value), `floor` / `ceil` scale by `10 ** precision`.
pub(crate) fn round_filter(
    value: Value,
    precision: Option<i32>,
    method: Option<String>,
) -> Result<Value, Error> {
    let p = precision.unwrap_or(0);
    let method = method.as_deref().unwrap_or("common");
    let n = num(&value).ok_or_else(|| {
        err(format!(
            "type {} doesn't define __round__ method",
            type_name(&value)
        ))
    })?;
    match method {
        "common" => match n {
            Num::Int(i) if p >= 0 => Ok(int_value(i)),
            Num::Int(i) => {
                let f = 10i128.checked_pow(p.unsigned_abs()).unwrap_or(i128::MAX);
                let (q, r) = int_divmod(i, f);
                let q = if 2 * r > f || (2 * r == f && q % 2 != 0) {
                    q + 1
                } else {
                    q
                };
                Ok(int_value(q * f))
            }
            Num::Float(f) if !f.is_finite() => Ok(Value::from(f)),
            Num::Float(f) if p >= 0 => {
                let digits = p as usize;
                Ok(Value::from(
                    format!("{f:.digits$}").parse::<f64>().unwrap_or(f),
                ))
            }
            Num::Float(f) => {
                let scale = 10f64.powi(-p);
                let q = f / scale;
                let r = q.round();
                let r = if (q - q.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
                    r - q.signum()
                } else {
                    r
                };
                Ok(Value::from(r * scale))
            }
        },
        "floor" | "ceil" => {
            let scale = 10f64.powi(p);
            let x = as_f64(n) * scale;
            let x = if method == "floor" {
                x.floor()
            } else {
                x.ceil()
            };
            Ok(Value::from(x / scale))
        }
        _ => Err(err("method must be 'common', 'ceil' or 'floor'")),
    }
}

/// `{% do <expression> %}`: the expression was evaluated for its effects; nothing is printed.
pub(crate) fn py_do(_values: Rest<Value>) -> Value {
    Value::from(())
}

/// Python's `str()` of any template value (an undefined value is empty, as in Jinja2).
pub(crate) fn py_text(v: &Value) -> String {
    if v.is_undefined() {
        return String::new();
    }
    py_str(v)
}
