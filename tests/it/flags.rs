//! dbt 1.10's global and per-command flags and their `DBT_*` environment variables
//! (`dbt/cli/params.py`, `dbt/cli/main.py`): every one is accepted where dbt accepts it, global
//! ones before and after the subcommand; the ones that change nothing in sluice leave the run as
//! it is, and the real ones (`--warn-error`, `--warn-error-options`, `--log-level`, `--quiet`,
//! `--printer-width`, `--no-write-json`, `--use-colors`, `--output`, ...) behave as dbt's do
//! (checked by running dbt 1.10.23 on the same project).
//!
//! `tests/fixtures/flags`: a seed, a view and two tests; `unique` is configured to warn and finds
//! one duplicate, so a build ends `PASS=3 WARN=1` and exits 0.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{copy_project, repo, Run};

const BASELINE: &str = "Done. PASS=3 WARN=1 ERROR=0 SKIP=0 NO-OP=0 TOTAL=4";

fn project() -> (tempfile::TempDir, PathBuf) {
    copy_project(&repo().join("tests/fixtures/flags"))
}

/// Runs sluice in `dir` with `env` and no other `DBT_*` variable.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1");
    for (k, _) in std::env::vars() {
        if k.starts_with("DBT_") || k == "DO_NOT_TRACK" {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("run sluice");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `args` split on spaces (no argument here holds one).
fn words(args: &str) -> Vec<&str> {
    args.split_whitespace().collect()
}

#[test]
fn every_flag_and_variable_that_changes_nothing_leaves_the_build_as_it_is() {
    let (_tmp, dir) = project();
    let base = run(&dir, &["build"], &[]);
    assert_eq!(base.code, 0, "{}{}", base.stdout, base.stderr);
    assert!(base.stdout.contains(BASELINE), "{}", base.stdout);

    // Global flags: each given after the subcommand, then before it.
    let global = [
        "--no-version-check",
        "--version-check",
        "--partial-parse",
        "--no-partial-parse",
        "--send-anonymous-usage-stats",
        "--no-send-anonymous-usage-stats",
        "--use-colors-file",
        "--no-use-colors-file",
        "--no-use-colors",
        "--no-color",
        "--log-format text",
        "--log-format default",
        "--log-format debug",
        "--log-format-file json",
        "--log-level info",
        "--log-level debug",
        "--log-level-file debug",
        "--log-path other_logs",
        "--log-file-max-bytes 1000",
        "--printer-width 80",
        "--write-json",
        "--populate-cache",
        "--no-populate-cache",
        "--cache-selected-only",
        "--no-cache-selected-only",
        "--static-parser",
        "--no-static-parser",
        "--use-experimental-parser",
        "--no-use-experimental-parser",
        "--log-cache-events",
        "--no-log-cache-events",
        "--record-timing-info timing.prof",
        "-r timing.prof",
        "--debug",
        "-d",
        "--no-debug",
        "--no-quiet",
        "--print",
        "--no-print",
        "--show-all-deprecations",
        "--no-show-all-deprecations",
        "--no-fail-fast",
        "--indirect-selection eager",
        "--indirect-selection Eager",
        "--favor-state",
        "--no-favor-state",
        "--no-defer",
        "--macro-debugging",
        "--single-threaded",
        "--use-fast-test-edges",
        "--no-upload-to-artifacts-ingest-api",
        "--show-resource-report",
        "--partial-parse-file-diff",
        "--warn-error-options {}",
        "--target dev",
        "-t dev",
        "--profile flags_fixture",
        "--threads 1",
        "--vars {}",
        "--target-path target",
    ];
    // Flags of `build` (the union of `run`, `seed`, `snapshot` and `test`'s).
    let build = [
        "--no-empty",
        "--show",
        "--export-saved-queries",
        "--no-export-saved-queries",
        "--include-saved-query",
        "--event-time-start 2024-01-01 --event-time-end 2024-02-01T00:00:00",
        "--exclude-resource-type unit_test",
        "--exclude-resource-types snapshot",
        "--resource-type all",
        "--models people_view+ people",
        "-m people_view+ people",
        "--full-refresh",
        "-f",
        "--store-failures",
    ];
    let mut cases: Vec<Vec<String>> = Vec::new();
    for (i, f) in global.iter().enumerate() {
        let flag: Vec<String> = words(f).into_iter().map(String::from).collect();
        let mut after = vec!["build".to_string()];
        after.extend(flag.iter().cloned());
        cases.push(after);
        if i % 3 == 0 {
            let mut before = flag.clone();
            before.push("build".into());
            cases.push(before);
        }
    }
    for f in build {
        let mut a = vec!["build".to_string()];
        a.extend(words(f).into_iter().map(String::from));
        cases.push(a);
    }
    for args in &cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&dir, &a, &[]);
        assert_eq!(r.code, 0, "{a:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains(BASELINE), "{a:?}: {}", r.stdout);
    }

    // Environment variables, as orchestrators set them (booleans in click's spellings).
    let dir_s = dir.to_str().unwrap();
    let env: &[(&str, &str)] = &[
        ("DBT_VERSION_CHECK", "false"),
        ("DBT_PARTIAL_PARSE", "0"),
        ("DBT_SEND_ANONYMOUS_USAGE_STATS", "no"),
        ("DBT_USE_COLORS", "False"),
        ("DBT_USE_COLORS_FILE", "true"),
        ("DBT_LOG_LEVEL", "INFO"),
        ("DBT_LOG_LEVEL_FILE", "debug"),
        ("DBT_LOG_PATH", "other_logs"),
        ("DBT_LOG_FORMAT", "text"),
        ("DBT_LOG_FORMAT_FILE", "json"),
        ("DBT_LOG_FILE_MAX_BYTES", "1000"),
        ("DBT_PRINTER_WIDTH", "80"),
        ("DBT_WRITE_JSON", "true"),
        ("DBT_STATIC_PARSER", "off"),
        ("DBT_QUIET", "n"),
        ("DBT_DEBUG", "0"),
        ("DBT_PRINT", "t"),
        ("DBT_NO_PRINT", "f"),
        ("DBT_PROFILES_DIR", dir_s),
        ("DBT_PROJECT_DIR", dir_s),
        ("DBT_TARGET_PATH", "target"),
        ("DBT_TARGET", "dev"),
        ("DBT_PROFILE", "flags_fixture"),
        ("DBT_FAIL_FAST", "off"),
        ("DBT_INDIRECT_SELECTION", "eager"),
        ("DBT_CACHE_SELECTED_ONLY", "1"),
        ("DBT_POPULATE_CACHE", "Y"),
        ("DBT_USE_EXPERIMENTAL_PARSER", "N"),
        ("DBT_LOG_CACHE_EVENTS", "FALSE"),
        ("DBT_MACRO_DEBUGGING", "no"),
        ("DBT_WARN_ERROR", "false"),
        ("DBT_FAVOR_STATE", "false"),
        ("DBT_FAVOR_STATE_MODE", "false"),
        ("DBT_DEFER", "false"),
        ("DBT_DEFER_TO_STATE", "0"),
        ("DBT_EMPTY", "false"),
        ("DBT_FULL_REFRESH", "false"),
        ("DBT_STORE_FAILURES", "0"),
        ("DBT_EXPORT_SAVED_QUERIES", "1"),
        ("DBT_INCLUDE_SAVED_QUERY", "0"),
        ("DBT_SINGLE_THREADED", "false"),
        ("DBT_PARTIAL_PARSE_FILE_DIFF", "true"),
        ("DBT_SHOW_RESOURCE_REPORT", "0"),
        ("DBT_UPLOAD_TO_ARTIFACTS_INGEST_API", "false"),
        ("DBT_USE_FAST_TEST_EDGES", "false"),
        ("DBT_EVENT_TIME_START", "2024-01-01"),
        ("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test snapshot"),
        ("DBT_RESOURCE_TYPES", "model seed test"),
        ("DO_NOT_TRACK", "1"),
        // Empty is unset, as click reads it.
        ("DBT_WARN_ERROR_OPTIONS", ""),
        ("DBT_LOG_LEVEL", ""),
        ("DBT_QUIET", ""),
        ("DBT_PROFILES_DIR", ""),
        ("DBT_TARGET", ""),
    ];
    for pair in env {
        let r = run(&dir, &["build"], std::slice::from_ref(pair));
        assert_eq!(r.code, 0, "{pair:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains(BASELINE), "{pair:?}: {}", r.stdout);
    }
    // All of them at once.
    let r = run(&dir, &["build"], env);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(BASELINE), "{}", r.stdout);
}

#[test]
fn other_commands_accept_their_dbt_flags() {
    let (_tmp, dir) = project();
    assert_eq!(run(&dir, &["build", "-q"], &[]).code, 0);
    let ls = run(&dir, &["ls"], &[]).stdout;
    let cases = [
        "parse --no-partial-parse --no-version-check",
        "--no-send-anonymous-usage-stats parse",
        "compile --introspect",
        "compile --no-introspect --no-empty -f",
        "compile --output text --inject-ephemeral-ctes",
        "compile --no-inject-ephemeral-ctes",
        "show -s people_view --output text --introspect --limit 2",
        "ls --resource-type model --exclude-resource-type test",
        "list -m people_view",
        "ls --model people_view --output json --output-keys name",
        "debug --connection",
        "clean --clean-project-files-only",
        "clean --no-clean-project-files-only",
        "deps --upgrade",
        "deps --lock --source hub",
        "docs generate --compile --static --select people_view",
        "docs generate --no-compile --empty-catalog",
    ];
    for c in cases {
        let r = run(&dir, &words(c), &[]);
        assert_eq!(r.code, 0, "{c}: {}{}", r.stdout, r.stderr);
    }
    let r = run(&dir, &["show", "--inline-direct", "select 1 as x"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("| 1 "), "{}", r.stdout);
    // `ls` as it was, with the environment's resource types too.
    assert_eq!(run(&dir, &["ls"], &[]).stdout, ls);
    let models = run(
        &dir,
        &["ls"],
        &[
            ("DBT_RESOURCE_TYPES", "model"),
            ("DBT_EXCLUDE_RESOURCE_TYPES", ""),
        ],
    );
    assert_eq!(models.stdout.trim(), "flags_fixture.people_view");
}

#[test]
fn warn_error_makes_warnings_errors_as_in_dbt() {
    let (_tmp, dir) = project();
    // A test that warns fails, with dbt's message: "configured to fail if" its warn_if.
    for (args, env) in [
        (vec!["build", "--warn-error"], vec![]),
        (vec!["--warn-error", "build"], vec![]),
        (vec!["build"], vec![("DBT_WARN_ERROR", "yes")]),
        (vec!["build"], vec![("DBT_WARN_ERROR", "1")]),
        (
            vec![
                "build",
                "--warn-error-options",
                r#"{"error": ["LogTestResult"]}"#,
            ],
            vec![],
        ),
        (
            vec!["build"],
            vec![("DBT_WARN_ERROR_OPTIONS", "{error: all}")],
        ),
    ] {
        let r = run(&dir, &args, &env);
        assert_eq!(r.code, 1, "{args:?} {env:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stdout
                .contains("Done. PASS=3 WARN=0 ERROR=1 SKIP=0 NO-OP=0 TOTAL=4"),
            "{}",
            r.stdout
        );
        assert!(
            r.stdout
                .contains("Got 1 result, configured to fail if != 0"),
            "{}",
            r.stdout
        );
    }
    // Excluded by name, the warning stays a warning.
    let r = run(
        &dir,
        &[
            "build",
            "--warn-error-options",
            r#"{"error": "all", "warn": ["LogTestResult"]}"#,
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(BASELINE), "{}", r.stdout);

    // A selection that matches nothing: an error (exit code 2), or nothing when silenced.
    let r = run(&dir, &["build", "-s", "nothing_here", "--warn-error"], &[]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("The selection criterion 'nothing_here' does not match any enabled nodes"),
        "{}",
        r.stderr
    );
    let r = run(&dir, &["build", "-s", "nothing_here"], &[]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("does not match any enabled nodes"));
    let r = run(
        &dir,
        &[
            "build",
            "-s",
            "nothing_here",
            "--warn-error-options",
            "{silence: [NoNodesForSelectionCriteria]}",
        ],
        &[],
    );
    assert_eq!(r.code, 0);
    assert!(!r.stdout.contains("does not match"), "{}", r.stdout);

    // The project's `flags:` (dbt's order: command line, environment, project).
    let project = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&project).unwrap();
    std::fs::write(&project, format!("{text}flags:\n  warn_error: true\n")).unwrap();
    assert_eq!(run(&dir, &["build", "-q"], &[]).code, 1);
    let r = run(&dir, &["build", "-q"], &[("DBT_WARN_ERROR", "false")]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    std::fs::write(&project, &text).unwrap();

    // A key given twice in a properties file: a warning, an error under --warn-error (dbt: exit
    // code 2, "Compilation Error"), nothing when silenced.
    let props = dir.join("models/schema.yml");
    let yml = std::fs::read_to_string(&props).unwrap();
    std::fs::write(
        &props,
        yml.replace("version: 2\n", "version: 2\nversion: 2\n"),
    )
    .unwrap();
    let r = run(&dir, &["parse"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("warning[duplicate-yaml-key]"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("models/schema.yml:2:1"), "{}", r.stderr);
    let r = run(&dir, &["parse", "--warn-error"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("error[duplicate-yaml-key]"),
        "{}",
        r.stderr
    );
    let r = run(
        &dir,
        &[
            "parse",
            "--warn-error-options",
            r#"{"error": "all", "silence": ["DuplicateYAMLKeysDeprecation"]}"#,
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("duplicate"), "{}", r.stderr);
}

#[test]
fn log_level_quiet_printer_width_colours_and_artifacts() {
    let (_tmp, dir) = project();
    let lines = |s: &str| -> Vec<String> {
        // Without the `HH:MM:SS  ` timestamps.
        s.lines()
            .map(|l| l.get(10..).unwrap_or("").to_string())
            .collect()
    };
    // --log-level warn: the warning's lines only, as dbt prints them.
    let r = run(&dir, &["build", "--log-level", "warn"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let shown = lines(&r.stdout);
    assert!(
        shown[0].starts_with("4 of 4 WARN 1 unique_people_view_id ..."),
        "{shown:?}"
    );
    assert!(
        shown.contains(&"Warning in test unique_people_view_id (models/schema.yml)".to_string())
    );
    assert!(!r.stdout.contains("Found 1 model"), "{}", r.stdout);
    // --log-level error and --quiet: failures only.
    for (args, env) in [
        (
            vec!["build", "--log-level", "error", "--warn-error"],
            vec![],
        ),
        (vec!["-q", "build", "--warn-error"], vec![]),
        (vec!["build", "--warn-error"], vec![("DBT_QUIET", "true")]),
        (
            vec!["build", "--warn-error"],
            vec![("DBT_LOG_LEVEL", "error")],
        ),
    ] {
        let r = run(&dir, &args, &env);
        assert_eq!(r.code, 1, "{args:?}");
        let shown = lines(&r.stdout);
        assert!(
            shown[0].starts_with("4 of 4 FAIL 1 unique_people_view_id"),
            "{shown:?}"
        );
        assert!(
            shown
                .contains(&"Failure in test unique_people_view_id (models/schema.yml)".to_string()),
            "{shown:?}"
        );
        assert!(
            shown.contains(&"  Got 1 result, configured to fail if != 0".to_string()),
            "{shown:?}"
        );
        assert!(!r.stdout.contains("PASS"), "{}", r.stdout);
        assert!(!r.stdout.contains("Done."), "{}", r.stdout);
    }
    // --log-level none: nothing at all.
    let r = run(&dir, &["build", "--log-level", "none", "--warn-error"], &[]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (1, "", ""));
    // --no-quiet after -q: the last one wins.
    let r = run(&dir, &["build", "-q", "--no-quiet"], &[]);
    assert!(r.stdout.contains(BASELINE), "{}", r.stdout);

    // --printer-width pads node lines to that width (dbt: 80).
    for (args, env, width) in [
        (vec!["run"], vec![], 80),
        (vec!["run", "--printer-width", "100"], vec![], 100),
        (vec!["--printer-width", "60", "run"], vec![], 60),
        (vec!["run"], vec![("DBT_PRINTER_WIDTH", "120")], 120),
    ] {
        let r = run(&dir, &args, &env);
        let start = lines(&r.stdout)
            .into_iter()
            .find(|l| l.contains(" START "))
            .unwrap();
        assert_eq!(start.find(" [RUN]"), Some(width), "{args:?}: {start}");
    }

    // --use-colors colours even a pipe (dbt does); --no-use-colors never.
    for (args, env, coloured) in [
        (vec!["run", "--use-colors"], vec![], true),
        (vec!["run"], vec![("DBT_USE_COLORS", "1")], true),
        (
            vec!["run", "--use-colors", "--no-use-colors"],
            vec![],
            false,
        ),
        (vec!["run"], vec![], false),
    ] {
        let r = run(&dir, &args, &env);
        assert_eq!(r.stdout.contains("\x1b[32m"), coloured, "{args:?} {env:?}");
    }
    // A project's `flags: {use_colors: true}` (dbt's default, written out) leaves colour to the
    // terminal and NO_COLOR; its `false` wins over neither flag.
    let project = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&project).unwrap();
    for (on, args, coloured) in [
        ("true", vec!["run"], false),
        ("false", vec!["run"], false),
        ("false", vec!["run", "--use-colors"], true),
    ] {
        std::fs::write(&project, format!("{text}flags:\n  use_colors: {on}\n")).unwrap();
        let r = run(&dir, &args, &[]);
        assert_eq!(r.stdout.contains("\x1b[32m"), coloured, "{on} {args:?}");
    }
    std::fs::write(&project, text).unwrap();

    // --no-write-json: no manifest.json, run_results.json or semantic_manifest.json.
    let target = dir.join("target");
    for (args, env) in [
        (vec!["build", "--no-write-json"], vec![]),
        (vec!["--no-write-json", "parse"], vec![]),
        (vec!["parse"], vec![("DBT_WRITE_JSON", "false")]),
        (vec!["compile"], vec![("DBT_WRITE_JSON", "0")]),
    ] {
        let _ = std::fs::remove_dir_all(&target);
        let r = run(&dir, &args, &env);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        for f in [
            "manifest.json",
            "run_results.json",
            "semantic_manifest.json",
        ] {
            assert!(!target.join(f).exists(), "{args:?} wrote {f}");
        }
    }
    let _ = std::fs::remove_dir_all(&target);
    assert_eq!(run(&dir, &["build", "-q"], &[]).code, 0);
    for f in [
        "manifest.json",
        "run_results.json",
        "semantic_manifest.json",
    ] {
        assert!(target.join(f).exists(), "{f}");
    }
}

#[test]
fn fail_fast_from_the_command_line_the_environment_or_the_project() {
    let (_tmp, dir) = project();
    // A model that fails, first in the DAG's order.
    std::fs::write(
        dir.join("models/a_broken.sql"),
        "select * from no_such_table",
    )
    .unwrap();
    let done = |r: &Run| {
        r.stdout
            .lines()
            .find(|l| l.contains("Done."))
            .map(|l| l[10..].to_string())
            .unwrap_or_default()
    };
    let all = "Done. PASS=3 WARN=1 ERROR=1 SKIP=0 NO-OP=0 TOTAL=5";
    let stopped = "Done. PASS=0 WARN=0 ERROR=1 SKIP=4 NO-OP=0 TOTAL=5";
    assert_eq!(done(&run(&dir, &["build"], &[])), all);
    assert_eq!(done(&run(&dir, &["build", "-x"], &[])), stopped);
    assert_eq!(done(&run(&dir, &["--fail-fast", "build"], &[])), stopped);
    assert_eq!(
        done(&run(&dir, &["build"], &[("DBT_FAIL_FAST", "1")])),
        stopped
    );
    assert_eq!(
        done(&run(&dir, &["build", "-x", "--no-fail-fast"], &[])),
        all
    );
    let project = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&project).unwrap();
    std::fs::write(&project, format!("{text}flags:\n  fail_fast: true\n")).unwrap();
    assert_eq!(done(&run(&dir, &["build"], &[])), stopped);
    assert_eq!(done(&run(&dir, &["build", "--no-fail-fast"], &[])), all);
}

#[test]
fn json_outputs_of_compile_show_and_ls() {
    let (_tmp, dir) = project();
    assert_eq!(run(&dir, &["build", "-q"], &[]).code, 0);
    let json = |args: &[&str]| -> serde_json::Value {
        let r = run(&dir, args, &[]);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        let start = r.stdout.find('{').expect("json");
        serde_json::from_str(&r.stdout[start..]).unwrap()
    };
    // dbt: {"node": ..., "compiled": ...}; inline: {"compiled": ...}.
    let v = json(&["compile", "-s", "people_view", "--output", "json"]);
    assert_eq!(v["node"], "people_view");
    assert!(
        v["compiled"].as_str().unwrap().contains("\"people\""),
        "{v}"
    );
    let v = json(&["compile", "--inline", "select 1 as x", "--output", "json"]);
    assert_eq!(v, serde_json::json!({"compiled": "select 1 as x"}));
    // dbt: {"node": ..., "show": [rows]}; inline: {"show": [rows]}.
    let v = json(&[
        "show",
        "-s",
        "people_view",
        "--output",
        "json",
        "--limit",
        "1",
    ]);
    assert_eq!(v["node"], "people_view");
    assert_eq!(v["show"].as_array().unwrap().len(), 1);
    let v = json(&["show", "--inline", "select 1 as x", "--output", "JSON"]);
    assert_eq!(v, serde_json::json!({"show": [{"x": 1}]}));
    // `ls --output json --output-keys`: only those keys.
    let r = run(
        &dir,
        &[
            "ls",
            "-s",
            "people_view",
            "--resource-type",
            "model",
            "--output",
            "json",
            "--output-keys",
            "name",
            "resource_type",
        ],
        &[],
    );
    assert_eq!(
        r.stdout.trim(),
        r#"{"name":"people_view","resource_type":"model"}"#
    );
}

#[test]
fn bad_and_unsupported_flags_are_clear_errors() {
    let (_tmp, dir) = project();
    for (args, env, says) in [
        (
            vec!["build", "--no-such-flag"],
            vec![],
            "unexpected argument '--no-such-flag'",
        ),
        (
            vec!["build", "--log-level", "loud"],
            vec![],
            "invalid value 'loud'",
        ),
        (
            vec!["build"],
            vec![("DBT_WARN_ERROR", "banana")],
            "invalid value 'banana' for DBT_WARN_ERROR",
        ),
        (
            vec!["build"],
            vec![("DBT_PRINTER_WIDTH", "wide")],
            "invalid value 'wide' for DBT_PRINTER_WIDTH",
        ),
        (
            vec!["build"],
            vec![("DBT_LOG_LEVEL", "loud")],
            "invalid value 'loud' for DBT_LOG_LEVEL",
        ),
        (
            vec![
                "build",
                "--warn-error",
                "--warn-error-options",
                "{error: all}",
            ],
            vec![],
            "cannot be used together",
        ),
        (
            vec!["build", "--warn-error-options", "{errors: all}"],
            vec![],
            "unknown key `errors`",
        ),
        (
            vec!["build", "--defer"],
            vec![],
            "no value was provided to --state",
        ),
        (
            vec!["build"],
            vec![("DBT_DEFER", "true")],
            "no value was provided to --state",
        ),
        (
            vec!["build", "--state", "prod"],
            vec![],
            "Invalid value for '--state'",
        ),
        // `compile --empty` is not supported (run, build, seed, snapshot and test take it).
        (vec!["compile"], vec![("DBT_EMPTY", "1")], "`--empty`"),
        (
            vec!["build", "--selector", "nightly"],
            vec![],
            "Could not find selector named nightly",
        ),
        (
            vec!["build", "--indirect-selection", "cautious"],
            vec![],
            "cautious",
        ),
        (
            vec!["deps", "--add-package", "dbt-labs/dbt_utils@1.3.0"],
            vec![],
            "--add-package",
        ),
        (
            vec![
                "build",
                "--event-time-start",
                "2024-02-01",
                "--event-time-end",
                "2024-01-01",
            ],
            vec![],
            "--event-time-start",
        ),
    ] {
        let r = run(&dir, &args, &env);
        assert_eq!(r.code, 2, "{args:?} {env:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(says), "{args:?} {env:?}: {}", r.stderr);
    }
    // dbt's version flags.
    for v in ["--version", "-V", "-v"] {
        let r = run(&dir, &[v], &[]);
        assert_eq!(r.code, 0, "{v}");
        assert!(r.stdout.starts_with("sluice"), "{v}: {}", r.stdout);
    }
}
