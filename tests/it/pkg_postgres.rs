//! dbt's macro library and snapshots on PostgreSQL: the `macro_library` and `snapshots` fixtures built by sluice on a
//! throwaway server must give what real dbt-postgres gave on the same fixtures (the same tables,
//! contents, test verdicts and compiled SQL), recorded in each fixture's `expected/postgres/` by
//! `tests/fixtures/record_postgres/record.sh`. The facts are computed with the same SQL as that
//! script's `pg_facts.py`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::macro_library::normalized;
use crate::pg_server::{Engine, PgServer};
use crate::support::{copy_project, repo, sluice, Run};

fn ident(c: &str) -> String {
    format!("\"{}\"", c.replace('"', "\"\""))
}

fn columns(c: &mut postgres::Client, schema: &str, name: &str) -> Vec<(String, String)> {
    c.query(
        "select column_name::text, data_type::text from information_schema.columns \
         where table_schema = $1 and table_name = $2 order by ordinal_position",
        &[&schema, &name],
    )
    .expect("columns")
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

/// (schema, name) of the relations matching `condition`, in byte order.
fn tables(c: &mut postgres::Client, condition: &str) -> Vec<(String, String)> {
    c.query(
        &format!(
            "select table_schema::text, table_name::text from information_schema.tables \
             where {condition} \
             order by table_schema collate \"C\", table_name collate \"C\""
        ),
        &[],
    )
    .expect("tables")
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

/// `pg_facts.py relations`: every relation's columns, row count and row checksum.
fn relation_facts(c: &mut postgres::Client) -> serde_json::Value {
    let rels = tables(
        c,
        "table_schema not in ('information_schema', 'pg_catalog')",
    );
    let mut out = serde_json::Map::new();
    for (schema, name) in rels {
        let cols = columns(c, &schema, &name);
        let text = |col: &str, t: &str| {
            let mut e = ident(col);
            if t == "double precision" || t == "real" {
                e = format!("round(cast({e} as numeric), 6)");
            }
            format!("coalesce(cast({e} as text), '<null>')")
        };
        let row = if cols.is_empty() {
            "''".to_string()
        } else {
            cols.iter()
                .map(|(col, t)| text(col, t))
                .collect::<Vec<_>>()
                .join(" || '|' || ")
        };
        let r = c
            .query_one(
                &format!(
                    "select count(*), md5(coalesce(string_agg(r, chr(10) order by r collate \"C\"), '')) \
                     from (select {row} as r from {}.{}) t",
                    ident(&schema),
                    ident(&name)
                ),
                &[],
            )
            .expect("facts");
        let (n, digest): (i64, String) = (r.get(0), r.get(1));
        out.insert(
            format!("{schema}.{name}"),
            serde_json::json!({
                "columns": cols.iter().map(|(c, t)| format!("{c}:{t}")).collect::<Vec<_>>(),
                "rows": n,
                "md5": digest,
            }),
        );
    }
    serde_json::Value::Object(out)
}

/// `pg_facts.py snapshots`: the snapshot tables as sorted text rows, run-time stamps masked.
fn snapshot_facts(c: &mut postgres::Client) -> serde_json::Value {
    let tables = tables(c, "table_schema like '%snapshots'");
    let mut out = serde_json::Map::new();
    for (schema, name) in tables {
        let cols = columns(c, &schema, &name);
        let text = |col: &str, t: &str| {
            let mut e = ident(col);
            if t.starts_with("timestamp") {
                e = format!(
                    "case when {e} > timestamp '2025-01-01' then '<now>' else cast({e} as text) end"
                );
            } else if col == "dbt_scd_id" {
                e = format!(
                    "case when dbt_updated_at > timestamp '2025-01-01' then '<hash>' else {e} end"
                );
            }
            format!("coalesce(cast({e} as text), '<null>')")
        };
        let row = cols
            .iter()
            .map(|(col, t)| text(col, t))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows: Vec<String> = c
            .query(
                &format!(
                    "select r from (select {row} as r from {}.{}) t order by r collate \"C\"",
                    ident(&schema),
                    ident(&name)
                ),
                &[],
            )
            .expect("rows")
            .iter()
            .map(|r| r.get(0))
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

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("expected file")).expect("json")
}

/// Differences between real dbt-postgres's relations and sluice's (the same set, the same facts).
fn relation_problems(want: &serde_json::Value, got: &serde_json::Value) -> Vec<String> {
    let (want, got) = (want.as_object().unwrap(), got.as_object().unwrap());
    let mut problems = Vec::new();
    for (rel, w) in want {
        match got.get(rel) {
            None => problems.push(format!("{rel}: missing")),
            Some(g) if g != w => problems.push(format!("{rel}: expected {w}, got {g}")),
            Some(_) => {}
        }
    }
    for rel in got.keys().filter(|k| !want.contains_key(*k)) {
        problems.push(format!("{rel}: not built by dbt"));
    }
    problems
}

/// Differences between dbt's compiled SQL (`expected`, a folder) and sluice's, up to whitespace.
fn compiled_problems(expected: &Path, compiled: &Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(expected)
        .expect("expected/compiled")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no compiled SQL in {}",
        expected.display()
    );
    let mut problems = Vec::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let got = std::fs::read_to_string(compiled.join(&name))
            .or_else(|_| std::fs::read_to_string(compiled.join("schema.yml").join(&name)))
            .unwrap_or_default();
        let (want, got) = (
            normalized(&std::fs::read_to_string(&f).unwrap()),
            normalized(&got),
        );
        if got != want {
            problems.push(format!("{name}:\n  dbt:    {want}\n  sluice: {got}"));
        }
    }
    problems
}

