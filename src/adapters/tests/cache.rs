//! The relation cache on a real DuckDB file: after every kind of statement that changes the
//! catalog (sluice's own DDL, hooks' DDL through `query`, a failure, a rollback, `cascade`,
//! short names), the cached connection answers what the catalog says, and a build's worth of
//! lookups lists each schema once.

use serde_json::json;

use super::duckdb::target;
use crate::adapters::{Adapter, Connection};
use crate::sql::{QuotePolicy, Relation};

fn rel(schema: &str, name: &str) -> Relation {
    Relation::new("cache", schema, name)
}

/// Every relation the steps touch, asked through the cache and straight of the catalog.
fn check(cached: &mut dyn Connection, raw: &mut dyn Connection, step: &str) {
    let mut names = vec![
        rel("main", "a"),
        rel("main", "b"),
        rel("main", "b_renamed"),
        rel("main", "v"),
        rel("main", "seed"),
        rel("other", "t"),
        rel("other", "gone"),
        rel("MAIN", "A"),
    ];
    let mut unquoted = rel("main", "UPPER");
    unquoted.quote = QuotePolicy::none('"');
    names.push(unquoted);
    for r in &names {
        assert_eq!(
            cached.relation_kind(r).unwrap(),
            raw.relation_kind(r).unwrap(),
            "{} after {step}",
            r.quoted()
        );
    }
}

#[test]
fn the_cache_answers_what_the_catalog_says_after_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.duckdb");
    let adapter = Adapter::connect(&target(&path.display().to_string(), json!({}))).unwrap();
    let mut cached = adapter.connection().unwrap();
    let mut raw = adapter.database_handle.connection().unwrap();
    let (c, r) = (cached.as_mut(), raw.as_mut());
    check(c, r, "nothing");
    let steps: &[&str] = &[
        "create table \"cache\".\"main\".\"a\" as select 1 as x",
        "create view \"cache\".\"main\".\"v\" as (select * from \"cache\".\"main\".\"a\")",
        "create table cache.main.b (x int); insert into cache.main.b values (1)",
        "alter table \"cache\".\"main\".\"b\" rename to \"b_renamed\"",
        "create schema if not exists \"cache\".\"other\"",
        "create table \"cache\".\"other\".\"t\" as select 2 as y",
        "create table \"cache\".\"other\".\"gone\" as select 3 as z",
        "drop table if exists \"cache\".\"other\".\"gone\"",
        // A short name: the cache cannot tell its schema, so it forgets.
        "create table b as select 4 as w",
        "create table \"cache\".\"main\".\"UPPER\" as select 5 as u",
        "drop view \"cache\".\"main\".\"v\"",
    ];
    for sql in steps {
        c.execute(sql).unwrap();
        check(c, r, sql);
    }
    // DDL through a query (a hook's or `run_query`'s).
    c.query("create view \"cache\".\"main\".\"v\" as select 1 as one")
        .unwrap();
    check(c, r, "a view made by a query");
    // A failing statement after one that worked.
    assert!(c
        .execute("drop table \"cache\".\"main\".\"a\"; select * from nowhere")
        .is_err());
    check(c, r, "a half-failed script");
    // A rolled-back transaction.
    c.begin().unwrap();
    c.execute("create table \"cache\".\"main\".\"a\" as select 1 as x")
        .unwrap();
    c.execute("alter table \"cache\".\"other\".\"t\" rename to \"t2\"")
        .unwrap();
    c.rollback().unwrap();
    check(c, r, "a rollback");
    // A seed load.
    use crate::project::seeds::{SeedColumn, SeedTable, SeedType, SeedValue};
    let seed = SeedTable {
        columns: vec![SeedColumn {
            name: "id".into(),
            inferred: SeedType::Integer,
            sql_type: "integer".into(),
            overridden: false,
        }],
        rows: vec![vec![SeedValue::Int(1)]],
    };
    c.load_seed(&rel("main", "seed"), &seed, false).unwrap();
    check(c, r, "a seed");
}

#[test]
fn lookups_list_each_schema_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.duckdb");
    let adapter = Adapter::connect(&target(&path.display().to_string(), json!({}))).unwrap();
    let mut conn = adapter.connection().unwrap();
    for i in 0..50 {
        let tmp = rel("main", &format!("m{i}__dbt_tmp"));
        let target = rel("main", &format!("m{i}"));
        assert_eq!(conn.relation_kind(&tmp).unwrap(), None);
        conn.execute(&format!("create view {} as select {i} as x", tmp.quoted()))
            .unwrap();
        assert_eq!(conn.relation_kind(&target).unwrap(), None);
        conn.execute(&format!(
            "alter view {} rename to {}",
            tmp.quoted(),
            crate::sql::quote(&target.identifier)
        ))
        .unwrap();
        assert!(conn.relation_kind(&target).unwrap().is_some());
        assert!(conn.schema_exists("cache", "main").unwrap());
    }
    assert_eq!(adapter.relation_cache().listings(), 1);
    // A statement the cache cannot follow makes it list again, once.
    conn.execute("drop view \"cache\".\"main\".\"m0\" cascade")
        .unwrap();
    assert_eq!(conn.relation_kind(&rel("main", "m0")).unwrap(), None);
    assert!(conn.relation_kind(&rel("main", "m1")).unwrap().is_some());
    assert_eq!(adapter.relation_cache().listings(), 2);
}
