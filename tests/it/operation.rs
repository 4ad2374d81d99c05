//! `sluice run-operation`: a macro run against a real DuckDB file (tables it creates are read by
//! models afterwards), `--args`, package macros, the execute context, and how failures end
//! (exit 1 with the macro's error; exit 2 for an unknown macro or bad `--args`). The fixture's
//! outcomes are the ones real dbt 1.10 + dbt-duckdb gives on it.

use std::path::Path;

use serde_json::Value;

use crate::pg_server::on_both_engines;
use crate::support::{copy_project, repo, sluice, Run};

/// A copy of the fixture with its local package installed.
fn project() -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, dir) = copy_project(&repo().join("tests/fixtures/operation"));
    ok(&sluice(&dir, &["deps"]));
    (tmp, dir)
}

fn query(db: &Path, sql: &str) -> Vec<Vec<String>> {
    let conn = duckdb::Connection::open_with_flags(
        db,
        duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .unwrap(),
    )
    .expect("open db");
    let mut st = conn.prepare(sql).expect("prepare");
    let rows = st
        .query_map([], |r| {
            let n = r.as_ref().column_count();
            (0..n)
                .map(|i| r.get::<_, Option<String>>(i).map(Option::unwrap_or_default))
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    rows
}

fn tables(db: &Path) -> Vec<String> {
    query(
        db,
        "select table_schema || '.' || table_name from information_schema.tables order by 1",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect()
}

fn run_results(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("target/run_results.json")).unwrap())
        .unwrap()
}

fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
}

