//! Tests for the artifact writers: a hand-built manifest (seed, model with a ref and a source,
//! generic tests, a source, a macro, a doc) snapshotted with insta, and key lists / key order
//! checked against lists copied from a real dbt 1.10 + dbt-duckdb manifest.
//!
//! Decision: the expected key lists are hard-coded (read once from dbt's output) so the tests
//! do not depend on files outside the repository.

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use serde_json::{json, Map, Value};

use super::manifest::project_id;
use super::*;
use crate::compile::{ColumnDef, DocBlock, Manifest, Node, ResourceType, SourceInfo, TestMetadata};
use crate::templating::{MacroDef, RefCall};

/// Key lists (in order) copied from a real dbt 1.10 + dbt-duckdb manifest / run_results.
#[rustfmt::skip]
mod dbt_keys {
    pub(crate) const TOP_KEYS: &[&str] = &["metadata", "nodes", "sources", "macros", "docs", "exposures", "metrics", "groups", "selectors", "disabled", "parent_map", "child_map", "group_map", "saved_queries", "semantic_models", "unit_tests"];
    pub(crate) const METADATA_KEYS: &[&str] = &["dbt_schema_version", "dbt_version", "generated_at", "invocation_id", "invocation_started_at", "env", "project_name", "project_id", "user_id", "send_anonymous_usage_stats", "adapter_type", "quoting"];
    pub(crate) const MODEL_KEYS: &[&str] = &["database", "schema", "name", "resource_type", "package_name", "path", "original_file_path", "unique_id", "fqn", "alias", "checksum", "config", "tags", "description", "columns", "meta", "group", "docs", "patch_path", "build_path", "unrendered_config", "created_at", "relation_name", "raw_code", "doc_blocks", "language", "refs", "sources", "metrics", "depends_on", "compiled_path", "compiled", "compiled_code", "extra_ctes_injected", "extra_ctes", "contract", "access", "constraints", "version", "latest_version", "deprecation_date", "primary_key", "time_spine"];
    pub(crate) const MODEL_CONFIG_KEYS: &[&str] = &["enabled", "alias", "schema", "database", "tags", "meta", "group", "materialized", "incremental_strategy", "batch_size", "lookback", "begin", "persist_docs", "post-hook", "pre-hook", "quoting", "column_types", "full_refresh", "unique_key", "on_schema_change", "on_configuration_change", "grants", "packages", "docs", "contract", "event_time", "concurrent_batches", "access", "freshness"];
    pub(crate) const SEED_KEYS: &[&str] = &["database", "schema", "name", "resource_type", "package_name", "path", "original_file_path", "unique_id", "fqn", "alias", "checksum", "config", "tags", "description", "columns", "meta", "group", "docs", "patch_path", "build_path", "unrendered_config", "created_at", "relation_name", "raw_code", "doc_blocks", "root_path", "depends_on"];
    pub(crate) const SEED_CONFIG_KEYS: &[&str] = &["enabled", "alias", "schema", "database", "tags", "meta", "group", "materialized", "incremental_strategy", "batch_size", "lookback", "begin", "persist_docs", "post-hook", "pre-hook", "quoting", "column_types", "full_refresh", "unique_key", "on_schema_change", "on_configuration_change", "grants", "packages", "docs", "contract", "event_time", "concurrent_batches", "delimiter", "quote_columns"];
    pub(crate) const GENERIC_TEST_KEYS: &[&str] = &["database", "schema", "name", "resource_type", "package_name", "path", "original_file_path", "unique_id", "fqn", "alias", "checksum", "config", "tags", "description", "columns", "meta", "group", "docs", "patch_path", "build_path", "unrendered_config", "created_at", "relation_name", "raw_code", "doc_blocks", "language", "refs", "sources", "metrics", "depends_on", "compiled_path", "compiled", "compiled_code", "extra_ctes_injected", "extra_ctes", "contract", "column_name", "file_key_name", "attached_node", "test_metadata"];
    pub(crate) const TEST_CONFIG_KEYS: &[&str] = &["enabled", "alias", "schema", "database", "tags", "meta", "group", "materialized", "severity", "store_failures", "store_failures_as", "where", "limit", "fail_calc", "warn_if", "error_if"];
    pub(crate) const COLUMN_KEYS: &[&str] = &["name", "description", "meta", "data_type", "constraints", "quote", "config", "tags", "granularity", "doc_blocks"];
    pub(crate) const SOURCE_KEYS: &[&str] = &["database", "schema", "name", "resource_type", "package_name", "path", "original_file_path", "unique_id", "fqn", "source_name", "source_description", "loader", "identifier", "quoting", "loaded_at_field", "loaded_at_query", "freshness", "external", "description", "columns", "meta", "source_meta", "tags", "config", "patch_path", "unrendered_config", "relation_name", "created_at", "unrendered_database", "unrendered_schema", "doc_blocks"];
    pub(crate) const SOURCE_CONFIG_KEYS: &[&str] = &["enabled", "event_time", "freshness", "loaded_at_field", "loaded_at_query", "meta", "tags"];
    pub(crate) const MACRO_KEYS: &[&str] = &["name", "resource_type", "package_name", "path", "original_file_path", "unique_id", "macro_sql", "depends_on", "description", "meta", "docs", "patch_path", "arguments", "created_at", "supported_languages"];
    pub(crate) const DOC_KEYS: &[&str] = &["name", "resource_type", "package_name", "path", "original_file_path", "unique_id", "block_contents"];
    pub(crate) const EXPOSURE_KEYS: &[&str] = &["name", "resource_type", "package_name", "path", "original_file_path", "unique_id", "fqn", "type", "owner", "description", "label", "maturity", "meta", "tags", "config", "unrendered_config", "url", "depends_on", "refs", "sources", "metrics", "created_at"];
    pub(crate) const UNIT_TEST_KEYS: &[&str] = &["model", "given", "expect", "name", "resource_type", "package_name", "path", "original_file_path", "unique_id", "fqn", "description", "overrides", "depends_on", "config", "checksum", "schema", "created_at", "versions", "version"];
    pub(crate) const SNAPSHOT_CONFIG_KEYS: &[&str] = &["enabled", "alias", "schema", "database", "tags", "meta", "group", "materialized", "incremental_strategy", "batch_size", "lookback", "begin", "persist_docs", "post-hook", "pre-hook", "quoting", "column_types", "full_refresh", "unique_key", "on_schema_change", "on_configuration_change", "grants", "packages", "docs", "contract", "event_time", "concurrent_batches", "strategy", "target_schema", "target_database", "updated_at", "check_cols", "snapshot_meta_column_names", "dbt_valid_to_current"];
    pub(crate) const RUN_RESULTS_KEYS: &[&str] = &["metadata", "results", "elapsed_time", "args"];
    pub(crate) const RESULT_KEYS: &[&str] = &["status", "timing", "thread_id", "execution_time", "adapter_response", "message", "failures", "unique_id", "compiled", "compiled_code", "relation_name", "batch_results"];
}
use dbt_keys::*;

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn meta() -> ArtifactMeta {
    ArtifactMeta {
        invocation_id: "00000000-0000-4000-8000-000000000000".into(),
        generated_at: Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap(),
        invocation_started_at: Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 0).unwrap(),
        adapter_type: "duckdb".into(),
        project_name: "shop".into(),
        target_path: "target".into(),
        project_root: "/proj".into(),
        built: ["model.shop.customers", "seed.shop.raw_customers"]
            .into_iter()
            .map(String::from)
            .collect(),
    }
}

