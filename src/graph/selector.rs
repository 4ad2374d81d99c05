//! dbt's node selection syntax: parsing `--select` / `--exclude` strings and evaluating them
//! against a [`Dag`], following dbt-core 1.10 (`graph/selector_spec.py`, `selector_methods.py`,
//! `selector.py`).
//!
//! Design decision: eager indirect selection runs per criterion, before set operations, exactly
//! where dbt runs it (`get_nodes_from_criteria`), rather than once on the final set. This is what
//! makes `tag:x,resource_type:model` keep the tests of the chosen models and `--exclude orders`
//! drop the tests attached to `orders`, as dbt does.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use petgraph::graph::NodeIndex;
use petgraph::Direction;
use regex::Regex;
use serde_json::Value;

use super::{Dag, GraphNode};
use crate::diagnostics::{did_you_mean, Code, Diagnostic};

/// Methods this module evaluates.
#[rustfmt::skip]
const METHODS: &[&str] = &[
    "fqn", "tag", "group", "access", "source", "path", "file", "package", "config", "test_name",
    "test_type", "resource_type", "exposure", "metric", "semantic_model", "saved_query",
    "unit_test", "version",
];

/// dbt methods that need run state sluice does not keep yet.
const UNSUPPORTED: &[&str] = &["state", "result", "source_status", "selector"];

/// dbt's `NodeType` values, for validating `resource_type:`.
#[rustfmt::skip]
const RESOURCE_TYPES: &[&str] = &[
    "model", "analysis", "test", "snapshot", "operation", "seed", "rpc", "sql_operation", "doc",
    "source", "macro", "exposure", "metric", "group", "saved_query", "semantic_model", "unit_test",
    "fixture",
];

/// Resource types that can be indirectly selected through a selected parent.
const INDIRECT: &[&str] = &["test", "unit_test"];

/// One parsed selector such as `2+tag:nightly+` or `@config.materialized:table`.
#[derive(Debug)]
struct Criterion {
    method: String,
    args: Vec<String>,
    value: String,
    childrens_parents: bool,
    /// `Some(depth)` when a `+` prefix is present; `depth` None means unlimited.
    parents: Option<Option<usize>>,
    children: Option<Option<usize>>,
}

/// A space-separated selector: the intersection of its comma-separated criteria.
struct Intersection {
    raw: String,
    parts: Vec<Criterion>,
}

type Matcher = Box<dyn Fn(&GraphNode) -> bool>;

pub(super) fn select(
    dag: &Dag,
    select: &[String],
    exclude: &[String],
) -> Result<BTreeSet<String>, Diagnostic> {
    let include = parse_union(select)?;
    let exclude = parse_union(exclude)?;
    let universe: Vec<bool> = dag.nodes.iter().map(GraphNode::is_enabled).collect();
    let mut chosen: BTreeSet<NodeIndex> = if include.is_empty() {
        (0..dag.nodes.len())
            .filter(|&i| universe[i])
            .map(NodeIndex::new)
            .collect()
    } else {
        let mut all = BTreeSet::new();
        for group in &include {
            all.extend(eval_intersection(dag, &universe, group)?);
        }
        all
    };
    for group in &exclude {
        for n in eval_intersection(dag, &universe, group)? {
            chosen.remove(&n);
        }
    }
    Ok(chosen
        .into_iter()
        .map(|i| dag.nodes[i.index()].unique_id.clone())
        .collect())
}

pub(super) fn unmatched(dag: &Dag, selectors: &[String]) -> Result<Vec<String>, Diagnostic> {
    let universe: Vec<bool> = dag.nodes.iter().map(GraphNode::is_enabled).collect();
    let mut out = Vec::new();
    for group in parse_union(selectors)? {
        if eval_intersection(dag, &universe, &group)?.is_empty() {
            out.push(group.raw);
        }
    }
    Ok(out)
}

fn parse_union(specs: &[String]) -> Result<Vec<Intersection>, Diagnostic> {
    specs
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(|raw| {
            let parts = raw
                .split(',')
                .map(parse_criterion)
                .collect::<Result<_, _>>()?;
            Ok(Intersection {
                raw: raw.to_string(),
                parts,
            })
        })
        .collect()
}

fn spec_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"\A(?P<cp>@)?(?P<parents>(?P<pd>\d*)\+)?((?P<method>[\w.]+):)?",
            r"(?P<value>.*?)(?P<children>\+(?P<cd>\d*))?\z",
        ))
        .expect("static selector regex is valid")
    })
}

