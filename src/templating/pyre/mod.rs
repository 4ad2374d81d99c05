//! `modules.re`: Python's regular expressions, as dbt exposes the `re` module.
//!
//! Functions `compile`, `search`, `match`, `fullmatch`, `findall`, `finditer`, `sub`, `subn`,
//! `split`, `escape`, the flags (`I`/`IGNORECASE`, `M`/`MULTILINE`, `S`/`DOTALL`, `X`/`VERBOSE`,
//! `A`/`ASCII`, `U`/`UNICODE`, `L`/`LOCALE`, `NOFLAG`), pattern objects with the same methods
//! (`pattern`, `flags`, `groups`, `groupindex`) and match objects (`group`, `groups`,
//! `groupdict`, `start`, `end`, `span`, `expand`, `m[n]`, `string`, `re`, `pos`, `endpos`,
//! `lastindex`, `lastgroup`). Positions are character offsets, as in Python.
//!
//! Design decision: patterns run on `fancy-regex`, which has what Python has and the `regex`
//! crate lacks (look-around, backreferences, `(?P<name>..)` / `(?P=name)`); [`translate`] turns
//! the rest of Python's syntax into its equivalent (`\Z`, `$` before a final newline, a `{` that
//! is no repetition, `[` inside a class, verbose mode's comments and spaces). Iteration follows
//! Python's rule for empty matches (allowed right after a non-empty one), so `sub` and `split`
//! cut where Python cuts. Compiled patterns are cached by text and flags.
//!
//! Pattern translation is in [`translation`], replacement templates in [`template`].

mod template;
#[cfg(test)]
mod tests;
mod translation;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use minijinja::value::{Kwargs, Object, ObjectRepr, Value, ValueKind};
use minijinja::{Error, State};

use super::calls::{err, no_method};
use super::pyvalues::{PyDict, PyList, PyTuple};
use template::{expand, parse_template};
use translation::leading_flags;
pub(crate) use translation::translate;

pub(crate) const FLAG_I: i64 = 2;
pub(crate) const FLAG_L: i64 = 4;
pub(crate) const FLAG_M: i64 = 8;
pub(crate) const FLAG_S: i64 = 16;
pub(crate) const FLAG_U: i64 = 32;
pub(crate) const FLAG_X: i64 = 64;
pub(crate) const FLAG_A: i64 = 256;

/// A compiled pattern.
#[derive(Debug)]
pub(crate) struct Pattern {
    /// The pattern as written.
    source: String,
    /// Python's flags value (with `re.UNICODE`, as Python reports it for text patterns).
    flags: i64,
    re: fancy_regex::Regex,
    /// `\A(?:pattern)\z`, built on first use by `fullmatch`.
    full: Mutex<Option<Arc<fancy_regex::Regex>>>,
    /// Group names by index (index 0 is the whole match).
    names: Vec<Option<String>>,
}

static CACHE: LazyLock<Mutex<HashMap<(String, i64), Arc<Pattern>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn build(translated: &str, flags: i64) -> Result<fancy_regex::Regex, Error> {
    fancy_regex::RegexBuilder::new(translated)
        .case_insensitive(flags & FLAG_I != 0)
        .multi_line(flags & FLAG_M != 0)
        .dot_matches_new_line(flags & FLAG_S != 0)
        .build()
        .map_err(|e| err(format!("re.error: {e}")))
}

/// Compiles a Python pattern (cached).
pub(crate) fn compile(source: &str, flags: i64) -> Result<Arc<Pattern>, Error> {
    let key = (source.to_string(), flags);
    if let Some(p) = CACHE.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(p);
    }
    let (translated, effective) = translate(source, flags);
    let re = build(&translated, effective)?;
    let names = re.capture_names().map(|n| n.map(str::to_string)).collect();
    let given = flags | leading_flags(source).0;
    let p = Arc::new(Pattern {
        source: source.to_string(),
        flags: given | if given & FLAG_A == 0 { FLAG_U } else { 0 },
        re,
        full: Mutex::new(None),
        names,
    });
    if let Ok(mut c) = CACHE.lock() {
        if c.len() > 4096 {
            c.clear();
        }
        c.insert(key, p.clone());
    }
    Ok(p)
}
/// Byte spans of each group of one match (`None` when a group did not take part).
type Spans = Vec<Option<(usize, usize)>>;

