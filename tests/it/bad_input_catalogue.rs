//! The bad-input catalogue: a table of small broken projects (bad YAML, an unknown ref, a cycle,
//! Jinja syntax errors, unclosed blocks, bad profile values, ...), each written into a temp dir,
//! run with the real binary, and checked against its diagnostic snapshot (exit code + stderr).
//! Every case must end in diagnostics, never a panic or a crash.

use crate::support::sluice;

const PROJECT: &str = "name: cat\nprofile: cat\nconfig-version: 2\n";
const PROFILES: &str =
    "cat:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: cat.duckdb\n      threads: 1\n";
const MODEL: &str = "select 1 as id\n";

/// One broken project: files over the defaults (`dbt_project.yml`, `profiles.yml` and
/// `models/ok.sql`; an empty content removes the file) and the command to run.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "yaml_unclosed_flow_sequence",
        files: &[("models/schema.yml", "models:\n  - name: ok\n    columns: [id,\n")],
        args: &["parse"],
    },
    Case {
        name: "yaml_tab_indentation",
        files: &[("models/schema.yml", "models:\n\t- name: ok\n")],
        args: &["parse"],
    },
    Case {
        name: "yaml_unknown_anchor",
        files: &[("models/schema.yml", "models:\n  - name: ok\n    config: *nowhere\n")],
        args: &["parse"],
    },
    Case {
        name: "yaml_models_not_a_list",
        files: &[("models/schema.yml", "models:\n  name: ok\n")],
        args: &["parse"],
    },
    Case {
        name: "project_file_not_a_mapping",
        files: &[("dbt_project.yml", "- name\n- cat\n")],
        args: &["parse"],
    },
    Case {
        name: "project_file_without_a_name",
        files: &[("dbt_project.yml", "profile: cat\nconfig-version: 2\n")],
        args: &["parse"],
    },
    Case {
        name: "project_requires_a_future_dbt",
        files: &[(
            "dbt_project.yml",
            "name: cat\nprofile: cat\nrequire-dbt-version: '>=9.0.0'\n",
        )],
        args: &["parse"],
    },
    Case {
        name: "unknown_ref",
        files: &[("models/b.sql", "select * from {{ ref('okk') }}\n")],
        args: &["parse"],
    },
    Case {
        name: "unknown_source",
        files: &[("models/b.sql", "select * from {{ source('raw', 'orders') }}\n")],
        args: &["parse"],
    },
    Case {
        name: "cycle",
        files: &[
            ("models/a.sql", "select * from {{ ref('b') }}\n"),
            ("models/b.sql", "select * from {{ ref('a') }}\n"),
        ],
        args: &["parse"],
    },
    Case {
        name: "jinja_unclosed_expression",
        files: &[("models/b.sql", "select {{ ref('ok' }}\n")],
        args: &["parse"],
    },
    Case {
        name: "jinja_unclosed_if_block",
        files: &[("models/b.sql", "{% if true %}\nselect 1\n")],
        args: &["parse"],
    },
    Case {
        name: "jinja_unknown_tag",
        files: &[("models/b.sql", "{% frobnicate %}\nselect 1\n")],
        args: &["parse"],
    },
    Case {
        name: "jinja_division_by_zero",
        files: &[("models/b.sql", "select {{ 1 / 0 }}\n")],
        args: &["parse"],
    },
    Case {
        name: "macro_file_unclosed_macro",
        files: &[("macros/m.sql", "{% macro m() %}\nselect 1\n")],
        args: &["parse"],
    },
    Case {
        name: "macro_file_syntax_error",
        files: &[("macros/m.sql", "{% macro m( %}1{% endmacro %}\n")],
        args: &["parse"],
    },
    Case {
        name: "unknown_macro",
        files: &[("models/b.sql", "select {{ no_such_macro() }}\n")],
        args: &["compile"],
    },
    Case {
        name: "endless_macro_recursion",
        files: &[
            ("macros/m.sql", "{% macro loop_(n) %}{{ loop_(n + 1) }}{% endmacro %}\n"),
            ("models/b.sql", "select {{ loop_(0) }}\n"),
        ],
        args: &["parse"],
    },
    Case {
        name: "missing_var",
        files: &[("models/b.sql", "select {{ var('nope') }}\n")],
        args: &["compile"],
    },
    Case {
        name: "duplicate_model_names",
        files: &[("models/sub/ok.sql", "select 2 as id\n")],
        args: &["parse"],
    },
    Case {
        name: "profile_threads_not_a_number",
        files: &[(
            "profiles.yml",
            "cat:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: cat.duckdb\n      threads: lots\n",
        )],
        args: &["parse"],
    },
    Case {
        name: "profile_unknown_adapter_type",
        files: &[(
            "profiles.yml",
            "cat:\n  target: dev\n  outputs:\n    dev:\n      type: oracle\n      threads: 1\n",
        )],
        args: &["parse"],
    },
    Case {
        name: "profile_missing",
        files: &[("profiles.yml", "other:\n  target: dev\n  outputs:\n    dev: {type: duckdb}\n")],
        args: &["parse"],
    },
    Case {
        name: "profile_target_missing",
        files: &[(
            "profiles.yml",
            "cat:\n  target: prod\n  outputs:\n    dev: {type: duckdb, path: cat.duckdb}\n",
        )],
        args: &["parse"],
    },
    Case {
        name: "relationships_test_to_an_unknown_model",
        files: &[(
            "models/schema.yml",
            "models:\n  - name: ok\n    columns:\n      - name: id\n        data_tests: [unique, {relationships: {to: \"ref('gone')\", field: id}}]\n",
        )],
        args: &["parse"],
    },
    Case {
        name: "metric_on_an_unknown_measure",
        files: &[(
            "models/metrics.yml",
            "semantic_models:\n  - name: sm\n    model: ref('ok')\n    defaults: {agg_time_dimension: t}\n    entities: [{name: e, type: primary, expr: id}]\n    dimensions: [{name: t, type: time, type_params: {time_granularity: day}}]\n    measures: [{name: n, agg: count, expr: id}]\nmetrics:\n  - name: m\n    label: M\n    type: simple\n    type_params: {measure: nn}\n",
        )],
        args: &["parse"],
    },
    Case {
        name: "derived_metric_with_bad_sql",
        files: &[(
            "models/metrics.yml",
            "semantic_models:\n  - name: sm\n    model: ref('ok')\n    defaults: {agg_time_dimension: t}\n    entities: [{name: e, type: primary, expr: id}]\n    dimensions: [{name: t, type: time, type_params: {time_granularity: day}}]\n    measures: [{name: n, agg: count, expr: id}]\nmetrics:\n  - name: m\n    label: M\n    type: simple\n    type_params: {measure: n}\n  - name: d\n    label: D\n    type: derived\n    type_params:\n      expr: (m + \n      metrics: [{name: m}]\n",
        )],
        args: &["parse"],
    },
    Case {
        name: "config_tags_not_strings",
        files: &[("models/ok.sql", "{{ config(tags=7) }}\nselect 1 as id\n")],
        args: &["parse"],
    },
    Case {
        name: "config_tags_not_strings_in_project",
        files: &[(
            "dbt_project.yml",
            "name: cat\nprofile: cat\nmodels:\n  cat:\n    +tags: [a, {b: 1}]\n",
        )],
        args: &["parse"],
    },
    Case {
        name: "config_materialized_not_a_name",
        files: &[("models/ok.sql", "{{ config(materialized=5) }}\nselect 1 as id\n")],
        args: &["parse"],
    },
    Case {
        name: "config_meta_not_a_mapping",
        files: &[("models/ok.sql", "{{ config(meta='owner') }}\nselect 1 as id\n")],
        args: &["parse"],
    },
    Case {
        name: "accepted_values_without_values",
        files: &[(
            "models/schema.yml",
            "models:\n  - name: ok\n    columns:\n      - name: id\n        data_tests:\n          - accepted_values\n",
        )],
        args: &["parse"],
    },
    Case {
        name: "unknown_generic_test",
        files: &[(
            "models/schema.yml",
            "models:\n  - name: ok\n    columns:\n      - name: id\n        data_tests:\n          - not_nul\n",
        )],
        args: &["parse"],
    },
    Case {
        name: "unit_test_given_an_unknown_ref",
        files: &[(
            "models/schema.yml",
            "unit_tests:\n  - name: u\n    model: ok\n    given:\n      - input: ref('okk')\n        rows: [{id: 1}]\n    expect:\n      rows: [{id: 1}]\n",
        )],
        args: &["parse"],
    },
];

