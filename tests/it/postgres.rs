//! The Postgres adapter against real servers: the shop fixture and the demo give dbt's
//! results, materializations and incremental strategies behave the same on both engines, and
//! connection faults (wrong password, server down, server restarted mid-build) end clearly.

use std::path::Path;
use std::process::Command;

use crate::pg_server::{on_both_engines, Engine, PgServer, PASSWORD};
use crate::support::{copy_demo, copy_project, repo, sluice, Run};

fn sluice_env(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sluice"));
    c.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("DBT_PROFILES_DIR")
        .env_remove("DBT_TARGET");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run sluice");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn as_f64(v: &serde_json::Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// The facts of `tests/fixtures/shop/expected/relations.json` (row counts, sums, distinct counts, nulls, ranges,
/// column names; column types differ by engine) checked on `engine`.
fn check_facts(
    engine: &Engine,
    dir: &Path,
    profile: &str,
    expected: &serde_json::Value,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (rel, facts) in expected.as_object().expect("object") {
        let (schema, table) = rel.split_once('.').expect("schema.table");
        let fq = format!("\"{schema}\".\"{table}\"");
        let ttype = engine.scalar(
            dir,
            profile,
            &format!("select table_type from information_schema.tables where table_schema = '{schema}' and table_name = '{table}'"),
        );
        if ttype.is_null() {
            problems.push(format!("{rel}: relation is missing"));
            continue;
        }
        for (key, want) in facts.as_object().expect("facts") {
            let (got, want): (serde_json::Value, serde_json::Value) = match key.as_str() {
                "type" => (ttype.clone(), want.clone()),
                "columns" => {
                    let names: Vec<String> = want
                        .as_array()
                        .expect("columns")
                        .iter()
                        .map(|c| {
                            c.as_str()
                                .unwrap_or("")
                                .split(':')
                                .next()
                                .unwrap_or("")
                                .to_string()
                        })
                        .collect();
                    let got = engine.scalar(
                        dir,
                        profile,
                        &format!("select string_agg(column_name, ',' order by ordinal_position) from information_schema.columns where table_schema = '{schema}' and table_name = '{table}'"),
                    );
                    (got, names.join(",").into())
                }
                "row_count" => (
                    engine.scalar(dir, profile, &format!("select count(*) from {fq}")),
                    want.clone(),
                ),
                k => {
                    let (f, col) = k.split_once('(').expect("fact(col)");
                    let col = format!("\"{}\"", col.trim_end_matches(')'));
                    let sql = match f {
                        "sum" => format!("select cast(sum({col}) as double precision) from {fq}"),
                        "distinct" => format!("select count(distinct {col}) from {fq}"),
                        "nulls" => format!("select count(*) - count({col}) from {fq}"),
                        "range" => format!(
                            "select coalesce(cast(min({col}) as varchar), 'None') || ' .. ' || coalesce(cast(max({col}) as varchar), 'None') from {fq}"
                        ),
                        other => panic!("unknown fact {other}"),
                    };
                    (engine.scalar(dir, profile, &sql), want.clone())
                }
            };
            let same = match (as_f64(&want), as_f64(&got)) {
                (Some(w), Some(g)) => (w - g).abs() <= 1e-6 * w.abs().max(1.0),
                _ => got == want,
            };
            if !same {
                problems.push(format!("{rel}: {key}: expected {want}, got {got}"));
            }
        }
    }
    problems
}

#[test]
fn shop_gives_dbts_results_on_both_engines() {
    let expected = crate::shop::expected("relations.json");
    on_both_engines("shop_gives_dbts_results_on_both_engines", |engine| {
        let (_tmp, dir) = crate::shop::shop();
        engine.write_profile(&dir, "shop", "main", 4);
        let r = sluice(&dir, &["build"]);
        assert_eq!(r.code, 0, "{}: {}{}", engine.name(), r.stdout, r.stderr);
        assert!(
            r.stdout.contains("PASS=28 WARN=0 ERROR=0 SKIP=0"),
            "{}: {}",
            engine.name(),
            r.stdout
        );
        let problems = check_facts(engine, &dir, "shop", &expected);
        assert!(
            problems.is_empty(),
            "{}: relations differ from dbt's:\n{}",
            engine.name(),
            problems.join("\n")
        );
        for artifact in ["manifest.json", "run_results.json"] {
            let text = std::fs::read_to_string(dir.join("target").join(artifact)).unwrap();
            assert!(!text.contains(PASSWORD), "{artifact} holds the password");
        }
        assert!(!r.stdout.contains(PASSWORD) && !r.stderr.contains(PASSWORD));
        // A second build replaces every relation in place (swap path, seeds refilled).
        let r = sluice(&dir, &["build"]);
        assert!(
            r.stdout.contains("PASS=28"),
            "{}: {}{}",
            engine.name(),
            r.stdout,
            r.stderr
        );
        let leftovers = engine.scalar(
            &dir,
            "shop",
            "select count(*) from information_schema.tables where table_name like '%__dbt_tmp' or table_name like '%__dbt_backup'",
        );
        assert_eq!(as_f64(&leftovers), Some(0.0), "{}", engine.name());
    });
}

/// The `engines` fixture: incremental strategies, dispatch, introspection, seeds, swaps.
#[test]
fn materializations_behave_the_same_on_both_engines() {
    on_both_engines(
        "materializations_behave_the_same_on_both_engines",
        |engine| {
            let name = engine.name();
            let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/engines"));
            engine.write_profile(&dir, "engines", "analytics", 2);
            let q = |sql: &str| engine.scalar(&dir, "engines", sql);
            let num = |sql: &str| as_f64(&q(sql)).unwrap_or(f64::NAN);

            let r = sluice(&dir, &["build"]);
            assert_eq!(r.code, 0, "{name}: {}{}", r.stdout, r.stderr);
            assert_eq!(
                num("select count(*) from analytics.raw_events"),
                5.0,
                "{name}"
            );
            assert_eq!(
                num("select count(*) from analytics.events_append"),
                3.0,
                "{name}"
            );
            assert_eq!(
                num("select sum(total) from analytics.user_totals_merge"),
                13.75,
                "{name}"
            );
            assert_eq!(
            q("select greeting || '|' || seed_columns || '|' || cast(seed_found as varchar) || '|' || cast(seed_listed as varchar) from analytics.introspection"),
            serde_json::json!(format!("{name}|id,batch,user_id,kind,amount,happened_on,note|true|1")),
            "dispatch picks the {name}__ variant; get_columns_in_relation, get_relation and list_relations see the seed"
        );
            // Seeds: quotes and commas survive; an empty field is NULL; `null` is NULL only on
            // Postgres (dbt-postgres loads through agate, dbt-duckdb through DuckDB's COPY).
            assert_eq!(
                q("select note from analytics.raw_events where id = 5"),
                serde_json::json!("quote \" inside")
            );
            assert_eq!(
                q("select note from analytics.raw_events where id = 3"),
                serde_json::json!("comma, inside")
            );
            let nulls = num("select count(*) - count(note) from analytics.raw_events");
            assert_eq!(nulls, if name == "postgres" { 2.0 } else { 1.0 }, "{name}");

            // Second batch: append adds, delete+insert and merge replace by key.
            let r = sluice(&dir, &["build", "--vars", "{batch: 2}"]);
            assert_eq!(r.code, 0, "{name}: {}{}", r.stdout, r.stderr);
            assert_eq!(
                num("select count(*) from analytics.events_append"),
                5.0,
                "{name}"
            );
            for m in ["user_totals_merge", "user_totals_delete_insert"] {
                assert_eq!(
                    num(&format!("select count(*) from analytics.{m}")),
                    3.0,
                    "{name} {m}"
                );
                assert_eq!(
                    num(&format!("select sum(total) from analytics.{m}")),
                    34.25,
                    "{name} {m}"
                );
                assert_eq!(
                    num(&format!(
                        "select events from analytics.{m} where user_id = 11"
                    )),
                    2.0,
                    "{name} {m}"
                );
            }
            assert_eq!(num("select batch from analytics.fragile"), 2.0, "{name}");

            // A failing rebuild leaves the previous table and view and their rows in place.
            let r = sluice(
                &dir,
                &[
                    "run",
                    "-s",
                    "fragile fragile_view",
                    "--vars",
                    "{batch: 3, break: true}",
                ],
            );
            assert_eq!(r.code, 1, "{name}: {}{}", r.stdout, r.stderr);
            assert!(r.stdout.contains("ERROR=2"), "{name}: {}", r.stdout);
            assert_eq!(num("select batch from analytics.fragile"), 2.0, "{name}");
            assert_eq!(
                num("select batch from analytics.fragile_view"),
                2.0,
                "{name}"
            );
            assert_eq!(
            num("select count(*) from information_schema.tables where table_name like '%__dbt_%'"),
            0.0,
            "{name}: no intermediate relation left behind"
        );
        },
    );
}

#[test]
fn identifiers_longer_than_63_bytes_are_an_error_on_postgres() {
    let Some(pg) = PgServer::start("identifiers_longer_than_63_bytes_are_an_error_on_postgres")
    else {
        return;
    };
    let engine = Engine::Postgres(pg);
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/engines"));
    engine.write_profile(&dir, "engines", "analytics", 1);
    let long = format!("model_{}", "x".repeat(60));
    std::fs::write(
        dir.join("models").join(format!("{long}.sql")),
        "select 1 as one",
    )
    .unwrap();
    let r = sluice(&dir, &["run", "-s", &long]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("66 bytes long") && r.stdout.contains("63 bytes"),
        "{}",
        r.stdout
    );
    // A name that fits exactly works, and its `__dbt_tmp` sibling is shortened to fit.
    let fits = format!("m{}", "y".repeat(62));
    std::fs::write(
        dir.join("models").join(format!("{fits}.sql")),
        "select 1 as one",
    )
    .unwrap();
    let r = sluice(&dir, &["run", "-s", &fits]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = sluice(&dir, &["run", "-s", &fits]);
    assert_eq!(
        r.code, 0,
        "rebuild through the swap: {}{}",
        r.stdout, r.stderr
    );
    assert_eq!(
        engine.scalar(
            &dir,
            "engines",
            &format!("select count(*) from analytics.\"{fits}\"")
        ),
        serde_json::json!("1")
    );
    // A schema name that long is no error (dbt-postgres lets the server cut it): sluice names
    // it as the server keeps it, and builds and rebuilds there.
    let schema = "s".repeat(70);
    std::fs::write(
        dir.join("models/long_schema.sql"),
        format!("{{{{ config(schema='{schema}') }}}}\nselect 2 as two"),
    )
    .unwrap();
    for _ in 0..2 {
        let r = sluice(&dir, &["run", "-s", "long_schema"]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    }
    let kept = format!("analytics_{schema}")[..63].to_string();
    assert_eq!(
        engine.scalar(
            &dir,
            "engines",
            &format!("select two from \"{kept}\".long_schema")
        ),
        serde_json::json!("2")
    );
}

/// The demo at the repository root, with its `pg` target reading the `PG*` variables.
#[test]
fn demo_builds_green_on_postgres() {
    let Some(pg) = PgServer::start("demo_builds_green_on_postgres") else {
        return;
    };
    pg.create_db("saas_ops");
    let (_tmp, dir) = copy_demo();
    let env = [
        ("PGHOST", "127.0.0.1".to_string()),
        ("PGPORT", pg.port.to_string()),
        ("PGUSER", "postgres".to_string()),
        ("PGPASSWORD", PASSWORD.to_string()),
        ("PGDATABASE", "saas_ops".to_string()),
    ];
    let r = sluice_env(&dir, &["build", "--target", "pg"], &env);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ERROR=0 SKIP=0"), "{}", r.stdout);
    assert!(!r.stdout.contains(PASSWORD) && !r.stderr.contains(PASSWORD));
    let r2 = sluice_env(&dir, &["build", "--target", "pg"], &env);
    assert_eq!(r2.code, 0, "second build: {}{}", r2.stdout, r2.stderr);
    let mut c = pg.client("saas_ops");
    let n: i64 = c
        .query_one("select count(*) from main.fct_mrr", &[])
        .unwrap()
        .get(0);
    assert!(n > 0, "fct_mrr is empty");
}

fn profile_with(dir: &Path, port: u16, password: &str) {
    std::fs::write(
        dir.join("profiles.yml"),
        format!(
            "engines:\n  target: warehouse\n  outputs:\n    warehouse:\n      type: postgres\n      host: 127.0.0.1\n      port: {port}\n      user: postgres\n      password: \"{password}\"\n      dbname: postgres\n      schema: analytics\n      threads: 2\n      connect_timeout: 3\n"
        ),
    )
    .unwrap();
}

/// Replaces the port number (random per run) in what users see.
fn redact_port(text: &str, port: u16) -> String {
    text.replace(&port.to_string(), "[PORT]")
}

/// Writes the `engines` profile: target `dev` on `pg`'s database `db` (schema `analytics`, one
/// thread), with `extra` keys (indented YAML lines) appended to the output.
fn engines_profile(dir: &Path, pg: &PgServer, db: &str, extra: &str) {
    std::fs::write(
        dir.join("profiles.yml"),
        format!(
            "engines:\n  target: dev\n  outputs:\n{}{extra}",
            pg.output_yaml("dev", db, "analytics", 1)
        ),
    )
    .unwrap();
}

/// Replaces the project's models with `models` (file stem, SQL).
fn only_models(dir: &Path, models: &[(&str, &str)]) {
    let folder = dir.join("models");
    for f in std::fs::read_dir(&folder).unwrap().flatten() {
        std::fs::remove_file(f.path()).unwrap();
    }
    for (name, sql) in models {
        std::fs::write(folder.join(format!("{name}.sql")), sql).unwrap();
    }
}

#[test]
fn wrong_password_names_the_target_never_the_password() {
    let Some(pg) = PgServer::start("wrong_password_names_the_target_never_the_password") else {
        return;
    };
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/engines"));
    let wrong = "not-the-password-91c2";
    profile_with(&dir, pg.port, wrong);
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains(wrong) && !r.stderr.contains(wrong));
    insta::assert_snapshot!(redact_port(&r.stderr, pg.port));
    let r = sluice(&dir, &["debug"]);
    assert!(!r.stdout.contains(wrong) && !r.stderr.contains(wrong));
    assert!(r.stdout.contains("password: ****"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Connection test: [ERROR]"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("1 check failed:"), "{}", r.stdout);
    assert_eq!(r.code, 1, "a failed check: {}", r.stdout);
}

/// Needs no server: nothing listens on the port.
#[test]
fn server_down_is_a_clear_error_naming_the_target() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/engines"));
    profile_with(&dir, port, "whatever-secret-pw");
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("whatever-secret-pw"));
    insta::assert_snapshot!(redact_port(&r.stderr, port));
}

#[test]
fn server_restarted_mid_build_fails_that_node_and_recovers() {
    let Some(pg) = PgServer::start("server_restarted_mid_build_fails_that_node_and_recovers")
    else {
        return;
    };
    pg.create_db("engines");
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/engines"));
    engines_profile(&dir, &pg, "engines", "      retries: 10\n");
    // One worker: `a_slow` runs first; the server restarts while it sleeps.
    only_models(
        &dir,
        &[
            ("a_slow", "select 1 as x from (select pg_sleep(20)) s"),
            ("b_child", "select x from {{ ref('a_slow') }}"),
            ("c_independent", "select 2 as y"),
        ],
    );
    let child = spawn_sluice(&dir, &["run"]);
    wait_for_query(&pg, "engines", "pg_sleep(20)");
    pg.restart();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("PASS=1 WARN=0 ERROR=1 SKIP=1"), "{stdout}");
    let rr: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).unwrap(),
    )
    .unwrap();
    let slow = rr["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unique_id"] == "model.engines.a_slow")
        .unwrap();
    assert_eq!(slow["status"], "error");
    let msg = slow["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("terminat") || msg.contains("connection"),
        "the error says the connection went away: {msg}"
    );
    // Nothing half-built, and the next build succeeds on the restarted server.
    let mut c = pg.client("engines");
    let left: i64 = c
        .query_one(
            "select count(*) from information_schema.tables where table_schema = 'analytics' and table_name like '%dbt%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    std::fs::write(dir.join("models/a_slow.sql"), "select 1 as x").unwrap();
    let r = sluice(&dir, &["run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

/// Starts sluice in the background, its output captured.
pub(crate) fn spawn_sluice(dir: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until a statement containing `needle` runs on the server (another session's).
pub(crate) fn wait_for_query(pg: &PgServer, db: &str, needle: &str) {
    let mut watcher = pg.client(db);
    let started = std::time::Instant::now();
    loop {
        let n: i64 = watcher
            .query_one(
                "select count(*) from pg_stat_activity where query like $1 and pid <> pg_backend_pid()",
                &[&format!("%{needle}%")],
            )
            .unwrap()
            .get(0);
        if n > 0 {
            return;
        }
        assert!(started.elapsed().as_secs() < 60, "`{needle}` never ran");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// When the server goes down and stays down, the node that was running fails, the next one
/// finds it cannot reconnect, and the nodes not started yet are skipped: two errors, not one
/// per remaining node.
#[test]
fn server_down_for_good_stops_the_run_after_one_reconnect() {
    let Some(pg) = PgServer::start("server_down_for_good_stops_the_run_after_one_reconnect") else {
        return;
    };
    pg.create_db("engines");
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/engines"));
    engines_profile(&dir, &pg, "engines", "");
    let mut models = vec![(
        "a_slow".to_string(),
        "select 1 as x from (select pg_sleep(20)) s".to_string(),
    )];
    for i in 0..8 {
        models.push((format!("m{i}"), format!("select {i} as y")));
    }
    let refs: Vec<(&str, &str)> = models
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    only_models(&dir, &refs);
    let child = spawn_sluice(&dir, &["run", "--threads", "1"]);
    wait_for_query(&pg, "engines", "pg_sleep(20)");
    pg.stop();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let rr: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).unwrap(),
    )
    .unwrap();
    let statuses: Vec<&str> = rr["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap_or_default())
        .collect();
    let errors = statuses.iter().filter(|s| **s == "error").count();
    let skipped = statuses.iter().filter(|s| **s == "skipped").count();
    assert!(errors <= 2, "{statuses:?}\n{stdout}");
    assert_eq!(errors + skipped, 9, "{statuses:?}\n{stdout}");
    assert!(stdout.contains("cannot connect to target"), "{stdout}");
}

/// `sslmode` on rustls against a server whose certificate (for `localhost`) a throwaway CA
/// issued: `require` encrypts without checking, `disable` does not encrypt, `verify-ca` checks
/// the chain against `sslrootcert` whatever the host, `verify-full` also wants the host named in
/// the certificate, and both refuse a certificate they cannot trust.
#[test]
fn sslmodes_encrypt_and_verify_as_libpq_does() {
    let Some((pg, certs)) = PgServer::start_tls("sslmodes_encrypt_and_verify_as_libpq_does") else {
        return;
    };
    let ca = certs.join("ca.crt");
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/engines"));
    let ssl_in_use = |extra: &str| -> Run {
        engines_profile(&dir, &pg, "postgres", extra);
        sluice(
            &dir,
            &[
                "show",
                "--inline",
                "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
            ],
        )
    };
    let r = ssl_in_use("      sslmode: require\n");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("| true"), "{}", r.stdout);
    let r = ssl_in_use("      sslmode: disable\n");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("| false"), "{}", r.stdout);
    let rooted = |mode: &str| {
        format!(
            "      sslmode: {mode}\n      sslrootcert: \"{}\"\n",
            ca.display()
        )
    };
    // The profile connects to 127.0.0.1, which the certificate does not name.
    let r = ssl_in_use(&rooted("verify-ca"));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("| true"), "{}", r.stdout);
    let r = ssl_in_use(&rooted("verify-full"));
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.to_lowercase().contains("certificate"),
        "{}",
        r.stderr
    );
    // By the name it was issued for, verify-full accepts it.
    let profile = std::fs::read_to_string(dir.join("profiles.yml")).unwrap();
    std::fs::write(
        dir.join("profiles.yml"),
        profile.replace("host: 127.0.0.1", "host: localhost"),
    )
    .unwrap();
    let r = sluice(
        &dir,
        &[
            "show",
            "--inline",
            "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("| true"), "{}", r.stdout);
    // Without the root, the self-signed certificate is refused.
    let r = ssl_in_use("      sslmode: verify-full\n");
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("target `dev`") && r.stderr.to_lowercase().contains("certificate"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint: check `sslmode`"), "{}", r.stderr);
    // Client-certificate login (`sslcert` / `sslkey`), for a role that has no password.
    let cert_login = |with_cert: bool| -> Run {
        let mut out = format!(
            "engines:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: localhost\n      port: {}\n      user: certuser\n      dbname: postgres\n      schema: analytics\n      threads: 1\n      sslmode: verify-full\n      sslrootcert: \"{}\"\n",
            pg.port,
            ca.display()
        );
        if with_cert {
            out.push_str(&format!(
                "      sslcert: \"{}\"\n      sslkey: \"{}\"\n",
                certs.join("client.crt").display(),
                certs.join("client.key").display()
            ));
        }
        std::fs::write(dir.join("profiles.yml"), out).unwrap();
        sluice(
            &dir,
            &["show", "--inline", "select current_user::text as who"],
        )
    };
    let r = cert_login(true);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("| certuser"), "{}", r.stdout);
    let r = cert_login(false);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("target `dev`"), "{}", r.stderr);
}

/// A statement cancelled by the server (`statement_timeout`, set by a pre-hook) fails its node
/// and skips its children; independent nodes still build, and the session stays usable.
#[test]
fn statement_timeout_fails_only_that_branch() {
    let Some(pg) = PgServer::start("statement_timeout_fails_only_that_branch") else {
        return;
    };
    let engine = Engine::Postgres(pg);
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/engines"));
    engine.write_profile(&dir, "engines", "analytics", 1);
    only_models(
        &dir,
        &[
            (
                "a_too_slow",
                "{{ config(pre_hook=\"set statement_timeout = '200ms'\", post_hook=\"reset statement_timeout\") }}\nselect 1 as x from (select pg_sleep(5)) s",
            ),
            ("b_child", "select x from {{ ref('a_too_slow') }}"),
            ("c_independent", "select 2 as y from (select pg_sleep(0.5)) s"),
        ],
    );
    let r = sluice(&dir, &["run"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("PASS=1 WARN=0 ERROR=1 SKIP=1"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("canceling statement due to statement timeout"),
        "{}",
        r.stdout
    );
    assert_eq!(
        engine.scalar(
            &dir,
            "engines",
            "select count(*) from information_schema.tables where table_schema = 'analytics'"
        ),
        serde_json::json!("1"),
        "only c_independent exists; no intermediate relation is left"
    );
}

/// `role`, `search_path`, `keepalives_idle`, `retries` and `application_name` reach the session.
#[test]
fn profile_session_keys_reach_the_session() {
    let Some(pg) = PgServer::start("profile_session_keys_reach_the_session") else {
        return;
    };
    pg.create_db("engines");
    pg.client("engines")
        .batch_execute(
            "create role analyst; grant create on database engines to analyst; create schema lookup; create table lookup.answer as select 42 as v; grant usage on schema lookup to analyst; grant select on lookup.answer to analyst",
        )
        .unwrap();
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/engines"));
    engines_profile(
        &dir,
        &pg,
        "engines",
        "      role: analyst\n      search_path: \"lookup, public\"\n      keepalives_idle: 30\n      retries: 0\n      application_name: sluice-test\n",
    );
    // `answer` unqualified: found through the search_path.
    only_models(
        &dir,
        &[(
            "session",
            "select current_user::text as who, current_setting('search_path') as path, current_setting('application_name') as app, (select v from answer) as v",
        )],
    );
    let r = sluice(&dir, &["run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let row = pg
        .client("engines")
        .query_one(
            "select who, path, app, v, (select tableowner::text from pg_tables where tablename = 'session') from analytics.session",
            &[],
        )
        .unwrap();
    let (who, path, app, v, owner): (String, String, String, i32, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    assert_eq!(
        (who.as_str(), path.as_str(), app.as_str(), v, owner.as_str()),
        ("analyst", "lookup, public", "sluice-test", 42, "analyst")
    );
}

/// dbt's contract preflight check on PostgreSQL: the query's column types (as psycopg2 names
/// them) must be the contract's, for tables, views and incremental models alike.
#[test]
fn enforced_contracts_are_checked_before_building_on_postgres() {
    let Some(pg) = PgServer::start("enforced_contracts_are_checked_before_building_on_postgres")
    else {
        return;
    };
    let engine = Engine::Postgres(pg);
    let (_tmp, dir) = crate::support::duckdb_project(
        "contracts",
        "",
        &[
            ("models/as_view.sql", "{{ config(materialized='view') }}\nselect 1 as id, 'a' as name"),
            (
                "models/schema.yml",
                "models:\n  - name: as_view\n    config:\n      contract: {enforced: true}\n    columns:\n      - name: id\n        data_type: text\n      - name: name\n        data_type: text\n",
            ),
        ],
    );
    engine.write_profile(&dir, "contracts", "analytics", 1);
    let r = sluice(&dir, &["run"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    for part in [
        "enforced contract that failed",
        "| id ",
        "INTEGER",
        "TEXT",
        "data type mismatch",
    ] {
        assert!(r.stdout.contains(part), "{part}: {}", r.stdout);
    }
    std::fs::write(
        dir.join("models/as_view.sql"),
        "{{ config(materialized='view') }}\nselect '1'::text as id, 'a' as name",
    )
    .unwrap();
    let r = sluice(&dir, &["run"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

/// `grants` as dbt-postgres applies them: granted after the build, revoked when no longer
/// configured (on a rebuilt view, an incremental model and a seed refilled in place), left alone
/// when the config is `{}`, and an unknown role is the warehouse's error. On DuckDB, which has
/// no grants, the config is a no-op.
#[test]
fn grants_follow_the_config_on_postgres() {
    on_both_engines("grants_follow_the_config_on_postgres", |engine| {
        let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/engines"));
        engine.write_profile(&dir, "engines", "analytics", 1);
        if let Engine::Postgres(pg) = engine {
            let mut c = pg.client("engines");
            c.batch_execute("create role reader_a; create role reader_b")
                .unwrap();
        }
        let models = dir.join("models");
        std::fs::write(models.join("g_view.sql"), "select 1 as id").unwrap();
        std::fs::write(
            models.join("g_inc.sql"),
            "{{ config(materialized='incremental') }} select 1 as id",
        )
        .unwrap();
        let props = |view: &str, inc: &str| {
            format!(
                "version: 2\nmodels:\n  - name: g_view\n    config:\n      grants: {view}\n  - name: g_inc\n    config:\n      grants: {inc}\n"
            )
        };
        let grants = |rel: &str| {
            engine.scalar(
                &dir,
                "engines",
                &format!(
                    "select coalesce(string_agg(grantee || ':' || lower(privilege_type), ',' order by grantee, privilege_type), '') \
                     from information_schema.role_table_grants \
                     where table_schema = 'analytics' and table_name = '{rel}' and grantee like 'reader%'"
                ),
            )
        };
        std::fs::write(
            models.join("g.yml"),
            props("{select: [reader_a]}", "{select: [reader_a, reader_b]}"),
        )
        .unwrap();
        let r = sluice(&dir, &["--debug", "run", "-s", "g_view", "g_inc"]);
        assert_eq!(r.code, 0, "{}: {}{}", engine.name(), r.stdout, r.stderr);
        let Engine::Postgres(_) = engine else {
            assert!(!r.stdout.contains("grant "), "{}", r.stdout);
            return;
        };
        assert_eq!(grants("g_view"), "reader_a:select");
        assert_eq!(grants("g_inc"), "reader_a:select,reader_b:select");

        // Nothing changes: nothing is granted or revoked on the incremental model.
        let r = sluice(&dir, &["--debug", "run", "-s", "g_inc"]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(
            !r.stdout.contains("grant ") && !r.stdout.contains("revoke "),
            "{}",
            r.stdout
        );

        // Another grantee on the view; one grantee fewer and a new privilege on the increment.
        std::fs::write(
            models.join("g.yml"),
            props(
                "{select: [reader_b]}",
                "{select: [reader_b], insert: [reader_a]}",
            ),
        )
        .unwrap();
        let r = sluice(&dir, &["--debug", "run", "-s", "g_view", "g_inc"]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("revoke "), "{}", r.stdout);
        assert_eq!(grants("g_view"), "reader_b:select");
        assert_eq!(grants("g_inc"), "reader_a:insert,reader_b:select");

        // `{}` leaves what is there; `select: []` revokes every privilege granted (the config
        // names all the grants the relation should have, as in dbt).
        std::fs::write(models.join("g.yml"), props("{}", "{select: []}")).unwrap();
        let r = sluice(&dir, &["run", "-s", "g_inc"]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert_eq!(grants("g_inc"), "");

        // A role that does not exist is the server's error, on the model that names it.
        std::fs::write(models.join("g.yml"), props("{select: [nobody_here]}", "{}")).unwrap();
        let r = sluice(&dir, &["run", "-s", "g_view"]);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains("role \"nobody_here\" does not exist"),
            "{}",
            r.stdout
        );
    });
}

/// The `engines` fixture with `files` (path, text) added, on a fresh PostgreSQL server (schema
/// `analytics`, one thread); `None` when the server binaries are missing (see `pg_server`).
fn engines_on_postgres(
    test: &str,
    files: &[(&str, &str)],
) -> Option<(Engine, tempfile::TempDir, std::path::PathBuf)> {
    let engine = Engine::Postgres(PgServer::start(test)?);
    let (tmp, dir) = copy_project(&repo().join("tests/fixtures/engines"));
    engine.write_profile(&dir, "engines", "analytics", 1);
    for (path, text) in files {
        std::fs::write(dir.join(path), text).unwrap();
    }
    Some((engine, tmp, dir))
}

/// On PostgreSQL a column's size is read apart from its type, as dbt-postgres reads
/// `information_schema.columns`: `character varying(20)` is dtype `character varying` with
/// `char_size` 20 (so `is_string()` holds), `numeric(10,2)` has precision and scale.
#[test]
fn columns_carry_their_sizes_apart_on_postgres() {
    let Some((_engine, _tmp, dir)) = engines_on_postgres(
        "columns_carry_their_sizes_apart_on_postgres",
        &[
            (
                "models/typed.sql",
                "select '8'::varchar(20) as v, 6.5::numeric(10,2) as n, 't'::text as t, 1::int as i",
            ),
            (
                "macros/show_columns.sql",
                "{% macro show_columns() %}{% set rel = api.Relation.create(database=target.database, schema=target.schema, identifier='typed') %}\
                 {% for c in adapter.get_columns_in_relation(rel) %}\
                 {{ log('col ' ~ [c.name, c.dtype, c.char_size, c.numeric_precision, c.numeric_scale, c.data_type, c.is_string(), c.is_numeric(), c.is_number()] | join('|'), info=True) }}\
                 {% endfor %}{% endmacro %}",
            ),
        ],
    ) else {
        return;
    };
    let r = sluice(&dir, &["run", "-s", "typed"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = sluice(&dir, &["run-operation", "show_columns"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let cols: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.split_once("col ").map(|(_, c)| c))
        .collect();
    assert_eq!(
        cols,
        [
            "v|character varying|20|None|None|character varying(20)|True|False|False",
            "n|numeric|None|10|2|numeric(10,2)|False|True|True",
            "t|text|None|None|None|text|True|False|False",
            "i|integer|None|32|0|integer|False|False|True",
        ],
        "{}",
        r.stdout
    );
}

/// `materialized='materialized_view'` on PostgreSQL, as dbt-postgres builds it: created as one,
/// refreshed in place by the next run (rows added to what it reads appear), replaced on
/// `--full-refresh` and when it was a table, replaced by a table when the config changes, and
/// in the catalog as `MATERIALIZED VIEW`. DuckDB has no such materialization.
#[test]
fn materialized_views_on_postgres() {
    on_both_engines("materialized_views_on_postgres", |engine| {
        let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/engines"));
        engine.write_profile(&dir, "engines", "analytics", 1);
        let model = dir.join("models/mv.sql");
        let write = |mat: &str| {
            std::fs::write(
                &model,
                format!("{{{{ config(materialized='{mat}') }}}} select * from {{{{ ref('raw_events') }}}}"),
            )
            .unwrap()
        };
        write("materialized_view");
        let r = sluice(&dir, &["seed"]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        let r = sluice(&dir, &["--debug", "run", "-s", "mv"]);
        let Engine::Postgres(pg) = engine else {
            assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
            assert!(
                r.stdout.contains(
                    "No materialization 'materialized_view' was found for adapter duckdb"
                ),
                "{}",
                r.stdout
            );
            return;
        };
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("Applying CREATE to: "), "{}", r.stdout);
        let q = |sql: &str| engine.scalar(&dir, "engines", sql);
        let kind = || {
            q("select c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
               where n.nspname = 'analytics' and c.relname = 'mv'")
        };
        assert_eq!(kind(), "m");
        assert_eq!(q("select count(*) from analytics.mv"), "5");
        pg.client("engines")
            .batch_execute(
                "insert into analytics.raw_events select * from analytics.raw_events limit 1",
            )
            .unwrap();
        assert_eq!(q("select count(*) from analytics.mv"), "5");
        let r = sluice(&dir, &["--debug", "run", "-s", "mv"]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains("refresh materialized view"),
            "{}",
            r.stdout
        );
        assert_eq!(q("select count(*) from analytics.mv"), "6");

        // A changed `indexes` config: applied by altering the view's indexes (the default), or
        // left with a warning (`continue`), or the model's error (`fail`).
        let indexes = || {
            q("select string_agg(indexdef, ' | ') from pg_indexes where schemaname = 'analytics' and tablename = 'mv'")
        };
        let with_index = |column: &str, on_change: &str| {
            std::fs::write(
                &model,
                format!("{{{{ config(materialized='materialized_view', on_configuration_change='{on_change}', indexes=[{{'columns': ['{column}']}}]) }}}} select * from {{{{ ref('raw_events') }}}}"),
            )
            .unwrap()
        };
        with_index("user_id", "apply");
        let r = sluice(&dir, &["--debug", "run", "-s", "mv"]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("Applying ALTER to: "), "{}", r.stdout);
        assert!(
            indexes().as_str().unwrap().ends_with("(user_id)"),
            "{}",
            indexes()
        );
        with_index("amount", "continue");
        let r = sluice(&dir, &["run", "-s", "mv"]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("was set to `continue`"), "{}", r.stdout);
        assert!(
            indexes().as_str().unwrap().ends_with("(user_id)"),
            "{}",
            indexes()
        );
        with_index("amount", "fail");
        let r = sluice(&dir, &["run", "-s", "mv"]);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("was set to `fail`"), "{}", r.stdout);
        write("materialized_view");
        let r = sluice(&dir, &["--debug", "run", "-s", "mv", "--full-refresh"]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("Applying REPLACE to: "), "{}", r.stdout);
        assert_eq!(kind(), "m");

        let r = sluice(&dir, &["docs", "generate"]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        let catalog: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("target/catalog.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            catalog["nodes"]["model.engines.mv"]["metadata"]["type"],
            "MATERIALIZED VIEW"
        );

        write("table");
        let r = sluice(&dir, &["run", "-s", "mv"]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert_eq!(kind(), "r");
        write("materialized_view");
        let r = sluice(&dir, &["run", "-s", "mv"]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert_eq!(kind(), "m");
    });
}

/// The `indexes` config on PostgreSQL, as dbt-postgres's `create_indexes`: made when a table,
/// an incremental model's table, a seed's table or a materialized view is created, kept (not
/// made twice) by an incremental run and a seed refilled in place; a malformed entry is the
/// model's error.
#[test]
fn indexes_are_made_when_relations_are_created_on_postgres() {
    let Some((engine, _tmp, dir)) = engines_on_postgres(
        "indexes_are_made_when_relations_are_created_on_postgres",
        &[
            (
                "models/ix_table.sql",
                "{{ config(materialized='table', indexes=[{'columns': ['id'], 'unique': true}, {'columns': ['name'], 'type': 'hash'}]) }} select 1 as id, 'a' as name",
            ),
            (
                "models/ix_inc.sql",
                "{{ config(materialized='incremental', indexes=[{'columns': ['id']}]) }} select 1 as id",
            ),
            (
                "models/ix_mv.sql",
                "{{ config(materialized='materialized_view', indexes=[{'columns': ['id']}]) }} select 1 as id",
            ),
            (
                "seeds/ix.yml",
                "version: 2\nseeds:\n  - name: raw_events\n    config:\n      indexes: [{columns: [user_id]}]\n",
            ),
        ],
    ) else {
        return;
    };
    let models = dir.join("models");
    let count = |rel: &str| {
        engine.scalar(
            &dir,
            "engines",
            &format!("select count(*) from pg_indexes where schemaname = 'analytics' and tablename = '{rel}'"),
        )
    };
    let defs = |rel: &str| {
        engine.scalar(
            &dir,
            "engines",
            &format!("select string_agg(regexp_replace(indexdef, 'INDEX \\S+ ON', 'INDEX ON'), ' | ' order by indexdef) from pg_indexes where schemaname = 'analytics' and tablename = '{rel}'"),
        )
    };
    for _ in 0..2 {
        let r = sluice(
            &dir,
            &["build", "-s", "raw_events", "ix_table", "ix_inc", "ix_mv"],
        );
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert_eq!(count("ix_table"), "2");
        assert_eq!(count("ix_inc"), "1");
        assert_eq!(count("ix_mv"), "1");
        assert_eq!(count("raw_events"), "1");
    }
    let d = defs("ix_table");
    assert!(
        d.as_str()
            .unwrap()
            .contains("CREATE INDEX ON analytics.ix_table USING hash (name)")
            && d.as_str()
                .unwrap()
                .contains("CREATE UNIQUE INDEX ON analytics.ix_table USING btree (id)"),
        "{d}"
    );
    let r = sluice(&dir, &["run", "-s", "ix_inc", "--full-refresh"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(count("ix_inc"), "1");

    std::fs::write(
        models.join("ix_bad.sql"),
        "{{ config(materialized='table', indexes=[{'unique': true}]) }} select 1 as id",
    )
    .unwrap();
    let r = sluice(&dir, &["run", "-s", "ix_bad"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("an index needs `columns`"),
        "{}",
        r.stdout
    );
}

/// dbt-postgres's `unlogged: true`: the table (and an incremental model's first build) is
/// created `unlogged`; without it, tables are logged.
#[test]
fn unlogged_tables_on_postgres() {
    let Some((engine, _tmp, dir)) = engines_on_postgres(
        "unlogged_tables_on_postgres",
        &[
            (
                "models/u_table.sql",
                "{{ config(materialized='table', unlogged=true) }} select 1 as id",
            ),
            (
                "models/u_inc.sql",
                "{{ config(materialized='incremental', unlogged=true) }} select 1 as id",
            ),
            (
                "models/l_table.sql",
                "{{ config(materialized='table') }} select 1 as id",
            ),
        ],
    ) else {
        return;
    };
    let r = sluice(&dir, &["run", "-s", "u_table", "u_inc", "l_table"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let persistence = |rel: &str| {
        engine.scalar(
            &dir,
            "engines",
            &format!("select c.relpersistence::text from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'analytics' and c.relname = '{rel}'"),
        )
    };
    assert_eq!(persistence("u_table"), "u");
    assert_eq!(persistence("u_inc"), "u");
    assert_eq!(persistence("l_table"), "p");
}
