//! Parse-time checks that only report: a properties entry that describes no node (a warning,
//! as dbt's "Did not find matching node for patch"), a `{{ doc(..) }}` naming no docs block, and
//! a `{% docs %}` / `{% snapshot %}` block never closed. Split from `parse`, which calls them.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::doc_calls::doc_calls;
use super::nodes::{DocBlock, Manifest};
use super::properties::Properties;
use crate::diagnostics::{did_you_mean, Code, Diagnostic, Location};
use crate::project::Project;

static DOCS_OPEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?\s*docs\s+[A-Za-z_]").unwrap());
static DOCS_CLOSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?\s*enddocs\s*-?%\}").unwrap());
static SNAPSHOT_OPEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?\s*snapshot\s+[A-Za-z_]").unwrap());
static SNAPSHOT_CLOSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?\s*endsnapshot\s*-?%\}").unwrap());

/// One warning per `models:` / `seeds:` / `snapshots:` / `analyses:` entry whose name no node
/// (enabled or disabled) has. The names are gathered once: a project describes most of its nodes.
pub(super) fn entries_for_no_node<'a>(
    projects: impl Iterator<Item = (&'a Project, &'a Properties<'a>)>,
    manifest: &Manifest,
) -> Vec<Diagnostic> {
    let names: HashSet<&str> = manifest
        .nodes
        .values()
        .map(|n| &**n)
        .chain(manifest.disabled.values().flatten())
        .map(|n| n.name.as_str())
        .collect();
    let mut out = Vec::new();
    for (proj, props) in projects {
        for (section, map) in [
            ("models", &props.models),
            ("seeds", &props.seeds),
            ("snapshots", &props.snapshots),
            ("analyses", &props.analyses),
        ] {
            for (name, entry) in map.iter().filter(|(n, _)| !names.contains(n.as_str())) {
                out.push(
                    Diagnostic::warning(
                        Code::UnknownPatch,
                        format!(
                            "did not find a node named `{name}` for the entry under `{section}:` (project `{}`)",
                            proj.config.name
                        ),
                    )
                    .in_file(entry.file)
                    .with_hint("check the name, or add the file the entry describes"),
                );
            }
        }
    }
    out
}

/// Whether every `{{ doc(..) }}` in `text` names a docs block in `names` (then no description of
/// the file can name a missing one).
/// (`names` holds each block's name and its `package.name`.)
pub(super) fn doc_calls_known(text: &str, names: &HashSet<String>) -> bool {
    doc_calls(text).all(|c| match c.package {
        Some(package) => names.contains(&format!("{package}.{}", c.name)),
        None => names.contains(c.name),
    })
}

/// Every `{{ doc(..) }}` of a `description:` in `v` that names no docs block, as a diagnostic at
/// its place in the file.
pub(super) fn missing_docs(
    v: &Value,
    file: &crate::project::YamlFile,
    docs: &BTreeMap<String, DocBlock>,
    errors: &mut Vec<Diagnostic>,
) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match x {
                    Value::String(text) if k == "description" && text.contains("doc(") => {
                        for c in doc_calls(text) {
                            let (package, name) = (c.package, c.name);
                            let found = docs.values().any(|d| {
                                d.name == name && package.is_none_or(|p| p == d.package_name)
                            });
                            if found {
                                continue;
                            }
                            let at = file
                                .text
                                .find(&text[c.range.clone()])
                                .map_or((1, 1), |i| crate::diagnostics::line_col(&file.text, i));
                            errors.push(
                                Diagnostic::error(
                                    Code::UnknownDoc,
                                    format!("a description uses doc `{name}`, which was not found"),
                                )
                                .at(Location::at(&file.original_file_path, at.0, at.1))
                                .maybe_hint(did_you_mean(
                                    name,
                                    docs.values().map(|d| d.name.as_str()),
                                ))
                                .with_hint_if_none(
                                    "define it in a `{% docs name %}...{% enddocs %}` block of a .md file",
                                ),
                            );
                        }
                    }
                    _ => missing_docs(x, file, docs, errors),
                }
            }
        }
        Value::Array(items) => {
            for x in items {
                missing_docs(x, file, docs, errors);
            }
        }
        _ => {}
    }
}

/// The first `{% <kind> name %}` of a file with no `{% end<kind> %}` after it, as a diagnostic
/// at the opening tag (dbt: "Reached EOF without finding a close tag for <kind>").
pub(super) fn unclosed_block(text: &str, file: &str, kind: &'static str) -> Option<Diagnostic> {
    let (open, close) = match kind {
        "docs" => (&*DOCS_OPEN, &*DOCS_CLOSE),
        _ => (&*SNAPSHOT_OPEN, &*SNAPSHOT_CLOSE),
    };
    let mut from = 0;
    while let Some(m) = open.find_at(text, from) {
        match close.find_at(text, m.end()) {
            Some(c) => from = c.end(),
            None => {
                let (line, col) = crate::diagnostics::line_col(text, m.start());
                return Some(
                    Diagnostic::error(
                        Code::JinjaSyntax,
                        format!("a `{{% {kind} %}}` block is never closed"),
                    )
                    .at(Location::at(file, line, col))
                    .with_hint(format!("end the block with `{{% end{kind} %}}`")),
                );
            }
        }
    }
    None
}

