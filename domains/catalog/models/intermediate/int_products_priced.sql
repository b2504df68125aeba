with products as (
    select * from {{ ref('stg_pim__products') }}
),

categories as (
    select * from {{ ref('stg_pim__categories') }}
),

product_prices as (
    select * from {{ ref('int_product_prices_validity') }}
),

current_prices as (
    select
        product_id,
        list_price,
        currency_code,
        valid_from as price_valid_from
    from product_prices
    where is_current_price
),

final as (
    select
        products.product_id,
        products.sku,
        products.product_name,
        products.description,
        products.category_id,
        categories.category_name,
        categories.department,
        products.is_active,
        products.created_at,
        current_prices.list_price,
        current_prices.currency_code,
        current_prices.price_valid_from
    from products
    left join categories
        on products.category_id = categories.category_id
    left join current_prices
        on products.product_id = current_prices.product_id
)

select * from final
