//! One fixture project exercising the compile features: vars (CLI > package > global), config
//! layers (project tree with `+`/bare keys, YAML `config:`, `config()`), custom schema and alias,
//! ephemeral CTEs, macros, sources with identifiers, docs blocks, selection, incremental models,
//! `env_var` in profiles.

use crate::support::{copy_project, duckdb_project, repo, sluice};

fn features() -> (tempfile::TempDir, std::path::PathBuf) {
    copy_project(&repo().join("tests/fixtures/features"))
}

/// stdout without the `HH:MM:SS  ` log lines.
fn sql_only(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| !l.contains("  Compiled node"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ls(dir: &std::path::Path, args: &[&str]) -> Vec<String> {
    let mut a = vec!["ls", "-o", "name"];
    a.extend_from_slice(args);
    let r = sluice(dir, &a);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.lines().map(str::to_string).collect()
}

/// `sluice show --inline SQL --output json` in `dir`.
fn show_json(dir: &std::path::Path, sql: &str) -> crate::support::Run {
    sluice(dir, &["show", "--inline", sql, "--output", "json"])
}

#[test]
fn ephemeral_cte_macro_and_vars_compile_as_dbt_would() {
    let (_tmp, dir) = features();
    let r = sluice(&dir, &["compile", "-s", "big_eu_orders"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(sql_only(&r.stdout));
    let r = sluice(
        &dir,
        &[
            "compile",
            "-s",
            "big_eu_orders",
            "--vars",
            "{min_amount: 100, region: US}",
        ],
    );
    assert!(
        r.stdout.contains("amount >= 100") && r.stdout.contains("region = 'US'"),
        "CLI vars win: {}",
        r.stdout
    );
    let r = sluice(&dir, &["compile", "-s", "stg_orders"]);
    assert!(
        r.stdout
            .contains("round(amount_cents / 100.0, 2) as amount"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("from \"feat\".\"main\".\"raw_orders\""),
        "{}",
        r.stdout
    );
}

#[test]
fn configs_layer_like_dbt() {
    let (_tmp, dir) = features();
    assert_eq!(sluice(&dir, &["parse"]).code, 0);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("target/manifest.json")).unwrap())
            .unwrap();
    let n = &m["nodes"]["model.feat.big_eu_orders"];
    assert_eq!(
        n["config"]["materialized"], "table",
        "bare key in the project tree"
    );
    assert_eq!(
        n["schema"], "main_analytics",
        "+schema through generate_schema_name"
    );
    assert_eq!(n["alias"], "large_eu_orders", "config() in the file");
    assert_eq!(
        n["tags"],
        serde_json::json!(["nightly", "finance"]),
        "project tags then YAML config tags"
    );
    assert_eq!(
        n["description"],
        "EU orders of at least `min_amount` dollars."
    );
    assert_eq!(
        n["relation_name"],
        "\"feat\".\"main_analytics\".\"large_eu_orders\""
    );
    assert_eq!(
        m["nodes"]["model.feat.eu_orders"]["config"]["materialized"],
        "ephemeral"
    );
    assert_eq!(
        m["nodes"]["model.feat.eu_orders"]["relation_name"],
        serde_json::Value::Null
    );
    assert_eq!(
        m["nodes"]["model.feat.orders_from_source"]["depends_on"]["nodes"],
        serde_json::json!(["source.feat.shop.orders", "model.feat.stg_orders"]),
        "sources first, then refs, as dbt 1.10's parse lists them (process_sources runs first)"
    );
    assert_eq!(
        m["sources"]["source.feat.shop.orders"]["relation_name"],
        "\"feat\".\"main\".\"raw_orders\""
    );
}

#[test]
fn selection_methods_and_graph_operators() {
    let (_tmp, dir) = features();
    assert_eq!(
        ls(&dir, &["-s", "tag:finance", "--resource-type", "model"]),
        ["big_eu_orders"]
    );
    assert_eq!(
        ls(&dir, &["-s", "tag:nightly", "--resource-type", "model"]),
        ["big_eu_orders", "orders_incremental"]
    );
    assert_eq!(
        ls(
            &dir,
            &["-s", "+eu_orders", "--resource-type", "model", "seed"]
        ),
        // dbt prints nodes in unique-id order (models before seeds).
        ["eu_orders", "stg_orders", "raw_orders"]
    );
    assert_eq!(
        ls(&dir, &["-s", "config.materialized:incremental"]),
        ["orders_incremental", "unique_orders_incremental_order_id"]
    );
    assert_eq!(
        ls(&dir, &["-s", "test_type:generic,big_eu_orders"]),
        [
            "accepted_values_big_eu_orders_order_id__False__1__3",
            "not_null_big_eu_orders_order_id",
            "unique_big_eu_orders_order_id"
        ]
    );
    assert_eq!(
        ls(
            &dir,
            &[
                "-s",
                "source:shop+",
                "--exclude",
                "tag:nightly",
                "--resource-type",
                "model"
            ]
        ),
        ["orders_from_source"]
    );
}

#[test]
fn builds_then_takes_the_incremental_path() {
    let (_tmp, dir) = features();
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ERROR=0 SKIP=0"), "{}", r.stdout);
    let compiled = dir.join("target/compiled/feat/models/marts/orders_incremental.sql");
    assert!(
        !std::fs::read_to_string(&compiled)
            .unwrap()
            .contains("max(order_id)"),
        "first run is a full build"
    );
    let r = sluice(&dir, &["build", "-s", "orders_incremental"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        std::fs::read_to_string(&compiled)
            .unwrap()
            .contains("max(order_id)"),
        "second run is incremental"
    );
    let r = sluice(
        &dir,
        &[
            "show",
            "--inline",
            "select count(*) as n from {{ ref('orders_incremental') }}",
        ],
    );
    assert!(r.stdout.contains("| 3 |"), "{}", r.stdout);
}

#[test]
fn env_var_in_profile_names_the_database() {
    let (_tmp, dir) = features();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["compile", "-s", "stg_orders"])
        .current_dir(&dir)
        .env("FEAT_DB", "warehouse.duckdb")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\"warehouse\".\"main\".\"raw_orders\""),
        "{stdout}"
    );
}

/// `on-run-start` / `on-run-end` hooks run around the nodes, and the summary line counts what ran
/// the way dbt 1.10 does: kinds in name order, `<materialization> model`, `1 test` but
/// `2 data tests`, each hook a `project hook`.
#[test]
fn hooks_run_and_the_summary_counts_like_dbt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hooks");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::create_dir_all(dir.join("seeds")).unwrap();
    let files = [
        (
            "dbt_project.yml",
            "name: hooks\nprofile: hooks\n\
             on-run-start:\n  - \"create table if not exists {{ target.schema }}.audit (phase varchar)\"\n\
             on-run-end:\n  - \"insert into {{ target.schema }}.audit values ('end')\"\n",
        ),
        (
            "profiles.yml",
            "hooks:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: \"hooks.duckdb\"\n      threads: 1\n",
        ),
        ("seeds/people.csv", "id,name\n1,ada\n2,grace\n"),
        ("models/v1.sql", "select * from {{ ref('people') }}"),
        ("models/v2.sql", "select id from {{ ref('v1') }}"),
        (
            "models/t1.sql",
            "{{ config(materialized='table') }} select count(*) as n from {{ ref('v2') }}",
        ),
        (
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: v1\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n  - name: t1\n    columns:\n      - name: n\n        data_tests: [not_null]\n",
        ),
    ];
    for (path, text) in files {
        std::fs::write(dir.join(path), text).unwrap();
    }
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let line = r
        .stdout
        .lines()
        .find_map(|l| l.split_once("Finished running ").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no summary line in\n{}", r.stdout));
    let (counts, time) = line.split_once(" in 0 hours 0 minutes and ").unwrap();
    assert_eq!(
        counts,
        "2 project hooks, 1 seed, 1 table model, 3 data tests, 2 view models"
    );
    assert!(time.ends_with("s)."), "{time}");
    for hook_line in [
        // As real dbt 1.10 prints them for this project (its macro count is its own).
        "Found 3 models, 1 seed, 2 operations, 3 data tests, ",
        "Concurrency: 1 threads (target='dev')",
        "1 of 1 START hook: hooks.on-run-start.0 ...",
        "1 of 1 OK hook: hooks.on-run-start.0 ...",
        "1 of 1 OK hook: hooks.on-run-end.0 ...",
        "Done. PASS=9 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=9",
    ] {
        assert!(r.stdout.contains(hook_line), "{hook_line}: {}", r.stdout);
    }
    let r = sluice(&dir, &["test", "-s", "t1"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Finished running 2 project hooks, 1 test in "),
        "{}",
        r.stdout
    );
    // Both hooks ran, around each of the two invocations.
    let conn = duckdb::Connection::open(dir.join("hooks.duckdb")).unwrap();
    let ends: i64 = conn
        .query_row(
            "select count(*) from main.audit where phase = 'end'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ends, 2);
}

/// In `build`, a model waits for the data tests of the models it is built from, as in dbt: when
/// such a test fails, the model is skipped instead of built from bad data, even with free
/// threads (here the failing test is slow and the downstream model instant; before the wait was
/// added, four threads ran them side by side and built the model).
#[test]
fn build_waits_for_upstream_tests_and_skips_below_a_failing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("gate");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    let files = [
        ("dbt_project.yml", "name: gate\nprofile: gate\n"),
        (
            "profiles.yml",
            "gate:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: \"gate.duckdb\"\n      threads: 4\n",
        ),
        ("models/base.sql", "select 1 as id union all select 1"),
        ("models/other.sql", "select 1 as id"),
        ("models/below.sql", "select id from {{ ref('base') }}"),
        ("models/beside.sql", "select id from {{ ref('other') }}"),
        (
            "models/schema.yml",
            "version: 2\nmodels:\n  - name: base\n    columns:\n      - name: id\n        data_tests: [unique]\n",
        ),
        // Slow, and failing: a duplicate id.
        (
            "tests/slow_duplicates.sql",
            "select id from {{ ref('base') }} where (select count(*) from range(30000000)) > 0 \
             group by id having count(*) > 1",
        ),
    ];
    for (path, text) in files {
        std::fs::write(dir.join(path), text).unwrap();
    }
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let line = |needle: &str| {
        r.stdout
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in\n{}", r.stdout))
            .to_string()
    };
    assert!(line("main.below").contains("SKIP"), "{}", r.stdout);
    // A model below other, untested models is built.
    assert!(line("OK created sql view model main.beside").contains("OK"));
    assert!(r.stdout.contains("ERROR=2 SKIP=1"), "{}", r.stdout);
    // dbt's end-of-run block: each failure with its file, message and compiled file.
    let end = r.stdout.split("Finished running").nth(1).unwrap();
    for expected in [
        "Completed with 2 errors, 0 partial successes, and 0 warnings:",
        "Failure in test unique_base_id (models/schema.yml)",
        "  Got 1 result, configured to fail if != 0",
        "  compiled code at target/compiled/gate/models/schema.yml/unique_base_id.sql",
        "Failure in test slow_duplicates (tests/slow_duplicates.sql)",
    ] {
        assert!(end.contains(expected), "{expected}: {end}");
    }
    let conn = duckdb::Connection::open(dir.join("gate.duckdb")).unwrap();
    let built: i64 = conn
        .query_row(
            "select count(*) from information_schema.tables where table_name = 'below'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(built, 0, "the model below the failing tests was built");
}

/// `show --inline` and `compile --inline` put the CTEs of the ephemeral models the query reads
/// (and of the ephemeral models those read) in front, as for a node; `show --limit -1` shows
/// every row, as in dbt.
#[test]
fn inline_queries_read_ephemeral_models_and_show_every_row_with_limit_minus_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("inl");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    let files = [
        ("dbt_project.yml", "name: inl\nprofile: inl\n"),
        (
            "profiles.yml",
            "inl:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: \"inl.duckdb\"\n      threads: 1\n",
        ),
        (
            "models/base.sql",
            "{{ config(materialized='table') }} select range as i from range(7)",
        ),
        (
            "models/eph.sql",
            "{{ config(materialized='ephemeral') }} select i + 10 as x from {{ ref('base') }}",
        ),
        (
            "models/eph2.sql",
            "{{ config(materialized='ephemeral') }} select x * 2 as y from {{ ref('eph') }}",
        ),
    ];
    for (path, text) in files {
        std::fs::write(dir.join(path), text).unwrap();
    }
    let r = sluice(&dir, &["run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let query = "select y from {{ ref('eph2') }} order by y";
    let rows = |extra: &[&str]| {
        let mut args = vec!["show", "--inline", query, "--output", "json"];
        args.extend_from_slice(extra);
        let r = sluice(&dir, &args);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
        v["show"].as_array().unwrap().clone()
    };
    let five = rows(&[]);
    assert_eq!(five.len(), 5);
    assert_eq!(five[0]["y"], serde_json::json!(20));
    assert_eq!(rows(&["--limit", "-1"]).len(), 7);
    assert_eq!(rows(&["--limit", "3"]).len(), 3);
    // As dbt: run_results.json holds the query that ran, the limit appended to it...
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(results["args"]["limit"], 3);
    let only = &results["results"][0];
    assert_eq!(only["unique_id"], "sql_operation.inl.inline_query");
    assert!(
        only["compiled_code"]
            .as_str()
            .unwrap()
            .ends_with("order by y\nlimit 3"),
        "{only}"
    );
    // ... so a query with a limit of its own is an error, and a model's `set_sql_header` goes
    // in front of it.
    let r = sluice(
        &dir,
        &["show", "--inline", "select 1 limit 1", "--limit", "1"],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    std::fs::write(
        dir.join("models/headed.sql"),
        "{% call set_sql_header(config) %}with v as (select 42 as answer){%- endcall %}\n\
         select answer from v",
    )
    .unwrap();
    let r = sluice(&dir, &["show", "-s", "headed", "--output", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("\"answer\": 42"), "{}", r.stdout);
    let r = sluice(&dir, &["compile", "--inline", query]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let eph = r.stdout.find("__dbt__cte__eph as (").expect("eph's CTE");
    let eph2 = r.stdout.find("__dbt__cte__eph2 as (").expect("eph2's CTE");
    assert!(
        eph < eph2,
        "a CTE comes after the ones it reads: {}",
        r.stdout
    );
}

/// Stored test failures as dbt keeps them: `store_failures_as: view` keeps a view, `table` a
/// table holding at most the test's `limit` rows (the rows it counts), `ephemeral` nothing; the
/// manifest names the relation of each test that stores; and `target/run/` holds the statement
/// that built each model, as dbt writes it.
#[test]
fn stored_failures_and_run_files_as_dbt_keeps_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::write(
        dir.join("dbt_project.yml"),
        "name: p\nversion: '1'\nprofile: p\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("profiles.yml"),
        "p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: p.duckdb, threads: 1}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("models/people.sql"),
        "{{ config(materialized='table') }} select * from range(9) t(id)",
    )
    .unwrap();
    let test = |limit: &str, store: &str| {
        format!("          - accepted_values:\n              values: [100]\n              config: {{store_failures_as: {store}{limit}}}\n")
    };
    std::fs::write(
        dir.join("models/props.yml"),
        format!(
            "version: 2\nmodels:\n  - name: people\n    columns:\n      - name: id\n        data_tests:\n{}{}{}",
            test(", limit: 4", "table"),
            test("", "view").replace("[100]", "[101]"),
            test("", "ephemeral").replace("[100]", "[102]"),
        ),
    )
    .unwrap();
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("target/manifest.json")).unwrap())
            .unwrap();
    let relation_of = |value: &str| {
        let (_, node) = manifest["nodes"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(id, _)| id.starts_with("test.") && id.contains(&format!("_{value}")))
            .unwrap_or_else(|| panic!("no test for {value}"));
        node["relation_name"].clone()
    };
    assert_eq!(
        relation_of("100"),
        "\"p\".\"main_dbt_test__audit\".\"accepted_values_people_id__100\""
    );
    assert!(relation_of("101").is_string());
    assert!(relation_of("102").is_null());
    drop(manifest);
    let conn = duckdb::Connection::open(dir.join("p.duckdb")).unwrap();
    let kinds: Vec<(String, String)> = conn
        .prepare(
            "select table_name, table_type from information_schema.tables \
             where table_schema = 'main_dbt_test__audit' order by 1",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        kinds,
        [
            (
                "accepted_values_people_id__100".to_string(),
                "BASE TABLE".to_string()
            ),
            (
                "accepted_values_people_id__101".to_string(),
                "VIEW".to_string()
            ),
        ]
    );
    let stored: i64 = conn
        .query_row(
            "select count(*) from main_dbt_test__audit.accepted_values_people_id__100",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 4, "the stored rows are the `limit` the test counts");
    let run_file = std::fs::read_to_string(dir.join("target/run/p/models/people.sql")).unwrap();
    assert!(
        run_file.starts_with("create table \"p\".\"main\".\"people__dbt_tmp\"")
            && run_file.trim_end().ends_with(");"),
        "{run_file}"
    );
}

/// Project hooks render with the run's connection (a macro may `run_query`); a failing query
/// is a database error; a seed hook that calls `ref` and a `config()` naming both `pre_hook`
/// and `pre-hook` are refused at parse time, as dbt refuses them.
#[test]
fn hooks_query_the_warehouse_and_bad_hooks_are_refused_at_parse() {
    let hooks = "on-run-start:\n  - \"{{ remember() }}\"\n";
    let project = format!("name: hk\nprofile: hk\n{hooks}");
    let (_tmp, dir) = duckdb_project(
        "hk",
        hooks,
        &[
        (
            "macros/remember.sql",
            "{% macro remember() %}{% set n = run_query('select 41 + 1 as n').columns[0].values()[0] %}\
             create or replace table hook_saw as select {{ n }} as n{% endmacro %}",
        ),
        ("models/m.sql", "select 1 as x"),
        ("seeds/s.csv", "a\n1\n"),
        ],
    );
    let r = sluice(&dir, &["run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = show_json(&dir, "select n from hook_saw");
    assert!(r.stdout.contains("\"n\": 42"), "{}{}", r.stdout, r.stderr);

    std::fs::write(
        dir.join("macros/remember.sql"),
        "{% macro remember() %}{% do run_query('select nope from nowhere') %}{% endmacro %}",
    )
    .unwrap();
    let r = sluice(&dir, &["run"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Database Error"), "{}", r.stderr);

    std::fs::write(
        dir.join("dbt_project.yml"),
        format!("{project}seeds:\n  +post-hook: \"select * from {{{{ ref('m') }}}}\"\n"),
    )
    .unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("Seeds cannot depend on other nodes"),
        "{}",
        r.stderr
    );

    std::fs::write(dir.join("dbt_project.yml"), &project).unwrap();
    std::fs::write(
        dir.join("models/m.sql"),
        "{{ config({'pre_hook': 'select 1', 'pre-hook': 'select 2'}) }} select 1 as x",
    )
    .unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("Got duplicate keys: (pre_hook, pre-hook)"),
        "{}",
        r.stderr
    );
}

/// `--empty` builds every model with its refs, sources and ephemeral parents as zero-row
/// subqueries (the tables keep their columns), and `seed --empty` creates each seed's table,
/// typed from its file, without rows; as dbt does.
#[test]
fn empty_builds_relations_without_rows() {
    let (_tmp, dir) = duckdb_project(
        "em",
        "models:\n  em:\n    +materialized: table\n",
        &[
            ("seeds/raw.csv", "id,amount\n3,1.5\n"),
            (
                "models/sources.yml",
                "sources:\n  - name: src\n    schema: main\n    tables:\n      - name: raw\n",
            ),
            ("models/one.sql", "select 1 as id, 2.5 as amount"),
            (
                "models/eph.sql",
                "{{ config(materialized='ephemeral') }} select 2 as id, 0.5 as amount",
            ),
            (
                "models/all_rows.sql",
                "select * from {{ ref('one') }} union all select * from {{ ref('eph') }} \
             union all select * from {{ source('src', 'raw') }}",
            ),
        ],
    );
    let count = |dir: &std::path::Path, rel: &str| -> String {
        let r = show_json(dir, &format!("select count(*) as n from {rel}"));
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        r.stdout
    };
    // The source is the seed's table: load it first.
    for cmd in ["seed", "run"] {
        let r = sluice(&dir, &[cmd]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    }
    assert!(count(&dir, "all_rows").contains("\"n\": 3"));
    let r = sluice(&dir, &["run", "--empty", "-s", "all_rows"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(count(&dir, "all_rows").contains("\"n\": 0"));
    let compiled =
        std::fs::read_to_string(dir.join("target/compiled/em/models/all_rows.sql")).unwrap();
    assert!(
        compiled.contains("(select * from \"em\".\"main\".\"one\" where false limit 0)")
            && compiled.contains("(select * from __dbt__cte__eph where false limit 0)"),
        "{compiled}"
    );
    let r = sluice(&dir, &["seed", "--empty", "--full-refresh"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(count(&dir, "raw").contains("\"n\": 0"));
    let r = show_json(
        &dir,
        "select typeof(amount) as t from (select * from raw union all select null, 1.5)",
    );
    assert!(
        r.stdout.contains("DECIMAL") || r.stdout.contains("DOUBLE"),
        "{}",
        r.stdout
    );
}

/// An enforced contract builds the table from the contract's columns, types and constraints,
/// fills it from the query in the contract's column order, and lets the warehouse enforce the
/// constraints: a row that breaks one fails the model and keeps the old table.
#[test]
fn enforced_contracts_create_constrained_tables() {
    let (_tmp, dir) = duckdb_project(
        "ct",
        "models:\n  ct:\n    +materialized: table\n",
        &[
        ("models/parent.sql", "select 1 as id"),
        ("models/child.sql", "-- depends_on: {{ ref('parent') }}\nselect 'blue' as color, {{ var('id', 1) }} as id"),
        (
            "models/schema.yml",
            "models:\n  - name: parent\n    config: {contract: {enforced: true}}\n    columns:\n      - name: id\n        data_type: integer\n        constraints: [{type: primary_key}]\n  - name: child\n    config: {contract: {enforced: true}}\n    columns:\n      - name: id\n        data_type: integer\n        constraints:\n          - type: not_null\n          - type: check\n            expression: (id > 0)\n          - type: foreign_key\n            to: ref('parent')\n            to_columns: [id]\n      - name: color\n        data_type: text\n    constraints:\n      - type: unique\n        name: one_colour\n        columns: [color]\n",
        ),
        ],
    );
    let r = sluice(&dir, &["run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let run_file = std::fs::read_to_string(dir.join("target/run/ct/models/child.sql")).unwrap();
    assert!(
        run_file.contains(
            "id integer not null check ((id > 0)) references \"main\".\"parent\" (id),\n    color text,\n    constraint one_colour unique (color)"
        ) && run_file.contains("select\n       id,\n       color\n       from"),
        "{run_file}"
    );
    let r = show_json(&dir, "select * from child");
    assert!(r.stdout.contains("\"id\": 1"), "{}", r.stdout);
    // A row the check refuses: the model fails, and the table keeps its row.
    let r = sluice(&dir, &["run", "-s", "child", "--vars", "{id: -1}"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("Constraint Error") || r.stdout.contains("CHECK"),
        "{}",
        r.stdout
    );
    let r = show_json(&dir, "select * from child");
    assert!(r.stdout.contains("\"id\": 1"), "{}", r.stdout);
}

/// A model whose file holds only whitespace is parsed (counted, listed by `ls`) but never run,
/// compiled or built, as dbt leaves out empty nodes; the models after it still run.
#[test]
fn blank_models_are_listed_but_never_run() {
    let (_tmp, dir) = duckdb_project(
        "proj",
        "",
        &[
            ("models/blank.sql", "  \n\n"),
            ("models/kept.sql", "select 1 as id"),
        ],
    );
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Found 2 models"), "{}", r.stdout);
    assert!(r.stdout.contains("PASS=1 "), "{}", r.stdout);
    assert!(!r.stdout.contains("blank"), "{}", r.stdout);
    let r = sluice(&dir, &["ls", "--resource-type", "model"]);
    assert_eq!(
        r.stdout.lines().collect::<Vec<_>>(),
        ["proj.blank", "proj.kept"]
    );
    let r = sluice(&dir, &["run", "-s", "blank"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("TOTAL=0"), "{}", r.stdout);
    assert!(!r.stdout.contains("does not match"), "{}", r.stdout);
}

/// The `indexes` config on DuckDB, as dbt-duckdb has it: made on a table, an incremental
/// model's first build and a seed's table (no `using`: every DuckDB index is an ART). DuckDB
/// refuses to rename a table that has indexes, so a rebuild drops the old table's indexes in the
/// swap's transaction; the rebuilt table gets its own.
#[test]
fn indexes_on_duckdb_survive_rebuilds() {
    let (_tmp, dir) = duckdb_project(
        "ix",
        "seeds:\n  ix:\n    +indexes: [{columns: [id]}]\n",
        &[
            (
                "models/t.sql",
                "{{ config(materialized='table', indexes=[{'columns': ['id'], 'unique': true}, {'columns': ['name'], 'type': 'hash'}]) }} select 1 as id, 'a' as name",
            ),
            (
                "models/inc.sql",
                "{{ config(materialized='incremental', indexes=[{'columns': ['id']}]) }} select 1 as id",
            ),
            ("seeds/s.csv", "id,name\n1,a\n"),
        ],
    );
    let count = |table: &str| -> i64 {
        let conn = duckdb::Connection::open(dir.join("ix.duckdb")).unwrap();
        conn.query_row(
            &format!("select count(*) from duckdb_indexes() where table_name = '{table}'"),
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    for round in 0..3 {
        let args: &[&str] = if round == 2 {
            &["build", "--full-refresh"]
        } else {
            &["build"]
        };
        let r = sluice(&dir, args);
        assert_eq!(r.code, 0, "round {round}: {}{}", r.stdout, r.stderr);
        assert_eq!(count("t"), 2, "round {round}");
        assert_eq!(count("inc"), 1, "round {round}");
        assert_eq!(count("s"), 1, "round {round}");
    }
}