/// A config value of the wrong type (`config(tags=7)`, `+meta: 5`) is an error while parsing, as
/// dbt's schema check of node configs makes it: `tags` is a string or a list of strings,
/// `materialized` a string, `meta` and `docs` are mappings. At the value's line when the node's own file sets it.
/// (`project_root` is the folder of the node's package: a value set in no file of the node's own
/// is shown at its line of that package's `dbt_project.yml`, when it is there.)
pub(super) fn config_types(
    node: &super::Node,
    project_root: Option<&std::path::Path>,
) -> Result<(), Diagnostic> {
    let bad = |key: &str, want: &str, v: &Value| {
        let in_project = || {
            let root = project_root?;
            let text = std::fs::read_to_string(root.join("dbt_project.yml")).ok()?;
            let i = text.find(&format!("{key}:"))?;
            let (line, col) = crate::diagnostics::line_col(&text, i);
            Some(("dbt_project.yml".to_string(), line, col))
        };
        let found = node
            .raw_code
            .find(key)
            .map(|i| {
                let (line, col) = crate::diagnostics::line_col(&node.raw_code, i);
                (node.original_file_path.clone(), line, col)
            })
            .or_else(in_project);
        let d = Diagnostic::error(
            Code::ConfigType,
            format!(
                "config `{key}` of {} `{}` must be {want}, not `{v}`",
                node.resource_type.as_str(),
                node.name
            ),
        )
        .with_hint(format!(
            "fix `{key}` where it is set: the node's `config(...)`, its properties file or `dbt_project.yml`"
        ));
        Err(match found {
            Some((file, line, col)) => d.at(Location::at(&file, line, col)),
            None => d.in_file(&node.original_file_path),
        })
    };
    if let Some(v) = node.config.get("tags") {
        let ok = match v {
            Value::String(_) | Value::Null => true,
            Value::Array(items) => items.iter().all(Value::is_string),
            _ => false,
        };
        if !ok {
            return bad("tags", "a string or a list of strings", v);
        }
    }
    if let Some(v) = node.config.get("materialized") {
        if !matches!(v, Value::String(_) | Value::Null) {
            return bad("materialized", "the name of a materialization", v);
        }
    }
    for key in ["meta", "docs"] {
        if let Some(v) = node.config.get(key) {
            if !matches!(v, Value::Object(_) | Value::Null) {
                return bad(key, "a mapping", v);
            }
        }
    }
    Ok(())
}

/// Each `given` input of a unit test must name something that exists: `ref('x')` a model, seed
/// or snapshot, `source('a', 'b')` a source table (dbt: a parse error). `this` and inputs with
/// keyword arguments (versions) are left to the unit-test runner.
pub(super) fn unit_test_inputs(
    test: &str,
    definition: &Value,
    manifest: &Manifest,
    pkg: &str,
    file: &str,
    file_text: &str,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(given) = definition.get("given").and_then(Value::as_array) else {
        return out;
    };
    for input in given.iter().filter_map(|g| g.get("input")?.as_str()) {
        let Some((kind, args)) = super::yaml_values::parse_call(input.trim()) else {
            continue;
        };
        if input.contains('=') {
            continue;
        }
        let missing = match (kind, args.as_slice()) {
            ("ref", [name]) => super::generic_tests::find_refable(manifest, pkg, None, name)
                .is_none()
                .then(|| {
                    let names = manifest
                        .nodes
                        .values()
                        .filter(|n| n.resource_type.is_refable())
                        .map(|n| n.name.as_str());
                    ("model, seed or snapshot", did_you_mean(name, names))
                }),
            ("ref", [package, name]) => {
                super::generic_tests::find_refable(manifest, pkg, Some(package), name)
                    .is_none()
                    .then_some(("model, seed or snapshot", None))
            }
            ("source", [source, table]) => (!manifest.sources.values().any(|s| {
                s.source
                    .as_ref()
                    .is_some_and(|x| x.source_name == *source && s.name == *table)
            }))
            .then_some(("source table", None)),
            _ => None,
        };
        if let Some((what, hint)) = missing {
            let at = file_text
                .find(input)
                .map(|i| crate::diagnostics::line_col(file_text, i));
            let d = Diagnostic::error(
                Code::UnknownRef,
                format!("unit test `{test}` is given `{input}`, which names no {what}"),
            );
            let d = match at {
                Some((line, col)) => d.at(Location::at(file, line, col)),
                None => d.in_file(file),
            };
            out.push(d.maybe_hint(hint).with_hint_if_none(
                "a unit test's `given` inputs are the refs and sources its model reads",
            ));
        }
    }
    out
}
