-- Input port: order_lines v1 from the orders domain.
with order_lines as (
    select * from {{ ref('orders', 'order_lines', v=1) }}
),

final as (
    select
        order_line_id,
        order_id,
        product_id,
        quantity,
        net_amount_usd
    from order_lines
)

select * from final
