{{ config(materialized='incremental', unique_key='order_line_id') }}

with source as (
    select * from {{ source('checkout', 'order_lines') }}
    {{ shared_macros.only_new_exports() }}
),

renamed as (
    select distinct
        {{ dbt.cast('order_line_id', dbt.type_bigint()) }} as order_line_id,
        {{ dbt.cast('order_id', dbt.type_bigint()) }} as order_id,
        {{ dbt.cast('line_no', dbt.type_int()) }} as line_number,
        {{ dbt.cast('product_id', dbt.type_bigint()) }} as product_id,
        {{ dbt.cast('quantity', dbt.type_int()) }} as quantity,
        {{ shared_macros.money('unit_price') }} as unit_price_usd,
        coalesce({{ shared_macros.money('discount_amount') }}, 0) as discount_usd,
        {{ dbt.cast('exported_at', dbt.type_timestamp()) }} as exported_at
    from source
),

-- A line re-delivered by a later export replaces the earlier one, in a full build as in
-- an incremental one (where delete+insert on the key does it).
final as (
    {{ shared_macros.latest_per_key('renamed', 'order_line_id', 'exported_at') }}
)

select * from final
