{{ config(materialized='incremental', unique_key=['order_id', 'order_status']) }}

with source as (
    select * from {{ source('checkout', 'orders') }}
    {{ shared_macros.only_new_exports() }}
),

renamed as (
    select distinct
        {{ dbt.cast('order_id', dbt.type_bigint()) }} as order_id,
        {{ dbt.cast('customer_id', dbt.type_bigint()) }} as customer_id,
        {{ shared_macros.normalize_text('channel') }} as channel,
        {{ shared_macros.normalize_text('status') }} as order_status,
        nullif(trim(coupon_code), '') as coupon_code,
        {{ dbt.cast('ordered_at', dbt.type_timestamp()) }} as ordered_at,
        {{ dbt.cast('updated_at', dbt.type_timestamp()) }} as updated_at,
        {{ dbt.cast('exported_at', dbt.type_timestamp()) }} as exported_at
    from source
),

-- A status change re-delivered by a later export replaces the earlier one.
final as (
    {{ shared_macros.latest_per_key('renamed', 'order_id, order_status', 'exported_at') }}
)

select * from final
