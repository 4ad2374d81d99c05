//! Python's `str` methods on template strings, with Python's semantics: `format` / `format_map`
//! (the whole format-spec mini-language), `split` / `rsplit` (also on runs of whitespace, with
//! `maxsplit`), `startswith` / `endswith` (with tuples and ranges), `find` / `rfind` / `index` /
//! `rindex` / `count`, `center` / `ljust` / `rjust` / `zfill`, `partition` / `rpartition`,
//! `splitlines`, `expandtabs`, `removeprefix` / `removesuffix`, `strip` family, case methods
//! (`title`, `capitalize`, `swapcase`, `casefold`) and the `is...` predicates.
//!
//! Positions are character offsets, as in Python.
//!
//! `format` / `format_map` and the format-spec mini-language are in [`formatting`];
//! this file holds the other methods and the padding they share.

mod formatting;
#[cfg(test)]
mod tests;

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, State};

use super::calls::err;
use super::pyformat::type_name;
use super::pyvalues::{PyList, PyTuple};
pub(crate) use formatting::format;

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
pub(crate) fn pad(s: &str, width: usize, fill: char, align: char) -> String {
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
pub(crate) fn call(
    state: &State,
    s: &str,
    method: &str,
    args: &[Value],
) -> Option<Result<Value, Error>> {
    let (pos, kw) = split_kwargs(args);
    let a = |i: usize, name: &str| arg(pos, &kw, i, name);
    let result = (|| -> Result<Value, Error> {
        match method {
            "format" => return Ok(Value::from(format(state, s, pos, kw.as_ref(), None)?)),
            "format_map" => {
                let m = pos.first().cloned().unwrap_or_default();
                return Ok(Value::from(format(state, s, &[], None, Some(&m))?));
            }
            "join" => return join(s, pos),
            _ => {}
        }
        if let Some(v) = splitting(s, method, &a)? {
            return Ok(v);
        }
        if let Some(v) = searching(s, method, &a)? {
            return Ok(v);
        }
        if let Some(v) = reshaping(s, method, &a)? {
            return Ok(v);
        }
        if let Some(v) = case_and_class(s, method) {
            return Ok(v);
        }
        Err(err("\u{0}"))
    })();
    match result {
        Err(e) if e.detail() == Some("\u{0}") => None,
        r => Some(r),
    }
}

/// `sep.join(items)`: every item must be a string.
fn join(s: &str, pos: &[Value]) -> Result<Value, Error> {
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
    Ok(Value::from(parts.join(s)))
}

/// `split`, `rsplit`, `splitlines`, `partition`, `rpartition`; `None` for other methods.
fn splitting(
    s: &str,
    method: &str,
    a: &impl Fn(usize, &str) -> Option<Value>,
) -> Result<Option<Value>, Error> {
    Ok(Some(match method {
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
        "splitlines" => PyList::value(splitlines(s, a(0, "keepends").is_some_and(|v| v.is_true()))),
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
        _ => return Ok(None),
    }))
}

/// `startswith`, `endswith`, `find`, `rfind`, `index`, `rindex`, `count`; `None` for other
/// methods.
fn searching(
    s: &str,
    method: &str,
    a: &impl Fn(usize, &str) -> Option<Value>,
) -> Result<Option<Value>, Error> {
    Ok(Some(match method {
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
                return Ok(Some(Value::from(if sub.is_empty() {
                    part.chars().count() as i64 + 1
                } else {
                    part.matches(sub.as_str()).count() as i64
                })));
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
        _ => return Ok(None),
    }))
}

/// Padding, trimming and replacing: `center`, `ljust`, `rjust`, `zfill`, `expandtabs`,
/// `removeprefix`, `removesuffix`, the `strip` family, `replace`; `None` for other methods.
fn reshaping(
    s: &str,
    method: &str,
    a: &impl Fn(usize, &str) -> Option<Value>,
) -> Result<Option<Value>, Error> {
    Ok(Some(match method {
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
        _ => return Ok(None),
    }))
}

/// The case methods (`upper`, `title`, `swapcase` ...) and the `is...` predicates; `None` for
/// other methods.
fn case_and_class(s: &str, method: &str) -> Option<Value> {
    Some(match method {
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
        _ => return None,
    })
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
