//! Macro source text: finding the `{% macro %}` / `{% test %}` definitions of a file (name,
//! arguments, text) and [`preprocess`], the rewrites that make a macro file or a node's SQL
//! work on minijinja as it does on Jinja2 (renamed macros, tests and materializations as macros,
//! defaults that see earlier arguments, mutable literals, Python operators).
//!
//! Apart from the index and the calling machinery because it only reads and rewrites text, with
//! its own scanners (balanced parentheses and quotes) and regexes.

use std::sync::LazyLock;

use regex::Regex;

static MACRO_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%(-?)\s*(macro|test|materialization)\s+([A-Za-z_][A-Za-z0-9_]*)\s*(\(|,)?")
        .unwrap()
});
static ENDTEST_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%(-?)\s*endtest\s*(-?)%\}").unwrap());
static ENDMAT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%(-?)\s*endmaterialization\s*(-?)%\}").unwrap());
static HEAD_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?\s*(macro|test)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(").unwrap());
static END_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?\s*end(?:macro|test)\s*-?%\}").unwrap());

/// One `{% macro %}` / `{% test %}` definition found in a file.
pub(super) struct FoundDef<'a> {
    pub(super) kind: &'a str,
    pub(super) name: &'a str,
    pub(super) arguments: Vec<String>,
    pub(super) required: usize,
    pub(super) text: &'a str,
}

/// Finds the macro and test definitions of a file. Signatures are scanned with brackets and
/// quotes balanced, so defaults such as `order_by='count(*) desc'` do not end them early.
pub(super) fn find_defs(src: &str) -> Vec<FoundDef<'_>> {
    let mut out = Vec::new();
    let mut from = 0;
    // Where the last definition's text ended (past the whitespace its end tag trimmed).
    let mut last_end = 0;
    let comments = comment_ranges(src);
    while let Some(c) = HEAD_RE.captures_at(src, from) {
        let whole = c.get(0).map_or(0..0, |m| m.range());
        // A definition inside a `{# ... #}` comment is not one (Jinja never sees it).
        if let Some(r) = comments.iter().find(|r| r.contains(&whole.start)) {
            from = r.end;
            continue;
        }
        let kind = c.get(1).map_or("", |m| m.as_str());
        let name = c.get(2).map_or("", |m| m.as_str());
        let Some(close) = matching_paren(src, whole.end) else {
            break;
        };
        let args = &src[whole.end..close];
        let Some(end) = END_RE.find_at(src, close) else {
            break;
        };
        let parts = split_top_level(args);
        out.push(FoundDef {
            kind,
            name,
            required: parts
                .iter()
                .take_while(|a| !a.contains('=') && !a.trim().is_empty())
                .count(),
            arguments: parts
                .into_iter()
                .map(|a| a.split('=').next().unwrap_or("").trim().to_string())
                .filter(|a| !a.is_empty())
                .collect(),
            // dbt's block reader takes the whitespace after an end tag that trims it (`-%}`),
            // and the whitespace before a start tag that trims it (`{%-`), unless that
            // whitespace opens the file or the last definition took it.
            text: &src[leading_start(src, whole.start, last_end)..trimmed_end(src, end.end())],
        });
        from = end.end();
        last_end = trimmed_end(src, end.end());
    }
    out
}

/// Where a definition starting at `start` begins in dbt's `macro_sql`: before the whitespace
/// ahead of it when its tag trims it (`{%-`), no further back than `floor`, and not when that
/// whitespace runs back to the file's start.
fn leading_start(src: &str, start: usize, floor: usize) -> usize {
    if !src[start..].starts_with("{%-") {
        return start;
    }
    let before = &src[floor..start];
    let ws = floor + before.trim_end().len();
    // (dbt reads a file with its surrounding whitespace stripped.)
    if src[..ws].trim().is_empty() {
        start
    } else {
        ws
    }
}

/// Past the whitespace after `end` when the tag ending there trims it (`-%}`).
fn trimmed_end(src: &str, end: usize) -> usize {
    if !src[..end].ends_with("-%}") {
        return end;
    }
    let rest = &src[end..];
    // (Not the whitespace that ends the file: dbt reads a file stripped.)
    if rest.trim().is_empty() {
        return end;
    }
    end + (rest.len() - rest.trim_start().len())
}

/// The byte ranges of `src`'s Jinja comments (`{# ... #}`; an unclosed one runs to the end).
fn comment_ranges(src: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = src[at..].find("{#") {
        let start = at + i;
        let end = src[start + 2..]
            .find("#}")
            .map_or(src.len(), |j| start + 2 + j + 2);
        out.push(start..end);
        at = end;
    }
    out
}

