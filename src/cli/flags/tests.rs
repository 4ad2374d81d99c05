//! Unit tests of flag resolution: command line over environment over `dbt_project.yml` flags.

use super::*;
use crate::diagnostics::{Code, Severity};

#[test]
fn booleans_as_click_reads_them() {
    for v in ["1", "true", "TRUE", "True", "t", "yes", "Y", "on", " On "] {
        assert_eq!(parse_bool(v), Some(true), "{v}");
    }
    for v in ["0", "false", "F", "no", "n", "off", "OFF", ""] {
        assert_eq!(parse_bool(v), Some(false), "{v}");
    }
    for v in ["banana", "2", "truee"] {
        assert_eq!(parse_bool(v), None, "{v}");
    }
}

#[test]
fn warn_error_options() {
    let o = WarnErrorOptions::parse(
        r#"{"error": ["NoNodesForSelectionCriteria"], "silence": ["DuplicateYAMLKeysDeprecation"]}"#,
    )
    .unwrap();
    assert!(o.is_error("NoNodesForSelectionCriteria", true));
    assert!(!o.is_error("LogTestResult", true));
    assert!(o.is_silenced("DuplicateYAMLKeysDeprecation"));
    let all = WarnErrorOptions::parse("{error: all, warn: [LogTestResult]}").unwrap();
    assert!(all.is_error("NoNodesForSelectionCriteria", true));
    assert!(!all.is_error("LogTestResult", true));
    // sluice's own warnings (dbt prints none) only when named.
    assert!(!all.is_error("CustomTopLevelKeyDeprecation", false));
    let star =
        WarnErrorOptions::parse(r#"{"include": "*", "exclude": ["LogTestResult"]}"#).unwrap();
    assert_eq!(star, all);
    assert!(WarnErrorOptions::parse("{errors: all}").is_err());
    assert!(WarnErrorOptions::parse("[1]").is_err());
    // Applied to diagnostics.
    let dup = Diagnostic::warning(Code::DuplicateYamlKey, "duplicate key `a`");
    let odd = Diagnostic::warning(Code::Packages, "version differs");
    let out = all.apply(vec![dup.clone(), odd.clone()]);
    assert_eq!(out[0].severity, Severity::Error);
    assert!(out[0].hint.as_deref().unwrap().contains("--warn-error"));
    assert_eq!(out[1].severity, Severity::Warning);
    let quiet = WarnErrorOptions::parse("{silence: [DuplicateYAMLKeysDeprecation]}").unwrap();
    assert_eq!(quiet.apply(vec![dup, odd]).len(), 1);
}
