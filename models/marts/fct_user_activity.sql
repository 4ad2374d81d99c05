with users as (
    select * from {{ ref('stg_users') }}
),

activity as (
    select
        user_id,
        count(*) as event_count,
        count(distinct occurred_date) as active_days,
        sum(case when event_type in ('create', 'edit', 'share', 'export', 'invite') then 1 else 0 end)
            as engagement_event_count,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at
    from {{ ref('stg_events') }}
    group by user_id
)

select
    u.user_id,
    u.account_id,
    split_part(u.email, '@', 2) as email_domain,
    u.signed_up_at,
    a.first_event_at,
    a.last_event_at,
    coalesce(a.event_count, 0) as event_count,
    coalesce(a.active_days, 0) as active_days,
    coalesce(a.engagement_event_count, 0) as engagement_event_count,
    round({{ safe_divide('1.0 * a.engagement_event_count', 'a.event_count') }}, 4) as engagement_rate,
    {{ dbt.datediff('cast(u.signed_up_at as date)', 'cast(a.first_event_at as date)', 'day') }} as days_to_first_event,
    coalesce(
        cast(a.last_event_at as date)
            > cast('{{ var("reporting_end_date") }}' as date) - {{ var('active_user_window_days') }},
        false
    ) as is_recently_active
from users as u
left join activity as a on a.user_id = u.user_id
