//! Faults found by probing the binary with hostile input: recursion that used to overflow the
//! stack (an abort, exit 134), `--threads` without bound, and profile secrets echoed in errors.
//! Each test writes its own small project and runs the real binary on a real DuckDB file (the
//! connection count on a real PostgreSQL server).

use std::path::Path;

use crate::pg_server::PgServer;
use crate::support::{sluice, Run};

const PROFILE: &str = "fp:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: fp.duckdb\n      threads: 4\n";

const REC_MACROS: &str = "{% macro rec(n) %}{% if n > 0 %}{{ rec(n-1) }}{% else %}1{% endif %}{% endmacro %}\n\
{% macro runaway(n) %}{{ runaway(n+1) }}{% endmacro %}\n\
{% macro via_dispatch(n) %}{{ return(adapter.dispatch('via_dispatch')(n)) }}{% endmacro %}\n\
{% macro default__via_dispatch(n) %}{% if n > 0 %}{% call wrap() %}{{ via_dispatch(n-1) }}{% endcall %}{% else %}1{% endif %}{% endmacro %}\n\
{% macro wrap() %}{{ caller() | trim }}{% endmacro %}\n";

/// A project `fp` with `models` (name, SQL), the recursive macros and a DuckDB profile.
fn project(models: &[(&str, &str)], profile: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fp");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::create_dir_all(dir.join("macros")).unwrap();
    std::fs::write(
        dir.join("dbt_project.yml"),
        "name: fp\nversion: '1.0'\nprofile: fp\n",
    )
    .unwrap();
    std::fs::write(dir.join("profiles.yml"), profile).unwrap();
    std::fs::write(dir.join("macros/rec.sql"), REC_MACROS).unwrap();
    for (name, sql) in models {
        std::fs::write(dir.join(format!("models/{name}.sql")), sql).unwrap();
    }
    (tmp, dir)
}

fn assert_no_abort(r: &Run) {
    assert_ne!(r.code, 134, "aborted: {r:?}");
    assert!(!r.stderr.contains("overflowed its stack"), "{r:?}");
    assert!(!r.stderr.contains("panicked"), "{r:?}");
}

fn errors(r: &Run) -> usize {
    r.stderr.matches("error[").count()
}

fn scalar(dir: &Path, sql: &str) -> String {
    let conn = duckdb::Connection::open(dir.join("fp.duckdb")).expect("open duckdb");
    conn.query_row(&format!("select ({sql})::varchar"), [], |r| r.get(0))
        .expect("query")
}

#[test]
fn nine_hundred_nested_macro_calls_parse_compile_and_run() {
    let (_t, dir) = project(
        &[
            ("deep", "select {{ rec(900) }} as x"),
            // Three macro calls per level: dispatch, the implementation and a `{% call %}`.
            ("deep_dispatch", "select {{ via_dispatch(300) }} as x"),
            (
                "deep_at_run",
                "select {% if execute %}{{ rec(900) }}{% else %}0{% endif %} + 1 as x",
            ),
        ],
        PROFILE,
    );
    let r = sluice(&dir, &["parse"]);
    assert_no_abort(&r);
    assert_eq!(r.code, 0, "{r:?}");
    let r = sluice(&dir, &["compile", "--inline", "{{ rec(900) }}"]);
    assert_no_abort(&r);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.lines().any(|l| l.trim() == "1"), "{r:?}");
    let r = sluice(&dir, &["run"]);
    assert_no_abort(&r);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(scalar(&dir, "select x from deep"), "1");
    assert_eq!(scalar(&dir, "select x from deep_dispatch"), "1");
    assert_eq!(scalar(&dir, "select x from deep_at_run"), "2");
}

