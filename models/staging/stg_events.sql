select
    cast(event_id as integer)        as event_id,
    cast(user_id as integer)         as user_id,
    event_type,
    cast(occurred_at as timestamp)   as occurred_at,
    cast(occurred_at as date)        as occurred_date
from {{ ref('events') }}
