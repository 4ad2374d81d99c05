//! Model versions, end to end: `tests/fixtures/model_versions` has a model `dim_customers` with
//! three versions (`dim_customers_v1.sql`, `dim_customers_v2.sql`, and v3 `defined_in:
//! customers_next`), `latest_version: 2`, per-version config, columns (include/exclude) and tests,
//! and a model referring to it without a version, with `v=1` and with `version='3'`. The expected
//! values are what dbt 1.10.23 (dbt-duckdb 1.9.6) wrote for the same project: ids, names, aliases,
//! fqns, columns, dependencies, generic test ids and the verdicts of `build`; and what `dbt ls`
//! selected.

use serde_json::{json, Value};

use crate::support::{copy_project, repo, sluice};

fn project() -> (tempfile::TempDir, std::path::PathBuf) {
    copy_project(&repo().join("tests/fixtures/model_versions"))
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const V1: &str = "model.model_versions.dim_customers.v1";
const V2: &str = "model.model_versions.dim_customers.v2";
const V3: &str = "model.model_versions.dim_customers.v3";
const REPORT: &str = "model.model_versions.customer_report";

#[test]
fn versions_build_as_dbt_builds_them() {
    let (_tmp, dir) = project();
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let m = read_json(&dir.join("target/manifest.json"));
    let node = |id: &str| m["nodes"][id].clone();

    // Each version is its own node, named after the model, aliased `<name>_v<v>`.
    for (id, v, file, materialized, columns) in [
        (
            V1,
            1,
            "dim_customers_v1.sql",
            "view",
            vec!["id", "name", "country"],
        ),
        (V2, 2, "dim_customers_v2.sql", "table", vec!["id", "name"]),
        (V3, 3, "customers_next.sql", "table", vec!["id", "segment"]),
    ] {
        let n = node(id);
        assert_eq!(n["name"], "dim_customers", "{id}");
        assert_eq!(n["alias"], format!("dim_customers_v{v}"), "{id}");
        assert_eq!(n["version"], json!(v), "{id}");
        assert_eq!(n["latest_version"], json!(2), "{id}");
        assert_eq!(n["path"], format!("marts/{file}"), "{id}");
        assert_eq!(
            n["fqn"],
            json!(["model_versions", "marts", "dim_customers", format!("v{v}")]),
            "{id}"
        );
        assert_eq!(
            n["relation_name"],
            format!("\"versions\".\"main\".\"dim_customers_v{v}\""),
            "{id}"
        );
        // The project's config reaches every version through the versioned fqn; the model's
        // `config:` is under each version's own.
        assert_eq!(n["config"]["materialized"], materialized, "{id}");
        assert_eq!(n["tags"], json!(["customers"]), "{id}");
        assert_eq!(n["config"]["meta"], json!({"owner": "crm"}), "{id}");
        let cols: Vec<&String> = n["columns"].as_object().unwrap().keys().collect();
        assert_eq!(cols, columns, "{id}");
        assert_eq!(
            n["depends_on"]["nodes"],
            json!(["seed.model_versions.raw_customers"]),
            "{id}"
        );
    }
    assert_eq!(node(V1)["description"], "One row per customer.");
    assert_eq!(
        node(V2)["description"],
        "One row per customer, without the country."
    );
    assert!(
        node(V1)["deprecation_date"]
            .as_str()
            .is_some_and(|d| d.starts_with("2024-06-01T00:00:00")),
        "{}",
        node(V1)["deprecation_date"]
    );
    assert_eq!(node(V2)["deprecation_date"], Value::Null);
    assert!(m["nodes"]
        .get("model.model_versions.customers_next")
        .is_none());

    // An unversioned ref is the latest version; `v=` / `version=` pick one.
    let report = node(REPORT);
    assert_eq!(report["depends_on"]["nodes"], json!([V2, V1, V3]));
    assert_eq!(
        report["refs"],
        json!([
            {"name": "dim_customers", "package": null, "version": null},
            {"name": "dim_customers", "package": null, "version": 1},
            {"name": "dim_customers", "package": null, "version": "3"},
        ])
    );
    assert_eq!(report["version"], Value::Null);

    // Generic tests per version: the model's columns each version includes, then its own.
    let mut tests: Vec<&String> = m["nodes"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("test."))
        .collect();
    tests.sort();
    assert_eq!(
        tests,
        [
            "test.model_versions.accepted_values_dim_customers_v3_segment__smb__enterprise.4d7cfec540",
            "test.model_versions.not_null_dim_customers_v1_id.ccb11c9411",
            "test.model_versions.not_null_dim_customers_v1_name.9634b1668b",
            "test.model_versions.not_null_dim_customers_v2_id.e004801966",
            "test.model_versions.not_null_dim_customers_v2_name.d32c3775cf",
            "test.model_versions.not_null_dim_customers_v3_id.4e43c44196",
            "test.model_versions.unique_dim_customers_v1_id.f55d167630",
            "test.model_versions.unique_dim_customers_v2_id.7ee817a038",
            "test.model_versions.unique_dim_customers_v3_id.45f7d18552",
        ]
    );
    let t = node("test.model_versions.not_null_dim_customers_v1_id.ccb11c9411");
    assert_eq!(t["attached_node"], V1);
    assert_eq!(t["file_key_name"], "models.dim_customers");
    assert_eq!(t["depends_on"]["nodes"], json!([V1]));
    assert_eq!(
        t["refs"],
        json!([{"name": "dim_customers", "package": null, "version": 1}])
    );
    assert_eq!(
        t["test_metadata"]["kwargs"]["model"],
        "{{ get_where_subquery(ref('dim_customers', version='1')) }}"
    );
    let av = node(
        "test.model_versions.accepted_values_dim_customers_v3_segment__smb__enterprise.4d7cfec540",
    );
    assert_eq!(av["attached_node"], V3);
    assert_eq!(
        av["refs"],
        json!([{"name": "dim_customers", "package": null, "version": "3"}])
    );

    // Every node built and passed, as with dbt.
    let rr = read_json(&dir.join("target/run_results.json"));
    let results = rr["results"].as_array().unwrap();
    assert_eq!(results.len(), 14);
    for x in results {
        assert!(
            x["status"] == "success" || x["status"] == "pass",
            "{}",
            x["unique_id"]
        );
    }
    let conn = duckdb::Connection::open(dir.join("versions.duckdb")).unwrap();
    let rows: i64 = conn
        .query_row("select count(*) from main.customer_report", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(rows, 3);
    let kind: String = conn
        .query_row(
            "select table_type from information_schema.tables where table_name = 'dim_customers_v1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kind, "VIEW");

    // dbt's warnings: v1 is past its deprecation date, and the report refers to it.
    assert!(
        r.stdout
            .contains("Model dim_customers.v1 has passed its deprecation date of 2024-06-01")
            || r.stderr
                .contains("Model dim_customers.v1 has passed its deprecation date of 2024-06-01"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains(
            "While compiling 'customer_report': Found a reference to dim_customers.v1, which was \
             deprecated on '2024-06-01T00:00:00"
        ),
        "{all}"
    );
    assert!(
        all.contains("Migrate now: {{ ref('model_versions', 'dim_customers', v='2') }}."),
        "{all}"
    );
}

#[test]
fn versions_select_as_dbt_ls_selects_them() {
    let (_tmp, dir) = project();
    let ls = |sel: &str| -> Vec<String> {
        let r = sluice(
            &dir,
            &["ls", "-q", "--resource-type", "model", "--select", sel],
        );
        assert_eq!(r.code, 0, "{sel}: {}{}", r.stdout, r.stderr);
        let mut out: Vec<String> = r
            .stdout
            .lines()
            .filter(|l| l.starts_with("model_versions."))
            .map(str::to_string)
            .collect();
        out.sort();
        out
    };
    let v = |n: &str| format!("model_versions.marts.dim_customers.v{n}");
    assert_eq!(ls("dim_customers"), [v("1"), v("2"), v("3")]);
    assert_eq!(ls("dim_customers.v2"), [v("2")]);
    assert_eq!(ls("dim_customers_v1"), [v("1")]);
    assert_eq!(ls("marts.dim_customers.v3"), [v("3")]);
    assert_eq!(ls("version:latest"), [v("2")]);
    assert_eq!(ls("version:prerelease"), [v("3")]);
    assert_eq!(ls("version:old"), [v("1")]);
    assert_eq!(ls("version:none"), ["model_versions.marts.customer_report"]);
    assert_eq!(
        ls("dim_customers.v2+"),
        ["model_versions.marts.customer_report".to_string(), v("2")]
    );
}

#[test]
fn bad_versions_are_reported_with_their_file() {
    let (_tmp, dir) = project();
    let yml = dir.join("models/marts/_dim_customers.yml");
    let text = std::fs::read_to_string(&yml).unwrap();
    std::fs::write(&yml, text.replace("latest_version: 2", "latest_version: 7")).unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("latest_version: 7 is not one of model 'dim_customers' versions: [1, 2, 3]"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("models/marts/_dim_customers.yml:4"),
        "{}",
        r.stderr
    );

    std::fs::write(&yml, text.replace("      - v: 2\n", "      - v: 1\n")).unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("duplicate version: '1'"), "{}", r.stderr);

    // A ref to a version that does not exist names the version.
    std::fs::write(&yml, &text).unwrap();
    let report = dir.join("models/marts/customer_report.sql");
    let sql = std::fs::read_to_string(&report).unwrap();
    std::fs::write(&report, sql.replace("v=1", "v=9")).unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "depends on a node named `dim_customers` with version `9` which was not found"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("customer_report.sql:4"), "{}", r.stderr);
}
