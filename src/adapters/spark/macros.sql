{#- Spark's versions of dbt's dispatched macros (`spark__name`, found before `default__name`;
    Databricks finds them after its own): the SQL dbt-spark renders, written here. Loaded only
    when the target is Spark or Databricks. -#}

{% macro spark__current_timestamp() -%}current_timestamp(){%- endmacro %}
{% macro spark__any_value(expression) -%}first({{ expression }}){%- endmacro %}
{% macro spark__bool_or(expression) -%}max({{ expression }}){%- endmacro %}
{% macro spark__concat(fields) -%}concat({{ fields | join(', ') }}){%- endmacro %}
{% macro spark__escape_single_quotes(expression) -%}{{ expression | replace("'", "\\'") }}{%- endmacro %}
{% macro spark__array_construct(inputs, data_type) -%}array( {{ inputs | join(' , ') }} ){%- endmacro %}
{% macro spark__array_concat(array_1, array_2) -%}concat({{ array_1 }}, {{ array_2 }}){%- endmacro %}
{% macro spark__array_append(array, new_element) -%}
    {{ array_concat(array, array_construct([new_element])) }}
{%- endmacro %}
{% macro spark__date(year, month, day) -%}
    to_date('{{ modules.datetime.date(year, month, day).strftime('%Y-%m-%d') }}', 'yyyy-MM-dd')
{%- endmacro %}

