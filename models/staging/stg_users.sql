select
    cast(user_id as integer)         as user_id,
    cast(account_id as integer)      as account_id,
    lower(email)                     as email,
    cast(signed_up_at as timestamp)  as signed_up_at
from {{ ref('users') }}
