//! Slim CI and orchestration: `state:` / `result:` selection against a previous run's artifacts
//! (`--state`), `selectors.yml` (`--selector`, `default: true`), `--defer` / `--favor-state`, and
//! `retry`, on real DuckDB files.

use std::path::Path;

use crate::support::{duckdb_project, sluice};

const MACRO: &str = "{% macro double(x) %}{{ x }} * 2{% endmacro %}\n";

fn shop() -> (tempfile::TempDir, std::path::PathBuf) {
    duckdb_project(
        "slim",
        "models:\n  slim:\n    +materialized: view\nvars:\n  floor: 0\n",
        &[
            ("seeds/raw_orders.csv", "id,amount\n1,10\n2,20\n"),
            ("macros/double.sql", MACRO),
            ("models/orders.sql", "select * from {{ ref('raw_orders') }}\n"),
            (
                "models/big_orders.sql",
                "select id, {{ double('amount') }} as twice from {{ ref('orders') }} where amount > {{ var('floor') }}\n",
            ),
            ("models/report.sql", "select count(*) as n from {{ ref('big_orders') }}\n"),
            ("models/lonely.sql", "select 1 as one\n"),
            (
                "models/schema.yml",
                "models:\n  - name: orders\n    description: All orders.\n    columns:\n      - name: id\n        data_tests: [not_null]\n",
            ),
        ],
    )
}

/// `ls -o name` of `args` in `dir`, sorted.
fn names(dir: &Path, args: &[&str]) -> Vec<String> {
    let mut a = vec!["ls", "-o", "name"];
    a.extend_from_slice(args);
    let r = sluice(dir, &a);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let mut v: Vec<String> = r.stdout.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// The current target's artifacts copied to `state/`.
fn save_state(dir: &Path) {
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    for f in ["manifest.json", "run_results.json"] {
        let from = dir.join("target").join(f);
        if from.exists() {
            std::fs::copy(from, state.join(f)).unwrap();
        }
    }
}

fn edit(dir: &Path, file: &str, f: impl FnOnce(&str) -> String) -> String {
    let path = dir.join(file);
    let before = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, f(&before)).unwrap();
    before
}

