//! Python's printf-style formatting, `fmt % args`: conversion specs (`%(key)-+ 0#*.*d`), how
//! each conversion prints a value (`%s %r %d %x %e %f %g %c` ...), and padding.
//!
//! Apart from the number rules in `mod.rs` because it is its own little language; `%` reaches
//! it through [`super::py_mod`] when the left side is a string. [`float_conv`] is shared with
//! `str.format` ([`crate::templating::pystr`]).

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

use super::{as_f64, err, num, py_text, type_name, Num};
use crate::templating::pyvalues::{py_repr, PyList, PyTuple};

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
pub(crate) fn percent_format(fmt: &str, args: &Value) -> Result<String, Error> {
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
