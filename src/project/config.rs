//! `dbt_project.yml`: the project's settings and its config trees.
//!
//! A config tree (`models:`, `seeds:`, `data_tests:` ...) is nested by package and folder; at each
//! level, keys starting with `+` are configs, bare keys are configs when they are known config
//! names, and every other key is a sub-folder. [`ConfigTree::resolve`] walks a node's fqn and
//! merges the configs it meets, the deeper the stronger, with dbt's merge rules (see [`merge`]).

use std::path::Path;

use serde_json::{Map, Value};

use super::yaml;
use crate::diagnostics::{Code, Diagnostic, Location};

/// One `dispatch:` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DispatchConfig {
    pub(crate) macro_namespace: String,
    pub(crate) search_order: Vec<String>,
}

/// The parsed `dbt_project.yml`.
#[derive(Debug, Clone)]
pub struct ProjectConfig {
    pub name: String,
    pub(crate) version: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) model_paths: Vec<String>,
    pub(crate) seed_paths: Vec<String>,
    pub(crate) test_paths: Vec<String>,
    pub(crate) analysis_paths: Vec<String>,
    pub(crate) macro_paths: Vec<String>,
    pub(crate) snapshot_paths: Vec<String>,
    pub(crate) docs_paths: Vec<String>,
    /// `asset-paths`: folders `docs generate` copies into the target folder (images the docs
    /// link to).
    pub(crate) asset_paths: Vec<String>,
    pub(crate) target_path: String,
    pub(crate) packages_install_path: String,
    pub(crate) clean_targets: Vec<String>,
    pub(crate) vars: Map<String, Value>,
    pub(crate) require_dbt_version: Vec<String>,
    pub(crate) quoting: Map<String, Value>,
    pub(crate) dispatch: Vec<DispatchConfig>,
    /// `flags:` (dbt's behaviour flags, such as `validate_macro_args`).
    pub(crate) flags: Map<String, Value>,
    pub(crate) on_run_start: Vec<String>,
    pub(crate) on_run_end: Vec<String>,
    /// `query-comment`: what sluice comments the statements it sends with.
    pub(crate) query_comment: QueryComment,
    pub models: ConfigTree,
    pub seeds: ConfigTree,
    pub(crate) snapshots: ConfigTree,
    pub(crate) sources: ConfigTree,
    pub data_tests: ConfigTree,
    pub(crate) analyses: ConfigTree,
    pub metrics: ConfigTree,
    pub(crate) exposures: ConfigTree,
    /// `saved-queries:` config (`+cache`, `+export_as`, ...).
    pub(crate) saved_queries: ConfigTree,
    /// What reading the file warned about (keys given twice).
    pub(crate) warnings: Vec<Diagnostic>,
}

/// `query-comment` in `dbt_project.yml`: a string (a Jinja template), `null` or `''` (no
/// comment), or a mapping with `comment` and `append`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct QueryComment {
    pub(crate) text: CommentText,
    /// After each statement rather than before it.
    pub(crate) append: bool,
}

/// What the comment says.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum CommentText {
    /// Not configured: sluice's default (tool, version, profile, target, node).
    #[default]
    Default,
    /// `null` or `''`: no comment.
    Off,
    /// A Jinja template, rendered with the project's macros, `target` and the node.
    Template(String),
}

impl QueryComment {
    fn parse(raw: Option<&Value>) -> QueryComment {
        let text = |v: Option<&Value>| match v {
            None => CommentText::Default,
            Some(Value::String(s)) if s.is_empty() => CommentText::Off,
            Some(Value::String(s)) => CommentText::Template(s.clone()),
            Some(Value::Null) => CommentText::Off,
            Some(other) => CommentText::Template(other.to_string()),
        };
        match raw {
            Some(Value::Object(m)) => QueryComment {
                text: text(m.get("comment")),
                append: m.get("append").and_then(Value::as_bool).unwrap_or(false),
            },
            other => QueryComment {
                text: text(other),
                append: false,
            },
        }
    }
}

/// The strings of a string or a list (`tags: x` or `tags: [x, y]`): numbers and booleans as
/// written, other items (nulls, mappings) left out; nothing for any other value.
pub(crate) fn str_list(v: Option<&Value>) -> Vec<String> {
    let item = |x: &Value| match x {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(x.to_string()),
        _ => None,
    };
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(item).collect(),
        Some(s @ Value::String(_)) => item(s).into_iter().collect(),
        _ => vec![],
    }
}

