//! Python's `str` methods on template strings, with Python's semantics: `format` / `format_map`
//! (the whole format-spec mini-language), `split` / `rsplit` (also on runs of whitespace, with
//! `maxsplit`), `startswith` / `endswith` (with tuples and ranges), `find` / `rfind` / `index` /
//! `rindex` / `count`, `center` / `ljust` / `rjust` / `zfill`, `partition` / `rpartition`,
//! `splitlines`, `expandtabs`, `removeprefix` / `removesuffix`, `strip` family, case methods
//! (`title`, `capitalize`, `swapcase`, `casefold`) and the `is...` predicates.
//!
//! Positions are character offsets, as in Python.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, State};

use super::calls::err;
use super::pyformat::{as_f64, float_conv, num, type_name, Num};
use super::pyvalues::{py_repr, py_str, PyList, PyTuple};

fn split_kwargs(args: &[Value]) -> (&[Value], Option<Kwargs>) {
    match args.last() {
        Some(last) if last.is_kwargs() => {
            (&args[..args.len() - 1], Kwargs::try_from(last.clone()).ok())
        }
        _ => (args, None),
    }
}

fn arg(pos: &[Value], kw: &Option<Kwargs>, i: usize, name: &str) -> Option<Value> {
    kw.as_ref()
        .and_then(|k| k.get::<Option<Value>>(name).ok().flatten())
        .or_else(|| pos.get(i).cloned())
}

fn str_arg(v: Option<Value>, what: &str) -> Result<Option<String>, Error> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => v.as_str().map(|s| Some(s.to_string())).ok_or_else(|| {
            err(format!(
                "TypeError: {what} must be str or None, not {}",
                type_name(&v)
            ))
        }),
    }
}

fn int_opt(v: Option<Value>) -> Result<Option<i64>, Error> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => i64::try_from(v)
            .map(Some)
            .map_err(|_| err("TypeError: an integer is required")),
    }
}

/// `s[start:end]` bounds (Python's slice rules) as byte offsets of `s`.
fn window(s: &str, start: Option<i64>, end: Option<i64>) -> (usize, usize) {
    let n = s.chars().count() as i64;
    let clamp = |v: i64| if v < 0 { (n + v).max(0) } else { v.min(n) };
    let a = start.map_or(0, clamp);
    let b = end.map_or(n, clamp);
    let byte = |c: i64| s.char_indices().nth(c as usize).map_or(s.len(), |(i, _)| i);
    if a > b {
        (byte(a), byte(a))
    } else {
        (byte(a), byte(b))
    }
}

fn char_pos(s: &str, byte: usize) -> i64 {
    s[..byte].chars().count() as i64
}

/// `s` padded to `width` with `fill`, aligned `<`, `>` or `^` (as `str.center` places it).
pub fn pad(s: &str, width: usize, fill: char, align: char) -> String {
    let len = s.chars().count();
    if len >= width {
        return s.to_string();
    }
    let marg = width - len;
    let left = match align {
        '<' => 0,
        '>' => marg,
        // CPython's `str.center`: the odd cell goes left when `width` is odd.
        _ => marg / 2 + (marg & width & 1),
    };
    let fill_s = |n: usize| std::iter::repeat_n(fill, n).collect::<String>();
    format!("{}{s}{}", fill_s(left), fill_s(marg - left))
}

fn fill_char(v: Option<Value>) -> Result<char, Error> {
    match v {
        None => Ok(' '),
        Some(v) => {
            let s = v.as_str().unwrap_or("");
            let mut c = s.chars();
            match (c.next(), c.next()) {
                (Some(ch), None) => Ok(ch),
                _ => Err(err(
                    "TypeError: The fill character must be exactly one character long",
                )),
            }
        }
    }
}

