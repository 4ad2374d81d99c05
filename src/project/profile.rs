//! `profiles.yml`: where to connect. Finds the file, renders `env_var()` in its values, picks the
//! profile and target, and exposes a [`Target`] whose secrets never leave this module unredacted
//! (see [`Target::redacted`]).
//!
//! Lookup order: `--profiles-dir`, `DBT_PROFILES_DIR`, the project folder, the project's
//! `profiles/` folder, then `~/.dbt/`. The first folder holding a `profiles.yml` wins.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::yaml;
use crate::diagnostics::{did_you_mean, Code, Diagnostic, Location};
use crate::sql::Dialect;

/// The engines a profile's `type` may name (`adapters::registry::Registry`; `project` cannot
/// name `adapters`, which is built on it).
pub(crate) trait EngineLookup {
    /// The engine's dialect, schema and database for a target of `adapter_type` (with the
    /// engine's defaults and derived values added to `values`), what is wrong with the target's
    /// settings, or `None` for an unknown type.
    fn resolve(
        &self,
        adapter_type: &str,
        values: &mut Map<String, Value>,
        project_root: &Path,
    ) -> Option<Result<(Dialect, String, String), ProfileProblem>>;
    /// The hint for an unknown type.
    fn supported_hint(&self) -> String;
}

/// What an engine finds wrong with a target's settings (a missing or invalid key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProfileProblem {
    /// The key at fault, for the diagnostic's line.
    pub(crate) key: Option<String>,
    pub(crate) message: String,
    pub(crate) hint: String,
}

impl ProfileProblem {
    /// `key` is required and missing.
    pub(crate) fn missing(key: &str, engine: &str, hint: impl Into<String>) -> Self {
        ProfileProblem {
            key: None,
            message: format!("`{key}` is required for a `type: {engine}` target"),
            hint: hint.into(),
        }
    }
}

/// Keys whose values are secrets: never printed, logged or written to artifacts (with the keys
/// [`is_secret_key`] recognises by a part of their name).
pub(crate) const SECRET_KEYS: &[&str] = &[
    "password",
    "pass",
    "passwd",
    "token",
    "private_key",
    "private_key_passphrase",
    "keyfile_json",
    "client_secret",
    "refresh_token",
    "access_token",
    "secret",
    "api_key",
];

/// Parts of a key's name that make its value a secret (`db_password`, `s3_secret_access_key`,
/// `auth_token`...). A `..._path` key names a file, which is not itself secret.
const SECRET_PARTS: &[&str] = &[
    "password",
    "passphrase",
    "secret",
    "token",
    "private_key",
    "keyfile",
    "api_key",
];

/// Whether the value of `key` (at any depth of a target) is a secret.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_KEYS.contains(&k.as_str())
        || (!k.ends_with("_path") && SECRET_PARTS.iter().any(|p| k.contains(p)))
}

/// Every secret text in `v`: the scalars under a secret key, at any depth (a `keyfile_json`
/// given as a JSON string also yields the strings inside it), longest first.
pub(crate) fn secret_values(v: &Value) -> Vec<String> {
    fn walk(v: &Value, secret: bool, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    walk(x, secret || is_secret_key(k), out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, secret, out)),
            Value::String(s) if secret && !s.is_empty() => {
                out.push(s.clone());
                if let Ok(inner @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(s) {
                    walk(&inner, true, out);
                }
                for line in s.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    out.push(line.to_string());
                }
            }
            Value::Number(n) if secret => out.push(n.to_string()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, false, &mut out);
    sort_secrets(out)
}

/// Secret values read from the text of `profiles.yml` itself, for errors raised before (or
/// while) it is parsed: `key: value` lines whose key is a secret, quotes or not, and the lines
/// of a block scalar (`private_key: |`).
pub(crate) fn secret_values_in_text(text: &str) -> Vec<String> {
    static KEY_RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"^(\s*)(?:-\s*)?["']?([A-Za-z0-9_]+)["']?\s*:(.*)$"#).unwrap()
    });
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(c) = KEY_RE.captures(line) else {
            continue;
        };
        if !is_secret_key(&c[2]) {
            continue;
        }
        let indent = c[1].len();
        let raw = c[3].trim();
        if raw.is_empty() || raw.starts_with('|') || raw.starts_with('>') {
            // A block scalar or a nested mapping: every more-indented line below.
            for l in lines[i + 1..].iter() {
                let t = l.trim();
                if !t.is_empty() && l.len() - l.trim_start().len() <= indent {
                    break;
                }
                if !t.is_empty() {
                    out.push(t.to_string());
                    if let Some((_, v)) = t.split_once(':') {
                        out.push(unquote(v.trim()).to_string());
                    }
                }
            }
        } else {
            out.push(raw.to_string());
            out.push(unquote(raw).to_string());
        }
    }
    sort_secrets(out)
}

