//! `profiles.yml`: where to connect. Finds the file, renders `env_var()` in its values, picks the
//! profile and target, and exposes a [`Target`] whose secrets never leave this module unredacted
//! (see [`Target::redacted`]).
//!
//! Lookup order: `--profiles-dir`, `DBT_PROFILES_DIR`, the project folder, the project's
//! `profiles/` folder, then `~/.dbt/`. The first folder holding a `profiles.yml` wins.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::yaml;
use crate::diagnostics::{did_you_mean, Diagnostic, Location};

/// Keys whose values are secrets: never printed, logged or written to artifacts.
pub const SECRET_KEYS: &[&str] = &[
    "password",
    "pass",
    "token",
    "private_key",
    "private_key_passphrase",
    "secret",
];

/// The resolved connection target.
#[derive(Debug, Clone)]
pub struct Target {
    pub profile_name: String,
    pub target_name: String,
    /// `duckdb` or `postgres`.
    pub adapter_type: String,
    pub schema: String,
    pub database: String,
    pub threads: usize,
    /// Every key of the output, rendered (secrets included: use [`Target::redacted`] for output).
    pub values: Map<String, Value>,
    /// Where profiles.yml was found.
    pub profiles_path: PathBuf,
}

/// Where `profiles.yml` was found and what it holds.
#[derive(Debug, Clone)]
pub struct Profile {
    pub path: PathBuf,
    pub value: Value,
}

impl Target {
    /// The target's values with secrets replaced by `****`: the only form fit for output.
    pub fn redacted(&self) -> Map<String, Value> {
        let mut m = self.values.clone();
        for k in SECRET_KEYS {
            if m.contains_key(*k) {
                m.insert(k.to_string(), Value::String("****".into()));
            }
        }
        m
    }

    pub fn get_str(&self, key: &str) -> Option<String> {
        match self.values.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Replaces every secret value occurring in `text` by `****` (for error messages from drivers).
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for k in SECRET_KEYS {
            if let Some(Value::String(s)) = self.values.get(*k) {
                if !s.is_empty() {
                    out = out.replace(s.as_str(), "****");
                }
            }
        }
        out
    }
}

/// The folders searched for `profiles.yml`, in order.
pub fn search_dirs(profiles_dir: Option<&Path>, project_root: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = profiles_dir {
        dirs.push(d.to_path_buf());
        return dirs;
    }
    // An empty variable is unset, as dbt (click) reads it.
    if let Some(d) = std::env::var_os("DBT_PROFILES_DIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(d));
        return dirs;
    }
    dirs.push(project_root.to_path_buf());
    dirs.push(project_root.join("profiles"));
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".dbt"));
    }
    dirs
}

/// Finds and parses `profiles.yml`.
pub fn find_profile(
    profiles_dir: Option<&Path>,
    project_root: &Path,
) -> Result<Profile, Diagnostic> {
    let dirs = search_dirs(profiles_dir, project_root);
    for d in &dirs {
        let p = d.join("profiles.yml");
        if p.is_file() {
            let text = std::fs::read_to_string(&p).map_err(|e| {
                Diagnostic::error("profile", format!("cannot read `{}`: {e}", p.display()))
            })?;
            let value = yaml::parse(&text, &p)?;
            return Ok(Profile { path: p, value });
        }
    }
    let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(Diagnostic::error("profile", format!("no `profiles.yml` found (searched: {})", searched.join(", ")))
        .with_hint("pass `--profiles-dir DIR`, set DBT_PROFILES_DIR, or create profiles/profiles.yml in the project"))
}

/// Renders `{{ env_var('X', 'default') }}` and friends in profile values.
fn render_value(v: &Value, path: &Path) -> Result<Value, Diagnostic> {
    Ok(match v {
        Value::String(s) if s.contains("{{") || s.contains("{%") => {
            let mut env = minijinja::Environment::new();
            env.add_function("env_var", env_var_fn);
            // dbt's type-casting filters (`port: "{{ env_var('PGPORT') | as_number }}"`): the
            // rendered text is re-typed below as YAML would, so they only pass the value on.
            for name in ["as_number", "as_bool", "as_native", "as_text"] {
                env.add_filter(name, |v: minijinja::Value| v);
            }
            let rendered = env.render_str(s, minijinja::context! {}).map_err(|e| {
                Diagnostic::error("profile", format!("cannot render profile value `{s}`: {e}"))
                    .in_file(path)
                    .with_hint("profile values may use {{ env_var('NAME', 'default') }}")
            })?;
            yaml_scalar(&rendered)
        }
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(k.clone(), render_value(v, path)?);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| render_value(x, path))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// A rendered string read back the way YAML would type it (numbers and booleans).
fn yaml_scalar(s: &str) -> Value {
    if let Ok(i) = s.trim().parse::<i64>() {
        return Value::from(i);
    }
    match s.trim() {
        "true" | "True" => Value::Bool(true),
        "false" | "False" => Value::Bool(false),
        _ => Value::String(s.to_string()),
    }
}

/// `env_var(name, default)`: the environment variable, or the default, or an error.
pub fn env_var_fn(
    name: String,
    default: Option<minijinja::Value>,
) -> Result<minijinja::Value, minijinja::Error> {
    match std::env::var(&name) {
        Ok(v) => Ok(minijinja::Value::from(v)),
        Err(_) => match default {
            Some(d) => Ok(d),
            None => Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("Env var required but not provided: '{name}'"),
            )),
        },
    }
}