/// [`str_list`], or `default` when `v` is neither a string nor a list.
fn str_list_or(v: Option<&Value>, default: &[&str]) -> Vec<String> {
    match v {
        Some(Value::Array(_) | Value::String(_)) => str_list(v),
        _ => default.iter().map(|s| s.to_string()).collect(),
    }
}

/// Keys of `dbt_project.yml` that hold a list of folders or paths.
const PATH_LIST_KEYS: [&str; 12] = [
    "model-paths",
    "source-paths",
    "seed-paths",
    "data-paths",
    "test-paths",
    "analysis-paths",
    "macro-paths",
    "snapshot-paths",
    "docs-paths",
    "asset-paths",
    "function-paths",
    "clean-targets",
];

/// Keys of `dbt_project.yml` that hold a mapping.
const MAPPING_KEYS: [&str; 17] = [
    "vars",
    "quoting",
    "flags",
    "models",
    "seeds",
    "snapshots",
    "sources",
    "tests",
    "data_tests",
    "unit_tests",
    "analyses",
    "exposures",
    "metrics",
    "semantic-models",
    "saved-queries",
    "query-comment",
    "restrict-access",
];

/// dbt validates `dbt_project.yml` against its JSON schema before reading it: a path key that is
/// not a list of strings, or a mapping key that is not a mapping, is an error (dbt: "at path
/// ['vars']: 5 is not valid under any of the given schemas"), not a silent default.
fn check_shapes(raw: &Map<String, Value>, text: &str) -> Result<(), Diagnostic> {
    let at = |key: &str| {
        // The last one: a key given twice keeps its last value.
        let lines: Vec<&str> = text.lines().collect();
        let line = lines
            .iter()
            .rposition(|l| l.starts_with(&format!("{key}:")))
            .map_or(1, |i| i + 1);
        Location::at("dbt_project.yml", line, 1)
    };
    for key in PATH_LIST_KEYS {
        let ok = match raw.get(key) {
            None | Some(Value::Null | Value::String(_)) => true,
            Some(Value::Array(items)) => items.iter().all(Value::is_string),
            Some(_) => false,
        };
        if !ok {
            return Err(Diagnostic::error(
                Code::Project,
                format!("`{key}` in dbt_project.yml must be a list of folder names"),
            )
            .at(at(key))
            .with_hint(format!("write it as `{key}: [\"folder\"]`")));
        }
    }
    for key in MAPPING_KEYS {
        // `query-comment` may also be a string, `restrict-access` a boolean.
        let ok = matches!(raw.get(key), None | Some(Value::Null | Value::Object(_)))
            || (key == "query-comment" && matches!(raw.get(key), Some(Value::String(_))))
            || (key == "restrict-access" && matches!(raw.get(key), Some(Value::Bool(_))));
        if !ok {
            return Err(Diagnostic::error(
                Code::Project,
                format!("`{key}` in dbt_project.yml must be a mapping"),
            )
            .at(at(key))
            .with_hint(format!(
                "write `{key}:` followed by indented `name: value` lines"
            )));
        }
    }
    Ok(())
}

/// The dbt release sluice implements and is checked against (the conformance runner and the
/// recorded fixtures use real dbt-core 1.10.23): what artifacts report as `dbt_version`, what
/// `dbt_version` in templates says, and what `require-dbt-version` ranges are checked against.
pub(crate) const DBT_VERSION: &str = "1.10.23";

