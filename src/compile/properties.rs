//! Properties YAML (`models:`, `sources:`, `seeds:`, `snapshots:`, `macros:`, `exposures:`,
//! `groups:`, `unit_tests:`, `semantic_models:`, `metrics:`, `saved_queries:`): collected from
//! every `.yml` file into one [`Properties`] index, keyed by the name each entry patches.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::diagnostics::{Code, Diagnostic};
use crate::project::{yaml_entry_error, YamlFile};

/// One entry of a properties file, with where it came from.
/// Borrowed from the loaded project's YAML: the index copies nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    /// The properties file, relative to the project root.
    pub(crate) file: &'a str,
    pub(crate) value: &'a Map<String, Value>,
}

impl<'a> Entry<'a> {
    pub(crate) fn name(&self) -> &'a str {
        self.value.get("name").and_then(Value::as_str).unwrap_or("")
    }
    pub(crate) fn str(&self, key: &str) -> Option<&'a str> {
        self.value.get(key).and_then(Value::as_str)
    }
}

/// All properties of the project, by kind and name.
#[derive(Debug, Default)]
pub struct Properties<'a> {
    pub(crate) models: BTreeMap<String, Entry<'a>>,
    pub(crate) seeds: BTreeMap<String, Entry<'a>>,
    pub(crate) snapshots: BTreeMap<String, Entry<'a>>,
    pub(crate) analyses: BTreeMap<String, Entry<'a>>,
    pub(crate) macros: BTreeMap<String, Entry<'a>>,
    pub(crate) sources: Vec<Entry<'a>>,
    pub(crate) exposures: Vec<Entry<'a>>,
    pub(crate) groups: Vec<Entry<'a>>,
    pub(crate) unit_tests: Vec<Entry<'a>>,
    pub(crate) semantic_models: Vec<Entry<'a>>,
    pub(crate) metrics: Vec<Entry<'a>>,
    pub(crate) saved_queries: Vec<Entry<'a>>,
    /// Things worth telling the user that do not stop the parse (unknown top-level keys).
    pub warnings: Vec<Diagnostic>,
}

const KNOWN_KEYS: &[&str] = &[
    "version",
    "models",
    "sources",
    "seeds",
    "snapshots",
    "analyses",
    "macros",
    "exposures",
    "groups",
    "unit_tests",
    "semantic_models",
    "metrics",
    "saved_queries",
    // sluice's own section, read by the semantic layer (`metrics::unit_tests`).
    "metric_unit_tests",
    "data_tests",
    "tests",
];

impl<'a> Properties<'a> {
    pub fn collect(files: &'a [YamlFile]) -> Result<Self, Vec<Diagnostic>> {
        let mut p = Properties::default();
        let mut errors = Vec::new();
        // Each file's entries are read in parallel, then kept in the files' order.
        let read: Vec<_> = files.par_iter().map(|f| (f, file_entries(f))).collect();
        for (f, (entries, file_errors)) in read {
            errors.extend(file_errors);
            for (key, entry) in entries {
                let map = match key {
                    "models" => &mut p.models,
                    "seeds" => &mut p.seeds,
                    "snapshots" => &mut p.snapshots,
                    "analyses" => &mut p.analyses,
                    "macros" => &mut p.macros,
                    "sources" => {
                        p.sources.push(entry);
                        continue;
                    }
                    "exposures" => {
                        p.exposures.push(entry);
                        continue;
                    }
                    "groups" => {
                        p.groups.push(entry);
                        continue;
                    }
                    "unit_tests" => {
                        p.unit_tests.push(entry);
                        continue;
                    }
                    "semantic_models" => {
                        p.semantic_models.push(entry);
                        continue;
                    }
                    "metrics" => {
                        p.metrics.push(entry);
                        continue;
                    }
                    "saved_queries" => {
                        p.saved_queries.push(entry);
                        continue;
                    }
                    _ => continue,
                };
                let name = entry.name().to_string();
                if let Some(prev) = map.get(&name) {
                    errors.push(
                        yaml_entry_error(
                            f,
                            &name,
                            Code::DuplicatePatch,
                            format!(
                                "`{name}` is described twice under `{key}:` (also in `{}`)",
                                prev.file
                            ),
                        )
                        .with_hint("merge the two entries into one"),
                    );
                    continue;
                }
                map.insert(name, entry);
            }
        }
        let (warnings, errs): (Vec<_>, Vec<_>) = errors
            .into_iter()
            .partition(|d| d.severity == crate::diagnostics::Severity::Warning);
        if !errs.is_empty() {
            return Err(errs);
        }
        p.warnings = warnings;
        Ok(p)
    }
}

