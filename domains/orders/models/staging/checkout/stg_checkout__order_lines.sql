with source as (
    select * from {{ source('checkout', 'order_lines') }}
),

renamed as (
    select distinct
        {{ dbt.cast('order_line_id', dbt.type_bigint()) }} as order_line_id,
        {{ dbt.cast('order_id', dbt.type_bigint()) }} as order_id,
        {{ dbt.cast('line_no', dbt.type_int()) }} as line_number,
        {{ dbt.cast('product_id', dbt.type_bigint()) }} as product_id,
        {{ dbt.cast('quantity', dbt.type_int()) }} as quantity,
        {{ shared_macros.money('unit_price') }} as unit_price_usd,
        coalesce({{ shared_macros.money('discount_amount') }}, 0) as discount_usd
    from source
)

select * from renamed