#[test]
fn state_modified_selects_what_changed_as_dbt_decides() {
    let (_tmp, dir) = shop();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    save_state(&dir);
    let modified = |d: &Path, sel: &str| names(d, &["-s", sel, "--state", "state"]);
    assert!(modified(&dir, "state:modified").is_empty());
    assert_eq!(
        modified(&dir, "state:old").len(),
        6,
        "every node existed before"
    );

    // A model's SQL: the model (and its tests, selected eagerly with it, as in dbt), and with
    // `+` what is downstream.
    let before = edit(&dir, "models/orders.sql", |s| format!("{s}-- reviewed\n"));
    assert_eq!(
        modified(&dir, "state:modified"),
        ["not_null_orders_id", "orders"]
    );
    let models = |sel: &str| {
        names(
            &dir,
            &["-s", sel, "--state", "state", "--resource-type", "model"],
        )
    };
    assert_eq!(models("state:modified.body"), ["orders"]);
    assert!(modified(&dir, "state:modified.configs").is_empty());
    assert_eq!(
        modified(&dir, "state:modified+"),
        ["big_orders", "not_null_orders_id", "orders", "report"]
    );
    std::fs::write(dir.join("models/orders.sql"), before).unwrap();

    // A macro: the nodes that call it, not the macro's text in their SQL.
    let before = edit(&dir, "macros/double.sql", |s| s.replace("* 2", "* 2.0"));
    assert_eq!(modified(&dir, "state:modified"), ["big_orders"]);
    assert_eq!(modified(&dir, "state:modified.macros"), ["big_orders"]);
    assert!(modified(&dir, "state:modified.body").is_empty());
    assert!(models("state:modified.body").is_empty());
    // `--explain` (sluice's own) says why, per node.
    let r = sluice(
        &dir,
        &[
            "ls",
            "-s",
            "state:modified+",
            "--state",
            "state",
            "--explain",
            "-o",
            "name",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "big_orders\n  macros: calls macro.slim.double, which changed\nreport\n  (not itself new or modified: selected through a graph operator or as a test of a selected node)\n"
    );
    std::fs::write(dir.join("macros/double.sql"), before).unwrap();

    // A config: `modified.configs`; tags and descriptions are no change (no persist_docs).
    let before = edit(&dir, "models/schema.yml", |s| {
        s.replace(
            "description: All orders.",
            "description: Every order.\n    tags: [finance]\n    config:\n      materialized: table",
        )
    });
    assert_eq!(
        modified(&dir, "state:modified"),
        ["not_null_orders_id", "orders"]
    );
    assert_eq!(models("state:modified.configs"), ["orders"]);
    let r = sluice(
        &dir,
        &[
            "ls",
            "-s",
            "state:modified",
            "--state",
            "state",
            "--explain",
            "-o",
            "name",
            "--resource-type",
            "model",
        ],
    );
    assert_eq!(r.stdout, "orders\n  configs: `materialized` changed\n");
    std::fs::write(dir.join("models/schema.yml"), &before).unwrap();
    edit(&dir, "models/schema.yml", |s| {
        s.replace(
            "description: All orders.",
            "description: Every order.\n    tags: [finance]",
        )
    });
    assert!(modified(&dir, "state:modified").is_empty());
    std::fs::write(dir.join("models/schema.yml"), &before).unwrap();

    // A var's value is no change: dbt compares the SQL as written.
    let r = names(
        &dir,
        &[
            "-s",
            "state:modified",
            "--state",
            "state",
            "--vars",
            "{floor: 5}",
        ],
    );
    assert!(r.is_empty(), "{r:?}");

    // A seed's rows, a new model, a test's severity.
    edit(&dir, "seeds/raw_orders.csv", |s| format!("{s}3,30\n"));
    std::fs::write(dir.join("models/fresh.sql"), "select 2 as two\n").unwrap();
    edit(&dir, "models/schema.yml", |s| {
        s.replace(
            "data_tests: [not_null]",
            "data_tests: [{not_null: {config: {severity: warn}}}]",
        )
    });
    assert_eq!(
        modified(&dir, "state:modified"),
        ["fresh", "not_null_orders_id", "raw_orders"]
    );
    // (A test's `raw_code` carries its configs, as dbt writes it: `severity` is its body too.)
    assert_eq!(
        modified(&dir, "state:modified.body"),
        ["fresh", "not_null_orders_id", "raw_orders"]
    );
    assert_eq!(modified(&dir, "state:new"), ["fresh"]);
    // (The modified test is selected again through its unmodified model, as in dbt.)
    assert_eq!(
        modified(&dir, "state:unmodified"),
        [
            "big_orders",
            "lonely",
            "not_null_orders_id",
            "orders",
            "report"
        ]
    );

    // Without a state folder, or with a check dbt does not have: a clear error, exit code 2.
    let r = sluice(&dir, &["ls", "-s", "state:modified"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("--state"), "{}", r.stderr);
    let r = sluice(&dir, &["ls", "-s", "state:changed", "--state", "state"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("Got an invalid selector \"changed\""),
        "{}",
        r.stderr
    );
    let r = sluice(&dir, &["ls", "-s", "state:new", "--state", "nowhere"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("'--state'"), "{}", r.stderr);
}

#[test]
fn yaml_selectors_name_unions_intersections_and_exclusions() {
    let (_tmp, dir) = shop();
    std::fs::write(
        dir.join("selectors.yml"),
        r#"selectors:
  - name: upstream_of_report
    definition:
      method: fqn
      value: report
      parents: true
  - name: report_lineage_but_seeds
    definition:
      union:
        - method: selector
          value: upstream_of_report
        - exclude:
            - "resource_type:seed"
            - method: resource_type
              value: test
  - name: views_only
    default: "{{ env_var('SLIM_DEFAULT', 'true') }}"
    definition:
      intersection:
        - "config.materialized:view"
        - tag: nope
"#,
    )
    .unwrap();
    assert_eq!(
        names(&dir, &["--selector", "report_lineage_but_seeds"]),
        ["big_orders", "orders", "report"]
    );
    assert_eq!(
        names(&dir, &["--selector", "upstream_of_report"]),
        [
            "big_orders",
            "not_null_orders_id",
            "orders",
            "raw_orders",
            "report"
        ]
    );
    // The default selector applies without --select (and selects nothing here)...
    assert!(names(&dir, &[]).is_empty());
    // ...but not when --select is given.
    assert_eq!(names(&dir, &["-s", "lonely"]), ["lonely"]);
    let r = sluice(&dir, &["ls", "--selector", "report_lineage"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("Could not find selector named report_lineage"),
        "{}",
        r.stderr
    );

    std::fs::write(
        dir.join("selectors.yml"),
        "selectors:\n  - name: a\n    default: true\n    definition: 'tag:x'\n  - name: b\n    default: true\n    definition: 'tag:y'\n",
    )
    .unwrap();
    let r = sluice(&dir, &["ls"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("Found multiple selectors with `default: true`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("selectors.yml"), "{}", r.stderr);
}

/// One DuckDB file with a `prod` schema built by a production run and a `dev` schema.
fn with_prod_target(dir: &Path) {
    std::fs::write(
        dir.join("profiles.yml"),
        "slim:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: slim.duckdb\n      schema: dev\n      threads: 1\n    prod:\n      type: duckdb\n      path: slim.duckdb\n      schema: prod\n      threads: 1\n",
    )
    .unwrap();
}

/// The first column of `sql`'s rows (cast to text) in the project's DuckDB file.
fn query(dir: &Path, sql: &str) -> Vec<String> {
    let conn = duckdb::Connection::open(dir.join("slim.duckdb")).unwrap();
    let mut stmt = conn
        .prepare(&format!("select cast(x as varchar) from ({sql}) as t(x)"))
        .unwrap();
    let rows = stmt.query_map([], |row| row.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn defer_builds_the_selection_on_top_of_production() {
    let (_tmp, dir) = shop();
    with_prod_target(&dir);
    let r = sluice(&dir, &["build", "--target", "prod"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    save_state(&dir);
    // Only `report` is built in dev; `big_orders` does not exist there, so its ref resolves to
    // production's relation.
    let r = sluice(
        &dir,
        &["run", "-s", "report", "--defer", "--state", "state"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let compiled =
        std::fs::read_to_string(dir.join("target/compiled/slim/models/report.sql")).unwrap();
    assert!(compiled.contains(r#""prod"."big_orders""#), "{compiled}");
    let tables = query(
        &dir,
        "select table_schema || '.' || table_name from information_schema.tables where table_name in ('report', 'big_orders') order by 1",
    );
    assert_eq!(tables, ["dev.report", "prod.big_orders", "prod.report"]);
    assert_eq!(query(&dir, "select n from dev.report"), ["2"]);

    // Built in dev, `big_orders` is used from dev; with --favor-state, from production.
    let r = sluice(&dir, &["build", "-s", "big_orders", "orders", "raw_orders"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = sluice(
        &dir,
        &["compile", "-s", "report", "--defer", "--state", "state"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(r#""dev"."big_orders""#), "{}", r.stdout);
    let r = sluice(
        &dir,
        &[
            "compile",
            "-s",
            "report",
            "--defer",
            "--favor-state",
            "--state",
            "state",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(r#""prod"."big_orders""#), "{}", r.stdout);

    // Without a state manifest to defer to: exit code 2 before anything runs.
    let r = sluice(&dir, &["run", "--defer"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no value was provided to --state"),
        "{}",
        r.stderr
    );
}

#[test]
fn retry_reruns_what_failed_with_the_same_command_and_result_selects_it() {
    let (_tmp, dir) = shop();
    let good = edit(&dir, "models/big_orders.sql", |s| {
        s.replace("where", "where no_such_column and")
    });
    let r = sluice(&dir, &["build", "--vars", "{floor: 15}"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    save_state(&dir);
    assert_eq!(
        names(&dir, &["-s", "result:error", "--state", "state"]),
        ["big_orders"]
    );
    assert_eq!(
        names(&dir, &["-s", "result:skipped", "--state", "state"]),
        ["report"]
    );
    assert_eq!(
        names(
            &dir,
            &[
                "-s",
                "result:success",
                "--state",
                "state",
                "--resource-type",
                "model"
            ]
        ),
        ["lonely", "orders"]
    );

    // Still failing: retry runs the same two nodes again.
    let r = sluice(&dir, &["retry"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("TOTAL=2"), "{}", r.stdout);
    // Fixed: retry builds them, with the first command's --vars.
    std::fs::write(dir.join("models/big_orders.sql"), good).unwrap();
    let r = sluice(&dir, &["retry"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("PASS=2"), "{}", r.stdout);
    assert_eq!(query(&dir, "select n from main.report"), ["1"]);
    // Nothing left to retry.
    let r = sluice(&dir, &["retry"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("Nothing to do"), "{}", r.stdout);
}

#[test]
fn clone_makes_views_of_the_state_relations_and_leaves_existing_ones() {
    let (_tmp, dir) = shop();
    with_prod_target(&dir);
    let r = sluice(&dir, &["build", "--target", "prod"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    save_state(&dir);
    let r = sluice(&dir, &["clone"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--state or --defer-state are required"),
        "{}",
        r.stderr
    );

    let r = sluice(&dir, &["clone", "--state", "state"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let kinds = query(
        &dir,
        "select table_name || ':' || table_type from information_schema.tables where table_schema = 'dev' order by 1",
    );
    assert_eq!(
        kinds,
        [
            "big_orders:VIEW",
            "lonely:VIEW",
            "orders:VIEW",
            "raw_orders:VIEW",
            "report:VIEW"
        ]
    );
    assert_eq!(
        query(&dir, "select sum(amount) from dev.raw_orders"),
        ["30"]
    );
    let results = |dir: &Path| -> Vec<String> {
        let rr: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("target/run_results.json")).unwrap(),
        )
        .unwrap();
        rr["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r["unique_id"], r["message"]))
            .collect()
    };
    assert!(
        results(&dir).iter().all(|r| !r.contains("No-op")),
        "{:?}",
        results(&dir)
    );
    // They exist now: a no-op, unless --full-refresh; only models with --resource-type model.
    let r = sluice(&dir, &["clone", "--state", "state"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(results(&dir).len(), 5);
    assert!(
        results(&dir).iter().all(|r| r.contains("No-op")),
        "{:?}",
        results(&dir)
    );
    let r = sluice(
        &dir,
        &[
            "clone",
            "--state",
            "state",
            "--full-refresh",
            "--resource-type",
            "model",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(results(&dir).len(), 4);
    assert!(
        results(&dir).iter().all(|r| !r.contains("No-op")),
        "{:?}",
        results(&dir)
    );
}

#[test]
fn source_freshness_judges_each_rule_and_feeds_source_status() {
    let (_tmp, dir) = duckdb_project(
        "fresh",
        "",
        &[(
            "models/sources.yml",
            "sources:\n  - name: raw\n    schema: raw\n    loaded_at_field: loaded_at\n    freshness:\n      warn_after: {count: 1, period: hour}\n      error_after: {count: 1, period: day}\n    tables:\n      - name: recent\n      - name: old\n      - name: oldish\n        freshness:\n          warn_after: {count: 1, period: minute}\n          error_after: {count: 10, period: day}\n      - name: unwatched\n        freshness: null\n      - name: filtered\n        freshness:\n          error_after: {count: 1, period: hour}\n          filter: \"kind = 'live'\"\n",
        )],
    );
    let setup = |sql: &str| {
        let conn = duckdb::Connection::open(dir.join("fresh.duckdb")).unwrap();
        conn.execute_batch(sql).unwrap();
    };
    setup(
        "create schema raw;
         create table raw.recent as select now()::timestamp as loaded_at;
         create table raw.old as select (now() - interval 3 day)::timestamp as loaded_at;
         create table raw.oldish as select now() - interval 2 hour as loaded_at;
         create table raw.unwatched as select 1 as x;
         create table raw.filtered as select * from (values
           (now()::timestamp, 'test'), ((now() - interval 5 hour)::timestamp, 'live')) t(loaded_at, kind);",
    );
    let r = sluice(&dir, &["source", "freshness"]);
    assert_eq!(r.code, 1, "an error_after exceeded fails: {}", r.stdout);
    for line in [
        "PASS freshness of raw.recent",
        "ERROR STALE freshness of raw.old",
        "WARN freshness of raw.oldish",
        "ERROR STALE freshness of raw.filtered",
    ] {
        assert!(r.stdout.contains(line), "{line}: {}", r.stdout);
    }
    assert!(!r.stdout.contains("unwatched"), "{}", r.stdout);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("target/sources.json")).unwrap())
            .unwrap();
    assert_eq!(
        doc["metadata"]["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/sources/v3.json"
    );
    let status: Vec<String> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}={}",
                r["unique_id"].as_str().unwrap(),
                r["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            "source.fresh.raw.filtered=error",
            "source.fresh.raw.old=error",
            "source.fresh.raw.oldish=warn",
            "source.fresh.raw.recent=pass"
        ]
    );
    let age = doc["results"][1]["max_loaded_at_time_ago_in_s"]
        .as_f64()
        .unwrap();
    assert!((259_190.0..259_300.0).contains(&age), "{age}");
    // Only the warning: exit code 0.
    let r = sluice(&dir, &["source", "freshness", "-s", "source:raw.oldish"]);
    assert_eq!(r.code, 0, "{}", r.stdout);

    // `source_status:fresher`: sources with newer data than at the state's check.
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let r = sluice(&dir, &["source", "freshness"]);
    assert_eq!(r.code, 1);
    std::fs::copy(
        dir.join("target/sources.json"),
        dir.join("state/sources.json"),
    )
    .unwrap();
    setup("insert into raw.old select now()::timestamp;");
    let r = sluice(&dir, &["source", "freshness"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        names(
            &dir,
            &[
                "-s",
                "source_status:fresher",
                "--state",
                "state",
                "--resource-type",
                "source"
            ]
        ),
        ["old"]
    );
}

#[test]
fn junit_xml_and_github_annotations_report_the_tests_for_ci() {
    let (_tmp, dir) = shop();
    std::fs::write(
        dir.join("models/schema.yml"),
        "models:\n  - name: orders\n    columns:\n      - name: id\n        data_tests:\n          - accepted_values: {values: [1]}\n          - not_null\n          - unique: {config: {severity: warn, warn_if: '>= 0'}}\n",
    )
    .unwrap();
    let junit = dir.join("report.xml");
    let r = sluice(
        &dir,
        &[
            "build",
            "--log-format",
            "github",
            "--junit-xml",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("::error file=models/schema.yml,title=Failure in accepted_values_orders_id__1::Got 1 result, configured to fail if != 0"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("::warning file=models/schema.yml,title=Warning in unique_orders_id::"),
        "{}",
        r.stdout
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"<testsuite name="slim" tests="3" failures="1" errors="0" skipped="0""#),
        "{xml}"
    );
    assert!(xml.contains(r#"<failure message="Got 1 result, configured to fail if != 0" type="fail">Got 1 result, configured to fail if != 0 (1 failing row)</failure>"#), "{xml}");
    assert!(
        xml.contains(
            r#"<testcase name="not_null_orders_id" classname="test.slim.not_null_orders_id."#
        ),
        "{xml}"
    );
    assert!(xml.contains("<system-out>warning: "), "{xml}");
    // Broken input: the diagnostic as an annotation with its file, line and column.
    std::fs::write(
        dir.join("models/bad.sql"),
        "select * from {{ ref('nope') }}\n",
    )
    .unwrap();
    let r = sluice(&dir, &["parse", "--log-format", "github"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout
            .starts_with("::error file=models/bad.sql,line=1,col="),
        "{}",
        r.stdout
    );
}

/// `dev` and `prod` targets of one database on `engine`.
fn two_targets(engine: &crate::pg_server::Engine, dir: &Path) {
    use crate::pg_server::Engine;
    let outputs = match engine {
        Engine::DuckDb => "    dev:\n      type: duckdb\n      path: slim.duckdb\n      schema: dev\n      threads: 1\n    prod:\n      type: duckdb\n      path: slim.duckdb\n      schema: prod\n      threads: 1\n".to_string(),
        Engine::Postgres(pg) => {
            pg.create_db("slim");
            pg.output_yaml("dev", "slim", "dev", 1) + &pg.output_yaml("prod", "slim", "prod", 1)
        }
    };
    std::fs::write(
        dir.join("profiles.yml"),
        format!("slim:\n  target: dev\n  outputs:\n{outputs}"),
    )
    .unwrap();
}

#[test]
fn defer_clone_and_freshness_work_on_both_engines() {
    crate::pg_server::on_both_engines("defer_clone_and_freshness_work_on_both_engines", |engine| {
        let name = engine.name();
        let (_tmp, dir) = shop();
        two_targets(engine, &dir);
        // A source over production's seed, whose `loaded_at_field` is a fixed old timestamp.
        std::fs::write(
            dir.join("models/sources.yml"),
            "sources:\n  - name: prod\n    schema: prod\n    loaded_at_field: \"cast('2020-01-01 00:00:00' as timestamp)\"\n    freshness:\n      warn_after: {count: 1, period: day}\n    tables:\n      - name: raw_orders\n",
        )
        .unwrap();
        let q = |sql: &str| engine.scalar(&dir, "slim", sql);
        let r = sluice(&dir, &["build", "--target", "prod"]);
        assert_eq!(r.code, 0, "{name}: {}", r.stdout);
        save_state(&dir);

        let r = sluice(
            &dir,
            &["run", "-s", "report", "--defer", "--state", "state"],
        );
        assert_eq!(r.code, 0, "{name}: {}", r.stdout);
        assert_eq!(q("select count(*) from dev.report"), "1", "{name}");
        assert_eq!(
            q("select count(*) from information_schema.tables where table_schema = 'dev'"),
            "1",
            "{name}: only `report` is built in dev"
        );

        let r = sluice(&dir, &["clone", "--state", "state"]);
        assert_eq!(r.code, 0, "{name}: {}", r.stdout);
        assert_eq!(
            q("select count(*) from information_schema.views where table_schema = 'dev'"),
            "5",
            "{name}: every model and seed is a view in dev ({} already existed)",
            "report"
        );
        assert_eq!(q("select sum(amount) from dev.raw_orders"), "30", "{name}");

        let r = sluice(&dir, &["source", "freshness"]);
        assert_eq!(r.code, 0, "{name}: a warning only: {}", r.stdout);
        assert!(
            r.stdout.contains("WARN freshness of prod.raw_orders"),
            "{name}: {}",
            r.stdout
        );
        let doc: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("target/sources.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            doc["results"][0]["max_loaded_at"], "2020-01-01T00:00:00+00:00",
            "{name}"
        );
    });
}
