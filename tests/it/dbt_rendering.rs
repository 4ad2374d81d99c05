//! How dbt renders and keeps what a project writes, found by the conformance runner's warehouse
//! axis on real projects and checked here on DuckDB: Jinja in `vars`, run hooks as compiled
//! operation nodes, `relation.information_schema(...)`, sources' `loaded_at_field` /
//! `loaded_at_query`, and a test's `severity` as written. The expected values are what real
//! dbt-core 1.10 with dbt-duckdb gives for the same project.

use crate::support::{duckdb_project, manifest, sluice, sluice_with_env};

#[test]
fn vars_with_jinja_hooks_and_information_schema_compile_as_dbt_compiles_them() {
    let (_tmp, dir) = duckdb_project(
        "hookp",
        "on-run-start: \"select {{ 1 + 1 }} as x\"\nvars:\n  depth: \"{{ 9 if target.type == 'duckdb' else 4 }}\"\nmodels:\n  hookp:\n    +schema: \"s_{{ var('v', 'dflt') }}\"\n",
        &[(
            "models/m.sql",
            "select {{ var('depth') | int + 1 }} as d, '{{ var('depth') }}' as raw_depth, '{{ this.information_schema('columns') }}' as info, '{{ this.information_schema() }}' as info2\n",
        )],
    );
    let r = sluice(&dir, &["compile"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let model = std::fs::read_to_string(dir.join("target/compiled/hookp/models/m.sql")).unwrap();
    assert_eq!(
        model.trim(),
        "select 10 as d, '9' as raw_depth, '\"hookp\".INFORMATION_SCHEMA.columns' as info, '\"hookp\".INFORMATION_SCHEMA' as info2"
    );
    // The hook is an operation node: compiled, configured by the `models:` tree with its Jinja
    // rendered, its schema named by generate_schema_name.
    let hook = std::fs::read_to_string(
        dir.join("target/compiled/hookp/dbt_project.yml/hooks/hookp-on-run-start-0.sql"),
    )
    .unwrap();
    assert_eq!(hook.trim(), "select 2 as x");
    let m = manifest(&dir);
    let op = &m["nodes"]["operation.hookp.hookp-on-run-start-0"];
    assert_eq!(op["compiled_code"], "select 2 as x");
    assert_eq!(
        op["compiled_path"],
        "target/compiled/hookp/./dbt_project.yml/hooks/hookp-on-run-start-0.sql"
    );
    assert_eq!(op["schema"], "main_s_dflt");
    assert_eq!(op["config"]["schema"], "s_dflt");
    assert_eq!(
        op["unrendered_config"]["schema"],
        "s_{{ var('v', 'dflt') }}"
    );
    assert!(op["relation_name"].is_null(), "{op}");

    // A narrowed compile leaves the hooks out.
    std::fs::remove_dir_all(dir.join("target")).unwrap();
    let r = sluice(&dir, &["compile", "-s", "m"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!dir.join("target/compiled/hookp/dbt_project.yml").exists());
}

#[test]
fn sources_take_loaded_at_from_the_table_then_the_source_and_run_loaded_at_query() {
    let (_tmp, dir) = duckdb_project(
        "fresh",
        "",
        &[(
            "models/sources.yml",
            "sources:\n  - name: raw\n    schema: raw\n    config:\n      loaded_at_field: loaded_at\n      freshness:\n        error_after: {count: 1, period: day}\n    tables:\n      - name: inherits\n      - name: own_field\n        loaded_at_field: other_at\n      - name: by_query\n        config:\n          loaded_at_query: \"select max(loaded_at) - interval 3 day from raw.inherits\"\n",
        )],
    );
    let conn = duckdb::Connection::open(dir.join("fresh.duckdb")).unwrap();
    conn.execute_batch(
        "create schema raw;
         create table raw.inherits as select now()::timestamp as loaded_at;
         create table raw.own_field as select now()::timestamp as other_at;
         create table raw.by_query as select 1 as x;",
    )
    .unwrap();
    drop(conn);
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let m = manifest(&dir);
    let src = |t: &str| m["sources"][format!("source.fresh.raw.{t}")].clone();
    for (t, field, query) in [
        ("inherits", Some("loaded_at"), None),
        ("own_field", Some("other_at"), None),
        (
            "by_query",
            Some("loaded_at"),
            Some("select max(loaded_at) - interval 3 day from raw.inherits"),
        ),
    ] {
        let s = src(t);
        assert_eq!(s["loaded_at_field"].as_str(), field, "{t}: {s}");
        assert_eq!(s["config"]["loaded_at_field"].as_str(), field, "{t}");
        assert_eq!(s["loaded_at_query"].as_str(), query, "{t}");
        assert_eq!(s["config"]["loaded_at_query"].as_str(), query, "{t}");
    }
    let r = sluice(&dir, &["source", "freshness"]);
    assert_eq!(r.code, 1, "the query's load is 3 days old: {}", r.stdout);
    for line in [
        "PASS freshness of raw.inherits",
        "PASS freshness of raw.own_field",
        "ERROR STALE freshness of raw.by_query",
    ] {
        assert!(r.stdout.contains(line), "{line}: {}", r.stdout);
    }
}

#[test]
fn a_tests_severity_is_kept_as_written_and_still_decides_its_status() {
    let (_tmp, dir) = duckdb_project(
        "sev",
        "",
        &[
            ("models/m.sql", "select null as id\n"),
            (
                "models/schema.yml",
                "models:\n  - name: m\n    columns:\n      - name: id\n        data_tests:\n          - not_null:\n              config:\n                severity: warn\n",
            ),
        ],
    );
    let r = sluice(&dir, &["build"]);
    assert_eq!(
        r.code, 0,
        "a warning keeps exit 0: {}{}",
        r.stdout, r.stderr
    );
    let m = manifest(&dir);
    let test = m["nodes"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(id, _)| id.starts_with("test.sev.not_null_m_id."))
        .map(|(_, n)| n.clone())
        .expect("the not_null test");
    assert_eq!(test["config"]["severity"], "warn");
    let rr: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).unwrap(),
    )
    .unwrap();
    let statuses: Vec<&str> = rr["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"warn"), "{statuses:?}");
}

#[test]
fn a_models_sql_header_runs_before_the_statement_that_builds_it_on_both_engines() {
    crate::pg_server::on_both_engines(
        "a_models_sql_header_runs_before_the_statement_that_builds_it_on_both_engines",
        |engine| {
            let name = engine.name();
            // The header makes a temporary view the model reads: without it, the build fails.
            let model = |materialized: &str, view: &str| {
                format!(
                    "{{{{ config(materialized='{materialized}') }}}}\n{{% call set_sql_header(config) %}}\ncreate or replace temporary view {view} as select 41 as x;\n{{%- endcall %}}\nselect x + 1 as answer from {view}\n"
                )
            };
            let (_tmp, dir) = duckdb_project(
                "hdr",
                "",
                &[
                    ("models/t.sql", &model("table", "hdr_t")),
                    ("models/inc.sql", &model("incremental", "hdr_inc")),
                ],
            );
            engine.write_profile(&dir, "hdr", "main", 1);
            let r = sluice(&dir, &["run", "-s", "t", "inc"]);
            assert_eq!(r.code, 0, "{name}: {}{}", r.stdout, r.stderr);
            // The incremental run builds the new rows in a temporary table: the header again.
            let r = sluice(&dir, &["run", "-s", "t", "inc"]);
            assert_eq!(r.code, 0, "{name}: {}{}", r.stdout, r.stderr);
            let q = |sql: &str| engine.scalar(&dir, "hdr", sql);
            assert_eq!(q("select answer from main.t"), "42", "{name}");
            assert_eq!(q("select sum(answer) from main.inc"), "84", "{name}");
            // What ran, as dbt writes it under target/run: the header, then the `create`.
            let ran = std::fs::read_to_string(dir.join("target/run/hdr/models/t.sql"))
                .expect("target/run");
            assert!(
                ran.trim_start()
                    .starts_with("create or replace temporary view hdr_t"),
                "{name}: {ran}"
            );
        },
    );
}

#[test]
fn sample_mode_limits_parents_with_an_event_time_to_the_window() {
    let (_tmp, dir) = duckdb_project(
        "smp",
        "",
        &[
            (
                "models/input_model.sql",
                "{{ config(materialized='table', event_time='event_time') }}\nselect 1 as id, TIMESTAMP '2025-01-01 01:25:00' as event_time\nunion all\nselect 2 as id, TIMESTAMP '2025-01-02 13:47:00' as event_time\nunion all\nselect 3 as id, TIMESTAMP '2025-01-03 01:32:00' as event_time\n",
            ),
            (
                "models/recent.sql",
                "{{ config(materialized='table', event_time='loaded_at') }}\nselect 1 as id, now()::timestamp - interval 2 hour as loaded_at\nunion all\nselect 2 as id, now()::timestamp - interval 3 day as loaded_at\n",
            ),
            ("models/sampled.sql", "select * from {{ ref('input_model') }}\n"),
            ("models/sampled_recent.sql", "select * from {{ ref('recent') }}\n"),
            // No event_time on its parent: never sampled.
            ("models/whole.sql", "select * from {{ ref('sampled') }}\n"),
            (
                "models/batched.sql",
                "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='event_time', batch_size='day', begin='2025-01-01') }}\nselect * from {{ ref('input_model') }}\n",
            ),
        ],
    );
    let count = |table: &str| -> i64 {
        let conn = duckdb::Connection::open(dir.join("smp.duckdb")).unwrap();
        conn.query_row(&format!("select count(*) from main.{table}"), [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let r = sluice(&dir, &["run", "--exclude", "batched"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!((count("sampled"), count("sampled_recent")), (3, 2));
    // An explicit window: the SQL and the rows real dbt-duckdb 1.10 gives for the same flag.
    let window = "{start: '2025-01-02 02:03:00', end: '2025-01-03 02:03:00'}";
    let r = sluice(&dir, &["run", "-s", "sampled", "whole", "--sample", window]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!((count("sampled"), count("whole")), (2, 2));
    let ran = std::fs::read_to_string(dir.join("target/run/smp/models/sampled.sql")).unwrap();
    assert!(
        ran.contains("(select * from \"smp\".\"main\".\"input_model\" where event_time >= '2025-01-02 02:03:00+00:00' and event_time < '2025-01-03 02:03:00+00:00')"),
        "{ran}"
    );
    // A microbatch model reads each batch's window narrowed to the sample's: 2025-01-01 reads
    // nothing, 01-02 from 02:03 (row 2), 01-03 until 02:03 (row 3).
    let r = sluice_with_env(
        &dir,
        &["run", "-s", "batched", "--sample", window],
        &[("SLUICE_MICROBATCH_END_TIME", "2025-01-03 12:00:00")],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let conn = duckdb::Connection::open(dir.join("smp.duckdb")).unwrap();
    let ids: String = conn
        .query_row(
            "select string_agg(id::varchar, ',' order by id) from main.batched",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    assert_eq!(ids, "2,3");

    // A window back from now (DBT_SAMPLE too).
    let r = sluice_with_env(
        &dir,
        &["run", "-s", "sampled_recent"],
        &[("DBT_SAMPLE", "1 day")],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(count("sampled_recent"), 1);
    // A window that does not read is the flag's error, before anything runs.
    let r = sluice(
        &dir,
        &["run", "-s", "sampled_recent", "--sample", "three days"],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        (r.stdout.clone() + &r.stderr).contains("Unable to convert 'three' to an integer"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(count("sampled_recent"), 1);
}

/// Which naming macro names a relation, as dbt picks it: the root project's
/// `default__generate_schema_name` is what dbt's own `generate_schema_name` dispatches to; a
/// package's `generate_alias_name` names that package's nodes only. (Real dbt 1.10 gives `x`,
/// `a` and `main`, `pk_b` for this project, and the hooks' indexes and macros below.)
#[test]
fn naming_macros_overridden_through_dispatch_or_by_a_package() {
    let (_tmp, dir) = duckdb_project(
        "nm",
        "models:\n  nm:\n    +schema: x\non-run-start:\n  - \"select 1\"\n  - \"select 2\"\n",
        &[
            ("models/a.sql", "select 1 as id\n"),
            (
                "macros/names.sql",
                "{% macro default__generate_schema_name(custom_schema_name, node) -%}\n{{ custom_schema_name if custom_schema_name is not none else target.schema }}\n{%- endmacro %}\n",
            ),
            ("packages.yml", "packages:\n  - local: dbt_packages/pk\n"),
            (
                "dbt_packages/pk/dbt_project.yml",
                "name: pk\nversion: \"2.1.0\"\nconfig-version: 2\non-run-start: \"{{ pk_hook() }}\"\n",
            ),
            (
                "dbt_packages/pk/macros/hook.sql",
                "{% macro pk_hook() %}select 3{% endmacro %}\n",
            ),
            ("dbt_packages/pk/models/b.sql", "select 2 as id\n"),
            ("dbt_packages/pk/seeds/s.csv", "id\n1\n"),
            (
                "dbt_packages/pk/models/u.yml",
                "version: 2\nunit_tests:\n  - name: t\n    model: b\n    overrides:\n      vars: {x: 1}\n    given: []\n    expect:\n      rows:\n        - {id: 2}\n",
            ),
            (
                "dbt_packages/pk/macros/alias.sql",
                "{% macro generate_alias_name(custom_alias_name=none, node=none) -%}\npk_{{ node.name }}\n{%- endmacro %}\n",
            ),
        ],
    );
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let m = manifest(&dir);
    let a = &m["nodes"]["model.nm.a"];
    assert_eq!((&a["schema"], &a["alias"]), (&"x".into(), &"a".into()));
    let b = &m["nodes"]["model.pk.b"];
    assert_eq!(
        (&b["schema"], &b["alias"]),
        (&"main".into(), &"pk_b".into())
    );
    assert_eq!(b["relation_name"], "\"nm\".\"main\".\"pk_b\"");
    // Hooks are numbered within their project from 0, and list the macros they call.
    let op = |id: &str| &m["nodes"][id];
    assert_eq!(op("operation.nm.nm-on-run-start-1")["index"], 1);
    let pk_hook = op("operation.pk.pk-on-run-start-0");
    assert_eq!(pk_hook["index"], 0);
    assert_eq!(
        pk_hook["depends_on"]["macros"],
        serde_json::json!(["macro.pk.pk_hook"])
    );
    // A package's unit tests are listed, with their model's schema and every kind of override.
    let u = &m["unit_tests"]["unit_test.pk.b.t"];
    assert_eq!(u["schema"], "main");
    assert_eq!(
        u["overrides"],
        serde_json::json!({"macros": {}, "vars": {"x": 1}, "env_vars": {}})
    );
    assert_eq!(u["depends_on"]["nodes"], serde_json::json!(["model.pk.b"]));
    // A package's seed's `root_path` is its package's folder.
    let root = m["nodes"]["seed.pk.s"]["root_path"].as_str().unwrap();
    assert!(root.ends_with("dbt_packages/pk"), "{root}");
}
