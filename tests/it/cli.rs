//! What users see when their project is broken: one diagnostic with file, line, column and a
//! hint, exit code 2, never a panic. Snapshots of stderr.

use crate::support::{copy_project, repo, sluice};

fn fixture(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    copy_project(&repo().join("tests/fixtures/errors").join(name))
}

/// Runs `args` in the fixture and returns "exit code + stderr" with temp paths redacted.
fn diagnose(name: &str, args: &[&str]) -> String {
    let (tmp, dir) = fixture(name);
    let r = sluice(&dir, args);
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let text = format!("exit code: {}\n{}", r.code, r.stderr);
    text.replace(&root.display().to_string(), "[TMP]")
        .replace(&tmp.path().display().to_string(), "[TMP]")
}

#[test]
fn unknown_ref_points_at_the_call_with_a_suggestion() {
    insta::assert_snapshot!(diagnose("unknown_ref", &["parse"]));
}

#[test]
fn malformed_yaml_names_line_and_column() {
    insta::assert_snapshot!(diagnose("bad_yaml", &["parse"]));
}

#[test]
fn cycle_prints_its_path() {
    insta::assert_snapshot!(diagnose("cycle", &["parse"]));
}

/// `parse` writes its manifest while it checks the graph: a cycle found meanwhile leaves every
/// artifact of the last parse as it was, and no half-written file beside them.
#[test]
fn a_parse_that_finds_a_cycle_leaves_the_last_parses_artifacts_as_they_were() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let target = dir.join("target");
    let files = |dir: &std::path::Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let name = e.path().strip_prefix(dir).unwrap().display().to_string();
                (name, std::fs::read(e.path()).unwrap())
            })
            .collect();
        files.sort();
        files
    };
    let before = files(&target);
    assert!(before.iter().any(|(name, _)| name == "manifest.json"));
    let stg = dir.join("models/staging/stg_orders.sql");
    let text = std::fs::read_to_string(&stg).unwrap();
    std::fs::write(&stg, format!("{text}\n-- {{{{ ref('orders') }}}}\n")).unwrap();
    for args in [&["parse"][..], &["parse", "--no-partial-parse"]] {
        let r = sluice(&dir, args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("cycle"), "{}", r.stderr);
        let after = files(&target);
        let names = |fs: &[(String, Vec<u8>)]| fs.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&after), names(&before), "{args:?}");
        assert!(after == before, "{args:?}: an artifact changed");
    }
}

#[test]
fn jinja_syntax_error() {
    insta::assert_snapshot!(diagnose("jinja_syntax", &["parse"]));
}

#[test]
fn unknown_source_suggests_the_nearest() {
    insta::assert_snapshot!(diagnose("unknown_source", &["parse"]));
}

#[test]
fn missing_var_says_how_to_define_it() {
    insta::assert_snapshot!(diagnose("missing_var", &["compile"]));
}

/// Parsing reads an undefined var without a default as `none`, as dbt's parser does: the
/// project parses, and the node that needs it fails when it is compiled (above).
#[test]
fn a_missing_var_does_not_stop_parsing() {
    let (_tmp, dir) = fixture("missing_var");
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let r = sluice(&dir, &["ls", "-s", "orders"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("fx.orders"), "{}", r.stdout);
}

#[test]
fn cli_vars_fill_a_missing_var() {
    let (_tmp, dir) = fixture("missing_var");
    let r = sluice(
        &dir,
        &["compile", "--vars", "{row_count: 3}", "-s", "orders"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("select * from range(3)"), "{}", r.stdout);
}

#[test]
fn missing_profile_lists_what_exists() {
    insta::assert_snapshot!(diagnose("missing_profile", &["parse"]));
}

#[test]
fn missing_target() {
    insta::assert_snapshot!(diagnose("missing_target", &["parse"]));
}

#[test]
fn unknown_macro() {
    insta::assert_snapshot!(diagnose("unknown_macro", &["compile"]));
}

#[test]
fn unknown_selector_method() {
    insta::assert_snapshot!(diagnose("sql_error", &["ls", "--select", "tg:nightly"]));
}

#[test]
fn bad_vars_flag() {
    insta::assert_snapshot!(diagnose("missing_var", &["parse", "--vars", "{a: [1,"]));
}

#[test]
fn failing_model_skips_children_and_keeps_the_old_table() {
    let (_tmp, dir) = fixture("sql_error");
    // First build with a working `bad` model, so a table exists.
    std::fs::write(
        dir.join("models/bad.sql"),
        "{{ config(materialized='table') }}\nselect id, 42 as answer from {{ ref('good') }}\n",
    )
    .unwrap();
    let r = sluice(&dir, &["run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Now break it: the old table and its rows must survive.
    std::fs::write(
        dir.join("models/bad.sql"),
        "{{ config(materialized='table') }}\nselect id, no_such_column from {{ ref('good') }}\n",
    )
    .unwrap();
    let r = sluice(&dir, &["run"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ERROR=1 SKIP=1"), "{}", r.stdout);
    assert!(r.stdout.contains("no_such_column"), "{}", r.stdout);
    let conn = duckdb::Connection::open(dir.join("fx.duckdb")).unwrap();
    let answer: i64 = conn
        .query_row("select answer from main.bad", [], |r| r.get(0))
        .unwrap();
    assert_eq!(answer, 42, "the previous table is intact");
    let n: i64 = conn
        .query_row("select count(*) from main.independent", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "independent branches still ran");
}

#[test]
fn json_log_format_is_one_event_per_line() {
    let (_tmp, dir) = fixture("sql_error");
    let r = sluice(&dir, &["run", "--log-format", "json", "-s", "good"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let events: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert!(events.iter().any(|e| e["event"] == "node_finished"
        && e["unique_id"] == "model.fx.good"
        && e["status"] == "success"));
}

#[test]
fn unknown_top_level_key_is_a_warning_with_a_suggestion() {
    // Like dbt 1.10 (a deprecation warning for custom top-level keys): the parse goes on.
    // (`--log-level warn`: warnings without the info lines; `-q` would hide warnings too.)
    let text = diagnose("unknown_top_key", &["parse", "--log-level", "warn"]);
    assert!(text.starts_with("exit code: 0\n"), "{text}");
    insta::assert_snapshot!(text);
}
