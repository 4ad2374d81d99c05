with days as (
    select date_day from {{ ref('metricflow_time_spine') }}
),

daily_events as (
    select
        occurred_date,
        count(distinct user_id) as daily_active_users,
        count(*) as event_count
    from {{ ref('stg_events') }}
    group by occurred_date
),

daily_signups as (
    select cast(signed_up_at as date) as signup_date, count(*) as new_users
    from {{ ref('stg_users') }}
    group by cast(signed_up_at as date)
)

select
    d.date_day,
    coalesce(e.daily_active_users, 0) as daily_active_users,
    coalesce(e.event_count, 0) as event_count,
    coalesce(s.new_users, 0) as new_users,
    sum(coalesce(s.new_users, 0)) over (
        order by d.date_day rows between unbounded preceding and current row
    ) as cumulative_users
from days as d
left join daily_events as e on e.occurred_date = d.date_day
left join daily_signups as s on s.signup_date = d.date_day