/// `"x"`, `'x'`, or an unterminated `"x` -> `x`.
fn unquote(s: &str) -> &str {
    let s = s.strip_prefix(['"', '\'']).unwrap_or(s);
    s.strip_suffix(['"', '\'']).unwrap_or(s)
}

fn sort_secrets(mut v: Vec<String>) -> Vec<String> {
    v.retain(|s| !s.trim().is_empty());
    v.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    v.dedup();
    v
}

/// `text` with every one of `secrets` replaced by `****`.
pub(crate) fn scrub_with(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "****");
        }
    }
    out
}

/// A diagnostic's message and hint with `secrets` replaced by `****`.
fn scrub_diagnostic(mut d: Diagnostic, secrets: &[String]) -> Diagnostic {
    d.message = scrub_with(&d.message, secrets);
    d.hint = d.hint.map(|h| scrub_with(&h, secrets));
    d.source_line = None;
    d
}

/// The resolved connection target.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) profile_name: String,
    pub(crate) target_name: String,
    /// The profile's `type` (`duckdb`, `postgres`).
    pub(crate) adapter_type: String,
    /// The engine's SQL, from the registry.
    pub(crate) dialect: Dialect,
    pub(crate) schema: String,
    pub(crate) database: String,
    pub(crate) threads: usize,
    /// Every key of the output, rendered (secrets included: use [`Target::redacted`] for output).
    pub(crate) values: Map<String, Value>,
    /// Where profiles.yml was found.
    pub(crate) profiles_path: PathBuf,
}

/// Where `profiles.yml` was found and what it holds.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    pub(crate) path: PathBuf,
    pub(crate) value: Value,
}

/// Debug output shows the redacted values only.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("profile_name", &self.profile_name)
            .field("target_name", &self.target_name)
            .field("adapter_type", &self.adapter_type)
            .field("schema", &self.schema)
            .field("database", &self.database)
            .field("threads", &self.threads)
            .field("values", &self.redacted())
            .field("profiles_path", &self.profiles_path)
            .finish()
    }
}

impl Target {
    /// The target's values with secrets (at any depth) replaced by `****`: the only form fit
    /// for output.
    pub(crate) fn redacted(&self) -> Map<String, Value> {
        fn redact(m: &mut Map<String, Value>) {
            for (k, v) in m.iter_mut() {
                if is_secret_key(k) {
                    *v = Value::String("****".into());
                } else if let Value::Object(inner) = v {
                    redact(inner);
                }
            }
        }
        let mut m = self.values.clone();
        redact(&mut m);
        m
    }

    pub(crate) fn get_str(&self, key: &str) -> Option<String> {
        match self.values.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Replaces every secret value occurring in `text` by `****` (for error messages from drivers).
    pub(crate) fn scrub(&self, text: &str) -> String {
        scrub_with(text, &secret_values(&Value::Object(self.values.clone())))
    }
}

/// The folders searched for `profiles.yml`, in order.
pub(crate) fn search_dirs(profiles_dir: Option<&Path>, project_root: &Path) -> Vec<PathBuf> {
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
pub(crate) fn find_profile(
    profiles_dir: Option<&Path>,
    project_root: &Path,
) -> Result<Profile, Diagnostic> {
    let dirs = search_dirs(profiles_dir, project_root);
    for d in &dirs {
        let p = d.join("profiles.yml");
        if p.is_file() {
            let text = super::read_text(&p, &p.display().to_string())?;
            let value = yaml::parse(&text, &p)
                .map_err(|d| scrub_diagnostic(d, &secret_values_in_text(&text)))?;
            return Ok(Profile { path: p, value });
        }
    }
    let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(Diagnostic::error(Code::Profile, format!("no `profiles.yml` found: looked for a profiles.yml file in {}", searched.iter().map(|d| format!("{d}/profiles.yml")).collect::<Vec<_>>().join(", ")))
        .with_hint("pass `--profiles-dir DIR`, set DBT_PROFILES_DIR, or create profiles/profiles.yml in the project"))
}

/// Renders `{{ env_var('X', 'default') }}` and friends in profile values. `key` is the key the
/// value is under; `secret` says whether it (or a key above it) holds a secret, whose text an
/// error never shows.
fn render_value(v: &Value, path: &Path, key: &str, secret: bool) -> Result<Value, Diagnostic> {
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
                let message = if secret {
                    // Neither the text nor the template engine's detail, which may quote it;
                    // only a missing variable's name (a name, not the secret).
                    match e.detail().filter(|d| d.starts_with("Env var required")) {
                        Some(detail) => format!(
                            "cannot render the value of `{key}` (a secret, not shown): {detail}"
                        ),
                        None => format!(
                            "cannot render the value of `{key}` (a secret, not shown): {}",
                            e.kind()
                        ),
                    }
                } else {
                    format!("cannot render the value of `{key}` (`{s}`): {e}")
                };
                Diagnostic::error(Code::Profile, message)
                    .in_file(path)
                    .with_hint("profile values may use {{ env_var('NAME', 'default') }}; a literal `{{` must be written `{{ '{{' }}`")
            })?;
            yaml_scalar(&rendered)
        }
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(
                    k.clone(),
                    render_value(v, path, k, secret || is_secret_key(k))?,
                );
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| render_value(x, path, key, secret))
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

