{#- For runs of real dbt-spark next to sluice (scripts/spark-parity, scripts/bench-spark), copied
    into the project dbt-spark builds. dbt-spark's seed loader (`spark__load_csv_rows`) calls
    `adapter.convert_type` on the whole table for every cell, inside its loop over rows and
    columns: quadratic, hours for a seed of 28,000 rows. This version sends the same statements
    (the same types, casts and batches), each column's type worked out once. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {% set overrides = model['config'].get('column_types', {}) %}
  {% set types = [] %}
  {% for name in agate_table.column_names %}
    {% do types.append(overrides.get(name, adapter.convert_type(agate_table, loop.index0))) %}
  {% endfor %}
  {% set statements = [] %}
  {% for chunk in agate_table.rows | batch(get_batch_size()) %}
    {% set bindings = [] %}
    {% for row in chunk %}{% do bindings.extend(row) %}{% endfor %}
    {% set sql %}
      insert into {{ this.render() }} values
      {% for row in chunk -%}
        ({%- for t in types -%}cast({{ get_binding_char() }} as {{ t }}){%- if not loop.last %},{% endif -%}{%- endfor -%})
        {%- if not loop.last %},{% endif %}
      {%- endfor %}
    {% endset %}
    {% do adapter.add_query(sql, bindings=bindings, abridge_sql_log=True) %}
    {% if loop.first %}{% do statements.append(sql) %}{% endif %}
  {% endfor %}
  {{ return(statements[0]) }}
{% endmacro %}
