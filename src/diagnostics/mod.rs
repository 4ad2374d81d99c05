//! Diagnostics: the one error type users see.
//!
//! Every user mistake (bad YAML, unknown ref, cycle, Jinja error, bad profile) becomes a
//! [`Diagnostic`] naming the file, line and column where known, with a `hint:`. Library modules
//! return `Result<_, Diagnostic>` (or a `Vec<Diagnostic>`) and the CLI renders them, in colour on
//! a terminal, as JSON with `--log-format json`. This module depends on no other.

use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A place in a file: 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl Location {
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Location {
            file: file.into(),
            line: None,
            column: None,
        }
    }
    pub fn at(file: impl Into<PathBuf>, line: usize, column: usize) -> Self {
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
    /// Stable short code, e.g. `unknown-ref`, `yaml`, `cycle`.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub location: Option<Location>,
    pub hint: Option<String>,
    /// A few lines of source around the location, filled in when rendered.
    #[serde(skip)]
    pub source_line: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            location: None,
            hint: None,
            source_line: None,
        }
    }
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }
    pub fn in_file(self, file: impl Into<PathBuf>) -> Self {
        self.at(Location::file(file))
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// A hint, unless one is already set.
    pub fn with_hint_if_none(mut self, hint: impl Into<String>) -> Self {
        if self.hint.is_none() {
            self.hint = Some(hint.into());
        }
        self
    }
    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }
    /// Fills in `source_line` from the file on disk when the location has a line; never from
    /// `profiles.yml`, whose lines may hold secrets.
    pub fn with_source_from(mut self, root: &Path) -> Self {
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
pub fn nearest<'a, I: IntoIterator<Item = &'a str>>(wanted: &str, known: I) -> Option<String> {
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
pub fn did_you_mean<'a, I: IntoIterator<Item = &'a str>>(wanted: &str, known: I) -> Option<String> {
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
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
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
}