fn spans(c: &fancy_regex::Captures<'_, str>) -> Spans {
    (0..c.len())
        .map(|i| c.get(i).map(|m| (m.start(), m.end())))
        .collect()
}

fn next_boundary(text: &str, at: usize) -> usize {
    text[at..]
        .chars()
        .next()
        .map_or(text.len() + 1, |c| at + c.len_utf8())
}

/// Every match from `pos` (byte offset), at most `limit` (0: all), with Python's rule for empty
/// matches: one is allowed right after a non-empty match, never twice at the same place.
fn find_all(
    re: &fancy_regex::Regex,
    text: &str,
    pos: usize,
    limit: usize,
) -> Result<Vec<Spans>, Error> {
    let mut out = Vec::new();
    let mut pos = pos;
    let mut empty_at: Option<usize> = None;
    while pos <= text.len() && (limit == 0 || out.len() < limit) {
        let Some(c) = re
            .captures_from_pos(text, pos)
            .map_err(|e| err(format!("re: {e}")))?
        else {
            break;
        };
        let s = spans(&c);
        let (start, end) = s[0].unwrap_or((pos, pos));
        if start == end && empty_at == Some(start) {
            pos = next_boundary(text, start);
            continue;
        }
        out.push(s);
        if start == end {
            empty_at = Some(start);
            pos = start;
        } else {
            empty_at = None;
            pos = end;
        }
    }
    Ok(out)
}

fn char_index(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

fn byte_index(text: &str, chars: i64) -> usize {
    let n = text.chars().count() as i64;
    let c = if chars < 0 {
        (n + chars).max(0)
    } else {
        chars.min(n)
    };
    text.char_indices()
        .nth(c as usize)
        .map_or(text.len(), |(b, _)| b)
}

/// A match object.
#[derive(Debug)]
pub(crate) struct MatchObj {
    pattern: Arc<Pattern>,
    text: Arc<str>,
    spans: Spans,
    pos: usize,
    endpos: usize,
}

impl MatchObj {
    fn group_index(&self, key: &Value) -> Result<usize, Error> {
        if let Some(name) = key.as_str() {
            return self
                .pattern
                .names
                .iter()
                .position(|n| n.as_deref() == Some(name))
                .ok_or_else(|| err("IndexError: no such group"));
        }
        let i = i64::try_from(key.clone()).map_err(|_| err("IndexError: no such group"))?;
        if i < 0 || i as usize >= self.spans.len() {
            return Err(err("IndexError: no such group"));
        }
        Ok(i as usize)
    }
    fn group(&self, i: usize, default: &Value) -> Value {
        match self.spans.get(i).copied().flatten() {
            Some((s, e)) => Value::from(&self.text[s..e]),
            None => default.clone(),
        }
    }
    fn span(&self, i: usize) -> (i64, i64) {
        match self.spans.get(i).copied().flatten() {
            Some((s, e)) => (
                char_index(&self.text, s) as i64,
                char_index(&self.text, e) as i64,
            ),
            None => (-1, -1),
        }
    }
    fn value(
        pattern: &Arc<Pattern>,
        text: &Arc<str>,
        spans: Spans,
        pos: usize,
        end: usize,
    ) -> Value {
        Value::from_object(MatchObj {
            pattern: pattern.clone(),
            text: text.clone(),
            spans,
            pos,
            endpos: end,
        })
    }
}

impl Object for MatchObj {
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if let Some(attr) = key.as_str() {
            return Some(match attr {
                "string" => Value::from(self.text.as_ref()),
                "re" => Value::from_object(PatternObj(self.pattern.clone())),
                "pos" => Value::from(char_index(&self.text, self.pos)),
                "endpos" => Value::from(char_index(&self.text, self.endpos)),
                "lastindex" => match (1..self.spans.len())
                    .filter(|i| self.spans[*i].is_some())
                    .max_by_key(|i| self.spans[*i].map_or(0, |s| s.1))
                {
                    Some(i) => Value::from(i),
                    None => Value::from(()),
                },
                "lastgroup" => Value::from(()),
                // `m['name']`
                _ => {
                    return self
                        .group_index(key)
                        .ok()
                        .map(|i| self.group(i, &Value::from(())))
                }
            });
        }
        let i = self.group_index(key).ok()?;
        Some(self.group(i, &Value::from(())))
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let none = Value::from(());
        let (pos, kw) = split_kwargs(args);
        let default = kw
            .as_ref()
            .and_then(|k| k.get::<Option<Value>>("default").ok().flatten())
            .or_else(|| pos.first().cloned())
            .unwrap_or_default();
        let default = if default.is_undefined() {
            none.clone()
        } else {
            default
        };
        match method {
            "group" => match pos.as_slice() {
                [] => Ok(self.group(0, &none)),
                [one] => Ok(self.group(self.group_index(one)?, &none)),
                many => {
                    let items: Result<Vec<Value>, Error> = many
                        .iter()
                        .map(|k| Ok(self.group(self.group_index(k)?, &none)))
                        .collect();
                    Ok(PyTuple::value(items?))
                }
            },
            "groups" => Ok(PyTuple::value(
                (1..self.spans.len())
                    .map(|i| self.group(i, &default))
                    .collect(),
            )),
            "groupdict" => Ok(PyDict::value(
                self.pattern
                    .names
                    .iter()
                    .enumerate()
                    .filter_map(|(i, n)| {
                        n.as_ref()
                            .map(|n| (Value::from(n.as_str()), self.group(i, &default)))
                    })
                    .collect(),
            )),
            "start" | "end" | "span" => {
                let i = match pos.first() {
                    Some(k) => self.group_index(k)?,
                    None => 0,
                };
                let (s, e) = self.span(i);
                Ok(match method {
                    "start" => Value::from(s),
                    "end" => Value::from(e),
                    _ => PyTuple::value(vec![Value::from(s), Value::from(e)]),
                })
            }
            "expand" => {
                let template = parse_template(
                    pos.first().and_then(|v| v.as_str()).unwrap_or(""),
                    &self.pattern,
                )?;
                Ok(Value::from(expand(&template, &self.text, &self.spans)))
            }
            _ => Err(no_method("re.Match", method)),
        }
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (s, e) = self.span(0);
        let m = self.group(0, &Value::from(""));
        write!(
            f,
            "<re.Match object; span=({s}, {e}), match={}>",
            super::pyvalues::py_repr(&m)
        )
    }
}

