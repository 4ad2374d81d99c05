//! How dbt 1.10 layers a node's config and records nodes and macros in `manifest.json`, found on
//! a large real project (the Tuva Project's integration tests) and checked here on small
//! projects: `tags` appended layer by layer, generic tests' tags and rendered config, columns'
//! `config:`, `|` blocks in properties configs, enforced contracts' checksums, macros' text,
//! calls and properties, and semantic-layer definitions and sources (found on dbt's
//! jaffle-sl-template). Every expected value is what real dbt-core 1.10 with dbt-duckdb wrote
//! for the same project.

use serde_json::{json, Value};

use crate::support::{duckdb_project, parsed_manifest};

/// Tags from each `dbt_project.yml` level, the properties `config:` and each `config()` call are
/// appended (repeats kept) in `config.tags`; the node's `tags` are those once each; a model
/// entry's top-level `tags:` is not read (its `meta` and `docs` are). `unrendered_config` keeps
/// the config calls merged as dbt merges them (the first as written, later tags appended).
#[test]
fn tags_are_appended_layer_by_layer() {
    let (_tmp, dir) = duckdb_project(
        "tg",
        "config-version: 2\nmodels:\n  tg:\n    +tags: [a]\n    sub:\n      +tags: [a, z]\n",
        &[
            (
                "models/sub/m.sql",
                "{{ config(tags=['b','c']) }}{{ config(tags='c') }} select 1 as id\n",
            ),
            (
                "models/sub/m.yml",
                "version: 2\nmodels:\n  - name: m\n    tags: [e]\n    meta: {x: 1}\n    docs: {show: false}\n    config:\n      tags: [a, b]\n",
            ),
        ],
    );
    let m = parsed_manifest(&dir);
    let n = &m["nodes"]["model.tg.m"];
    assert_eq!(n["tags"], json!(["a", "z", "b", "c"]));
    assert_eq!(
        n["config"]["tags"],
        json!(["a", "a", "z", "a", "b", "b", "c", "c"])
    );
    assert_eq!(
        n["unrendered_config"],
        json!({"tags": ["b", "c", "c"], "meta": {"x": 1}, "docs": {"show": false}})
    );
    assert_eq!(n["meta"], json!({"x": 1}));
    assert_eq!(n["docs"]["show"], json!(false));
}

/// A generic test's node tags are its column's and its own, sorted, then the project's; a test
/// whose macro is not dbt's `unique` or `not_null` records its own tags twice in `config` (dbt
/// adds its config, then renders its `raw_code`'s `config(...)` call); its config values are
/// recorded rendered; a `description:` among its arguments is its description.
#[test]
fn generic_tests_take_tags_and_rendered_config_as_dbt_records_them() {
    let (_tmp, dir) = duckdb_project(
        "tt",
        "config-version: 2\nvars:\n  flag: true\ndata_tests:\n  +tags: [proj]\n",
        &[
            ("models/a.sql", "select 1 as id\n"),
            (
                "macros/t.sql",
                "{% test dbt_utils_like(model) %}select 1 where false{% endtest %}\n",
            ),
            (
                "models/a.yml",
                r#"version: 2
models:
  - name: a
    data_tests:
      - dbt_utils_like:
          tags: [mt]
    columns:
      - name: id
        tags: [col_b, col_a]
        config:
          tags: [colcfg]
        data_tests:
          - unique:
              tags: [u1]
          - accepted_values:
              values: [1]
              description: Only ones.
              config:
                tags: [z1, a1]
                enabled: "{{ var('flag') | as_bool }}"
                where: "{{ 'id > 0' }}"
"#,
            ),
        ],
    );
    let m = parsed_manifest(&dir);
    let av = &m["nodes"]["test.tt.accepted_values_a_id__1.db87b67e3e"];
    assert_eq!(
        av["tags"],
        json!(["a1", "col_a", "col_b", "colcfg", "z1", "proj"])
    );
    assert_eq!(
        av["config"]["tags"],
        json!(["proj", "z1", "a1", "z1", "a1"])
    );
    assert_eq!(av["config"]["where"], "id > 0");
    assert_eq!(
        av["unrendered_config"],
        json!({"tags": ["z1", "a1", "z1", "a1"], "enabled": true, "where": "id > 0"})
    );
    assert_eq!(av["description"], "Only ones.");
    let own = &m["nodes"]["test.tt.dbt_utils_like_a_.a5e8ce6af0"];
    assert_eq!(own["tags"], json!(["mt", "proj"]));
    assert_eq!(own["config"]["tags"], json!(["proj", "mt", "mt"]));
    assert_eq!(own["unrendered_config"], json!({"tags": ["mt", "mt"]}));
    let unique = &m["nodes"]["test.tt.unique_a_id.f6a5f640da"];
    assert_eq!(
        unique["tags"],
        json!(["col_a", "col_b", "colcfg", "u1", "proj"])
    );
    assert_eq!(unique["config"]["tags"], json!(["proj", "u1"]));
    assert_eq!(unique["unrendered_config"], json!({"tags": ["u1"]}));
}

