//! DuckDB connections: opening, errors, introspection, value conversion.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::adapters::{Adapter, AdapterError, Scrubber};
use crate::project::Target;
use crate::sql::{Relation, RelationKind};

pub(super) fn target(path: &str, extra: Value) -> Target {
    let mut values = Map::new();
    values.insert("type".into(), json!("duckdb"));
    values.insert("path".into(), json!(path));
    if let Value::Object(m) = extra {
        values.extend(m);
    }
    let database = if path == ":memory:" {
        "memory".to_string()
    } else {
        Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default()
    };
    Target {
        profile_name: "p".into(),
        target_name: "dev".into(),
        adapter_type: "duckdb".into(),
        dialect: crate::adapters::duckdb::DIALECT,
        schema: "main".into(),
        database,
        threads: 2,
        values,
        profiles_path: "profiles.yml".into(),
    }
}

fn connect_err(t: &Target) -> String {
    match Adapter::connect(t) {
        Ok(_) => String::from("connected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn query_converts_values_to_json() {
    let a = Adapter::connect(&target(":memory:", json!({}))).expect("connect");
    let mut c = a.connection().expect("conn");
    let r = c
        .query(
            "select 1::integer as i, 2.5::double as d, 12.345::decimal(10,3) as m, 42::decimal(18,0) as m0, \
             date '2024-01-02' as dt, timestamp '2024-01-02 03:04:05.5' as ts, timestamp '2024-01-02 03:04:05' as ts0, \
             true as b, null as n, 'x'::varchar as s, 10000000000::bigint as big, time '01:02:03' as t, \
             interval 90 minute as iv, [1, 2] as l, {'k': 'v'} as st",
        )
        .expect("query");
    assert_eq!(
        r.column_names,
        ["i", "d", "m", "m0", "dt", "ts", "ts0", "b", "n", "s", "big", "t", "iv", "l", "st"]
    );
    assert_eq!(
        Value::Array(r.rows[0].clone()),
        json!([
            1, 2.5, 12.345, 42, "2024-01-02", "2024-01-02T03:04:05.500", "2024-01-02T03:04:05", true, null,
            "x", 10000000000_i64, "01:02:03", "01:30:00", [1, 2], {"k": "v"}
        ])
    );
    let empty = c.query("select 1 as a where false").expect("query");
    assert_eq!(empty.column_names, ["a"]);
    assert!(empty.rows.is_empty());
}

#[test]
fn execute_counts_rows_and_skips_blank_sql() {
    let a = Adapter::connect(&target(":memory:", json!({}))).expect("connect");
    let mut c = a.connection().expect("conn");
    assert_eq!(
        c.execute("  -- nothing\n /* at all */ ;").expect("blank"),
        0
    );
    c.execute("create table t (a int); create table u (b int)")
        .expect("two statements");
    assert_eq!(
        c.execute("insert into t values (1), (2), (3)")
            .expect("insert"),
        3
    );
    let e = c
        .execute("select * from missing_table")
        .expect_err("missing");
    assert!(matches!(e, AdapterError::Database { .. }));
    assert!(e.to_string().contains("missing_table"), "{e}");
}

#[test]
fn introspects_relations_and_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sub/dev.duckdb");
    let a = Adapter::connect(&target(&path.display().to_string(), json!({}))).expect("connect");
    assert_eq!(a.database(), "dev");
    let mut c = a.connection().expect("conn");
    c.execute("create schema dev.s; create table dev.s.t (id integer, name varchar, amount decimal(10,2)); create view dev.s.v as select id from dev.s.t")
        .expect("ddl");
    assert_eq!(
        c.relation_kind(&Relation::new("dev", "s", "t"))
            .expect("kind"),
        Some(RelationKind::Table)
    );
    assert_eq!(
        c.relation_kind(&Relation::new("DEV", "S", "V"))
            .expect("kind"),
        Some(RelationKind::View)
    );
    assert_eq!(
        c.relation_kind(&Relation::new("dev", "s", "nope"))
            .expect("kind"),
        None
    );
    let cols = c.columns(&Relation::new("dev", "s", "t")).expect("cols");
    let cols: Vec<(String, String)> = cols.into_iter().map(|c| (c.name, c.data_type)).collect();
    assert_eq!(
        cols,
        [
            ("id".to_string(), "INTEGER".to_string()),
            ("name".into(), "VARCHAR".into()),
            ("amount".into(), "DECIMAL(10,2)".into())
        ]
    );
    assert_eq!(
        c.columns(&Relation::new("dev", "s", "v"))
            .expect("cols")
            .len(),
        1
    );
    assert!(c
        .columns(&Relation::new("dev", "s", "nope"))
        .expect("cols")
        .is_empty());
    // Worker connections share the database.
    let mut c2 = a.connection().expect("conn2");
    assert_eq!(
        c2.relation_kind(&Relation::new("dev", "s", "t"))
            .expect("kind"),
        Some(RelationKind::Table)
    );
}

#[test]
fn settings_apply_to_every_connection() {
    let a = Adapter::connect(&target(
        ":memory:",
        json!({"settings": {"threads": 1, "default_order": "desc"}}),
    ))
    .expect("connect");
    let mut c = a.connection().expect("conn");
    let r = c
        .query("select current_setting('threads'), current_setting('default_order')")
        .expect("q");
    assert_eq!(r.rows[0], [json!(1), json!("DESC")]);
    let e = connect_err(&target(
        ":memory:",
        json!({"settings": {"no such; setting": 1}}),
    ));
    assert!(e.contains("not a valid DuckDB setting name"), "{e}");
    let e = connect_err(&target(":memory:", json!({"extensions": ["bad name"]})));
    assert!(e.contains("not a valid DuckDB extension name"), "{e}");
}

#[test]
fn scrubs_secrets() {
    let t = target(
        ":memory:",
        json!({"password": "hunter22", "settings": {"s3_secret_access_key": "abcd1234"}}),
    );
    let s = Scrubber::new(&t);
    assert_eq!(s.scrub("pw hunter22 key abcd1234"), "pw **** key ****");
}

#[test]
fn directory_in_place_of_file_is_a_clean_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = connect_err(&target(&dir.path().display().to_string(), json!({})));
    assert!(e.starts_with("cannot connect to target `dev`"), "{e}");
    assert!(e.contains("is a directory") && e.contains("hint:"), "{e}");
}