/// A pattern object (`re.compile(...)`).
#[derive(Debug)]
pub(crate) struct PatternObj(pub(crate) Arc<Pattern>);

impl Object for PatternObj {
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "pattern" => Value::from(self.0.source.as_str()),
            "flags" => Value::from(self.0.flags),
            "groups" => Value::from(self.0.names.len().saturating_sub(1)),
            "groupindex" => PyDict::value(
                self.0
                    .names
                    .iter()
                    .enumerate()
                    .filter_map(|(i, n)| {
                        n.as_ref()
                            .map(|n| (Value::from(n.as_str()), Value::from(i)))
                    })
                    .collect(),
            ),
            _ => return None,
        })
    }
    fn call_method(
        self: &Arc<Self>,
        state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let (pos, kw) = split_kwargs(args);
        call(state, &self.0, method, &pos, kw.as_ref(), true)
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "re.compile({})",
            super::pyvalues::py_repr(&Value::from(self.0.source.as_str()))
        )
    }
}

fn split_kwargs(args: &[Value]) -> (Vec<Value>, Option<Kwargs>) {
    match args.last() {
        Some(last) if last.is_kwargs() => (
            args[..args.len() - 1].to_vec(),
            Kwargs::try_from(last.clone()).ok(),
        ),
        _ => (args.to_vec(), None),
    }
}

/// Argument `pos`-th positional or keyword `name`.
fn arg(pos: &[Value], i: usize, kw: Option<&Kwargs>, name: &str) -> Option<Value> {
    kw.and_then(|k| k.get::<Option<Value>>(name).ok().flatten())
        .or_else(|| pos.get(i).cloned())
        .filter(|v| !v.is_undefined() && !v.is_none())
}

fn int_arg(pos: &[Value], i: usize, kw: Option<&Kwargs>, name: &str) -> Result<i64, Error> {
    match arg(pos, i, kw, name) {
        Some(v) => i64::try_from(v).map_err(|_| err(format!("re: `{name}` must be an integer"))),
        None => Ok(0),
    }
}

