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
