{#- Statements and introspection helpers that packages call. -#}
{% macro statement(name=None, fetch_result=False, auto_begin=True, language='sql') -%}
    {%- if execute -%}
        {%- set sql = caller() -%}
        {%- if name == 'main' -%}{{ log('Writing runtime SQL for node "' ~ model.unique_id ~ '"') }}{%- endif -%}
        {{- __sluice_execute(name or 'statement', sql, fetch_result) -}}
    {%- endif -%}
{%- endmacro %}

{% macro noop_statement(name=None, message=None, code=None, rows_affected=None, res=None) -%}
    {%- set sql = caller() -%}
    {%- if name is not none -%}{{ store_result(name, response=message, agate_table=res) }}{%- endif -%}
{%- endmacro %}

{% macro get_columns_in_query(select_sql) -%}
    {% call statement('get_columns_in_query', fetch_result=True, auto_begin=False) -%}
        select * from ({{ select_sql }}) as __dbt_sbq where false limit 0
    {% endcall %}
    {%- set result = load_result('get_columns_in_query') -%}
    {{ return(result['table'].column_names if result else []) }}
{%- endmacro %}

{#- The statement put before the node's SQL where it runs (`show`), as `config.set` records it. -#}
{% macro set_sql_header(config) -%}
    {{ config.set('sql_header', caller()) }}
{%- endmacro %}

{% macro should_full_refresh() -%}
    {%- set config_full_refresh = config.get('full_refresh') -%}
    {%- if config_full_refresh is none -%}{%- set config_full_refresh = flags.FULL_REFRESH -%}{%- endif -%}
    {{ return(config_full_refresh) }}
{%- endmacro %}

{% macro run_hooks(hooks, inside_transaction=True) -%}
{%- endmacro %}

{% macro load_cached_relation(relation) -%}
    {{ return(adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier)) }}
{%- endmacro %}

{% macro load_relation(relation) -%}
    {{ return(load_cached_relation(relation)) }}
{%- endmacro %}

{% macro make_intermediate_relation(base_relation, suffix='__dbt_tmp') -%}
    {{ return(make_temp_relation(base_relation, suffix)) }}
{%- endmacro %}

{% macro make_temp_relation(base_relation, suffix='__dbt_tmp') -%}
    {{ return(adapter.dispatch('make_temp_relation', 'dbt')(base_relation, suffix)) }}
{%- endmacro %}
{% macro default__make_temp_relation(base_relation, suffix) -%}
    {{ return(base_relation.incorporate(path={"identifier": base_relation.identifier ~ suffix})) }}
{%- endmacro %}

{% macro make_backup_relation(base_relation, backup_relation_type, suffix='__dbt_backup') -%}
    {{ return(base_relation.incorporate(path={"identifier": base_relation.identifier ~ suffix}, type=backup_relation_type)) }}
{%- endmacro %}

{% macro get_create_table_as_sql(temporary, relation, sql) -%}
    create {% if temporary %}temporary {% endif %}table {{ relation }} as (
        {{ sql }}
    )
{%- endmacro %}

{% macro create_table_as(temporary, relation, compiled_code, language='sql') -%}
    {{ return(get_create_table_as_sql(temporary, relation, compiled_code)) }}
{%- endmacro %}

{% macro get_create_view_as_sql(relation, sql) -%}
    create view {{ relation }} as (
        {{ sql }}
    )
{%- endmacro %}

{% macro create_view_as(relation, sql) -%}
    {{ return(get_create_view_as_sql(relation, sql)) }}
{%- endmacro %}

{% macro drop_relation_if_exists(relation) -%}
    {%- if relation is not none -%}{{ adapter.drop_relation(relation) }}{%- endif -%}
{%- endmacro %}

{#- Drops the schema `schema_name` of the target's database, with everything in it. -#}
{% macro drop_schema_named(schema_name) -%}
    {{ return(adapter.dispatch('drop_schema_named', 'dbt')(schema_name)) }}
{%- endmacro %}

{% macro default__drop_schema_named(schema_name) -%}
    {%- set schema_relation = api.Relation.create(database=target.database, schema=schema_name) -%}
    {%- do adapter.drop_schema(schema_relation) -%}
{%- endmacro %}

{#- The relations of a schema, as a table with `database`, `name`, `schema`, `type`. -#}
{% macro list_relations_without_caching(schema_relation) -%}
    {{ return(adapter.dispatch('list_relations_without_caching', 'dbt')(schema_relation)) }}
{%- endmacro %}

{% macro default__list_relations_without_caching(schema_relation) -%}
    {%- call statement('list_relations_without_caching', fetch_result=True) -%}
        select
            '{{ schema_relation.database }}' as database,
            table_name as name,
            table_schema as schema,
            case table_type when 'BASE TABLE' then 'table' when 'VIEW' then 'view' else 'table' end as type
        from information_schema.tables
        where lower(table_schema) = '{{ schema_relation.schema | lower }}'
          and lower(table_catalog) = '{{ schema_relation.database | lower }}'
    {%- endcall -%}
    {{ return(load_result('list_relations_without_caching').table) }}
{%- endmacro %}
