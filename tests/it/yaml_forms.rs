//! YAML forms dbt accepts, read by the binary: anchors and aliases, merge keys (`<<: *a`,
//! `<<: [*a, *b]`, explicit keys overriding merged ones) in `dbt_project.yml`, `profiles.yml`,
//! properties files and semantic models, and keys given twice (the last value wins, with a
//! warning naming file, line and key). `tests/fixtures/yaml_forms` was parsed by dbt 1.10.23; the
//! expected values below are what its manifest.json and semantic_manifest.json hold.

use crate::support::{copy_project, repo, sluice};

fn project() -> (tempfile::TempDir, std::path::PathBuf) {
    copy_project(&repo().join("tests/fixtures/yaml_forms"))
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn anchors_merge_keys_and_duplicate_keys_parse_as_in_dbt() {
    let (_tmp, dir) = project();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // One warning per key written twice, at the second one (dbt 1.10 also warns there).
    let warned: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("--> "))
        .map(|l| l.trim_start().trim_start_matches("--> "))
        .collect();
    assert_eq!(
        warned,
        [
            "dbt_project.yml:20:5",
            "models/properties.yml:21:5",
            "models/properties.yml:25:7"
        ],
        "{}",
        r.stderr
    );
    for key in ["`+quote_columns`", "`description`", "`tags`"] {
        assert!(
            r.stderr.contains(&format!("duplicate key {key}")),
            "{key}: {}",
            r.stderr
        );
    }
    assert!(!r.stderr.contains("error"), "{}", r.stderr);
    // Keys holding anchors are not reported as unknown top-level keys.
    assert!(!r.stderr.contains("unknown top-level key"), "{}", r.stderr);

    let m = read_json(&dir.join("target/manifest.json"));
    let node = |id: &str| m["nodes"][id].clone();
    let stg = node("model.yaml_forms.stg_orders");
    assert_eq!(stg["description"], "Written once, used twice.");
    assert_eq!(stg["config"]["materialized"], "table");
    assert_eq!(stg["config"]["meta"], serde_json::json!({"owner": "data"}));
    assert_eq!(stg["tags"], serde_json::json!(["staged"]));
    assert_eq!(stg["columns"]["order_id"]["description"], "The order.");
    let orders = node("model.yaml_forms.orders");
    assert_eq!(orders["description"], "The last of two descriptions wins.");
    // `marts: {<<: *staged, +tags: [mart]}`: the merged materialization, its own tags.
    assert_eq!(orders["config"]["materialized"], "table");
    assert_eq!(orders["tags"], serde_json::json!(["mart", "second"]));
    assert_eq!(
        orders["config"]["meta"],
        serde_json::json!({"owner": "finance"})
    );
    assert_eq!(
        orders["columns"]["order_id"]["description"],
        "An order, described again."
    );
    assert_eq!(
        node("seed.yaml_forms.raw_orders")["config"]["quote_columns"],
        false
    );
    // The merged column kept its tests.
    for t in [
        "test.yaml_forms.unique_orders_order_id.fed79b3a6e",
        "test.yaml_forms.not_null_stg_orders_order_id.81cfe2fe64",
    ] {
        assert!(m["nodes"].get(t).is_some(), "{t} missing");
    }

    let sem = read_json(&dir.join("target/semantic_manifest.json"));
    let measures: Vec<(String, String, serde_json::Value)> = sem["semantic_models"][0]["measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap().to_string(),
                x["agg"].as_str().unwrap().to_string(),
                x["label"].clone(),
            )
        })
        .collect();
    assert_eq!(
        measures,
        [
            ("revenue".into(), "sum".into(), serde_json::Value::Null),
            (
                "order_count".into(),
                "count".into(),
                "From an anchor".into()
            )
        ]
    );
    assert_eq!(
        sem["semantic_models"][0]["dimensions"][0]["type_params"]["time_granularity"],
        "day"
    );
    let label = sem["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "order_count")
        .map(|x| x["label"].clone());
    assert_eq!(label, Some("From an anchor".into()));
}

