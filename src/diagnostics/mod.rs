//! Diagnostics: the one error type users see.
//!
//! Every user mistake (bad YAML, unknown ref, cycle, Jinja error, bad profile) becomes a
//! [`Diagnostic`] naming the file, line and column where known, with a `hint:`. Library modules
//! return `Result<_, Diagnostic>` (or a `Vec<Diagnostic>`) and the CLI renders them, in colour on
//! a terminal, as JSON with `--log-format json`. Each diagnostic has a [`Code`], the kind of
//! problem, printed in kebab case (`error[unknown-ref]`); the codes are all listed here. This
//! module depends on no other.

use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Warning,
    Error,
}

/// Defines [`Code`]: each variant with its doc line and its text.
macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident => $text:literal,)+) => {
        /// A diagnostic's stable short code: what kind of problem it is. It prints as the
        /// `error[...]` / `warning[...]` label and as `"code"` with `--log-format json`;
        /// [`Code::as_str`] is its text, which users and scripts rely on, so it never changes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($(#[$doc])* $name,)+
        }

        impl Code {
            /// Every code, alphabetically by its text.
            #[cfg(test)]
            pub(crate) const ALL: &'static [Code] = &[$(Code::$name),+];

            /// The code as users see it, in kebab case (e.g. `unknown-ref`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $text,)+
                }
            }
        }
    };
}