fn parse_criterion(raw: &str) -> Result<Criterion, Diagnostic> {
    let bad = |msg: String| Diagnostic::error(Code::Selector, msg);
    let caps = spec_regex()
        .captures(raw)
        .ok_or_else(|| bad(format!("invalid selector spec `{raw}`")))?;
    let depth = |g: &str| -> Result<Option<usize>, Diagnostic> {
        match caps.name(g).map(|m| m.as_str()).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(d) => d
                .parse()
                .map(Some)
                .map_err(|_| bad(format!("invalid selector `{raw}`: cannot handle depth {d}"))),
        }
    };
    let value = caps.name("value").map_or("", |m| m.as_str()).to_string();
    let (method, args) = match caps.name("method") {
        None => (default_method(&value).to_string(), Vec::new()),
        Some(m) => {
            let mut parts = m.as_str().split('.').map(str::to_string);
            let name = parts.next().unwrap_or_default();
            (name, parts.collect())
        }
    };
    if UNSUPPORTED.contains(&method.as_str()) {
        return Err(bad(format!(
            "the `{method}` selector method is not supported by sluice yet (in `{raw}`)"
        ))
        .with_hint(format!("supported methods: {}", METHODS.join(", "))));
    }
    if !METHODS.contains(&method.as_str()) {
        let hint = did_you_mean(&method, METHODS.iter().copied())
            .map(|h| format!("{h} valid methods: {}", METHODS.join(", ")))
            .unwrap_or_else(|| format!("valid methods: {}", METHODS.join(", ")));
        return Err(bad(format!(
            "'{method}' is not a valid method name (in selector `{raw}`)"
        ))
        .with_hint(hint));
    }
    if method == "config" && args.is_empty() {
        return Err(bad(format!("selector `{raw}` names no config key"))
            .with_hint("write config.<key>:<value>, e.g. config.materialized:table"));
    }
    let criterion = Criterion {
        method,
        args,
        value,
        childrens_parents: caps.name("cp").is_some(),
        parents: caps.name("parents").map(|_| depth("pd")).transpose()?,
        children: caps.name("children").map(|_| depth("cd")).transpose()?,
    };
    if criterion.childrens_parents && criterion.children.is_some() {
        return Err(bad(format!(
            "invalid selector `{raw}`: \"@\" prefix and \"+\" suffix are incompatible"
        )));
    }
    Ok(criterion)
}

/// dbt's default for a selector without `method:`.
fn default_method(value: &str) -> &'static str {
    let lower = value.to_ascii_lowercase();
    if value.contains('/') || value.contains('\\') {
        "path"
    } else if [".sql", ".py", ".csv"].iter().any(|e| lower.ends_with(e)) {
        "file"
    } else {
        "fqn"
    }
}

fn eval_intersection(
    dag: &Dag,
    universe: &[bool],
    group: &Intersection,
) -> Result<BTreeSet<NodeIndex>, Diagnostic> {
    let mut acc: Option<BTreeSet<NodeIndex>> = None;
    for c in &group.parts {
        let set = eval_criterion(dag, universe, c)?;
        acc = Some(match acc {
            None => set,
            Some(prev) => prev.intersection(&set).copied().collect(),
        });
    }
    Ok(acc.unwrap_or_default())
}

/// Direct matches, then graph operators, then eager indirect selection of tests.
fn eval_criterion(
    dag: &Dag,
    universe: &[bool],
    c: &Criterion,
) -> Result<BTreeSet<NodeIndex>, Diagnostic> {
    let matches = matcher(c)?;
    let member = |i: &NodeIndex| universe[i.index()];
    let direct: BTreeSet<NodeIndex> = dag
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, n)| universe[*i] && matches(n))
        .map(|(i, _)| NodeIndex::new(i))
        .collect();
    let mut selected = direct.clone();
    if c.childrens_parents {
        let mut kids = dag.walk(direct.iter().copied(), None, Direction::Outgoing);
        kids.extend(direct.iter().copied());
        selected.extend(dag.walk(kids.iter().copied(), None, Direction::Incoming));
        selected.extend(kids);
    }
    if let Some(depth) = c.parents {
        selected.extend(dag.walk(direct.iter().copied(), depth, Direction::Incoming));
    }
    if let Some(depth) = c.children {
        selected.extend(dag.walk(direct.iter().copied(), depth, Direction::Outgoing));
    }
    selected.retain(member);
    let tests: Vec<NodeIndex> = selected
        .iter()
        .flat_map(|&n| dag.graph.neighbors_directed(n, Direction::Outgoing))
        .filter(|t| member(t) && INDIRECT.contains(&dag.nodes[t.index()].resource_type.as_str()))
        .collect();
    selected.extend(tests);
    Ok(selected)
}

