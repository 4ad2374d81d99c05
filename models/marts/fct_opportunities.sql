with opportunities as (
    select * from {{ ref('stg_opportunities') }}
),

accounts as (
    select account_id, segment, region from {{ ref('stg_accounts') }}
)

select
    o.opportunity_id,
    o.account_id,
    a.segment,
    a.region,
    o.owner_name,
    o.stage,
    case o.stage
        when 'Prospecting' then 1
        when 'Qualification' then 2
        when 'Proposal' then 3
        when 'Negotiation' then 4
        else 5
    end as stage_order,
    o.amount,
    round(o.amount / 12, 2) as expected_mrr,
    o.created_date,
    o.close_date,
    {{ month_start('o.created_date') }} as created_month,
    o.is_closed,
    o.is_won,
    o.is_closed and not o.is_won as is_lost,
    not o.is_closed as is_open,
    o.stage in ('Proposal', 'Negotiation', 'Closed Won') as reached_proposal,
    o.stage in ('Negotiation', 'Closed Won') as reached_negotiation,
    case when o.is_closed then {{ dbt.datediff('o.created_date', 'o.close_date', 'day') }} end as sales_cycle_days
from opportunities as o
inner join accounts as a on a.account_id = o.account_id
