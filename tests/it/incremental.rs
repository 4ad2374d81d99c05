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