fn node(id: &str, rt: ResourceType, name: &str) -> Node {
    let mut n = Node::new(id.into(), rt, name.into(), "shop".into());
    n.database = "shop".into();
    n.schema = "main".into();
    n.alias = name.into();
    n.fqn = vec!["shop".into(), name.into()];
    n
}

fn generic_test(name: &str, hash: &str, column: &str) -> Node {
    let mut t = node(
        &format!("test.shop.{name}_customers_{column}.{hash}"),
        ResourceType::Test,
        "",
    );
    t.name = format!("{name}_customers_{column}");
    t.alias = t.name.clone();
    t.fqn = vec!["shop".into(), t.name.clone()];
    t.schema = "main_dbt_test__audit".into();
    t.path = format!("{}.sql", t.name);
    t.original_file_path = "models/schema.yml".into();
    t.raw_code = format!("{{{{ test_{name}(**_dbt_generic_test_kwargs) }}}}");
    t.refs = vec![RefCall {
        package: None,
        name: "customers".into(),
        version: None,
        version_quoted: false,
    }];
    t.depends_on_nodes = vec!["model.shop.customers".into()];
    t.depends_on_macros = vec![
        format!("macro.dbt.test_{name}"),
        "macro.dbt.get_where_subquery".into(),
    ];
    t.column_name = Some(column.into());
    t.file_key_name = Some("models.customers".into());
    t.attached_node = Some("model.shop.customers".into());
    t.test_metadata = Some(TestMetadata {
        name: name.into(),
        namespace: None,
        kwargs: obj(
            json!({"column_name": column, "model": "{{ get_where_subquery(ref('customers')) }}"}),
        ),
    });
    t
}