#[test]
fn an_operation_creates_the_table_a_model_then_reads() {
    let (_tmp, dir) = project();
    let r = sluice(
        &dir,
        &[
            "run-operation",
            "create_raw",
            "--args",
            "{rows: 4, label: hi}",
        ],
    );
    ok(&r);
    // `log(info=True)` is a log line; `print` is the bare text.
    assert!(
        r.stdout.contains(r#"created 4 rows in "ops"."ops_raw""#),
        "{}",
        r.stdout
    );
    assert!(r.stdout.lines().any(|l| l == "label is hi"), "{}", r.stdout);

    // run_results.json: one result for the macro, as dbt writes it.
    let rr = run_results(&dir);
    let results = rr["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let res = &results[0];
    assert_eq!(res["unique_id"], "macro.ops.create_raw");
    assert_eq!(res["status"], "success");
    assert_eq!(res["failures"], 0);
    assert_eq!(res["message"], Value::Null);
    assert_eq!(res["compiled"], false);
    assert_eq!(res["thread_id"], "MainThread");
    assert_eq!(res["adapter_response"], serde_json::json!({}));
    let timing: Vec<&str> = res["timing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(timing, ["compile", "execute"]);
    assert_eq!(rr["args"]["which"], "run-operation");
    assert_eq!(rr["args"]["macro"], "create_raw");
    assert_eq!(
        rr["args"]["args"],
        serde_json::json!({"rows": 4, "label": "hi"})
    );
    assert!(dir.join("target/manifest.json").is_file());

    // The table is there, committed, and a model reads it through its source.
    let r = sluice(&dir, &["run"]);
    ok(&r);
    assert_eq!(
        query(
            &dir.join("ops.duckdb"),
            "select id::varchar, label from main.from_raw order by id"
        ),
        [["1", "hi"], ["2", "hi"], ["3", "hi"], ["4", "hi"]]
    );
}

#[test]
fn default_arguments_and_no_print() {
    let (_tmp, dir) = project();
    let r = sluice(&dir, &["run-operation", "create_raw", "--no-print"]);
    ok(&r);
    assert!(!r.stdout.contains("label is"), "{}", r.stdout);
    assert!(r.stdout.contains("created 2 rows"), "{}", r.stdout);
    assert_eq!(
        query(
            &dir.join("ops.duckdb"),
            "select label, count(*)::varchar from ops_raw.events group by label"
        ),
        [["plain", "2"]]
    );
}

#[test]
fn the_macro_sees_the_execute_context_and_vars() {
    let (_tmp, dir) = project();
    let r = sluice(
        &dir,
        &[
            "run-operation",
            "describe_context",
            "--vars",
            "{greeting: bonjour}",
        ],
    );
    ok(&r);
    assert!(
        r.stdout
            .contains("execute=True which=run-operation greeting=bonjour"),
        "{}",
        r.stdout
    );
    // Any model by `ref`, and sources, resolve to their relations.
    assert!(
        r.stdout
            .contains(r#"ref="ops"."main"."from_raw" source="ops"."ops_raw"."events""#),
        "{}",
        r.stdout
    );
}

#[test]
fn a_package_macro_runs_by_its_full_and_its_bare_name() {
    let (_tmp, dir) = project();
    let r = sluice(
        &dir,
        &["run-operation", "op_tools.stamp", "--args", "{name: t1}"],
    );
    ok(&r);
    assert!(r.stdout.contains("stamped t1"), "{}", r.stdout);
    assert_eq!(
        run_results(&dir)["results"][0]["unique_id"],
        "macro.op_tools.stamp"
    );
    // A bare name is found in installed packages too, as dbt finds it.
    ok(&sluice(
        &dir,
        &["run-operation", "stamp", "--args", "{name: t2}"],
    ));
    let db = dir.join("ops.duckdb");
    // The package's macro sees the package's vars.
    assert_eq!(
        query(
            &db,
            "select prefix from main.t1 union all select prefix from main.t2"
        ),
        [["tool"], ["tool"]]
    );
}

#[test]
fn a_failing_macro_exits_1_with_its_error_and_an_error_result() {
    let (_tmp, dir) = project();
    let r = sluice(&dir, &["run-operation", "boom"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("the operation went boom") && r.stderr.contains("macros/ops.sql:23"),
        "{}",
        r.stderr
    );
    let res = &run_results(&dir)["results"][0];
    assert_eq!(res["unique_id"], "macro.ops.boom");
    assert_eq!(res["status"], "error");
    assert_eq!(res["failures"], 1);

    // A failing query: as with dbt-duckdb, what ran before the failure stays.
    let r = sluice(&dir, &["run-operation", "half_then_fail"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no_such_table"), "{}", r.stderr);
    assert!(
        tables(&dir.join("ops.duckdb")).contains(&"main.half_done".to_string()),
        "{:?}",
        tables(&dir.join("ops.duckdb"))
    );

    // An argument the macro does not take is the macro's failure too, as in dbt.
    let r = sluice(&dir, &["run-operation", "boom", "--args", "{loud: true}"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("loud"), "{}", r.stderr);
}

#[test]
fn an_unknown_macro_exits_2_with_a_hint_and_keeps_the_last_results() {
    let (_tmp, dir) = project();
    ok(&sluice(&dir, &["run-operation", "describe_context"]));
    let r = sluice(&dir, &["run-operation", "create_rwa"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("no macro named `create_rwa` in any package")
            && r.stderr.contains("did you mean `create_raw`?"),
        "{}",
        r.stderr
    );
    // As dbt, run_results.json is not rewritten.
    assert_eq!(
        run_results(&dir)["results"][0]["unique_id"],
        "macro.ops.describe_context"
    );
    let r = sluice(&dir, &["run-operation", "nowhere.create_raw"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("in package `nowhere` (no such package is installed)"),
        "{}",
        r.stderr
    );
}

#[test]
fn args_that_are_not_a_yaml_mapping_exit_2() {
    let (_tmp, dir) = project();
    for bad in ["[1, 2]", "{rows: [1"] {
        let r = sluice(&dir, &["run-operation", "create_raw", "--args", bad]);
        assert_eq!(r.code, 2, "{bad}: {}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("--args") && r.stderr.contains("hint:"),
            "{}",
            r.stderr
        );
    }
    assert!(!dir.join("ops.duckdb").exists());
}

#[test]
fn postgres_commits_the_operation_and_rolls_a_failed_one_back() {
    on_both_engines("operation_transaction", |engine| {
        let (_tmp, dir) = project();
        engine.write_profile(&dir, "ops", "ops_main", 1);
        let r = sluice(
            &dir,
            &[
                "run-operation",
                "create_raw",
                "--args",
                "{rows: 3, label: pg}",
            ],
        );
        ok(&r);
        ok(&sluice(&dir, &["run"]));
        assert_eq!(
            engine.scalar(
                &dir,
                "ops",
                "select count(*) from ops_main.from_raw where label = 'pg'"
            ),
            "3",
            "{}",
            engine.name()
        );
        let r = sluice(&dir, &["run-operation", "half_then_fail"]);
        assert_eq!(r.code, 1, "{}: {}\n{}", engine.name(), r.stdout, r.stderr);
        let kept = engine.scalar(
            &dir,
            "ops",
            "select count(*) from information_schema.tables where table_name = 'half_done'",
        );
        // Postgres rolls the operation's transaction back; dbt-duckdb runs each statement on
        // its own, so the table created before the failure stays.
        let want = if engine.name() == "postgres" {
            "0"
        } else {
            "1"
        };
        assert_eq!(kept, want, "{}", engine.name());
    });
}

/// dbt's `drop_schema_named` macro (run as an operation) drops a schema with what is in it.
#[test]
fn drop_schema_named_drops_the_schema_and_its_relations() {
    let (_tmp, dir) = project();
    std::fs::write(
        dir.join("models/in_extra.sql"),
        "{{ config(schema='extra', materialized='table') }} select 1 as x",
    )
    .unwrap();
    ok(&sluice(&dir, &["run", "-s", "in_extra"]));
    let db = dir.join("ops.duckdb");
    assert!(tables(&db).contains(&"main_extra.in_extra".to_string()));
    ok(&sluice(
        &dir,
        &[
            "run-operation",
            "drop_schema_named",
            "--args",
            "{schema_name: main_extra}",
        ],
    ));
    assert!(!tables(&db).iter().any(|t| t.starts_with("main_extra.")));
    let schemas = query(
        &db,
        "select schema_name from information_schema.schemata where schema_name = 'main_extra'",
    );
    assert!(schemas.is_empty(), "{schemas:?}");
}
