//! Snapshots over four runs (inserts, updates, hard deletes, a new column): `timestamp` and `check`
//! strategies, `invalidate_hard_deletes`, a composite `unique_key` with `hard_deletes: invalidate`,
//! a YAML snapshot with `hard_deletes: new_record`; the
//! tables after each run equal what real dbt built (`tests/fixtures/snapshots/expected/run_N.json`,
//! recorded by `expected/record.sh`).

use std::path::Path;

use crate::support::{copy_project, repo, sluice};

/// The facts `expected/facts.py` computes, with the same SQL.
fn snapshot_facts(db: &Path) -> serde_json::Value {
    let conn = duckdb::Connection::open_with_flags(
        db,
        duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .unwrap(),
    )
    .expect("open db");
    let mut out = serde_json::Map::new();
    let mut st = conn
        .prepare(
            "select table_schema, table_name from information_schema.tables \
             where table_schema like '%snapshots' order by 1, 2",
        )
        .unwrap();
    let tables: Vec<(String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for (schema, name) in tables {
        let mut st = conn
            .prepare(
                "select column_name, data_type from information_schema.columns \
                 where table_schema = ? and table_name = ? order by ordinal_position",
            )
            .unwrap();
        let cols: Vec<(String, String)> = st
            .query_map([&schema, &name], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let text = |c: &str, t: &str| {
            let mut q = format!("\"{c}\"");
            if t.starts_with("TIMESTAMP") {
                q = format!(
                    "case when {q} > timestamp '2025-01-01' then '<now>' else cast({q} as varchar) end"
                );
            } else if c == "dbt_scd_id" {
                q = format!(
                    "case when dbt_updated_at > timestamp '2025-01-01' then '<hash>' else {q} end"
                );
            }
            format!("coalesce(cast({q} as varchar), '<null>')")
        };
        let row = cols
            .iter()
            .map(|(c, t)| text(c, t))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let mut st = conn
            .prepare(&format!(
                "select {row} as r from \"{schema}\".\"{name}\" order by r"
            ))
            .unwrap();
        let rows: Vec<String> = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        out.insert(
            format!("{schema}.{name}"),
            serde_json::json!({
                "columns": cols.iter().map(|(c, t)| format!("{c}:{t}")).collect::<Vec<_>>(),
                "rows": rows,
            }),
        );
    }
    serde_json::Value::Object(out)
}

#[test]
fn four_runs_build_the_history_real_dbt_builds() {
    let fixture = repo().join("tests/fixtures/snapshots");
    let (_tmp, dir) = copy_project(&fixture);
    for n in 1..=4 {
        // The first run uses `sluice snapshot` (after building the model), the others `build`.
        let vars = format!("{{stage: {n}}}");
        if n == 1 {
            let r = sluice(&dir, &["run", "--vars", &vars]);
            assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
            let r = sluice(&dir, &["snapshot", "--vars", &vars]);
            assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
            assert!(
                r.stdout.contains("OK snapshotted snapshots.customers_ts")
                    && r.stdout
                        .contains("PASS=4 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=4"),
                "{}",
                r.stdout
            );
        } else {
            let r = sluice(&dir, &["build", "--vars", &vars]);
            assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        }
        let want: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixture.join(format!("expected/run_{n}.json"))).unwrap(),
        )
        .unwrap();
        let got = snapshot_facts(&dir.join("snaps.duckdb"));
        assert_eq!(
            got,
            want,
            "run {n}: got\n{}",
            serde_json::to_string_pretty(&got).unwrap()
        );
    }
}