fn sample_manifest() -> Manifest {
    let mut m = Manifest {
        project_name: "shop".into(),
        adapter_type: "duckdb".into(),
        ..Default::default()
    };

    let mut seed = node(
        "seed.shop.raw_customers",
        ResourceType::Seed,
        "raw_customers",
    );
    seed.path = "raw_customers.csv".into();
    seed.original_file_path = "seeds/raw_customers.csv".into();
    seed.checksum = crate::project::FileHash::sha256("ab".repeat(32));
    seed.config = std::sync::Arc::new(
        obj(json!({"materialized": "seed", "docs": {"node_color": "#cd7f32"}})).into(),
    );
    seed.unrendered_config = obj(json!({"docs": {"node_color": "#cd7f32"}}));
    seed.raw_code = "id,name\n1,a\n".into();
    m.nodes.insert(seed.unique_id.clone(), Box::new(seed));

    let mut model = node("model.shop.customers", ResourceType::Model, "customers");
    model.path = "customers.sql".into();
    model.original_file_path = "models/customers.sql".into();
    model.patch_path = Some("shop://models/schema.yml".into());
    model.checksum = crate::project::FileHash::sha256("cd".repeat(32));
    model.config = std::sync::Arc::new(
        obj(json!({"materialized": "table", "tags": ["nightly"], "pre_hook": ["select 1"]})).into(),
    );
    model.unrendered_config = obj(json!({"materialized": "table"}));
    model.tags = vec!["nightly".into()];
    model.description = "One row per customer".into();
    model.columns = vec![ColumnDef {
        name: "id".into(),
        description: "pk".into(),
        ..Default::default()
    }];
    model.raw_code =
        "select * from {{ ref('raw_customers') }} join {{ source('app', 'orders') }} using (id)"
            .into();
    model.refs = vec![RefCall {
        package: None,
        name: "raw_customers".into(),
        version: None,
        version_quoted: false,
    }];
    model.sources = vec![("app".into(), "orders".into())];
    model.depends_on_nodes = vec![
        "seed.shop.raw_customers".into(),
        "source.shop.app.orders".into(),
    ];
    model.compiled_code = Some("select * from \"shop\".\"main\".\"raw_customers\"".into());
    m.nodes.insert(model.unique_id.clone(), Box::new(model));

    let mut not_null = generic_test("not_null", "f6a7b8c9d0", "id");
    not_null.compiled_code =
        Some("select id from \"shop\".\"main\".\"customers\" where id is null".into());
    for t in [generic_test("unique", "a1b2c3d4e5", "id"), not_null] {
        m.nodes.insert(t.unique_id.clone(), Box::new(t));
    }

    let mut src = node("source.shop.app.orders", ResourceType::Source, "orders");
    src.fqn = vec!["shop".into(), "app".into(), "orders".into()];
    src.path = "models/schema.yml".into();
    src.original_file_path = "models/schema.yml".into();
    src.alias = "raw_orders".into();
    src.source = Some(Box::new(SourceInfo {
        source_name: "app".into(),
        source_description: "The app database".into(),
        loader: "fivetran".into(),
        identifier: "raw_orders".into(),
        ..Default::default()
    }));
    m.sources.insert(src.unique_id.clone(), src);

    m.macros.insert(
        "macro.shop.cents".into(),
        MacroDef {
            unique_id: "macro.shop.cents".into(),
            package: "shop".into(),
            name: "cents".into(),
            template: String::new(),
            original_file_path: "macros/cents.sql".into(),
            contents: String::new(),
            macro_sql: "{% macro cents(x) %}{{ x }} * 100{% endmacro %}".into(),
            arguments: vec!["x".into()],
            required: 1,
            depends_on: Vec::new(),
            properties: None,
        },
    );
    m.docs.insert(
        "doc.shop.customer_id".into(),
        DocBlock {
            unique_id: "doc.shop.customer_id".into(),
            name: "customer_id".into(),
            package_name: "shop".into(),
            original_file_path: "models/docs.md".into(),
            block_contents: "The customer".into(),
        },
    );
    m
}

