{#- First day of the month containing `column`, as a DATE (portable DuckDB/Postgres). -#}
{% macro month_start(column) -%}
    cast(date_trunc('month', {{ column }}) as date)
{%- endmacro %}
