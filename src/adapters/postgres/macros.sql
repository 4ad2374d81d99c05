{#- PostgreSQL's versions of dbt's cross-database macros (`postgres__name`, found by dispatch
    before `default__name`): what dbt-postgres renders. Loaded only when the target is
    PostgreSQL. -#}

{% macro postgres__dateadd(datepart, interval, from_date_or_timestamp) %}
    {{ from_date_or_timestamp }} + ((interval '1 {{ datepart }}') * ({{ interval }}))
{% endmacro %}

{#- Postgres has no date_diff: count boundaries crossed, from calendar parts; each finer part
    builds on the coarser one through `datediff` itself. The SQL is what dbt-postgres renders
    (casts to `date` for day and coarser parts, to `timestamp` for the clock parts). -#}
{% macro postgres__datediff(first_date, second_date, datepart) -%}
    {%- set part = datepart | lower -%}
    {%- set a, b = '(' ~ first_date ~ ')', '(' ~ second_date ~ ')' -%}
    {%- set clock = {'hour': ['day', 24], 'minute': ['hour', 60], 'second': ['minute', 60], 'millisecond': ['minute', 60000], 'microsecond': ['minute', 60000000]} -%}
    {%- if part == 'year' -%}
        (date_part('year', {{ b }}::date) - date_part('year', {{ a }}::date))
    {%- elif part in ('quarter', 'month') -%}
        ({{ datediff(first_date, second_date, 'year') }} * {{ 4 if part == 'quarter' else 12 }} + date_part('{{ part }}', {{ b }}::date) - date_part('{{ part }}', {{ a }}::date))
    {%- elif part == 'day' -%}
        ({{ b }}::date - {{ a }}::date)
    {%- elif part == 'week' -%}
        ({{ datediff(first_date, second_date, 'day') }} / 7 + case when date_part('dow', {{ a }}::timestamp) <= date_part('dow', {{ b }}::timestamp) then case when {{ first_date }} <= {{ second_date }} then 0 else -1 end else case when {{ first_date }} <= {{ second_date }} then 1 else 0 end end)
    {%- elif part in clock -%}
        {%- set coarser, factor = clock[part] -%}
        {%- set pb, pa = "date_part('" ~ part ~ "', " ~ b ~ "::timestamp)", "date_part('" ~ part ~ "', " ~ a ~ "::timestamp)" -%}
        {%- if part not in ('hour', 'minute') -%}{%- set pb, pa = 'floor(' ~ pb ~ ')', 'floor(' ~ pa ~ ')' -%}{%- endif -%}
        ({{ datediff(first_date, second_date, coarser) }} * {{ factor }} + {{ pb }} - {{ pa }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("Unsupported datepart for macro datediff in postgres: '" ~ datepart ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{#- A quarter's last day from three months on (dbt-postgres's `postgres__last_day`). -#}
{% macro postgres__last_day(date, datepart) -%}
    {%- if datepart == 'quarter' -%}
        cast({{ dbt.dateadd('day', '-1', dbt.dateadd('month', '3', dbt.date_trunc(datepart, date))) }} as date)
    {%- else -%}
        {{ dbt.default_last_day(date, datepart) }}
    {%- endif -%}
{%- endmacro %}

{% macro postgres__current_timestamp_backcompat() %}
    current_timestamp::{{ type_timestamp() }}
{% endmacro %}

{% macro postgres__current_timestamp_in_utc_backcompat() -%}
    (current_timestamp at time zone 'utc')::{{ type_timestamp() }}
{%- endmacro %}

{% macro postgres__split_part(string_text, delimiter_text, part_number) %}
    {%- if part_number >= 0 -%}
        {{ dbt.default__split_part(string_text, delimiter_text, part_number) }}
    {%- else -%}
        {{ dbt._split_part_negative(string_text, delimiter_text, part_number) }}
    {%- endif -%}
{% endmacro %}

{% macro postgres__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
    array_to_string((array_agg({{ measure }}{% if order_by_clause %} {{ order_by_clause }}{% endif %}))[1:{{ limit_num }}], {{ delimiter_text }})
    {%- else -%}
    string_agg({{ measure }}, {{ delimiter_text }}{% if order_by_clause %} {{ order_by_clause }}{% endif %})
    {%- endif -%}
{%- endmacro %}

{% macro postgres__any_value(expression) -%}min({{ expression }}){%- endmacro %}

{% macro postgres__snapshot_get_time() -%}
    {{ current_timestamp() }}::{{ type_timestamp() }}
{%- endmacro %}
{% macro postgres__snapshot_string_as_time(timestamp) -%}
    {{ return("'" ~ timestamp ~ "'::timestamp without time zone") }}
{%- endmacro %}

{#- A temporary relation is named by the session alone, with the time in its name. -#}
{% macro postgres__make_temp_relation(base_relation, suffix) -%}
    {%- set stamp = modules.datetime.datetime.now().strftime("%H%M%S%f") -%}
    {{ return(base_relation.incorporate(path={"identifier": base_relation.identifier ~ suffix ~ stamp, "schema": none, "database": none})) }}
{%- endmacro %}