#[test]
fn manifest_snapshot() {
    let v = manifest_json(&sample_manifest(), &meta());
    insta::assert_json_snapshot!(v);
}

#[test]
fn manifest_keys_match_dbt() {
    let v = manifest_json(&sample_manifest(), &meta());
    assert_eq!(keys(&v), TOP_KEYS);
    assert_eq!(keys(&v["metadata"]), METADATA_KEYS);
    let model = &v["nodes"]["model.shop.customers"];
    assert_eq!(keys(model), MODEL_KEYS);
    assert_eq!(keys(&model["config"]), MODEL_CONFIG_KEYS);
    assert_eq!(keys(&model["columns"]["id"]), COLUMN_KEYS);
    let seed = &v["nodes"]["seed.shop.raw_customers"];
    assert_eq!(keys(seed), SEED_KEYS);
    assert_eq!(keys(&seed["config"]), SEED_CONFIG_KEYS);
    let test = &v["nodes"]["test.shop.not_null_customers_id.f6a7b8c9d0"];
    assert_eq!(keys(test), GENERIC_TEST_KEYS);
    assert_eq!(keys(&test["config"]), TEST_CONFIG_KEYS);
    assert_eq!(
        test["compiled_path"],
        "target/compiled/shop/models/schema.yml/not_null_customers_id.sql"
    );
    // Not compiled: dbt leaves out the four compile-time keys.
    let uncompiled = &v["nodes"]["test.shop.unique_customers_id.a1b2c3d4e5"];
    let compile_keys = [
        "compiled",
        "compiled_code",
        "extra_ctes_injected",
        "extra_ctes",
    ];
    let expected: Vec<&str> = GENERIC_TEST_KEYS
        .iter()
        .copied()
        .filter(|k| !compile_keys.contains(k))
        .collect();
    assert_eq!(keys(uncompiled), expected);
    let src = &v["sources"]["source.shop.app.orders"];
    assert_eq!(keys(src), SOURCE_KEYS);
    assert_eq!(keys(&src["config"]), SOURCE_CONFIG_KEYS);
    assert_eq!(keys(&v["macros"]["macro.shop.cents"]), MACRO_KEYS);
    assert_eq!(keys(&v["docs"]["doc.shop.customer_id"]), DOC_KEYS);
}

