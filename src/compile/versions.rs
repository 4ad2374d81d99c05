//! Model versions (dbt 1.5+): a model's properties entry with `versions:` turns the model files
//! `<name>_v<v>.sql` (or each version's `defined_in`, or `<name>.sql` for the latest version)
//! into the versions of one model, `model.<pkg>.<name>.v<v>`.
//!
//! This module reads the `versions:` of every model entry, checks them as dbt does (`v` on every
//! version, no version twice, `latest_version` one of them, one `include`/`exclude` element per
//! version) and gives each version the properties it sees ([`VersionPatch::entry`]): the model's
//! entry with the version's description, docs, config (deep-merged over the model's), access,
//! constraints, deprecation date, columns (the model's columns the version includes, then its
//! own) and data tests (its own, or else the model's). Parsing then builds each version's node
//! from its file with that entry, and the generic tests of each version from the same entry.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::properties::Properties;
use crate::diagnostics::{Code, Diagnostic};
use crate::project::{yaml_entry_error, YamlFile};

/// One version of a versioned model, as its node is patched.
#[derive(Debug, Clone)]
pub(crate) struct VersionPatch {
    /// The versioned model's name (the properties entry's `name`).
    pub(crate) model: String,
    /// The version as dbt formats it (`v: 2` -> `2`, `v: 1.5` -> `1.5`, `v: beta` -> `beta`).
    pub(crate) v: String,
    /// The model's latest version: `latest_version`, else the greatest `v`.
    pub(crate) latest: String,
    /// The properties file.
    pub(crate) file: String,
    /// The model's properties as this version sees them (no `versions:` / `latest_version:`).
    pub(crate) entry: Map<String, Value>,
}

impl VersionPatch {
    pub(crate) fn unique_id(&self, package: &str) -> String {
        format!("model.{package}.{}.v{}", self.model, self.v)
    }
}

/// The versions of one package's models, by the name of the model file each one patches.
#[derive(Debug, Default)]
pub(crate) struct Versions {
    by_file: BTreeMap<String, VersionPatch>,
    /// Versioned model name -> its versions (those with a file), in the order of `versions:`.
    by_model: BTreeMap<String, Vec<String>>,
}

impl Versions {
    /// The version a model file (its name without `.sql`) defines, if any.
    pub(crate) fn for_file(&self, file_name: &str) -> Option<&VersionPatch> {
        self.by_file.get(file_name)
    }