#[test]
fn runaway_recursion_is_one_diagnostic_naming_the_macro_and_its_file() {
    // While parsing (rayon workers).
    let (_t, dir) = project(&[("loop", "select {{ runaway(0) }} as x")], PROFILE);
    for args in [&["parse"][..], &["build"][..]] {
        let r = sluice(&dir, args);
        assert_no_abort(&r);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert_eq!(errors(&r), 1, "{r:?}");
        assert!(r.stderr.contains("maximum recursion depth"), "{r:?}");
        assert!(r.stderr.contains("macro `runaway`"), "{r:?}");
        assert!(r.stderr.contains("macros/rec.sql"), "{r:?}");
        assert!(r.stderr.contains("models/loop.sql"), "{r:?}");
    }
    // On the command's own thread, and through dispatch and `{% call %}`.
    let (_t, dir) = project(&[("fine", "select 1 as x")], PROFILE);
    for inline in ["{{ runaway(0) }}", "{{ via_dispatch(100000) }}"] {
        let r = sluice(&dir, &["compile", "--inline", inline]);
        assert_no_abort(&r);
        assert_eq!(r.code, 2, "{inline}: {r:?}");
        assert_eq!(errors(&r), 1, "{r:?}");
        assert!(r.stderr.contains("maximum recursion depth"), "{r:?}");
        assert!(r.stderr.contains("macros/rec.sql"), "{r:?}");
    }
    // At run time (the run pool's workers): the node fails, the run goes on.
    let (_t, dir) = project(
        &[
            (
                "loop_at_run",
                "select {% if execute %}{{ runaway(0) }}{% else %}1{% endif %} as x",
            ),
            ("fine", "select 1 as x"),
        ],
        PROFILE,
    );
    let r = sluice(&dir, &["run"]);
    assert_no_abort(&r);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("maximum recursion depth"), "{r:?}");
    assert!(r.stdout.contains("macro `runaway`"), "{r:?}");
    assert_eq!(scalar(&dir, "select x from fine"), "1");
}