/// A column's `config:` meta and tags join its own; keys dbt does not know are kept after the
/// others; a properties config value written as a `|` block loses its last line break; an
/// enforced contract has dbt's checksum of its columns; a disabled model has no primary key.
#[test]
fn columns_config_blocks_and_contract_checksums() {
    let (_tmp, dir) = duckdb_project(
        "cc",
        "config-version: 2\n",
        &[
            ("models/m.sql", "select 1 as id, 'x' as name\n"),
            (
                "models/off.sql",
                "{{ config(enabled=false) }} select 1 as id\n",
            ),
            (
                "models/m.yml",
                r#"version: 2
models:
  - name: m
    config:
      materialized: table
      alias: |
        m_table
      contract:
        enforced: true
    columns:
      - name: id
        data_type: integer
        meta: {a: 1}
        config:
          meta: {b: 2}
          tags: [t]
        constraints:
          - type: not_null
        mapping_notes: kept as written
      - name: name
        data_type: varchar
  - name: off
    columns:
      - name: id
        data_tests: [unique, not_null]
"#,
            ),
        ],
    );
    let m = parsed_manifest(&dir);
    let n = &m["nodes"]["model.cc.m"];
    let id = &n["columns"]["id"];
    assert_eq!(id["meta"], json!({"a": 1, "b": 2}));
    assert_eq!(
        id["config"],
        json!({"meta": {"a": 1, "b": 2}, "tags": ["t"]})
    );
    assert_eq!(id["tags"], json!(["t"]));
    assert_eq!(id["mapping_notes"], "kept as written");
    let keys: Vec<&str> = id.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.last(), Some(&"mapping_notes"));
    assert_eq!(n["alias"], "m_table");
    assert_eq!(n["unrendered_config"]["alias"], "m_table");
    // dbt works out primary keys for enabled models only.
    assert_eq!(m["disabled"]["model.cc.off"][0]["primary_key"], json!([]));
    assert_eq!(
        n["contract"]["checksum"],
        "814c1ab314737e32f284b11d024116ff8eb54bb59313a95a7c7404d9258b8a2b"
    );
}

/// A macro's manifest entry as dbt 1.10 writes it: `macro_sql` with the whitespace dbt's block
/// reader takes around trimming tags, `depends_on.macros` read from its calls (a package's
/// macro, the macro `adapter.dispatch` picks, a `{% call %}` block's, a call inside a filter's
/// arguments), a `macros:` properties entry's description and arguments, and with the
/// `validate_macro_args` flag its signature's arguments otherwise.
#[test]
fn macros_are_listed_with_their_calls_and_properties() {
    let (_tmp, dir) = duckdb_project(
        "mt",
        "config-version: 2\nflags:\n  validate_macro_args: true\n",
        &[
            ("models/m.sql", "select 1 as id\n"),
            ("packages.yml", "packages:\n  - local: dbt_packages/pk\n"),
            (
                "dbt_packages/pk/dbt_project.yml",
                "name: pk\nversion: \"1.0.0\"\nconfig-version: 2\n",
            ),
            (
                "dbt_packages/pk/macros/h.sql",
                "{% macro pk_hook() %}select 3{% endmacro %}\n",
            ),
            (
                "macros/m.sql",
                "\n\n  {%- macro ma() -%}x{%- endmacro -%}\n\n  {% macro mb(a, b=2) %}y{% endmacro %}  \n\n{% macro mc() -%}\n  {{ ma() }} {{ pk.pk_hook() }} {{ adapter.dispatch(\"md\")() }} {% call statement(\"s\") %}select 1{% endcall %} {{ x | default(mb(1)) }}\n{%- endmacro %}\n{% macro default__md() %}1{% endmacro %}\n\n",
            ),
            (
                "macros/m.yml",
                "version: 2\nmacros:\n  - name: mb\n    description: Two values.\n    arguments:\n      - name: a\n        type: int\n        description: The first.\n      - name: b\n",
            ),
        ],
    );
    let m = parsed_manifest(&dir);
    let mac = |name: &str| m["macros"][format!("macro.mt.{name}")].clone();
    assert_eq!(
        mac("ma")["macro_sql"],
        "{%- macro ma() -%}x{%- endmacro -%}\n\n  "
    );
    assert_eq!(
        mac("mb")["macro_sql"],
        "{% macro mb(a, b=2) %}y{% endmacro %}"
    );
    assert_eq!(
        mac("mc")["depends_on"]["macros"],
        json!([
            "macro.mt.ma",
            "macro.pk.pk_hook",
            "macro.mt.default__md",
            "macro.dbt.statement",
            "macro.mt.mb"
        ])
    );
    assert_eq!(mac("mb")["description"], "Two values.");
    assert_eq!(mac("mb")["patch_path"], "mt://macros/m.yml");
    assert_eq!(
        mac("mb")["arguments"],
        json!([
            {"name": "a", "type": "int", "description": "The first."},
            {"name": "b", "type": null, "description": ""}
        ])
    );
    assert_eq!(mac("ma")["arguments"], json!([]));
    assert_eq!(
        m["macros"]["macro.pk.pk_hook"]["arguments"],
        json!([]),
        "a macro without parameters has none"
    );
}