    /// The versions of model `name` that have a file, in the order they are listed.
    pub(crate) fn of_model(&self, name: &str) -> impl Iterator<Item = &VersionPatch> {
        self.by_model
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|f| self.by_file.get(f))
    }

    /// Reads the `versions:` of `props.models`. `model_files` are the names (without `.sql`)
    /// of the package's model files.
    pub(crate) fn collect(
        props: &Properties,
        yaml_files: &[YamlFile],
        model_files: &BTreeSet<String>,
    ) -> Result<Versions, Vec<Diagnostic>> {
        let mut out = Versions::default();
        let mut errors = Vec::new();
        for (name, entry) in &props.models {
            let err = |msg: String| {
                let d = match yaml_files
                    .iter()
                    .find(|f| f.original_file_path == entry.file)
                {
                    Some(f) => yaml_entry_error(f, name, Code::ModelVersions, msg),
                    None => Diagnostic::error(Code::ModelVersions, msg).in_file(entry.file),
                };
                d.with_hint("see https://docs.getdbt.com/docs/mesh/govern/model-versions")
            };
            let dates = std::iter::once(entry.value.get("deprecation_date")).chain(
                entry
                    .value
                    .get("versions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|v| v.get("deprecation_date")),
            );
            for d in dates.flatten() {
                if let Err(msg) = normalize_deprecation_date(d) {
                    errors.push(err(format!("model `{name}`: {msg}")));
                }
            }
            if !has_versions(entry.value) {
                continue;
            }
            match patches(name, entry.file, entry.value) {
                Ok(list) => {
                    for p in list {
                        let mut file = p
                            .entry
                            .get("defined_in")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("{name}_v{}", p.v));
                        // The latest version may live in the unsuffixed `<name>.sql`.
                        if !model_files.contains(&file)
                            && p.v == p.latest
                            && model_files.contains(name)
                        {
                            file = name.clone();
                        }
                        if !model_files.contains(&file) {
                            continue;
                        }
                        let mut p = p;
                        p.entry.remove("defined_in");
                        out.by_model
                            .entry(name.clone())
                            .or_default()
                            .push(file.clone());
                        out.by_file.insert(file, p);
                    }
                }
                Err(msg) => errors.push(err(msg)),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

/// Whether a model entry lists versions.
pub(crate) fn has_versions(entry: &Map<String, Value>) -> bool {
    matches!(entry.get("versions"), Some(Value::Array(v)) if !v.is_empty())
}

/// A version value as dbt formats it into ids and relation names.
fn version_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

use crate::graph::version_cmp;

/// Every version's patch of one model entry (`defined_in` still in each entry).
fn patches(
    name: &str,
    file: &str,
    model: &Map<String, Value>,
) -> Result<Vec<VersionPatch>, String> {
    let Some(Value::Array(items)) = model.get("versions") else {
        return Ok(vec![]);
    };
    let mut versions: Vec<(String, &Map<String, Value>)> = Vec::new();
    for item in items {
        let Value::Object(m) = item else {
            return Err(format!(
                "each of model `{name}`'s `versions:` must be a mapping with `v:`"
            ));
        };
        let Some(v) = m.get("v").and_then(version_text) else {
            return Err(format!(
                "a version of model `{name}` has no `v:` (a number or a string)"
            ));
        };
        if versions.iter().any(|(seen, _)| *seen == v) {
            return Err(format!(
                "found duplicate version: '{v}' in versions list of model '{name}'"
            ));
        }
        versions.push((v, m));
    }
    let latest = match model.get("latest_version") {
        None | Some(Value::Null) => versions
            .iter()
            .map(|(v, _)| v.as_str())
            .max_by(|a, b| version_cmp(a, b))
            .unwrap_or_default()
            .to_string(),
        Some(l) => {
            let l = version_text(l)
                .ok_or_else(|| format!("model `{name}`'s `latest_version` must be a version"))?;
            if !versions.iter().any(|(v, _)| *v == l) {
                let all: Vec<&str> = versions.iter().map(|(v, _)| v.as_str()).collect();
                return Err(format!(
                    "latest_version: {l} is not one of model '{name}' versions: [{}]",
                    all.join(", ")
                ));
            }
            l
        }
    };
    let base_columns: Vec<&Value> = match model.get("columns") {
        Some(Value::Array(c)) => c.iter().collect(),
        _ => vec![],
    };
    let mut out = Vec::new();
    for (v, version) in versions {
        let mut entry = model.clone();
        for k in [
            "versions",
            "latest_version",
            "deprecation_date",
            "docs",
            "time_spine",
        ] {
            entry.remove(k);
        }
        let description = version
            .get("description")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty());
        if let Some(d) = description {
            entry.insert("description".into(), Value::from(d));
        }
        for k in ["docs", "deprecation_date", "defined_in"] {
            if let Some(x) = version.get(k).filter(|x| !x.is_null()) {
                entry.insert(k.into(), x.clone());
            }
        }
        for k in ["access", "constraints"] {
            let set = match version.get(k) {
                Some(Value::String(s)) => !s.is_empty(),
                Some(Value::Array(a)) => !a.is_empty(),
                _ => false,
            };
            if set {
                entry.insert(k.into(), version[k].clone());
            }
        }
        if let Some(Value::Object(c)) = version.get("config") {
            let mut config = match entry.remove("config") {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            deep_merge(&mut config, c);
            entry.insert("config".into(), Value::Object(config));
        }
        entry.insert(
            "columns".into(),
            Value::Array(version_columns(name, &v, &base_columns, version)?),
        );
        if version.contains_key("data_tests") || version.contains_key("tests") {
            entry.remove("tests");
            let mut tests = Vec::new();
            for k in ["data_tests", "tests"] {
                if let Some(Value::Array(t)) = version.get(k) {
                    tests.extend(t.iter().cloned());
                }
            }
            entry.insert("data_tests".into(), Value::Array(tests));
        }
        out.push(VersionPatch {
            model: name.to_string(),
            v,
            latest: latest.clone(),
            file: file.to_string(),
            entry,
        });
    }
    Ok(out)
}

/// A version's columns: the model's columns its `include`/`exclude` element keeps (all of them
/// without one), then the version's own columns.
fn version_columns(
    name: &str,
    v: &str,
    base: &[&Value],
    version: &Map<String, Value>,
) -> Result<Vec<Value>, String> {
    let mut own = Vec::new();
    let mut rule: Option<(Option<Vec<String>>, Vec<String>)> = None;
    if let Some(Value::Array(cols)) = version.get("columns") {
        for c in cols {
            let is_rule = c.as_object().is_some_and(|m| {
                !m.contains_key("name") && (m.contains_key("include") || m.contains_key("exclude"))
            });
            if !is_rule {
                own.push(c.clone());
                continue;
            }
            if rule.is_some() {
                return Err(format!(
                    "version {v} of model `{name}` can have at most one include/exclude element"
                ));
            }
            rule = Some(include_exclude(name, v, c)?);
        }
    }
    let mut out: Vec<Value> = base
        .iter()
        .filter(|c| {
            let cname = c.get("name").and_then(Value::as_str).unwrap_or("");
            match &rule {
                None => true,
                Some((include, exclude)) => {
                    include
                        .as_ref()
                        .is_none_or(|i| i.iter().any(|x| x == cname))
                        && !exclude.iter().any(|x| x == cname)
                }
            }
        })
        .map(|c| (*c).clone())
        .collect();
    out.extend(own);
    Ok(out)
}

/// An `include`/`exclude` element: (`None` for all, or the included names; the excluded names).
fn include_exclude(
    name: &str,
    v: &str,
    c: &Value,
) -> Result<(Option<Vec<String>>, Vec<String>), String> {
    let names = |x: &Value| -> Option<Vec<String>> {
        x.as_array().map(|a| {
            a.iter()
                .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_string))
                .collect()
        })
    };
    let at = format!("version {v} of model `{name}`");
    let include = match c.get("include") {
        Some(Value::String(s)) if s == "all" || s == "*" => None,
        Some(x @ Value::Array(_)) => names(x),
        Some(_) => {
            return Err(format!(
                "{at}: include must be one of ('all', '*') or a list of strings"
            ))
        }
        None => return Err(format!("{at}: an include/exclude element needs `include`")),
    };
    let exclude = match c.get("exclude") {
        None | Some(Value::Null) => vec![],
        Some(x @ Value::Array(_)) => names(x).unwrap_or_default(),
        Some(_) => return Err(format!("{at}: exclude must be a list of strings")),
    };
    if !exclude.is_empty() && include.is_some() {
        return Err(format!(
            "{at}: exclude can only be specified if include is one of ('all', '*')"
        ));
    }
    Ok((include, exclude))
}

/// dbt's `deep_merge`: mappings merge key by key, anything else is replaced.
fn deep_merge(base: &mut Map<String, Value>, more: &Map<String, Value>) {
    for (k, v) in more {
        match (base.get_mut(k), v) {
            (Some(Value::Object(b)), Value::Object(m)) => deep_merge(b, m),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// A version as the manifest writes it: a number when it reads as one (`v: 2` -> `2`), else the
/// text.
pub(crate) fn version_json(v: &str) -> Value {
    if let Ok(i) = v.parse::<i64>() {
        return Value::from(i);
    }
    if v.contains('.') {
        if let Some(n) = v.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::from(v)
}

/// `deprecation_date` as dbt writes it: a date becomes midnight, a time without a zone is read in
/// the machine's zone, and the result is written in ISO form with its offset.
pub(crate) fn normalize_deprecation_date(v: &Value) -> Result<Option<String>, String> {
    use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};
    let s = match v {
        Value::Null => return Ok(None),
        Value::String(s) => s.trim(),
        other => return Err(format!("`deprecation_date: {other}` is not a date")),
    };
    let fmt = |dt: DateTime<chrono::FixedOffset>| {
        let f = if dt.timestamp_subsec_micros() == 0 {
            "%Y-%m-%dT%H:%M:%S%:z"
        } else {
            "%Y-%m-%dT%H:%M:%S%.6f%:z"
        };
        dt.format(f).to_string()
    };
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(fmt(dt)));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(s, f) {
            return Ok(Some(fmt(dt)));
        }
    }
    let naive = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .or_else(|| {
            [
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        })
        .ok_or_else(|| format!("`deprecation_date: {s}` is not a date (YYYY-MM-DD)"))?;
    let local = Local
        .from_local_datetime(&naive)
        .earliest()
        .ok_or_else(|| format!("`deprecation_date: {s}` does not exist in the local time zone"))?;
    Ok(Some(fmt(local.fixed_offset())))
}

/// dbt's warnings about deprecated models: a model past its `deprecation_date`
/// (`DeprecatedModel`), and each model that refers to a model with a deprecation date
/// (`DeprecatedReference` once the date has passed, `UpcomingReferenceDeprecation` before).
pub(crate) fn deprecation_warnings(
    manifest: &super::nodes::Manifest,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Diagnostic> {
    use super::nodes::ResourceType;
    let mut out = Vec::new();
    let dotted = |v: &Option<String>| v.as_ref().map_or(String::new(), |v| format!(".v{v}"));
    let models: Vec<&super::nodes::Node> = manifest
        .nodes
        .values()
        .map(|n| &**n)
        .filter(|n| n.resource_type == ResourceType::Model)
        .collect();
    for n in &models {
        let Some(date) = &n.deprecation_date else {
            continue;
        };
        let past = chrono::DateTime::parse_from_rfc3339(date).is_ok_and(|d| d < now);
        if past {
            out.push(
                Diagnostic::warning(
                    Code::DeprecatedModel,
                    format!(
                        "Model {}{} has passed its deprecation date of {date}. This model should \
                         be disabled or removed.",
                        n.name,
                        dotted(&n.version)
                    ),
                )
                .in_file(&n.original_file_path),
            );
        }
        for child in models
            .iter()
            .filter(|c| c.depends_on_nodes.contains(&n.unique_id))
        {
            let mut msg = format!(
                "While compiling '{}': Found a reference to {}{}, which {} '{date}'. ",
                child.name,
                n.name,
                dotted(&n.version),
                if past {
                    "was deprecated on"
                } else {
                    "is slated for deprecation on"
                }
            );
            if let (Some(v), Some(latest)) = (&n.version, &n.latest_version) {
                if v != latest {
                    msg.push_str(&format!(
                        "A new version of '{}' is available. {}: {{{{ ref('{}', '{}', v='{latest}') }}}}.",
                        n.name,
                        if past { "Migrate now" } else { "Try it out" },
                        n.package_name,
                        n.name
                    ));
                }
            }
            let code = if past {
                Code::DeprecatedReference
            } else {
                Code::UpcomingReferenceDeprecation
            };
            out.push(
                Diagnostic::warning(code, msg.trim_end().to_string())
                    .in_file(&child.original_file_path),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn latest_is_the_greatest_version_unless_given() {
        let m = entry(json!({"name": "m", "versions": [{"v": 2}, {"v": 10}, {"v": 1}]}));
        let p = patches("m", "f.yml", &m).unwrap();
        assert_eq!(
            p.iter().map(|p| p.v.as_str()).collect::<Vec<_>>(),
            ["2", "10", "1"]
        );
        assert!(p.iter().all(|p| p.latest == "10"));
        let m = entry(json!({"name": "m", "latest_version": 1, "versions": [{"v": 1}, {"v": 2}]}));
        assert!(patches("m", "f.yml", &m)
            .unwrap()
            .iter()
            .all(|p| p.latest == "1"));
        let m = entry(json!({"name": "m", "latest_version": 3, "versions": [{"v": 1}]}));
        let e = patches("m", "f.yml", &m).unwrap_err();
        assert!(
            e.contains("latest_version: 3 is not one of model 'm' versions: [1]"),
            "{e}"
        );
        let m = entry(json!({"name": "m", "versions": [{"v": 1}, {"v": 1}]}));
        assert!(patches("m", "f.yml", &m)
            .unwrap_err()
            .contains("duplicate version"));
    }

    #[test]
    fn columns_config_and_tests_per_version() {
        let m = entry(json!({
            "name": "m", "description": "model", "config": {"materialized": "table", "meta": {"a": 1}},
            "data_tests": [{"unique": {"column_name": "id"}}],
            "columns": [{"name": "id"}, {"name": "old"}],
            "versions": [
                {"v": 1},
                {"v": 2, "description": "two", "config": {"meta": {"b": 2}},
                 "columns": [{"include": "all", "exclude": ["old"]}, {"name": "new"}],
                 "data_tests": []},
            ]
        }));
        let p = patches("m", "f.yml", &m).unwrap();
        let names = |p: &VersionPatch| -> Vec<String> {
            p.entry["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(names(&p[0]), ["id", "old"]);
        assert_eq!(names(&p[1]), ["id", "new"]);
        assert_eq!(p[0].entry["description"], "model");
        assert_eq!(p[1].entry["description"], "two");
        assert_eq!(
            p[1].entry["config"],
            json!({"materialized": "table", "meta": {"a": 1, "b": 2}})
        );
        assert_eq!(p[0].entry["data_tests"].as_array().unwrap().len(), 1);
        assert_eq!(p[1].entry["data_tests"], json!([]));
        let bad = entry(json!({"name": "m", "versions": [
            {"v": 1, "columns": [{"include": ["a"], "exclude": ["b"]}]}]}));
        assert!(patches("m", "f.yml", &bad)
            .unwrap_err()
            .contains("exclude can only"));
    }

    #[test]
    fn versions_and_dates_as_dbt_writes_them() {
        assert_eq!(version_json("2"), json!(2));
        assert_eq!(version_json("1.5"), json!(1.5));
        assert_eq!(version_json("beta"), json!("beta"));
        assert_eq!(
            normalize_deprecation_date(&json!("2024-01-01T10:00:00+02:00"))
                .unwrap()
                .unwrap(),
            "2024-01-01T10:00:00+02:00"
        );
        assert!(normalize_deprecation_date(&json!("2024-01-01"))
            .unwrap()
            .unwrap()
            .starts_with("2024-01-01T00:00:00"));
        assert!(normalize_deprecation_date(&json!("soon")).is_err());
    }
}
