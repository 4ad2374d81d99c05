//! Packages: `sluice deps` (local, hub and git entries), packages as projects of their own
//! (configs, vars, macros under their namespace, `dispatch:` overrides, their own nodes). Real
//! packages (dbt_utils, dbt_date, ...) are compared with real dbt by `scripts/conformance`.

use std::path::Path;

use crate::support::{copy_project, repo, sluice};

fn query(db: &Path, sql: &str) -> Vec<Vec<String>> {
    let conn = duckdb::Connection::open_with_flags(
        db,
        duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .unwrap(),
    )
    .expect("open db");
    let mut st = conn.prepare(sql).expect("prepare");
    let rows = st
        .query_map([], |r| {
            let n = r.as_ref().column_count();
            (0..n)
                .map(|i| {
                    r.get::<_, Option<String>>(i)
                        .map(|v| v.unwrap_or_else(|| "<null>".into()))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    rows
}

#[test]
fn build_without_deps_says_what_to_run() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/packages_local"));
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("packages.yml:2:1")
            && r.stderr.contains("not installed in `dbt_packages/`")
            && r.stderr.contains("hint: run `sluice deps`"),
        "{}",
        r.stderr
    );
    // `clean` works before `deps`, as in dbt.
    let r = sluice(&dir, &["clean"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

#[test]
fn local_package_builds_with_its_configs_vars_and_dispatch_overrides() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/packages_local"));
    let r = sluice(&dir, &["deps"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("installed  pkg_lib (local: pkg_lib)"),
        "{}",
        r.stdout
    );
    assert!(dir.join("dbt_packages/pkg_lib/dbt_project.yml").is_file());

    let r = sluice(&dir, &["ls", "--select", "package:pkg_lib"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout.lines().collect::<Vec<_>>(),
        [
            "pkg_lib.lib_numbers",
            "pkg_lib.lib_seed",
            "pkg_lib.is_positive_lib_numbers_n",
            "pkg_lib.not_null_lib_numbers_n"
        ],
        "{}",
        r.stdout
    );
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // Six nodes and the package's `on-run-end` hook, which dbt counts too.
    assert!(
        r.stdout
            .contains("PASS=7 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=7"),
        "{}",
        r.stdout
    );
    let db = dir.join("pkg_app.duckdb");
    // As real dbt 1.10 + dbt-duckdb builds this fixture: the package's model in the schema the
    // root project configures (`+schema: lib`), its var scoped by the root project (USD) and its
    // own var (10); the root's `default__label` wins through `dispatch:`.
    assert_eq!(
        query(
            &db,
            "select table_schema || '.' || table_name || ':' || table_type from information_schema.tables order by 1"
        ),
        [
            ["main.app_orders:BASE TABLE"],
            ["main.lib_hook_ran:BASE TABLE"],
            ["main.lib_seed:BASE TABLE"],
            ["main_lib.lib_numbers:BASE TABLE"]
        ]
    );
    // The package's on-run-end hook ran, with the root's `project_name` and the package's own
    // vars (as dbt renders a package's operation).
    assert_eq!(
        query(&db, "select p, threshold::varchar from main.lib_hook_ran"),
        [["pkg_app", "10"]]
    );
    assert_eq!(
        query(
            &db,
            "select n::varchar, threshold::varchar, currency from main_lib.lib_numbers order by n"
        ),
        [["1", "10", "USD"], ["2", "10", "USD"], ["3", "10", "USD"]]
    );
    assert_eq!(
        query(
            &db,
            "select n::varchar, amount::varchar, label, shout, region from main.app_orders order by n"
        ),
        [
            ["1", "1.23", "app:order", "HI", "EU"],
            ["2", "2.47", "app:order", "HI", "EU"],
            ["3", "3.70", "app:order", "HI", "EU"]
        ]
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/manifest.json")).expect("manifest"),
    )
    .expect("json");
    let node = &manifest["nodes"]["model.pkg_lib.lib_numbers"];
    assert_eq!(node["package_name"], "pkg_lib");
    assert_eq!(node["schema"], "main_lib");
    assert_eq!(node["config"]["tags"], serde_json::json!(["lib"]));
    assert_eq!(node["fqn"], serde_json::json!(["pkg_lib", "lib_numbers"]));
    assert!(manifest["macros"]["macro.pkg_lib.default__money"].is_object());
    // Test ids as dbt names them: the root's test of a package's generic test, and the package's
    // own tests.
    for id in [
        "test.pkg_app.pkg_lib_is_positive_app_orders_amount.96772d5aac",
        "test.pkg_lib.not_null_lib_numbers_n.eae617129e",
        "test.pkg_lib.is_positive_lib_numbers_n.ed9986db9e",
    ] {
        assert!(manifest["nodes"][id].is_object(), "missing {id}");
    }
    // The root project's `data_tests: {pkg_lib: ...}` configures the package's tests only.
    let tags = |id: &str| manifest["nodes"][id]["tags"].clone();
    assert_eq!(
        tags("test.pkg_lib.not_null_lib_numbers_n.eae617129e"),
        serde_json::json!(["from_root"])
    );
    assert_eq!(
        tags("test.pkg_app.pkg_lib_is_positive_app_orders_amount.96772d5aac"),
        serde_json::json!([])
    );
}

#[test]
fn hub_and_git_packages_must_be_vendored() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/packages_real"));
    std::fs::write(
        dir.join("packages.yml"),
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.3\n  - git: https://example.invalid/calogica/dbt-expectations.git\n    revision: 0.10.4\n",
    )
    .unwrap();
    let r = sluice(&dir, &["deps"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    insta::assert_snapshot!(r.stderr);

    // Vendored: accepted, with a warning where the stated version differs from the request
    // (as dbt_utils 1.3.3 does, the vendored project states `0.1.0`).
    std::fs::write(
        dir.join("packages.yml"),
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
    )
    .unwrap();
    // A vendored package: any folder under `dbt_packages/` with a project file of that name.
    let vendored = dir.join("dbt_packages/dbt_utils");
    std::fs::create_dir_all(vendored.join("macros")).unwrap();
    std::fs::write(
        vendored.join("dbt_project.yml"),
        "name: dbt_utils\nversion: '0.1.0'\nconfig-version: 2\n",
    )
    .unwrap();
    let r = sluice(&dir, &["deps"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("vendored   dbt_utils"), "{}", r.stdout);
    assert!(r.stderr.contains("states version 0.1.0"), "{}", r.stderr);
}

/// Facts about a relation, computed exactly as `tests/fixtures/facts.py` computes them.
pub fn relation_facts(conn: &duckdb::Connection, schema: &str, name: &str) -> serde_json::Value {
    let mut st = conn
        .prepare(
            "select column_name, data_type from information_schema.columns \
             where table_schema = ? and table_name = ? order by ordinal_position",
        )
        .unwrap();
    let cols: Vec<(String, String)> = st
        .query_map([schema, name], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let text = |c: &str, t: &str| {
        let mut q = format!("\"{}\"", c.replace('"', "\"\""));
        if ["DOUBLE", "FLOAT", "REAL"].contains(&t) {
            q = format!("round({q}, 6)");
        }
        format!("coalesce(cast({q} as varchar), '<null>')")
    };
    let row = if cols.is_empty() {
        "''".to_string()
    } else {
        cols.iter()
            .map(|(c, t)| text(c, t))
            .collect::<Vec<_>>()
            .join(" || '|' || ")
    };
    let sql = format!(
        "select count(*), md5(coalesce(string_agg(r, chr(10) order by r), '')) \
         from (select {row} as r from \"{schema}\".\"{name}\")"
    );
    let (n, digest): (i64, String) = conn
        .query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    serde_json::json!({
        "columns": cols.iter().map(|(c, t)| format!("{c}:{t}")).collect::<Vec<_>>(),
        "rows": n,
        "md5": digest,
    })
}

#[test]
fn bad_packages_files_are_one_located_diagnostic_each() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/packages_local"));
    std::fs::write(
        dir.join("packages.yml"),
        "packages:\n  - local: pkg_lib\n  - local: no_such_folder\n",
    )
    .unwrap();
    let r = sluice(&dir, &["deps"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    insta::assert_snapshot!("missing_local_package", r.stderr);

    std::fs::write(
        dir.join("packages.yml"),
        "packages:\n  - package dbt_utils\n    version: 1\n",
    )
    .unwrap();
    let r = sluice(&dir, &["deps"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    insta::assert_snapshot!("malformed_packages_yml", r.stderr);
}

/// Tests of the same name in one properties entry, one bare and one under a package's
/// namespace, each find their own macro: the bare one the root project's, the namespaced one the
/// package's (whose `config(...)` call sets its severity), however many tests share a name.
#[test]
fn a_namespaced_test_and_a_bare_one_of_the_same_name_find_their_own_macros() {
    let (_tmp, dir) = crate::support::duckdb_project(
        "ns_app",
        "",
        &[
            ("packages.yml", "packages:\n  - local: helpers\n"),
            ("helpers/dbt_project.yml", "name: helpers\n"),
            (
                "helpers/macros/positive.sql",
                "{% test positive(model, column_name) %}\n{{ config(severity='warn') }}\nselect * from {{ model }} where {{ column_name }} <= 0\n{% endtest %}\n",
            ),
            (
                "macros/positive.sql",
                "{% test positive(model, column_name) %}\nselect * from {{ model }} where {{ column_name }} < 0\n{% endtest %}\n",
            ),
            ("models/m.sql", "select 1 as a, 2 as b, 3 as c"),
            (
                "models/m.yml",
                "models:\n  - name: m\n    columns:\n      - name: a\n        data_tests: [positive, helpers.positive]\n      - name: b\n        data_tests: [helpers.positive, positive]\n      - name: c\n        data_tests: [positive]\n",
            ),
        ],
    );
    let r = sluice(&dir, &["deps"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let m = crate::support::parsed_manifest(&dir);
    let mut seen = Vec::new();
    for (id, n) in m["nodes"].as_object().unwrap() {
        if !id.starts_with("test.") {
            continue;
        }
        let ns = n["test_metadata"]["namespace"].as_str().unwrap_or("-");
        seen.push(format!(
            "{} {} {} {}",
            n["column_name"].as_str().unwrap(),
            ns,
            n["config"]["severity"].as_str().unwrap(),
            n["raw_code"].as_str().unwrap(),
        ));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "a - ERROR {{ test_positive(**_dbt_generic_test_kwargs) }}",
            "a helpers warn {{ helpers.test_positive(**_dbt_generic_test_kwargs) }}",
            "b - ERROR {{ test_positive(**_dbt_generic_test_kwargs) }}",
            "b helpers warn {{ helpers.test_positive(**_dbt_generic_test_kwargs) }}",
            "c - ERROR {{ test_positive(**_dbt_generic_test_kwargs) }}",
        ]
    );
}
