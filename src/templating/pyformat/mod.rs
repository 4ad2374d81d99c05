//! Python's numbers as templates see them in Jinja2: how floats print (`repr`), `%` (string
//! formatting, and modulo with the divisor's sign) and `//` (floor division), which
//! [`super::syntax`] rewrites into `__sluice_mod` / `__sluice_floordiv` calls.

use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Error, ErrorKind};

use super::pyvalues::{py_repr, py_str, PyList, PyTuple};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Python's `repr(float)`: the shortest digits that read back, `1e+16` / `1e-05` outside
/// `1e-4 <= |x| < 1e16`, `.0` on whole numbers, `nan`, `inf`.
pub fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf" } else { "inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // Python's rule: exponent notation when the decimal point would sit 17 or more digits in,
    // or 4 or more zeros after the point.
    if !(-4..16).contains(&exp) {
        format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    } else {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    }
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
pub fn py_mod(a: Value, b: Value) -> Result<Value, Error> {
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
pub fn py_floordiv(a: Value, b: Value) -> Result<Value, Error> {
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
pub fn py_truediv(a: Value, b: Value) -> Result<Value, Error> {
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
pub fn py_pow(a: Value, b: Value) -> Result<Value, Error> {
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
pub fn py_add(a: Value, b: Value) -> Result<Value, Error> {
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
pub fn py_sub(a: Value, b: Value) -> Result<Value, Error> {
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
pub fn py_mul(a: Value, b: Value) -> Result<Value, Error> {
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
pub fn int_filter(value: Value, default: Option<Value>, base: Option<u32>) -> Result<Value, Error> {
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
pub fn float_filter(value: Value, default: Option<Value>) -> Value {
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
pub fn round_filter(
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
pub fn py_do(_values: Rest<Value>) -> Value {
    Value::from(())
}

/// The largest width or precision of a `%` conversion. Python would try to allocate any width
/// (and run out of memory); one this large is a mistake, reported instead of a crash.
const MAX_WIDTH: usize = 10_000_000;

fn width_ok(n: usize) -> Result<usize, Error> {
    if n > MAX_WIDTH {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("ValueError: width or precision {n} is too big (at most {MAX_WIDTH})"),
        ));
    }
    Ok(n)
}

/// One `%` conversion: `%[(key)][flags][width][.precision]type`.
#[derive(Default)]
struct Spec {
    key: Option<String>,
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

/// Python's `fmt % args` (printf-style formatting) with `%s %r %a %d %i %u %o %x %X %e %E %f %F
/// %g %G %c %%`, flags `-+ 0#`, width and precision (also `*`), and `%(key)s` with a mapping.
pub fn percent_format(fmt: &str, args: &Value) -> Result<String, Error> {
    let mapping = args.kind() == ValueKind::Map;
    let tuple = args.downcast_object_ref::<PyTuple>().is_some();
    let items: Vec<Value> = if tuple {
        args.try_iter()?.collect()
    } else if args.kind() == ValueKind::Seq && args.downcast_object_ref::<PyList>().is_none() {
        // A sequence minijinja made (a pair from a map's `.items()`, a `loop` value) may stand
        // for a Python tuple: spread it when the format wants exactly that many values.
        let seq: Vec<Value> = args.try_iter()?.collect();
        if seq.len() != 1 && count_conversions(fmt) == seq.len() {
            seq
        } else {
            vec![args.clone()]
        }
    } else {
        vec![args.clone()]
    };
    let mut next = 0usize;
    let mut used_mapping = false;
    let take = |next: &mut usize| -> Result<Value, Error> {
        let v = items
            .get(*next)
            .cloned()
            .ok_or_else(|| err("not enough arguments for format string"))?;
        *next += 1;
        Ok(v)
    };
    let mut out = String::with_capacity(fmt.len() + 16);
    let mut chars = fmt.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        if chars.peek().map(|x| x.1) == Some('(') {
            chars.next();
            let mut depth = 1;
            let mut key = String::new();
            for (_, k) in chars.by_ref() {
                match k {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                key.push(k);
            }
            spec.key = Some(key);
        }
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.left = true,
                '0' => spec.zero = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alt = true,
                _ => break,
            }
            chars.next();
        }
        let read_num = |chars: &mut std::iter::Peekable<std::str::CharIndices>,
                        next: &mut usize|
         -> Result<Option<usize>, Error> {
            if chars.peek().map(|x| x.1) == Some('*') {
                chars.next();
                let v = take(next)?;
                let n = i64::try_from(v).map_err(|_| err("* wants int"))?;
                return width_ok(n.max(0) as usize).map(Some);
            }
            let mut n: Option<usize> = None;
            while let Some(&(_, d)) = chars.peek() {
                match d.to_digit(10) {
                    Some(d) => {
                        let v = n
                            .unwrap_or(0)
                            .checked_mul(10)
                            .and_then(|v| v.checked_add(d as usize))
                            .unwrap_or(usize::MAX);
                        n = Some(width_ok(v)?);
                        chars.next();
                    }
                    None => break,
                }
            }
            Ok(n)
        };
        spec.width = read_num(&mut chars, &mut next)?;
        if chars.peek().map(|x| x.1) == Some('.') {
            chars.next();
            spec.precision = Some(read_num(&mut chars, &mut next)?.unwrap_or(0));
        }
        while matches!(chars.peek().map(|x| x.1), Some('h' | 'l' | 'L')) {
            chars.next();
        }
        let Some((_, conv)) = chars.next() else {
            return Err(err("incomplete format"));
        };
        if conv == '%' && spec.key.is_none() {
            out.push('%');
            continue;
        }
        let value = match &spec.key {
            Some(k) => {
                if !mapping {
                    return Err(err("format requires a mapping"));
                }
                used_mapping = true;
                let v = args.get_item(&Value::from(k.as_str()))?;
                if v.is_undefined() {
                    return Err(err(format!("KeyError: '{k}'")));
                }
                v
            }
            None => take(&mut next)?,
        };
        let text = convert(conv, &value, &spec)?;
        pad(&mut out, &text, &spec, conv);
    }
    if next < items.len() && !(mapping && (used_mapping || !tuple)) {
        return Err(err("not all arguments converted during string formatting"));
    }
    Ok(out)
}

/// How many values a format consumes (`%%` and `%(key)s` take none, `*` takes one).
fn count_conversions(fmt: &str) -> usize {
    let mut n = 0;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        if chars.peek() == Some(&'(') {
            return 0;
        }
        for c in chars.by_ref() {
            match c {
                '*' => n += 1,
                '-' | '+' | ' ' | '#' | '.' | 'h' | 'l' | 'L' | '0'..='9' => {}
                '%' => break,
                _ => {
                    n += 1;
                    break;
                }
            }
        }
    }
    n
}

fn convert(conv: char, v: &Value, spec: &Spec) -> Result<String, Error> {
    let number = || {
        num(v).ok_or_else(|| {
            err(format!(
                "%{conv} format: a real number is required, not {}",
                type_name(v)
            ))
        })
    };
    Ok(match conv {
        's' => {
            let s = py_text(v);
            match spec.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            }
        }
        'r' | 'a' => {
            let s = py_repr(v);
            match spec.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            }
        }
        'd' | 'i' | 'u' => {
            let i = match number()? {
                Num::Int(i) => i,
                Num::Float(f) => f.trunc() as i128,
            };
            signed(i < 0, i.unsigned_abs().to_string(), spec)
        }
        'o' | 'x' | 'X' => {
            let i = match number()? {
                Num::Int(i) => i,
                Num::Float(_) => {
                    return Err(err(format!(
                        "%{conv} format: an integer is required, not float"
                    )))
                }
            };
            let a = i.unsigned_abs();
            let digits = match conv {
                'o' => format!("{}{a:o}", if spec.alt { "0o" } else { "" }),
                'x' => format!("{}{a:x}", if spec.alt { "0x" } else { "" }),
                _ => format!("{}{a:X}", if spec.alt { "0X" } else { "" }),
            };
            signed(i < 0, digits, spec)
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            let f = as_f64(number()?);
            let body = float_conv(conv, f.abs(), spec.precision.unwrap_or(6), spec.alt);
            signed(f.is_sign_negative() && !f.is_nan(), body, spec)
        }
        'c' => match num(v) {
            Some(Num::Int(i)) => u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .map(String::from)
                .ok_or_else(|| err("%c arg not in range(0x110000)"))?,
            _ => match v.as_str() {
                Some(s) if s.chars().count() == 1 => s.to_string(),
                _ => return Err(err("%c requires int or char")),
            },
        },
        other => {
            return Err(err(format!(
                "unsupported format character '{other}' (0x{:x})",
                other as u32
            )))
        }
    })
}

fn signed(negative: bool, digits: String, spec: &Spec) -> String {
    let sign = if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    format!("{sign}{digits}")
}

/// `%e %f %g` of a non-negative number.
pub(crate) fn float_conv(conv: char, f: f64, prec: usize, alt: bool) -> String {
    if f.is_nan() {
        return if conv.is_uppercase() { "NAN" } else { "nan" }.into();
    }
    if f.is_infinite() {
        return if conv.is_uppercase() { "INF" } else { "inf" }.into();
    }
    let upper = conv.is_uppercase();
    let s = match conv.to_ascii_lowercase() {
        'f' => {
            let s = format!("{f:.prec$}");
            if alt && prec == 0 {
                format!("{s}.")
            } else {
                s
            }
        }
        'e' => exp_format(f, prec, alt),
        _ => {
            let p = prec.max(1);
            let exp = if f == 0.0 {
                0
            } else {
                let s = format!("{:.*e}", p - 1, f);
                s.split_once('e')
                    .and_then(|(_, e)| e.parse::<i32>().ok())
                    .unwrap_or(0)
            };
            let mut s = if exp >= -4 && exp < p as i32 {
                let decimals = (p as i32 - 1 - exp).max(0) as usize;
                format!("{f:.decimals$}")
            } else {
                exp_format(f, p - 1, alt)
            };
            if !alt {
                let (m, e) = match s.find('e') {
                    Some(i) => (s[..i].to_string(), s[i..].to_string()),
                    None => (s.clone(), String::new()),
                };
                let m = if m.contains('.') {
                    m.trim_end_matches('0').trim_end_matches('.').to_string()
                } else {
                    m
                };
                s = format!("{m}{e}");
            }
            s
        }
    };
    if upper {
        s.to_uppercase()
    } else {
        s
    }
}

/// `1.234568e+04`: Python's exponent has a sign and at least two digits.
fn exp_format(f: f64, prec: usize, alt: bool) -> String {
    let s = format!("{f:.prec$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let dot = if alt && prec == 0 { "." } else { "" };
    format!(
        "{m}{dot}e{}{:02}",
        if e < 0 { '-' } else { '+' },
        e.unsigned_abs()
    )
}

fn pad(out: &mut String, text: &str, spec: &Spec, conv: char) {
    let len = text.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.push_str(text);
        return;
    }
    let fill = width - len;
    if spec.left {
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && !matches!(conv, 's' | 'r' | 'a' | 'c') {
        let (sign, rest) = match text.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (Some(c), &text[1..]),
            _ => (None, text),
        };
        let (prefix, digits) = ["0x", "0X", "0o"]
            .iter()
            .find_map(|p| rest.strip_prefix(p).map(|d| (*p, d)))
            .unwrap_or(("", rest));
        out.extend(sign);
        out.push_str(prefix);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(text);
    }
}

/// Python's `str()` of any template value (an undefined value is empty, as in Jinja2).
pub fn py_text(v: &Value) -> String {
    if v.is_undefined() {
        return String::new();
    }
    py_str(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v<T: Into<Value>>(x: T) -> Value {
        x.into()
    }

    /// Found by the fuzzer: `'%99999999999999999999d' % 1` overflowed a `String`'s capacity.
    #[test]
    fn huge_widths_are_errors() {
        for fmt in [
            "%99999999999999999999d",
            "%99999999999s",
            "%.99999999999f",
            "%0123456789012d",
        ] {
            let e = percent_format(fmt, &v(1)).unwrap_err().to_string();
            assert!(e.contains("too big"), "{fmt}: {e}");
        }
        assert!(percent_format("%*d", &Value::from(vec![v(100_000_000_000i64), v(1)])).is_err());
        assert_eq!(percent_format("%5d", &v(1)).unwrap(), "    1");
    }

    // Expected values printed by Python 3 (`repr(x)`, `fmt % args`).
    #[test]
    fn floats_print_as_python_prints_them() {
        for (f, want) in [
            (1000.0, "1000.0"),
            (0.0025, "0.0025"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-2.5, "-2.5"),
            (1e20, "1e+20"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(py_float(f), want, "{f}");
        }
    }

    #[test]
    fn percent_formats_as_python() {
        let t = |items: Vec<Value>| PyTuple::value(items);
        let cases: Vec<(&str, Value, &str)> = vec![
            ("%s", v(1.5), "1.5"),
            ("%d", v(3.7), "3"),
            ("%5.2f", v(3.14158), " 3.14"),
            ("%-5d|", v(42), "42   |"),
            ("%05d", v(-42), "-0042"),
            ("%+d", v(5), "+5"),
            ("%#x", v(255), "0xff"),
            ("%X", v(255), "FF"),
            ("%#o", v(8), "0o10"),
            ("%e", v(12345.678), "1.234568e+04"),
            ("%.2e", v(0.000123), "1.23e-04"),
            ("%g", v(12345.678), "12345.7"),
            ("%g", v(0.0001), "0.0001"),
            ("%g", v(1e-5), "1e-05"),
            ("%g", v(123456789.0), "1.23457e+08"),
            ("%.3g", v(1234.5), "1.23e+03"),
            ("%#g", v(1.0), "1.00000"),
            ("%g", v(100.0), "100"),
            ("%r", v("a"), "'a'"),
            ("%s", v(()), "None"),
            ("%s", v(true), "True"),
            ("%d", v(true), "1"),
            ("%c", v(65), "A"),
            ("%10s|", v("ab"), "        ab|"),
            ("%.1s", v("abc"), "a"),
            ("100%%", t(vec![]), "100%"),
            ("%s", v(vec![v(1), v("a")]), "[1, 'a']"),
            ("%s-%s", t(vec![v("a"), v(2)]), "a-2"),
            ("%s-%s", v(vec![v("a"), v(2)]), "a-2"),
            ("% d", v(5), " 5"),
            ("%.0f", v(2.5), "2"),
            ("%.0f", v(3.5), "4"),
            ("%s", v(1e20), "1e+20"),
            ("%*d", t(vec![v(5), v(3)]), "    3"),
            ("%.*f", t(vec![v(2), v(3.14158)]), "3.14"),
            ("%E", v(1.5), "1.500000E+00"),
            ("%G", v(1e-10), "1E-10"),
        ];
        for (fmt, args, want) in cases {
            let got = percent_format(fmt, &args).unwrap_or_else(|e| e.to_string());
            assert_eq!(got, want, "{fmt} % {args:?}");
        }
        let mut m = indexmap::IndexMap::new();
        m.insert(Value::from("a"), Value::from("x"));
        m.insert(Value::from("b"), Value::from(2));
        let d = Value::from(m);
        assert_eq!(percent_format("%(a)s-%(b)d", &d).unwrap(), "x-2");
        assert!(percent_format("%s %s", &Value::from("a")).is_err());
        assert!(percent_format("%s", &t(vec![v(1), v(2)])).is_err());
        assert_eq!(
            percent_format("%s", &PyList::value(vec![v(1), v(2)])).unwrap(),
            "[1, 2]"
        );
    }

    // Expected values printed by `~/dbtvenv/bin/python` rendering `{{ x | int }}` with Jinja2.
    #[test]
    fn int_and_float_filters_as_jinja2() {
        let i = |x: Value| int_filter(x, None, None).unwrap().to_string();
        assert_eq!(i(v("-1")), "-1");
        assert_eq!(i(v(" 4 ")), "4");
        assert_eq!(i(v("4.5")), "4");
        assert_eq!(i(v("abc")), "0");
        assert_eq!(i(v("1_000")), "1000");
        assert_eq!(i(v(4.7)), "4");
        assert_eq!(i(v(true)), "1");
        assert_eq!(i(v(())), "0");
        assert_eq!(
            int_filter(v("abc"), Some(v(7)), None).unwrap().to_string(),
            "7"
        );
        assert_eq!(
            int_filter(v("0x1A"), Some(v(0)), Some(16))
                .unwrap()
                .to_string(),
            "26"
        );
        let r = |x: Value, p: Option<i32>, m: Option<&str>| {
            py_text(&round_filter(x, p, m.map(str::to_string)).unwrap())
        };
        assert_eq!(r(v(3.14158), Some(2), None), "3.14");
        assert_eq!(r(v(2.5), None, None), "2.0");
        assert_eq!(r(v(3.5), None, None), "4.0");
        assert_eq!(r(v(-2.5), None, None), "-2.0");
        assert_eq!(r(v(1.005), Some(2), None), "1.0");
        assert_eq!(r(v(2.567), Some(1), Some("floor")), "2.5");
        assert_eq!(r(v(2.12), Some(1), Some("ceil")), "2.2");
        assert_eq!(r(v(42), None, None), "42");
        assert_eq!(r(v(1250), Some(-2), None), "1200");
        assert_eq!(r(v(1234.5), Some(-2), None), "1200.0");
        let f = |x: Value| py_text(&float_filter(x, None));
        assert_eq!(f(v("3")), "3.0");
        assert_eq!(f(v("x")), "0.0");
        assert_eq!(f(v("1e3")), "1000.0");
        assert_eq!(f(v(2)), "2.0");
    }

    // `~/dbtvenv/bin/python`: 2 ** -1 == 0.5, 2 ** 10 == 1024, 4 ** 0.5 == 2.0, 7 / 2 == 3.5.
    #[test]
    fn power_and_division_as_python() {
        assert_eq!(py_pow(v(2), v(-1)).unwrap().to_string(), "0.5");
        assert_eq!(py_pow(v(2), v(10)).unwrap().to_string(), "1024");
        assert_eq!(py_text(&py_pow(v(4), v(0.5)).unwrap()), "2.0");
        assert_eq!(py_truediv(v(7), v(2)).unwrap().to_string(), "3.5");
        assert!(py_truediv(v(1), v(0)).is_err());
    }

    #[test]
    fn modulo_and_floor_division_as_python() {
        let m = |a: Value, b: Value| py_mod(a, b).unwrap().to_string();
        let d = |a: Value, b: Value| py_floordiv(a, b).unwrap().to_string();
        assert_eq!(m(v(7), v(3)), "1");
        assert_eq!(m(v(-7), v(3)), "2");
        assert_eq!(m(v(7), v(-3)), "-2");
        assert_eq!(m(v(7.5), v(2)), "1.5");
        assert_eq!(m(v(-7.5), v(2)), "0.5");
        assert_eq!(d(v(7), v(2)), "3");
        assert_eq!(d(v(-7), v(2)), "-4");
        assert_eq!(d(v(7), v(-2)), "-4");
        assert_eq!(d(v(7.0), v(2)), "3.0");
        assert_eq!(d(v(1.0), v(0.1)), "9.0");
        assert!(py_mod(v(1), v(0)).is_err());
        assert!(py_floordiv(v(1), v(0)).is_err());
    }
}