/// Index of the `)` closing the `(` just before `start`.
fn matching_paren(src: &str, start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, ch) in src[start..].char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')') if depth == 0 => return Some(start + i),
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Splits an argument list at its top-level commas.
fn split_top_level(args: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut last = 0;
    for (i, ch) in args.char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(ch),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                out.push(&args[last..i]);
                last = i + 1;
            }
            _ => {}
        }
    }
    out.push(&args[last..]);
    out
}

/// Rewrites a macro file for minijinja (see the module docs).
pub fn preprocess(src: &str) -> String {
    let s = MACRO_RE.replace_all(src, |c: &regex::Captures| {
        let dash = &c[1];
        let name = &c[3];
        let open = c.get(4).map_or("", |m| m.as_str());
        match &c[2] {
            "macro" => format!(
                "{{%{dash} macro __m_{name}{}",
                if open.is_empty() { "" } else { "(" }
            ),
            "test" => format!(
                "{{%{dash} macro __m_test_{name}{}",
                if open.is_empty() { "" } else { "(" }
            ),
            // Custom materializations are not supported: keep the block as an unused macro.
            _ => format!("{{%{dash} macro __materialization_{name}() %}}{{#"),
        }
    });
    let s = ENDTEST_RE.replace_all(&s, "{%$1 endmacro $2%}");
    let s = ENDMAT_RE.replace_all(&s, "#}{%$1 endmacro $2%}");
    let s = defaults_from_earlier_args(&s);
    let s = crate::templating::pyvalues::rewrite_literals(&s);
    crate::templating::syntax::rewrite(&s).into_owned()
}

static MACRO_HEAD_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?\s*macro\s+[A-Za-z_][A-Za-z0-9_]*\s*\(").unwrap());

/// Jinja2 evaluates a macro's defaults left to right with the earlier arguments bound
/// (`{% macro m(schema, name=schema) %}`); minijinja evaluates them before binding any. So such a
/// default moves into the body: `{% macro m(schema, name=__sluice_missing) %}{% if name is
/// undefined %}{% set name = schema %}{% endif %}` (`__sluice_missing` is undefined, as is a
/// missing argument).
pub(super) fn defaults_from_earlier_args(src: &str) -> std::borrow::Cow<'_, str> {
    let mut out = String::new();
    let mut last = 0;
    for m in MACRO_HEAD_RE.find_iter(src) {
        // A head inside the previous macro's rewritten head (its parentheses never closed
        // before this one): already copied, and not a head of its own.
        if m.start() < last {
            continue;
        }
        let Some(close) = matching_paren(src, m.end()) else {
            continue;
        };
        let mut seen: Vec<&str> = Vec::new();
        let mut params: Vec<String> = Vec::new();
        let mut moved: Vec<(String, String)> = Vec::new();
        for arg in split_top_level(&src[m.end()..close]) {
            let (name, default) = match arg.split_once('=') {
                Some((n, d)) => (n.trim(), Some(d.trim())),
                None => (arg.trim(), None),
            };
            if name.is_empty() {
                continue;
            }
            let refers = default.is_some_and(|d| {
                seen.iter().any(|p| {
                    d.match_indices(p).any(|(i, _)| {
                        let before = d[..i].chars().next_back();
                        let after = d[i + p.len()..].chars().next();
                        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    })
                })
            });
            match default {
                Some(d) if refers => {
                    // An undefined name: the argument stays optional.
                    params.push(format!("{name}=__sluice_missing"));
                    moved.push((name.to_string(), d.to_string()));
                }
                Some(d) => params.push(format!("{name}={d}")),
                None => params.push(name.to_string()),
            }
            seen.push(name);
        }
        if moved.is_empty() {
            continue;
        }
        let Some(tag_end) = src[close..].find("%}").map(|i| close + i) else {
            continue;
        };
        let trim = src[..tag_end].ends_with('-');
        out.push_str(&src[last..m.end()]);
        out.push_str(&params.join(", "));
        out.push_str(&src[close..tag_end + 2]);
        for (i, (name, default)) in moved.iter().enumerate() {
            let end = if i + 1 == moved.len() && trim {
                "-%}"
            } else {
                "%}"
            };
            out.push_str(&format!(
                "{{% if {name} is undefined %}}{{% set {name} = {default} %}}{{% endif {end}"
            ));
        }
        last = tag_end + 2;
    }
    if last == 0 {
        return std::borrow::Cow::Borrowed(src);
    }
    out.push_str(&src[last..]);
    std::borrow::Cow::Owned(out)
}

/// Rewrites a node's SQL: list and dict literals assigned with `{% set %}` become mutable.
pub fn preprocess_node(src: &str) -> std::borrow::Cow<'_, str> {
    match crate::templating::pyvalues::rewrite_literals(src) {
        std::borrow::Cow::Borrowed(s) => crate::templating::syntax::rewrite(s),
        std::borrow::Cow::Owned(s) => {
            std::borrow::Cow::Owned(crate::templating::syntax::rewrite(&s).into_owned())
        }
    }
}