#[test]
fn a_snapshot_without_unique_key_fails_with_a_clear_message() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/snapshots"));
    std::fs::write(
        dir.join("snapshots/customers.sql"),
        "{% snapshot broken %}\n{{ config(target_schema='snapshots', strategy='timestamp', updated_at='updated_at') }}\nselect * from {{ ref('customers_stage') }}\n{% endsnapshot %}\n",
    )
    .unwrap();
    let r = sluice(&dir, &["build", "--select", "+broken"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("snapshot config `unique_key` is required"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_failing_snapshot_run_leaves_the_table_as_it_was() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/snapshots"));
    let r = sluice(&dir, &["build", "--vars", "{stage: 1}"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let before = snapshot_facts(&dir.join("snaps.duckdb"));
    // The second run's query fails at run time (a bad cast), after the model changed.
    let path = dir.join("snapshots/customers.sql");
    let sql = std::fs::read_to_string(&path).unwrap().replacen(
        "select * from {{ ref('customers_stage') }}",
        "select *, cast(name as integer) as broken from {{ ref('customers_stage') }}",
        1,
    );
    std::fs::write(&path, sql).unwrap();
    let r = sluice(&dir, &["build", "--vars", "{stage: 2}"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("Database Error in snapshot customers_ts"),
        "{}",
        r.stdout
    );
    let after = snapshot_facts(&dir.join("snaps.duckdb"));
    assert_eq!(
        before["snapshots.customers_ts"], after["snapshots.customers_ts"],
        "the failed snapshot's table changed"
    );
    assert!(
        !std::fs::read_to_string(dir.join("target/run_results.json"))
            .unwrap()
            .is_empty()
    );
}

/// `snapshot_meta_column_names` renames dbt's meta columns in the table and in every run's
/// SQL; once the table has them, configuring other names is dbt's compilation error, and the
/// table is left alone.
#[test]
fn meta_column_names_are_the_tables_and_must_stay_so() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/snapshots"));
    let project = dir.join("dbt_project.yml");
    let base = std::fs::read_to_string(&project).unwrap();
    let names = |valid_to: &str| {
        format!(
            "{base}\nsnapshots:\n  snaps:\n    +snapshot_meta_column_names:\n      \
             dbt_valid_to: {valid_to}\n      dbt_valid_from: seen_from\n      dbt_scd_id: version_id\n"
        )
    };
    std::fs::write(&project, names("seen_to")).unwrap();
    for stage in 1..=2 {
        let r = sluice(&dir, &["build", "--vars", &format!("{{stage: {stage}}}")]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    }
    let facts = snapshot_facts(&dir.join("snaps.duckdb"));
    let table = facts["snapshots.customers_ts"].to_string();
    for col in ["seen_to", "seen_from", "version_id", "dbt_updated_at"] {
        assert!(table.contains(col), "{col} in {table}");
    }
    assert!(!table.contains("dbt_valid_to"), "{table}");
    std::fs::write(&project, names("closed_at")).unwrap();
    let r = sluice(&dir, &["snapshot", "--vars", "{stage: 3}"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Compilation Error in snapshot customers_ts")
            && r.stdout
                .contains("Snapshot target is missing configured columns"),
        "{}",
        r.stdout
    );
    assert_eq!(
        snapshot_facts(&dir.join("snaps.duckdb"))["snapshots.customers_ts"].to_string(),
        table
    );
}

/// A snapshot's fqn has its file's name between its folders and its own name, as dbt's snapshot
/// parser writes it, so `snapshots:` config can name the file (real dbt 1.10 gives the same
/// fqn and tags for this project).
#[test]
fn a_snapshots_fqn_names_its_file() {
    let (_tmp, dir) = crate::support::duckdb_project(
        "nm",
        "config-version: 2\nsnapshots:\n  nm:\n    sub:\n      file_a:\n        +tags: [by_file]\n",
        &[(
            "snapshots/sub/file_a.sql",
            "{% snapshot my_snap %}\n{{ config(target_schema=\"snaps\", unique_key=\"id\", strategy=\"check\", check_cols=\"all\") }}\nselect 1 as id\n{% endsnapshot %}\n",
        )],
    );
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let m = crate::support::manifest(&dir);
    let n = &m["nodes"]["snapshot.nm.my_snap"];
    assert_eq!(
        n["fqn"],
        serde_json::json!(["nm", "sub", "file_a", "my_snap"])
    );
    assert_eq!(n["tags"], serde_json::json!(["by_file"]));
}
