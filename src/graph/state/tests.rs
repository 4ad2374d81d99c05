//! The state checks on small hand-written manifests, one rule of dbt's at a time.

use serde_json::{json, Value};

use super::{PreviousArtifacts, StateFacts};

fn model(raw: &str, unrendered: Value) -> Value {
    json!({
        "resource_type": "model", "raw_code": raw, "fqn": ["p", "m"],
        "unrendered_config": unrendered, "config": {"materialized": "view"},
        "description": "", "columns": {}, "contract": {"enforced": false},
        "depends_on": {"macros": ["macro.p.helper"], "nodes": []},
    })
}

fn manifest(nodes: Value, helper_sql: &str) -> Value {
    json!({
        "nodes": nodes,
        "sources": {"source.p.raw.t": {"resource_type": "source", "database": "db", "schema": "raw",
            "identifier": "t", "fqn": ["p", "raw", "t"], "unrendered_config": {}, "quoting": {},
            "freshness": null, "loaded_at_field": null, "external": null, "description": "x"}},
        "macros": {
            "macro.p.helper": {"macro_sql": helper_sql, "depends_on": {"macros": ["macro.p.inner"]}},
            "macro.p.inner": {"macro_sql": "inner", "depends_on": {"macros": []}},
        },
    })
}

fn facts(prev: &Value, cur: &Value) -> StateFacts {
    let previous = PreviousArtifacts {
        manifest: Some(prev.clone()),
        ..Default::default()
    };
    StateFacts::compare(&previous, cur, None)
}

const M: &str = "model.p.m";

#[test]
fn an_unchanged_manifest_has_nothing_modified() {
    let m = manifest(json!({ M: model("select 1", json!({})) }), "h");
    let f = facts(&m, &m);
    assert!(!f.state("modified", M));
    assert!(f.state("unmodified", M) && f.state("old", M));
    assert!(!f.state("modified", "source.p.raw.t"));
}

#[test]
fn body_configs_and_relation_are_told_apart() {
    let prev = manifest(
        json!({ M: model("select 1", json!({"materialized": "view"})) }),
        "h",
    );
    let body = manifest(
        json!({ M: model("select 2", json!({"materialized": "view"})) }),
        "h",
    );
    let f = facts(&prev, &body);
    assert!(f.state("modified", M) && f.state("modified.body", M));
    assert!(!f.state("modified.configs", M));

    let cfg = manifest(
        json!({ M: model("select 1", json!({"materialized": "table"})) }),
        "h",
    );
    let f = facts(&prev, &cfg);
    assert!(f.state("modified.configs", M) && !f.state("modified.body", M));

    // schema/alias/database are the relation, not configs; tags are no change at all.
    let rel = manifest(
        json!({ M: model("select 1", json!({"materialized": "view", "schema": "x"})) }),
        "h",
    );
    let f = facts(&prev, &rel);
    assert!(f.state("modified.relation", M) && !f.state("modified.configs", M));
    let tags = manifest(
        json!({ M: model("select 1", json!({"materialized": "view", "tags": ["a"]})) }),
        "h",
    );
    assert!(!facts(&prev, &tags).state("modified", M));
}

#[test]
fn a_macro_change_reaches_nodes_through_the_macros_they_call() {
    let nodes = json!({ M: model("select 1", json!({})) });
    let prev = manifest(nodes.clone(), "h");
    let mut cur = manifest(nodes, "h");
    cur["macros"]["macro.p.inner"]["macro_sql"] = json!("inner changed");
    let f = facts(&prev, &cur);
    assert!(f.state("modified", M) && f.state("modified.macros", M));
    assert!(!f.state("modified.body", M));
}

#[test]
fn new_nodes_are_modified_but_new_sources_are_not() {
    let prev = json!({"nodes": {}, "sources": {}, "macros": {}});
    let cur = manifest(json!({ M: model("select 1", json!({})) }), "h");
    let f = facts(&prev, &cur);
    assert!(f.state("new", M) && f.state("modified", M) && f.state("modified.contract", M));
    // dbt's `SourceDefinition.same_contents(None)` is true: a new source is not `modified`,
    // though it is `new`, `modified.configs` and `modified.relation`.
    let s = "source.p.raw.t";
    assert!(f.state("new", s) && !f.state("modified", s));
    assert!(f.state("modified.relation", s) && !f.state("modified.body", s));
}

#[test]
fn persisted_descriptions_and_contracts_count_only_when_configured() {
    let mut a = model("select 1", json!({}));
    a["description"] = json!("old words");
    let mut b = a.clone();
    b["description"] = json!("new words");
    let prev = manifest(json!({ M: a.clone() }), "h");
    assert!(!facts(&prev, &manifest(json!({ M: b.clone() }), "h")).state("modified", M));
    b["config"]["persist_docs"] = json!({"relation": true});
    a["config"]["persist_docs"] = json!({"relation": true});
    let prev = manifest(json!({ M: a.clone() }), "h");
    let f = facts(&prev, &manifest(json!({ M: b }), "h"));
    assert!(f.state("modified", M) && f.state("modified.persisted_descriptions", M));

    let mut c = model("select 1", json!({}));
    c["contract"] = json!({"enforced": true});
    c["columns"] = json!({"id": {"name": "id", "data_type": "int", "constraints": []}});
    let mut d = c.clone();
    d["columns"]["id"]["data_type"] = json!("bigint");
    let f = facts(
        &manifest(json!({ M: c }), "h"),
        &manifest(json!({ M: d }), "h"),
    );
    assert!(f.state("modified.contract", M) && f.state("modified", M));
}

#[test]
fn results_and_freshness_come_from_their_own_files() {
    let previous = PreviousArtifacts {
        manifest: None,
        run_results: Some(json!({"results": [
            {"unique_id": M, "status": "error"}, {"unique_id": "model.p.n", "status": "success"}
        ]})),
        sources: Some(json!({"results": [
            {"unique_id": "source.p.raw.t", "max_loaded_at": "2026-01-01T00:00:00+00:00"},
            {"unique_id": "source.p.raw.u", "max_loaded_at": "2026-01-02T00:00:00+00:00"}
        ]})),
    };
    let now = json!({"results": [
        {"unique_id": "source.p.raw.t", "max_loaded_at": "2026-01-03T00:00:00+00:00"},
        {"unique_id": "source.p.raw.u", "max_loaded_at": "2026-01-02T00:00:00+00:00"},
        {"unique_id": "source.p.raw.v", "max_loaded_at": "2026-01-01T00:00:00+00:00"}
    ]});
    let f = StateFacts::compare(&previous, &json!({}), Some(&now));
    assert!(!f.has_manifest() && f.has_results() && f.has_sources());
    assert!(f.result_is("error", M) && !f.result_is("error", "model.p.n"));
    assert!(f.is_fresher("source.p.raw.t") && f.is_fresher("source.p.raw.v"));
    assert!(!f.is_fresher("source.p.raw.u"));
}
