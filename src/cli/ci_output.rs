//! Output for CI systems, beyond dbt's: a JUnit XML report of the tests a command ran
//! (`--junit-xml FILE`) and GitHub Actions annotations (`--log-format github`) for failures,
//! warnings and diagnostics, each pointing at its file (and line, where known).
//!
//! JUnit: one `<testcase>` per data test, unit test and metric test (`classname` its unique id,
//! `file` its file), `<failure>` for a failing test (dbt's message, with the failing row count),
//! `<error>` for one that could not run, `<skipped>` for a skipped one; a test that warns passes
//! with the warning in `<system-out>`. GitHub: the workflow commands `::error file=...::message`
//! and `::warning ...`, escaped as the runner reads them.

use std::fmt::Write as _;

use crate::artifacts::RunStatus;
use crate::compile::{Manifest, ResourceType};
use crate::execute::NodeResult;

/// A GitHub Actions workflow command (`level`: `error` or `warning`).
pub(crate) fn github_annotation(
    level: &str,
    file: Option<&str>,
    line: Option<usize>,
    column: Option<usize>,
    title: &str,
    message: &str,
) -> String {
    let mut props = Vec::new();
    if let Some(f) = file {
        props.push(format!("file={}", escape_property(f)));
    }
    if let Some(l) = line {
        props.push(format!("line={l}"));
    }
    if let Some(c) = column {
        props.push(format!("col={c}"));
    }
    props.push(format!("title={}", escape_property(title)));
    format!("::{level} {}::{}", props.join(","), escape_data(message))
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The annotations of a run's results: errors and failures, and warnings.
pub(crate) fn result_annotations(results: &[NodeResult], manifest: &Manifest) -> Vec<String> {
    results
        .iter()
        .filter_map(|r| {
            let level = match r.status {
                RunStatus::Error | RunStatus::Fail => "error",
                RunStatus::Warn => "warning",
                _ => return None,
            };
            let node = manifest.get(&r.unique_id);
            let file = node.map(node_file);
            let name = node.map_or(r.unique_id.as_str(), |n| n.name.as_str());
            Some(github_annotation(
                level,
                file.as_deref(),
                None,
                None,
                &format!("{} {name}", status_word(r.status)),
                &r.message,
            ))
        })
        .collect()
}

/// Where a node is written: a generic test's properties file, else its own file.
fn node_file(n: &crate::compile::Node) -> String {
    match (&n.patch_path, n.resource_type) {
        (Some(p), _) if n.original_file_path.is_empty() => p
            .split_once("://")
            .map_or(p.as_str(), |(_, f)| f)
            .to_string(),
        _ => n.original_file_path.clone(),
    }
}

fn status_word(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Error => "Error in",
        RunStatus::Fail => "Failure in",
        RunStatus::Warn => "Warning in",
        _ => "",
    }
}

/// The JUnit XML report of the tests among `results`.
pub(crate) fn junit_xml(
    results: &[NodeResult],
    manifest: &Manifest,
    suite: &str,
    elapsed: f64,
    timestamp: &str,
) -> String {
    let tests: Vec<(&NodeResult, Option<&crate::compile::Node>)> = results
        .iter()
        .map(|r| (r, manifest.get(&r.unique_id)))
        .filter(|(r, n)| {
            n.is_some_and(|n| {
                matches!(n.resource_type, ResourceType::Test | ResourceType::UnitTest)
            }) || r.unique_id.starts_with("test.")
                || r.unique_id.starts_with("unit_test.")
        })
        .collect();
    let count = |f: fn(RunStatus) -> bool| tests.iter().filter(|(r, _)| f(r.status)).count();
    let failures = count(|s| s == RunStatus::Fail);
    let errors = count(|s| s == RunStatus::Error);
    let skipped = count(|s| s == RunStatus::Skipped);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"sluice\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{elapsed:.3}\">",
        tests.len()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{elapsed:.3}\" timestamp=\"{}\">",
        attr(suite),
        tests.len(),
        attr(timestamp)
    );
    for (r, node) in &tests {
        let name = node.map_or(r.unique_id.as_str(), |n| n.name.as_str());
        let file = node.map(node_file).unwrap_or_default();
        let _ = write!(
            x,
            "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" time=\"{:.3}\"",
            attr(name),
            attr(&r.unique_id),
            attr(&file),
            r.execution_time
        );
        let rows = r
            .failures
            .map(|n| format!(" ({n} failing row{})", if n == 1 { "" } else { "s" }))
            .unwrap_or_default();
        match r.status {
            RunStatus::Fail => {
                let _ = writeln!(
                    x,
                    ">\n      <failure message=\"{}\" type=\"fail\">{}{}</failure>\n    </testcase>",
                    attr(&r.message),
                    text(&r.message),
                    text(&rows)
                );
            }
            RunStatus::Error => {
                let _ = writeln!(
                    x,
                    ">\n      <error message=\"{}\" type=\"error\">{}</error>\n    </testcase>",
                    attr(first_line(&r.message)),
                    text(&r.message)
                );
            }
            RunStatus::Skipped => {
                let _ = writeln!(
                    x,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    attr(&r.message)
                );
            }
            RunStatus::Warn => {
                let _ = writeln!(
                    x,
                    ">\n      <system-out>warning: {}{}</system-out>\n    </testcase>",
                    text(&r.message),
                    text(&rows)
                );
            }
            _ => {
                let _ = writeln!(x, "/>");
            }
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn text(s: &str) -> String {
    crate::artifacts::docs::html_escape(s)
}

fn attr(s: &str) -> String {
    text(s).replace('\n', "&#10;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_escape_what_the_runner_reads() {
        assert_eq!(
            github_annotation(
                "error",
                Some("models/a,b.yml"),
                Some(3),
                None,
                "Failure in x",
                "50% bad\nrows"
            ),
            "::error file=models/a%2Cb.yml,line=3,title=Failure in x::50%25 bad%0Arows"
        );
    }
}