#[test]
fn manifest_values_match_dbt() {
    let v = manifest_json(&sample_manifest(), &meta());
    let md = &v["metadata"];
    assert_eq!(
        md["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/manifest/v12.json"
    );
    assert_eq!(md["generated_at"], "2024-01-02T03:04:05.000000Z");
    assert_eq!(md["user_id"], Value::Null);
    assert_eq!(md["send_anonymous_usage_stats"], false);
    assert_eq!(
        project_id("jaffle_shop"),
        "06e5b98c2db46f8a72cc4f66410e9b3b"
    );

    let model = &v["nodes"]["model.shop.customers"];
    assert_eq!(
        model["checksum"],
        json!({"name": "sha256", "checksum": "cd".repeat(32)})
    );
    assert_eq!(model["config"]["materialized"], "table");
    assert_eq!(
        model["config"]["pre-hook"],
        json!([{"sql": "select 1", "transaction": true, "index": null}])
    );
    assert_eq!(
        model["refs"],
        json!([{"name": "raw_customers", "package": null, "version": null}])
    );
    assert_eq!(model["sources"], json!([["app", "orders"]]));
    assert_eq!(model["relation_name"], "\"shop\".\"main\".\"customers\"");
    assert_eq!(model["build_path"], "target/run/shop/models/customers.sql");
    assert_eq!(
        model["compiled_path"],
        "target/compiled/shop/models/customers.sql"
    );
    assert_eq!(model["compiled"], true);
    assert_eq!(model["primary_key"], json!(["id"]));
    assert_eq!(model["created_at"], json!(1704164640.0));

    let seed = &v["nodes"]["seed.shop.raw_customers"];
    assert_eq!(seed["raw_code"], "");
    assert_eq!(seed["root_path"], "/proj");
    assert_eq!(seed["docs"], json!({"show": true, "node_color": "#cd7f32"}));
    assert_eq!(seed["depends_on"], json!({"macros": []}));

    let test = &v["nodes"]["test.shop.unique_customers_id.a1b2c3d4e5"];
    assert_eq!(test["checksum"], json!({"name": "none", "checksum": ""}));
    assert_eq!(test["config"]["schema"], "dbt_test__audit");
    assert_eq!(test["relation_name"], Value::Null);
    assert_eq!(test["build_path"], Value::Null);
    assert_eq!(test["compiled_path"], Value::Null);
    assert!(
        test.get("compiled").is_none(),
        "uncompiled nodes have no compiled key"
    );
    assert_eq!(
        keys(&test["test_metadata"]),
        ["name", "kwargs", "namespace"]
    );

    let src = &v["sources"]["source.shop.app.orders"];
    assert_eq!(src["relation_name"], "\"shop\".\"main\".\"raw_orders\"");
    assert_eq!(
        keys(&src["freshness"]),
        ["warn_after", "error_after", "filter"]
    );

    assert_eq!(
        v["child_map"]["model.shop.customers"],
        json!([
            "test.shop.not_null_customers_id.f6a7b8c9d0",
            "test.shop.unique_customers_id.a1b2c3d4e5"
        ])
    );
    assert_eq!(
        v["parent_map"]["model.shop.customers"],
        json!(["seed.shop.raw_customers", "source.shop.app.orders"])
    );
    assert_eq!(v["docs"]["doc.shop.customer_id"]["path"], "docs.md");
}

#[test]
fn other_resource_types_match_dbt_keys() {
    let mut m = sample_manifest();
    let mut exp = node("exposure.shop.dash", ResourceType::Exposure, "dash");
    exp.definition = json!({"type": "dashboard", "owner": {"name": "me", "email": "me@x.com"}});
    exp.depends_on_nodes = vec!["model.shop.customers".into()];
    m.exposures.insert(exp.unique_id.clone(), exp);
    let mut ut = node(
        "unit_test.shop.customers.ut1",
        ResourceType::UnitTest,
        "ut1",
    );
    ut.definition = json!({"model": "customers", "given": [{"input": "ref('raw_customers')", "rows": []}], "expect": {"rows": []}});
    ut.depends_on_nodes = vec!["model.shop.customers".into()];
    m.unit_tests.insert(ut.unique_id.clone(), ut);
    let mut snap = node("snapshot.shop.snap", ResourceType::Snapshot, "snap");
    snap.config = std::sync::Arc::new(
        obj(json!({"materialized": "snapshot", "strategy": "check", "check_cols": "all"})).into(),
    );
    snap.compiled_code = Some("select 1".into());
    m.nodes.insert(snap.unique_id.clone(), Box::new(snap));
    let mut off = node("model.shop.off", ResourceType::Model, "off");
    off.config = std::sync::Arc::new(obj(json!({"enabled": false})).into());
    m.disabled.insert(off.unique_id.clone(), vec![off]);

    let v = manifest_json(&m, &meta());
    let e = &v["exposures"]["exposure.shop.dash"];
    assert_eq!(keys(e), EXPOSURE_KEYS);
    assert_eq!(keys(&e["owner"]), ["email", "name"]);
    let u = &v["unit_tests"]["unit_test.shop.customers.ut1"];
    assert_eq!(keys(u), UNIT_TEST_KEYS);
    assert_eq!(
        u["given"][0],
        json!({"input": "ref('raw_customers')", "rows": [], "format": "dict", "fixture": null})
    );
    let s = &v["nodes"]["snapshot.shop.snap"];
    assert_eq!(keys(&s["config"]), SNAPSHOT_CONFIG_KEYS);
    assert_eq!(s["compiled_path"], Value::Null);
    assert_eq!(s["config"]["strategy"], "check");
    let off = &v["disabled"]["model.shop.off"][0];
    assert_eq!(off["config"]["enabled"], false);
    assert!(off.get("primary_key").is_some());
    assert_eq!(
        v["child_map"]["model.shop.customers"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

fn sample_results() -> Vec<RunResult> {
    let t0 = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 1).unwrap();
    let t1 = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 2).unwrap();
    let mut seed = RunResult::new("seed.shop.raw_customers", RunStatus::Success);
    seed.timing = vec![
        Timing::new("compile", t0, t0),
        Timing::new("execute", t0, t1),
    ];
    seed.execution_time = 1.0;
    seed.message = Some("INSERT 2".into());
    seed.adapter_response = json!({"_message": "INSERT 2", "code": "INSERT", "rows_affected": 2});
    let mut test = RunResult::new("test.shop.unique_customers_id.a1b2c3d4e5", RunStatus::Pass);
    test.failures = Some(0);
    test.compiled = Some(true);
    test.compiled_code = Some("select 1".into());
    let mut model = RunResult::new("model.shop.customers", RunStatus::Skipped);
    model.compiled = Some(false);
    model.relation_name = Some("\"shop\".\"main\".\"customers\"".into());
    vec![seed, test, model]
}

#[test]
fn run_results_shape() {
    let v = run_results_json(&sample_results(), &meta(), 2.5, json!({"which": "build"}));
    assert_eq!(keys(&v), RUN_RESULTS_KEYS);
    assert_eq!(
        keys(&v["metadata"]),
        [
            "dbt_schema_version",
            "dbt_version",
            "generated_at",
            "invocation_id",
            "invocation_started_at",
            "env"
        ]
    );
    assert_eq!(
        v["metadata"]["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/run-results/v6.json"
    );
    for r in v["results"].as_array().unwrap() {
        assert_eq!(keys(r), RESULT_KEYS);
    }
    assert_eq!(
        v["results"][0]["timing"][1]["completed_at"],
        "2024-01-02T03:04:02.000000Z"
    );
    assert_eq!(v["results"][1]["status"], "pass");
    assert_eq!(v["results"][2]["execution_time"], json!(0));
    assert_eq!(v["results"][2]["timing"], json!([]));
    insta::assert_json_snapshot!(v);
}

#[test]
fn statuses_use_dbt_spelling() {
    let all = [
        (RunStatus::Success, "success"),
        (RunStatus::Error, "error"),
        (RunStatus::Skipped, "skipped"),
        (RunStatus::PartialSuccess, "partial success"),
        (RunStatus::NoOp, "no-op"),
        (RunStatus::Pass, "pass"),
        (RunStatus::Fail, "fail"),
        (RunStatus::Warn, "warn"),
        (RunStatus::RuntimeError, "runtime error"),
    ];
    for (s, text) in all {
        assert_eq!(s.as_str(), text);
    }
}

#[test]
fn write_json_is_atomic_and_creates_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("target/sub/manifest.json");
    write_json(&path, &json!({"a": 1})).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), r#"{"a":1}"#);
    write_json(&path, &json!({"a": 2})).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), r#"{"a":2}"#);
    // (The replaced version is removed on another thread, waited for before the process ends.)
    super::finish_removals();
    let names: BTreeSet<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["manifest.json".to_string()]),
        "no .tmp file left behind"
    );
}

