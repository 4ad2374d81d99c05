//! `execute::materialize` against a real DuckDB file: swaps, incremental strategies, seeds.

use serde_json::{json, Value};

use crate::adapters::{Adapter, AdapterError, Connection};
use crate::compile::Materialization;
use crate::execute::materialize::{
    build, build_seed, ensure_schema, BuildOutcome, BuildSpec, Rebuilt,
};
use crate::project::seeds::{SeedColumn, SeedTable, SeedType, SeedValue};
use crate::sql::{Relation, RelationKind};

struct Db {
    _dir: tempfile::TempDir,
    _adapter: Adapter,
    conn: Box<dyn Connection>,
}

fn db() -> Db {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shop.duckdb");
    let mut values = serde_json::Map::new();
    values.insert("type".into(), json!("duckdb"));
    values.insert("path".into(), json!(path.display().to_string()));
    let target = crate::project::Target {
        profile_name: "p".into(),
        target_name: "dev".into(),
        adapter_type: "duckdb".into(),
        dialect: crate::adapters::duckdb::DIALECT,
        schema: "main".into(),
        database: "shop".into(),
        threads: 1,
        values,
        profiles_path: "profiles.yml".into(),
    };
    let adapter = Adapter::connect(&target).expect("connect");
    let mut conn = adapter.connection().expect("conn");
    ensure_schema(conn.as_mut(), "shop", "marts").expect("schema");
    ensure_schema(conn.as_mut(), "shop", "marts").expect("schema again");
    Db {
        _dir: dir,
        _adapter: adapter,
        conn,
    }
}

fn rel(name: &str) -> Relation {
    Relation::new("shop", "marts", name)
}

fn spec<'a>(r: &'a Relation, m: Materialization, sql: &'a str) -> BuildSpec<'a> {
    BuildSpec {
        relation: r,
        materialization: m,
        sql,
        unique_key: vec![],
        incremental_strategy: None,
        full_refresh: false,
        on_schema_change: None,
        incremental_predicates: vec![],
        merge_update_columns: vec![],
        merge_exclude_columns: vec![],
        contract: None,
        sql_header: None,
        indexes: &[],
        on_configuration_change: None,
        unlogged: false,
        table_options: String::new(),
        partition_by: vec![],
        rebuilt: &NONE_REBUILT,
    }
}

static NONE_REBUILT: Rebuilt = Rebuilt::new();

/// Rows of `sql` as one JSON array, for compact assertions.
fn rows(db: &mut Db, sql: &str) -> Value {
    let r = db.conn.query(sql).expect("query");
    Value::Array(r.rows.into_iter().map(Value::Array).collect())
}

/// Relations left in the schema (no `__dbt_tmp` / `__dbt_backup` leftovers).
fn relations(db: &mut Db) -> Value {
    rows(
        db,
        "select table_name from information_schema.tables where table_schema = 'marts' order by 1",
    )
}

#[test]
fn view_builds_rebuilds_and_replaces_a_table() {
    let mut db = db();
    let r = rel("v");
    let out = build(
        db.conn.as_mut(),
        &spec(&r, Materialization::View, "select 1 as a"),
    )
    .expect("build");
    assert_eq!(
        out,
        BuildOutcome {
            message: "OK".into(),
            rows_affected: None,
            main_sql: Some(format!(
                "create view {} as (\nselect 1 as a\n)",
                r.with_identifier(format!("{}__dbt_tmp", r.identifier))
            )),
            ..BuildOutcome::default()
        }
    );
    build(
        db.conn.as_mut(),
        &spec(&r, Materialization::View, "select 2 as a;\n"),
    )
    .expect("rebuild");
    assert_eq!(rows(&mut db, "select a from shop.marts.v"), json!([[2]]));
    let e = build(
        db.conn.as_mut(),
        &spec(&r, Materialization::View, "select nope from nowhere"),
    )
    .expect_err("bad sql");
    assert!(e.to_string().contains("nowhere"), "{e}");
    assert_eq!(rows(&mut db, "select a from shop.marts.v"), json!([[2]]));
    db.conn
        .execute("create table shop.marts.t as select 1 as a")
        .expect("table");
    build(
        db.conn.as_mut(),
        &spec(&rel("t"), Materialization::View, "select 3 as a"),
    )
    .expect("table to view");
    assert_eq!(
        db.conn.relation_kind(&rel("t")).expect("kind"),
        Some(RelationKind::View)
    );
    assert_eq!(relations(&mut db), json!([["t"], ["v"]]));
}