codes! {
    /// A measure's `agg_params` do not fit its `agg` (percentile out of range, missing, or extra).
    AggParams => "agg-params",
    /// A measure's agg time dimension is missing or not a time dimension of its model.
    AggTimeDimension => "agg-time-dimension",
    /// `run-operation --args` is not valid YAML or not a mapping.
    Args => "args",
    /// `docs generate` cannot read the catalog from the warehouse.
    Catalog => "catalog",
    /// `clean` refuses a `clean-targets` folder outside the project.
    Clean => "clean",
    /// A template raised a compilation error (e.g. `exceptions.raise_compiler_error`).
    CompilerError => "compiler-error",
    /// A node's config value has the wrong type (e.g. a list where a string is needed).
    ConfigType => "config-type",
    /// The warehouse cannot be connected to, or the connection failed.
    Connection => "connection",
    /// A conversion metric's `conversion_type_params` do not fit its measures.
    ConversionParams => "conversion-params",
    /// The nodes' dependencies form a cycle.
    Cycle => "cycle",
    /// Warning: a model is past its `deprecation_date` (dbt's `DeprecatedModel`).
    DeprecatedModel => "deprecated-model",
    /// Warning: a model refers to a deprecated model (dbt's `DeprecatedReference`).
    DeprecatedReference => "deprecated-reference",
    /// A derived metric's `expr` is not valid SQL or does not match its input metrics.
    DerivedExpr => "derived-expr",
    /// `docs serve` has no site to serve or cannot listen on its port.
    Docs => "docs",
    /// A package defines two macros of the same name.
    DuplicateMacro => "duplicate-macro",
    /// Two semantic models, metrics, measures, saved queries or model elements share a name.
    DuplicateName => "duplicate-name",
    /// Two resources share a name or a unique id.
    DuplicateNode => "duplicate-node",
    /// A properties file entry describes a node already described elsewhere.
    DuplicatePatch => "duplicate-patch",
    /// Warning: a YAML mapping repeats a key (dbt's `DuplicateYAMLKeysDeprecation`).
    DuplicateYamlKey => "duplicate-yaml-key",
    /// A metric's `filter` is not valid.
    Filter => "filter",
    /// A command-line flag, its environment variable or project `flags:` value is invalid.
    Flags => "flags",
    /// An `on-run-start` / `on-run-end` hook of the project failed.
    Hook => "hook",
    /// A fault of sluice itself, not of the input.
    Internal => "internal",
    /// A semantic model, metric or element name is not lower case letters, digits and `_`.
    InvalidName => "invalid-name",
    /// A file or folder cannot be read or written, or a file is not UTF-8.
    Io => "io",
    /// A template fails to render, for a reason with no more specific code.
    Jinja => "jinja",
    /// A template's syntax is invalid (an unclosed tag or block, an overlong line).
    JinjaSyntax => "jinja-syntax",
    /// A metric reads one measure with different filters and the filtered read has no alias.
    MeasureAlias => "measure-alias",
    /// A metric is defined in terms of itself.
    MetricCycle => "metric-cycle",
    /// A metric has no `label`.
    MetricLabel => "metric-label",
    /// A metric's `type_params` are missing or contradictory for its type.
    MetricParams => "metric-params",
    /// A `metrics` query names an unknown metric or saved query, or cannot be answered.
    MetricQuery => "metric-query",
    /// A metric's `data_tests:` entry is malformed or its arguments are invalid.
    MetricTest => "metric-test",
    /// A metric unit test is malformed.
    MetricUnitTest => "metric-unit-test",
    /// A template reads a `var` that is not defined and has no default.
    MissingVar => "missing-var",
    /// A model's `versions:` are invalid.
    ModelVersions => "model-versions",
    /// A measure's `non_additive_dimension` does not fit its semantic model.
    NonAdditiveDimension => "non-additive-dimension",
    /// `run-operation` cannot commit its transaction.
    Operation => "operation",
    /// A `packages:` entry is invalid or a package cannot be installed; also its warnings.
    Packages => "packages",
    /// A semantic model has no, or more than one, primary entity.
    PrimaryEntity => "primary-entity",
    /// `profiles.yml`, the chosen profile or its target is missing or invalid.
    Profile => "profile",
    /// `dbt_project.yml` is missing or invalid, or the dbt version it requires is not met.
    Project => "project",
    /// A saved query has no metrics, an invalid query or an invalid export.
    SavedQuery => "saved-query",
    /// A seed's CSV file is invalid (e.g. a row or a value that does not fit its columns).
    Seed => "seed",
    /// Nothing is selected (dbt's `NoNodesForSelectionCriteria`), or a needed selection is missing.
    Select => "select",
    /// A `--select` / `--exclude` selector is invalid.
    Selector => "selector",
    /// `metrics validate --data`: a semantic model does not run on the warehouse's data.
    SemanticData => "semantic-data",
    /// A semantic model, metric or saved query definition cannot be read.
    SemanticYaml => "semantic-yaml",
    /// A query sent to the warehouse failed (`show`, metric queries, exports).
    Sql => "sql",
    /// A data test's definition is invalid.
    TestDefinition => "test-definition",
    /// `--threads 0`.
    Threads => "threads",
    /// A time dimension has no granularity, or a categorical one has one.
    TimeGranularity => "time-granularity",
    /// A cumulative metric needs a time spine and the project has none.
    TimeSpine => "time-spine",
    /// A template uses an undefined value.
    Undefined => "undefined",
    /// A unit test's fixture file is not found.
    UnitTest => "unit-test",
    /// A description uses a `doc()` block that is not defined.
    UnknownDoc => "unknown-doc",
    /// A template calls a function or macro that is not defined.
    UnknownFunction => "unknown-function",
    /// A macro called by name (e.g. by `run-operation`) is not defined.
    UnknownMacro => "unknown-macro",
    /// A metric uses a measure that no semantic model defines.
    UnknownMeasure => "unknown-measure",
    /// A metric or saved query uses a metric that is not defined.
    UnknownMetric => "unknown-metric",
    /// A semantic model's `model:` names no model of the project.
    UnknownModel => "unknown-model",
    /// A properties file describes a node that does not exist.
    UnknownPatch => "unknown-patch",
    /// A `ref()`, or a unit test's model or input, names no node.
    UnknownRef => "unknown-ref",
    /// A `source()` names no source table.
    UnknownSource => "unknown-source",
    /// Warning: a model refers to a model slated for deprecation.
    UpcomingReferenceDeprecation => "upcoming-reference-deprecation",
    /// A semantic model's validity dimensions (`is_start` / `is_end`) are invalid.
    ValidityParams => "validity-params",
    /// `--vars` is not valid YAML or JSON, or not a mapping.
    Vars => "vars",
    /// A YAML file is not valid YAML or not shaped as expected (e.g. an unknown top-level key).
    Yaml => "yaml",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A place in a file: 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Location {
    pub(crate) file: PathBuf,
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
}

impl Location {
    pub(crate) fn file(file: impl Into<PathBuf>) -> Self {
        Location {
            file: file.into(),
            line: None,
            column: None,
        }
    }
    pub(crate) fn at(file: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
            column: Some(column),
        }
    }
}

