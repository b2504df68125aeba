-- Input port: orders v2 from the orders domain.
with orders as (
    select * from {{ ref('orders', 'orders', v=2) }}
),

final as (
    select
        order_id,
        customer_id,
        order_status,
        ordered_at,
        ordered_date
    from orders
)

select * from final