/// Splits `pkg.name` / `name` for the exposure-like methods.
fn package_and_name(c: &Criterion, what: &str) -> Result<(Glob, Glob), Diagnostic> {
    let parts: Vec<&str> = c.value.split('.').collect();
    match parts.as_slice() {
        [name] => Ok((Glob::new("*"), Glob::new(name))),
        [pkg, name] => Ok((Glob::new(pkg), Glob::new(name))),
        _ => Err(Diagnostic::error(
            Code::Selector,
            format!(
                "invalid {what} selector value \"{}\"; expected `{what}_name` or \
                 `package_name.{what}_name`",
                c.value
            ),
        )),
    }
}

/// The matcher of one selector method (`tag:`, `path:`, `config.x:` ...). Long on purpose (about
/// 170 lines): one arm per method dbt documents, each with its own error message.
fn matcher(c: &Criterion) -> Result<Matcher, Diagnostic> {
    let value = c.value.clone();
    let is = |n: &GraphNode, t: &str| n.resource_type == t;
    Ok(match c.method.as_str() {
        "fqn" => {
            let fqn = FqnPattern::new(&value);
            Box::new(move |n| !is(n, "source") && fqn.matches_node(&n.fqn, n.version.is_some()))
        }
        "version" => {
            let order = |n: &GraphNode| match (&n.version, &n.latest_version) {
                (Some(v), Some(l)) => Some(super::version_cmp(v, l)),
                _ => None,
            };
            match value.as_str() {
                "latest" => Box::new(move |n| n.version.is_some() && n.version == n.latest_version),
                "prerelease" => Box::new(move |n| order(n) == Some(std::cmp::Ordering::Greater)),
                "old" => Box::new(move |n| order(n) == Some(std::cmp::Ordering::Less)),
                "none" => Box::new(move |n| n.version.is_none()),
                other => {
                    return Err(Diagnostic::error(
                        Code::Selector,
                        format!(
                            "invalid version type selector {other}: expected one of: \"latest\", \"prerelease\", \"old\", or \"none\""
                        ),
                    ))
                }
            }
        }
        "tag" => {
            let g = Glob::new(&value);
            Box::new(move |n| n.tags.iter().any(|t| g.matches(t)))
        }
        "group" => {
            Box::new(move |n| n.config_value("group").and_then(Value::as_str) == Some(&value))
        }
        "access" => Box::new(move |n| {
            is(n, "model")
                && n.config_value("access")
                    .and_then(Value::as_str)
                    .unwrap_or("protected")
                    == value
        }),
        "source" => {
            let parts: Vec<&str> = value.split('.').collect();
            let (pkg, src, table) = match parts.as_slice() {
                [s] => ("*", *s, "*"),
                [s, t] => ("*", *s, *t),
                [p, s, t] => (*p, *s, *t),
                _ => {
                    return Err(Diagnostic::error(
                        Code::Selector,
                        format!(
                            "invalid source selector value \"{value}\"; sources must be of the \
                             form `source_name`, `source_name.table_name` or \
                             `package_name.source_name.table_name`"
                        ),
                    ))
                }
            };
            let (pkg, src, table) = (Glob::new(pkg), Glob::new(src), Glob::new(table));
            Box::new(move |n| {
                is(n, "source")
                    && pkg.matches(&n.package_name)
                    && src.matches(n.source_name.as_deref().unwrap_or_default())
                    && table.matches(&n.name)
            })
        }
        "path" => {
            let pat = PathPattern::new(&value);
            Box::new(move |n| pat.matches(&n.original_file_path))
        }
        "file" => {
            let g = Glob::new(&value);
            Box::new(move |n| {
                let path = n.original_file_path.replace('\\', "/");
                let name = path.rsplit('/').next().unwrap_or_default();
                let stem = match name.rfind('.') {
                    Some(dot) if dot > 0 => &name[..dot],
                    _ => name,
                };
                g.matches(name) || g.matches(stem)
            })
        }
        "package" => {
            let g = Glob::new(&value);
            Box::new(move |n| g.matches(&n.package_name))
        }
        "config" => {
            let keys = c.args.clone();
            let case_insensitive = keys == ["severity"];
            Box::new(move |n| {
                let configurable = !["exposure", "metric", "semantic_model", "saved_query"]
                    .contains(&n.resource_type.as_str())
                    && !is(n, "unit_test");
                let Some((first, rest)) = keys.split_first() else {
                    return false;
                };
                let mut cur = n.config_value(first);
                for k in rest {
                    cur = cur.and_then(Value::as_object).and_then(|o| o.get(k));
                }
                configurable && cur.is_some_and(|v| config_matches(v, &value, case_insensitive))
            })
        }
        "test_name" => {
            let g = Glob::new(&value);
            // A data test by its generic test's name (`unique`, `dbt_utils.expression_is_true`),
            // a unit test by its own name, as dbt matches them.
            Box::new(move |n| {
                (is(n, "test")
                    && n.test_name.as_deref().is_some_and(|t| {
                        g.matches(t) || t.rsplit_once('.').is_some_and(|(_, bare)| g.matches(bare))
                    }))
                    || (is(n, "unit_test") && g.matches(&n.name))
            })
        }
        "test_type" => {
            let types: &'static [&'static str] = match value.as_str() {
                "generic" | "schema" => &["generic"],
                "singular" => &["singular"],
                "data" => &["generic", "singular"],
                "unit" => &["unit"],
                "metric" => &["metric"],
                _ => {
                    return Err(Diagnostic::error(
                        Code::Selector,
                        format!(
                            "invalid test type selector `{value}`: expected \"generic\", \
                             \"singular\", \"unit\", \"metric\", or \"data\""
                        ),
                    ))
                }
            };
            Box::new(move |n| {
                if types == ["unit"] {
                    is(n, "unit_test")
                } else {
                    is(n, "test") && n.test_type.as_deref().is_some_and(|t| types.contains(&t))
                }
            })
        }
        "resource_type" => {
            if !RESOURCE_TYPES.contains(&value.as_str()) {
                return Err(Diagnostic::error(
                    Code::Selector,
                    format!("invalid resource_type selector \"{value}\""),
                )
                .maybe_hint(did_you_mean(&value, RESOURCE_TYPES.iter().copied())));
            }
            Box::new(move |n| n.resource_type == value)
        }
        method => {
            // exposure, metric, semantic_model, saved_query, unit_test
            let (pkg, name) = package_and_name(c, method)?;
            let rt = method.to_string();
            let metric = method == "metric";
            Box::new(move |n| {
                (n.resource_type == rt && pkg.matches(&n.package_name) && name.matches(&n.name))
                    // A metric's tests and unit tests (sluice's metrics are not graph nodes):
                    // the tests that depend on `metric.<pkg>.<name>`.
                    || (metric
                        && matches!(n.test_type.as_deref(), Some("metric" | "unit"))
                        && n.depends_on.iter().any(|d| {
                            let mut parts = d.splitn(3, '.');
                            parts.next() == Some("metric")
                                && parts.next().is_some_and(|p| pkg.matches(p))
                                && parts.next().is_some_and(|m| name.matches(m))
                        }))
            })
        }
    })
}

