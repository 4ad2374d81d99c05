//! Nothing is lost on PostgreSQL, whatever happens during a build: a full-refresh seed or table
//! swap (which drops the views reading the old relation), a model that fails after it, sluice
//! killed with SIGKILL mid-build, the server restarted mid-build. After each fault every relation
//! that existed before still exists (old or new), views included, also one sluice did not build.

use crate::pg_server::PgServer;
use crate::postgres::{spawn_sluice as spawn, wait_for_query};
use crate::support::{sluice, Run};

const DB: &str = "faults";

/// The project: a seed, a view on it, a view on that view, a table on the seed and a view on the
/// table. `plans` sleeps while `var('sleep')` is set, so a fault can strike mid-build.
fn project(pg: &PgServer) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    for (path, text) in [
        (
            "dbt_project.yml",
            "name: faults\nprofile: faults\nvars:\n  sleep: 0\nmodels:\n  faults:\n    +materialized: view\n",
        ),
        ("seeds/users.csv", "id,name,plan\n1,ann,pro\n2,bob,free\n3,cy,pro\n"),
        ("models/stg_users.sql", "select id, name, plan from {{ ref('users') }}"),
        (
            "models/users_by_plan.sql",
            "select plan, count(*) as n from {{ ref('stg_users') }} group by plan",
        ),
        (
            "models/plans.sql",
            "{{ config(materialized='table') }}\nselect plan, count(*) as n\nfrom {{ ref('users') }}, (select pg_sleep({{ var('sleep') }})) s\ngroup by plan",
        ),
        ("models/plans_view.sql", "select * from {{ ref('plans') }}"),
    ] {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    std::fs::write(
        dir.join("profiles.yml"),
        format!(
            "faults:\n  target: dev\n  outputs:\n{}",
            pg.output_yaml("dev", DB, "analytics", 1)
        ),
    )
    .unwrap();
    (tmp, dir)
}

/// Every relation of the `analytics` schema, `name:kind`, sorted.
fn relations(pg: &PgServer) -> Vec<String> {
    let mut c = pg.client(DB);
    c.query(
        "select table_name::text || ':' || table_type::text from information_schema.tables \
         where table_schema = 'analytics' order by 1",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

fn count(pg: &PgServer, relation: &str) -> i64 {
    pg.client(DB)
        .query_one(&format!("select count(*) from analytics.{relation}"), &[])
        .unwrap()
        .get(0)
}

fn ok(r: &Run) {
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn every_relation_survives_swaps_failures_kills_and_restarts() {
    let Some(pg) = PgServer::start("every_relation_survives_swaps_failures_kills_and_restarts")
    else {
        return;
    };
    pg.create_db(DB);
    let (_tmp, dir) = project(&pg);
    ok(&sluice(&dir, &["build"]));
    // A report someone made by hand on the table: sluice does not know it, and must not lose it.
    pg.client(DB)
        .batch_execute(
            "create view analytics.manual_report as select sum(n) as users from analytics.plans",
        )
        .unwrap();
    let all = relations(&pg);
    assert_eq!(
        all,
        [
            "manual_report:VIEW",
            "plans:BASE TABLE",
            "plans_view:VIEW",
            "stg_users:VIEW",
            "users:BASE TABLE",
            "users_by_plan:VIEW"
        ]
    );

    // 1. A full-refresh seed replaces the table the views read: they are there, on the new rows.
    std::fs::write(
        dir.join("seeds/users.csv"),
        "id,name,plan\n1,ann,pro\n2,bob,free\n3,cy,pro\n4,di,free\n",
    )
    .unwrap();
    ok(&sluice(&dir, &["seed", "--full-refresh"]));
    assert_eq!(relations(&pg), all);
    assert_eq!(count(&pg, "stg_users"), 4);
    assert_eq!(count(&pg, "users_by_plan"), 2);

    // 2. The same, and then the view's own model fails: its previous version stays.
    std::fs::write(
        dir.join("models/stg_users.sql"),
        "select nope from {{ ref('users') }}",
    )
    .unwrap();
    let r = sluice(
        &dir,
        &["build", "--full-refresh", "-s", "users", "stg_users"],
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_eq!(relations(&pg), all);
    assert_eq!(count(&pg, "stg_users"), 4);
    std::fs::write(
        dir.join("models/stg_users.sql"),
        "select id, name, plan from {{ ref('users') }}",
    )
    .unwrap();

    // 3. A table swap (with the hand-made view and a model view on the table).
    ok(&sluice(&dir, &["run", "--full-refresh", "-s", "plans"]));
    assert_eq!(relations(&pg), all);
    let users: i64 = pg
        .client(DB)
        .query_one("select users::bigint from analytics.manual_report", &[])
        .unwrap()
        .get(0);
    assert_eq!(users, 4);

    // 4. sluice killed (SIGKILL) while it builds the table.
    let mut child = spawn(&dir, &["run", "-s", "plans+", "--vars", "{sleep: 30}"]);
    wait_for_query(&pg, DB, "pg_sleep(30)");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(relations(&pg), all);

    // 5. The server restarted while the table builds.
    let child = spawn(&dir, &["run", "-s", "plans+", "--vars", "{sleep: 31}"]);
    wait_for_query(&pg, DB, "pg_sleep(31)");
    pg.restart();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    // Whatever the killed session left half-done is rolled back once the server is back.
    let kept: Vec<String> = relations(&pg)
        .into_iter()
        .filter(|r| !r.contains("__dbt_tmp"))
        .collect();
    assert_eq!(kept, all);
    ok(&sluice(&dir, &["run", "-s", "plans+"]));
    assert_eq!(relations(&pg), all);

    // 6. A new seed without a column a view outside the run reads: the swap is refused, with
    //    the view named, and the old seed and every view stay.
    std::fs::write(dir.join("seeds/users.csv"), "id,name\n1,ann\n").unwrap();
    let r = sluice(&dir, &["seed", "--full-refresh"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("analytics.stg_users") && r.stdout.contains("cannot be recreated"),
        "{}",
        r.stdout
    );
    assert_eq!(relations(&pg), all);
    assert_eq!(count(&pg, "users"), 4);

    // 7. The same change made with the models that read the column, in one run: the views the
    //    swap cannot keep are rebuilt by their models, as dbt rebuilds them.
    std::fs::write(
        dir.join("models/stg_users.sql"),
        "select id, name from {{ ref('users') }}",
    )
    .unwrap();
    std::fs::write(
        dir.join("models/users_by_plan.sql"),
        "select 'all' as plan, count(*) as n from {{ ref('stg_users') }}",
    )
    .unwrap();
    std::fs::write(
        dir.join("models/plans.sql"),
        "{{ config(materialized='table') }}\nselect 'all' as plan, count(*) as n from {{ ref('users') }}",
    )
    .unwrap();
    ok(&sluice(&dir, &["build", "--full-refresh"]));
    assert_eq!(relations(&pg), all);
    assert_eq!(count(&pg, "stg_users"), 1);
    let users: i64 = pg
        .client(DB)
        .query_one("select users::bigint from analytics.manual_report", &[])
        .unwrap()
        .get(0);
    assert_eq!(users, 1);
}