/// Every environment variable `env_var()` has read in this process, with the value it found
/// (`None`: unset). A reused parse is valid only while these are unchanged.
static ENV_READS: std::sync::Mutex<std::collections::BTreeMap<String, Option<String>>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// The environment variables `env_var()` has read so far, by name, with what each held.
pub(crate) fn env_reads() -> std::collections::BTreeMap<String, Option<String>> {
    ENV_READS.lock().map(|m| m.clone()).unwrap_or_default()
}

/// `env_var(name, default)`: the environment variable, or the default, or an error.
pub(crate) fn env_var_fn(
    name: String,
    default: Option<minijinja::Value>,
) -> Result<minijinja::Value, minijinja::Error> {
    let value = std::env::var(&name);
    if let Ok(mut reads) = ENV_READS.lock() {
        if !reads.contains_key(&name) {
            reads.insert(name.clone(), value.as_ref().ok().cloned());
        }
    }
    match value {
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
    /// No error shows a secret: each is scrubbed of every secret value in the file, as parsed
    /// and as written.
    pub(crate) fn target(
        &self,
        profile_name: &str,
        target_override: Option<&str>,
        project_root: &Path,
        engines: &dyn EngineLookup,
    ) -> Result<Target, Diagnostic> {
        self.pick_target(profile_name, target_override, project_root, engines)
            .map_err(|d| {
                let mut secrets = secret_values(&self.value);
                secrets.extend(secret_values_in_text(
                    &std::fs::read_to_string(&self.path).unwrap_or_default(),
                ));
                scrub_diagnostic(d, &sort_secrets(secrets))
            })
    }

    /// The line of `key:` in `target_name`'s block of the file (else its first `key:` line).
    fn key_line(&self, target_name: &str, key: &str) -> Option<usize> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let is_key = |l: &str, k: &str| {
            let t = l.trim_start();
            let t = unquote(t.split_once(':').map_or("", |(k, _)| k).trim());
            t == k
        };
        let lines: Vec<&str> = text.lines().collect();
        let start = lines
            .iter()
            .position(|l| is_key(l, target_name))
            .unwrap_or(0);
        lines[start..]
            .iter()
            .position(|l| is_key(l, key))
            .map(|i| start + i + 1)
            .or_else(|| lines.iter().position(|l| is_key(l, key)).map(|i| i + 1))
    }

    fn pick_target(
        &self,
        profile_name: &str,
        target_override: Option<&str>,
        project_root: &Path,
        engines: &dyn EngineLookup,
    ) -> Result<Target, Diagnostic> {
        let file = self.path.display().to_string();
        let Some(profile) = self.value.get(profile_name) else {
            let names: Vec<&str> = self
                .value
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            return Err(Diagnostic::error(Code::Profile, format!("Could not find profile named '{profile_name}' in `{file}`"))
                .in_file(&self.path)
                .with_hint(match did_you_mean(profile_name, names.iter().copied()) {
                    Some(h) => h,
                    None => format!("profiles in that file: {}; set `profile:` in dbt_project.yml or pass --profile", names.join(", ")),
                }));
        };
        let target_name = match target_override {
            Some(t) => t.to_string(),
            None => match profile.get("target") {
                Some(Value::String(t)) => {
                    render_value(&Value::String(t.clone()), &self.path, "target", false)?
                        .as_str()
                        .unwrap_or("dev")
                        .to_string()
                }
                _ => "dev".to_string(),
            },
        };
        let outputs = profile.get("outputs").and_then(Value::as_object);
        let Some(output) = outputs.and_then(|o| o.get(&target_name)) else {
            let names: Vec<&str> = outputs
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            return Err(Diagnostic::error(
                Code::Profile,
                format!(
                    "The profile '{profile_name}' does not have a target named '{target_name}'."
                ),
            )
            .in_file(&self.path)
            .with_hint(match did_you_mean(&target_name, names.iter().copied()) {
                Some(h) => h,
                None => format!("known targets: {}", names.join(", ")),
            }));
        };
        let Value::Object(values) = render_value(output, &self.path, &target_name, false)? else {
            return Err(Diagnostic::error(
                Code::Profile,
                format!("output '{target_name}' of profile '{profile_name}' is misconfigured in profiles.yml: it must be a mapping"),
            )
            .in_file(&self.path));
        };
        let adapter_type = values
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let threads = match values.get("threads") {
            None | Some(Value::Null) => 1,
            Some(v) => {
                let n = v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
                match n {
                    Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
                    _ => {
                        let shown = match v {
                            Value::String(s) => format!("'{s}'"),
                            o => o.to_string(),
                        };
                        let message = match n {
                            Some(_) => format!(
                                "at path ['threads']: {shown} is less than the minimum of 1"
                            ),
                            None => {
                                format!("at path ['threads']: {shown} is not of type 'integer'")
                            }
                        };
                        let d = Diagnostic::error(Code::Profile, message);
                        let d = match self.key_line(&target_name, "threads") {
                            Some(l) => d.at(Location::at(&self.path, l, 1)),
                            None => d.in_file(&self.path),
                        };
                        return Err(d.with_hint(format!(
                            "`threads` of target `{target_name}` must be a whole number of 1 or more (runs use at most as many workers as there are nodes to run)"
                        )));
                    }
                }
            }
        };
        let mut values = values;
        let Some(resolved) = engines.resolve(&adapter_type, &mut values, project_root) else {
            let line = super::yaml::line_of_name(
                &std::fs::read_to_string(&self.path).unwrap_or_default(),
                &adapter_type,
            );
            let d = Diagnostic::error(
                Code::Profile,
                format!("target `{target_name}` has unsupported type `{adapter_type}`"),
            );
            let d = match line {
                Some(l) => d.at(Location::at(&self.path, l, 1)),
                None => d.in_file(&self.path),
            };
            return Err(d.with_hint(engines.supported_hint()));
        };
        let (dialect, schema, database) = resolved.map_err(|problem| {
            let d = Diagnostic::error(
                Code::Profile,
                format!(
                    "target `{target_name}` of profile `{profile_name}`: {}",
                    problem.message
                ),
            );
            let line = problem
                .key
                .as_deref()
                .and_then(|k| self.key_line(&target_name, k))
                .or_else(|| self.key_line(&target_name, "type"));
            let d = match line {
                Some(l) => d.at(Location::at(&self.path, l, 1)),
                None => d.in_file(&self.path),
            };
            d.with_hint(problem.hint)
        })?;
        Ok(Target {
            profile_name: profile_name.to_string(),
            target_name,
            adapter_type,
            dialect,
            schema,
            database,
            threads,
            values,
            profiles_path: self.path.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_by_name_and_by_part() {
        for k in [
            "password",
            "PASS",
            "keyfile_json",
            "db_password",
            "s3_secret_access_key",
            "auth_token",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["host", "user", "threads", "private_key_path", "schema"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn secrets_are_found_in_values_and_in_unparsable_text() {
        let v = serde_json::json!({"dev": {"user": "u", "password": 1234,
            "keyfile_json": "{\"private_key\": \"abc\"}", "settings": {"api_key": "k1"}}});
        let s = secret_values(&v);
        for want in ["1234", "abc", "k1", "{\"private_key\": \"abc\"}"] {
            assert!(s.iter().any(|x| x == want), "{want} in {s:?}");
        }
        assert!(!s.iter().any(|x| x == "u"));
        let text =
            "dev:\n  password: \"open\n  private_key: |\n    LINE1\n    LINE2\n  user: bob\n";
        let s = secret_values_in_text(text);
        for want in ["open", "LINE1", "LINE2"] {
            assert!(s.iter().any(|x| x == want), "{want} in {s:?}");
        }
        assert!(!s.iter().any(|x| x.contains("bob")));
        assert_eq!(scrub_with("x open LINE2 bob", &s), "x **** **** bob");
    }
}
