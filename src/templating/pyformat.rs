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
    if exp >= 16 || exp < -4 {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
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
enum Num {
    Int(i128),
    Float(f64),
}

fn num(v: &Value) -> Option<Num> {
    match v.kind() {
        ValueKind::Bool => Some(Num::Int(v.is_true() as i128)),
        ValueKind::Number if v.is_integer() => i128::try_from(v.clone()).ok().map(Num::Int),
        ValueKind::Number => f64::try_from(v.clone()).ok().map(Num::Float),
        _ => None,
    }
}

fn as_f64(n: Num) -> f64 {
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

fn type_name(v: &Value) -> &'static str {
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
    match (num(&a), num(&b)) {
        (Some(Num::Int(_)), Some(Num::Int(0))) => {
            Err(err("integer division or modulo by zero"))
        }
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

/// `{% do <expression> %}`: the expression was evaluated for its effects; nothing is printed.
pub fn py_do(_values: Rest<Value>) -> Value {
    Value::from(())
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
                return Ok(Some(n.max(0) as usize));
            }
            let mut n: Option<usize> = None;
            while let Some(&(_, d)) = chars.peek() {
                match d.to_digit(10) {
                    Some(d) => {
                        n = Some(n.unwrap_or(0) * 10 + d as usize);
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
fn float_conv(conv: char, f: f64, prec: usize, alt: bool) -> String {
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
            ("%5.2f", v(3.14159), " 3.14"),
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
            ("%.*f", t(vec![v(2), v(3.14159)]), "3.14"),
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
