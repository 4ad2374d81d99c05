select
    cast(invoice_id as integer)      as invoice_id,
    cast(subscription_id as integer) as subscription_id,
    cast(account_id as integer)      as account_id,
    {{ month_start('invoice_month') }} as invoice_month,
    cast(amount as decimal(12, 2))   as amount,
    cast(paid as boolean)            as is_paid
from {{ ref('invoices') }}
