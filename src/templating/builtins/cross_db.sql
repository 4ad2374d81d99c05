{#- Cross-database helpers (dbt.*): the common ones models use. -#}
{% macro type_string() %}{{ return(adapter.dispatch('type_string', 'dbt')()) }}{% endmacro %}
{% macro default__type_string() %}{{ return('varchar' if adapter.type() == 'duckdb' else 'text') }}{% endmacro %}
{% macro type_int() %}{{ return('integer') }}{% endmacro %}
{% macro type_bigint() %}{{ return('bigint') }}{% endmacro %}
{% macro type_float() %}{{ return('float') }}{% endmacro %}
{% macro type_numeric() %}{{ return('numeric(28,6)') }}{% endmacro %}
{% macro type_timestamp() %}{{ return('timestamp') }}{% endmacro %}
{% macro type_boolean() %}{{ return('boolean') }}{% endmacro %}

{% macro date_trunc(datepart, date) -%}
    date_trunc('{{ datepart }}', {{ date }})
{%- endmacro %}

{% macro dateadd(datepart, interval, from_date_or_timestamp) -%}
    {{ return(adapter.dispatch('dateadd', 'dbt')(datepart, interval, from_date_or_timestamp)) }}
{%- endmacro %}
{% macro default__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {{ from_date_or_timestamp }} + ((interval '1 {{ datepart }}') * ({{ interval }}))
{%- endmacro %}

{% macro datediff(first_date, second_date, datepart) -%}
    {{ return(adapter.dispatch('datediff', 'dbt')(first_date, second_date, datepart)) }}
{%- endmacro %}
{% macro default__datediff(first_date, second_date, datepart) -%}
    date_diff('{{ datepart }}', {{ first_date }}::timestamp, {{ second_date }}::timestamp)
{%- endmacro %}
{#- Postgres has no date_diff: count boundaries crossed, from calendar parts. -#}
{% macro postgres__datediff(first_date, second_date, datepart) -%}
    {%- set a = '(' ~ first_date ~ ')::timestamp' -%}
    {%- set b = '(' ~ second_date ~ ')::timestamp' -%}
    {%- set days = '(' ~ b ~ '::date - ' ~ a ~ '::date)' -%}
    {%- set years = "(date_part('year', " ~ b ~ ") - date_part('year', " ~ a ~ "))" -%}
    {%- set part = datepart | lower -%}
    {%- if part == 'day' -%} {{ days }}
    {%- elif part == 'week' -%} ({{ days }} / 7 + case when date_part('dow', {{ a }}) <= date_part('dow', {{ b }}) then case when {{ days }} >= 0 then 0 else -1 end else case when {{ days }} >= 0 then 1 else 0 end end)
    {%- elif part == 'month' -%} ({{ years }} * 12 + date_part('month', {{ b }}) - date_part('month', {{ a }}))
    {%- elif part == 'quarter' -%} ({{ years }} * 4 + date_part('quarter', {{ b }}) - date_part('quarter', {{ a }}))
    {%- elif part == 'year' -%} {{ years }}
    {%- elif part == 'hour' -%} ({{ days }} * 24 + date_part('hour', {{ b }}) - date_part('hour', {{ a }}))
    {%- elif part == 'minute' -%} (({{ days }} * 24 + date_part('hour', {{ b }}) - date_part('hour', {{ a }})) * 60 + date_part('minute', {{ b }}) - date_part('minute', {{ a }}))
    {%- elif part == 'second' -%} ((({{ days }} * 24 + date_part('hour', {{ b }}) - date_part('hour', {{ a }})) * 60 + date_part('minute', {{ b }}) - date_part('minute', {{ a }})) * 60 + floor(date_part('second', {{ b }})) - floor(date_part('second', {{ a }})))
    {%- else -%} {{ exceptions.raise_compiler_error("datediff: unsupported datepart `" ~ datepart ~ "` on postgres") }}
    {%- endif -%}
{%- endmacro %}

{% macro concat(fields) -%}
    {{ fields | join(' || ') }}
{%- endmacro %}

{% macro hash(field) -%}
    md5(cast({{ field }} as {{ type_string() }}))
{%- endmacro %}

{% macro safe_cast(field, type) -%}
    {%- if adapter.type() == 'duckdb' -%}try_cast({{ field }} as {{ type }}){%- else -%}cast({{ field }} as {{ type }}){%- endif -%}
{%- endmacro %}

{% macro string_literal(value) -%}
    '{{ value }}'
{%- endmacro %}

{% macro escape_single_quotes(expression) -%}
    {{ expression | replace("'", "''") }}
{%- endmacro %}

{% macro current_timestamp() -%}
    now()
{%- endmacro %}