/// Semantic-layer definitions as dbt 1.10 writes them (found on dbt's jaffle-sl-template): a
/// derived metric's `metrics:` given as bare names, a `create_metric` measure's description, the
/// project's `saved-queries:` config (in `config`, not `unrendered_config`), a group without
/// members in `group_map`, a time spine's custom granularities, and a source table's
/// `unrendered_config` (freshness first, then where it is loaded from).
#[test]
fn semantic_definitions_and_sources_as_dbt_writes_them() {
    let (_tmp, dir) = duckdb_project(
        "sq",
        "config-version: 2\nsaved-queries:\n  +cache:\n    enabled: true\n",
        &[
            (
                "models/orders.sql",
                "select 1 as order_id, cast('2024-01-01' as date) as ordered_at, 10 as amount\n",
            ),
            (
                "models/time_spine.sql",
                "select cast('2024-01-01' as date) as date_day, 'Q1' as fiscal_quarter\n",
            ),
            ("models/schema.yml", SQ_SCHEMA),
        ],
    );
    let m = parsed_manifest(&dir);
    assert_eq!(m["group_map"], json!({"finance": []}));
    assert_eq!(
        m["metrics"]["metric.sq.revenue"]["description"],
        "Money in."
    );
    let q = &m["saved_queries"]["saved_query.sq.weekly"];
    assert_eq!(q["config"]["cache"], json!({"enabled": true}));
    assert_eq!(q["unrendered_config"], json!({}));
    assert_eq!(
        m["sources"]["source.sq.raw.events"]["unrendered_config"],
        json!({
            "freshness": {"warn_after": {"count": 1, "period": "hour"},
                          "error_after": {"count": null, "period": null}, "filter": null},
            "loaded_at_field": "created_at", "loaded_at_query": null, "meta": {}, "tags": []
        })
    );
    let sem: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/semantic_manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        sem["project_configuration"]["time_spines"][0]["custom_granularities"],
        json!([{"name": "fiscal_quarter", "column_name": "fiscal_quarter"}])
    );
    let derived = sem["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "double_revenue")
        .unwrap();
    assert_eq!(
        derived["type_params"]["metrics"],
        json!([{"name": "revenue", "filter": null, "alias": null,
                "offset_window": null, "offset_to_grain": null}])
    );
}

const SQ_SCHEMA: &str = r#"version: 2
groups:
  - name: finance
    owner: {name: Fin}
sources:
  - name: raw
    schema: main
    tables:
      - name: events
        freshness: {warn_after: {count: 1, period: hour}}
        loaded_at_field: created_at
models:
  - name: time_spine
    time_spine:
      standard_granularity_column: date_day
      custom_granularities:
        - name: fiscal_quarter
          column_name: fiscal_quarter
    columns:
      - name: date_day
        granularity: day
      - name: fiscal_quarter
semantic_models:
  - name: orders
    model: ref('orders')
    defaults: {agg_time_dimension: ordered_at}
    entities:
      - {name: sale, type: primary, expr: order_id}
    dimensions:
      - name: ordered_at
        type: time
        type_params: {time_granularity: day}
    measures:
      - name: revenue
        description: Money in.
        agg: sum
        expr: amount
        create_metric: true
metrics:
  - name: double_revenue
    label: Double revenue
    type: derived
    type_params:
      expr: 2 * revenue
      metrics:
        - revenue
saved_queries:
  - name: weekly
    query_params:
      metrics: [revenue]
      group_by: ["TimeDimension('metric_time', 'week')"]
"#;
