//! `str.format` / `str.format_map` and Python's `format(value, spec)`: replacement fields
//! (`{0}`, `{name.attr[key]}`, `!r`, nested `{:>{width}}`) and the whole format-spec
//! mini-language (fill, align, sign, `#`, `0`, width, grouping, precision, type).
//!
//! Apart from the other `str` methods because it is a language of its own, with its own parser
//! and number printing; the methods reach it through `format` / `format_map`.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, State};

use super::{check_width, pad};
use crate::templating::calls::err;
use crate::templating::pyformat::{as_f64, float_conv, num, type_name, Num};
use crate::templating::pyvalues::{py_repr, py_str};

/// Looks up `{field}`: an index or a name, then `.attr` / `[key]` accessors.
fn field_value(
    state: &State,
    field: &str,
    pos: &[Value],
    kw: Option<&Kwargs>,
    mapping: Option<&Value>,
    auto: &mut usize,
) -> Result<Value, Error> {
    let end = field.find(['.', '[']).unwrap_or(field.len());
    let (first, mut rest) = field.split_at(end);
    let mut v = if first.is_empty() {
        let v = pos.get(*auto).cloned().ok_or_else(|| {
            err(format!(
                "IndexError: Replacement index {auto} out of range for positional args tuple"
            ))
        })?;
        *auto += 1;
        v
    } else if let Ok(i) = first.parse::<usize>() {
        pos.get(i).cloned().ok_or_else(|| {
            err(format!(
                "IndexError: Replacement index {i} out of range for positional args tuple"
            ))
        })?
    } else {
        let found = match (mapping, kw) {
            (Some(m), _) => m
                .get_item(&Value::from(first))
                .ok()
                .filter(|v| !v.is_undefined()),
            (None, Some(k)) => k.get::<Option<Value>>(first).ok().flatten(),
            (None, None) => None,
        };
        found.ok_or_else(|| err(format!("KeyError: '{first}'")))?
    };
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let attr = &r[..end];
            v = v.get_attr(attr)?;
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = r
                .find(']')
                .ok_or_else(|| err("ValueError: Missing ']' in format string"))?;
            let key = &r[..close];
            let key = match key.parse::<i64>() {
                Ok(i) => Value::from(i),
                Err(_) => Value::from(key),
            };
            v = v.get_item(&key)?;
            rest = &r[close + 1..];
        } else {
            return Err(err(
                "ValueError: Only '.' or '[' may follow ']' in format field specifier",
            ));
        }
    }
    let _ = state;
    Ok(v)
}

