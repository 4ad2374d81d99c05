{%- set reporting_end_date = "cast('" ~ var('reporting_end_date') ~ "' as date)" %}

with accounts as (
    select * from {{ ref('stg_accounts') }}
),

subscriptions as (
    select * from {{ ref('stg_subscriptions') }}
),

plans as (
    select * from {{ ref('stg_plans') }}
),

current_mrr as (
    select account_id, mrr, active_subscriptions
    from {{ ref('fct_mrr') }}
    where mrr_month = {{ month_start(reporting_end_date) }}
),

subscription_summary as (
    select
        account_id,
        min(started_on) as first_subscription_date,
        count(*) as lifetime_subscriptions,
        max(case when s.is_active then p.tier end) as current_tier
    from subscriptions as s
    left join plans as p on p.plan_name = s.plan_name
    group by account_id
),

invoice_summary as (
    select
        account_id,
        sum(case when is_paid then amount else 0 end) as lifetime_paid_amount,
        sum(case when is_paid then 0 else amount end) as outstanding_amount
    from {{ ref('stg_invoices') }}
    group by account_id
),

user_summary as (
    select account_id, count(*) as user_count
    from {{ ref('stg_users') }}
    group by account_id
)

select
    a.account_id,
    a.account_name,
    a.segment,
    a.region,
    a.industry,
    a.created_date,
    ss.first_subscription_date,
    {{ dbt.datediff('a.created_date', 'ss.first_subscription_date', 'day') }} as days_to_convert,
    coalesce(ss.lifetime_subscriptions, 0) as lifetime_subscriptions,
    current_plan.plan_name as current_plan,
    coalesce(cm.mrr, 0) as current_mrr,
    coalesce(inv.lifetime_paid_amount, 0) as lifetime_paid_amount,
    coalesce(inv.outstanding_amount, 0) as outstanding_amount,
    coalesce(us.user_count, 0) as user_count,
    case
        when coalesce(cm.mrr, 0) > 0 then 'customer'
        when ss.account_id is not null then 'churned'
        else 'prospect'
    end as customer_status
from accounts as a
left join subscription_summary as ss on ss.account_id = a.account_id
left join plans as current_plan on current_plan.tier = ss.current_tier
left join current_mrr as cm on cm.account_id = a.account_id
left join invoice_summary as inv on inv.account_id = a.account_id
left join user_summary as us on us.account_id = a.account_id
