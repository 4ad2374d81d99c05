//! The `shop` fixture (seeds, staging views, tables built with Jinja loops, the four built-in
//! generic tests): the same nodes, dependencies, relations and catalog as real dbt builds, as
//! recorded by `tests/fixtures/shop/expected/record.sh`. Real projects nobody here wrote are
//! compared with real dbt by `scripts/conformance`.

use crate::support::{check_profile, copy_project, repo, sluice};

pub fn shop() -> (tempfile::TempDir, std::path::PathBuf) {
    copy_project(&repo().join("tests/fixtures/shop"))
}

pub fn expected(name: &str) -> serde_json::Value {
    let path = repo().join("tests/fixtures/shop/expected").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn parse_finds_the_nodes_dbt_finds() {
    let (_tmp, dir) = shop();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("target/manifest.json")).unwrap())
            .unwrap();
    let expected = expected("dbt_nodes.json");
    let nodes = manifest["nodes"].as_object().unwrap();
    let mut got: Vec<&String> = nodes.keys().collect();
    got.sort();
    let mut want: Vec<&String> = expected.as_object().unwrap().keys().collect();
    want.sort();
    assert_eq!(got, want, "unique_ids differ from dbt's");
    assert_eq!(nodes.len(), 28);
    for (id, facts) in expected.as_object().unwrap() {
        let n = &nodes[id];
        let mut deps: Vec<String> = n["depends_on"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        deps.sort();
        assert_eq!(
            serde_json::json!(deps),
            facts["depends_on"],
            "depends_on of {id}"
        );
        assert_eq!(
            n["resource_type"], facts["resource_type"],
            "resource_type of {id}"
        );
        assert_eq!(n["alias"], facts["alias"], "alias of {id}");
        assert_eq!(n["schema"], facts["schema"], "schema of {id}");
        assert_eq!(
            n["relation_name"], facts["relation_name"],
            "relation_name of {id}"
        );
    }
}

#[test]
fn compiled_sql_parses_in_duckdb() {
    let (_tmp, dir) = shop();
    let r = sluice(&dir, &["compile"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let mut files = Vec::new();
    for e in walkdir::WalkDir::new(dir.join("target/compiled")) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            files.push(e.into_path());
        }
    }
    assert_eq!(files.len(), 25, "5 models and 20 tests compiled: {files:?}");
    for f in files {
        let sql = std::fs::read_to_string(&f).unwrap();
        let json: String = conn
            .query_row("select json_serialize_sql(?::VARCHAR)", [&sql], |r| {
                r.get(0)
            })
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["error"], false, "{} does not parse: {json}", f.display());
    }
}

#[test]
fn build_gives_the_relations_dbt_built() {
    let (_tmp, dir) = shop();
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("PASS=28 WARN=0 ERROR=0 SKIP=0"),
        "{}",
        r.stdout
    );
    let problems = check_profile(&dir.join("shop.duckdb"), &expected("relations.json"));
    assert!(
        problems.is_empty(),
        "relations differ from dbt's:\n{}",
        problems.join("\n")
    );
    let rr: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(rr["results"].as_array().unwrap().len(), 28);
}