/// Python's `str.format` / `str.format_map`.
pub(crate) fn format(
    state: &State,
    fmt: &str,
    pos: &[Value],
    kw: Option<&Kwargs>,
    mapping: Option<&Value>,
) -> Result<String, Error> {
    let mut out = String::with_capacity(fmt.len() + 16);
    let mut auto = 0usize;
    let mut chars = fmt.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|x| x.1) == Some('{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek().map(|x| x.1) == Some('}') => {
                chars.next();
                out.push('}');
            }
            '}' => return Err(err("ValueError: Single '}' encountered in format string")),
            '{' => {
                // The field runs to the matching `}` (specs may nest one `{...}`).
                let mut depth = 1;
                let mut end = None;
                for (j, d) in chars.by_ref() {
                    match d {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(j);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let end =
                    end.ok_or_else(|| err("ValueError: expected '}' before end of string"))?;
                let inner = &fmt[i + 1..end];
                let (head, spec) = match inner.find(':') {
                    Some(k) if !inner[..k].contains('[') || inner[..k].contains(']') => {
                        (&inner[..k], &inner[k + 1..])
                    }
                    _ => (inner, ""),
                };
                let (field, conv) = match head.rsplit_once('!') {
                    Some((f, c)) => (f, Some(c)),
                    None => (head, None),
                };
                let v = field_value(state, field, pos, kw, mapping, &mut auto)?;
                let v = match conv {
                    None => v,
                    Some("s") => Value::from(py_str(&v)),
                    Some("r") | Some("a") => Value::from(py_repr(&v)),
                    Some(c) => {
                        return Err(err(format!("ValueError: Unknown conversion specifier {c}")))
                    }
                };
                // Nested replacement fields in the spec (`{:>{width}}`).
                let spec = if spec.contains('{') {
                    format(state, spec, pos, kw, mapping)?
                } else {
                    spec.to_string()
                };
                out.push_str(&format_value(&v, &spec)?);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A parsed format spec: `[[fill]align][sign][#][0][width][grouping][.precision][type]`.
#[derive(Default)]
struct FormatSpec {
    fill: Option<char>,
    align: Option<char>,
    sign: Option<char>,
    alt: bool,
    zero: bool,
    width: usize,
    grouping: Option<char>,
    precision: Option<usize>,
    kind: Option<char>,
}

fn parse_spec(spec: &str) -> Result<FormatSpec, Error> {
    let chars: Vec<char> = spec.chars().collect();
    let mut s = FormatSpec::default();
    let mut i = 0;
    let is_align = |c: char| matches!(c, '<' | '>' | '^' | '=');
    if chars.len() >= 2 && is_align(chars[1]) {
        s.fill = Some(chars[0]);
        s.align = Some(chars[1]);
        i = 2;
    } else if chars.first().is_some_and(|c| is_align(*c)) {
        s.align = Some(chars[0]);
        i = 1;
    }
    if let Some(&c) = chars.get(i) {
        if matches!(c, '+' | '-' | ' ') {
            s.sign = Some(c);
            i += 1;
        }
    }
    if chars.get(i) == Some(&'z') {
        i += 1;
    }
    if chars.get(i) == Some(&'#') {
        s.alt = true;
        i += 1;
    }
    if chars.get(i) == Some(&'0') {
        s.zero = true;
        i += 1;
    }
    while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
        s.width = check_width(s.width.saturating_mul(10).saturating_add(d as usize))?;
        i += 1;
    }
    if let Some(&c) = chars.get(i) {
        if matches!(c, ',' | '_') {
            s.grouping = Some(c);
            i += 1;
        }
    }
    if chars.get(i) == Some(&'.') {
        i += 1;
        let mut p: usize = 0;
        let mut any = false;
        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
            p = check_width(p.saturating_mul(10).saturating_add(d as usize))?;
            i += 1;
            any = true;
        }
        if !any {
            return Err(err("ValueError: Format specifier missing precision"));
        }
        s.precision = Some(p);
    }
    if let Some(&c) = chars.get(i) {
        s.kind = Some(c);
        i += 1;
    }
    if i != chars.len() {
        return Err(err("ValueError: Invalid format specifier"));
    }
    Ok(s)
}

fn group_digits(digits: &str, sep: char, every: usize) -> String {
    let (int, frac) = match digits.find('.') {
        Some(i) => (&digits[..i], &digits[i..]),
        None => (digits, ""),
    };
    let mut out = String::new();
    for (n, c) in int.chars().enumerate() {
        if n > 0 && (int.len() - n) % every == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out + frac
}

/// Python's `format(value, spec)`.
pub(crate) fn format_value(v: &Value, spec: &str) -> Result<String, Error> {
    if spec.is_empty() {
        return Ok(crate::templating::pyformat::py_text(v));
    }
    let s = parse_spec(spec)?;
    let number = num(v).filter(|_| v.kind() != ValueKind::String);
    let Some(n) = number else {
        return format_text(v, &s);
    };
    let (negative, mut body) = number_text(n, &s)?;
    let sign = match (negative, s.sign) {
        (true, _) => "-",
        (false, Some('+')) => "+",
        (false, Some(' ')) => " ",
        _ => "",
    };
    let (fill, align) = match (s.fill, s.align, s.zero) {
        (None, None, true) => ('0', '='),
        (f, a, _) => (f.unwrap_or(' '), a.unwrap_or('>')),
    };
    let len = sign.chars().count() + body.chars().count();
    if align == '=' && len < s.width {
        let pad: String = std::iter::repeat_n(fill, s.width - len).collect();
        // After the sign and any `0x` prefix.
        let (prefix, rest) = ["0x", "0X", "0o", "0b"]
            .iter()
            .find_map(|p| body.strip_prefix(p).map(|r| (p.to_string(), r.to_string())))
            .unwrap_or((String::new(), body.clone()));
        body = format!("{prefix}{pad}{rest}");
        return Ok(format!("{sign}{body}"));
    }
    Ok(pad(&format!("{sign}{body}"), s.width, fill, align))
}

/// `format(value, spec)` of a string (or anything printed as one).
fn format_text(v: &Value, s: &FormatSpec) -> Result<String, Error> {
    if v.kind() != ValueKind::String && v.kind() != ValueKind::Undefined {
        return Err(err(format!(
            "TypeError: unsupported format string passed to {}.__format__",
            type_name(v)
        )));
    }
    if !matches!(s.kind, None | Some('s')) {
        return Err(err(format!(
            "ValueError: Unknown format code '{}' for object of type 'str'",
            s.kind.unwrap_or('s')
        )));
    }
    let text = py_str(v);
    let text: String = match s.precision {
        Some(p) => text.chars().take(p).collect(),
        None => text,
    };
    Ok(pad(
        &text,
        s.width,
        s.fill.unwrap_or(' '),
        s.align.unwrap_or('<'),
    ))
}

/// The text of a number formatted by `s` (digits, prefix, grouping; no sign, no padding) and
/// whether the number is negative.
fn number_text(n: Num, s: &FormatSpec) -> Result<(bool, String), Error> {
    let negative;
    let body = match (n, s.kind) {
        (Num::Int(i), None | Some('d' | 'n')) => {
            negative = i < 0;
            let d = i.unsigned_abs().to_string();
            match s.grouping {
                Some(g) => group_digits(&d, g, 3),
                None => d,
            }
        }
        (Num::Int(i), Some(k @ ('x' | 'X' | 'o' | 'b'))) => {
            negative = i < 0;
            let a = i.unsigned_abs();
            let (digits, prefix) = match k {
                'x' => (format!("{a:x}"), "0x"),
                'X' => (format!("{a:X}"), "0X"),
                'o' => (format!("{a:o}"), "0o"),
                _ => (format!("{a:b}"), "0b"),
            };
            let digits = match s.grouping {
                Some(g) => group_digits(&digits, g, 4),
                None => digits,
            };
            if s.alt {
                format!("{prefix}{digits}")
            } else {
                digits
            }
        }
        (Num::Int(i), Some('c')) => {
            negative = false;
            u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .map(String::from)
                .ok_or_else(|| err("OverflowError: %c arg not in range(0x110000)"))?
        }
        (Num::Float(_), Some(k @ ('d' | 'x' | 'X' | 'o' | 'b' | 'c'))) => {
            return Err(err(format!(
                "ValueError: Unknown format code '{k}' for object of type 'float'"
            )))
        }
        (n, kind) => {
            let f = as_f64(n);
            negative = f.is_sign_negative() && !f.is_nan();
            let a = f.abs();
            let text = match kind {
                Some(k @ ('e' | 'E' | 'f' | 'F' | 'g' | 'G')) => {
                    float_conv(k, a, s.precision.unwrap_or(6), s.alt)
                }
                Some('n') => float_conv('g', a, s.precision.unwrap_or(6), s.alt),
                Some('%') => format!(
                    "{}%",
                    float_conv('f', a * 100.0, s.precision.unwrap_or(6), s.alt)
                ),
                None => match (n, s.precision) {
                    (Num::Int(i), _) => i.unsigned_abs().to_string(),
                    (_, None) => crate::templating::pyformat::py_float(a),
                    (_, Some(p)) => {
                        let p = p.max(1);
                        let exp = if a == 0.0 {
                            0
                        } else {
                            format!("{:.*e}", p - 1, a)
                                .split_once('e')
                                .and_then(|(_, e)| e.parse::<i32>().ok())
                                .unwrap_or(0)
                        };
                        if exp < -4 || exp >= p as i32 - 1 {
                            // Exponent form, trailing zeros dropped (CPython's `g` with
                            // `Py_DTSF_ADD_DOT_0`, which moves to exponents one digit early).
                            let e = float_conv('e', a, p - 1, s.alt);
                            match e.split_once('e') {
                                Some((m, x)) if !s.alt && m.contains('.') => {
                                    format!("{}e{x}", m.trim_end_matches('0').trim_end_matches('.'))
                                }
                                _ => e,
                            }
                        } else {
                            let g = float_conv('g', a, p, s.alt);
                            if g.contains(['.', 'e', 'n', 'i']) {
                                g
                            } else {
                                format!("{g}.0")
                            }
                        }
                    }
                },
                Some(k) => {
                    return Err(err(format!(
                        "ValueError: Unknown format code '{k}' for object of type 'float'"
                    )))
                }
            };
            match s.grouping {
                Some(g) if !text.contains('e') => group_digits(&text, g, 3),
                _ => text,
            }
        }
    };
    Ok((negative, body))
}
