with subscription_months as (
    select * from {{ ref('int_subscription_months') }}
),

months as (
    select distinct {{ month_start('date_day') }} as mrr_month
    from {{ ref('metricflow_time_spine') }}
),

account_months as (
    select
        account_id,
        mrr_month,
        sum(mrr) as mrr,
        count(*) as active_subscriptions
    from subscription_months
    group by account_id, mrr_month
),

first_months as (
    select account_id, min(mrr_month) as first_month
    from account_months
    group by account_id
),

-- every month from the account's first paying month to the end of the window,
-- so that churn shows up as a month with zero MRR
grid as (
    select f.account_id, m.mrr_month
    from first_months as f
    inner join months as m on m.mrr_month >= f.first_month
),

filled as (
    select
        g.account_id,
        g.mrr_month,
        coalesce(a.mrr, 0) as mrr,
        coalesce(a.active_subscriptions, 0) as active_subscriptions
    from grid as g
    left join account_months as a
        on a.account_id = g.account_id
        and a.mrr_month = g.mrr_month
),

with_previous as (
    select
        *,
        lag(mrr) over (partition by account_id order by mrr_month) as previous_mrr
    from filled
),

classified as (
    select
        account_id,
        mrr_month,
        mrr,
        coalesce(previous_mrr, 0) as previous_mrr,
        mrr - coalesce(previous_mrr, 0) as mrr_change,
        active_subscriptions,
        case
            when previous_mrr is null then 'new'
            when previous_mrr = 0 and mrr > 0 then 'reactivation'
            when previous_mrr > 0 and mrr = 0 then 'churn'
            when mrr > previous_mrr then 'expansion'
            when mrr < previous_mrr then 'contraction'
            when mrr = 0 then 'inactive'
            else 'retained'
        end as mrr_movement
    from with_previous
)

select
    cast(account_id as {{ dbt.type_string() }}) || '-' || cast(mrr_month as {{ dbt.type_string() }}) as account_month_id,
    account_id,
    mrr_month,
    mrr,
    previous_mrr,
    mrr_change,
    mrr * 12 as arr,
    active_subscriptions,
    mrr_movement,
    '{{ var("reporting_currency") }}' as currency
from classified
where mrr_movement <> 'inactive'
