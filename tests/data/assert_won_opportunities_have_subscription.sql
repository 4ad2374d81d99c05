-- Every won opportunity must have produced exactly one subscription for the same
-- account, starting on or after the close date. Returns offending opportunities.
select
    o.opportunity_id,
    o.account_id,
    count(s.subscription_id) as subscriptions
from {{ ref('fct_opportunities') }} as o
left join {{ ref('stg_subscriptions') }} as s
    on s.opportunity_id = o.opportunity_id
    and s.account_id = o.account_id
    and s.started_on >= o.close_date
where o.is_won
group by o.opportunity_id, o.account_id
having count(s.subscription_id) <> 1