#[test]
fn invocation_ids_are_uuid_shaped_and_distinct() {
    let (a, b) = (new_invocation_id(), new_invocation_id());
    assert_ne!(a, b);
    let parts: Vec<usize> = a.split('-').map(str::len).collect();
    assert_eq!(parts, [8, 4, 4, 4, 12]);
    assert_eq!(&a[14..15], "4");
}

#[test]
fn streamed_manifest_equals_the_value() {
    let m = sample_manifest();
    let text = crate::artifacts::manifest_string(&m, &meta());
    let value = crate::artifacts::manifest_json(&m, &meta());
    assert_eq!(text, serde_json::to_string(&value).unwrap());
}

/// The artifacts real dbt 1.10 + dbt-duckdb wrote for the `shop` fixture
/// (`tests/fixtures/shop/expected/record.sh`).
fn dbt_artifact(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/shop/expected")
        .join(name)
}

#[test]
fn run_results_dbt_wrote_read_back_to_the_same_document() {
    let path = dbt_artifact("dbt_run_results.json");
    let rr = RunResults::read(&path).unwrap();
    assert_eq!(rr.metadata.dbt_schema_version, RUN_RESULTS_SCHEMA);
    assert!(rr.metadata.dbt_version.starts_with("1.10."));
    assert_eq!(rr.results.len(), 28);
    assert_eq!(rr.args["which"], "build");
    for r in &rr.results {
        assert!(
            matches!(r.status, RunStatus::Success | RunStatus::Pass),
            "{r:?}"
        );
        assert_eq!(
            r.timing.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["compile", "execute"]
        );
        assert!(r.timing[1].completed_at >= r.timing[1].started_at);
        assert!(r.thread_id.starts_with("Thread-"), "{}", r.thread_id);
    }
    let seed = rr.get("seed.shop.raw_shoppers").unwrap();
    assert_eq!(seed.message.as_deref(), Some("INSERT 40"));
    assert_eq!(seed.adapter_response["rows_affected"], 40);
    assert_eq!(seed.compiled, None);
    let test = rr
        .get("test.shop.unique_orders_order_id.fed79b3a6e")
        .unwrap();
    assert_eq!(test.failures, Some(0));
    assert!(test.compiled_code.as_deref().unwrap().contains("group by"));
    // Written back, the typed document is dbt's document, value for value.
    let dbt: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(serde_json::to_value(&rr).unwrap(), dbt);
}