#[test]
fn zero_threads_and_non_integer_threads_are_errors() {
    let (_t, dir) = project(&[("one_model", "select 1 as x")], PROFILE);
    let r = sluice(&dir, &["build", "-s", "one_model", "--threads", "0"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(errors(&r), 1, "{r:?}");
    assert!(r.stderr.contains("--threads"), "{r:?}");
    assert!(r.stderr.contains("hint:"), "{r:?}");
    assert!(!dir.join("fp.duckdb").exists(), "nothing may run");

    for (value, says) in [
        ("many", "'many' is not of type 'integer'"),
        ("0", "less than the minimum of 1"),
        ("-3", "is not of type 'integer'"),
    ] {
        let profile = PROFILE.replace("threads: 4", &format!("threads: {value}"));
        let (_t, dir) = project(&[("one_model", "select 1 as x")], &profile);
        let r = sluice(&dir, &["build", "-s", "one_model"]);
        assert_eq!(r.code, 2, "{value}: {r:?}");
        assert_eq!(errors(&r), 1, "{r:?}");
        assert!(r.stderr.contains(says), "{value}: {r:?}");
        // The line of `threads:` in profiles.yml.
        assert!(r.stderr.contains("profiles.yml:7:1"), "{value}: {r:?}");
        assert!(r.stderr.contains("hint:"), "{r:?}");
    }
}

#[test]
fn huge_thread_counts_use_one_worker_per_runnable_node() {
    let (_t, dir) = project(
        &[
            ("a", "select 1 as x"),
            ("b", "select 2 as x"),
            ("c", "select 3 as x"),
        ],
        PROFILE,
    );
    let r = sluice(&dir, &["build", "--threads", "100000"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("PASS=3"), "{r:?}");
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).unwrap(),
    )
    .unwrap();
    let threads: Vec<&str> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["thread_id"].as_str().unwrap().split(' ').next().unwrap())
        .collect();
    assert_eq!(threads.len(), 3);
    for t in &threads {
        assert!(
            ["Thread-1", "Thread-2", "Thread-3"].contains(t),
            "more workers than nodes: {threads:?}"
        );
    }
    // The same from the profile's `threads:`.
    std::fs::write(
        dir.join("profiles.yml"),
        PROFILE.replace("threads: 4", "threads: 100000"),
    )
    .unwrap();
    let r = sluice(&dir, &["build", "-s", "a"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn huge_thread_counts_open_connections_only_as_needed_on_postgres() {
    let Some(pg) = PgServer::start("faults_threads") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fp");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::write(
        dir.join("dbt_project.yml"),
        "name: fp\nversion: '1.0'\nprofile: fp\n",
    )
    .unwrap();
    pg.create_db("fp");
    std::fs::write(
        dir.join("profiles.yml"),
        format!(
            "fp:\n  target: dev\n  outputs:\n{}",
            pg.output_yaml("dev", "fp", "public", 100000)
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("models/conns.sql"),
        "{{ config(materialized='table') }}\nselect count(*) as n from pg_stat_activity \
         where datname = current_database() and backend_type = 'client backend'",
    )
    .unwrap();
    let r = sluice(&dir, &["build", "-s", "conns"]);
    assert_eq!(r.code, 0, "{r:?}");
    let n: i64 = pg
        .client("fp")
        .query_one("select n from public.conns", &[])
        .unwrap()
        .get(0);
    // sluice's own connections while the one model ran (the worker's, maybe one more to
    // introspect): never one per requested thread.
    assert!((1..=2).contains(&n), "{n} connections open");
}

const SECRET: &str = "L1teralSecret";

/// Runs `args` and asserts that `SECRET` appears nowhere in the output or in any file sluice
/// wrote (artifacts, compiled SQL, logs).
fn assert_secret_kept(dir: &Path, args: &[&str]) -> Run {
    let r = sluice(dir, args);
    assert_no_abort(&r);
    assert!(!r.stdout.contains(SECRET), "{args:?} stdout: {r:?}");
    assert!(!r.stderr.contains(SECRET), "{args:?} stderr: {r:?}");
    for sub in ["target", "logs"] {
        if !dir.join(sub).exists() {
            continue;
        }
        for e in walkdir::WalkDir::new(dir.join(sub)).into_iter().flatten() {
            if e.file_type().is_file() {
                let bytes = std::fs::read(e.path()).unwrap();
                let text = String::from_utf8_lossy(&bytes);
                assert!(
                    !text.contains(SECRET),
                    "{} holds the secret",
                    e.path().display()
                );
            }
        }
    }
    r
}

#[test]
fn profile_secrets_never_appear_whatever_the_error() {
    let with =
        |line: &str| PROFILE.replace("      threads: 4\n", &format!("{line}      threads: 4\n"));
    let cases = [
        // The probe's case: a literal that is a Jinja syntax error.
        format!("      password: \"{SECRET}{{{{\"\n"),
        format!("      pass: \"{{{{ {SECRET} | nofilter }}}}\"\n"),
        format!("      token: \"{{% if %}}{SECRET}\"\n"),
        format!("      private_key_passphrase: \"{SECRET}{{{{ env_var('FP_UNSET_PW') }}}}\"\n"),
        format!("      client_secret: \"{{{{ {SECRET}() }}}}\"\n"),
        format!("      keyfile_json:\n        private_key: \"{{{{ x.{SECRET} }}}}\"\n"),
        format!("      settings:\n        s3_secret_access_key: \"{SECRET}{{%\"\n"),
        // YAML that does not parse, on the secret's own line.
        format!("      password: \"{SECRET}\n"),
        format!("      refresh_token: [{SECRET}\n"),
        format!("      password: {SECRET}: x\n"),
    ];
    for line in &cases {
        let (_t, dir) = project(&[("one_model", "select 1 as x")], &with(line));
        for args in [
            &["parse"][..],
            &["build", "--log-format", "json"][..],
            &["debug"][..],
        ] {
            let r = assert_secret_kept(&dir, args);
            assert_ne!(r.code, 0, "{line} {args:?}: {r:?}");
        }
    }
    // A missing variable is named (a name, not the secret).
    let (_t, dir) = project(&[("one_model", "select 1 as x")], &with(&cases[3]));
    let r = assert_secret_kept(&dir, &["parse"]);
    assert!(r.stderr.contains("'FP_UNSET_PW'"), "{r:?}");
    assert!(r.stderr.contains("`private_key_passphrase`"), "{r:?}");
    // An error elsewhere in the target (bad threads) with a secret beside it.
    let profile =
        with(&format!("      password: \"{SECRET}\"\n")).replace("threads: 4", "threads: {SECRET}");
    let profile = profile.replace("{SECRET}", SECRET);
    let (_t, dir) = project(&[("one_model", "select 1 as x")], &profile);
    let r = assert_secret_kept(&dir, &["parse"]);
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn a_valid_secret_stays_out_of_output_artifacts_and_templates() {
    let profile = PROFILE.replace(
        "      threads: 4\n",
        &format!(
            "      password: \"{SECRET}\"\n      api_key: \"{SECRET}-key\"\n      threads: 4\n"
        ),
    );
    let (_t, dir) = project(
        &[(
            "shows_target",
            "select '{{ target.password }}' as p, '{{ target.api_key }}' as k",
        )],
        &profile,
    );
    let r = assert_secret_kept(&dir, &["build"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(scalar(&dir, "select p || k from shows_target"), "********");
    let r = assert_secret_kept(&dir, &["debug"]);
    assert!(r.stdout.contains("password: ****"), "{r:?}");
    let r = assert_secret_kept(&dir, &["compile", "--inline", "{{ target }}"]);
    assert_eq!(r.code, 0, "{r:?}");
}
