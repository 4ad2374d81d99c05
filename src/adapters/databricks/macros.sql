{#- Databricks' versions of dbt's dispatched macros (`databricks__name`, found before
    `spark__name` and `default__name`, as dbt-databricks builds on dbt-spark): the SQL
    dbt-databricks renders, written here. Loaded only when the target is Databricks.

    Offline there is no cluster to ask its runtime version, so the versions written for
    runtimes 10.4 and later (every runtime Databricks still supports) are used. -#}

{% macro databricks__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}
{% macro databricks__datediff(first_date, second_date, datepart) -%}
    timestampdiff({{ datepart }}, {{ date_trunc(datepart, first_date) }}, {{ date_trunc(datepart, second_date) }})
{%- endmacro %}

{#- As Spark's, with `get`, which answers null for a part out of range. -#}
{% macro databricks__split_part(string_text, delimiter_text, part_number) -%}
    {%- set delimiter = "case when regexp_extract(" ~ delimiter_text ~ ", '([^A-Za-z0-9])(.*)', 1) != '_' then concat('\\\\', " ~ delimiter_text ~ ") else " ~ delimiter_text ~ " end" -%}
    {%- if part_number >= 0 -%}
        {{ return('get(split(' ~ string_text ~ ', ' ~ delimiter ~ '), ' ~ (part_number - 1 if part_number > 0 else part_number) ~ ')') }}
    {%- else -%}
        {{ return('get(split(' ~ string_text ~ ', ' ~ delimiter ~ '), length(' ~ string_text ~ ') - length(replace(' ~ string_text ~ ', ' ~ delimiter_text ~ ", '')) + 1 + " ~ part_number ~ ')') }}
    {%- endif -%}
{%- endmacro %}

{#- A SQL model's temporary relation is a view named by its identifier alone. -#}
{% macro databricks__make_temp_relation(base_relation, suffix='__dbt_tmp') -%}
    {{ return(api.Relation.create(identifier=base_relation.identifier ~ suffix, type='view')) }}
{%- endmacro %}