#[test]
fn uncreatable_folder_is_a_clean_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("plain.txt");
    std::fs::write(&file, "x").expect("write");
    let path = file.join("sub").join("dev.duckdb");
    let e = connect_err(&target(&path.display().to_string(), json!({})));
    assert!(
        e.contains("cannot create the folder") && e.contains("plain.txt"),
        "{e}"
    );
}

#[test]
fn locked_database_is_a_clean_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("locked.duckdb");
    drop(Adapter::connect(&target(&path.display().to_string(), json!({}))).expect("create"));
    // Another process takes DuckDB's lock (an fcntl write lock on the whole file).
    let script = "import fcntl, sys, time\nf = open(sys.argv[1], 'r+')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(60)\n";
    let Ok(mut child) = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .spawn()
    else {
        return; // no python3 here: nothing to hold the lock with
    };
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line);
    }
    let e = connect_err(&target(&path.display().to_string(), json!({})));
    let _ = child.kill();
    let _ = child.wait();
    if line.trim() != "locked" {
        return;
    }
    assert!(e.contains("locked.duckdb") && e.contains("lock"), "{e}");
    assert!(e.contains("hint: another process"), "{e}");
}

#[test]
fn database_must_match_the_attached_catalog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut t = target(
        &dir.path().join("dev.duckdb").display().to_string(),
        json!({}),
    );
    t.database = "prod".into();
    let e = connect_err(&t);
    assert!(
        e.contains("attached as `dev`") && e.contains("database: prod"),
        "{e}"
    );
}
