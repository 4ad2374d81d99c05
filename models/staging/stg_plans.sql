select
    plan                                as plan_name,
    cast(list_price as decimal(12, 2))  as list_price,
    cast(tier as integer)               as tier
from {{ ref('plans') }}