impl Profile {
    /// Picks `profile_name` and its target (`target_override`, else the profile's `target:`).
    pub fn target(
        &self,
        profile_name: &str,
        target_override: Option<&str>,
        project_root: &Path,
    ) -> Result<Target, Diagnostic> {
        let file = self.path.display().to_string();
        let Some(profile) = self.value.get(profile_name) else {
            let names: Vec<&str> = self
                .value
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            return Err(Diagnostic::error("profile", format!("profile `{profile_name}` not found in `{file}`"))
                .in_file(&self.path)
                .with_hint(match did_you_mean(profile_name, names.iter().copied()) {
                    Some(h) => h,
                    None => format!("profiles in that file: {}; set `profile:` in dbt_project.yml or pass --profile", names.join(", ")),
                }));
        };
        let target_name = match target_override {
            Some(t) => t.to_string(),
            None => match profile.get("target") {
                Some(Value::String(t)) => render_value(&Value::String(t.clone()), &self.path)?
                    .as_str()
                    .unwrap_or("dev")
                    .to_string(),
                _ => "dev".to_string(),
            },
        };
        let outputs = profile.get("outputs").and_then(Value::as_object);
        let Some(output) = outputs.and_then(|o| o.get(&target_name)) else {
            let names: Vec<&str> = outputs
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            return Err(Diagnostic::error(
                "profile",
                format!("target `{target_name}` not found in profile `{profile_name}` of `{file}`"),
            )
            .in_file(&self.path)
            .with_hint(match did_you_mean(&target_name, names.iter().copied()) {
                Some(h) => h,
                None => format!("known targets: {}", names.join(", ")),
            }));
        };
        let Value::Object(values) = render_value(output, &self.path)? else {
            return Err(Diagnostic::error(
                "profile",
                format!("target `{target_name}` must be a mapping"),
            )
            .in_file(&self.path));
        };
        let adapter_type = values
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let threads = values
            .get("threads")
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(1)
            .max(1) as usize;
        let mut values = values;
        let (schema, database) = match adapter_type.as_str() {
            "duckdb" => {
                let path = values
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or(":memory:")
                    .to_string();
                let schema = values
                    .get("schema")
                    .and_then(Value::as_str)
                    .unwrap_or("main")
                    .to_string();
                let database = match values.get("database").and_then(Value::as_str) {
                    Some(d) => d.to_string(),
                    None if path == ":memory:" || path.starts_with(":memory:") => {
                        "memory".to_string()
                    }
                    None => Path::new(&path)
                        .file_stem()
                        .map(|s| s.to_string_lossy().to_string())
                        .unwrap_or_else(|| "main".into()),
                };
                if path != ":memory:" && !path.starts_with("md:") && Path::new(&path).is_relative()
                {
                    let abs = project_root.join(&path);
                    values.insert(
                        "resolved_path".into(),
                        Value::String(abs.display().to_string()),
                    );
                }
                (schema, database)
            }
            "postgres" => {
                let schema = values
                    .get("schema")
                    .and_then(Value::as_str)
                    .unwrap_or("public")
                    .to_string();
                let database = values
                    .get("dbname")
                    .or_else(|| values.get("database"))
                    .and_then(Value::as_str)
                    .unwrap_or("postgres")
                    .to_string();
                (schema, database)
            }
            other => {
                let line = super::yaml::line_of_name(
                    &std::fs::read_to_string(&self.path).unwrap_or_default(),
                    other,
                );
                let d = Diagnostic::error(
                    "profile",
                    format!("target `{target_name}` has unsupported type `{other}`"),
                );
                let d = match line {
                    Some(l) => d.at(Location::at(&self.path, l, 1)),
                    None => d.in_file(&self.path),
                };
                return Err(d.with_hint("sluice supports `type: duckdb` and `type: postgres`"));
            }
        };
        Ok(Target {
            profile_name: profile_name.to_string(),
            target_name,
            adapter_type,
            schema,
            database,
            threads,
            values,
            profiles_path: self.path.clone(),
        })
    }
}
