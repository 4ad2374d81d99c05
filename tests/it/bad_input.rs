//! Bad input that dbt rejects or reads in its own way: each case is a small project written
//! here, run with the real binary, and checked for dbt's outcome (one clear diagnostic, the
//! exit code, or dbt's reading of the input).

use crate::support::{copy_project, repo, sluice};

fn shop() -> (tempfile::TempDir, std::path::PathBuf) {
    copy_project(&repo().join("tests/fixtures/shop"))
}

/// A UTF-8 byte-order mark at the start of a YAML file is not content (dbt reads such files).
#[test]
fn yaml_files_may_start_with_a_byte_order_mark() {
    let (_tmp, dir) = shop();
    for file in ["dbt_project.yml", "models/schema.yml"] {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("\u{feff}{text}")).unwrap();
    }
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = sluice(&dir, &["ls", "--resource-type", "test", "-o", "name"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout.lines().count(), 20, "{}", r.stdout);
}

/// Jinja2 raises on a division by zero (a literal divisor too); minijinja would print `inf`.
#[test]
fn division_by_zero_is_an_error() {
    let (_tmp, dir) = shop();
    for expr in ["1/0", "1 / 0.0", "n / 0"] {
        let sql = format!("{{% set n = 4 %}}select {{{{ {expr} }}}}");
        let r = sluice(&dir, &["compile", "--inline", &sql]);
        assert_eq!(r.code, 2, "{expr}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("ZeroDivisionError"),
            "{expr}: {}",
            r.stderr
        );
    }
    let r = sluice(
        &dir,
        &["compile", "--inline", "select {{ 7 / 2 }}, {{ 2 ** 10 }}"],
    );
    assert_eq!(r.stdout.trim(), "select 3.5, 1024", "{}", r.stderr);
}

