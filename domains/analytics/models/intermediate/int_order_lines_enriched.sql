with order_lines as (
    select * from {{ ref('stg_orders__order_lines') }}
),

orders as (
    select * from {{ ref('stg_orders__orders') }}
),

customers as (
    select * from {{ ref('stg_customers__customers') }}
),

products as (
    select * from {{ ref('stg_catalog__products') }}
),

shipments as (
    select * from {{ ref('stg_fulfillment__shipments') }}
),

-- An order counts as delivered on time only if every one of its shipments was.
order_delivery as (
    select
        order_id,
        min(case when delivery_status = 'delivered' then 1 else 0 end) = 1 as is_delivered,
        min(case when is_on_time then 1 else 0 end) = 1 as is_delivered_on_time
    from shipments
    group by order_id
),

final as (
    select
        order_lines.order_line_id,
        order_lines.order_id,
        orders.customer_id,
        orders.ordered_date,
        orders.order_status,
        coalesce(customers.region, 'unknown') as region,
        coalesce(customers.customer_segment, 'unknown') as customer_segment,
        coalesce(products.category_name, 'unknown') as category_name,
        coalesce(products.department, 'unknown') as department,
        order_lines.quantity,
        order_lines.net_amount_usd,
        coalesce(order_delivery.is_delivered, false) as is_delivered,
        case when order_delivery.is_delivered then order_delivery.is_delivered_on_time end
            as is_delivered_on_time
    from order_lines
    inner join orders on order_lines.order_id = orders.order_id
    left join customers on orders.customer_id = customers.customer_id
    left join products on order_lines.product_id = products.product_id
    left join order_delivery on order_lines.order_id = order_delivery.order_id
    where orders.order_status <> 'cancelled'
)

select * from final
