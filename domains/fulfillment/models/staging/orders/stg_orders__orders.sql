-- Input port: the orders domain's published product, version 2. Only this model reads it.
with orders as (
    select * from {{ ref('orders', 'orders', v=2) }}
),

final as (
    select
        order_id,
        ordered_at,
        order_status
    from orders
)

select * from final
