-- Ad-hoc: MRR and movement breakdown by segment and month (compiled, not run).
select
    a.segment,
    m.mrr_month,
    sum(m.mrr) as mrr,
    sum(case when m.mrr_movement = 'new' then m.mrr_change else 0 end) as new_mrr,
    sum(case when m.mrr_movement in ('expansion', 'reactivation') then m.mrr_change else 0 end) as expansion_mrr,
    sum(case when m.mrr_movement = 'contraction' then m.mrr_change else 0 end) as contraction_mrr,
    sum(case when m.mrr_movement = 'churn' then m.mrr_change else 0 end) as churned_mrr
from {{ ref('fct_mrr') }} as m
inner join {{ ref('dim_accounts') }} as a on a.account_id = m.account_id
group by a.segment, m.mrr_month
order by a.segment, m.mrr_month
