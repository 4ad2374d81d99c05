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

use super::state::{StateFacts, STATE_CHECKS};
use super::{Dag, GraphNode};
use crate::diagnostics::{did_you_mean, Code, Diagnostic};

/// Methods this module evaluates.
#[rustfmt::skip]
const METHODS: &[&str] = &[
    "fqn", "tag", "group", "access", "source", "path", "file", "package", "config", "test_name",
    "test_type", "resource_type", "state", "exposure", "metric", "result", "source_status",
    "version", "semantic_model", "saved_query", "unit_test",
];

/// dbt's `NodeType` values, for validating `resource_type:`.
#[rustfmt::skip]
const RESOURCE_TYPES: &[&str] = &[
    "model", "analysis", "test", "snapshot", "operation", "seed", "rpc", "sql_operation", "doc",
    "source", "macro", "exposure", "metric", "group", "saved_query", "semantic_model", "unit_test",
    "fixture",
];

/// Resource types that can be indirectly selected through a selected parent.
const INDIRECT: &[&str] = &["test", "unit_test"];

/// One parsed selector such as `2+tag:nightly+` or `@config.materialized:table` (dbt's
/// `SelectionCriteria`).
#[derive(Debug, Clone)]
pub(crate) struct Criterion {
    method: String,
    args: Vec<String>,
    value: String,
    childrens_parents: bool,
    /// `Some(depth)` when a `+` prefix is present; `depth` None means unlimited.
    parents: Option<Option<usize>>,
    children: Option<Option<usize>>,
}

/// A selection: criteria combined as dbt's `SelectionSpec` combines them. The command line
/// makes a difference of unions of intersections; `selectors.yml` may nest them freely.
#[derive(Debug, Clone)]
pub(crate) enum SelectExpr {
    /// Every enabled node (no `--select`).
    All,
    Criterion(Criterion),
    Union(Vec<SelectExpr>),
    Intersection(Vec<SelectExpr>),
    /// The first minus the second.
    Difference(Box<SelectExpr>, Box<SelectExpr>),
}

/// What selection methods need beyond the graph: the comparison with a previous run for
/// `state:`, `result:` and `source_status:`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SelectContext<'a> {
    pub(crate) state: Option<&'a StateFacts>,
    /// Whether blank SQL nodes can be selected (see [`GraphNode::empty`]).
    pub(crate) include_empty: bool,
}

/// A space-separated selector: the intersection of its comma-separated criteria.
struct Intersection {
    raw: String,
    parts: Vec<Criterion>,
}

type Matcher<'a> = Box<dyn Fn(&GraphNode) -> bool + 'a>;

impl SelectExpr {
    /// `--select` / `--exclude` as one expression.
    pub(crate) fn from_cli(
        select: &[String],
        exclude: &[String],
    ) -> Result<SelectExpr, Diagnostic> {
        parse_cli(select, exclude)
    }
}

/// `--select` / `--exclude` as one expression.
pub(super) fn parse_cli(select: &[String], exclude: &[String]) -> Result<SelectExpr, Diagnostic> {
    let union = |specs: &[String]| -> Result<SelectExpr, Diagnostic> {
        Ok(SelectExpr::Union(
            parse_union(specs)?
                .into_iter()
                .map(|i| {
                    SelectExpr::Intersection(
                        i.parts.into_iter().map(SelectExpr::Criterion).collect(),
                    )
                })
                .collect(),
        ))
    };
    let include = if select.iter().all(|s| s.trim().is_empty()) {
        SelectExpr::All
    } else {
        union(select)?
    };
    Ok(if exclude.iter().all(|s| s.trim().is_empty()) {
        include
    } else {
        SelectExpr::Difference(Box::new(include), Box::new(union(exclude)?))
    })
}

/// One selector written as a string (`selectors.yml`'s string definitions).
pub(crate) fn parse_single(raw: &str) -> Result<SelectExpr, Diagnostic> {
    parse_criterion(raw).map(SelectExpr::Criterion)
}

/// One selector written as a mapping (`method`, `value`, `parents`, `children`, their depths,
/// `childrens_parents`), as `selectors.yml` writes them.
pub(crate) fn criterion_from_parts(
    method: &str,
    value: &str,
    parents: Option<Option<usize>>,
    children: Option<Option<usize>>,
    childrens_parents: bool,
) -> Result<SelectExpr, Diagnostic> {
    let mut c = parse_criterion(&format!("{method}:{value}"))?;
    c.parents = parents;
    c.children = children;
    c.childrens_parents = childrens_parents;
    Ok(SelectExpr::Criterion(c))
}

pub(super) fn select(
    dag: &Dag,
    expr: &SelectExpr,
    ctx: &SelectContext,
) -> Result<BTreeSet<String>, Diagnostic> {
    let universe = universe(dag, ctx);
    let chosen = eval(dag, &universe, expr, ctx)?;
    Ok(chosen
        .into_iter()
        .map(|i| dag.nodes[i.index()].unique_id.clone())
        .collect())
}

