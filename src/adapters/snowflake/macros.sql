{#- Snowflake's versions of dbt's dispatched macros (`snowflake__name`, found before
    `default__name`): the SQL dbt-snowflake renders, written here. Loaded only when the target is
    Snowflake. -#}

{% macro snowflake__current_timestamp() -%}convert_timezone('UTC', current_timestamp()){%- endmacro %}
{% macro snowflake__snapshot_get_time() -%}to_timestamp_ntz({{ current_timestamp() }}){%- endmacro %}
{% macro snowflake__snapshot_string_as_time(timestamp) -%}
    {{ return("to_timestamp_ntz('" ~ timestamp ~ "')") }}
{%- endmacro %}
{% macro snowflake__current_timestamp_backcompat() -%}current_timestamp::{{ type_timestamp() }}{%- endmacro %}
{% macro snowflake__current_timestamp_in_utc_backcompat() -%}
    convert_timezone('UTC', {{ snowflake__current_timestamp_backcompat() }})::{{ type_timestamp() }}
{%- endmacro %}

{#- Spatial types have their own constructors; `try_cast` reads text, so a number is quoted. -#}
{% macro snowflake__cast(field, type) -%}
    {%- set t = type | upper -%}
    {%- if t == 'GEOGRAPHY' -%}to_geography({{ field }})
    {%- elif t == 'GEOMETRY' -%}to_geometry({{ field }})
    {%- else -%}cast({{ field }} as {{ type }})
    {%- endif -%}
{%- endmacro %}
{% macro snowflake__safe_cast(field, type) -%}
    {%- set t = type | upper -%}
    {%- if t == 'GEOMETRY' -%}try_to_geometry({{ field }})
    {%- elif t == 'GEOGRAPHY' -%}try_to_geography({{ field }})
    {%- elif t == 'VARIANT' -%}{{ adapter.dispatch('cast', 'dbt')(field, type) }}
    {%- else -%}try_cast({{ dbt.string_literal(field) if field is number else field }} as {{ type }})
    {%- endif -%}
{%- endmacro %}

{% macro snowflake__escape_single_quotes(expression) -%}{{ expression | replace("'", "\\'") }}{%- endmacro %}
{% macro snowflake__right(string_text, length_expression) -%}
    case when {{ length_expression }} = 0 then '' else right({{ string_text }}, {{ length_expression }}) end
{%- endmacro %}
{% macro snowflake__bool_or(expression) -%}boolor_agg({{ expression }}){%- endmacro %}
{% macro snowflake__array_construct(inputs, data_type) -%}array_construct( {{ inputs | join(' , ') }} ){%- endmacro %}
