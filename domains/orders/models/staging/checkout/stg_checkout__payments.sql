{{ config(materialized='incremental', unique_key='payment_id') }}

with source as (
    select * from {{ source('checkout', 'payments') }}
    {{ shared_macros.only_new_exports() }}
),

renamed as (
    select distinct
        {{ dbt.cast('payment_id', dbt.type_bigint()) }} as payment_id,
        {{ dbt.cast('order_id', dbt.type_bigint()) }} as order_id,
        {{ shared_macros.normalize_text('payment_method') }} as payment_method,
        {{ shared_macros.normalize_text('status') }} as payment_status,
        {{ shared_macros.money('amount') }} as amount_usd,
        {{ dbt.cast('paid_at', dbt.type_timestamp()) }} as paid_at,
        {{ dbt.cast('exported_at', dbt.type_timestamp()) }} as exported_at
    from source
),

-- An attempt re-delivered by a later export replaces the earlier one.
final as (
    {{ shared_macros.latest_per_key('renamed', 'payment_id', 'exported_at') }}
)

select * from final
