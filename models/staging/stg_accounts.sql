select
    cast(account_id as integer)   as account_id,
    trim(account_name)            as account_name,
    segment,
    region,
    industry,
    cast(created_at as date)      as created_date
from {{ ref('accounts') }}
