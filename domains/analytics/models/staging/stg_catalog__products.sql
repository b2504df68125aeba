-- Input port: products v2 from the catalog domain.
with products as (
    select * from {{ ref('catalog', 'products', v=2) }}
),

final as (
    select
        product_id,
        category_name,
        department
    from products
)

select * from final
