{#- Redshift's versions of dbt's dispatched macros (`redshift__name`, found before
    `postgres__name` and `default__name`, as dbt-redshift builds on dbt-postgres): the SQL
    dbt-redshift renders, written here. Loaded only when the target is Redshift. -#}

{% macro redshift__current_timestamp() -%}getdate(){%- endmacro %}
{% macro redshift__snapshot_get_time() -%}{{ current_timestamp() }}::timestamp{%- endmacro %}
{% macro redshift__snapshot_string_as_time(timestamp) -%}
    {{ return("'" ~ timestamp ~ "'::timestamp") }}
{%- endmacro %}
{% macro redshift__current_timestamp_backcompat() -%}getdate(){%- endmacro %}
{% macro redshift__current_timestamp_in_utc_backcompat() -%}getdate(){%- endmacro %}

{% macro redshift__dateadd(datepart, interval, from_date_or_timestamp) -%}
    dateadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}
{% macro redshift__datediff(first_date, second_date, datepart) -%}
    datediff({{ datepart }}, {{ first_date }}, {{ second_date }})
{%- endmacro %}
{% macro redshift__last_day(date, datepart) -%}
    cast({{ dbt.dateadd('day', '-1', dbt.dateadd(datepart, '1', dbt.date_trunc(datepart, date))) }} as date)
{%- endmacro %}
{% macro redshift__split_part(string_text, delimiter_text, part_number) -%}
    {%- if part_number >= 0 -%}
        {{ dbt.default__split_part(string_text, delimiter_text, part_number) }}
    {%- else -%}
        {{ dbt._split_part_negative(string_text, delimiter_text, part_number) }}
    {%- endif -%}
{%- endmacro %}
{% macro redshift__length(expression) -%}len({{ expression }}){%- endmacro %}
{% macro redshift__cast_bool_to_text(field) -%}
    case when {{ field }} is true then 'true' when {{ field }} is false then 'false' end::text
{%- endmacro %}

{#- `listagg` has no limit: the first `limit_num` items are cut from the aggregated text with a
    regular expression on the delimiter (its special characters escaped). -#}
{% macro redshift__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- set within = ' within group (' ~ order_by_clause ~ ')' if order_by_clause else '' -%}
    {%- if limit_num -%}
        {%- set ns = namespace(d=delimiter_text | trim("'")) -%}
        {%- for c in ['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}'] -%}
            {%- set ns.d = ns.d | replace(c, '\\\\' ~ c) -%}
        {%- endfor -%}
        regexp_substr(listagg({{ measure }}, {{ delimiter_text }}){{ within }}, '([^{{ ns.d }}]+{{ ns.d }}){1,{{ limit_num - 1 }}}[^{{ ns.d }}]+')
    {%- else -%}
        listagg({{ measure }}, {{ delimiter_text }}){{ within }}
    {%- endif -%}
{%- endmacro %}

{% macro redshift__array_construct(inputs, data_type) -%}array( {{ inputs | join(' , ') }} ){%- endmacro %}
{% macro redshift__array_concat(array_1, array_2) -%}array_concat({{ array_1 }}, {{ array_2 }}){%- endmacro %}
{% macro redshift__array_append(array, new_element) -%}
    {{ array_concat(array, array_construct([new_element])) }}
{%- endmacro %}
