{{ config(materialized='table') }}

-- One row per calendar day of the reporting window. MetricFlow's day-grain time
-- spine, also reused by the marts as a date/month dimension.
select cast(day_ts as date) as date_day
from generate_series(
    cast('{{ var("reporting_start_date") }}' as timestamp),
    cast('{{ var("reporting_end_date") }}' as timestamp),
    interval '1 day'
) as spine(day_ts)