/// dbt's `config.X:value` comparison: strings compare exactly (case-insensitively for
/// `severity`), booleans match "true"/"false" in any case, lists match any element.
fn config_matches(v: &Value, wanted: &str, case_insensitive: bool) -> bool {
    let scalar = |v: &Value| match v {
        Value::String(s) if case_insensitive => s.eq_ignore_ascii_case(wanted),
        Value::String(s) => s == wanted,
        Value::Bool(b) => wanted.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        _ => false,
    };
    match v {
        Value::Array(items) => items.iter().any(scalar),
        other => scalar(other),
    }
}

/// dbt's `is_selected_node`: a node name, or a dotted fqn prefix, with fnmatch wildcards from the
/// first wildcard part onwards.
struct FqnPattern {
    raw: String,
    /// Literal parts before the first part holding a wildcard.
    prefix: Vec<String>,
    /// The rest, joined by dots, when some part has a wildcard.
    rest: Option<Glob>,
    len: usize,
}

impl FqnPattern {
    fn new(sel: &str) -> Self {
        let parts: Vec<&str> = sel.split('.').collect();
        let wild = parts.iter().position(|p| p.contains(['*', '?', '[', ']']));
        let cut = wild.unwrap_or(parts.len());
        FqnPattern {
            raw: sel.to_string(),
            prefix: parts[..cut].iter().map(|s| s.to_string()).collect(),
            rest: wild.map(|w| Glob::new(&parts[w..].join("."))),
            len: parts.len(),
        }
    }

