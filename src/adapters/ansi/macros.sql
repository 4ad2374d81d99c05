{#- The test engine's own versions of two dispatched macros, so a test can see dispatch find
    them (`ansi__name` before `default__name`). -#}
{% macro ansi__dateadd(datepart, interval, from_date_or_timestamp) -%}
    ({{ from_date_or_timestamp }} + interval '{{ interval }}' {{ datepart }})
{%- endmacro %}
{% macro ansi__any_value(expression) -%}min({{ expression }}){%- endmacro %}
