{#- BigQuery's versions of dbt's dispatched macros (`bigquery__name`, found before
    `default__name`): the SQL dbt-bigquery renders, written here. Loaded only when the target is
    BigQuery. -#}

{% macro bigquery__current_timestamp() -%}current_timestamp(){%- endmacro %}
{% macro bigquery__current_timestamp_backcompat() -%}current_timestamp{%- endmacro %}
{% macro bigquery__snapshot_string_as_time(timestamp) -%}
    {{ return('TIMESTAMP("' ~ timestamp ~ '")') }}
{%- endmacro %}

{% macro bigquery__date_trunc(datepart, date) -%}
    timestamp_trunc(cast({{ date }} as timestamp), {{ datepart }})
{%- endmacro %}
{% macro bigquery__dateadd(datepart, interval, from_date_or_timestamp) -%}
    datetime_add(cast({{ from_date_or_timestamp }} as datetime), interval {{ interval }} {{ datepart }})
{%- endmacro %}
{% macro bigquery__datediff(first_date, second_date, datepart) -%}
    datetime_diff(cast({{ second_date }} as datetime), cast({{ first_date }} as datetime), {{ datepart }})
{%- endmacro %}
{% macro bigquery__date(year, month, day) -%}date({{ year }}, {{ month }}, {{ day }}){%- endmacro %}

{% macro bigquery__hash(field) -%}to_hex({{ dbt.default__hash(field) }}){%- endmacro %}
{% macro bigquery__string_literal(value) -%}'''{{ value }}'''{%- endmacro %}
{% macro bigquery__escape_single_quotes(expression) -%}{{ expression | replace("'", "\\'") }}{%- endmacro %}
{% macro bigquery__position(substring_text, string_text) -%}strpos({{ string_text }}, {{ substring_text }}){%- endmacro %}
{% macro bigquery__right(string_text, length_expression) -%}
    case when {{ length_expression }} = 0 then '' else substr({{ string_text }}, -1 * ({{ length_expression }})) end
{%- endmacro %}
{% macro bigquery__split_part(string_text, delimiter_text, part_number) -%}
    {%- if part_number >= 0 -%}
        split({{ string_text }}, {{ delimiter_text }})[safe_offset({{ part_number - 1 }})]
    {%- else -%}
        split({{ string_text }}, {{ delimiter_text }})[safe_offset(length({{ string_text }}) - length(replace({{ string_text }}, {{ delimiter_text }}, '')) + 1 + {{ part_number }})]
    {%- endif -%}
{%- endmacro %}
{% macro bigquery__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    string_agg({{ measure }}, {{ delimiter_text }}{% if order_by_clause %} {{ order_by_clause }}{% endif %}{% if limit_num %} limit {{ limit_num }}{% endif %})
{%- endmacro %}
{% macro bigquery__bool_or(expression) -%}logical_or({{ expression }}){%- endmacro %}
{% macro bigquery__except() -%}except distinct{%- endmacro %}
{% macro bigquery__intersect() -%}intersect distinct{%- endmacro %}

{% macro bigquery__array_construct(inputs, data_type) -%}
    {%- if inputs | length > 0 -%}[ {{ inputs | join(' , ') }} ]{%- else -%}ARRAY<{{ data_type }}>[]{%- endif -%}
{%- endmacro %}
{% macro bigquery__array_concat(array_1, array_2) -%}array_concat({{ array_1 }}, {{ array_2 }}){%- endmacro %}
{% macro bigquery__array_append(array, new_element) -%}
    {{ array_concat(array, array_construct([new_element])) }}
{%- endmacro %}

{#- Text cannot be cast to a struct or a geography: such a field is taken unquoted. Arrays are
    cast element by element. -#}
{% macro bigquery__safe_cast(field, type) -%}
    {%- set t = type.lower() -%}
    {%- set unquotable = t.startswith('struct') or t == 'geography' -%}
    {%- if t.startswith('array') and field is iterable and field is not string and field is not mapping and field | length > 0 -%}
        {%- set inner = t[6:-1] -%}
        {%- if inner.startswith('struct') or inner == 'geography' -%}
            (select array_agg(safe_cast(i as {{ inner }})) from unnest([{% for f in field %}{{ f.strip('"').strip("'") }}{{ ',' if not loop.last }}{% endfor %}]) i)
        {%- else -%}
            (select array_agg(safe_cast(i as {{ inner }})) from unnest({{ field }}) i)
        {%- endif -%}
    {%- elif t == 'json' and field is mapping -%}
        safe_cast(json {{ dbt.string_literal(tojson(field)) }} as json)
    {%- elif unquotable and field is string -%}
        safe_cast({{ field.strip('"').strip("'") }} as {{ type }})
    {%- else -%}
        safe_cast({{ field }} as {{ type }})
    {%- endif -%}
{%- endmacro %}

{#- `unique` reads the column once, in a subquery. -#}
{% macro bigquery__test_unique(model, column_name) -%}
with dbt_test__target as (
  select {{ column_name }} as unique_field
  from {{ model }}
  where {{ column_name }} is not null
)
select
    unique_field,
    count(*) as n_records
from dbt_test__target
group by unique_field
having count(*) > 1
{%- endmacro %}
