//! The demo warehouse at the repository root builds and tests green, twice (incremental path).

use crate::support::{copy_demo, sluice};

#[test]
fn demo_builds_and_tests_green_twice() {
    let (_tmp, dir) = copy_demo();
    let r = sluice(&dir, &["build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ERROR=0 SKIP=0"), "{}", r.stdout);
    let r2 = sluice(&dir, &["build"]);
    assert_eq!(r2.code, 0, "second build: {}{}", r2.stdout, r2.stderr);
    assert!(dir.join("out/saas_ops.duckdb").exists());
    crate::metrics::check_demo(&dir);
}

/// The semantic layer's sections of manifest.json (`metrics`, including metrics created from
/// measures; `semantic_models`; `saved_queries`) and their parent and child map entries equal
/// what real dbt 1.10 writes for the demo, key for key and in dbt's key order.
#[test]
fn demo_manifest_semantic_sections_equal_dbts() {
    let (_tmp, dir) = copy_demo();
    let r = sluice(&dir, &["parse", "-q"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let text = std::fs::read_to_string(dir.join("out/manifest.json")).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dbt: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/demo_dbt_semantic_nodes.json")).unwrap();
    for section in ["metrics", "semantic_models", "saved_queries"] {
        let expected = dbt[section].as_object().unwrap();
        let got = ours[section].as_object().unwrap();
        // Ids in sorted order: dbt lists them in file order, sluice sorted.
        let names = |m: &serde_json::Map<String, serde_json::Value>| -> Vec<String> {
            let mut ids: Vec<String> = m.keys().cloned().collect();
            ids.sort();
            ids
        };
        assert_eq!(names(got), names(expected), "{section}: ids");
        for (id, want) in expected {
            let mut entry = got[id].clone();
            let created = entry.as_object_mut().unwrap().shift_remove("created_at");
            assert!(created.is_some_and(|c| c.is_f64()), "{id}: created_at");
            assert_eq!(&entry, want, "{id}");
            let keys = |v: &serde_json::Value| -> Vec<String> {
                v.as_object().unwrap().keys().cloned().collect()
            };
            assert_eq!(keys(&entry), keys(want), "{id}: key order");
        }
    }
    for map in ["parent_map", "child_map"] {
        for (id, want) in dbt[map].as_object().unwrap() {
            let mut want: Vec<&str> = want
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            want.sort();
            let got: Vec<&str> = ours[map][id]
                .as_array()
                .unwrap_or_else(|| panic!("{map}: no `{id}`"))
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(got, want, "{map}: {id}");
        }
    }
    // Models lead to their semantic models (dbt's child_map).
    let children = ours["child_map"]["model.saas_ops.fct_mrr"]
        .as_array()
        .unwrap();
    assert!(children.contains(&serde_json::json!("semantic_model.saas_ops.mrr")));
}