#[test]
fn table_rebuild_swaps_and_failing_sql_keeps_the_old_rows() {
    let mut db = db();
    let r = rel("orders");
    build(
        db.conn.as_mut(),
        &spec(&r, Materialization::Table, "select * from range(3) t(id)"),
    )
    .expect("build");
    db.conn
        .execute("create view shop.marts.dep as select count(*) as n from shop.marts.orders")
        .expect("dependent view");
    build(
        db.conn.as_mut(),
        &spec(&r, Materialization::Table, "select * from range(5) t(id)"),
    )
    .expect("rebuild");
    assert_eq!(rows(&mut db, "select n from shop.marts.dep"), json!([[5]]));
    let e = build(
        db.conn.as_mut(),
        &spec(
            &r,
            Materialization::Table,
            "select 1/0 as x, * from missing_table",
        ),
    )
    .expect_err("bad sql");
    assert!(matches!(e, AdapterError::Database { .. }));
    assert_eq!(
        rows(&mut db, "select count(*), sum(id) from shop.marts.orders"),
        json!([[5, 10]])
    );
    assert_eq!(
        db.conn.relation_kind(&r).expect("kind"),
        Some(RelationKind::Table)
    );
    assert_eq!(relations(&mut db), json!([["dep"], ["orders"]]));
    // A view in the way is replaced by the table.
    build(
        db.conn.as_mut(),
        &spec(&rel("dep"), Materialization::Table, "select 7 as n"),
    )
    .expect("view to table");
    assert_eq!(
        db.conn.relation_kind(&rel("dep")).expect("kind"),
        Some(RelationKind::Table)
    );
}

#[test]
fn incremental_append_delete_insert_merge_and_full_refresh() {
    let mut db = db();
    let r = rel("events");
    let v1 = "select * from (values (1, 'a'), (2, 'b')) t(id, v)";
    let v2 = "select * from (values (2, 'B'), (3, 'c')) t(id, v)";
    let mut s = spec(&r, Materialization::Incremental, v1);
    build(db.conn.as_mut(), &s).expect("first run");
    s.sql = v2;
    s.incremental_strategy = Some("append");
    let out = build(db.conn.as_mut(), &s).expect("append");
    assert_eq!(out.rows_affected, Some(2));
    assert_eq!(
        rows(
            &mut db,
            "select id, v from shop.marts.events order by id, v"
        ),
        json!([[1, "a"], [2, "B"], [2, "b"], [3, "c"]])
    );

    s.full_refresh = true;
    s.sql = v1;
    build(db.conn.as_mut(), &s).expect("full refresh");
    assert_eq!(
        rows(&mut db, "select id, v from shop.marts.events order by id"),
        json!([[1, "a"], [2, "b"]])
    );

    s.full_refresh = false;
    s.sql = v2;
    s.incremental_strategy = None; // delete+insert, as there is a key
    s.unique_key = vec!["id".into()];
    build(db.conn.as_mut(), &s).expect("delete+insert");
    assert_eq!(
        rows(&mut db, "select id, v from shop.marts.events order by id"),
        json!([[1, "a"], [2, "B"], [3, "c"]])
    );

    s.sql = "select * from (values (3, 'C'), (4, 'd')) t(id, v)";
    s.incremental_strategy = Some("merge");
    build(db.conn.as_mut(), &s).expect("merge");
    assert_eq!(
        rows(&mut db, "select id, v from shop.marts.events order by id"),
        json!([[1, "a"], [2, "B"], [3, "C"], [4, "d"]])
    );
    assert_eq!(relations(&mut db), json!([["events"]]));
    // `merge_exclude_columns` keeps the excluded column of matched rows; new rows get it all.
    s.sql = "select * from (values (4, 'D'), (5, 'e')) t(id, v)";
    s.merge_exclude_columns = vec!["V".into()];
    build(db.conn.as_mut(), &s).expect("merge excluding v");
    assert_eq!(
        rows(&mut db, "select id, v from shop.marts.events order by id"),
        json!([[1, "a"], [2, "B"], [3, "C"], [4, "d"], [5, "e"]])
    );
    // `merge_update_columns` names the only columns updated.
    s.merge_exclude_columns = vec![];
    s.merge_update_columns = vec!["v".into()];
    build(db.conn.as_mut(), &s).expect("merge updating v");
    assert_eq!(
        rows(&mut db, "select id, v from shop.marts.events order by id"),
        json!([[1, "a"], [2, "B"], [3, "C"], [4, "D"], [5, "e"]])
    );
    s.incremental_strategy = Some("insert_overwrite");
    let e = build(db.conn.as_mut(), &s).expect_err("unknown strategy");
    assert!(e.to_string().contains("insert_overwrite"), "{e}");
}

