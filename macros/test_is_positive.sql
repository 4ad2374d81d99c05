{#- Generic test: every non-null value of the column is strictly greater than zero
    (or >= 0 with allow_zero=true). Returns the failing rows. -#}
{% test is_positive(model, column_name, allow_zero=false) %}

select *
from {{ model }}
where {{ column_name }} {{ '<' if allow_zero else '<=' }} 0

{% endtest %}