/// sluice's `manifest.json` and `run_results.json`, read back with sluice's artifact types, say
/// what dbt's say (read with the same types) about every node: its type, file checksum,
/// dependencies, relation, materialization, and how its run went.
#[test]
fn artifacts_read_back_agree_with_the_ones_dbt_wrote() {
    use sluice::artifacts::{ManifestDocument, RunResults};
    let (_tmp, dir) = shop();
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let fixture = repo().join("tests/fixtures/shop/expected");
    let dbt = ManifestDocument::read(&fixture.join("dbt_manifest.json")).unwrap();
    let ours = ManifestDocument::read(&dir.join("target/manifest.json")).unwrap();
    assert_eq!(
        ours.nodes.keys().collect::<Vec<_>>(),
        dbt.nodes.keys().collect::<Vec<_>>()
    );
    for (id, d) in &dbt.nodes {
        let o = &ours.nodes[id];
        assert_eq!(o.resource_type, d.resource_type, "{id}");
        assert_eq!(o.checksum, d.checksum, "{id}");
        assert_eq!(o.depends_on.nodes, d.depends_on.nodes, "{id}");
        // dbt also lists the macros its test materialization called while running a test.
        for mac in &o.depends_on.macros {
            assert!(d.depends_on.macros.contains(mac), "{id}: {mac}");
        }
        assert_eq!(o.relation_name, d.relation_name, "{id}");
        assert_eq!(o.materialized(), d.materialized(), "{id}");
        assert_eq!(o.fqn, d.fqn, "{id}");
        assert_eq!(o.config, d.config, "{id}");
        assert_eq!(o.unrendered_config, d.unrendered_config, "{id}");
    }
    assert_eq!(ours.parent_map, dbt.parent_map);
    assert_eq!(ours.child_map, dbt.child_map);
    let dbt_rr = RunResults::read(&fixture.join("dbt_run_results.json")).unwrap();
    let our_rr = RunResults::read(&dir.join("target/run_results.json")).unwrap();
    let outcome = |rr: &RunResults| {
        let mut v: Vec<_> = rr
            .results
            .iter()
            .map(|r| (r.unique_id.clone(), r.status, r.failures, r.message.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(outcome(&our_rr), outcome(&dbt_rr));
    assert_eq!(our_rr.args["which"], dbt_rr.args["which"]);
}

/// The built-in generic tests are compiled natively for speed; the output must be byte-for-byte
/// what their Jinja macros render.
#[test]
fn native_generic_tests_equal_their_jinja_macros() {
    let (_tmp, dir) = shop();
    let native = sluice(&dir, &["compile", "--target-path", "native"]);
    assert_eq!(native.code, 0, "{}", native.stderr);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["compile", "--target-path", "jinja"])
        .current_dir(&dir)
        .env("SLUICE_NO_NATIVE_TESTS", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut compared = 0;
    for e in walkdir::WalkDir::new(dir.join("native/compiled")) {
        let e = e.unwrap();
        if !e.file_type().is_file() {
            continue;
        }
        let rel = e.path().strip_prefix(dir.join("native")).unwrap();
        let a = std::fs::read_to_string(e.path()).unwrap();
        let b = std::fs::read_to_string(dir.join("jinja").join(rel)).unwrap();
        assert_eq!(a, b, "{}", rel.display());
        compared += 1;
    }
    assert_eq!(compared, 25);
}

/// dbt unit tests whose rows come from files in `tests/fixtures/` (`fixture:`, csv and sql) and
/// from inline SQL (`format: sql`), laid over the shop fixture
/// (`tests/fixtures/shop_unit_tests`). Real dbt 1.10 passes this unit test, and fails it when the
/// expected lifetime value is changed; the fixture files are not singular tests.
#[test]
fn unit_tests_read_fixture_files_and_sql_rows() {
    let (_tmp, dir) = shop();
    crate::support::copy_dir(&repo().join("tests/fixtures/shop_unit_tests"), &dir);
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // The fixture files are not singular tests: still 20 data tests.
    assert!(
        r.stdout.contains("20 data tests") && r.stdout.contains("1 unit test"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("PASS=29 WARN=0 ERROR=0"), "{}", r.stdout);

    let expected = dir.join("tests/fixtures/expected_shoppers.sql");
    let text = std::fs::read_to_string(&expected).unwrap();
    std::fs::write(
        &expected,
        text.replace("12.5 as lifetime_value", "99 as lifetime_value"),
    )
    .unwrap();
    let r = sluice(&dir, &["build", "--select", "shoppers"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Failure in unit_test shoppers_sum_their_orders"),
        "{}",
        r.stdout
    );
}

/// A unit test's `overrides: macros:` replace what a macro returns, by bare name and by
/// `package.name`, also inside other macros; the model's own run is untouched. Real dbt 1.10
/// passes this unit test, and fails it when an override is removed.
#[test]
fn unit_tests_override_macros() {
    let (_tmp, dir) = shop();
    std::fs::create_dir_all(dir.join("macros")).unwrap();
    std::fs::write(
        dir.join("macros/bounds.sql"),
        "{% macro bounds() %}{{ return({'lo': 1, 'hi': 2}) }}{% endmacro %}\n\
         {% macro label() %}'real'{% endmacro %}\n\
         {% macro labelled() %}{{ shop.label() }}{% endmacro %}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("models/windowed.sql"),
        "{% set b = bounds() %}select {{ b['lo'] }} as lo, {{ b['hi'] }} as hi, {{ labelled() }} as label\n",
    )
    .unwrap();
    let yml = r#"unit_tests:
  - name: windowed_bounds
    model: windowed
    given: []
    overrides:
      macros:
        bounds: {lo: 5, hi: 9}
        shop.label: "'overridden'"
    expect:
      rows:
        - {lo: 5, hi: 9, label: overridden}
"#;
    std::fs::write(dir.join("models/windowed_tests.yml"), yml).unwrap();
    let r = sluice(&dir, &["build", "--select", "windowed"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let conn = duckdb::Connection::open(dir.join("shop.duckdb")).unwrap();
    let label: String = conn
        .query_row("select label from main.windowed", [], |r| r.get(0))
        .unwrap();
    assert_eq!(label, "real");
    drop(conn);
    std::fs::write(
        dir.join("models/windowed_tests.yml"),
        yml.replace("        shop.label: \"'overridden'\"\n", ""),
    )
    .unwrap();
    let r = sluice(&dir, &["build", "--select", "windowed"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
}

/// `compile` introspects the warehouse as dbt's does (`adapter.get_columns_in_relation` sees the
/// built relation), but does not create a DuckDB file that is not there yet.
#[test]
fn compile_introspects_what_is_built_and_creates_nothing() {
    let (_tmp, dir) = shop();
    std::fs::write(
        dir.join("models/order_columns.sql"),
        "{% set cols = adapter.get_columns_in_relation(ref('stg_orders')) %}\
         select {% for c in cols %}{{ c.name }}{{ ', ' if not loop.last }}{% endfor %}\
         {% if not cols %}1 as nothing_built{% endif %} from {{ ref('stg_orders') }}\n",
    )
    .unwrap();
    let compiled = dir.join("target/compiled/shop/models/order_columns.sql");
    let r = sluice(&dir, &["compile", "--select", "order_columns"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        !dir.join("shop.duckdb").exists(),
        "compile created the database"
    );
    let sql = std::fs::read_to_string(&compiled).unwrap();
    assert!(sql.contains("select 1 as nothing_built from"), "{sql}");

    let r = sluice(&dir, &["build", "--select", "+stg_orders"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = sluice(&dir, &["compile", "--select", "order_columns"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let sql = std::fs::read_to_string(&compiled).unwrap();
    assert!(
        sql.contains("select order_id, shopper_id, ordered_on, status from"),
        "{sql}"
    );
}

/// `quoting:` in dbt_project.yml is the adapter's quote policy: relation names in compiled SQL
/// and `relation_name` in the manifest are written unquoted where it says `false` (as dbt writes
/// `shop.main.raw_orders`), and the project still builds.
#[test]
fn project_quoting_policy_applies_to_relation_names() {
    let (_tmp, dir) = shop();
    let project = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&project).unwrap();
    std::fs::write(
        &project,
        format!("{text}\nquoting:\n  database: false\n  schema: false\n  identifier: false\n"),
    )
    .unwrap();
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let sql =
        std::fs::read_to_string(dir.join("target/compiled/shop/models/staging/stg_orders.sql"))
            .unwrap();
    assert!(sql.contains("select * from shop.main.raw_orders"), "{sql}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("target/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(
        manifest["nodes"]["model.shop.orders"]["relation_name"],
        "shop.main.orders"
    );
}

/// dbt's back-compat timestamps (packages written for dbt_utils < 1.0 call them): on DuckDB they
/// render as dbt-duckdb renders them.
#[test]
fn backcompat_timestamps_render_as_in_dbt() {
    let (_tmp, dir) = shop();
    let r = sluice(
        &dir,
        &[
            "compile",
            "--inline",
            "select {{ dbt.current_timestamp_backcompat() }}, {{ dbt.current_timestamp_in_utc_backcompat() }}",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Whitespace included: real dbt 1.10 + dbt-duckdb print exactly this.
    assert_eq!(
        r.stdout.trim(),
        "select \n    current_timestamp::timestamp\n, \n    current_timestamp::timestamp"
    );
}

/// A seed's `pre-hook` and `post-hook` run around its load (dbt's seed materialization runs
/// them): here the post-hook reads the loaded rows, and one drops its seed, as packages'
/// integration tests do with `adapter.drop_relation(this)`.
#[test]
fn seed_hooks_run_around_the_load() {
    let (_tmp, dir) = shop();
    let project = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&project).unwrap();
    std::fs::write(
        &project,
        format!(
            "{text}\nseeds:\n  shop:\n    raw_orders:\n      +pre-hook: \"drop table if exists {{{{ this.schema }}}}.hook_log\"\n      +post-hook: \"create table {{{{ this.schema }}}}.hook_log as select count(*) as n from {{{{ this }}}}\"\n    raw_payments:\n      +post-hook: \"{{% do adapter.drop_relation(this.incorporate(type='table')) %}}\"\n"
        ),
    )
    .unwrap();
    let r = sluice(&dir, &["seed"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let conn = duckdb::Connection::open(dir.join("shop.duckdb")).unwrap();
    let n: i64 = conn
        .query_row("select n from main.hook_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 90);
    let left: i64 = conn
        .query_row(
            "select count(*) from information_schema.tables where table_name = 'raw_payments'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "the post-hook dropped raw_payments");
}

/// A seed quoted with `'` loads as dbt-duckdb's `COPY` loads it: DuckDB's sniffer picks `'` as
/// the quote, so `''` is NULL (recorded with real dbt 1.10 + dbt-duckdb on this file), while a
/// file quoted with `"` keeps its quoted commas. Types still come from agate's reading.
#[test]
fn seed_values_follow_the_quote_duckdb_sniffs() {
    let (_tmp, dir) = shop();
    std::fs::write(
        dir.join("seeds/single_quoted.csv"),
        "a,b,n\nx,'',1\n'',y,2\n'','',3\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("seeds/double_quoted.csv"),
        "a,n\n\"p, q\",1\n'',2\n",
    )
    .unwrap();
    let r = sluice(&dir, &["seed", "-s", "single_quoted", "double_quoted"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let conn = duckdb::Connection::open(dir.join("shop.duckdb")).unwrap();
    let rows = |sql: &str| -> Vec<String> {
        let mut st = conn.prepare(sql).unwrap();
        st.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        rows("select coalesce(a, '<null>') || '|' || coalesce(b, '<null>') || '|' || n from single_quoted order by n"),
        ["x|<null>|1", "<null>|y|2", "<null>|<null>|3"]
    );
    assert_eq!(
        rows("select a || '|' || n from double_quoted order by n"),
        ["p, q|1", "''|2"]
    );
}

/// A generic test's `config:` values may be Jinja, rendered while parsing as dbt renders them:
/// `enabled: "{{ target.type == 'sqlserver' }}"` disables the test on DuckDB (as `dbt ls`
/// shows), and `severity` can depend on the target too.
#[test]
fn test_configs_render_their_jinja() {
    let (_tmp, dir) = shop();
    let schema = dir.join("models/schema.yml");
    let text = std::fs::read_to_string(&schema).unwrap();
    let text = text.replace(
        "      - name: status\n        data_tests:\n          - accepted_values:\n              values:",
        "      - name: status\n        data_tests:\n          - accepted_values:\n              config:\n                enabled: \"{{ target.type == 'sqlserver' }}\"\n              arguments:\n                values:",
    );
    let text = text.replace(
        "      - name: amount\n        data_tests: [not_null]",
        "      - name: amount\n        data_tests:\n          - not_null:\n              config:\n                severity: \"{{ 'warn' if target.type == 'duckdb' else 'error' }}\"",
    );
    std::fs::write(&schema, text).unwrap();
    let r = sluice(
        &dir,
        &["ls", "--select", "orders", "--resource-type", "test"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("accepted_values_orders"), "{}", r.stdout);
    assert!(r.stdout.contains("not_null_orders_amount"), "{}", r.stdout);
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("target/manifest.json")).unwrap())
            .unwrap();
    let node = manifest["nodes"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.starts_with("test.shop.not_null_orders_amount."))
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(
        node["config"]["severity"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("warn")),
        "{}",
        node["config"]
    );
}

/// In `sluice test` nothing is built, so a failing test skips no other test (as in dbt); in
/// `build` the same failure skips what is built on the tested seed, with its tests.
#[test]
fn a_failing_test_skips_no_other_test_in_test() {
    let (_tmp, dir) = shop();
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    std::fs::write(
        dir.join("seeds/seeds.yml"),
        "version: 2\nseeds:\n  - name: raw_orders\n    columns:\n      - name: state\n        data_tests:\n          - accepted_values:\n              arguments:\n                values: ['placed']\n",
    )
    .unwrap();
    let r = sluice(&dir, &["test"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("PASS=20 WARN=0 ERROR=1 SKIP=0"),
        "{}",
        r.stdout
    );
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("SKIP test unique_stg_orders_order_id"),
        "{}",
        r.stdout
    );
}

/// A source's `database`, `schema` and `identifier` may be Jinja (as packages write them), and
/// are rendered while parsing, with the project's vars.
#[test]
fn source_names_render_their_jinja() {
    let (_tmp, dir) = shop();
    std::fs::write(
        dir.join("models/sources.yml"),
        "version: 2\nsources:\n  - name: raw\n    database: \"{% if target.type != 'spark' %}{{ var('raw_database', target.database) }}{% endif %}\"\n    schema: \"{{ var('raw_schema', 'main') }}\"\n    tables:\n      - name: orders\n        identifier: \"{{ 'raw_' ~ 'orders' }}\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("models/from_source.sql"),
        "select count(*) as n from {{ source('raw', 'orders') }}\n",
    )
    .unwrap();
    let r = sluice(&dir, &["seed"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = sluice(&dir, &["run", "--select", "from_source"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let sql =
        std::fs::read_to_string(dir.join("target/compiled/shop/models/from_source.sql")).unwrap();
    assert!(sql.contains(r#"from "shop"."main"."raw_orders""#), "{sql}");
}

/// Unit-test fixture rows as dbt reads them: column names in any case, a YAML timestamp as
/// PyYAML hands it over (`2013-11-03 00:00:00-0` is `2013-11-03T00:00:00+00:00`), and a column
/// the relation does not have named in dbt's words; `test_name:` selects a unit test by name.
#[test]
fn unit_test_fixture_columns_as_dbt_reads_them() {
    let (_tmp, dir) = shop();
    std::fs::write(
        dir.join("models/ut_up.sql"),
        "select 1 as tested_column, TIMESTAMP '2013-11-03 00:00:00' as seen_at",
    )
    .unwrap();
    std::fs::write(
        dir.join("models/ut_down.sql"),
        "select tested_column, seen_at from {{ ref('ut_up') }}",
    )
    .unwrap();
    std::fs::write(
        dir.join("models/ut.yml"),
        "unit_tests:\n\
         \x20 - name: keys_in_any_case\n\
         \x20   model: ut_down\n\
         \x20   given:\n\
         \x20     - input: ref('ut_up')\n\
         \x20       rows:\n\
         \x20         - {TESTED_COLUMN: 2, seen_at: 2013-11-03 00:00:00-0}\n\
         \x20         - {tested_colUmn: 3}\n\
         \x20   expect:\n\
         \x20     rows:\n\
         \x20       - {Tested_Column: 2, SEEN_AT: 2013-11-03 00:00:00}\n\
         \x20       - {tested_column: 3}\n\
         \x20 - name: bad_expect_column\n\
         \x20   model: ut_down\n\
         \x20   given:\n\
         \x20     - input: ref('ut_up')\n\
         \x20       rows: [{tested_column: 1}]\n\
         \x20   expect:\n\
         \x20     rows: [{no_such_column: 1}]\n",
    )
    .unwrap();
    let r = sluice(&dir, &["run", "-s", "ut_up"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = sluice(&dir, &["test", "-s", "test_name:keys_in_any_case"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("PASS=1 WARN=0 ERROR=0"), "{}", r.stdout);
    let r = sluice(&dir, &["test", "-s", "test_name:bad_expect_column"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "Invalid column name: 'no_such_column' in unit test fixture for expected output."
        ),
        "{}",
        r.stdout
    );
}

/// A model whose ephemeral parent cannot compile is skipped with the compiler's error and
/// fails the run, as in dbt; the bad call only fails at run time, so the project still parses.
#[test]
fn an_ephemeral_parent_that_does_not_compile_skips_its_child_and_fails_the_run() {
    let (_tmp, dir) = shop();
    std::fs::write(
        dir.join("models/eph_bad.sql"),
        "{{ config(materialized='ephemeral') }}\n{{ adapter.invalid_method() }}\nselect 1 as x",
    )
    .unwrap();
    std::fs::write(
        dir.join("models/eph_user.sql"),
        "select * from {{ ref('eph_bad') }}",
    )
    .unwrap();
    assert_eq!(sluice(&dir, &["parse"]).code, 0);
    let r = sluice(&dir, &["run", "-s", "eph_user"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("SKIP=1"), "{}", r.stdout);
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/run_results.json")).unwrap(),
    )
    .unwrap();
    let only = &results["results"][0];
    assert_eq!(only["status"], "skipped");
    assert_eq!(
        only["message"],
        "Compilation Error in model.shop.eph_user, caused by compilation error in referenced \
         ephemeral model model.shop.eph_bad"
    );
}
