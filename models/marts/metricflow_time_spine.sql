{{ config(materialized='table') }}

-- One row per calendar day of the reporting window. MetricFlow's day-grain time
-- spine, also reused by the marts as a date/month dimension. dbt's `date_spine`
-- writes it for every engine (DuckDB, PostgreSQL, Spark).
select cast(date_day as date) as date_day
from (
    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('reporting_start_date') ~ "' as date)",
        dbt.dateadd('day', 1, "cast('" ~ var('reporting_end_date') ~ "' as date)")
    ) }}
) as spine