fn eval(
    dag: &Dag,
    universe: &[bool],
    expr: &SelectExpr,
    ctx: &SelectContext,
) -> Result<BTreeSet<NodeIndex>, Diagnostic> {
    Ok(match expr {
        SelectExpr::All => (0..dag.nodes.len())
            .filter(|&i| universe[i])
            .map(NodeIndex::new)
            .collect(),
        SelectExpr::Criterion(c) => eval_criterion(dag, universe, c, ctx)?,
        SelectExpr::Union(parts) => {
            let mut all = BTreeSet::new();
            for p in parts {
                all.extend(eval(dag, universe, p, ctx)?);
            }
            all
        }
        SelectExpr::Intersection(parts) => {
            let mut acc: Option<BTreeSet<NodeIndex>> = None;
            for p in parts {
                let set = eval(dag, universe, p, ctx)?;
                acc = Some(match acc {
                    None => set,
                    Some(prev) => prev.intersection(&set).copied().collect(),
                });
            }
            acc.unwrap_or_default()
        }
        SelectExpr::Difference(a, b) => {
            let mut keep = eval(dag, universe, a, ctx)?;
            for n in eval(dag, universe, b, ctx)? {
                keep.remove(&n);
            }
            keep
        }
    })
}

/// Per node, whether a selection can pick it: enabled, and not blank unless `ctx` allows.
fn universe(dag: &Dag, ctx: &SelectContext) -> Vec<bool> {
    dag.nodes
        .iter()
        .map(|n| n.is_enabled() && (ctx.include_empty || !n.empty))
        .collect()
}

pub(super) fn unmatched(
    dag: &Dag,
    selectors: &[String],
    ctx: &SelectContext,
) -> Result<Vec<String>, Diagnostic> {
    // A blank node is a match here (dbt warns only about what matches no enabled node).
    let all = SelectContext {
        include_empty: true,
        ..*ctx
    };
    let universe = universe(dag, &all);
    let mut out = Vec::new();
    for group in parse_union(selectors)? {
        let expr =
            SelectExpr::Intersection(group.parts.into_iter().map(SelectExpr::Criterion).collect());
        if eval(dag, &universe, &expr, ctx)?.is_empty() {
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

/// Direct matches, then graph operators, then eager indirect selection of tests.
fn eval_criterion(
    dag: &Dag,
    universe: &[bool],
    c: &Criterion,
    ctx: &SelectContext,
) -> Result<BTreeSet<NodeIndex>, Diagnostic> {
    let matches = matcher(c, ctx)?;
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
fn matcher<'a>(c: &Criterion, ctx: &SelectContext<'a>) -> Result<Matcher<'a>, Diagnostic> {
    let value = c.value.clone();
    let is = |n: &GraphNode, t: &str| n.resource_type == t;
    Ok(match c.method.as_str() {
        "state" | "result" | "source_status" => return state_matcher(c, ctx),
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

/// The matchers that read a previous run's artifacts (`--state`).
fn state_matcher<'a>(c: &Criterion, ctx: &SelectContext<'a>) -> Result<Matcher<'a>, Diagnostic> {
    let value = c.value.clone();
    let no_state = |what: &str, file: &str| {
        Diagnostic::error(
            Code::Selector,
            format!("`{}:{}` needs {what}, and there is none", c.method, c.value),
        )
        .with_hint(format!(
            "pass --state DIR (or set DBT_STATE) naming the folder of a previous run's {file}"
        ))
    };
    match c.method.as_str() {
        "state" => {
            let facts = ctx
                .state
                .filter(|f| f.has_manifest())
                .ok_or_else(|| no_state("a comparison manifest", "manifest.json"))?;
            if !STATE_CHECKS.contains(&value.as_str()) {
                return Err(Diagnostic::error(
                    Code::Selector,
                    format!(
                        "Got an invalid selector \"{value}\", expected one of \"{}\"",
                        STATE_CHECKS.join("\", \"")
                    ),
                ));
            }
            Ok(Box::new(move |n| facts.state(&value, &n.unique_id)))
        }
        "result" => {
            let facts = ctx
                .state
                .filter(|f| f.has_results())
                .ok_or_else(|| no_state("the results of a previous run", "run_results.json"))?;
            Ok(Box::new(move |n| facts.result_is(&value, &n.unique_id)))
        }
        _ => {
            let facts = ctx.state.filter(|f| f.has_sources()).ok_or_else(|| {
                no_state(
                    "freshness results of this run and of a previous one",
                    "sources.json (and run `sluice source freshness` first)",
                )
            })?;
            if value != "fresher" {
                return Err(Diagnostic::error(
                    Code::Selector,
                    format!("invalid source_status selector `{value}`"),
                )
                .with_hint("the one status dbt compares is `source_status:fresher`"));
            }
            Ok(Box::new(move |n| facts.is_fresher(&n.unique_id)))
        }
    }
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
