//! What dbt's parser does to values as it reads them, found on a large real project (cal-itp's
//! data-infra warehouse, 610 models on BigQuery) and checked here on a small one: properties
//! values rendered (a `|` block's last line break dropped, in columns' `meta` and extra keys and
//! in a model's `meta`, and in a description holding Jinja), a var holding Python-flavoured
//! Jinja (`datetime - timedelta`), a microbatch model's `begin` read as a datetime, the macros a
//! model and a generic test depend on (`is_incremental`, a project's own `get_where_subquery`),
//! not the macros a test's arguments call, a test's `store_failures_as`, a primary key from
//! tests dbt counts though disabled, and an exposure's description and `meta` rendered (a docs
//! block, `env_var`); and found on Mattermost's warehouse: sources' tags and meta merged as
//! dbt's source parser merges them, their tests' tags (and no attached node), an analysis's
//! path and fqn, and `selectors.yml` in the manifest. Every
//! expected value is what real dbt-core 1.10 with dbt-duckdb wrote for the same project.

use serde_json::json;

use crate::support::{duckdb_project, parsed_manifest};

const PROJECT: &str = r#"version: '1.0'
config-version: 2
vars:
  start: "{{ (modules.datetime.datetime(2024, 1, 10) - modules.datetime.timedelta(days=7)).strftime('%Y-%m-%d') }}"
data_tests:
  rp:
    +enabled: false
sources:
  rp:
    +tags: [proj]
"#;

const PROPERTIES: &str = r#"version: 2
models:
  - name: events
    description: |
      '{{ doc("events") }}'
    meta:
      note: |
        kept text
    data_tests:
      - expression_check:
          arguments:
            expression: "{{ my_expr() }} > 0"
          config:
            enabled: true
      - unique_combination_of_columns:
          arguments:
            combination_of_columns: [id, kind]
    columns:
      - name: id
        description: |
          plain text keeps its line break
        custom_key: |
          extra text
        meta:
          owner: |
            someone
        data_tests:
          - not_null
      - name: kind
        data_tests:
          - not_null
sources:
  - name: raw
    tags: [src_b, src_a]
    meta: {owner: a, level: source}
    config:
      tags: [cfg]
    tables:
      - name: things
        tags: [tbl]
        meta: {level: table}
        columns:
          - name: id
            tags: [col]
            data_tests:
              - not_null:
                  config:
                    enabled: true
  - name: plain
    tables:
      - name: one
"#;

const SELECTORS: &str = r#"selectors:
  - name: nightly
    description: >
      Everything but
      the views.
    default: true
    definition:
      union:
        - method: path
          value: "*"
        - exclude:
            - method: config.materialized
              value: view
"#;

const EXPOSURES: &str = r#"version: 2
exposures:
  - name: board
    type: dashboard
    owner:
      name: Ops
    description: '{{ doc("events") }}'
    meta:
      bucket: "{{ env_var('RP_BUCKET', 'gs://default') }}"
      note: |
        text
    depends_on:
      - ref('events')
"#;