/// Writes `case` into a temp dir, runs it, and returns "exit code + stderr", temp paths redacted.
fn diagnose(case: &Case) -> String {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("cat");
    let mut files: Vec<(&str, &str)> = vec![
        ("dbt_project.yml", PROJECT),
        ("profiles.yml", PROFILES),
        ("models/ok.sql", MODEL),
    ];
    for &(path, text) in case.files {
        files.retain(|(p, _)| *p != path);
        files.push((path, text));
    }
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
    }
    let mut args: Vec<&str> = case.args.to_vec();
    args.extend(["--profiles-dir", "."]);
    let r = sluice(&dir, &args);
    assert!(
        !r.stderr.contains("panicked") && r.code != 101 && r.code >= 0,
        "{}: crash (exit {}): {}",
        case.name,
        r.code,
        r.stderr
    );
    let root = std::fs::canonicalize(tmp.path()).expect("canonical temp dir");
    format!("exit code: {}\n{}", r.code, r.stderr)
        .replace(&root.display().to_string(), "[TMP]")
        .replace(&tmp.path().display().to_string(), "[TMP]")
}

#[test]
fn every_broken_project_ends_in_its_diagnostic() {
    for case in CASES {
        let text = diagnose(case);
        insta::assert_snapshot!(case.name, text);
    }
}
