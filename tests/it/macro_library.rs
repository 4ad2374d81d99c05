//! dbt's macro library as sluice writes it: `tests/fixtures/macro_library` calls the cross-database
//! macros, adapter methods, `api.Relation` / `api.Column`, `statement` / `load_result` /
//! `run_query`, `modules.datetime` / `pytz` / `re` and the Jinja helpers, and must build the same
//! tables as real dbt (`expected/real_dbt.json`) from the same SQL, up to whitespace and comments
//! (`expected/compiled/`), both recorded by `expected/record.sh`.

use crate::packages::relation_facts;
use crate::support::{copy_project, repo, sluice};

/// SQL without comments, with runs of whitespace as one space and none inside parentheses or
/// before commas.
pub fn normalized(sql: &str) -> String {
    let no_comments: Vec<&str> = sql
        .lines()
        .map(|l| match l.find("--") {
            Some(i) if !l[..i].contains('\'') => &l[..i],
            _ => l,
        })
        .collect();
    let joined = no_comments.join(" ");
    let collapsed = joined.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" ,", ",")
}

#[test]
fn macros_and_adapter_methods_build_what_real_dbt_builds() {
    let fixture = repo().join("tests/fixtures/macro_library");
    let (_tmp, dir) = copy_project(&fixture);
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture.join("expected/real_dbt.json")).unwrap(),
    )
    .unwrap();
    let conn = duckdb::Connection::open_with_flags(
        dir.join("macro_library.duckdb"),
        duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .unwrap(),
    )
    .expect("open db");
    let mut problems = Vec::new();
    // The same set of relations (what `rename_relation` / `drop_relation` left, too).
    let mut st = conn
        .prepare(
            "select table_schema || '.' || table_name from information_schema.tables \
             where table_schema not in ('information_schema', 'pg_catalog') order by 1",
        )
        .unwrap();
    let got: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let want: Vec<String> = expected["relations"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    if got != want {
        problems.push(format!("relations: expected {want:?}, got {got:?}"));
    }
    for (rel, want) in expected["relations"].as_object().unwrap() {
        let (schema, name) = rel.split_once('.').unwrap();
        let got = relation_facts(&conn, schema, name);
        if &got != want {
            problems.push(format!("{rel}: expected {want}, got {got}"));
        }
    }
    let mut files: Vec<_> = std::fs::read_dir(fixture.join("expected/compiled"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let want = normalized(&std::fs::read_to_string(&f).unwrap());
        let got = normalized(
            &std::fs::read_to_string(dir.join("target/compiled/macro_library/models").join(&name))
                .unwrap_or_default(),
        );
        if got != want {
            problems.push(format!("{name}:\n  dbt:    {want}\n  sluice: {got}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