    fn matches_node(&self, fqn: &[String], versioned: bool) -> bool {
        self.matches(fqn, versioned) || (fqn.len() > 1 && self.matches(&fqn[1..], versioned))
    }

    fn matches(&self, fqn: &[String], versioned: bool) -> bool {
        if versioned && fqn.len() >= 2 {
            // A versioned model's fqn ends `[name, v<v>]`: `name` selects every version, and
            // `name.v2` / `name_v2` one of them.
            let tail = &fqn[fqn.len() - 2..];
            let sel: Vec<&str> = self.raw.split('.').collect();
            let sel_tail = sel[sel.len().saturating_sub(2)..].join("_");
            if tail[0] == self.raw || tail.join("_") == sel_tail {
                return true;
            }
        } else if fqn.last() == Some(&self.raw) {
            return true;
        }
        let flat: Vec<&str> = fqn.iter().flat_map(|s| s.split('.')).collect();
        if flat.len() < self.len || flat.iter().zip(&self.prefix).any(|(a, b)| a != b) {
            return false;
        }
        match &self.rest {
            Some(g) => g.matches(&flat[self.prefix.len()..].join(".")),
            None => true,
        }
    }
}

/// pathlib-style glob over `/`-separated components (`**` spans directories), matching a file
/// or any of its parent directories, as dbt's `path:` does via `Path.glob`.
struct PathPattern(Vec<Option<Glob>>);

impl PathPattern {
    fn new(sel: &str) -> Self {
        let norm = sel.replace('\\', "/");
        PathPattern(
            norm.split('/')
                .filter(|p| !p.is_empty() && *p != ".")
                .map(|p| (p != "**").then(|| Glob::new(p)))
                .collect(),
        )
    }

    fn matches(&self, file: &str) -> bool {
        if self.0.is_empty() {
            return false;
        }
        let norm = file.replace('\\', "/");
        let parts: Vec<&str> = norm
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        (1..=parts.len()).any(|k| Self::walk(&self.0, &parts[..k]))
    }

    fn walk(pat: &[Option<Glob>], path: &[&str]) -> bool {
        match pat.split_first() {
            None => path.is_empty(),
            Some((None, rest)) => (0..=path.len()).any(|k| Self::walk(rest, &path[k..])),
            Some((Some(g), rest)) => {
                path.first().is_some_and(|p| g.matches(p)) && Self::walk(rest, &path[1..])
            }
        }
    }
}

/// Python's `fnmatch.fnmatchcase`: `*`, `?`, `[seq]`, `[!seq]`; `*` also matches `.` and `/`.
struct Glob(GlobKind);

enum GlobKind {
    Any,
    Literal(String),
    Regex(Regex),
}

impl Glob {
    fn new(pat: &str) -> Glob {
        if pat == "*" {
            return Glob(GlobKind::Any);
        }
        if !pat.contains(['*', '?', '[']) {
            return Glob(GlobKind::Literal(pat.to_string()));
        }
        match Regex::new(&translate(pat)) {
            Ok(re) => Glob(GlobKind::Regex(re)),
            Err(_) => Glob(GlobKind::Literal(pat.to_string())),
        }
    }

    fn matches(&self, s: &str) -> bool {
        match &self.0 {
            GlobKind::Any => true,
            GlobKind::Literal(l) => l == s,
            GlobKind::Regex(re) => re.is_match(s),
        }
    }
}

/// fnmatch pattern to an anchored regex, following `fnmatch.translate`.
fn translate(pat: &str) -> String {
    let chars: Vec<char> = pat.chars().collect();
    let mut out = String::from(r"(?s)\A");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str(r"\[");
                    continue;
                }
                let body = &chars[i..j];
                i = j + 1;
                out.push('[');
                let body = match body.split_first() {
                    Some(('!', rest)) => {
                        out.push('^');
                        rest
                    }
                    _ => body,
                };
                for &b in body {
                    if b == '-' || b.is_alphanumeric() || !b.is_ascii() {
                        out.push(b);
                    } else {
                        out.push('\\');
                        out.push(b);
                    }
                }
                out.push(']');
            }
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    out.push_str(r"\z");
    out
}

#[cfg(test)]
mod tests;