/// A list, dict or namespace that contains itself prints as Python prints it (`[[...]]`), and
/// `tojson` of one is an error: no stack overflow.
#[test]
fn values_that_contain_themselves_print_without_end() {
    let (_tmp, dir) = shop();
    let cases = [
        ("{% set l = [1] %}{% do l.append(l) %}{{ l }}", "[1, [...]]"),
        (
            "{% set d = {'a': 1} %}{% do d.update({'me': d}) %}{{ d }}",
            "{'a': 1, 'me': {...}}",
        ),
        (
            "{% set a = [] %}{% set b = [a] %}{% do a.append(b) %}{{ a }} {{ 'x' ~ a }}",
            "[[[...]]] x[[[...]]]",
        ),
        (
            "{% set ns = namespace(n=0) %}{{ ns }}",
            "<Namespace {'n': 0}>",
        ),
    ];
    for (sql, want) in cases {
        let r = sluice(&dir, &["compile", "--inline", sql]);
        assert_eq!(r.code, 0, "{sql}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.stdout.trim(), want, "{sql}");
    }
    // A namespace holding itself: minijinja keeps a namespace's identity to itself, so it is
    // printed to a depth of 100 rather than as `{...}` at once; the point is that it ends.
    let r = sluice(
        &dir,
        &[
            "compile",
            "--inline",
            "{% set ns = namespace(t=0) %}{% set ns.t = ns %}{{ ns.t }}",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let out = r.stdout.trim();
    assert!(
        out.starts_with("<Namespace {'t': <Namespace {'t': ")
            && out.contains("<Namespace {...}>")
            && out.ends_with("}>}>"),
        "{out}"
    );
    let r = sluice(
        &dir,
        &[
            "compile",
            "--inline",
            "{% set l = [] %}{% do l.append(l) %}{{ tojson(l) }}",
        ],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("contain itself"), "{}", r.stderr);
}

/// An unknown materialization fails its model as dbt's does (a compilation error naming it),
/// and the failure summary shows the compiled-code line once.
#[test]
fn an_unknown_materialization_fails_its_model_clearly() {
    let (_tmp, dir) = shop();
    std::fs::write(
        dir.join("models/odd.sql"),
        "{{ config(materialized='nope') }}\nselect 1 as a\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("models/broken.sql"),
        "select no_col from no_table\n",
    )
    .unwrap();
    let r = sluice(&dir, &["run", "-s", "odd", "broken"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("No materialization 'nope' was found for adapter duckdb!"),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stdout
            .matches("compiled code at target/compiled/shop/models/broken.sql")
            .count(),
        1,
        "{}",
        r.stdout
    );
}

/// A selector that selects nothing, misspelt or malformed (`+`, `tag:`, `a,,b`), is a warning
/// in `ls` too (on stderr, the listing stays clean), and an error with `--warn-error`.
#[test]
fn selectors_that_match_nothing_warn() {
    let (_tmp, dir) = shop();
    for sel in ["+", "tag:", "a,,b", "no_such_model"] {
        let r = sluice(&dir, &["ls", "-s", sel]);
        assert_eq!(r.code, 0, "{sel}: {}{}", r.stdout, r.stderr);
        assert!(r.stdout.trim().is_empty(), "{sel}: {}", r.stdout);
        assert!(
            r.stderr.contains(&format!(
                "The selection criterion '{sel}' does not match any enabled nodes"
            )),
            "{sel}: {}",
            r.stderr
        );
        let r = sluice(&dir, &["--warn-error", "ls", "-s", sel]);
        assert_eq!(r.code, 2, "{sel}: {}{}", r.stdout, r.stderr);
    }
}

/// `dbt_project.yml` keys of the wrong shape are errors at their line, as dbt's schema check
/// makes them, not silent defaults (`model-paths: 5` used to drop every model).
#[test]
fn project_keys_of_the_wrong_shape_are_errors() {
    for (line, key) in [
        ("vars: 5", "vars"),
        ("model-paths: 5", "model-paths"),
        ("seed-paths: [1, 2]", "seed-paths"),
        ("models: [a]", "models"),
    ] {
        let (_tmp, dir) = shop();
        let path = dir.join("dbt_project.yml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}\n{line}\n")).unwrap();
        let r = sluice(&dir, &["parse"]);
        assert_eq!(r.code, 2, "{line}: {}{}", r.stdout, r.stderr);
        let lineno = text.lines().count() + 2;
        assert!(
            r.stderr
                .contains(&format!("`{key}` in dbt_project.yml must be"))
                && r.stderr.contains(&format!("dbt_project.yml:{lineno}:1")),
            "{line}: {}",
            r.stderr
        );
    }
}

/// A `{% docs %}` or `{% snapshot %}` block that is never closed is an error at its opening tag,
/// not a block silently dropped.
#[test]
fn unclosed_docs_and_snapshot_blocks_are_errors() {
    for (file, text, kind) in [
        (
            "models/docs.md",
            "{% docs fine %}ok{% enddocs %}\n\n{% docs lost %}\nnever closed\n",
            "docs",
        ),
        (
            "snapshots/snap.sql",
            "\n{% snapshot snap %}\n{{ config(strategy='check', unique_key='id', check_cols='all') }}\nselect 1 as id\n",
            "snapshot",
        ),
    ] {
        let (_tmp, dir) = shop();
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        let r = sluice(&dir, &["parse"]);
        assert_eq!(r.code, 2, "{file}: {}{}", r.stdout, r.stderr);
        let line = if kind == "docs" { 3 } else { 2 };
        assert!(
            r.stderr
                .contains(&format!("a `{{% {kind} %}}` block is never closed"))
                && r.stderr.contains(&format!("{file}:{line}:1")),
            "{file}: {}",
            r.stderr
        );
    }
}

/// `{{ doc('x') }}` naming no docs block is an error at its place (dbt: a compilation error),
/// with a hint when a block of a close name exists; an existing block resolves.
#[test]
fn a_description_naming_a_missing_doc_is_an_error() {
    let (_tmp, dir) = shop();
    std::fs::write(
        dir.join("models/docs.md"),
        "{% docs order_status %}Where the order is.{% enddocs %}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("models/described.yml"),
        "sources:\n  - name: extra\n    description: \"{{ doc('order_status') }}\"\n    tables:\n      - name: t\n        description: \"{{ doc('order_statuss') }}\"\n",
    )
    .unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("a description uses doc `order_statuss`, which was not found")
            && r.stderr.contains("models/described.yml:6:23")
            && r.stderr.contains("did you mean `order_status`"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("`order_status`,"), "{}", r.stderr);
}

/// `require-dbt-version` is enforced against the dbt version sluice implements (1.10), as dbt
/// enforces it, unless `--no-version-check`.
#[test]
fn require_dbt_version_is_enforced() {
    let (_tmp, dir) = shop();
    let path = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("{text}\nrequire-dbt-version: [\">=1.3.0\", \"<2.0.0\"]\n"),
    )
    .unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    std::fs::write(
        &path,
        format!("{text}\nrequire-dbt-version: \">=1.11.0\"\n"),
    )
    .unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("this version of dbt is not supported with the `shop` package")
            && r.stderr.contains("--no-version-check"),
        "{}",
        r.stderr
    );
    let r = sluice(&dir, &["parse", "--no-version-check"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

/// A derived metric's expression that is not SQL (`mrr + ((`) is a diagnostic of
/// `metrics validate` at the expression's line, not a query that fails later.
#[test]
fn a_derived_metric_expression_that_is_not_sql_is_an_error() {
    let (_tmp, dir) = crate::support::copy_demo();
    let path = dir.join("metrics/revenue.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let r = sluice(&dir, &["metrics", "validate"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    std::fs::write(&path, text.replace("expr: mrr * 12", "expr: \"mrr + ((\"")).unwrap();
    let r = sluice(&dir, &["metrics", "validate"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let out = format!("{}{}", r.stdout, r.stderr);
    assert!(
        out.contains("is not valid SQL") && out.contains("metrics/revenue.yml:76"),
        "{out}"
    );
}

/// `columns:` that is not a list is an error at its line (dbt's schema check); an entry that
/// describes no node is a warning, as dbt warns ("Did not find matching node for patch").
#[test]
fn properties_of_the_wrong_shape_or_for_no_node() {
    let (_tmp, dir) = shop();
    let path = dir.join("models/extra.yml");
    std::fs::write(
        &path,
        "models:\n  - name: ghost\n    description: nothing\n",
    )
    .unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("did not find a node named `ghost`"),
        "{}",
        r.stderr
    );
    std::fs::write(
        &path,
        "models:\n  - name: ghost\n    description: nothing\n  - name: orders_extra\n    columns: \"id\"\n",
    )
    .unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("`columns:` of `orders_extra` must be a list of columns, not \"id\"")
            && r.stderr.contains("models/extra.yml:5:1"),
        "{}",
        r.stderr
    );
}

/// A Jinja syntax error in a macro file points at that file and line, with the line shown.
#[test]
fn a_syntax_error_in_a_macro_file_points_at_its_line() {
    let (_tmp, dir) = shop();
    std::fs::create_dir_all(dir.join("macros")).unwrap();
    std::fs::write(
        dir.join("macros/broken.sql"),
        "{% macro broken(x) %}\n  select 1\n  {{ x + }}\n{% endmacro %}\n",
    )
    .unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("--> macros/broken.sql:3") && r.stderr.contains("{{ x + }}"),
        "{}",
        r.stderr
    );
}

/// `debug --log-format json` prints JSON events, one per line, like every other command.
#[test]
fn debug_follows_the_log_format() {
    let (_tmp, dir) = shop();
    let r = sluice(&dir, &["debug", "--log-format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let events: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["msg"] == "  Connection test: [OK connection ok]"),
        "{}",
        r.stdout
    );
}

/// A template line longer than the template engine can track (65,534 characters) is one
/// diagnostic, not a panic (the fuzzer found a syntax error far along such a line).
#[test]
fn a_template_line_too_long_to_track_is_a_diagnostic() {
    let (_tmp, dir) = shop();
    let line = format!("select {} {{{{ 'unclosed", "1 +".repeat(25_000));
    std::fs::write(dir.join("models/long.sql"), line).unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("line 1 is longer than 65534 characters")
            && r.stderr.contains("models/long.sql:1:1"),
        "{}",
        r.stderr
    );
}

/// A file that is not UTF-8 (a Latin-1 `é` in a model, a properties file) is one diagnostic at
/// its first bad byte: the offset, line and column, and how to re-save it.
#[test]
fn a_file_that_is_not_utf8_names_the_byte_and_its_place() {
    let (_tmp, dir) = shop();
    for (file, bytes) in [
        (
            "models/latin1.sql",
            &b"select 1 as id,\n  'caf\xe9' as name\n"[..],
        ),
        (
            "models/latin1.yml",
            &b"models:\n  - name: latin1\n    description: \"\xe9\"\n"[..],
        ),
    ] {
        std::fs::write(dir.join(file), bytes).unwrap();
        let r = sluice(&dir, &["parse"]);
        assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
        let at = bytes.iter().position(|b| *b == 0xE9).unwrap();
        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
        let col = at
            - bytes[..at]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1)
            + 1;
        assert!(
            r.stderr.contains(&format!(
                "`{file}` is not valid UTF-8: byte 0xE9 at offset {at} (line {line}, column {col})"
            )) && r.stderr.contains(&format!("--> {file}:{line}:{col}")),
            "{}",
            r.stderr
        );
        assert_eq!(r.stderr.matches("error[").count(), 1, "{}", r.stderr);
        std::fs::remove_file(dir.join(file)).unwrap();
    }
}
