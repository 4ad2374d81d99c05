-- Ephemeral: one row per subscription per billed month. A subscription is billed
-- from the month it starts until the month before `ended_on` (exclusive).
with months as (
    select distinct {{ month_start('date_day') }} as month_start
    from {{ ref('metricflow_time_spine') }}
),

subscriptions as (
    select * from {{ ref('stg_subscriptions') }}
)

select
    s.subscription_id,
    s.account_id,
    s.plan_name,
    m.month_start as mrr_month,
    s.mrr
from subscriptions as s
inner join months as m
    on m.month_start >= {{ month_start('s.started_on') }}
    and (s.ended_on is null or m.month_start < s.ended_on)