/// One user-facing problem.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Diagnostic {
    /// What kind of problem it is, e.g. [`Code::UnknownRef`], [`Code::Yaml`], [`Code::Cycle`].
    pub code: Code,
    pub(crate) severity: Severity,
    pub message: String,
    pub(crate) location: Option<Location>,
    pub(crate) hint: Option<String>,
    /// A few lines of source around the location, filled in when rendered.
    #[serde(skip)]
    pub(crate) source_line: Option<String>,
}

impl Diagnostic {
    pub(crate) fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            location: None,
            hint: None,
            source_line: None,
        }
    }
    pub(crate) fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }
    pub(crate) fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }
    pub(crate) fn in_file(self, file: impl Into<PathBuf>) -> Self {
        self.at(Location::file(file))
    }
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// A hint, unless one is already set.
    pub(crate) fn with_hint_if_none(mut self, hint: impl Into<String>) -> Self {
        if self.hint.is_none() {
            self.hint = Some(hint.into());
        }
        self
    }
    pub(crate) fn maybe_hint(mut self, hint: Option<String>) -> Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }
    /// Fills in `source_line` from the file on disk when the location has a line; never from
    /// `profiles.yml`, whose lines may hold secrets.
    pub(crate) fn with_source_from(mut self, root: &Path) -> Self {
        if let Some(Location {
            file,
            line: Some(line),
            ..
        }) = &self.location
        {
            if file.file_name().is_some_and(|n| n == "profiles.yml") {
                return self;
            }
            let path = if file.is_absolute() {
                file.clone()
            } else {
                root.join(file)
            };
            if let Ok(text) = std::fs::read_to_string(path) {
                self.source_line = text.lines().nth(line.saturating_sub(1)).map(str::to_string);
            }
        }
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{label}[{}]: {}", self.code, self.message)?;
        if let Some(loc) = &self.location {
            write!(f, "\n  --> {}", loc.file.display())?;
            if let Some(line) = loc.line {
                write!(f, ":{line}")?;
                if let Some(col) = loc.column {
                    write!(f, ":{col}")?;
                }
            }
            if let (Some(src), Some(line)) = (&self.source_line, loc.line) {
                let num = line.to_string();
                let pad = " ".repeat(num.len());
                write!(f, "\n {pad} |\n {num} | {src}")?;
                if let Some(col) = loc.column {
                    write!(f, "\n {pad} | {}^", " ".repeat(col.saturating_sub(1)))?;
                }
            }
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// The closest name to `wanted` among `known`, for `did you mean` hints.
pub(crate) fn nearest<'a, I: IntoIterator<Item = &'a str>>(
    wanted: &str,
    known: I,
) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for cand in known {
        let d = edit_distance(wanted, cand);
        let limit = (wanted.len().max(cand.len()) / 3).max(2);
        if d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && cand < bc)) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// `did you mean `x`?` for the nearest known name, if any.
pub(crate) fn did_you_mean<'a, I: IntoIterator<Item = &'a str>>(
    wanted: &str,
    known: I,
) -> Option<String> {
    nearest(wanted, known).map(|n| format!("did you mean `{n}`?"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// 1-based line and column of a byte offset in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    // An offset inside a multi-byte character (e.g. one counted in a rewritten copy of the
    // text) points at that character.
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_name() {
        assert_eq!(
            nearest("ordrs", ["orders", "customers"]).as_deref(),
            Some("orders")
        );
        assert_eq!(nearest("zzz", ["orders", "customers"]), None);
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
        // Found by the fuzzer: an offset inside a multi-byte character points at it.
        assert_eq!(line_col("a\u{301}b", 2), (1, 2));
    }

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for &code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "`{s}` is the text of two codes");
            assert!(
                !s.is_empty()
                    && !s.starts_with('-')
                    && !s.ends_with('-')
                    && !s.contains("--")
                    && s.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "`{s}` is not kebab case"
            );
            assert_eq!(code.to_string(), s);
            assert_eq!(serde_json::to_value(code).unwrap(), s);
        }
        assert!(
            Code::ALL.windows(2).all(|w| w[0].as_str() < w[1].as_str()),
            "codes are listed alphabetically"
        );
    }
}
