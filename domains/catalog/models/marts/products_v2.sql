with products as (
    select * from {{ ref('int_products_priced') }}
),

final as (
    select
        {{ dbt.cast('product_id', dbt.type_bigint()) }} as product_id,
        {{ dbt.cast('sku', dbt.type_string()) }} as sku,
        {{ dbt.cast('product_name', dbt.type_string()) }} as product_name,
        {{ dbt.cast('category_id', dbt.type_bigint()) }} as category_id,
        {{ dbt.cast('category_name', dbt.type_string()) }} as category_name,
        {{ dbt.cast('department', dbt.type_string()) }} as department,
        {{ shared_macros.money('list_price') }} as list_price_usd,
        {{ dbt.cast('price_valid_from', dbt.type_timestamp()) }} as price_updated_at,
        {{ dbt.cast('is_active', dbt.type_boolean()) }} as is_active
    from products
)

select * from final
