select
    cast(opportunity_id as integer) as opportunity_id,
    cast(account_id as integer)     as account_id,
    lower(owner)                    as owner_name,
    stage,
    cast(amount as decimal(14, 2))  as amount,
    cast(created_date as date)      as created_date,
    cast(close_date as date)        as close_date,
    cast(is_won as boolean)         as is_won,
    cast(is_closed as boolean)      as is_closed
from {{ ref('opportunities') }}