fn statuses(run_results: &Path) -> BTreeMap<String, String> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_results).unwrap_or_default())
            .unwrap_or_default();
    v["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["unique_id"].as_str().unwrap_or("").to_string(),
                        r["status"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Differences between dbt-postgres's node statuses (`expected["statuses"]`) and sluice's.
fn status_problems(expected: &serde_json::Value, run_results: &Path) -> Vec<String> {
    let got = statuses(run_results);
    let want: BTreeMap<String, String> =
        serde_json::from_value(expected["statuses"].clone()).unwrap();
    let mut problems = Vec::new();
    for (id, w) in &want {
        if got.get(id) != Some(w) {
            problems.push(format!("{id}: expected {w}, got {:?}", got.get(id)));
        }
    }
    for id in got.keys().filter(|k| !want.contains_key(*k)) {
        problems.push(format!("{id}: not run by dbt"));
    }
    problems
}

/// A copy of `fixture` whose profile `profile` points at a fresh database named after it on
/// `pg` (schema `main`).
fn project_on(
    pg: PgServer,
    fixture: &Path,
    profile: &str,
    threads: usize,
) -> (tempfile::TempDir, PathBuf, PgServer) {
    let (tmp, dir) = copy_project(fixture);
    let engine = Engine::Postgres(pg);
    engine.write_profile(&dir, profile, "main", threads);
    let Engine::Postgres(pg) = engine else {
        unreachable!()
    };
    (tmp, dir, pg)
}

/// Fails with every difference from real dbt-postgres and what sluice printed.
fn assert_like_dbt(problems: &[String], r: &Run) {
    assert!(
        problems.is_empty(),
        "{} difference(s) from real dbt-postgres:\n{}\n\nstdout:\n{}\nstderr:\n{}",
        problems.len(),
        problems.join("\n"),
        r.stdout,
        r.stderr
    );
}

#[test]
fn macro_library_builds_on_postgres_what_dbt_postgres_builds() {
    let test = "macro_library_builds_on_postgres_what_dbt_postgres_builds";
    let Some(pg) = PgServer::start(test) else {
        return;
    };
    let fixture = repo().join("tests/fixtures/macro_library");
    let (_tmp, dir, pg) = project_on(pg, &fixture, "macro_library", 1);
    let r = sluice(&dir, &["build"]);
    let expected = read_json(&fixture.join("expected/postgres/real_dbt.json"));
    let mut problems = status_problems(&expected, &dir.join("target/run_results.json"));
    let facts = relation_facts(&mut pg.client("macro_library"));
    problems.extend(relation_problems(&expected["relations"], &facts));
    problems.extend(compiled_problems(
        &fixture.join("expected/postgres/compiled"),
        &dir.join("target/compiled/macro_library/models"),
    ));
    assert_like_dbt(&problems, &r);
}

#[test]
fn snapshots_over_four_runs_on_postgres_match_dbt_postgres() {
    let test = "snapshots_over_four_runs_on_postgres_match_dbt_postgres";
    let Some(pg) = PgServer::start(test) else {
        return;
    };
    let fixture = repo().join("tests/fixtures/snapshots");
    let (_tmp, dir, pg) = project_on(pg, &fixture, "snaps", 1);
    for n in 1..=4 {
        let vars = format!("{{stage: {n}}}");
        let r = sluice(&dir, &["build", "--vars", &vars]);
        assert_eq!(r.code, 0, "run {n}: {}\n{}", r.stdout, r.stderr);
        let want = read_json(&fixture.join(format!("expected/postgres/run_{n}.json")));
        let got = snapshot_facts(&mut pg.client("snaps"));
        assert_eq!(
            got,
            want,
            "run {n}: got\n{}",
            serde_json::to_string_pretty(&got).unwrap()
        );
    }
}
