//! Incremental `incremental_predicates` with `delete+insert` (one key and a composite key): after
//! two runs the tables equal what real dbt with dbt-duckdb built
//! (`tests/fixtures/incremental_predicates/expected/real_dbt.json`, from `expected/record.sh`).

use crate::packages::relation_facts;
use crate::support::{copy_project, repo, sluice};

#[test]
fn predicates_limit_what_delete_insert_replaces_as_in_dbt() {
    let fixture = repo().join("tests/fixtures/incremental_predicates");
    let (_tmp, dir) = copy_project(&fixture);
    for n in 1..=2 {
        let r = sluice(&dir, &["build", "--vars", &format!("{{stage: {n}}}")]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    }
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture.join("expected/real_dbt.json")).unwrap(),
    )
    .unwrap();
    let conn = duckdb::Connection::open_with_flags(
        dir.join("inc_preds.duckdb"),
        duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .unwrap(),
    )
    .expect("open db");
    for (rel, want) in expected["relations"].as_object().unwrap() {
        let (schema, name) = rel.split_once('.').unwrap();
        assert_eq!(&relation_facts(&conn, schema, name), want, "{rel}");
    }
    // What the predicates change, spelled out: row 1 (before 2024-01-02) kept its old version.
    let labels: Vec<String> = conn
        .prepare("select id || label from main.delete_insert order by id, label")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(labels, ["1A", "1a", "2B", "3c", "4d"]);
}

/// Microbatch models: one batch per `batch_size` of `event_time`, parents with an `event_time`
/// filtered to each batch's window, a lookback of one batch on later runs, and the clock pinned
/// with SLUICE_MICROBATCH_END_TIME (or `--event-time-start/end`), as dbt's suite pins it.
#[test]
fn microbatch_models_build_batch_by_batch() {
    let (_tmp, dir) = crate::support::duckdb_project(
        "mb",
        "",
        &[
            (
                "models/events.sql",
                "{{ config(materialized='table', event_time='event_time') }}\nselect 1 as id, TIMESTAMP '2020-01-01 00:00:00' as event_time\nunion all select 2, TIMESTAMP '2020-01-02 00:00:00'\nunion all select 3, TIMESTAMP '2020-01-03 00:00:00'\n",
            ),
            (
                "models/daily.sql",
                "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='event_time', batch_size='day', begin=modules.datetime.datetime(2020, 1, 1)) }}\nselect * from {{ ref('events') }}\n",
            ),
        ],
    );
    let run = |at: &str, args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .env("SLUICE_MICROBATCH_END_TIME", at)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    };
    let count = || -> i64 {
        let conn = duckdb::Connection::open(dir.join("mb.duckdb")).unwrap();
        conn.query_row("select count(*) from main.daily", [], |r| r.get(0))
            .unwrap()
    };
    run("2020-01-03 13:57:00", &["run"]);
    assert_eq!(count(), 3, "the first build backfills from `begin`");
    let compiled =
        std::fs::read_to_string(dir.join("target/compiled/mb/models/daily.sql")).unwrap();
    assert!(
        compiled.contains("where event_time >= '2020-01-03 00:00:00+00:00' and event_time < '2020-01-04 00:00:00+00:00'"),
        "{compiled}"
    );
    run("2020-01-03 14:57:00", &["run"]);
    assert_eq!(count(), 3, "the same day again replaces its rows");
    {
        let conn = duckdb::Connection::open(dir.join("mb.duckdb")).unwrap();
        conn.execute_batch("insert into main.events values (4, TIMESTAMP '2020-01-04 00:00:00'), (5, TIMESTAMP '2020-01-05 00:00:00')").unwrap();
    }
    run("2020-01-03 14:57:00", &["run", "-s", "daily"]);
    assert_eq!(count(), 3, "rows after the clock wait");
    run("2020-01-04 14:57:00", &["run", "-s", "daily"]);
    assert_eq!(count(), 4);
    run(
        "2020-01-01 00:00:00",
        &[
            "run",
            "-s",
            "daily",
            "--event-time-start",
            "2020-01-01",
            "--event-time-end",
            "2020-01-06",
        ],
    );
    assert_eq!(count(), 5, "an explicit window backfills it");
}