#[test]
fn incremental_delete_insert_with_a_composite_key() {
    let mut db = db();
    let r = rel("daily");
    let mut s = spec(
        &r,
        Materialization::Incremental,
        "select * from (values (1, 'x', 10), (1, 'y', 20)) t(id, day, n)",
    );
    s.unique_key = vec!["id".into(), "day".into()];
    s.incremental_strategy = Some("delete+insert");
    build(db.conn.as_mut(), &s).expect("first run");
    s.sql = "select * from (values (1, 'y', 21), (2, 'x', 5)) t(id, day, n)";
    build(db.conn.as_mut(), &s).expect("second run");
    assert_eq!(
        rows(
            &mut db,
            "select id, day, n from shop.marts.daily order by id, day"
        ),
        json!([[1, "x", 10], [1, "y", 21], [2, "x", 5]])
    );
}

#[test]
fn merge_matches_only_rows_the_incremental_predicates_allow() {
    let mut db = db();
    let r = rel("merged");
    let mut s = spec(
        &r,
        Materialization::Incremental,
        "select * from (values (1, 'a'), (2, 'b')) t(id, v)",
    );
    s.unique_key = vec!["id".into()];
    s.incremental_strategy = Some("merge");
    build(db.conn.as_mut(), &s).expect("first run");
    // Only target rows with id >= 2 may match: row 1 is inserted again, row 2 updated.
    s.incremental_predicates = vec!["DBT_INTERNAL_DEST.id >= 2".into()];
    s.sql = "select * from (values (1, 'A'), (2, 'B')) t(id, v)";
    build(db.conn.as_mut(), &s).expect("merge");
    assert_eq!(
        rows(
            &mut db,
            "select id, v from shop.marts.merged order by id, v"
        ),
        json!([[1, "A"], [1, "a"], [2, "B"]])
    );
}