fn dbt_version_parts() -> (u64, u64, u64) {
    let mut it = DBT_VERSION
        .split('.')
        .map(|p| p.parse::<u64>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

/// A version's `(major, minor, patch)`: missing parts are 0, and a pre-release or build suffix
/// (`1.6.0-rc2`, `1.6.0rc2`, `1.6.0+x`) is left aside.
pub(crate) fn semver(s: &str) -> Option<(u64, u64, u64)> {
    let s = s.trim().trim_start_matches('v');
    let core = s.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let mut next = |last: bool| -> Option<u64> {
        match parts.next() {
            None => Some(0),
            Some(p) => {
                // The patch part may run into a pre-release (`0rc2`).
                let digits = if last {
                    p.split(|c: char| !c.is_ascii_digit()).next().unwrap_or("")
                } else {
                    p
                };
                digits.parse().ok()
            }
        }
    };
    let a = next(false)?;
    let b = next(false)?;
    let c = next(true)?;
    Some((a, b, c))
}

/// Whether `version` satisfies one `require-dbt-version` entry: comma-separated comparisons
/// (`>=1.3.0`, `<2.0.0`, `=1.10.0`, `1.10.0`, `>=1.6.0rc2`; missing minor or patch parts are 0,
/// a pre-release suffix is left aside).
fn satisfies(version: (u64, u64, u64), spec: &str) -> Result<bool, String> {
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (op, rest) = ["<=", ">=", "<", ">", "="]
            .iter()
            .find_map(|op| part.strip_prefix(op).map(|r| (*op, r.trim())))
            .unwrap_or(("=", part));
        let want = semver(rest).ok_or_else(|| part.to_string())?;
        let ok = match op {
            "<=" => version <= want,
            ">=" => version >= want,
            "<" => version < want,
            ">" => version > want,
            _ => version == want,
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

impl ProjectConfig {
    /// `require-dbt-version` checked against [`DBT_VERSION`], as dbt checks it (unless
    /// `--no-version-check`): a project or package that needs another dbt is an error.
    pub fn check_dbt_version(&self) -> Result<(), Diagnostic> {
        for spec in &self.require_dbt_version {
            let ok = satisfies(dbt_version_parts(), spec).map_err(|bad| {
                Diagnostic::error(
                    Code::Project,
                    format!(
                        "`require-dbt-version` of `{}` has an invalid version `{bad}`",
                        self.name
                    ),
                )
                .in_file("dbt_project.yml")
                .with_hint("write versions as `>=1.3.0`, `<2.0.0`")
            })?;
            if !ok {
                return Err(Diagnostic::error(
                    Code::Project,
                    format!(
                        "this version of dbt is not supported with the `{}` package: sluice implements dbt {DBT_VERSION}, `{}` requires {:?}",
                        self.name, self.name, self.require_dbt_version
                    ),
                )
                .in_file("dbt_project.yml")
                .with_hint("use a version of the package made for dbt 1.10, or pass --no-version-check to try anyway"));
            }
        }
        Ok(())
    }

    /// Reads `<root>/dbt_project.yml`.
    pub(crate) fn load(root: &Path) -> Result<Self, Diagnostic> {
        let path = root.join("dbt_project.yml");
        let text = super::read_text(&path, "dbt_project.yml")?;
        Self::from_text(&text)
    }

    pub fn from_text(text: &str) -> Result<Self, Diagnostic> {
        let (value, warnings) = yaml::parse_checked(text, Path::new("dbt_project.yml"))?;
        let Value::Object(raw) = value else {
            return Err(
                Diagnostic::error(Code::Project, "`dbt_project.yml` must be a mapping")
                    .in_file("dbt_project.yml"),
            );
        };
        let name = match raw.get("name") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(
                    Diagnostic::error(Code::Project, "`dbt_project.yml` has no `name`")
                        .at(Location::at("dbt_project.yml", 1, 1))
                        .with_hint("add `name: my_project` at the top of dbt_project.yml"),
                )
            }
        };
        check_shapes(&raw, text)?;
        let get_str = |k: &str| {
            raw.get(k).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        let tree = |k: &str| ConfigTree(raw.get(k).cloned().unwrap_or(Value::Null));
        let hooks = |k: &str| str_list(raw.get(k));
        let dispatch = match raw.get("dispatch") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|d| {
                    Some(DispatchConfig {
                        macro_namespace: d.get("macro_namespace")?.as_str()?.to_string(),
                        search_order: str_list_or(d.get("search_order"), &[]),
                    })
                })
                .collect(),
            _ => vec![],
        };
        Ok(ProjectConfig {
            version: get_str("version"),
            profile: get_str("profile"),
            model_paths: str_list_or(
                raw.get("model-paths").or(raw.get("source-paths")),
                &["models"],
            ),
            seed_paths: str_list_or(raw.get("seed-paths").or(raw.get("data-paths")), &["seeds"]),
            test_paths: str_list_or(raw.get("test-paths"), &["tests"]),
            analysis_paths: str_list_or(raw.get("analysis-paths"), &["analyses"]),
            macro_paths: str_list_or(raw.get("macro-paths"), &["macros"]),
            snapshot_paths: str_list_or(raw.get("snapshot-paths"), &["snapshots"]),
            docs_paths: str_list_or(raw.get("docs-paths"), &[]),
            asset_paths: str_list_or(raw.get("asset-paths"), &[]),
            target_path: get_str("target-path").unwrap_or_else(|| "target".into()),
            packages_install_path: get_str("packages-install-path")
                .unwrap_or_else(|| "dbt_packages".into()),
            clean_targets: str_list_or(raw.get("clean-targets"), &[]),
            vars: raw
                .get("vars")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            require_dbt_version: str_list_or(raw.get("require-dbt-version"), &[]),
            quoting: raw
                .get("quoting")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            dispatch,
            flags: raw
                .get("flags")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            on_run_start: hooks("on-run-start"),
            on_run_end: hooks("on-run-end"),
            query_comment: QueryComment::parse(raw.get("query-comment")),
            models: tree("models"),
            seeds: tree("seeds"),
            snapshots: tree("snapshots"),
            sources: tree("sources"),
            data_tests: ConfigTree(
                raw.get("data_tests")
                    .or(raw.get("tests"))
                    .cloned()
                    .unwrap_or(Value::Null),
            ),
            analyses: tree("analyses"),
            metrics: tree("metrics"),
            exposures: tree("exposures"),
            saved_queries: ConfigTree(
                raw.get("saved-queries")
                    .or(raw.get("saved_queries"))
                    .cloned()
                    .unwrap_or(Value::Null),
            ),
            name,
            warnings,
        })
    }

    /// Project-level vars that apply to `package` (globals plus `vars: {package: {...}}`).
    pub fn vars_for(&self, package: &str, packages: &[&str]) -> Map<String, Value> {
        let mut out = Map::new();
        for (k, v) in &self.vars {
            if packages.contains(&k.as_str()) || k == &self.name {
                continue;
            }
            out.insert(k.clone(), v.clone());
        }
        if let Some(Value::Object(scoped)) = self.vars.get(package) {
            for (k, v) in scoped {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }
}

/// A `models:`/`seeds:`/... tree from `dbt_project.yml`.
#[derive(Debug, Clone, Default)]
pub struct ConfigTree(pub(crate) Value);

/// Config keys that may appear bare (without `+`) in a config tree.
pub(crate) const KNOWN_CONFIG_KEYS: &[&str] = &[
    "access",
    "alias",
    "batch_size",
    "begin",
    "check_cols",
    "column_types",
    "concurrent_batches",
    "contract",
    "database",
    "delimiter",
    "docs",
    "dbt_valid_to_current",
    "enabled",
    "error_if",
    "event_time",
    "fail_calc",
    "freshness",
    "full_refresh",
    "grants",
    "group",
    "hard_deletes",
    "identifier",
    "incremental_predicates",
    "incremental_strategy",
    "invalidate_hard_deletes",
    "limit",
    "loaded_at_field",
    "lookback",
    "materialized",
    "merge_exclude_columns",
    "merge_update_columns",
    "meta",
    "on_configuration_change",
    "on_schema_change",
    "packages",
    "persist_docs",
    "post-hook",
    "post_hook",
    "pre-hook",
    "pre_hook",
    "quote_columns",
    "quoting",
    "schema",
    "severity",
    "snapshot_meta_column_names",
    "sql_header",
    "store_failures",
    "store_failures_as",
    "strategy",
    "tags",
    "target_database",
    "target_schema",
    "unique_key",
    "updated_at",
    "warn_if",
    "where",
    "external_location",
    "options",
    "format",
    "partition_by",
    "cluster_by",
    "indexes",
    "unlogged",
    "label",
    "time_spine",
    "export_as",
];

impl ConfigTree {
    /// The merged config for a node whose fqn is `fqn` (package first, then folders, then name).
    pub fn resolve(&self, fqn: &[String]) -> Map<String, Value> {
        let mut out = Map::new();
        for level in self.levels(fqn) {
            merge(&mut out, &level);
        }
        out
    }

    /// [`ConfigTree::resolve`], and what the node's `unrendered_config` records of the tree:
    /// each level's keys over the last's, as written (dbt's unrendered config updates, it does
    /// not merge: `tags` at two levels are the deeper level's, a hook written as a string stays
    /// one).
    pub(crate) fn resolve_with_unrendered(
        &self,
        fqn: &[String],
    ) -> (Map<String, Value>, Map<String, Value>) {
        let (mut merged, mut unrendered) = (Map::new(), Map::new());
        for level in self.levels(fqn) {
            merge(&mut merged, &level);
            unrendered.extend(level);
        }
        (merged, unrendered)
    }

    /// The config keys of each level of the tree along `fqn`, the top first.
    fn levels(&self, fqn: &[String]) -> Vec<Map<String, Value>> {
        let Value::Object(root) = &self.0 else {
            return Vec::new();
        };
        let mut level = root;
        let mut out = vec![level_configs(level)];
        for part in fqn {
            match level.get(part) {
                Some(Value::Object(next)) => {
                    out.push(level_configs(next));
                    level = next;
                }
                _ => break,
            }
        }
        out
    }
}

fn level_configs(level: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in level {
        if let Some(key) = k.strip_prefix('+') {
            out.insert(normalize_key(key).to_string(), v.clone());
        } else if KNOWN_CONFIG_KEYS.contains(&k.as_str()) {
            out.insert(normalize_key(k).to_string(), v.clone());
        }
    }
    out
}

/// `pre_hook` -> `pre-hook` (dbt accepts both spellings).
pub(crate) fn normalize_key(k: &str) -> &str {
    match k {
        "pre_hook" => "pre-hook",
        "post_hook" => "post-hook",
        "data_tests" => "tests",
        other => other,
    }
}

/// Merges `more` into `base` with dbt's rules: `tags`, `pre-hook`, `post-hook` append; `meta`,
/// `quoting`, `column_types`, `persist_docs`, `docs`, `grants` and `contract` merge as dicts;
/// everything else is replaced.
pub(crate) fn merge(base: &mut Map<String, Value>, more: &Map<String, Value>) {
    for (k, v) in more {
        let key = normalize_key(k).to_string();
        match key.as_str() {
            // Appended, repeats kept, as dbt appends each layer's (a node's `tags` are these
            // once each).
            "tags" | "pre-hook" | "post-hook" => {
                let mut list = as_list(base.get(&key));
                list.extend(as_list(Some(v)));
                base.insert(key, Value::Array(list));
            }
            "meta" | "quoting" | "column_types" | "persist_docs" | "docs" | "grants"
            | "contract" => match (base.get_mut(&key), v) {
                (Some(Value::Object(b)), Value::Object(m)) => {
                    for (mk, mv) in m {
                        b.insert(mk.clone(), mv.clone());
                    }
                }
                _ => {
                    base.insert(key, v.clone());
                }
            },
            _ => {
                base.insert(key, v.clone());
            }
        }
    }
}

/// A value as a list: a list stays, a scalar becomes one item, null becomes empty.
pub(crate) fn as_list(v: Option<&Value>) -> Vec<Value> {
    match v {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a.clone(),
        Some(other) => vec![other.clone()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_nested_tree_with_and_without_plus() {
        let cfg = ProjectConfig::from_text(
            "name: shop\nmodels:\n  +tags: [a]\n  shop:\n    materialized: table\n    staging:\n      +materialized: view\n      tags: b\n",
        )
        .unwrap();
        let fqn: Vec<String> = ["shop", "staging", "stg_orders"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let c = cfg.models.resolve(&fqn);
        assert_eq!(c["materialized"], "view");
        assert_eq!(c["tags"], serde_json::json!(["a", "b"]));
        let c = cfg.models.resolve(&["shop".into(), "orders".into()]);
        assert_eq!(c["materialized"], "table");
    }
}

#[cfg(test)]
mod version_tests {
    use super::satisfies;

    #[test]
    fn require_dbt_version_ranges() {
        let v = (1, 10, 0);
        for (spec, want) in [
            (">=1.3.0", true),
            ("<2.0.0", true),
            (">=1.3.0, <2.0.0", true),
            (">=1.11.0", false),
            ("<1.10.0", false),
            ("<=1.10", true),
            ("1.10.0", true),
            ("=1.9.0", false),
            (">1.10.0", false),
            (">=1.0.0-rc1", true),
            (">=1.6.0rc2", true),
            ("<1.6.0b1", false),
        ] {
            assert_eq!(satisfies(v, spec), Ok(want), "{spec}");
        }
        assert!(satisfies(v, ">=one").is_err());
    }
}