#[test]
fn merged_profile_and_vars_build() {
    // profiles.yml's `dev` output merges the `base` output; `vars` merge a mapping too.
    let (_tmp, dir) = project();
    let r = sluice(&dir, &["build", "-q"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = sluice(
        &dir,
        &[
            "show",
            "--inline",
            "select distinct region, currency from {{ ref('orders') }}",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("| EU-West | EUR"), "{}", r.stdout);
}

/// An exposure's config, as dbt 1.10 writes it (checked against `dbt parse`): the project's
/// `exposures:` config, each key the entry's `config:` sets replaced (not merged), the entry's
/// own `meta` under it and its `tags` joined and sorted; a disabled exposure is listed under
/// `disabled`.
#[test]
fn exposures_take_their_config_as_dbt_does() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    let project = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&project).unwrap();
    std::fs::write(
        &project,
        format!("{text}\nexposures:\n  shop:\n    +meta: {{from_project: true, tier: 0}}\n    +tags: [proj]\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("models/exposures.yml"),
        "version: 2\nexposures:\n  - name: plain\n    type: dashboard\n    owner: {name: Ops}\n    \
         meta: {tier: 2, top: true}\n    tags: [top]\n    depends_on: [ref('orders')]\n  \
         - name: configured\n    type: analysis\n    owner: {name: Ops}\n    \
         meta: {tier: 1, level: top}\n    tags: [board, monthly]\n    \
         config: {meta: {owner_team: finance, level: config}, tags: [finance]}\n    \
         depends_on: [ref('orders')]\n  - name: retired\n    type: ml\n    owner: {name: Ops}\n    \
         config: {enabled: false}\n    depends_on: [ref('orders')]\n",
    )
    .unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = read_json(&dir.join("target/manifest.json"));
    let plain = &m["exposures"]["exposure.shop.plain"];
    let meta = serde_json::json!({"tier": 0, "top": true, "from_project": true});
    assert_eq!(plain["meta"], meta);
    assert_eq!(plain["config"]["meta"], meta);
    let keys: Vec<&String> = plain["meta"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["tier", "top", "from_project"]);
    assert_eq!(plain["tags"], serde_json::json!(["proj", "top"]));
    assert_eq!(
        plain["unrendered_config"],
        serde_json::json!({"meta": {"from_project": true, "tier": 0}, "tags": ["proj"]})
    );
    let configured = &m["exposures"]["exposure.shop.configured"];
    let meta = serde_json::json!({"tier": 1, "level": "config", "owner_team": "finance"});
    assert_eq!(configured["meta"], meta);
    assert_eq!(
        configured["tags"],
        serde_json::json!(["board", "finance", "monthly"])
    );
    assert_eq!(
        configured["unrendered_config"],
        serde_json::json!({"meta": {"owner_team": "finance", "level": "config"}, "tags": ["finance"]})
    );
    assert!(m["exposures"].get("exposure.shop.retired").is_none());
    assert_eq!(
        m["disabled"]["exposure.shop.retired"][0]["config"]["enabled"],
        false
    );
}

/// Each description's `doc_blocks`: the ids of the docs blocks its `{{ doc() }}` calls name, in
/// order, as dbt 1.10 writes them for nodes, sources and their columns.
#[test]
fn descriptions_list_the_docs_blocks_they_call() {
    let (_tmp, dir) = copy_project(&repo().join("tests/fixtures/shop"));
    std::fs::write(
        dir.join("models/docs.md"),
        "{% docs order_doc %}An order.{% enddocs %}\n{% docs status_doc %}Its status.{% enddocs %}\n",
    )
    .unwrap();
    let schema = dir.join("models/schema.yml");
    let text = std::fs::read_to_string(&schema).unwrap();
    let text = text
        .replacen(
            "description: One row per order, with the amount paid by each method.",
            "description: '{{ doc(\"order_doc\") }} Paid: {{ doc(\"shop\", \"status_doc\") }}'",
            1,
        )
        .replacen(
            "      - name: status\n",
            "      - name: status\n        description: '{{ doc(\"status_doc\") }}'\n",
            1,
        );
    std::fs::write(&schema, text).unwrap();
    std::fs::write(
        dir.join("models/raw.yml"),
        "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: events\n        \
         description: '{{ doc(\"order_doc\") }}'\n        columns:\n          - name: id\n            \
         description: 'plain'\n",
    )
    .unwrap();
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = read_json(&dir.join("target/manifest.json"));
    let orders = &m["nodes"]["model.shop.orders"];
    assert_eq!(orders["description"], "An order. Paid: Its status.");
    assert_eq!(
        orders["doc_blocks"],
        serde_json::json!(["doc.shop.order_doc", "doc.shop.status_doc"])
    );
    assert_eq!(
        orders["columns"]["status"]["doc_blocks"],
        serde_json::json!(["doc.shop.status_doc"])
    );
    assert_eq!(
        orders["columns"]["order_id"]["doc_blocks"],
        serde_json::json!([])
    );
    let events = &m["sources"]["source.shop.raw.events"];
    assert_eq!(
        events["doc_blocks"],
        serde_json::json!(["doc.shop.order_doc"])
    );
    assert_eq!(events["columns"]["id"]["doc_blocks"], serde_json::json!([]));
}