#[test]
fn incremental_on_schema_change() {
    let mut db = db();
    let r = rel("wide");
    let mut s = spec(&r, Materialization::Incremental, "select 1 as id, 'a' as v");
    build(db.conn.as_mut(), &s).expect("first run");
    s.sql = "select 2 as id, 'b' as v, 9 as extra";
    // ignore: only the shared columns are inserted.
    build(db.conn.as_mut(), &s).expect("ignore");
    assert_eq!(
        rows(&mut db, "select * from shop.marts.wide order by id"),
        json!([[1, "a"], [2, "b"]])
    );
    s.on_schema_change = Some("fail");
    let e = build(db.conn.as_mut(), &s).expect_err("fail");
    assert!(matches!(e, AdapterError::Build { .. }));
    assert!(
        e.to_string().contains("`extra`") && e.to_string().contains("out of sync"),
        "{e}"
    );
    assert_eq!(
        rows(&mut db, "select count(*) from shop.marts.wide"),
        json!([[2]])
    );
    s.on_schema_change = Some("append_new_columns");
    build(db.conn.as_mut(), &s).expect("append_new_columns");
    assert_eq!(
        rows(
            &mut db,
            "select * from shop.marts.wide order by id, extra nulls first"
        ),
        json!([[1, "a", null], [2, "b", null], [2, "b", 9]])
    );
    s.on_schema_change = Some("sync_all_columns");
    s.sql = "select 3 as id, 7 as extra";
    build(db.conn.as_mut(), &s).expect("sync_all_columns");
    assert_eq!(
        rows(
            &mut db,
            "select * from shop.marts.wide order by id, extra nulls first"
        ),
        json!([[1, null], [2, null], [2, 9], [3, 7]])
    );
    assert_eq!(relations(&mut db), json!([["wide"]]));
}

fn seed_table(rows: &[(i64, &str)]) -> SeedTable {
    let col = |name: &str, t: SeedType| SeedColumn {
        name: name.into(),
        inferred: t,
        sql_type: t.sql_type().into(),
        overridden: false,
    };
    SeedTable {
        columns: vec![col("id", SeedType::Integer), col("name", SeedType::Text)],
        rows: rows
            .iter()
            .map(|(i, n)| vec![SeedValue::Int(*i), SeedValue::Text((*n).into())])
            .collect(),
    }
}

#[test]
fn seeds_load_reload_and_full_refresh() {
    let mut db = db();
    let r = rel("countries");
    assert_eq!(
        build_seed(
            db.conn.as_mut(),
            &r,
            &seed_table(&[(1, "fr"), (2, "de")]),
            false,
            false,
            &NONE_REBUILT,
        )
        .expect("seed"),
        (2, true)
    );
    db.conn
        .execute("create view shop.marts.dep as select count(*) as n from shop.marts.countries")
        .expect("view");
    assert_eq!(
        build_seed(
            db.conn.as_mut(),
            &r,
            &seed_table(&[(3, "it")]),
            false,
            false,
            &NONE_REBUILT,
        )
        .expect("reseed"),
        (1, false),
        "refilled in place, not a new table"
    );
    assert_eq!(
        rows(&mut db, "select * from shop.marts.countries"),
        json!([[3, "it"]])
    );
    assert_eq!(rows(&mut db, "select n from shop.marts.dep"), json!([[1]]));
    build_seed(
        db.conn.as_mut(),
        &r,
        &seed_table(&[(4, "es"), (5, "pt")]),
        true,
        true,
        &NONE_REBUILT,
    )
    .expect("full refresh");
    assert_eq!(
        rows(&mut db, "select count(*) from shop.marts.countries"),
        json!([[2]])
    );
    assert_eq!(relations(&mut db), json!([["countries"], ["dep"]]));
}

#[test]
fn workers_build_in_parallel_on_their_own_connections() {
    let db = db();
    let adapter = &db._adapter;
    let results: Vec<Result<(), AdapterError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|w| {
                scope.spawn(move || -> Result<(), AdapterError> {
                    let mut conn = adapter.connection()?;
                    for i in 0..5 {
                        let (t, v) = (rel(&format!("t_{w}_{i}")), rel(&format!("v_{w}_{i}")));
                        let sql = format!("select {i} as n");
                        build(conn.as_mut(), &spec(&t, Materialization::Table, &sql))?;
                        build(conn.as_mut(), &spec(&t, Materialization::Table, &sql))?;
                        build(conn.as_mut(), &spec(&v, Materialization::View, &sql))?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(AdapterError::db("worker panicked")))
            })
            .collect()
    });
    for r in results {
        r.expect("worker");
    }
    let mut db = db;
    assert_eq!(
        rows(
            &mut db,
            "select count(*) from information_schema.tables where table_schema = 'marts'"
        ),
        json!([[40]])
    );
}