/// Python's whitespace-run split (`sep=None`), from the left or the right.
fn split_whitespace(s: &str, maxsplit: i64, right: bool) -> Vec<Value> {
    let mut out: Vec<String> = Vec::new();
    if !right {
        let mut rest = s.trim_start();
        while !rest.is_empty() {
            if maxsplit >= 0 && out.len() as i64 == maxsplit {
                out.push(rest.to_string());
                break;
            }
            match rest.find(char::is_whitespace) {
                Some(i) => {
                    out.push(rest[..i].to_string());
                    rest = rest[i..].trim_start();
                }
                None => {
                    out.push(rest.to_string());
                    break;
                }
            }
        }
    } else {
        let mut rest = s.trim_end();
        while !rest.is_empty() {
            if maxsplit >= 0 && out.len() as i64 == maxsplit {
                out.push(rest.to_string());
                break;
            }
            match rest.rfind(char::is_whitespace) {
                Some(i) => {
                    let w = rest[i..].chars().next().map_or(1, char::len_utf8);
                    out.push(rest[i + w..].to_string());
                    rest = rest[..i].trim_end();
                }
                None => {
                    out.push(rest.to_string());
                    break;
                }
            }
        }
        out.reverse();
    }
    out.into_iter().map(Value::from).collect()
}

fn split_sep(s: &str, sep: &str, maxsplit: i64, right: bool) -> Vec<Value> {
    let parts: Vec<&str> = match (maxsplit < 0, right) {
        (true, _) => s.split(sep).collect(),
        (false, false) => s.splitn(maxsplit as usize + 1, sep).collect(),
        (false, true) => {
            let mut p: Vec<&str> = s.rsplitn(maxsplit as usize + 1, sep).collect();
            p.reverse();
            p
        }
    };
    parts.into_iter().map(Value::from).collect()
}

const LINE_BREAKS: &[char] = &[
    '\n', '\r', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}', '\u{2029}',
];

fn splitlines(s: &str, keepends: bool) -> Vec<Value> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !LINE_BREAKS.contains(&c) {
            continue;
        }
        let mut end = i + c.len_utf8();
        if c == '\r' {
            if let Some(&(j, '\n')) = chars.peek() {
                chars.next();
                end = j + 1;
            }
        }
        out.push(Value::from(if keepends {
            &s[start..end]
        } else {
            &s[start..i]
        }));
        start = end;
    }
    if start < s.len() {
        out.push(Value::from(&s[start..]));
    }
    out
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_cased = false;
    for c in s.chars() {
        if prev_cased {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        prev_cased = c.is_alphabetic();
    }
    out
}

fn is_title(s: &str) -> bool {
    let mut prev_cased = false;
    let mut any = false;
    for c in s.chars() {
        if c.is_uppercase() {
            if prev_cased {
                return false;
            }
            prev_cased = true;
            any = true;
        } else if c.is_lowercase() {
            if !prev_cased {
                return false;
            }
            prev_cased = true;
            any = true;
        } else {
            prev_cased = false;
        }
    }
    any
}