/// The entries of one properties file, with the top-level key each sits under, and the file's
/// structural errors.
fn file_entries(f: &YamlFile) -> (Vec<(&str, Entry<'_>)>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let Value::Object(top) = &f.value else {
        if !f.value.is_null() {
            errors.push(
                Diagnostic::error(Code::Yaml, "a properties file must be a mapping")
                    .in_file(&f.original_file_path),
            );
        }
        return (out, errors);
    };
    for (key, v) in top {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            // The key's own line: it starts a line, unindented.
            let line = f.text.lines().position(|l| {
                l.strip_prefix(key.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with(':'))
            });
            // A key that only holds anchors for the entries below (`x-common: &common ...`) is
            // not a typo; dbt reads past any top-level key.
            let holds_anchor = line
                .and_then(|i| f.text.lines().nth(i))
                .and_then(|l| l.split_once(':'))
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('&'));
            if holds_anchor {
                continue;
            }
            let warning = Diagnostic::warning(
                Code::Yaml,
                format!("unknown top-level key `{key}` in properties file"),
            );
            let warning = match line {
                Some(i) => warning.at(crate::diagnostics::Location::at(
                    &f.original_file_path,
                    i + 1,
                    1,
                )),
                None => warning.in_file(&f.original_file_path),
            };
            errors.push(warning.maybe_hint(crate::diagnostics::did_you_mean(
                key,
                KNOWN_KEYS.iter().copied(),
            )));
            continue;
        }
        if key == "version" {
            continue;
        }
        let Value::Array(items) = v else {
            if !v.is_null() {
                errors.push(
                    Diagnostic::error(Code::Yaml, format!("`{key}:` must be a list of entries"))
                        .in_file(&f.original_file_path)
                        .with_hint(format!("write `{key}:` followed by `- name: ...` items")),
                );
            }
            continue;
        };
        for item in items {
            let Value::Object(m) = item else {
                errors.push(
                    Diagnostic::error(
                        Code::Yaml,
                        format!("an entry under `{key}:` must be a mapping"),
                    )
                    .in_file(&f.original_file_path),
                );
                continue;
            };
            let entry = Entry {
                file: &f.original_file_path,
                value: m,
            };
            if entry.name().is_empty() {
                errors.push(
                    Diagnostic::error(Code::Yaml, format!("an entry under `{key}:` has no `name`"))
                        .in_file(&f.original_file_path)
                        .with_hint("every entry needs `- name: ...`"),
                );
                continue;
            }
            // dbt's schema check: `columns:` is a list (of entries with a `name`).
            if let Some(cols) = m.get("columns").filter(|c| !c.is_null() && !c.is_array()) {
                let lines: Vec<&str> = f.text.lines().collect();
                let named = lines
                    .iter()
                    .position(|l| {
                        l.trim_start().trim_start_matches("- ").trim_start()
                            == format!("name: {}", entry.name())
                    })
                    .unwrap_or(0);
                let line = lines
                    .iter()
                    .skip(named)
                    .position(|l| l.trim_start().starts_with("columns:"))
                    .map_or(1, |i| named + i + 1);
                errors.push(
                    Diagnostic::error(
                        Code::Yaml,
                        format!(
                            "`columns:` of `{}` must be a list of columns, not {}",
                            entry.name(),
                            serde_json::to_string(cols).unwrap_or_default()
                        ),
                    )
                    .at(crate::diagnostics::Location::at(
                        &f.original_file_path,
                        line,
                        1,
                    ))
                    .with_hint("write `columns:` followed by `- name: <column>` items"),
                );
                continue;
            }
            out.push((key.as_str(), entry));
        }
    }
    (out, errors)
}

/// The `config:` of a properties entry (with `+` prefixes removed), plus legacy top-level keys.
pub(crate) fn entry_config(entry: &Map<String, Value>) -> Map<String, Value> {
    entry_config_with(entry, &["tags", "meta", "docs"])
}

/// [`entry_config`] of a model's, seed's, snapshot's or analysis' entry: its top-level `meta` and
/// `docs` join its config, a top-level `tags` does not (dbt 1.10 reads tags from `config:`
/// there).
pub(crate) fn node_entry_config(entry: &Map<String, Value>) -> Map<String, Value> {
    entry_config_with(entry, &["meta", "docs"])
}

fn entry_config_with(entry: &Map<String, Value>, top_level: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(Value::Object(c)) = entry.get("config") {
        for (k, v) in c {
            out.insert(
                crate::project::config::normalize_key(k.trim_start_matches('+')).to_string(),
                v.clone(),
            );
        }
    }
    for &k in top_level {
        if let Some(v) = entry.get(k) {
            let mut m = Map::new();
            m.insert(k.to_string(), v.clone());
            crate::project::config::merge(&mut out, &m);
        }
    }
    out
}

/// Data tests of an entry (`data_tests:` or the older `tests:`).
pub(crate) fn entry_tests(entry: &Map<String, Value>) -> impl Iterator<Item = &Value> {
    ["data_tests", "tests"]
        .into_iter()
        .filter_map(|k| match entry.get(k) {
            Some(Value::Array(a)) => Some(a),
            _ => None,
        })
        .flatten()
}