fn text_arg(pos: &[Value], i: usize, kw: Option<&Kwargs>, name: &str) -> Result<Arc<str>, Error> {
    let v = arg(pos, i, kw, name).ok_or_else(|| err(format!("re: missing argument `{name}`")))?;
    match v.as_str() {
        Some(s) => Ok(Arc::from(s)),
        None => Err(err(format!(
            "TypeError: expected string or bytes-like object, got {}",
            v.kind()
        ))),
    }
}

/// A method of a pattern (`on_pattern`: called on a pattern object, so the arguments start with
/// the string; else a module function whose first arguments were the pattern and flags).
fn call(
    state: &State<'_, '_>,
    p: &Arc<Pattern>,
    method: &str,
    pos: &[Value],
    kw: Option<&Kwargs>,
    on_pattern: bool,
) -> Result<Value, Error> {
    // Pattern methods take (string, pos, endpos); module functions do not.
    let window = |text: &str, at: usize| -> Result<(usize, usize), Error> {
        if !on_pattern {
            return Ok((0, text.len()));
        }
        let start = match arg(pos, at, kw, "pos") {
            Some(v) => byte_index(text, i64::try_from(v).unwrap_or(0).max(0)),
            None => 0,
        };
        let end = match arg(pos, at + 1, kw, "endpos") {
            Some(v) => byte_index(text, i64::try_from(v).unwrap_or(0).max(0)),
            None => text.len(),
        };
        Ok((start, end.max(start)))
    };
    match method {
        "search" | "match" | "fullmatch" => {
            let text = text_arg(pos, 0, kw, "string")?;
            let (start, end) = window(&text, 1)?;
            let hay: Arc<str> = if end < text.len() {
                Arc::from(&text[..end])
            } else {
                text.clone()
            };
            let found = match method {
                "fullmatch" => {
                    let full = full_regex(p)?;
                    full.captures_from_pos(&*hay, start)
                        .map_err(|e| err(format!("re: {e}")))?
                        .map(|c| spans(&c))
                        .filter(|s| s[0].is_some_and(|(s, _)| s == start))
                }
                _ => {
                    p.re.captures_from_pos(&*hay, start)
                        .map_err(|e| err(format!("re: {e}")))?
                        .map(|c| spans(&c))
                        .filter(|s| method == "search" || s[0].is_some_and(|(s, _)| s == start))
                }
            };
            Ok(match found {
                Some(s) => MatchObj::value(p, &text, s, start, end),
                None => Value::from(()),
            })
        }
        "findall" | "finditer" => {
            let text = text_arg(pos, 0, kw, "string")?;
            let (start, end) = window(&text, 1)?;
            let hay = &text[..end];
            let all = find_all(&p.re, hay, start, 0)?;
            let groups = p.names.len().saturating_sub(1);
            let get = |s: &Spans, i: usize| match s.get(i).copied().flatten() {
                Some((a, b)) => Value::from(&hay[a..b]),
                None => Value::from(""),
            };
            Ok(PyList::value(
                all.into_iter()
                    .map(|s| {
                        if method == "finditer" {
                            MatchObj::value(p, &text, s, start, end)
                        } else if groups == 0 {
                            get(&s, 0)
                        } else if groups == 1 {
                            get(&s, 1)
                        } else {
                            PyTuple::value((1..=groups).map(|i| get(&s, i)).collect())
                        }
                    })
                    .collect(),
            ))
        }
        "sub" | "subn" => {
            let repl = arg(pos, 0, kw, "repl").unwrap_or_else(|| Value::from(""));
            let text = text_arg(pos, 1, kw, "string")?;
            let count = int_arg(pos, 2, kw, "count")?.max(0) as usize;
            let all = find_all(&p.re, &text, 0, count)?;
            let template = match repl.as_str() {
                Some(t) => Some(parse_template(t, p)?),
                None => None,
            };
            let mut out = String::with_capacity(text.len());
            let mut last = 0;
            let n = all.len();
            for s in all {
                let (a, b) = s[0].unwrap_or((last, last));
                out.push_str(&text[last..a]);
                match &template {
                    Some(t) => out.push_str(&expand(t, &text, &s)),
                    None => {
                        let m = MatchObj::value(p, &text, s, 0, text.len());
                        out.push_str(&repl.call(state, &[m])?.to_string());
                    }
                }
                last = b;
            }
            out.push_str(&text[last..]);
            Ok(if method == "subn" {
                PyTuple::value(vec![Value::from(out), Value::from(n)])
            } else {
                Value::from(out)
            })
        }
        "split" => {
            let text = text_arg(pos, 0, kw, "string")?;
            let maxsplit = int_arg(pos, 1, kw, "maxsplit")?.max(0) as usize;
            let all = find_all(&p.re, &text, 0, maxsplit)?;
            let mut out = Vec::new();
            let mut last = 0;
            for s in all {
                let (a, b) = s[0].unwrap_or((last, last));
                out.push(Value::from(&text[last..a]));
                for g in s.iter().skip(1) {
                    out.push(match g {
                        Some((x, y)) => Value::from(&text[*x..*y]),
                        None => Value::from(()),
                    });
                }
                last = b;
            }
            out.push(Value::from(&text[last..]));
            Ok(PyList::value(out))
        }
        _ => Err(no_method(
            if on_pattern { "re.Pattern" } else { "re" },
            method,
        )),
    }
}