/// A `str` method called on `s`; `None` when Python's `str` has no such method here.
pub fn call(state: &State, s: &str, method: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    let (pos, kw) = split_kwargs(args);
    let a = |i: usize, name: &str| arg(pos, &kw, i, name);
    let result = (|| -> Result<Value, Error> {
        Ok(match method {
            "format" => Value::from(format(state, s, pos, kw.as_ref(), None)?),
            "format_map" => {
                let m = pos.first().cloned().unwrap_or_default();
                Value::from(format(state, s, &[], None, Some(&m))?)
            }
            "split" | "rsplit" => {
                let sep = str_arg(a(0, "sep"), "sep")?;
                let maxsplit = int_opt(a(1, "maxsplit"))?.unwrap_or(-1);
                let right = method == "rsplit";
                PyList::value(match sep {
                    None => split_whitespace(s, maxsplit, right),
                    Some(sep) if sep.is_empty() => return Err(err("ValueError: empty separator")),
                    Some(sep) => split_sep(s, &sep, maxsplit, right),
                })
            }
            "splitlines" => {
                PyList::value(splitlines(s, a(0, "keepends").is_some_and(|v| v.is_true())))
            }
            "startswith" | "endswith" => {
                let what = a(0, "prefix").unwrap_or_default();
                let (from, to) = window(s, int_opt(a(1, "start"))?, int_opt(a(2, "end"))?);
                let part = &s[from..to];
                let test = |p: &str| {
                    if method == "startswith" {
                        part.starts_with(p)
                    } else {
                        part.ends_with(p)
                    }
                };
                let hit = match what.as_str() {
                    Some(p) => test(p),
                    None => {
                        let mut any = false;
                        for p in what.try_iter()? {
                            let p = p.as_str().map(str::to_string).ok_or_else(|| {
                                err(format!(
                                    "TypeError: tuple for {method} must only contain str"
                                ))
                            })?;
                            any |= test(&p);
                        }
                        any
                    }
                };
                Value::from(hit)
            }
            "find" | "rfind" | "index" | "rindex" | "count" => {
                let sub = str_arg(a(0, "sub"), "sub")?.unwrap_or_default();
                let (from, to) = window(s, int_opt(a(1, "start"))?, int_opt(a(2, "end"))?);
                let part = &s[from..to];
                if method == "count" {
                    return Ok(Value::from(if sub.is_empty() {
                        part.chars().count() as i64 + 1
                    } else {
                        part.matches(sub.as_str()).count() as i64
                    }));
                }
                let found = if method.starts_with('r') {
                    part.rfind(sub.as_str())
                } else {
                    part.find(sub.as_str())
                };
                match found {
                    Some(i) => Value::from(char_pos(s, from + i)),
                    None if method.ends_with("index") => {
                        return Err(err("ValueError: substring not found"))
                    }
                    None => Value::from(-1),
                }
            }
            "center" | "ljust" | "rjust" => {
                let width = check_width(int_opt(a(0, "width"))?.unwrap_or(0).max(0) as usize)?;
                let fill = fill_char(a(1, "fillchar"))?;
                let align = match method {
                    "ljust" => '<',
                    "rjust" => '>',
                    _ => '^',
                };
                Value::from(pad(s, width, fill, align))
            }
            "zfill" => {
                let width = check_width(int_opt(a(0, "width"))?.unwrap_or(0).max(0) as usize)?;
                let len = s.chars().count();
                if len >= width {
                    Value::from(s)
                } else {
                    let (sign, rest) = match s.chars().next() {
                        Some(c @ ('+' | '-')) => (c.to_string(), &s[1..]),
                        _ => (String::new(), s),
                    };
                    Value::from(format!("{sign}{}{rest}", "0".repeat(width - len)))
                }
            }
            "partition" | "rpartition" => {
                let sep = str_arg(a(0, "sep"), "sep")?.unwrap_or_default();
                if sep.is_empty() {
                    return Err(err("ValueError: empty separator"));
                }
                let at = if method == "partition" {
                    s.find(sep.as_str())
                } else {
                    s.rfind(sep.as_str())
                };
                let parts = match at {
                    Some(i) => [&s[..i], sep.as_str(), &s[i + sep.len()..]],
                    None if method == "partition" => [s, "", ""],
                    None => ["", "", s],
                };
                PyTuple::value(parts.iter().map(|p| Value::from(*p)).collect())
            }
            "expandtabs" => {
                let size = int_opt(a(0, "tabsize"))?.unwrap_or(8).max(0) as usize;
                let mut out = String::new();
                let mut col = 0;
                for c in s.chars() {
                    match c {
                        '\t' if size > 0 => {
                            let n = size - col % size;
                            out.extend(std::iter::repeat_n(' ', n));
                            col += n;
                        }
                        '\t' => {}
                        '\n' | '\r' => {
                            out.push(c);
                            col = 0;
                        }
                        c => {
                            out.push(c);
                            col += 1;
                        }
                    }
                }
                Value::from(out)
            }
            "removeprefix" => {
                let p = str_arg(a(0, "prefix"), "prefix")?.unwrap_or_default();
                Value::from(s.strip_prefix(p.as_str()).unwrap_or(s))
            }
            "removesuffix" => {
                let p = str_arg(a(0, "suffix"), "suffix")?.unwrap_or_default();
                Value::from(s.strip_suffix(p.as_str()).unwrap_or(s))
            }
            "strip" | "lstrip" | "rstrip" => {
                let chars = str_arg(a(0, "chars"), "chars")?;
                let is = |c: char| match &chars {
                    Some(set) => set.contains(c),
                    None => c.is_whitespace(),
                };
                Value::from(match method {
                    "strip" => s.trim_matches(is),
                    "lstrip" => s.trim_start_matches(is),
                    _ => s.trim_end_matches(is),
                })
            }
            "replace" => {
                let old = str_arg(a(0, "old"), "old")?.unwrap_or_default();
                let new = str_arg(a(1, "new"), "new")?.unwrap_or_default();
                match int_opt(a(2, "count"))? {
                    Some(n) if n >= 0 => Value::from(s.replacen(old.as_str(), &new, n as usize)),
                    _ => Value::from(s.replace(old.as_str(), &new)),
                }
            }
            "join" => {
                let items = pos.first().cloned().unwrap_or_default();
                let mut parts = Vec::new();
                for x in items.try_iter()? {
                    parts.push(x.as_str().map(str::to_string).ok_or_else(|| {
                        err(format!(
                            "TypeError: sequence item {}: expected str instance, {} found",
                            parts.len(),
                            type_name(&x)
                        ))
                    })?);
                }
                Value::from(parts.join(s))
            }
            "upper" => Value::from(s.to_uppercase()),
            "lower" | "casefold" => Value::from(s.to_lowercase()),
            "title" => Value::from(title(s)),
            "capitalize" => {
                let mut c = s.chars();
                Value::from(match c.next() {
                    Some(first) => first
                        .to_uppercase()
                        .chain(c.as_str().to_lowercase().chars())
                        .collect::<String>(),
                    None => String::new(),
                })
            }
            "swapcase" => Value::from(
                s.chars()
                    .flat_map(|c| {
                        if c.is_uppercase() {
                            c.to_lowercase().collect::<Vec<_>>()
                        } else {
                            c.to_uppercase().collect::<Vec<_>>()
                        }
                    })
                    .collect::<String>(),
            ),
            "isalnum" => Value::from(!s.is_empty() && s.chars().all(char::is_alphanumeric)),
            "isalpha" => Value::from(!s.is_empty() && s.chars().all(char::is_alphabetic)),
            "isascii" => Value::from(s.is_ascii()),
            "isdecimal" | "isdigit" => {
                Value::from(!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
            }
            "isnumeric" => Value::from(!s.is_empty() && s.chars().all(char::is_numeric)),
            "isspace" => Value::from(!s.is_empty() && s.chars().all(char::is_whitespace)),
            "islower" => {
                Value::from(s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase))
            }
            "isupper" => {
                Value::from(s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase))
            }
            "istitle" => Value::from(is_title(s)),
            "isidentifier" => Value::from(
                s.chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && s.chars().all(|c| c.is_alphanumeric() || c == '_'),
            ),
            "isprintable" => Value::from(s.chars().all(|c| !c.is_control())),
            _ => return Err(err("\u{0}")),
        })
    })();
    match result {
        Err(e) if e.detail() == Some("\u{0}") => None,
        r => Some(r),
    }
}

