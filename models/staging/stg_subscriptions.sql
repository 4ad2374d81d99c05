select
    cast(subscription_id as integer) as subscription_id,
    cast(account_id as integer)      as account_id,
    cast(opportunity_id as integer)  as opportunity_id,
    plan                             as plan_name,
    cast(mrr as decimal(12, 2))      as mrr,
    cast(started_on as date)         as started_on,
    cast(ended_on as date)           as ended_on,
    status,
    ended_on is null                 as is_active
from {{ ref('subscriptions') }}
