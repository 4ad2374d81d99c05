//! `query-comment` in `dbt_project.yml`: the comment sluice puts on each statement, as the
//! warehouse itself receives it (a table model stores `current_query()`, the text of the very
//! statement that built it), on DuckDB and PostgreSQL; `--debug` shows each statement sent.

use std::path::PathBuf;

use crate::pg_server::{on_both_engines, Engine};
use crate::support::sluice;

/// A project whose profile (and PostgreSQL database) is `name`.
fn project(
    engine: &Engine,
    name: &str,
    query_comment: Option<&str>,
) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::create_dir_all(dir.join("macros")).unwrap();
    let mut project = format!("name: p\nversion: '1'\nprofile: {name}\n");
    if let Some(q) = query_comment {
        project.push_str(&format!("query-comment: {q}\n"));
    }
    std::fs::write(dir.join("dbt_project.yml"), project).unwrap();
    engine.write_profile(&dir, name, "main", 1);
    std::fs::write(
        dir.join("macros/header.sql"),
        "{% macro header(who) %}{{ return({'by': who, 'target': target.name}) }}{% endmacro %}",
    )
    .unwrap();
    std::fs::write(
        dir.join("models/seen.sql"),
        "{{ config(materialized='table') }} select current_query() as q",
    )
    .unwrap();
    (tmp, dir)
}

/// The statement that built `seen`, as the warehouse received it.
fn seen(engine: &Engine, dir: &std::path::Path, name: &str) -> String {
    let v = engine.scalar(dir, name, "select q from main.seen");
    v.as_str().unwrap_or_default().to_string()
}

#[test]
fn statements_carry_the_configured_comment_on_both_engines() {
    on_both_engines("query_comment", |engine| {
        let name = engine.name();
        // The default: sluice, the profile, the target and the node, as JSON before the SQL.
        let (_tmp, dir) = project(engine, "qc_default", None);
        let r = sluice(&dir, &["run"]);
        assert_eq!(r.code, 0, "{name}: {}{}", r.stdout, r.stderr);
        let q = seen(engine, &dir, "qc_default");
        assert!(
            q.starts_with("/* {\"app\":\"sluice\"")
                && q.contains("\"target_name\":\"dev\"")
                && q.contains("\"node_id\":\"model.p.seen\"}")
                && q.contains(" */\n"),
            "{name}: {q}"
        );

        // A template with the project's macros and `return`, after the statement (`append`).
        let (_tmp, dir) = project(
            engine,
            "qc_append",
            Some("{comment: \"{{ return(tojson(header('ci'))) }}\", append: true}"),
        );
        let r = sluice(&dir, &["--debug", "--log-format", "json", "run"]);
        assert_eq!(r.code, 0, "{name}: {}{}", r.stdout, r.stderr);
        let q = seen(engine, &dir, "qc_append");
        assert!(
            q.ends_with("\n/* {\"by\": \"ci\", \"target\": \"dev\"} */") && !q.starts_with("/*"),
            "{name}: {q}"
        );
        // `--debug` shows each statement as sent, naming its node.
        let debug: Vec<serde_json::Value> = r
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"] == "debug")
            .collect();
        assert!(
            debug.iter().any(|v| v["msg"]
                .as_str()
                .is_some_and(|m| m.starts_with("On model.p.seen: ")
                    && m.ends_with("/* {\"by\": \"ci\", \"target\": \"dev\"} */"))),
            "{name}: {}",
            r.stdout
        );

        // `null` turns it off; a comment that would end itself early stops the run.
        let (_tmp, dir) = project(engine, "qc_off", Some("null"));
        let r = sluice(&dir, &["run"]);
        assert_eq!(r.code, 0, "{name}: {}{}", r.stdout, r.stderr);
        assert!(!seen(engine, &dir, "qc_off").contains("/*"), "{name}");
        let (_tmp, dir) = project(engine, "qc_bad", Some("\"ends */ early\""));
        let r = sluice(&dir, &["run"]);
        assert_eq!(r.code, 2, "{name}: {}{}", r.stdout, r.stderr);
        assert!(
            format!("{}{}", r.stdout, r.stderr).contains("`*/`"),
            "{name}: {}{}",
            r.stdout,
            r.stderr
        );
    });
}