{#- Spark's relations are named by schema and identifier only; a temporary one by its
    identifier alone. -#}
{% macro spark__make_temp_relation(base_relation, suffix) -%}
    {%- set rel = base_relation.incorporate(path={"identifier": base_relation.identifier ~ suffix}) -%}
    {{ return(rel.include(database=false, schema=false)) }}
{%- endmacro %}

{#- `function(arg)`, failing the query when it is null (a date or timestamp that did not
    parse) instead of going on with a null. -#}
{% macro assert_not_null(function, arg) -%}
    {{ return(adapter.dispatch('assert_not_null', 'dbt')(function, arg)) }}
{%- endmacro %}
{% macro spark__assert_not_null(function, arg) -%}
    coalesce({{ function }}({{ arg }}), nvl2({{ function }}({{ arg }}), assert_true({{ function }}({{ arg }}) is not null), null))
{%- endmacro %}

{#- Calendar parts move the date and keep the time of day; clock parts add seconds. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {%- set as_date = assert_not_null('date', from_date_or_timestamp) -%}
    {%- set clock = 'to_unix_timestamp(' ~ assert_not_null('to_timestamp', from_date_or_timestamp) ~ ') - to_unix_timestamp(' ~ as_date ~ ')' -%}
    {%- set days = {'day': 1, 'week': 7} -%}
    {%- set months = {'month': 1, 'quarter': 3, 'year': 12} -%}
    {%- set seconds = {'hour': '3600', 'minute': '60', 'second': '1', 'millisecond': '(1/1000000)', 'microsecond': '(1/1000000)'} -%}
    {%- if datepart in days -%}
        to_timestamp(to_unix_timestamp(date_add({{ as_date }}, cast({{ interval }} * {{ days[datepart] }} as int))) + {{ clock }})
    {%- elif datepart in months -%}
        to_timestamp(to_unix_timestamp(add_months({{ as_date }}, cast({{ interval }} * {{ months[datepart] }} as int))) + {{ clock }})
    {%- elif datepart in seconds -%}
        to_timestamp({{ assert_not_null('to_unix_timestamp', from_date_or_timestamp) }} + cast({{ interval }} * {{ seconds[datepart] }} as int))
    {%- else -%}
        {{ exceptions.raise_compiler_error("macro dateadd not implemented for datepart ~ '" ~ datepart ~ "' ~ on Spark") }}
    {%- endif -%}
{%- endmacro %}

{#- Whole parts between the two, counted as the calendar counts them (a boundary crossed). -#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- set a, b = first_date, second_date -%}
    {%- if datepart in ['day', 'week', 'month', 'quarter', 'year'] -%}
        {%- set a, b = assert_not_null('date', first_date), assert_not_null('date', second_date) -%}
    {%- endif -%}
    {%- set toward = 'case when ' ~ a ~ ' < ' ~ b -%}
    {%- if datepart == 'day' -%}
        datediff({{ b }}, {{ a }})
    {%- elif datepart == 'week' -%}
        {{ toward }} then floor(datediff({{ b }}, {{ a }})/7) else ceil(datediff({{ b }}, {{ a }})/7) end + case when {{ a }} < {{ b }} and dayofweek({{ b }}) < dayofweek({{ a }}) then 1 when {{ a }} > {{ b }} and dayofweek({{ b }}) > dayofweek({{ a }}) then -1 else 0 end
    {%- elif datepart == 'month' -%}
        {{ toward }} then floor(months_between(date({{ b }}), date({{ a }}))) else ceil(months_between(date({{ b }}), date({{ a }}))) end + case when {{ a }} < {{ b }} and dayofmonth({{ b }}) < dayofmonth({{ a }}) then 1 when {{ a }} > {{ b }} and dayofmonth({{ b }}) > dayofmonth({{ a }}) then -1 else 0 end
    {%- elif datepart == 'quarter' -%}
        {{ toward }} then floor(months_between(date({{ b }}), date({{ a }}))/3) else ceil(months_between(date({{ b }}), date({{ a }}))/3) end + case when {{ a }} < {{ b }} and ((dayofyear({{ b }}) - (quarter({{ b }}) * 365/4)) < (dayofyear({{ a }}) - (quarter({{ a }}) * 365/4))) then 1 when {{ a }} > {{ b }} and ((dayofyear({{ b }}) - (quarter({{ b }}) * 365/4)) > (dayofyear({{ a }}) - (quarter({{ a }}) * 365/4))) then -1 else 0 end
    {%- elif datepart == 'year' -%}
        year({{ b }}) - year({{ a }})
    {%- elif datepart in ('hour', 'minute', 'second', 'millisecond', 'microsecond') -%}
        {%- set divisor = {'hour': '3600', 'minute': '60', 'second': '1', 'millisecond': '(1/1000)', 'microsecond': '(1/1000000)'}[datepart] -%}
        {%- set span = assert_not_null('to_unix_timestamp', assert_not_null('to_timestamp', b)) ~ ' - ' ~ assert_not_null('to_unix_timestamp', assert_not_null('to_timestamp', a)) -%}
        {{ toward }} then ceil(({{ span }}) / {{ divisor }}) else floor(({{ span }}) / {{ divisor }}) end
        {%- if datepart == 'millisecond' %} + cast(date_format({{ b }}, 'SSS') as int) - cast(date_format({{ a }}, 'SSS') as int){% endif -%}
        {%- if datepart == 'microsecond' -%}
            {%- set micros = '[0-9]{4}-[0-9]{2}-[0-9]{2}.[0-9]{2}:[0-9]{2}:[0-9]{2}.([0-9]{6})' %} + cast(regexp_extract({{ b }}, '{{ micros }}', 1) as int) - cast(regexp_extract({{ a }}, '{{ micros }}', 1) as int)
        {%- endif -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("macro datediff not implemented for datepart ~ '" ~ datepart ~ "' ~ on Spark") }}
    {%- endif -%}
{%- endmacro %}

{#- No ordered aggregation: items are collected, cut to `limit_num`, joined. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause -%}
        {%- do exceptions.warn("order_by_clause is not supported for listagg on Spark/Databricks") -%}
    {%- endif -%}
    {%- set collected = 'collect_list(' ~ measure ~ ')' -%}
    {%- if limit_num -%}{%- set collected = 'slice(' ~ collected ~ ', 1, ' ~ limit_num ~ ')' -%}{%- endif -%}
    {{ return('array_join(' ~ collected ~ ', ' ~ delimiter_text ~ ')') }}
{%- endmacro %}

{#- Types Spark cannot cast text to (struct, array, map) take the field unquoted. -#}
{% macro spark__safe_cast(field, type) -%}
    {%- set t = type.lower() -%}
    {%- set unquote = field is string and (t.startswith('struct') or t.startswith('array') or t.startswith('map')) -%}
    cast({{ field.strip('"').strip("'") if unquote else field }} as {{ type }})
{%- endmacro %}

{#- `split` takes a regular expression: a delimiter starting with a special character is
    escaped. A negative part counts from the end. -#}
{% macro spark__split_part(string_text, delimiter_text, part_number) -%}
    {%- set delimiter = "case when regexp_extract(" ~ delimiter_text ~ ", '([^A-Za-z0-9])(.*)', 1) != '_' then concat('\\\\', " ~ delimiter_text ~ ") else " ~ delimiter_text ~ " end" -%}
    {%- if part_number >= 0 -%}
        {{ return('split(' ~ string_text ~ ', ' ~ delimiter ~ ')[(' ~ (part_number - 1 if part_number > 0 else part_number) ~ ')]') }}
    {%- else -%}
        {{ return('split(' ~ string_text ~ ', ' ~ delimiter ~ ')[(length(' ~ string_text ~ ') - length(replace(' ~ string_text ~ ', ' ~ delimiter_text ~ ", '')) + 1 + " ~ part_number ~ ')]') }}
    {%- endif -%}
{%- endmacro %}