fn full_regex(p: &Arc<Pattern>) -> Result<Arc<fancy_regex::Regex>, Error> {
    let mut slot = p.full.lock().map_err(|_| err("re: poisoned"))?;
    if let Some(r) = slot.as_ref() {
        return Ok(r.clone());
    }
    let (translated, flags) = translate(&p.source, p.flags & !FLAG_U);
    let r = Arc::new(build(&format!("(?:{translated})\\z"), flags)?);
    *slot = Some(r.clone());
    Ok(r)
}
/// Python's `re.escape`: every character that is special in a pattern gets a backslash.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `modules.re`.
#[derive(Debug)]
pub(crate) struct ReModule;

const FLAGS: &[(&str, i64)] = &[
    ("I", FLAG_I),
    ("IGNORECASE", FLAG_I),
    ("L", FLAG_L),
    ("LOCALE", FLAG_L),
    ("M", FLAG_M),
    ("MULTILINE", FLAG_M),
    ("S", FLAG_S),
    ("DOTALL", FLAG_S),
    ("U", FLAG_U),
    ("UNICODE", FLAG_U),
    ("X", FLAG_X),
    ("VERBOSE", FLAG_X),
    ("A", FLAG_A),
    ("ASCII", FLAG_A),
    ("NOFLAG", 0),
];

impl Object for ReModule {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str()?;
        FLAGS
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| Value::from(*v))
    }
    fn call_method(
        self: &Arc<Self>,
        state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let (pos, kw) = split_kwargs(args);
        let kw = kw.as_ref();
        if method == "escape" {
            let s = arg(&pos, 0, kw, "pattern").unwrap_or_default();
            return Ok(Value::from(escape(s.as_str().unwrap_or(""))));
        }
        if method == "purge" {
            if let Ok(mut c) = CACHE.lock() {
                c.clear();
            }
            return Ok(Value::from(()));
        }
        let pattern = arg(&pos, 0, kw, "pattern").ok_or_else(|| err("re: missing pattern"))?;
        // Where `flags` sits positionally, after the function's other arguments.
        let flags_at = match method {
            "compile" => 1,
            "search" | "match" | "fullmatch" | "findall" | "finditer" => 2,
            "split" | "subn" | "sub" => {
                if method == "split" {
                    3
                } else {
                    4
                }
            }
            _ => return Err(no_method("re", method)),
        };
        let flags = int_arg(&pos, flags_at, kw, "flags")?;
        let compiled = match pattern.downcast_object_ref::<PatternObj>() {
            Some(p) => p.0.clone(),
            None => match pattern.as_str() {
                Some(s) => compile(s, flags)?,
                None if pattern.kind() == ValueKind::Undefined => {
                    return Err(err("re: missing pattern"))
                }
                None => {
                    return Err(err(
                        "TypeError: first argument must be string or compiled pattern",
                    ))
                }
            },
        };
        if method == "compile" {
            return Ok(Value::from_object(PatternObj(compiled)));
        }
        let rest: Vec<Value> = pos.iter().skip(1).take(flags_at - 1).cloned().collect();
        call(state, &compiled, method, &rest, kw, false)
    }
}
