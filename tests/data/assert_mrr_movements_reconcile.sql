-- MRR is never negative, and for every account the sum of its monthly MRR changes
-- equals its MRR in its latest month (movements reconcile to the balance).
with balances as (
    select
        account_id,
        sum(mrr_change) as total_change,
        min(mrr) as min_mrr,
        max(mrr_month) as last_month
    from {{ ref('fct_mrr') }}
    group by account_id
)

select b.account_id, b.total_change, b.min_mrr, m.mrr as last_mrr
from balances as b
inner join {{ ref('fct_mrr') }} as m
    on m.account_id = b.account_id
    and m.mrr_month = b.last_month
where b.min_mrr < 0
    or b.total_change <> m.mrr