#[test]
fn values_are_read_as_dbts_parser_reads_them() {
    let (_tmp, dir) = duckdb_project(
        "rp",
        PROJECT,
        &[
            (
                "models/events.sql",
                "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='at', batch_size='day', begin=var('start')) }}\nselect cast('{{ var(\"start\") }}' as timestamp) as at, 1 as id, 'a' as kind\n{% if is_incremental() %} where 1 = 1 {% endif %}\n",
            ),
            ("models/props.yml", PROPERTIES),
            ("models/exposures.yml", EXPOSURES),
            ("selectors.yml", SELECTORS),
            ("analyses/sub/an.sql", "select 1 as a\n"),
            (
                "models/docs.md",
                "{% docs events %}Events, one row each.{% enddocs %}\n",
            ),
            (
                "macros/where.sql",
                "{% macro get_where_subquery(relation) -%}\n  {{ return(relation) }}\n{%- endmacro %}\n{% test unique_combination_of_columns(model, combination_of_columns) %}\nselect 1 from {{ model }} where false\n{% endtest %}\n{% macro my_expr() %}id{% endmacro %}\n{% test expression_check(model, expression) %}\nselect 1 from {{ model }} where not ({{ expression }})\n{% endtest %}\n",
            ),
            (
                "tests/stored.sql",
                "{{ config(store_failures=true, enabled=true) }}\nselect 1 as x from {{ ref('events') }} where false\n",
            ),
        ],
    );
    let m = parsed_manifest(&dir);
    let e = &m["nodes"]["model.rp.events"];
    // The var's Jinja subtracts a timedelta; `begin` is that date as a datetime.
    assert_eq!(e["config"]["begin"], "2024-01-03T00:00:00");
    assert_eq!(
        e["depends_on"]["macros"],
        json!(["macro.dbt.is_incremental"])
    );
    // Jinja drops the last line break of what it renders; text without Jinja in a description
    // is not rendered, elsewhere it is.
    assert_eq!(e["description"], "'Events, one row each.'");
    assert_eq!(e["meta"], json!({"note": "kept text"}));
    assert_eq!(e["unrendered_config"]["meta"], json!({"note": "kept text"}));
    let id = &e["columns"]["id"];
    assert_eq!(id["description"], "plain text keeps its line break\n");
    assert_eq!(id["meta"], json!({"owner": "someone"}));
    assert_eq!(id["custom_key"], "extra text");
    // not_null columns with a unique test, even a disabled one.
    assert_eq!(e["primary_key"], json!(["id", "kind"]));
    let stored = &m["nodes"]["test.rp.stored"]["config"];
    assert_eq!(
        (&stored["store_failures"], &stored["store_failures_as"]),
        (&json!(true), &json!("table"))
    );
    // A macro called in a test's argument is not among its macros.
    assert_eq!(
        m["nodes"]["test.rp.expression_check_events__my_expr_0.164e66fa3e"]["depends_on"],
        json!({"macros": ["macro.rp.test_expression_check", "macro.rp.get_where_subquery"],
               "nodes": ["model.rp.events"]})
    );
    // An exposure's description calls a docs block; its meta's Jinja is rendered.
    let board = &m["exposures"]["exposure.rp.board"];
    assert_eq!(board["description"], "Events, one row each.");
    let meta = json!({"bucket": "gs://default", "note": "text"});
    assert_eq!(board["meta"], meta);
    assert_eq!(board["config"]["meta"], meta);
    // A source's tags: its own, its config's and its table's, sorted; the project's are
    // replaced, not appended to; meta keys merged. Its tests carry the source's and the
    // table's tags with the column's, and are attached to nothing.
    let things = &m["sources"]["source.rp.raw.things"];
    let tags = json!(["cfg", "src_a", "src_b", "tbl"]);
    let meta = json!({"owner": "a", "level": "table"});
    assert_eq!((&things["tags"], &things["config"]["tags"]), (&tags, &tags));
    assert_eq!((&things["meta"], &things["config"]["meta"]), (&meta, &meta));
    assert_eq!(
        things["unrendered_config"],
        json!({"tags": tags, "loaded_at_field": null, "loaded_at_query": null, "meta": meta})
    );
    let keys: Vec<&String> = things["unrendered_config"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["tags", "loaded_at_field", "loaded_at_query", "meta"]);
    assert_eq!(m["sources"]["source.rp.plain.one"]["tags"], json!([]));
    let test = &m["nodes"]["test.rp.source_not_null_raw_things_id.b0ded3302e"];
    assert_eq!(test["tags"], json!(["col", "src_a", "src_b", "tbl"]));
    assert_eq!(test["config"]["tags"], json!([]));
    assert_eq!(test["attached_node"], json!(null));
    // An analysis's path and fqn are under `analysis/`.
    let an = &m["nodes"]["analysis.rp.an"];
    assert_eq!(an["path"], "analysis/sub/an.sql");
    assert_eq!(an["fqn"], json!(["rp", "analysis", "sub", "an"]));
    // selectors.yml's selectors, rendered.
    assert_eq!(
        m["selectors"],
        json!({"nightly": {"name": "nightly", "description": "Everything but the views.",
            "default": true, "definition": {"union": [{"method": "path", "value": "*"},
            {"exclude": [{"method": "config.materialized", "value": "view"}]}]}}})
    );
    let pair =
        &m["disabled"]["test.rp.unique_combination_of_columns_events_id__kind.18ec6b34b7"][0];
    assert_eq!(
        pair["depends_on"]["macros"],
        json!([
            "macro.rp.test_unique_combination_of_columns",
            "macro.rp.get_where_subquery"
        ])
    );
}

/// For a package's model, the root project's `dbt_project.yml` wins over the model's own
/// `config(...)` call (dbt applies the root project's config last), and its tags come last.
#[test]
fn the_root_projects_config_wins_for_a_packages_nodes() {
    let (_tmp, dir) = duckdb_project(
        "rw",
        "config-version: 2\nmodels:\n  pk:\n    +materialized: view\n    +tags: [root]\n",
        &[
            ("packages.yml", "packages:\n  - local: dbt_packages/pk\n"),
            (
                "dbt_packages/pk/dbt_project.yml",
                "name: pk\nversion: '1.0'\nconfig-version: 2\nmodels:\n  pk:\n    +tags: [pkg]\n",
            ),
            (
                "dbt_packages/pk/models/b.sql",
                "{{ config(materialized='table', tags=['own']) }}\nselect 2 as id\n",
            ),
        ],
    );
    let b = &parsed_manifest(&dir)["nodes"]["model.pk.b"];
    assert_eq!(b["config"]["materialized"], "view");
    assert_eq!(b["config"]["tags"], json!(["pkg", "own", "root"]));
    assert_eq!(
        b["unrendered_config"],
        json!({"materialized": "table", "tags": ["own"]})
    );
}
