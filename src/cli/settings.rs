//! The flags sluice acts on, once resolved: [`Settings`] (which `GlobalArgs` carries) and
//! [`WarnErrorOptions`], with dbt's event names for sluice's warnings. `flags` resolves them from
//! the command line, the environment and the project; everything else only reads them.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value};

use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::execute::LogLevel;

/// The flags sluice acts on, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// What is printed: `--log-level`, lowered by `--debug`, raised to errors by `--quiet`.
    pub(crate) log_level: LogLevel,
    /// `--use-colors` / `--no-use-colors` (`None`: colour on a terminal).
    pub(crate) use_colors: Option<bool>,
    pub(crate) printer_width: usize,
    /// `--no-write-json`: no manifest.json, run_results.json or semantic_manifest.json.
    pub(crate) write_json: bool,
    /// `--partial-parse` (default) / `--no-partial-parse`: whether `parse` may keep the last
    /// parse's manifest when nothing changed.
    pub(crate) partial_parse: bool,
    pub(crate) fail_fast: bool,
    pub(crate) debug: bool,
    /// `--print` (default) / `--no-print`: whether Jinja's `print()` writes to stdout.
    pub(crate) print: bool,
    /// `--warn-error` / `--warn-error-options`.
    pub(crate) warn_error: WarnErrorOptions,
    /// The command, as dbt names it in `flags.WHICH` (`run`, `compile`, `build` ...).
    pub(crate) which: &'static str,
    /// `--version-check` (default) / `--no-version-check`: enforce `require-dbt-version`.
    pub(crate) version_check: bool,
    /// `--state`: a previous run's artifacts, for `state:` / `result:` selection.
    pub(crate) state: Option<std::path::PathBuf>,
    /// `--defer-state`: the artifacts `--defer` resolves to (else `state`).
    pub(crate) defer_state: Option<std::path::PathBuf>,
    /// `--defer`: unselected refs resolve to the state manifest's relations when missing here.
    pub(crate) defer: bool,
    /// `--favor-state`: unselected refs resolve to the state's relations even when they exist.
    pub(crate) favor_state: bool,
    /// `--log-format github`: GitHub Actions annotations besides the text output.
    pub(crate) github: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            log_level: LogLevel::Info,
            which: "run",
            version_check: true,
            use_colors: None,
            printer_width: 80,
            write_json: true,
            partial_parse: true,
            fail_fast: false,
            debug: false,
            print: true,
            warn_error: WarnErrorOptions::default(),
            state: None,
            defer_state: None,
            defer: false,
            favor_state: false,
            github: false,
        }
    }
}

/// Which warnings are errors (dbt's `WarnErrorOptions`), by dbt event name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WarnErrorOptions {
    /// `--warn-error`, or `error: all` (`"*"`).
    pub(crate) error_all: bool,
    pub(crate) error: BTreeSet<String>,
    pub(crate) warn: BTreeSet<String>,
    pub(crate) silence: BTreeSet<String>,
}

impl WarnErrorOptions {
    /// Whether the warning dbt names `event` is an error. `dbt_emits`: whether dbt 1.10 prints
    /// that warning too; sluice's own warnings only become errors when named, so `--warn-error`
    /// never fails a project dbt accepts with it.
    pub(crate) fn is_error(&self, event: &str, dbt_emits: bool) -> bool {
        !self.silence.contains(event)
            && (self.error.contains(event)
                || (self.error_all && dbt_emits && !self.warn.contains(event)))
    }

    pub(crate) fn is_silenced(&self, event: &str) -> bool {
        self.silence.contains(event)
    }

    /// Reads `'{"error": "all" | [names], "warn": [names], "silence": [names]}'` (YAML or JSON;
    /// dbt's older `include` / `exclude` mean `error` / `warn`).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let hint = r#"e.g. --warn-error-options '{"error": "all", "warn": ["NoNodesForSelectionCriteria"]}'"#;
        let value = crate::project::yaml::parse(text, Path::new("--warn-error-options"))
            .map_err(|d| format!("`--warn-error-options` is not YAML: {}; {hint}", d.message))?;
        let map = match value {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => return Err(format!("`--warn-error-options` must be a mapping; {hint}")),
        };
        let mut out = WarnErrorOptions::default();
        for (key, v) in &map {
            let names: Vec<String> = match v {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a
                    .iter()
                    .map(|x| match x {
                        Value::String(s) => Ok(s.clone()),
                        other => Err(format!("`{key}` lists event names, not {other}; {hint}")),
                    })
                    .collect::<Result<_, _>>()?,
                Value::Null => vec![],
                other => {
                    return Err(format!(
                        "`{key}` must be a list of names, not {other}; {hint}"
                    ))
                }
            };
            let all = names.iter().any(|n| n == "all" || n == "*");
            match key.as_str() {
                "error" | "include" => {
                    out.error_all |= all;
                    out.error
                        .extend(names.into_iter().filter(|n| n != "all" && n != "*"));
                }
                "warn" | "exclude" => out.warn.extend(names),
                "silence" => out.silence.extend(names),
                other => {
                    return Err(format!(
                        "`--warn-error-options` has an unknown key `{other}` (it takes `error`, `warn` and `silence`); {hint}"
                    ))
                }
            }
        }
        Ok(out)
    }

    /// Splits `diags`: warnings these options make errors come back as errors, silenced ones are
    /// dropped, the rest are returned as they are.
    pub(crate) fn apply(&self, diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
        diags
            .into_iter()
            .filter_map(|mut d| {
                if d.severity != Severity::Warning {
                    return Some(d);
                }
                let (event, dbt_emits) = dbt_event(&d);
                if self.is_silenced(event) {
                    return None;
                }
                if self.is_error(event, dbt_emits) {
                    d.severity = Severity::Error;
                    d.hint = Some(match d.hint.take() {
                        Some(h) => format!("{h}; an error because of --warn-error ({event})"),
                        None => format!("an error because of --warn-error ({event})"),
                    });
                }
                Some(d)
            })
            .collect()
    }
}

/// dbt's event name for a sluice warning, and whether dbt 1.10 emits that warning by default.
pub(crate) fn dbt_event(d: &Diagnostic) -> (&'static str, bool) {
    match d.code {
        Code::DuplicateYamlKey => ("DuplicateYAMLKeysDeprecation", true),
        // dbt 1.10 checks custom top-level keys only with its JSON-schema validation enabled.
        Code::Yaml if d.message.starts_with("unknown top-level key") => {
            ("CustomTopLevelKeyDeprecation", false)
        }
        Code::Select => ("NoNodesForSelectionCriteria", true),
        Code::DeprecatedModel => ("DeprecatedModel", true),
        Code::DeprecatedReference => ("DeprecatedReference", true),
        Code::UpcomingReferenceDeprecation => ("UpcomingReferenceDeprecation", true),
        code => (code.as_str(), false),
    }
}

/// dbt's event for a test that warns; `--warn-error` makes it fail.
pub(crate) const TEST_WARNING_EVENT: &str = "LogTestResult";