// ---------------------------------------------------------------------------------------------
// str.format

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
pub fn format(
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

/// The largest width (or precision) sluice pads to: Python would try any width and run out of
/// memory or time (found by the fuzzer: `'{:>2147483648}'.format('r')`); this is an error.
const MAX_WIDTH: usize = 10_000_000;

pub(super) fn check_width(width: usize) -> Result<usize, Error> {
    if width > MAX_WIDTH {
        return Err(err(format!(
            "ValueError: width or precision {width} is too big (at most {MAX_WIDTH})"
        )));
    }
    Ok(width)
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
pub fn format_value(v: &Value, spec: &str) -> Result<String, Error> {
    if spec.is_empty() {
        return Ok(super::pyformat::py_text(v));
    }
    let s = parse_spec(spec)?;
    let number = num(v).filter(|_| v.kind() != ValueKind::String);
    let Some(n) = number else {
        // Strings (and anything printed as one).
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
        return Ok(pad(
            &text,
            s.width,
            s.fill.unwrap_or(' '),
            s.align.unwrap_or('<'),
        ));
    };
    let negative;
    let mut body = match (n, s.kind) {
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
                    (_, None) => super::pyformat::py_float(a),
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

#[cfg(test)]
mod tests {
    fn render(src: &str) -> String {
        super::super::functions::render_python(src, &[])
    }

    // Each expected value is what `~/dbtvenv/bin/python` prints for the same expression.
    #[test]
    fn string_methods_behave_as_python() {
        let cases = [
            ("{{ '{:>5}|{:<4}|{:^6}|{:05.2f}|{:,}'.format('r', 'l', 'c', 3.14159, 1234567) }}", "    r|l   |  c   |03.14|1,234,567"),
            ("{{ '{:.3}'.format(3.14159) }}|{{ '{}'.format(3.0) }}|{{ '{:10.3f}|'.format(2.5) }}|{{ '{:+d}'.format(5) }}", "3.14|3.0|     2.500||+5"),
            ("{{ '{:.2}'.format(12.0) }} {{ '{:.1}'.format(3.0) }} {{ '{:.2}'.format(123.0) }} {{ '{}'.format(1e20) }} {{ '{:.3}'.format(0.5) }}", "1.2e+01 3e+00 1.2e+02 1e+20 0.5"),
            ("{{ '{:x} {:#x} {:b} {:o} {:X}'.format(255, 255, 5, 8, 255) }}", "ff 0xff 101 10 FF"),
            ("{{ '{:e}'.format(1234.5) }}|{{ '{:%}'.format(0.25) }}|{{ '{:.1%}'.format(0.256) }}|{{ '{:g}'.format(0.00001) }}", "1.234500e+03|25.000000%|25.6%|1e-05"),
            ("{{ '{:*^9}'.format('mid') }}|{{ '{:=+8.2f}'.format(-3.14159) }}|{{ '{0[0]} {0[1]}'.format(['a', 'b']) }}|{{ '{d[k]}'.format(d={'k': 'v'}) }}", "***mid***|-   3.14|a b|v"),
            ("{{ '{:_}'.format(1234567) }}|{{ '{:>{w}}'.format('x', w=4) }}|{{ '{}'.format(none) }}|{{ '{}'.format([1, 'a']) }}|{{ '{!r}'.format('q') }}", "1_234_567|   x|None|[1, 'a']|'q'"),
            ("{{ '{:d}'.format(true) }}|{{ '{:.2s}'.format('abc') }}|{{ '{:c}'.format(65) }}|{{ '{:08.3f}'.format(-1.5) }}|{{ '{:,.2f}'.format(1234567.891) }}|{{ '{}{}'.format(1, 2.5) }}", "1|ab|A|-001.500|1,234,567.89|12.5"),
            ("{{ '{0}-{1}-{0}'.format('a', 'b') }}|{{ '{name}!'.format(name='n') }}|{{ '{{x}}{}'.format(1) }}|{{ '{a}-{b}'.format_map({'a': 1, 'b': 2}) }}", "a-b-a|n!|{x}1|1-2"),
            ("{{ 'ab'.center(5, '-') }}|{{ 'ab'.center(6, '-') }}|{{ 'abc'.center(6) }}|{{ '-7'.zfill(4) }}|{{ 'ab'.rjust(5, '*') }}|{{ 'ab'.ljust(4) }}|", "--ab-|--ab--| abc  |-007|***ab|ab  |"),
            ("{{ \"they're bill's\".title() }}|{{ 'hELLO wORLD'.capitalize() }}|{{ 'Hello World'.swapcase() }}", "They'Re Bill'S|Hello world|hELLO wORLD"),
            ("{{ '  a b '.split(None, 1) }}|{{ 'a b  c '.rsplit(None, 1) }}|{{ 'a,,b'.split(',') }}|{{ ''.split() }}|{{ ''.split(',') }}|{{ 'a,b,c'.rsplit(',', 1) }}", "['a', 'b ']|['a b', 'c']|['a', '', 'b']|[]|['']|['a,b', 'c']"),
            ("{{ 'a\\r\\nb\\rc\\n'.splitlines() }}|{{ 'a\\nb'.splitlines(true) }}", "['a', 'b', 'c']|['a\\n', 'b']"),
            ("{{ 'abcabc'.find('c', 3) }} {{ 'abcabc'.rfind('b') }} {{ 'abc'.find('z') }} {{ 'abc'.index('b') }} {{ 'abc'.count('') }} {{ 'aXbXc'.count('X') }}", "5 4 -1 1 4 2"),
            ("{{ 'Hello World'.istitle() }} {{ 'x1'.isalnum() }} {{ '12.5'.isnumeric() }} {{ '12'.isdigit() }} {{ 'ab'.islower() }} {{ ' '.isspace() }}", "True True False True True True"),
            ("{{ 'abc'.removeprefix('a') }} {{ 'abc'.removesuffix('bc') }} {{ 'a=b=c'.rpartition('=') }} {{ 'a=b'.partition('x') }}", "bc a ('a=b', '=', 'c') ('a=b', '', '')"),
            ("{{ 'abc'.startswith('b', 1) }} {{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.endswith(('c',)) }} {{ 'a\\tbc\\td'.expandtabs(4) }} {{ 'x'.join('abc') }} {{ 'xxhixx'.lstrip('x') }} {{ 'abc'.replace('b', 'B', 1) }}", "True True True a   bc  d axbxc hixx aBc"),
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
