{#- On Spark (parquet tables cannot delete rows) the new events are appended: the filter below
    keeps only events newer than the table's, so both strategies give the same rows. -#}
{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy=('append' if target.type == 'spark' else 'delete+insert'),
        on_schema_change='append_new_columns'
    )
}}

with events as (
    select * from {{ ref('stg_events') }}
    {% if is_incremental() %}
    -- only events newer than what is already loaded
    where occurred_at > (select coalesce(max(occurred_at), cast('1900-01-01' as timestamp)) from {{ this }})
    {% endif %}
)

select
    e.event_id,
    e.user_id,
    u.account_id,
    a.segment,
    a.region,
    e.event_type,
    e.event_type in ('create', 'edit', 'share', 'export', 'invite') as is_engagement_event,
    e.occurred_at,
    e.occurred_date,
    {{ month_start('e.occurred_date') }} as occurred_month
from events as e
inner join {{ ref('stg_users') }} as u on u.user_id = e.user_id
inner join {{ ref('stg_accounts') }} as a on a.account_id = u.account_id