#[test]
fn run_results_sluice_wrote_read_back_byte_for_byte() {
    let mut results = sample_results();
    results[2].status = RunStatus::Error;
    results[2].message = Some("Runtime Error: division by zero".into());
    let written = serde_json::to_string(&run_results_json(
        &results,
        &meta(),
        0.0,
        json!({"which": "run"}),
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run_results.json");
    std::fs::write(&path, &written).unwrap();
    let back = RunResults::read(&path).unwrap();
    assert_eq!(back.results, results);
    assert_eq!(back.metadata.generated_at, meta().generated_at);
    assert_eq!(serde_json::to_string(&back).unwrap(), written);
}

#[test]
fn a_broken_run_results_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run_results.json");
    std::fs::write(&path, r#"{"metadata": {}, "results": []}"#).unwrap();
    let e = RunResults::read(&path).unwrap_err().to_string();
    assert!(
        e.contains("run_results.json is not a run_results.json"),
        "{e}"
    );
    assert!(e.contains("dbt_schema_version"), "{e}");
    std::fs::write(&path, r#"{"results": [{"status": "exploded"}]}"#).unwrap();
    let e = RunResults::read(&path).unwrap_err().to_string();
    assert!(e.contains("unknown run status `exploded`"), "{e}");
    let e = RunResults::read(&dir.path().join("none.json")).unwrap_err();
    assert!(e.to_string().starts_with("cannot read "), "{e}");
}

#[test]
fn the_manifest_dbt_wrote_reads_back_typed() {
    let m = ManifestDocument::read(&dbt_artifact("dbt_manifest.json")).unwrap();
    assert_eq!(
        m.metadata.dbt_schema_version,
        "https://schemas.getdbt.com/dbt/manifest/v12.json"
    );
    assert_eq!(m.metadata.adapter_type.as_deref(), Some("duckdb"));
    assert_eq!(m.nodes.len(), 28);
    let shoppers = m.get("model.shop.shoppers").unwrap();
    assert_eq!(shoppers.resource_type, ResourceType::Model);
    assert_eq!(
        shoppers.materialized(),
        crate::compile::Materialization::Table
    );
    assert!(shoppers.enabled());
    assert_eq!(shoppers.checksum.as_ref().unwrap().name, "sha256");
    assert_eq!(shoppers.checksum.as_ref().unwrap().checksum.len(), 64);
    assert!(shoppers.raw_code.as_deref().unwrap().contains("ref("));
    assert_eq!(
        shoppers.relation_name.as_deref(),
        Some("\"shop\".\"main\".\"shoppers\"")
    );
    assert!(shoppers.other.contains_key("compiled_path"));
    for (id, n) in &m.nodes {
        assert_eq!(&n.unique_id, id);
        for dep in &n.depends_on.nodes {
            assert!(m.get(dep).is_some(), "{id} depends on unknown {dep}");
        }
        assert_eq!(m.parent_map[id].len(), n.depends_on.nodes.len(), "{id}");
        if n.resource_type == ResourceType::Test {
            assert!(
                n.test_metadata.is_some() || n.path.starts_with("singular"),
                "{id}"
            );
            assert!(
                n.attached_node.is_some() || n.test_metadata.is_none(),
                "{id}"
            );
        }
    }
}

#[test]
fn the_manifest_sluice_writes_reads_back_as_the_project() {
    let project = sample_manifest();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.json");
    std::fs::write(&path, manifest_string(&project, &meta())).unwrap();
    let m = ManifestDocument::read(&path).unwrap();
    assert_eq!(
        m.metadata.invocation_id.as_deref(),
        Some(meta().invocation_id.as_str())
    );
    assert_eq!(
        m.nodes.keys().collect::<Vec<_>>(),
        project.nodes.keys().collect::<Vec<_>>()
    );
    for (id, node) in &project.nodes {
        let read = &m.nodes[id];
        assert_eq!(read.resource_type, node.resource_type, "{id}");
        assert_eq!(read.name, node.name);
        assert_eq!(read.fqn, node.fqn);
        assert_eq!(read.depends_on.nodes, node.depends_on_nodes, "{id}");
        assert_eq!(read.relation_name, node.relation_name(), "{id}");
        if node.resource_type != ResourceType::Seed {
            // dbt writes a seed's raw_code empty.
            assert_eq!(
                read.raw_code.as_deref(),
                Some(node.raw_code.as_str()),
                "{id}"
            );
        }
    }
    assert_eq!(
        m.sources.keys().collect::<Vec<_>>(),
        project.sources.keys().collect::<Vec<_>>()
    );
    assert_eq!(m.macros.len(), project.macros.len());
}

/// dbt's inferred primary key: columns with both a `unique` (enabled or not) and a `not_null`
/// test, else the columns with an enabled `unique` test, else those with a disabled one;
/// `unique_combination_of_columns` counts as `unique` for each of its columns.
#[test]
fn primary_key_is_inferred_from_the_tests_as_dbt_infers_it() {
    use super::node_json::{inferred_primary_key, tested_columns};
    let pk = |tests: &[(&'static str, Vec<&'static str>, bool)]| {
        inferred_primary_key(tests.iter().cloned())
    };
    assert_eq!(
        pk(&[
            ("unique", vec!["b"], true),
            ("unique", vec!["a"], true),
            ("not_null", vec!["a"], true),
            ("accepted_values", vec!["a"], true),
        ]),
        ["a"]
    );
    assert_eq!(
        pk(&[
            ("unique", vec!["b"], true),
            ("unique", vec!["a", "b"], true)
        ]),
        ["a", "b"]
    );
    assert_eq!(
        pk(&[("unique", vec!["c"], false), ("not_null", vec!["c"], true)]),
        ["c"]
    );
    assert_eq!(
        pk(&[("unique", vec!["c"], false), ("unique", vec!["d"], true)]),
        ["d"]
    );
    assert_eq!(pk(&[("not_null", vec!["a"], true)]), Vec::<String>::new());
    let kwargs = obj(json!({"combination_of_columns": ["x", "y"], "model": "m"}));
    assert_eq!(tested_columns(&kwargs, None), ["x", "y"]);
    let kwargs = obj(json!({"column_name": "id", "model": "m"}));
    assert_eq!(tested_columns(&kwargs, Some("other")), ["id"]);
    assert_eq!(tested_columns(&Map::new(), Some("col")), ["col"]);
}
