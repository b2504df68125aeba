with source as (
    select * from {{ source('checkout', 'payments') }}
),

renamed as (
    select distinct
        {{ dbt.cast('payment_id', dbt.type_bigint()) }} as payment_id,
        {{ dbt.cast('order_id', dbt.type_bigint()) }} as order_id,
        {{ shared_macros.normalize_text('payment_method') }} as payment_method,
        {{ shared_macros.normalize_text('status') }} as payment_status,
        {{ shared_macros.money('amount') }} as amount_usd,
        {{ dbt.cast('paid_at', dbt.type_timestamp()) }} as paid_at
    from source
)

select * from renamed
